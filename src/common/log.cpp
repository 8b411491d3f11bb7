#include "mesoflow/common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "mesoflow/common/text.hpp"

namespace mesoflow::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::mutex g_write_mutex;

const char* level_name(Level level) {
    switch (level) {
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warn:
            return "warn";
        case Level::error:
            return "error";
    }
    return "info";
}

}  // namespace

void set_level(Level lvl) {
    g_level.store(lvl);
}
Level level() {
    return g_level.load();
}

bool parse_level(std::string_view text, Level& out) {
    for (Level l : {Level::debug, Level::info, Level::warn, Level::error}) {
        if (text == level_name(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

void write(Level lvl, std::string_view event, std::string_view fields) {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto secs = system_clock::to_time_t(now);
    const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    // Fields carry text from producers, agents and the master: escaped, so
    // no value can start a line of its own or reach a terminal as a control.
    std::string line =
        fmt::format("{}.{:03}Z level={} event={}{}{}\n", stamp, millis, level_name(lvl),
                    escape_controls(event), fields.empty() ? "" : " ", escape_controls(fields));
    std::lock_guard lock(g_write_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string quote(std::string_view value) {
    std::string escaped = escape_controls(value);
    bool needs = value.empty() || escaped != value;
    for (char c : value) {
        if (c == ' ' || c == '"' || c == '=')
            needs = true;
    }
    if (!needs)
        return escaped;
    std::string raw;
    raw.reserve(value.size());
    for (char c : value) {
        if (c == '"' || c == '\\')
            raw += '\\';
        raw += c;
    }
    return '"' + escape_controls(raw) + '"';
}

}  // namespace mesoflow::log
