#include "mesoflow/task/status_update.hpp"

#include <array>
#include <charconv>

namespace mesoflow::task {
namespace {

constexpr std::array<std::string_view, 14> kMesosStateNames = {
    "TASK_STAGING",          "TASK_STARTING",    "TASK_RUNNING",
    "TASK_KILLING",          "TASK_FINISHED",    "TASK_FAILED",
    "TASK_KILLED",           "TASK_ERROR",       "TASK_LOST",
    "TASK_DROPPED",          "TASK_UNREACHABLE", "TASK_GONE",
    "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"};

constexpr std::array<std::string_view, 7> kOutcomeNames = {
    "applied",      "duplicate", "stale",     "stale_attempt_alive",
    "unknown_task", "unsettled", "row_locked"};

}  // namespace

std::string_view to_string(MesosTaskState state) {
    return kMesosStateNames[static_cast<std::size_t>(state)];
}

std::optional<MesosTaskState> parse_mesos_task_state(std::string_view name) {
    for (std::size_t i = 0; i < kMesosStateNames.size(); ++i) {
        if (kMesosStateNames[i] == name)
            return static_cast<MesosTaskState>(i);
    }
    return std::nullopt;
}

bool is_alive(MesosTaskState state) {
    return state <= MesosTaskState::killing;
}

bool is_lost(MesosTaskState state) {
    return state >= MesosTaskState::lost;
}

std::string_view to_string(UpdateOutcome outcome) {
    return kOutcomeNames[static_cast<std::size_t>(outcome)];
}

std::optional<int> exit_status_from_message(std::string_view message) {
    constexpr std::string_view kMarker = "exited with status ";
    const auto at = message.find(kMarker);
    if (at == std::string_view::npos)
        return std::nullopt;
    const char* first = message.data() + at + kMarker.size();
    const char* last = message.data() + message.size();
    int status = 0;
    const auto [ptr, ec] = std::from_chars(first, last, status);
    if (ec != std::errc() || ptr == first)
        return std::nullopt;
    return status;
}

}  // namespace mesoflow::task
