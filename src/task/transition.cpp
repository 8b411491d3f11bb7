#include "mesoflow/task/transition.hpp"

#include <algorithm>
#include <cmath>

namespace mesoflow::task {
namespace {

// The task state an alive Mesos state puts the row in.
TaskState alive_state(MesosTaskState state) {
    switch (state) {
        case MesosTaskState::staging:
            return TaskState::staging;
        case MesosTaskState::starting:
            return TaskState::starting;
        case MesosTaskState::running:
            return TaskState::running;
        default:
            return TaskState::killing;
    }
}

Transition ignored(UpdateOutcome outcome, TaskState to, std::string note) {
    Transition t;
    t.outcome = outcome;
    t.to = to;
    t.note = std::move(note);
    return t;
}

// Attempts that reached Mesos: what the retry policy counts.
int launched_attempts(const TaskSnapshot& row) {
    return row.attempt - row.unlaunched_attempts;
}

Transition retry(const TaskSnapshot& row) {
    Transition t;
    t.outcome = UpdateOutcome::applied;
    t.to = TaskState::pending;
    t.retry_in_s = retry_delay_s(row.retry_backoff_s, launched_attempts(row));
    return t;
}

// Out of reach, not gone: the agent may come back with the attempt running.
// (An ACCEPT the master never took placed nothing: its "unknown" is final.)
bool may_return(const TaskSnapshot& row, MesosTaskState state, bool accept_not_taken) {
    return state == MesosTaskState::unreachable ||
           (state == MesosTaskState::unknown && row.placed && !accept_not_taken);
}

bool unknown_to_master(MesosTaskState state) {
    return state == MesosTaskState::lost || state == MesosTaskState::unknown ||
           state == MesosTaskState::dropped || state == MesosTaskState::gone;
}

Transition finish(TaskState to) {
    Transition t;
    t.outcome = UpdateOutcome::applied;
    t.to = to;
    t.finishes = true;
    return t;
}

// A terminal update of the live current attempt: the retry policy.
Transition decide_terminal(const TaskSnapshot& row, MesosTaskState state, std::string_view reason,
                           bool accept_not_taken) {
    const bool attempts_left = launched_attempts(row) < row.max_attempts;
    // Nothing is retried that the producer asked to stop, or that ran out of time.
    const bool stopping = row.kill_requested || row.timed_out;
    if (row.timed_out && (state == MesosTaskState::killed || state == MesosTaskState::failed)) {
        Transition t = finish(TaskState::failed);
        t.reason = "timeout";
        return t;
    }
    if (row.launch_timed_out && !stopping && state == MesosTaskState::killed) {
        // Killed for never reaching TASK_RUNNING in time: a lost attempt,
        // counted and retried while attempts are left.
        Transition t = attempts_left ? retry(row) : finish(TaskState::lost);
        t.reason = "launch_timeout";
        return t;
    }
    switch (state) {
        case MesosTaskState::finished:
            return finish(TaskState::finished);
        case MesosTaskState::failed:
            if (row.retry_on_failure && attempts_left && !stopping)
                return retry(row);
            return finish(TaskState::failed);
        case MesosTaskState::killed:
            return finish(TaskState::killed);
        case MesosTaskState::error:
            return finish(TaskState::error);
        default:  // the lost family
            if (reason == "REASON_INVALID_OFFERS") {
                // The offer was gone, or the ACCEPT came twice and this
                // answers the second: the attempt may run. The master is asked.
                return ignored(UpdateOutcome::unsettled, row.state,
                               "invalid offers: the attempt may run; reconciling");
            }
            if (row.kill_requested)
                return finish(TaskState::killed);
            if ((!row.placed || accept_not_taken) && reason == "REASON_RECONCILIATION" &&
                unknown_to_master(state)) {
                Transition t;
                t.outcome = UpdateOutcome::applied;
                t.to = TaskState::pending;
                t.retry_in_s = 0.0;
                t.unlaunched = true;
                t.reason = "never_launched";
                return t;
            }
            if (attempts_left && !stopping)
                return retry(row);
            return finish(TaskState::lost);
    }
}

}  // namespace

double retry_delay_s(double backoff_s, int attempt) {
    const int doublings = std::max(attempt - 1, 0);
    // 2^12 already exceeds an hour for any back-off of a second or more.
    const double factor = std::ldexp(1.0, std::min(doublings, 30));
    return std::min(backoff_s * factor, kMaxRetryBackoffSeconds);
}

Transition decide(const TaskSnapshot& row, int update_attempt, MesosTaskState state,
                  std::optional<bool> healthy, std::string_view reason, bool accept_not_taken) {
    const bool alive = is_alive(state);
    if (update_attempt > row.attempt) {
        return ignored(UpdateOutcome::unknown_task, row.state, "attempt was never launched");
    }
    if (update_attempt < row.attempt) {
        return ignored(alive ? UpdateOutcome::stale_attempt_alive : UpdateOutcome::stale, row.state,
                       "a newer attempt exists");
    }
    const bool attempt_over = row.state == TaskState::pending || is_terminal(row.state);
    if (attempt_over) {
        if (alive) {
            return ignored(UpdateOutcome::stale_attempt_alive, row.state,
                           "attempt already ended as " +
                               std::string(row.last_mesos_state ? to_string(*row.last_mesos_state)
                                                                : to_string(row.state)));
        }
        if (row.last_mesos_state == state) {
            return ignored(UpdateOutcome::duplicate, row.state, "already applied");
        }
        return ignored(UpdateOutcome::stale, row.state, "attempt already ended");
    }
    if (reason == kUnreachableExpiredReason && !row.unreachable)
        return ignored(UpdateOutcome::stale, row.state, "the agent came back");
    if (may_return(row, state, accept_not_taken) && !row.kill_requested && !row.timed_out) {
        if (row.unreachable)
            return ignored(UpdateOutcome::duplicate, row.state, "already unreachable");
        Transition t;
        t.outcome = UpdateOutcome::applied;
        t.to = row.state;
        t.unreachable = true;
        return t;
    }
    if (!alive)
        return decide_terminal(row, state, reason, accept_not_taken);

    const TaskState to = alive_state(state);
    if (to < row.state) {
        return ignored(UpdateOutcome::stale, row.state,
                       "older than " + std::string(to_string(row.state)));
    }
    if (to == row.state && !(healthy && healthy != row.healthy) && !row.unreachable) {
        return ignored(UpdateOutcome::duplicate, row.state, "already applied");
    }
    Transition t;
    t.outcome = UpdateOutcome::applied;
    t.to = to;
    t.starts = to == TaskState::running && row.state < TaskState::running;
    return t;
}

void advance(TaskSnapshot& row, const Transition& t, MesosTaskState state,
             std::optional<bool> healthy) {
    if (t.outcome != UpdateOutcome::applied)
        return;
    row.state = t.to;
    row.last_mesos_state = state;
    if (t.unlaunched)
        row.unlaunched_attempts++;
    if (healthy)
        row.healthy = healthy;
    row.unreachable = t.unreachable;
}

}  // namespace mesoflow::task
