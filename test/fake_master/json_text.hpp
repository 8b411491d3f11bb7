// Writing JSON text by hand for the events sent most (UPDATE): building
// them through a DOM costs more than the rest of handling an ACK. Used only
// where the shape is fixed and every string goes through append_json_string.
#pragma once

#include <string>
#include <string_view>

namespace mesoflow::fake {

// Appends `text` as a quoted JSON string, escaping what JSON requires.
void append_json_string(std::string& out, std::string_view text);

}  // namespace mesoflow::fake
