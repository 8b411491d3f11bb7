// Structured, grep-able log lines for operators:
//   2026-11-25T06:40:01.123Z level=info event=task_launched task=t1 agent=S0
// One line per event that matters. Callers must never pass secrets. Lines go
// to stderr (journald captures them under systemd); writing is thread-safe.
// Whatever a line holds, it is one line and free of terminal controls:
// write() passes the event and fields through escape_controls() (text.hpp).
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace mesoflow::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void set_level(Level level);
Level level();
// Parses "debug", "info", "warn" or "error"; returns false for anything else.
bool parse_level(std::string_view text, Level& out);

// Writes one line: timestamp, level, event name, then the formatted fields.
void write(Level level, std::string_view event, std::string_view fields);

template <typename... Args>
void emit(Level lvl, std::string_view event, fmt::format_string<Args...> fmt, Args&&... args) {
    if (lvl < level())
        return;
    write(lvl, event, fmt::format(fmt, std::forward<Args>(args)...));
}

template <typename... Args>
void debug(std::string_view event, fmt::format_string<Args...> fmt, Args&&... args) {
    emit(Level::debug, event, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void info(std::string_view event, fmt::format_string<Args...> fmt, Args&&... args) {
    emit(Level::info, event, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(std::string_view event, fmt::format_string<Args...> fmt, Args&&... args) {
    emit(Level::warn, event, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void error(std::string_view event, fmt::format_string<Args...> fmt, Args&&... args) {
    emit(Level::error, event, fmt, std::forward<Args>(args)...);
}

// Quotes a value for a log field when it holds spaces, quotes, '=' or
// characters escape_controls() spells out, so that the line stays
// machine-parseable: `msg="exit 1"`. Inside the quotes '"' and '\' are
// escaped with a backslash, controls as escape_controls() does.
std::string quote(std::string_view value);

}  // namespace mesoflow::log
