// Text from agents and the master on its way to the database. PostgreSQL
// refuses NUL bytes and invalid UTF-8, and an agent may send either (a task's
// message is whatever its executor wrote): an update carrying them would fail
// its batch on every retry. clean_text() keeps what is valid, replaces each
// NUL and each invalid byte with U+FFFD, and cuts text longer than max_bytes
// at a character boundary, marking the cut. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mesoflow::task {

// Longest status message kept (the rest is cut, marked "[truncated]").
inline constexpr std::size_t kMaxMessageBytes = 16 * 1024;
// Longest id, reason or source name kept.
inline constexpr std::size_t kMaxNameBytes = 1024;

std::string clean_text(std::string_view text, std::size_t max_bytes);

}  // namespace mesoflow::task
