// Update lanes: status updates commit in batches on lanes of
// their own; what a commit causes (acknowledgements, stray kills) and what a
// failed one causes come from the scheduler core's commit reactions.

#include "runtime_impl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "mesoflow/runtime/status_conversion.hpp"
#include "mesoflow/scheduler/calls.hpp"

namespace mesoflow::runtime {

Runtime::Impl::UpdateLane& Runtime::Impl::lane_of(std::int64_t task_id) {
    return *lanes[static_cast<std::size_t>(task_id < 0 ? 0 : task_id) % lanes.size()];
}

Runtime::Impl::UpdateLane& Runtime::Impl::lane_of(const std::string& mesos_task_id) {
    const auto parsed = task::parse_mesos_task_id(mesos_task_id);
    return lane_of(parsed ? parsed->first : 0);
}

// Received and not yet committed, and of those, in a batch being committed.
std::size_t Runtime::Impl::updates_waiting() const {
    std::size_t n = 0;
    for (const auto& lane : lanes)
        n += lane->updates.size() + lane->committing + lane->kept.size();
    return n;
}

void Runtime::Impl::note_updates_waiting() {
    metrics.updates_waiting = static_cast<std::int64_t>(updates_waiting());
}

void Runtime::Impl::flush_all_updates() {
    for (auto& lane : lanes)
        flush_updates(*lane);
}

void Runtime::Impl::flush_updates(UpdateLane& lane) {
    if (lane.running)
        return;
    if (!lane.kept_tasks.empty()) {
        // A task with updates kept back commits nothing before them.
        auto later = std::stable_partition(
            lane.updates.begin(), lane.updates.end(),
            [&](const ReceivedUpdate& u) { return !lane.kept_tasks.contains(u.status.task_id); });
        lane.kept.insert(lane.kept.end(), std::make_move_iterator(later),
                         std::make_move_iterator(lane.updates.end()));
        lane.updates.erase(later, lane.updates.end());
    }
    if (lane.updates.empty())
        return;
    lane.running = true;
    if (!lane.waiting_since)
        lane.waiting_since = time.now();
    // After a permanent failure, one update at a time until the failed
    // batch's updates are through.
    std::size_t n =
        std::min<std::size_t>(lane.updates.size(), static_cast<std::size_t>(cfg.update_batch));
    if (lane.one_by_one > 0)
        n = std::min<std::size_t>(n, 1);
    lane.committing = n;
    auto batch = std::make_shared<std::vector<ReceivedUpdate>>(
        std::make_move_iterator(lane.updates.begin()),
        std::make_move_iterator(lane.updates.begin() + static_cast<std::ptrdiff_t>(n)));
    lane.updates.erase(lane.updates.begin(), lane.updates.begin() + static_cast<std::ptrdiff_t>(n));
    auto converted = std::make_shared<std::vector<task::StatusUpdate>>();
    converted->reserve(batch->size());
    for (const auto& u : *batch) {
        converted->push_back(to_store_update(u.status));
        if (!u.own_reason.empty())
            converted->back().reason = u.own_reason;
        converted->back().accept_not_taken = never_taken.contains(u.status.task_id);
    }
    timed_job(
        *lane.worker,
        [this, &lane, converted] {
            const auto start = std::chrono::steady_clock::now();
            auto r = lane.store->apply_updates(*converted);
            metrics.update_batch_time.record(std::chrono::steady_clock::now() - start);
            return r;
        },
        [this, &lane, batch, converted](Result<store::BatchResult> r) {
            lane.running = false;
            lane.committing = 0;
            if (!db_ok(r, "apply_updates")) {
                commit_failed(lane, std::move(*batch), r.error());
                return;
            }
            lane.retry = scheduler::kCommitRetryMin;
            if (lane.one_by_one > 0)
                lane.one_by_one -= std::min(lane.one_by_one, batch->size());
            lane.waiting_since.reset();
            const auto reaction = scheduler::react_to_commit(*converted, r->updates);
            const auto committed = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < batch->size(); ++i) {
                if (reaction.updates[i].keep)
                    continue;
                metrics.update_to_commit.record(committed - (*batch)[i].received);
                forget_held(lane, (*batch)[i]);
            }
            after_commit(*batch, r->updates, reaction);
            keep_locked(lane, *batch, reaction);
            note_updates_waiting();
            flush_updates(lane);
            // Held offers go as soon as the backlog and the window allow.
            place_offers();
            maybe_finish_stop();
        });
}

// Not committed, so not acknowledged: the commit reactions say whether the
// batch goes again as it was, item by item, or (one item failing for good)
// is quarantined.
void Runtime::Impl::commit_failed(UpdateLane& lane, std::vector<ReceivedUpdate> batch,
                                  const Error& error) {
    const auto items = batch.size();
    const auto failure = scheduler::on_commit_failed(error.permanent(), items, lane.retry);
    lane.retry = failure.next_backoff;
    if (failure.action == scheduler::CommitFailureAction::quarantine) {
        metrics.updates_quarantined += items;
        for (const auto& u : batch) {
            forget_held(lane, u);
            log::error("update_quarantined", "task={} state={} agent={} error={}",
                       log::quote(u.status.task_id), mesos::to_string(u.status.state),
                       log::quote(u.status.agent_id.value_or("")), log::quote(error.message));
        }
        lane.one_by_one -= std::min(lane.one_by_one, items);
        note_updates_waiting();
        flush_updates(lane);
        maybe_finish_stop();
        return;
    }
    lane.updates.insert(lane.updates.begin(), std::make_move_iterator(batch.begin()),
                        std::make_move_iterator(batch.end()));
    note_updates_waiting();
    if (failure.action == scheduler::CommitFailureAction::one_by_one) {
        log::warn("batch_refused", "items={} error={} next=one_by_one", items,
                  log::quote(error.message));
        lane.one_by_one = items;
        flush_updates(lane);
        return;
    }
    // Offers held for the backlog would wait for the database to come back:
    // their resources go back to the master meanwhile.
    decline_held(cfg.refuse_s);
    after(lane.retry_timer, failure.wait, [this, &lane] { flush_updates(lane); });
    maybe_finish_stop();
}

// Keeps back what a committed batch skipped because another session held
// its row (unacknowledged), and arms its retry as on_rows_locked says.
void Runtime::Impl::keep_locked(UpdateLane& lane, std::vector<ReceivedUpdate>& batch,
                                const scheduler::CommitReaction& reaction) {
    const bool still_kept = !lane.kept.empty();
    for (std::size_t i = 0; i < batch.size() && i < reaction.updates.size(); ++i) {
        if (!reaction.updates[i].keep)
            continue;
        log::debug("update_row_locked", "task={} state={}", log::quote(batch[i].status.task_id),
                   mesos::to_string(batch[i].status.state));
        lane.kept_tasks.insert(batch[i].status.task_id);
        lane.kept.push_back(std::move(batch[i]));
    }
    const auto kept = reaction.kept;
    metrics.updates_row_locked += kept;
    const auto retry = scheduler::on_rows_locked(kept, still_kept, lane.kept_retry);
    lane.kept_retry = retry.next_backoff;
    if (retry.schedule)
        after(lane.kept_timer, retry.wait, [this, &lane] { release_kept(lane); });
}

void Runtime::Impl::forget_held(UpdateLane& lane, const ReceivedUpdate& u) {
    if (u.status.uuid)
        lane.held.erase({u.status.task_id, *u.status.uuid});
}

// Whether each lane commits: a lane with work (queued, or a batch in flight)
// and no commit for kLaneStuckAfter is stuck; /ready and the metrics say so.
// Updates kept back for a locked row are not the lane's work: their retries
// commit (skipping them again) while the lane itself works.
void Runtime::Impl::watch_lanes() {
    const auto now = time.now();
    std::int64_t stuck = 0;
    std::chrono::steady_clock::duration longest{0};
    for (auto& lane : lanes) {
        const bool work = lane->running || !lane->updates.empty();
        if (!work) {
            lane->waiting_since.reset();
            continue;
        }
        if (!lane->waiting_since)
            lane->waiting_since = now;
        longest = std::max(longest, now - *lane->waiting_since);
        if (scheduler::lane_stuck(lane->waiting_since, now))
            ++stuck;
    }
    metrics.update_lanes_stuck = stuck;
    metrics.update_lane_stall_us =
        std::chrono::duration_cast<std::chrono::microseconds>(longest).count();
}

// The kept items go again, ahead of what came after them.
void Runtime::Impl::release_kept(UpdateLane& lane) {
    lane.updates.insert(lane.updates.begin(), std::make_move_iterator(lane.kept.begin()),
                        std::make_move_iterator(lane.kept.end()));
    lane.kept.clear();
    lane.kept_tasks.clear();
    flush_updates(lane);
}

// Carries out what the commit reactions decide for a committed batch.
void Runtime::Impl::after_commit(const std::vector<ReceivedUpdate>& batch,
                                 const std::vector<task::UpdateResult>& results,
                                 const scheduler::CommitReaction& reaction) {
    metrics.updates_applied += reaction.applied;
    metrics.updates_ignored += reaction.ignored;
    std::vector<scheduler::TaskRef> unsettled;
    for (std::size_t i = 0; i < batch.size() && i < reaction.updates.size(); ++i) {
        const auto& s = batch[i].status;
        const auto& res = results[i];
        const auto& act = reaction.updates[i];
        if (act.keep)
            continue;
        const auto state = mesos::to_string(s.state);
        switch (act.log) {
            case scheduler::UpdateLog::state:
                log::info("task_state", "task={} state={} agent={} result={} reason={}{}",
                          log::quote(s.task_id), state, log::quote(s.agent_id.value_or("")),
                          res.task_state ? task::to_string(*res.task_state) : "unknown",
                          s.reason ? mesos::to_string(*s.reason) : "none",
                          res.retry_in_s ? fmt::format(" retry_in_s={:.1f}", *res.retry_in_s)
                                         : std::string());
                break;
            case scheduler::UpdateLog::quiet:
                log::debug("task_state", "task={} state={} agent={}", log::quote(s.task_id), state,
                           log::quote(s.agent_id.value_or("")));
                break;
            case scheduler::UpdateLog::ignored:
                log::info("update_ignored", "task={} state={} outcome={} note={}",
                          log::quote(s.task_id), state, task::to_string(res.outcome),
                          log::quote(res.note));
                break;
            case scheduler::UpdateLog::none:
                break;
        }
        if (act.forget_kill)
            kills.forget(s.task_id);
        if (res.outcome == task::UpdateOutcome::applied)
            never_taken.erase(s.task_id);
        if (act.not_taken)
            never_taken.insert(s.task_id);  // until the master's word on it
        if (act.reconcile)
            unsettled.push_back({s.task_id, s.agent_id.value_or("")});
        if (act.kill_stray && framework_id) {
            log::warn("killing_stray_task", "task={} agent={} outcome={}", log::quote(s.task_id),
                      log::quote(s.agent_id.value_or("")), task::to_string(res.outcome));
            metrics.kills_sent++;
            send(scheduler::make_kill(*framework_id, s.task_id, s.agent_id));
        }
        if (act.acknowledge && framework_id) {
            metrics.acks_sent++;
            send(scheduler::make_acknowledge(*framework_id, s),
                 [this, received = batch[i].received](const transport::CallResult& r) {
                     if (r.written) {
                         metrics.update_to_ack.record(*r.written - received);
                         window_changed(pacer.acknowledged(*r.written - received, time.now()),
                                        "a status update waited longer than commit_latency_target");
                     }
                 });
        }
    }
    reconcile_tasks(unsettled);
    if (reaction.repoll) {
        on_work_may_be_pending();
    } else if (reaction.ended && queue_at_cap) {
        // A queue held at its max_running may claim again: a claim, not a
        // poll of the whole queue, at each end.
        ++work_epoch;
        claims_exhausted = false;
        maybe_claim();
    }
}

}  // namespace mesoflow::runtime
