// What `mesoflow status` reads: a task row with its state columns, a filter
// for listing tasks, and one entry of a task's history. Plain values; times
// are microseconds since the epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesoflow/task/task.hpp"

namespace mesoflow::store {

struct TaskRow {
    std::int64_t id = 0;
    std::string key;
    task::TaskState state = task::TaskState::pending;
    int attempt = 0;
    int max_attempts = 0;
    int priority = 0;
    std::optional<std::string> command;
    std::vector<std::string> argv;
    std::string image;
    task::Containerizer containerizer = task::Containerizer::none;
    std::vector<task::Volume> volumes;
    task::NetworkMode network = task::NetworkMode::unset;
    std::string network_name;
    std::vector<std::pair<std::string, std::string>> docker_parameters;
    double cpus = 0;
    double mem_mb = 0;
    double disk_mb = 0;
    double gpus = 0;
    int ports = 0;
    std::optional<double> timeout_s;
    bool kill_requested = false;
    bool timed_out = false;
    // Empty when the column is NULL.
    std::string mesos_task_id;
    std::string agent_id;
    std::string hostname;
    std::string message;
    std::string reason;
    std::string source;
    std::optional<int> exit_status;
    std::optional<bool> healthy;
    std::int64_t created_at_us = 0;
    std::int64_t updated_at_us = 0;
    std::int64_t not_before_us = 0;
    std::optional<std::int64_t> launched_at_us;
    std::optional<std::int64_t> started_at_us;
    std::optional<std::int64_t> finished_at_us;
};

// Newest first. Page with before_id = the smallest id of the previous page.
struct TaskFilter {
    std::vector<task::TaskState> states;  // empty: every state
    std::string key_prefix;               // empty: every key
    std::int64_t before_id = 0;           // 0: from the newest
    int limit = 100;
};

struct HistoryEntry {
    std::int64_t id = 0;
    std::int64_t recorded_at_us = 0;
    std::string kind;  // launch | update | kill_requested | timed_out | refused
    std::optional<int> attempt;
    // Empty when the column is NULL.
    std::string mesos_task_id;
    std::string mesos_state;  // TASK_* for updates
    std::string
        outcome;  // applied | duplicate | stale | stale_attempt_alive | unknown_task | unsettled
    std::string from_state;
    std::string to_state;
    std::string reason;
    std::string source;
    std::string message;
    std::string agent_id;
    std::string executor_id;
    std::string uuid;
    std::string note;
    std::optional<bool> healthy;
    std::optional<std::int64_t> status_time_us;
};

struct StateCount {
    task::TaskState state = task::TaskState::pending;
    std::int64_t count = 0;
};

}  // namespace mesoflow::store
