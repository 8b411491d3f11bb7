#include "mesoflow/task/task.hpp"

#include <array>
#include <charconv>

namespace mesoflow::task {
namespace {

constexpr std::array<std::string_view, 11> kStateNames = {
    "pending",  "launching", "staging", "starting", "running", "killing",
    "finished", "failed",    "killed",  "lost",     "error"};

constexpr std::array<std::string_view, 3> kContainerizerNames = {"none", "docker", "mesos"};

constexpr std::array<std::string_view, 5> kNetworkNames = {"", "host", "bridge", "none", "user"};

constexpr std::array<std::string_view, 5> kOpNames = {"EQUALS", "NOT_EQUALS", "LIKE", "UNLIKE",
                                                      "EXISTS"};

template <typename Int>
bool parse_int(std::string_view text, Int& out) {
    if (text.empty())
        return false;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

bool is_terminal(TaskState state) {
    return state >= TaskState::finished;
}

std::string_view to_string(TaskState state) {
    return kStateNames[static_cast<std::size_t>(state)];
}

std::optional<TaskState> parse_task_state(std::string_view text) {
    for (std::size_t i = 0; i < kStateNames.size(); ++i) {
        if (kStateNames[i] == text)
            return static_cast<TaskState>(i);
    }
    return std::nullopt;
}

std::string_view to_string(Containerizer containerizer) {
    return kContainerizerNames[static_cast<std::size_t>(containerizer)];
}

std::optional<Containerizer> parse_containerizer(std::string_view text) {
    for (std::size_t i = 0; i < kContainerizerNames.size(); ++i) {
        if (kContainerizerNames[i] == text)
            return static_cast<Containerizer>(i);
    }
    return std::nullopt;
}

std::string_view to_string(NetworkMode mode) {
    return kNetworkNames[static_cast<std::size_t>(mode)];
}

std::optional<NetworkMode> parse_network_mode(std::string_view text) {
    for (std::size_t i = 0; i < kNetworkNames.size(); ++i) {
        if (kNetworkNames[i] == text)
            return static_cast<NetworkMode>(i);
    }
    return std::nullopt;
}

std::string_view to_string(Constraint::Op op) {
    return kOpNames[static_cast<std::size_t>(op)];
}

std::optional<Constraint::Op> parse_constraint_op(std::string_view text) {
    for (std::size_t i = 0; i < kOpNames.size(); ++i) {
        if (kOpNames[i] == text)
            return static_cast<Constraint::Op>(i);
    }
    return std::nullopt;
}

std::string mesos_task_id(std::int64_t task_id, int attempt) {
    return "mf-" + std::to_string(task_id) + "-" + std::to_string(attempt);
}

std::optional<std::pair<std::int64_t, int>> parse_mesos_task_id(std::string_view id) {
    if (!id.starts_with("mf-"))
        return std::nullopt;
    id.remove_prefix(3);
    const auto dash = id.find('-');
    if (dash == std::string_view::npos)
        return std::nullopt;
    std::int64_t task = 0;
    int attempt = 0;
    if (!parse_int(id.substr(0, dash), task) || !parse_int(id.substr(dash + 1), attempt)) {
        return std::nullopt;
    }
    if (task <= 0 || attempt <= 0)
        return std::nullopt;
    return std::pair{task, attempt};
}

}  // namespace mesoflow::task
