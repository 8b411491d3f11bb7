#include "json_writer.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace mesoflow::mesos::json {
namespace {

constexpr std::string_view kHex = "0123456789abcdef";

bool needs_escape(char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
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
    if (!first_[static_cast<std::size_t>(depth_)])
        out_ += ',';
    first_[static_cast<std::size_t>(depth_)] = false;
    // Map keys (TaskInfo.limits) come from users, so names are escaped too.
    quoted(name);
    out_ += ':';
    after_key_ = true;
}

void Writer::string(std::string_view value) {
    before_value();
    quoted(value);
}

void Writer::quoted(std::string_view value) {
    out_ += '"';
    std::size_t start = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (!needs_escape(c))
            continue;
        out_.append(value.substr(start, i - start));
        start = i + 1;
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
    out_.append(value.substr(start));
    out_ += '"';
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
    key("value");
    string(value);
    end_object();
}

}  // namespace mesoflow::mesos::json
