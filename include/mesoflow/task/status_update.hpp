// A Mesos task status update as the store applies it, and what became of it.
// The store knows Mesos states by name only ("TASK_RUNNING"): it does not
// depend on the protocol layer's types; the runtime converts by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mesoflow/task/task.hpp"

namespace mesoflow::task {

// Mesos v1 TaskState, as reported in TaskStatus.state.
enum class MesosTaskState {
    staging,
    starting,
    running,
    killing,
    finished,
    failed,
    killed,
    error,
    lost,
    dropped,
    unreachable,
    gone,
    gone_by_operator,
    unknown,
};

std::string_view to_string(MesosTaskState state);  // "TASK_RUNNING"
std::optional<MesosTaskState> parse_mesos_task_state(std::string_view name);
// STAGING, STARTING, RUNNING, KILLING: the attempt is (still) alive on an agent.
bool is_alive(MesosTaskState state);
// LOST, DROPPED, UNREACHABLE, GONE, GONE_BY_OPERATOR, UNKNOWN: the attempt is
// gone or out of reach, through no fault of the task; retried while attempts remain.
bool is_lost(MesosTaskState state);

// "Command exited with status 3" (command and docker executors) -> 3.
std::optional<int> exit_status_from_message(std::string_view message);

struct StatusUpdate {
    std::string mesos_task_id;  // "mf-<task id>-<attempt>"
    MesosTaskState state = MesosTaskState::staging;
    std::string reason;  // "REASON_..." or empty
    std::string source;  // "SOURCE_..." or empty
    std::string message;
    std::string agent_id;
    std::string executor_id;
    std::optional<double> timestamp;  // TaskStatus.timestamp, seconds since the epoch
    std::string uuid;                 // base64 as received; empty when Mesos sent none
    std::optional<bool> healthy;
    std::optional<int> exit_status;  // when empty, read from the message when it says so
    // Set by the runtime, not Mesos: the master never took the ACCEPT that
    // named this attempt (it refused it, or it was never written).
    bool accept_not_taken = false;
};

enum class UpdateOutcome {
    applied,              // the task row changed
    duplicate,            // the row already says this (a redelivery): nothing changed
    stale,                // older than what the row says, or about an attempt that ended
    stale_attempt_alive,  // an attempt mesoflow considers over reports itself alive: kill it
    unknown_task,         // not a task (or attempt) mesoflow launched
    // Does not settle the attempt: a drop answering an invalid offer may
    // answer an ACCEPT repeated on the way, for an attempt that runs. The
    // master is asked (reconciliation) and its answer decides.
    unsettled,
    row_locked,  // another session held the task's row: not applied, not written;
                 // to be tried again (never acknowledged as it is)
};

std::string_view to_string(UpdateOutcome outcome);

struct UpdateResult {
    UpdateOutcome outcome = UpdateOutcome::unknown_task;
    std::int64_t task_id = 0;  // 0 when the Mesos task id is not one of mesoflow's
    int attempt = 0;
    std::optional<TaskState> task_state;  // the task's state after this update
    std::optional<double> retry_in_s;     // set when this update sent the task back to pending
    std::string note;                     // why an update was not applied
};

}  // namespace mesoflow::task
