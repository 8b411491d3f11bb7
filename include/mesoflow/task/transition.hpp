// The status-update rules of the queue, as a pure function: given what the
// task row says and one update about one attempt, what becomes of the row.
// apply_updates reads the rows, runs every update of a batch through decide()
// in order (advance() carries the row forward between them) and writes the
// result back in the same transaction.
//
// Rules: updates about an attempt other than the current one never touch the
// row (an old attempt reporting itself alive is flagged so the runtime kills
// it); once the current attempt is over (terminal, or back to pending for a
// retry) nothing changes the row; an alive state that ranks below the row's
// is stale; the same state again is a duplicate (a health change excepted).
// Terminal updates follow the task's retry policy (see decide_terminal).
// An attempt counts against max_attempts once it reached Mesos.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mesoflow/task/status_update.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::task {

// The longest wait between attempts, whatever the task's retry_backoff_s.
inline constexpr double kMaxRetryBackoffSeconds = 3600;

// The columns of a task row the rules read.
struct TaskSnapshot {
    TaskState state = TaskState::pending;
    int attempt = 0;
    int max_attempts = 1;
    double retry_backoff_s = 0;
    bool retry_on_failure = false;
    bool kill_requested = false;
    bool timed_out = false;
    // The current attempt is being killed because it did not reach
    // TASK_RUNNING within launch_timeout: its end is a lost attempt, retried
    // by the retry policy.
    bool launch_timed_out = false;
    std::optional<bool> healthy;
    std::optional<MesosTaskState> last_mesos_state;  // of the current attempt
    // The current attempt was placed on an agent (its ACCEPT was sent and
    // recorded). A claimed attempt waits for an offer unplaced.
    bool placed = true;
    // Attempts claimed that never reached Mesos; they do not count against
    // max_attempts.
    int unlaunched_attempts = 0;
    // The current attempt's agent is out of reach (TASK_UNREACHABLE, or
    // TASK_UNKNOWN for a placed attempt): it may still run there.
    bool unreachable = false;
};

struct Transition {
    UpdateOutcome outcome = UpdateOutcome::stale;
    TaskState to = TaskState::pending;  // the row's state afterwards
    bool starts = false;                // first TASK_RUNNING of the attempt: set started_at
    bool finishes = false;              // terminal: set finished_at
    std::optional<double> retry_in_s;   // back to pending, launchable after this delay
    std::optional<std::string> reason;  // mesoflow's own reason, overriding Mesos's
    std::string note;                   // why nothing changed
    bool unlaunched = false;            // the attempt never reached Mesos: not counted
    bool unreachable = false;           // the row's `unreachable` afterwards (when applied)
};

// The reason of the update mesoflow makes up itself when an unreachable
// attempt's grace period is over: a TASK_LOST that replaces the attempt
// unless its agent came back meanwhile.
inline constexpr std::string_view kUnreachableExpiredReason = "MESOFLOW_UNREACHABLE_GRACE_EXPIRED";

// back-off * 2^(attempt - 1), at most kMaxRetryBackoffSeconds.
double retry_delay_s(double backoff_s, int attempt);

// `reason` is the update's Mesos reason ("REASON_RECONCILIATION", ...): the
// master's "unknown" answer to reconciling an attempt that was claimed but
// never placed, or whose ACCEPT the master never took (`accept_not_taken`),
// proves it never reached Mesos (the placement commits before the ACCEPT is
// sent), so the task goes back to pending at once and the attempt is not
// counted. A lost or dropped update with REASON_INVALID_OFFERS settles
// nothing (UpdateOutcome::unsettled): it may answer a repeated ACCEPT of an
// attempt that runs.
//
// An attempt whose agent is out of reach (TASK_UNREACHABLE; TASK_UNKNOWN for
// a placed attempt, which a failed-over master says of tasks on agents that
// have not re-registered) may still be running: the row keeps its state and
// is marked unreachable. An alive update clears the mark; the runtime's
// update with kUnreachableExpiredReason, sent once the grace period is over,
// replaces the attempt by the retry policy, unless the mark is gone by then.
//
// An attempt killed for its launch timeout (launch_timed_out) ends as a lost
// attempt would: retried while attempts are left, else `lost`, both with
// reason "launch_timeout" (the execution timeout ends a task `failed`).
Transition decide(const TaskSnapshot& row, int update_attempt, MesosTaskState state,
                  std::optional<bool> healthy, std::string_view reason = {},
                  bool accept_not_taken = false);

// Carries the row forward after an applied transition.
void advance(TaskSnapshot& row, const Transition& t, MesosTaskState state,
             std::optional<bool> healthy);

}  // namespace mesoflow::task
