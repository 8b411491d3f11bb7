#include "mesoflow/scheduler/commit_reactions.hpp"

#include <algorithm>

namespace mesoflow::scheduler {
namespace {

// Only these count as "alive" for a stray: TASK_KILLING is already on its way out.
bool reports_alive(task::MesosTaskState s) {
    return s == task::MesosTaskState::staging || s == task::MesosTaskState::starting ||
           s == task::MesosTaskState::running;
}

}  // namespace

CommitReaction react_to_commit(std::span<const task::StatusUpdate> batch,
                               std::span<const task::UpdateResult> results) {
    CommitReaction out;
    out.updates.resize(batch.size());
    for (std::size_t i = 0; i < batch.size() && i < results.size(); ++i) {
        const auto& u = batch[i];
        const auto& res = results[i];
        auto& r = out.updates[i];
        if (res.outcome == task::UpdateOutcome::row_locked) {
            // Nothing of it is committed: no acknowledgement, no kill, no log.
            r.keep = true;
            out.kept++;
            continue;
        }
        const bool applied = res.outcome == task::UpdateOutcome::applied;
        if (applied) {
            out.applied++;
        } else {
            out.ignored++;
        }
        if (applied && res.task_state) {
            const bool ended = task::is_terminal(*res.task_state) || res.retry_in_s.has_value();
            r.log = ended ? UpdateLog::state : UpdateLog::quiet;
            r.forget_kill = ended;
            out.repoll = out.repoll || res.retry_in_s.has_value();
            out.ended = out.ended || ended;
        } else if (res.outcome != task::UpdateOutcome::duplicate) {
            r.log = UpdateLog::ignored;
        }
        r.kill_stray = res.outcome == task::UpdateOutcome::stale_attempt_alive ||
                       (res.outcome == task::UpdateOutcome::unknown_task && reports_alive(u.state));
        r.acknowledge = !u.uuid.empty();
        r.reconcile = res.outcome == task::UpdateOutcome::unsettled;
        r.not_taken = r.reconcile && res.task_state == task::TaskState::launching;
    }
    return out;
}

CommitFailure on_commit_failed(bool permanent, std::size_t items,
                               std::chrono::milliseconds backoff) {
    CommitFailure f;
    if (permanent && items > 1) {
        f.action = CommitFailureAction::one_by_one;
        f.next_backoff = backoff;
        return f;
    }
    if (permanent && items == 1) {
        f.action = CommitFailureAction::quarantine;
        f.next_backoff = backoff;
        return f;
    }
    f.action = CommitFailureAction::retry;
    f.wait = std::clamp(backoff, kCommitRetryMin, kCommitRetryMax);
    f.next_backoff = std::min(f.wait * 2, kCommitRetryMax);
    return f;
}

LockedRetry on_rows_locked(std::size_t kept, bool still_kept, std::chrono::milliseconds backoff) {
    LockedRetry r;
    if (kept == 0) {
        // Nothing skipped: the back-off starts over once nothing is kept.
        r.next_backoff = still_kept ? backoff : kCommitRetryMin;
        return r;
    }
    if (still_kept) {
        // Skipped again while other kept items wait for the armed retry:
        // they all go with it.
        r.next_backoff = backoff;
        return r;
    }
    r.schedule = true;
    r.wait = std::clamp(backoff, kCommitRetryMin, kCommitRetryMax);
    r.next_backoff = std::min(r.wait * 2, kCommitRetryMax);
    return r;
}

bool lane_stuck(std::optional<std::chrono::steady_clock::time_point> waiting_since,
                std::chrono::steady_clock::time_point now) {
    return waiting_since && now - *waiting_since >= kLaneStuckAfter;
}

}  // namespace mesoflow::scheduler
