// Text that others wrote, shown to an operator. A task's key comes from a
// producer, a status message from whatever an executor printed, an agent's
// hostname from the agent: any of them may hold a newline that forges a log
// line or an escape sequence that recolours, moves or rewrites what the
// operator's terminal shows. escape_controls() makes such text safe to print
// and keeps the rest as it is. Log lines (log::write, log::quote) and
// `mesoflow status` both print through it. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mesoflow {

// The length of the valid UTF-8 sequence at text[i] (1 to 4; NUL counts as a
// valid one-byte sequence), or 0 when the bytes there are not one: a stray
// continuation byte, a truncated sequence, an overlong form, a surrogate, a
// code point past U+10FFFF, or a byte UTF-8 never uses. i < text.size().
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

// `text` with every byte or character a terminal would act on spelled out:
// \n, \r and \t as themselves, the other C0 controls (ESC included) and DEL
// as \xNN; C1 controls (U+0080..U+009F) and the characters that reorder
// bidirectional text (U+061C, U+200E, U+200F, U+202A..U+202E,
// U+2066..U+2069) as \uNNNN; each byte of invalid UTF-8 as \xNN. Printable
// text, valid UTF-8 and backslashes are kept as they are.
std::string escape_controls(std::string_view text);

}  // namespace mesoflow
