// The runtime's life cycle: start-up, the graceful stop, and the public API.
// The pipelines are in files of their own (see runtime_impl.hpp).

#include "runtime_impl.hpp"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "mesoflow/store/migrations.hpp"

namespace mesoflow::runtime {

Runtime::Impl::Impl(config::Config c, std::string id, Seams seams, Metrics& m, int term_number,
                    const std::atomic<bool>& stop_flag)
    : cfg(std::move(c)),
      identity(std::move(id)),
      time(seams.time != nullptr ? *seams.time : system_time),
      metrics(m),
      term(term_number),
      stop_requested(stop_flag),
      pacer(scheduler::PacerOptions{.launch_window = cfg.launch_window,
                                    .launch_window_max = cfg.launch_window_max,
                                    .commit_latency_target_s = cfg.commit_latency_target_s,
                                    .claim_batch = cfg.claim_batch,
                                    .update_batch = cfg.update_batch,
                                    .refuse_s = cfg.refuse_s,
                                    .idle_refuse_s = cfg.idle_refuse_s}),
      reconciler(scheduler::ReconcilerOptions{
          milliseconds(static_cast<std::int64_t>(cfg.reconcile_backoff_min_s * 1000)),
          milliseconds(static_cast<std::int64_t>(cfg.reconcile_backoff_max_s * 1000)),
          milliseconds(static_cast<std::int64_t>(cfg.reconcile_interval_s * 1000)),
          scheduler::kReconcileChunk}),
      unplaceable(scheduler::UnplaceableLimits{
          std::chrono::microseconds(static_cast<std::int64_t>(cfg.unplaceable_after_s * 1e6)),
          std::chrono::microseconds(static_cast<std::int64_t>(cfg.unplaceable_timeout_s * 1e6))}),
      waiting_reasons(
          std::chrono::microseconds(static_cast<std::int64_t>(cfg.unplaceable_after_s * 1e6))),
      lease(milliseconds(static_cast<std::int64_t>(cfg.leader_lease_s * 1000))),
      call_sink(seams.calls) {
    metrics.launch_window = static_cast<std::int64_t>(pacer.window());
}

void Runtime::Impl::window_changed(scheduler::WindowChange change, std::string_view why) {
    if (!change.changed())
        return;
    metrics.launch_window = static_cast<std::int64_t>(change.to);
    log::info("launch_window_changed", "from={} to={} why={}", change.from, change.to, why);
}

void Runtime::Impl::move_to(scheduler::PhaseEvent event) {
    const auto before = phase;
    phase = scheduler::next_phase(phase, event);
    if (phase != before)
        log::debug("phase", "from={} to={}", scheduler::to_string(before),
                   scheduler::to_string(phase));
}

void Runtime::Impl::after(asio::steady_timer& timer, std::chrono::steady_clock::duration wait,
                          std::function<void()> then) {
    timer.expires_after(wait);
    timer.async_wait([then = std::move(then)](const boost::system::error_code& ec) {
        if (!ec)
            then();
    });
}

int Runtime::Impl::run() {
    log::info("starting", "identity={} framework={} masters={} term={}", identity,
              cfg.framework_name, cfg.masters.size(), term);
    const milliseconds limit = lease.length();
    store = std::make_unique<store::TaskStore>(cfg.database, "mesoflow", limit);
    leader = std::make_unique<store::LeaderLock>(cfg.database, cfg.framework_name, identity, limit);
    metrics.lease_ms = limit.count();
    lease_worker = std::make_unique<DatabaseWorker>(
        [this](DatabaseWorker::Task t) { asio::post(loop, std::move(t)); }, "db-lease");
    db = std::make_unique<DatabaseWorker>(
        [this](DatabaseWorker::Task t) { asio::post(loop, std::move(t)); });
    placer_store = std::make_unique<store::TaskStore>(cfg.database, "mesoflow-placements", limit);
    placer = std::make_unique<DatabaseWorker>(
        [this](DatabaseWorker::Task t) { asio::post(loop, std::move(t)); }, "db-place");
    listen_worker = std::make_unique<DatabaseWorker>(
        [this](DatabaseWorker::Task t) { asio::post(loop, std::move(t)); }, "db-listen");
    for (int i = 0; i < cfg.update_connections; ++i) {
        auto lane = std::make_unique<UpdateLane>(loop);
        lane->store = std::make_unique<store::TaskStore>(
            cfg.database, fmt::format("mesoflow-updates-{}", i + 1), limit);
        lane->worker = std::make_unique<DatabaseWorker>(
            [this](DatabaseWorker::Task t) { asio::post(loop, std::move(t)); },
            fmt::format("db-updates-{}", i + 1));
        lanes.push_back(std::move(lane));
    }

    signals.async_wait([this](const boost::system::error_code& ec, int sig) {
        if (ec)
            return;
        log::info("signal", "signal={}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        begin_stop(kExitOk);
    });
    sample_lag(std::chrono::steady_clock::now());

    if (stop_requested.load()) {
        // A stop asked for between two terms.
        begin_stop(kExitOk);
    } else if (cfg.migrate_on_start && term == 1) {
        db_job([this] { return store::migrate(cfg.database); },
               [this](Result<store::MigrationReport> r) {
                   if (!r) {
                       log::error("migrate_failed", "error={}", log::quote(r.error().message));
                       fail(kExitFailure);
                       return;
                   }
                   if (!r->applied.empty()) {
                       log::info("migrated", "from={} to={}", r->from_version, r->to_version);
                   }
                   acquire_leadership();
               });
    } else {
        acquire_leadership();
    }
    loop.run();
    // A term that ended does not wait for its threads here: the next term
    // starts now, and this one is taken apart beside it (Runtime::run).
    if (exit_code == kTermEnded)
        return exit_code;
    // Whatever the db threads still hold finishes before the stores go.
    for (auto& lane : lanes)
        lane->worker.reset();
    db.reset();
    placer.reset();
    lease_worker.reset();
    // A LISTEN connection still being opened finishes first (at most the
    // connect timeout); its result is dropped with the loop.
    listen_worker.reset();
    log::info("stopped", "exit_code={}", exit_code);
    return exit_code;
}

void Runtime::Impl::fail(int code) {
    exit_code = code;
    begin_stop(code);
}

void Runtime::Impl::begin_stop(int code) {
    if (code != kExitOk)
        exit_code = code;
    if (stopping())
        return;
    move_to(scheduler::PhaseEvent::stop);
    log::info("stopping", "pending_updates={} calls_in_flight={}", updates_waiting(),
              calls_in_flight);
    decline_held(cfg.refuse_s);
    if (!claim_running)
        release_all_claims();
    for (auto* t :
         {&hold_timer, &revive_timer, &save_timer, &kill_timer, &poll_timer, &reconcile_timer,
          &implicit_timer, &leader_timer, &wake_timer, &reconcile_tick_timer, &resend_timer}) {
        t->cancel();
    }
    signals.cancel();
    stop_timer.expires_after(kStopGrace);
    stop_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec)
            return;
        log::warn("stop_forced", "pending_updates={} calls_in_flight={}", updates_waiting(),
                  calls_in_flight);
        finish_stop();
    });
    maybe_finish_stop();
}

void Runtime::Impl::maybe_finish_stop() {
    if (!stopping())
        return;
    bool committing = false;
    bool updates_left = false;
    for (const auto& lane : lanes) {
        committing = committing || lane->running;
        updates_left = updates_left || !lane->updates.empty();
    }
    updates_left = updates_left && metrics.database_up.load() == 1;
    if (claim_running || releases_running > 0 || placements_running > 0 || committing ||
        updates_left || calls_in_flight > 0)
        return;
    finish_stop();
}

void Runtime::Impl::finish_stop() {
    stop_timer.cancel();
    for (auto& lane : lanes) {
        lane->retry_timer.cancel();
        lane->kept_timer.cancel();
    }
    lag_timer.cancel();
    lease_timer.cancel();
    expiry_timer.cancel();
    lock_watch.reset();
    if (master)
        master->stop();
    listener_fd.reset();
    if (leader) {
        // Give leadership up at once so a standby need not wait for the
        // connection to time out.
        lease_worker->submit(
            [this] {
                leader->release();
                return 0;
            },
            [](int) {});
    }
    // Last: closing the ZooKeeper session may wait on an unresponsive server.
    if (detector)
        detector->stop();
    loop.stop();
}

Runtime::Runtime(config::Config config, std::string identity, Seams seams)
    : config_(std::move(config)),
      identity_(std::move(identity)),
      seams_(seams),
      impl_(std::make_unique<Impl>(config_, identity_, seams_, metrics_, 1, stop_requested_)) {}

Runtime::~Runtime() {
    join_reapers(true);
}

// Joins the reapers that are done (all: every one, waiting for them).
void Runtime::join_reapers(bool all) {
    std::erase_if(reapers_, [all](Reaper& r) {
        if (!all && !r.done->load())
            return false;
        if (r.thread.joinable())
            r.thread.join();
        return true;
    });
}

int Runtime::run() {
    // Signals that come between two terms: each term has its own set, and
    // this one, registered for the whole run, keeps them from being lost
    // (or from killing the process) while one term gives way to the next.
    asio::io_context signal_io;
    asio::signal_set between_terms(signal_io, SIGINT, SIGTERM);
    between_terms.async_wait([this](const boost::system::error_code& ec, int) {
        if (!ec)
            stop_requested_ = true;
    });
    Impl* current = impl_.get();
    int code = kExitOk;
    for (int term = 2;; ++term) {
        code = current->run();
        if (code != kTermEnded)
            break;
        // The next term is built before the last is taken apart, so a
        // signal set is registered at every moment.
        auto next =
            std::make_unique<Impl>(config_, identity_, seams_, metrics_, term, stop_requested_);
        std::unique_ptr<Impl> ended;
        {
            std::lock_guard lock(impl_mutex_);
            ended = std::exchange(impl_, std::move(next));
            current = impl_.get();
        }
        signal_io.poll();
        join_reapers(false);
        auto done = std::make_shared<std::atomic<bool>>(false);
        reapers_.push_back(Reaper{std::thread([ended = std::move(ended), done]() mutable {
                                      ended.reset();
                                      *done = true;
                                  }),
                                  done});
    }
    join_reapers(true);
    return code;
}

void Runtime::request_stop() {
    stop_requested_ = true;
    std::lock_guard lock(impl_mutex_);
    Impl* impl = impl_.get();
    asio::post(impl->loop, [impl] { impl->begin_stop(kExitOk); });
}

const Metrics& Runtime::metrics() const {
    return metrics_;
}

bool Runtime::ready() const {
    return metrics_.subscribed.load() == 1 && metrics_.leader.load() == 1 &&
           metrics_.database_up.load() == 1 && metrics_.update_lanes_stuck.load() == 0;
}

std::string Runtime::state_json() const {
    std::lock_guard lock(impl_mutex_);
    return impl_->state_json();
}

}  // namespace mesoflow::runtime
