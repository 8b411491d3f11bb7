// The one mapping of a NewTask to the queue table's columns, shared by
// insert_task (one INSERT) and insert_tasks (COPY): each column's value as
// PostgreSQL text, or none when the task leaves it to the table (the
// column's default, or the queue's: insert_task leaves those to the trigger
// tasks_apply_queue_defaults, insert_tasks gives them itself).
#pragma once

#include <array>
#include <optional>
#include <string>

#include "mesoflow/store/new_task.hpp"

namespace mesoflow::store {

struct TaskColumn {
    const char* name;
    const char* cast;  // for a parameter sent as text: "::jsonb", or ""
};

inline constexpr std::array<TaskColumn, 29> kNewTaskColumns{{
    {"key", ""},
    {"command", ""},
    {"argv", "::text[]"},
    {"image", ""},
    {"containerizer", ""},
    {"force_pull", ""},
    {"volumes", "::jsonb"},
    {"network", ""},
    {"network_name", ""},
    {"docker_parameters", "::jsonb"},
    {"cpus", ""},
    {"mem", ""},
    {"disk", ""},
    {"gpus", ""},
    {"ports", ""},
    {"env", "::jsonb"},
    {"uris", "::text[]"},
    {"run_as_user", ""},
    {"labels", "::jsonb"},
    {"role", ""},
    {"constraints", "::jsonb"},
    {"priority", ""},
    {"max_attempts", ""},
    {"retry_backoff_s", ""},
    {"retry_on_failure", ""},
    {"timeout_s", ""},
    {"kill_requested", ""},
    {"queue", ""},
    {"not_before", "::timestamptz"},
}};

// Values in the order of kNewTaskColumns; nullopt: the task sets nothing.
using TaskColumnValues = std::array<std::optional<std::string>, kNewTaskColumns.size()>;

// Fills `out` (reused across calls, so that its strings keep their storage).
void task_column_values(const NewTask& task, TaskColumnValues& out);

}  // namespace mesoflow::store
