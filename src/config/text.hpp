// Small string operations shared by the config parsers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mesoflow::config {

std::string_view trim(std::string_view text);
std::string lower(std::string_view text);
std::string upper(std::string_view text);
// Splits at `separator`, trims each piece and drops empty pieces.
std::vector<std::string> split_list(std::string_view text, char separator);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
// Breaks `text` at spaces into lines of at most `width` characters (a longer
// word gets a line of its own).
std::vector<std::string> wrap_words(std::string_view text, std::size_t width);

}  // namespace mesoflow::config
