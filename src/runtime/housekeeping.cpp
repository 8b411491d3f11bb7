// Housekeeping on timers: the kill scan (kill requests, execution and launch
// timeouts), explicit and implicit reconciliation and the
// event loop's lag.

#include "runtime_impl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "mesoflow/scheduler/calls.hpp"
#include "mesoflow/scheduler/kill_scan.hpp"
#include "mesoflow/task/transition.hpp"

namespace mesoflow::runtime {
namespace {

struct KillScan {
    std::vector<store::LiveAttempt> kills;
    std::vector<store::LiveAttempt> timed_out;
    std::vector<store::LiveAttempt> launch_timed_out;
    std::vector<store::LiveAttempt> unreachable_expired;
};

}  // namespace

void Runtime::Impl::reconcile_page(std::int64_t after) {
    db_job([this, after] { return store->active_attempts(after, kReconcilePage); },
           [this](Result<std::vector<store::LiveAttempt>> r) {
               if (!subscribed() || !framework_id)
                   return;
               if (!db_ok(r, "active_attempts")) {
                   reconcile_timer.expires_after(kDbRetry);
                   reconcile_timer.async_wait([this](const boost::system::error_code& ec) {
                       if (!ec)
                           reconcile_page(0);
                   });
                   return;
               }
               // Claims waiting here for an offer never went to Mesos, and
               // launches of this subscription without an update yet may
               // not have reached it (the page was read before they left):
               // asking about either would bring an "unknown" back that
               // sends a task launching now back to pending, to launch
               // twice. A launch that fails is reconciled by its repair.
               std::unordered_set<std::int64_t> waiting;
               for (const auto& spec : claimed)
                   waiting.insert(spec.id);
               std::vector<scheduler::TaskRef> refs;
               refs.reserve(r->size());
               for (const auto& a : *r) {
                   if (!waiting.contains(a.task_id) && !pacer.in_flight(a.mesos_task_id))
                       refs.push_back({a.mesos_task_id, a.agent_id});
               }
               const bool last = static_cast<int>(r->size()) < kReconcilePage;
               for (auto& call : reconciler.add(refs, time.now(), *framework_id)) {
                   metrics.reconcile_calls++;
                   send(call);
               }
               if (!last) {
                   reconcile_page(r->back().task_id);
               } else {
                   log::info("reconciliation_started", "tasks={}", reconciler.outstanding());
                   schedule_reconcile_tick();
               }
           });
}

// Attempts whose fate a failed call or an unsettling update left open:
// reconciled at once (task id and agent), and again with back-off until the
// master answers. With no subscription, the next one reconciles every live
// attempt anyway.
void Runtime::Impl::reconcile_tasks(const std::vector<scheduler::TaskRef>& refs) {
    if (refs.empty() || !subscribed() || !framework_id)
        return;
    for (auto& call : reconciler.add(refs, time.now(), *framework_id)) {
        metrics.reconcile_calls++;
        send(call);
    }
    schedule_reconcile_tick();
}

void Runtime::Impl::schedule_reconcile_tick() {
    reconcile_tick_timer.expires_after(kReconcileTick);
    reconcile_tick_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping())
            return;
        if (subscribed() && framework_id) {
            for (auto& call : reconciler.tick(time.now(), *framework_id)) {
                metrics.reconcile_calls++;
                send(call);
            }
        }
        if (reconciler.outstanding() > 0)
            schedule_reconcile_tick();
    });
}

void Runtime::Impl::schedule_implicit_reconcile() {
    implicit_timer.expires_after(
        milliseconds(static_cast<std::int64_t>(cfg.reconcile_interval_s * 1000)));
    implicit_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping())
            return;
        if (subscribed() && framework_id) {
            metrics.reconcile_calls++;
            log::info("reconcile_implicit", "framework_id={}", *framework_id);
            send(scheduler::make_reconcile(*framework_id, {}));
        }
        schedule_implicit_reconcile();
    });
}

void Runtime::Impl::schedule_kill_scan() {
    kill_timer.expires_after(kKillScanInterval);
    kill_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping())
            return;
        run_kill_scan();
        check_unplaceable();
        schedule_kill_scan();
    });
}

void Runtime::Impl::run_kill_scan() {
    if (kill_scan_running || !subscribed())
        return;
    kill_scan_running = true;
    pacer.expire(time.now());
    db_job(
        [this]() -> Result<KillScan> {
            KillScan scan;
            auto timed = store->timed_out_tasks(time.wall_us(), kKillScanLimit);
            if (!timed)
                return timed.error();
            if (!timed->empty()) {
                std::vector<std::int64_t> ids;
                for (const auto& t : *timed)
                    ids.push_back(t.task_id);
                auto marked = store->mark_timed_out(ids);
                if (!marked)
                    return marked.error();
                scan.timed_out = std::move(*timed);
            }
            if (cfg.launch_timeout_s > 0) {
                auto late = store->mark_launch_timed_out(time.wall_us(), cfg.launch_timeout_s,
                                                         kKillScanLimit);
                if (!late)
                    return late.error();
                scan.launch_timed_out = std::move(*late);
            }
            auto k = store->pending_kills(kKillScanLimit);
            if (!k)
                return k.error();
            scan.kills = std::move(*k);
            auto gone = store->unreachable_expired(time.wall_us(), cfg.unreachable_grace_period_s,
                                                   kKillScanLimit);
            if (!gone)
                return gone.error();
            scan.unreachable_expired = std::move(*gone);
            return scan;
        },
        [this](Result<KillScan> r) {
            kill_scan_running = false;
            if (!db_ok(r, "kill_scan") || !framework_id || !subscribed())
                return;
            metrics.kill_scans++;
            for (const auto& t : r->timed_out) {
                log::info("task_timed_out", "task={} agent={}", t.mesos_task_id, t.agent_id);
            }
            for (const auto& t : r->launch_timed_out) {
                log::info("task_launch_timed_out", "task={} agent={} state={}", t.mesos_task_id,
                          t.agent_id, task::to_string(t.state));
            }
            replace_unreachable(r->unreachable_expired);
            auto split = scheduler::split_kill_scan(r->kills, claimed, kills, time.now());
            for (const auto& t : split.kill) {
                metrics.kills_sent++;
                log::info("task_kill", "task={} agent={} reason={}", t.mesos_task_id, t.agent_id,
                          t.timed_out          ? "timeout"
                          : t.launch_timed_out ? "launch_timeout"
                                               : "requested");
                send(scheduler::make_kill(
                    *framework_id, t.mesos_task_id,
                    t.agent_id.empty() ? std::nullopt : std::optional<std::string>(t.agent_id)));
            }
            if (!split.release.empty()) {
                // Claimed, never sent to Mesos: no KILL, the row is killed
                // where it stands.
                metrics.claims_held = static_cast<std::int64_t>(claimed.size());
                release_claims(std::move(split.release), "kill_requested");
            }
        });
}

// Lag is the event loop's own, on the real clock whatever the runtime's time source.
void Runtime::Impl::sample_lag(std::chrono::steady_clock::time_point expected) {
    lag_timer.expires_at(expected);
    lag_timer.async_wait([this, expected](const boost::system::error_code& ec) {
        if (ec)
            return;
        const auto lag = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - expected)
                             .count();
        metrics.loop_lag_us_total += static_cast<std::uint64_t>(std::max<std::int64_t>(0, lag));
        metrics.loop_lag_samples++;
        if (lag > metrics.loop_lag_us_max)
            metrics.loop_lag_us_max = lag;
        watch_lanes();
        sample_lag(std::chrono::steady_clock::now() + kLagSampleInterval);
    });
}

}  // namespace mesoflow::runtime

namespace mesoflow::runtime {

// The grace period of attempts out of reach is over: each gets a TASK_LOST
// of mesoflow's own on its lane, which the rules apply only if the attempt is
// still marked unreachable when it commits (an agent that came back in
// between keeps its task). Nothing is acknowledged for it (it has no uuid).
void Runtime::Impl::replace_unreachable(const std::vector<store::LiveAttempt>& expired) {
    for (const auto& t : expired) {
        metrics.unreachable_replaced++;
        log::warn("unreachable_expired", "task={} agent={} grace_s={}", t.mesos_task_id, t.agent_id,
                  cfg.unreachable_grace_period_s);
        mesos::TaskStatus status;
        status.task_id = t.mesos_task_id;
        status.state = mesos::TaskState::lost;
        status.source = mesos::TaskSource::master;
        status.message =
            fmt::format("agent unreachable for longer than {} s", cfg.unreachable_grace_period_s);
        if (!t.agent_id.empty())
            status.agent_id = t.agent_id;
        UpdateLane& lane = lane_of(t.task_id);
        lane.updates.push_back({std::move(status), std::chrono::steady_clock::now(),
                                std::string(task::kUnreachableExpiredReason)});
        flush_updates(lane);
    }
    note_updates_waiting();
}

}  // namespace mesoflow::runtime
