#include "config/ini_parser.hpp"

#include <fmt/core.h>

#include <cctype>

#include "config/text.hpp"

namespace mesoflow::config {
namespace {

constexpr std::string_view kDefaultSection = "DEFAULT";
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::size_t indent_of(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])))
        ++i;
    return i;
}

const IniEntry* find_entry(const IniDocument& doc, std::string_view section, std::string_view key) {
    const IniEntry* found = nullptr;
    for (const auto& e : doc.entries) {
        if (e.key == key && same_section(e.section, section))
            found = &e;
    }
    return found;
}

Result<std::string> expand(const IniDocument& doc, const IniEntry& origin, std::string_view value,
                           int depth) {
    const auto fail = [&](std::string_view why) {
        return Error{fmt::format("{}:{}: cannot interpolate [{}] {}: {}", doc.path, origin.line,
                                 origin.section, origin.key, why)};
    };
    if (depth > kMaxInterpolationDepth) {
        return fail(fmt::format("%(..)s references nest deeper than {} levels (a cycle?)",
                                kMaxInterpolationDepth));
    }
    std::string out;
    std::size_t i = 0;
    while (i < value.size()) {
        const char c = value[i];
        if (c != '%') {
            out += c;
            ++i;
            continue;
        }
        if (i + 1 < value.size() && value[i + 1] == '%') {
            out += '%';
            i += 2;
            continue;
        }
        if (i + 1 >= value.size() || value[i + 1] != '(') {
            return fail("'%' must be followed by '%' or '(' (write %% for a literal %)");
        }
        const std::size_t close = value.find(')', i + 2);
        if (close == std::string_view::npos || close + 1 >= value.size() ||
            value[close + 1] != 's') {
            return fail("a reference must read %(name)s");
        }
        const std::string name = lower(value.substr(i + 2, close - i - 2));
        const IniEntry* target = find_entry(doc, origin.section, name);
        if (target == nullptr)
            target = find_entry(doc, kDefaultSection, name);
        if (target == nullptr) {
            return fail(
                fmt::format("%({})s: no key {} in [{}] or [DEFAULT]", name, name, origin.section));
        }
        if (target->value.find('%') == std::string::npos) {
            out += target->value;
        } else {
            auto nested = expand(doc, origin, target->value, depth + 1);
            if (!nested)
                return nested.error();
            out += *nested;
        }
        i = close + 2;
    }
    return out;
}

}  // namespace

bool same_section(std::string_view a, std::string_view b) {
    return lower(a) == lower(b);
}

Result<IniDocument> parse_ini(std::string_view text, std::string_view path) {
    IniDocument doc;
    doc.path = std::string(path);
    if (text.starts_with(kUtf8Bom))
        text.remove_prefix(kUtf8Bom.size());

    std::string section;
    bool in_section = false;
    long current = -1;  // entry a continuation line would extend
    std::size_t indent_level = 0;
    int blank_lines = 0;  // blank lines since the last value line, kept if a continuation follows
    int line_no = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (line.ends_with('\r'))
            line.remove_suffix(1);

        const std::string_view stripped = trim(line);
        if (stripped.starts_with('#') || stripped.starts_with(';'))
            continue;
        if (stripped.empty()) {
            if (current >= 0)
                ++blank_lines;
            continue;
        }
        const std::size_t indent = indent_of(line);
        if (current >= 0 && indent > indent_level) {
            auto& value = doc.entries[static_cast<std::size_t>(current)].value;
            value.append(static_cast<std::size_t>(blank_lines), '\n');
            value += '\n';
            value += stripped;
            blank_lines = 0;
            continue;
        }
        blank_lines = 0;
        indent_level = indent;
        const std::size_t close = stripped.rfind(']');
        if (stripped.starts_with('[') && close != std::string_view::npos && close > 1) {
            section = std::string(stripped.substr(1, close - 1));
            in_section = true;
            current = -1;
            continue;
        }
        if (!in_section) {
            // The line itself is not quoted: it may hold a secret.
            return Error{
                fmt::format("{}:{}: a key comes before any [section] header", path, line_no)};
        }
        const std::size_t delimiter = stripped.find_first_of("=:");
        const std::string key =
            delimiter == std::string_view::npos ? "" : lower(trim(stripped.substr(0, delimiter)));
        if (key.empty()) {
            return Error{
                fmt::format("{}:{}: expected `key = value` in [{}]", path, line_no, section)};
        }
        doc.entries.push_back(
            IniEntry{section, key, std::string(trim(stripped.substr(delimiter + 1))), line_no});
        current = static_cast<long>(doc.entries.size()) - 1;
    }
    return doc;
}

Result<std::string> interpolate(const IniDocument& doc, const IniEntry& entry) {
    return expand(doc, entry, entry.value, 1);
}

}  // namespace mesoflow::config
