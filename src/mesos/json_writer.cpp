#include "json_writer.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace mesoflow::mesos::json {
namespace {

constexpr std::string_view kHex = "0123456789abcdef";

// Strings up to this length are assembled on the stack and appended at once.
constexpr std::size_t kShortText = 120;

constexpr std::array<bool, 256> make_escaped_bytes() {
    std::array<bool, 256> escaped{};
    for (int c = 0; c < 0x20; ++c)
        escaped[static_cast<std::size_t>(c)] = true;
    escaped['"'] = true;
    escaped['\\'] = true;
    return escaped;
}
constexpr std::array<bool, 256> kEscapedByte = make_escaped_bytes();

// The first position at or after `i` whose byte must be escaped; eight bytes
// at a time while it can, since most strings need no escaping at all.
std::size_t skip_unescaped(std::string_view s, std::size_t i) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    const char* data = s.data();
    const std::size_t n = s.size();
    while (i + 8 <= n) {
        std::uint64_t v;
        std::memcpy(&v, data + i, 8);
        const std::uint64_t quote = v ^ (kOnes * '"');
        const std::uint64_t backslash = v ^ (kOnes * '\\');
        const std::uint64_t special = ((quote - kOnes) & ~quote) |
                                      ((backslash - kOnes) & ~backslash) |
                                      ((v - kOnes * 0x20) & ~v);
        if ((special & kHigh) != 0)
            break;
        i += 8;
    }
    while (i < n && !kEscapedByte[static_cast<unsigned char>(data[i])])
        ++i;
    return i;
}

}  // namespace

void Writer::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (depth_ > 0) {
        if (!first_[static_cast<std::size_t>(depth_)])
            out_ += ',';
        first_[static_cast<std::size_t>(depth_)] = false;
    }
}

void Writer::begin_object() {
    before_value();
    out_ += '{';
    if (++depth_ >= kMaxWriterDepth)
        throw std::logic_error("JSON writer nesting too deep");
    first_[static_cast<std::size_t>(depth_)] = true;
}

void Writer::end_object() {
    out_ += '}';
    --depth_;
}

void Writer::begin_array() {
    before_value();
    out_ += '[';
    if (++depth_ >= kMaxWriterDepth)
        throw std::logic_error("JSON writer nesting too deep");
    first_[static_cast<std::size_t>(depth_)] = true;
}

void Writer::end_array() {
    out_ += ']';
    --depth_;
}

void Writer::key(std::string_view name) {
    const bool comma = !first_[static_cast<std::size_t>(depth_)];
    first_[static_cast<std::size_t>(depth_)] = false;
    after_key_ = true;
    // Field names are short and plain: one append for ,"name":
    if (name.size() <= kShortText && skip_unescaped(name, 0) == name.size()) {
        char buf[kShortText + 4];
        std::size_t len = 0;
        if (comma)
            buf[len++] = ',';
        buf[len++] = '"';
        std::memcpy(buf + len, name.data(), name.size());
        len += name.size();
        buf[len++] = '"';
        buf[len++] = ':';
        out_.append(buf, len);
        return;
    }
    // Map keys (TaskInfo.limits) come from users, so names are escaped too.
    if (comma)
        out_ += ',';
    quoted(name);
    out_ += ':';
}

void Writer::field(std::string_view name) {
    const bool comma = !first_[static_cast<std::size_t>(depth_)];
    first_[static_cast<std::size_t>(depth_)] = false;
    after_key_ = true;
    char buf[kShortText + 4];
    if (name.size() > kShortText)
        throw std::logic_error("JSON field name too long");
    std::size_t len = 0;
    if (comma)
        buf[len++] = ',';
    buf[len++] = '"';
    std::memcpy(buf + len, name.data(), name.size());
    len += name.size();
    buf[len++] = '"';
    buf[len++] = ':';
    out_.append(buf, len);
}

void Writer::string(std::string_view value) {
    before_value();
    if (value.size() <= kShortText && skip_unescaped(value, 0) == value.size()) {
        char buf[kShortText + 2];
        buf[0] = '"';
        std::memcpy(buf + 1, value.data(), value.size());
        buf[value.size() + 1] = '"';
        out_.append(buf, value.size() + 2);
        return;
    }
    quoted(value);
}

void Writer::quoted(std::string_view value) {
    out_ += '"';
    const std::size_t n = value.size();
    std::size_t start = 0;
    std::size_t i = 0;
    for (;;) {
        i = skip_unescaped(value, i);
        if (i == n)
            break;
        out_.append(value.substr(start, i - start));
        append_escape(value[i]);
        start = ++i;
    }
    out_.append(value.substr(start));
    out_ += '"';
}

void Writer::append_escape(char c) {
    switch (c) {
        case '"':
            out_ += "\\\"";
            break;
        case '\\':
            out_ += "\\\\";
            break;
        case '\n':
            out_ += "\\n";
            break;
        case '\r':
            out_ += "\\r";
            break;
        case '\t':
            out_ += "\\t";
            break;
        case '\b':
            out_ += "\\b";
            break;
        case '\f':
            out_ += "\\f";
            break;
        default: {
            const auto u = static_cast<unsigned char>(c);
            out_ += "\\u00";
            out_ += kHex[u >> 4];
            out_ += kHex[u & 0xF];
        }
    }
}

void Writer::number(double value) {
    if (!std::isfinite(value)) {
        string(std::isnan(value) ? "NaN" : (value > 0 ? "Infinity" : "-Infinity"));
        return;
    }
    before_value();
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
    out_.append(text);
    if (text.find_first_of(".e") == std::string_view::npos)
        out_ += ".0";
}

void Writer::integer(std::int64_t value) {
    before_value();
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, r.ptr);
}

void Writer::unsigned_integer(std::uint64_t value) {
    before_value();
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, r.ptr);
}

void Writer::boolean(bool value) {
    before_value();
    out_ += value ? "true" : "false";
}

void Writer::raw(std::string_view json) {
    before_value();
    out_.append(json);
}

void Writer::id(std::string_view value) {
    begin_object();
    field("value");
    string(value);
    end_object();
}

}  // namespace mesoflow::mesos::json
