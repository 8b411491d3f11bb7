// The runtime's life cycle: start-up, the graceful stop, and the public API.
// The pipelines are in files of their own (see runtime_impl.hpp).

#include "runtime_impl.hpp"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "mesoflow/store/migrations.hpp"

namespace mesoflow::runtime {

Runtime::Impl::Impl(config::Config c, std::string id, Seams seams)
    : cfg(std::move(c)),
      identity(std::move(id)),
      time(seams.time != nullptr ? *seams.time : system_time),
      pacer(scheduler::PacerOptions{cfg.launch_window, cfg.claim_batch, cfg.update_batch,
                                    cfg.refuse_s, cfg.idle_refuse_s}),
      reconciler(scheduler::ReconcilerOptions{
          milliseconds(static_cast<std::int64_t>(cfg.reconcile_backoff_min_s * 1000)),
          milliseconds(static_cast<std::int64_t>(cfg.reconcile_backoff_max_s * 1000)),
          milliseconds(static_cast<std::int64_t>(cfg.reconcile_interval_s * 1000)),
          scheduler::kReconcileChunk}),
      unplaceable(scheduler::UnplaceableLimits{
          std::chrono::microseconds(static_cast<std::int64_t>(cfg.unplaceable_after_s * 1e6)),
          std::chrono::microseconds(static_cast<std::int64_t>(cfg.unplaceable_timeout_s * 1e6))}),
      call_sink(seams.calls) {}

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
    log::info("starting", "identity={} framework={} masters={}", identity, cfg.framework_name,
              cfg.masters.size());
    store = std::make_unique<store::TaskStore>(cfg.database, "mesoflow");
    leader = std::make_unique<store::LeaderLock>(cfg.database, cfg.framework_name, identity);
    db = std::make_unique<DatabaseWorker>(
        [this](DatabaseWorker::Task t) { asio::post(loop, std::move(t)); });
    placer_store = std::make_unique<store::TaskStore>(cfg.database, "mesoflow-placements");
    placer = std::make_unique<DatabaseWorker>(
        [this](DatabaseWorker::Task t) { asio::post(loop, std::move(t)); }, "db-place");
    listen_worker = std::make_unique<DatabaseWorker>(
        [this](DatabaseWorker::Task t) { asio::post(loop, std::move(t)); }, "db-listen");
    for (int i = 0; i < cfg.update_connections; ++i) {
        auto lane = std::make_unique<UpdateLane>(loop);
        lane->store = std::make_unique<store::TaskStore>(cfg.database,
                                                         fmt::format("mesoflow-updates-{}", i + 1));
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

    if (cfg.migrate_on_start) {
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
    // Whatever the db threads still hold finishes before the stores go.
    for (auto& lane : lanes)
        lane->worker.reset();
    db.reset();
    placer.reset();
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
    if (master)
        master->stop();
    listener_fd.reset();
    if (leader) {
        // Give leadership up at once so a standby need not wait for the
        // connection to time out.
        db->submit(
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
    : impl_(std::make_unique<Impl>(std::move(config), std::move(identity), seams)) {}

Runtime::~Runtime() = default;

int Runtime::run() {
    return impl_->run();
}

void Runtime::request_stop() {
    asio::post(impl_->loop, [this] { impl_->begin_stop(kExitOk); });
}

const Metrics& Runtime::metrics() const {
    return impl_->metrics;
}

bool Runtime::ready() const {
    return impl_->metrics.subscribed.load() == 1 && impl_->metrics.leader.load() == 1 &&
           impl_->metrics.database_up.load() == 1 && impl_->metrics.update_lanes_stuck.load() == 0;
}

std::string Runtime::state_json() const {
    return impl_->state_json();
}

}  // namespace mesoflow::runtime
