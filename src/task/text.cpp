#include "mesoflow/task/text.hpp"

#include "mesoflow/common/text.hpp"

namespace mesoflow::task {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kCut = "[truncated]";

}  // namespace

std::string clean_text(std::string_view text, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(text.size(), max_bytes));
    for (std::size_t i = 0; i < text.size();) {
        // PostgreSQL refuses NUL in text, valid UTF-8 as it is.
        const std::size_t n = text[i] == '\0' ? 0 : utf8_sequence_length(text, i);
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
