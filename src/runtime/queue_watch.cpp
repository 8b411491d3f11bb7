// The queue watch: NOTIFY wakes the runtime at once when producers queue work
// or ask for kills; the poll is the fallback, and counts the queue for the
// offer gate (suppress when empty, revive when work comes) and the metrics.

#include "runtime_impl.hpp"

#include <unistd.h>

#include <algorithm>
#include <utility>

namespace mesoflow::runtime {
namespace {

struct PollResult {
    std::int64_t pending = 0;
    std::optional<std::int64_t> next_retry_us;
    std::vector<store::StateCount> counts;
    std::vector<store::QueueUsage> queues;
    std::optional<std::vector<store::ReasonCount>> reasons;  // read at a lower rate
};

// Counting the tasks not launched yet by reason reads every pending row:
// at most this often (for /metrics), not at every poll.
constexpr std::chrono::seconds kReasonCountInterval{60};

}  // namespace

void Runtime::Impl::schedule_poll(milliseconds after) {
    poll_timer.expires_after(after);
    poll_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping())
            return;
        run_poll();
    });
}

void Runtime::Impl::on_work_may_be_pending() {
    ++work_epoch;
    claims_exhausted = false;
    schedule_poll(milliseconds(0));
}

void Runtime::Impl::run_poll() {
    if (poll_running) {
        poll_again = true;
        return;
    }
    poll_running = true;
    poll_again = false;
    const bool count_reasons =
        !reasons_counted_at || time.now() - *reasons_counted_at >= kReasonCountInterval;
    if (count_reasons)
        reasons_counted_at = time.now();
    db_job(
        [this, count_reasons]() -> Result<PollResult> {
            PollResult p;
            auto look = store->pending_look();
            if (!look)
                return look.error();
            p.pending = look->due;
            p.next_retry_us = look->next_retry_us;
            // The pending count is the look's: one pass over the pending rows.
            auto counts = store->counts_by_state(store::kExactEndedPagesUpTo, false);
            if (!counts)
                return counts.error();
            p.counts = std::move(*counts);
            p.counts.push_back({task::TaskState::pending, look->total, look->total_estimated});
            auto queues = store->queue_usage();
            if (!queues)
                return queues.error();
            p.queues = std::move(*queues);
            if (count_reasons) {
                auto reasons = store->pending_reason_counts();
                if (!reasons)
                    return reasons.error();
                p.reasons = std::move(*reasons);
            }
            return p;
        },
        [this, epoch = work_epoch](Result<PollResult> r) {
            poll_running = false;
            auto next = milliseconds(static_cast<std::int64_t>(cfg.poll_interval_s * 1000));
            // Work may have come while this poll read the queue: its count
            // may be short, so it suppresses nothing and a new poll goes now.
            const bool stale = epoch != work_epoch || poll_again;
            if (stale)
                next = milliseconds(0);
            if (db_ok(r, "poll")) {
                metrics.queue_pending = r->pending;
                for (auto& g : metrics.tasks_by_state)
                    g = 0;
                for (const auto& c : r->counts) {
                    metrics.tasks_by_state[static_cast<std::size_t>(c.state)] = c.count;
                }
                if (r->reasons)
                    reason_counts = std::move(*r->reasons);
                set_queue_usage(r->queues);
                // Claimed tasks wait for offers too: never suppress them;
                // nor while launches are on their way (the count read the
                // queue without them, and they may come back to it).
                const auto pending = r->pending + static_cast<std::int64_t>(claimed.size()) +
                                     static_cast<std::int64_t>(pacer.launches_in_flight());
                if (pending > 0 || !stale)
                    apply_gate(gate.on_pending(pending, time.now()));
                if (r->pending > 0) {
                    claims_exhausted = false;
                    place_offers();
                } else if (unknown_claims > 0) {
                    maybe_claim();  // what a failed claim may have left goes back
                }
                if (r->next_retry_us) {
                    const auto wait_ms =
                        std::max<std::int64_t>(1, (*r->next_retry_us - time.wall_us()) / 1000 + 1);
                    next = std::min(next, milliseconds(wait_ms));
                }
            }
            if (!stopping())
                schedule_poll(next);
        });
}

// The LISTEN connection is opened on its own thread: a database that does
// not answer holds that thread (up to the connect timeout), never the event
// loop, so heartbeats, offers and acknowledgements go on; polling covers the
// gap until the connection is handed over.
void Runtime::Impl::connect_listener() {
    if (listener_connecting || stopping())
        return;
    listener_connecting = true;
    listen_worker->submit(
        [dsn = cfg.database] {
            auto l = std::make_unique<store::TaskListener>(dsn);
            auto st = l->connect();
            return std::make_pair(std::move(l), std::move(st));
        },
        [this](std::pair<std::unique_ptr<store::TaskListener>, Status> r) {
            listener_connecting = false;
            if (stopping())
                return;
            if (!r.second.ok()) {
                log::warn("listen_failed", "error={} fallback=polling retry_ms={}",
                          log::quote(r.second.error().message), kListenRetry.count());
                retry_listener();
                return;
            }
            listener = std::move(r.first);
            listener_fd =
                std::make_unique<asio::posix::stream_descriptor>(loop, ::dup(listener->socket()));
            wait_listener();
        });
}

void Runtime::Impl::retry_listener() {
    wake_timer.expires_after(kListenRetry);
    wake_timer.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopping())
            connect_listener();
    });
}

void Runtime::Impl::wait_listener() {
    listener_fd->async_wait(asio::posix::stream_descriptor::wait_read,
                            [this](const boost::system::error_code& ec) {
                                if (ec || stopping())
                                    return;
                                on_listener_readable();
                            });
}

void Runtime::Impl::on_listener_readable() {
    auto w = listener->drain();
    if (!w) {
        log::warn("listen_lost", "error={} fallback=polling", log::quote(w.error().message));
        listener_fd.reset();
        // Try again later; polling covers the gap.
        retry_listener();
        return;
    }
    if (w->pending) {
        apply_gate(gate.on_new_work(time.now()));
        on_work_may_be_pending();
        maybe_claim();
    }
    if (w->kill)
        run_kill_scan();
    wait_listener();
}

}  // namespace mesoflow::runtime
