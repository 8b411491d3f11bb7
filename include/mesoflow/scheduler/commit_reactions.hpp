// What a lane's commit causes. Pure: the batch and what the store made of
// it go in, the calls and bookkeeping to carry out come back.
//
// After a batch of status updates commits (react_to_commit): every update
// that carried a uuid is acknowledged (never before: the acknowledgement is
// decided only here, from a committed result); an attempt mesoflow considers
// over, or never launched, that reports itself alive is killed; an attempt
// that ended or went back to pending is no longer tracked for KILL re-sends;
// a retry makes the queue worth a look at once; an update that settles
// nothing (a drop answering an invalid offer, for an attempt that may run)
// has its attempt reconciled.
//
// After a batch fails (on_commit_failed): a transient error (connection lost,
// serialization failure) retries the batch as it was, after a back-off
// doubling from kCommitRetryMin to kCommitRetryMax; a permanent error (a
// constraint or trigger refusing the data) would fail the same way forever
// and stall everything behind it, so the batch's items are committed one by
// one, and a single item that still fails permanently is quarantined: logged
// with its reason, dropped from the lane, never acknowledged (Mesos
// redelivers it, and it is tried again on its own).
//
// After a batch commits with rows another session held (on_rows_locked): the
// updates and placements of those rows were skipped, not written; they are
// kept on their lane, not acknowledged, and go again after a back-off of
// their own (kCommitRetryMin doubling to kCommitRetryMax) while everything
// else on the lane keeps committing. Until then, later updates of the same
// tasks wait behind them, so a task's updates still commit in order.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "mesoflow/task/status_update.hpp"

namespace mesoflow::scheduler {

inline constexpr std::chrono::milliseconds kCommitRetryMin{100};
inline constexpr std::chrono::milliseconds kCommitRetryMax{5000};

// How an update is worth logging once committed.
enum class UpdateLog {
    quiet,    // an alive state moved forward: debug
    state,    // terminal, or sent back to pending for a retry: info
    ignored,  // stale, or not a task of mesoflow's: info
    none,     // a redelivery of what the row already says
};

struct UpdateReaction {
    bool acknowledge = false;  // it carried a uuid and is committed
    bool kill_stray = false;   // alive where mesoflow holds the attempt over or unknown
    bool forget_kill = false;  // terminal or retried: stop re-sending KILLs
    UpdateLog log = UpdateLog::none;
    bool reconcile = false;  // unsettled: ask the master about the attempt
    bool keep = false;       // not written (its row was locked): keep it back, try it again
    // Unsettled while the attempt had never been heard of (still launching):
    // the offer was most likely rescinded before the ACCEPT reached the
    // master. Should the master then not know the attempt, it never ran, and
    // it goes back to pending uncounted (as an ACCEPT the master never took).
    bool not_taken = false;

    bool operator==(const UpdateReaction&) const = default;
};

struct CommitReaction {
    std::vector<UpdateReaction> updates;  // one per update, in batch order
    std::size_t applied = 0;
    std::size_t ignored = 0;  // duplicates, stale and unknown
    std::size_t kept = 0;     // row locked: not written, to be tried again
    bool repoll = false;      // a task went back to pending: look at the queue now
    bool ended = false;       // an attempt ended: a queue at max_running has room again
};

// results[i] is what the store made of batch[i]; the two have the same size.
CommitReaction react_to_commit(std::span<const task::StatusUpdate> batch,
                               std::span<const task::UpdateResult> results);

enum class CommitFailureAction {
    retry,       // the same batch again after `wait`
    one_by_one,  // commit the batch's items one at a time
    quarantine,  // drop the one item, unacknowledged, with a logged reason
};

struct CommitFailure {
    CommitFailureAction action = CommitFailureAction::retry;
    std::chrono::milliseconds wait{0};  // retry: how long to wait first
    std::chrono::milliseconds next_backoff{kCommitRetryMin};

    bool operator==(const CommitFailure&) const = default;
};

// items: updates plus placements in the failed batch; backoff: the lane's
// current retry back-off.
CommitFailure on_commit_failed(bool permanent, std::size_t items,
                               std::chrono::milliseconds backoff);

struct LockedRetry {
    bool schedule = false;              // arm the lane's retry of what it keeps
    std::chrono::milliseconds wait{0};  // schedule: how long to wait first
    std::chrono::milliseconds next_backoff{kCommitRetryMin};

    bool operator==(const LockedRetry&) const = default;
};

// After a batch committed. kept: its updates and placements skipped for a
// locked row; still_kept: the lane keeps items from earlier batches (whose
// retry is armed already); backoff: the lane's current back-off for them.
LockedRetry on_rows_locked(std::size_t kept, bool still_kept, std::chrono::milliseconds backoff);

// A lane that has had work (updates or placements queued, or a batch in
// flight) and no commit for this long is stuck: /ready says not ready, and
// mesoflow_update_lanes_stuck counts it. Longer than a transient failure's
// back-off (kCommitRetryMax) several times over, shorter than the
// statement timeout a blocked batch waits out.
inline constexpr std::chrono::seconds kLaneStuckAfter{30};

// waiting_since: since when the lane has had work without a commit (empty:
// no work); now: the runtime's time.
bool lane_stuck(std::optional<std::chrono::steady_clock::time_point> waiting_since,
                std::chrono::steady_clock::time_point now);

}  // namespace mesoflow::scheduler
