#include "json_document.hpp"

#include <fmt/core.h>

#include <array>
#include <cstring>

namespace mesoflow::mesos::json {
namespace {

// Parse failures unwind to parse_json, which turns them into an Error.
struct Failure {
    std::size_t offset;
    const char* what;
};

// Printable ASCII other than '"' and '\\': string bytes the parser just skips.
constexpr std::array<bool, 256> make_plain_string_bytes() {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c < 0x80; ++c)
        plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    return plain;
}
constexpr std::array<bool, 256> kPlainStringByte = make_plain_string_bytes();

// Returns the first position at or after `p` holding a byte that is not plain
// printable ASCII (a quote, a backslash, a control or a non-ASCII byte). Eight
// bytes at a time while it can: most of a Mesos event is long plain strings.
std::size_t skip_plain_string_bytes(std::string_view t, std::size_t p) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    const char* data = t.data();
    const std::size_t n = t.size();
    while (p + 8 <= n) {
        std::uint64_t v;
        std::memcpy(&v, data + p, 8);
        const std::uint64_t quote = v ^ (kOnes * '"');
        const std::uint64_t backslash = v ^ (kOnes * '\\');
        const std::uint64_t special = ((quote - kOnes) & ~quote) |
                                      ((backslash - kOnes) & ~backslash) | (v - kOnes * 0x20) | v;
        if ((special & kHigh) != 0)
            break;
        p += 8;
    }
    while (p < n && kPlainStringByte[static_cast<unsigned char>(data[p])])
        ++p;
    return p;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

class Parser {
  public:
    Parser(std::string_view text, std::vector<Node>& nodes) : t_(text), nodes_(nodes) {}

    void parse_document() {
        skip_space();
        value(0);
        skip_space();
        if (p_ != t_.size())
            fail("unexpected text after the JSON value");
    }

  private:
    [[noreturn]] void fail(const char* what) const { throw Failure{p_, what}; }

    void skip_space() {
        while (p_ < t_.size() && is_space(t_[p_]))
            ++p_;
    }

    char peek() const { return p_ < t_.size() ? t_[p_] : '\0'; }

    std::uint32_t push(Kind kind) {
        nodes_.push_back(Node{kind, false, 0, 0, static_cast<std::uint32_t>(p_), 0});
        return static_cast<std::uint32_t>(nodes_.size() - 1);
    }

    void close(std::uint32_t index, std::size_t start) {
        Node& n = nodes_[index];
        n.end = static_cast<std::uint32_t>(nodes_.size());
        n.length = static_cast<std::uint32_t>(p_ - start);
    }

    void value(int depth) {
        if (p_ >= t_.size())
            fail("unexpected end of input, expected a value");
        const char c = t_[p_];
        switch (c) {
            case '{':
                object(depth + 1);
                return;
            case '[':
                array(depth + 1);
                return;
            case '"':
                string();
                return;
            case 't':
                literal("true", Kind::boolean, true);
                return;
            case 'f':
                literal("false", Kind::boolean, false);
                return;
            case 'n':
                literal("null", Kind::null, false);
                return;
            default:
                if (c == '-' || is_digit(c)) {
                    number();
                    return;
                }
                fail("unexpected character, expected a value");
        }
    }

    void literal(std::string_view word, Kind kind, bool flag) {
        if (t_.substr(p_, word.size()) != word)
            fail("invalid literal");
        const std::size_t start = p_;
        const auto i = push(kind);
        nodes_[i].flag = flag;
        p_ += word.size();
        close(i, start);
    }

    void number() {
        const std::size_t start = p_;
        const auto i = push(Kind::number);
        if (peek() == '-')
            ++p_;
        if (peek() == '0') {
            ++p_;
        } else if (is_digit(peek())) {
            while (is_digit(peek()))
                ++p_;
        } else {
            fail("invalid number: expected a digit");
        }
        if (peek() == '.') {
            ++p_;
            if (!is_digit(peek()))
                fail("invalid number: expected a digit after '.'");
            while (is_digit(peek()))
                ++p_;
        }
        if (peek() == 'e' || peek() == 'E') {
            ++p_;
            if (peek() == '+' || peek() == '-')
                ++p_;
            if (!is_digit(peek()))
                fail("invalid number: expected a digit in the exponent");
            while (is_digit(peek()))
                ++p_;
        }
        close(i, start);
    }

    // Validates one UTF-8 sequence starting at p_ (a byte >= 0x80).
    void utf8_sequence() {
        const auto b0 = static_cast<unsigned char>(t_[p_]);
        int extra = 0;
        unsigned min = 0;
        unsigned cp = 0;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            extra = 1;
            cp = b0 & 0x1Fu;
            min = 0x80;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            extra = 2;
            cp = b0 & 0x0Fu;
            min = 0x800;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            extra = 3;
            cp = b0 & 0x07u;
            min = 0x10000;
        } else {
            fail("invalid UTF-8 in string");
        }
        if (p_ + static_cast<std::size_t>(extra) >= t_.size())
            fail("truncated UTF-8 in string");
        for (int k = 1; k <= extra; ++k) {
            const auto b = static_cast<unsigned char>(t_[p_ + static_cast<std::size_t>(k)]);
            if ((b & 0xC0u) != 0x80u)
                fail("invalid UTF-8 in string");
            cp = (cp << 6) | (b & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            fail("invalid UTF-8 in string");
        }
        p_ += static_cast<std::size_t>(extra) + 1;
    }

    unsigned hex4() {
        if (p_ + 4 > t_.size())
            fail("truncated \\u escape");
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            const int h = hex_value(t_[p_++]);
            if (h < 0)
                fail("invalid \\u escape");
            v = (v << 4) | static_cast<unsigned>(h);
        }
        return v;
    }

    void string() {
        ++p_;  // opening quote
        const auto i = push(Kind::string);
        const std::size_t start = p_;
        bool escaped = false;
        for (;;) {
            p_ = skip_plain_string_bytes(t_, p_);
            if (p_ >= t_.size())
                fail("unterminated string");
            const char c = t_[p_];
            if (c == '"')
                break;
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20)
                fail("control character in string");
            if (u >= 0x80) {
                utf8_sequence();
                continue;
            }
            if (c != '\\') {
                ++p_;
                continue;
            }
            escaped = true;
            ++p_;
            if (p_ >= t_.size())
                fail("unterminated string");
            const char e = t_[p_++];
            switch (e) {
                case '"':
                case '\\':
                case '/':
                case 'b':
                case 'f':
                case 'n':
                case 'r':
                case 't':
                    break;
                case 'u': {
                    const unsigned cp = hex4();
                    if (cp >= 0xDC00 && cp <= 0xDFFF)
                        fail("unpaired low surrogate in \\u escape");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (t_.substr(p_, 2) != "\\u")
                            fail("unpaired high surrogate in \\u escape");
                        p_ += 2;
                        const unsigned low = hex4();
                        if (low < 0xDC00 || low > 0xDFFF) {
                            fail("invalid low surrogate in \\u escape");
                        }
                    }
                    break;
                }
                default:
                    fail("invalid escape in string");
            }
        }
        nodes_[i].flag = escaped;
        close(i, start);
        ++p_;  // closing quote
    }

    void array(int depth) {
        if (depth > kMaxJsonDepth)
            fail("nesting too deep");
        const std::size_t start = p_;
        const auto i = push(Kind::array);
        ++p_;
        skip_space();
        std::uint32_t count = 0;
        if (peek() == ']') {
            ++p_;
        } else {
            for (;;) {
                skip_space();
                value(depth);
                ++count;
                skip_space();
                const char c = peek();
                ++p_;
                if (c == ']')
                    break;
                if (c != ',') {
                    --p_;
                    fail(p_ >= t_.size() ? "unterminated array" : "expected ',' or ']'");
                }
            }
        }
        nodes_[i].size = count;
        close(i, start);
    }

    void object(int depth) {
        if (depth > kMaxJsonDepth)
            fail("nesting too deep");
        const std::size_t start = p_;
        const auto i = push(Kind::object);
        ++p_;
        skip_space();
        std::uint32_t count = 0;
        if (peek() == '}') {
            ++p_;
        } else {
            for (;;) {
                skip_space();
                if (peek() != '"') {
                    fail(p_ >= t_.size() ? "unterminated object" : "expected a member name");
                }
                string();
                skip_space();
                if (peek() != ':')
                    fail("expected ':' after a member name");
                ++p_;
                skip_space();
                value(depth);
                ++count;
                skip_space();
                const char c = peek();
                ++p_;
                if (c == '}')
                    break;
                if (c != ',') {
                    --p_;
                    fail(p_ >= t_.size() ? "unterminated object" : "expected ',' or '}'");
                }
            }
        }
        nodes_[i].size = count;
        close(i, start);
    }

    std::string_view t_;
    std::vector<Node>& nodes_;
    std::size_t p_ = 0;
};

void append_utf8(unsigned cp, std::string& out) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

unsigned read_hex4(std::string_view s, std::size_t at) {
    unsigned v = 0;
    for (std::size_t k = 0; k < 4; ++k)
        v = (v << 4) | static_cast<unsigned>(hex_value(s[at + k]));
    return v;
}

}  // namespace

std::string_view kind_name(Kind kind) {
    switch (kind) {
        case Kind::null:
            return "null";
        case Kind::boolean:
            return "boolean";
        case Kind::number:
            return "number";
        case Kind::string:
            return "string";
        case Kind::array:
            return "array";
        case Kind::object:
            return "object";
    }
    return "value";
}

void unescape_into(std::string_view raw, std::string& out) {
    out.clear();
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c != '\\') {
            out += c;
            continue;
        }
        const char e = raw[++i];
        switch (e) {
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                unsigned cp = read_hex4(raw, i + 1);
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    const unsigned low = read_hex4(raw, i + 3);
                    i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                append_utf8(cp, out);
                break;
            }
            default:  // '"', '\\', '/'
                out += e;
        }
    }
}

std::string Document::string_value(std::uint32_t i) const {
    if (!nodes_[i].flag)
        return std::string(raw(i));
    std::string out;
    unescape_into(raw(i), out);
    return out;
}

std::string_view Document::string_view_of(std::uint32_t i, std::string& scratch) const {
    if (!nodes_[i].flag)
        return raw(i);
    unescape_into(raw(i), scratch);
    return scratch;
}

Result<Document> parse_json(std::string_view text) {
    if (text.size() > kMaxJsonBytes) {
        return Error{fmt::format("JSON text of {} bytes is too large", text.size())};
    }
    Document doc;
    doc.text_ = text;
    // Mesos JSON averages well over 8 bytes per value.
    doc.nodes_.reserve(text.size() / 8 + 4);
    try {
        Parser(text, doc.nodes_).parse_document();
    } catch (const Failure& f) {
        return Error{fmt::format("invalid JSON at byte {}: {}", f.offset, f.what)};
    }
    return doc;
}

}  // namespace mesoflow::mesos::json
