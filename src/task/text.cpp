#include "mesoflow/task/text.hpp"

namespace mesoflow::task {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kCut = "[truncated]";

// The length of the valid UTF-8 sequence at text[i], or 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t valid_sequence(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    if (c >= 0x01 && c <= 0x7F)
        return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;  // no overlong forms
        if (c == 0xED)
            hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;  // nothing past U+10FFFF
    } else {
        return 0;  // NUL, a continuation byte, or a byte UTF-8 never uses
    }
    if (i + n > text.size())
        return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi)
        return 0;
    for (std::size_t k = 2; k < n; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF)
            return 0;
    }
    return n;
}

}  // namespace

std::string clean_text(std::string_view text, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(text.size(), max_bytes));
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = valid_sequence(text, i);
        const std::string_view piece = n == 0 ? kReplacement : text.substr(i, n);
        if (out.size() + piece.size() > max_bytes) {
            // Cut at a character boundary, leaving room for the mark.
            while (!out.empty() && out.size() + kCut.size() > max_bytes) {
                std::size_t back = out.size() - 1;
                while (back > 0 && (static_cast<unsigned char>(out[back]) & 0xC0) == 0x80)
                    --back;
                out.resize(back);
            }
            if (out.size() + kCut.size() <= max_bytes)
                out += kCut;
            return out;
        }
        out += piece;
        i += n == 0 ? 1 : n;
    }
    return out;
}

}  // namespace mesoflow::task
