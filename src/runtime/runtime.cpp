#include "mesoflow/runtime/runtime.hpp"

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "mesoflow/common/log.hpp"
#include "mesoflow/mesos/codec.hpp"
#include "mesoflow/mesos/resources.hpp"
#include "mesoflow/runtime/database_worker.hpp"
#include "mesoflow/runtime/status_conversion.hpp"
#include "mesoflow/scheduler/calls.hpp"
#include "mesoflow/scheduler/kill_tracker.hpp"
#include "mesoflow/scheduler/offer_gate.hpp"
#include "mesoflow/scheduler/offer_matcher.hpp"
#include "mesoflow/scheduler/reconciler.hpp"
#include "mesoflow/scheduler/task_info_builder.hpp"
#include "mesoflow/store/leader_lock.hpp"
#include "mesoflow/store/migrations.hpp"
#include "mesoflow/store/task_listener.hpp"
#include "mesoflow/store/task_store.hpp"
#include "mesoflow/transport/master_client.hpp"

namespace mesoflow::runtime {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often the runtime looks for kill requests and execution timeouts.
constexpr milliseconds kKillScanInterval{1000};
// How often leadership is confirmed on its connection.
constexpr milliseconds kLeaderCheckInterval{2000};
// A standby retries the leader lock this often.
constexpr milliseconds kStandbyRetryInterval{3000};
// Event-loop lag is sampled this often.
constexpr milliseconds kLagSampleInterval{100};
// A failed database batch is retried after this (doubling up to the max).
constexpr milliseconds kDbRetryMin{100};
constexpr milliseconds kDbRetryMax{5000};
// Graceful stop: in-flight commits and acknowledgements get this long.
constexpr milliseconds kStopGrace{30000};
// Offers declined while the launch window is full are refused this long at
// most, so they come back soon after first updates free it.
constexpr double kBackpressureRefuseS = 1.0;
// Offers wanted back soon (decline_unused, give_back_stale_holds): the
// master offers them again at its first allocation after this. At 0.1 s an
// agent given back for a full window sat out five 20 ms allocations, and
// most allocations then offered one agent (80 tasks) to a window with room
// for 352: 7,300-7,900 -> 8,400-8,600 tasks/s at 100,000 tasks. Zero
// (re-offer at the very next allocation) sent 25% more offers and was no
// faster.
constexpr double kReserveRefuseS = 0.02;
// Longest an offer waits for a commit or a claim (give_back_stale_holds).
// 3 ms put decision p99 at 3.0-5.1 ms with launch_window 320; 2 ms at
// 2.9-3.0 ms, at the same throughput.
constexpr std::chrono::milliseconds kOfferHoldMax{2};
// Live attempts read per page for explicit reconciliation.
constexpr int kReconcilePage = 5000;
// Kill requests and timeouts read per scan.
constexpr int kKillScanLimit = 1000;
// A launch whose first update never came stops counting against the launch
// window after this long (reconciliation takes over from there).
constexpr milliseconds kLaunchWindowExpiry{60000};

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string_view call_name(const mesos::Call& call) {
    return mesos::to_string(call.type());
}

}  // namespace

struct Runtime::Impl {
    Impl(config::Config c, std::string id) : cfg(std::move(c)), identity(std::move(id)) {}

    // ------------------------------------------------------------------ state
    config::Config cfg;
    std::string identity;
    asio::io_context loop;
    Metrics metrics;

    // Offers are matched on the event loop (claim ahead: no database call
    // between an offer and its ACCEPT).
    scheduler::OfferMatcher matcher;
    // Used on the db thread only (inside DatabaseWorker jobs).
    std::unique_ptr<store::TaskStore> store;
    std::unique_ptr<store::LeaderLock> leader;
    // Declared after what their jobs use, so they are destroyed (drained) first.
    std::unique_ptr<DatabaseWorker> db;

    struct ReceivedUpdate {
        mesos::TaskStatus status;
        Clock::time_point received;
    };
    // Status updates (and placements) commit on lanes of their own, each a
    // connection and a thread ("db-updates-N"), so an ACKNOWLEDGE never
    // waits behind a claim, and batches commit side by side. A task always
    // maps to the same lane (its id modulo the lanes), so its placement and
    // its updates commit in the order they came, and two lanes never lock
    // the same row. Rows cannot collide with claims either: a task's updates
    // come only after its claim was committed, and both lock what they change.
    struct UpdateLane {
        explicit UpdateLane(asio::io_context& io) : retry_timer(io) {}
        std::unique_ptr<store::TaskStore> store;
        std::deque<ReceivedUpdate> updates;  // received, not yet committed
        // Where launched attempts went, recorded with the next batch.
        std::vector<store::LaunchRecord> placements;
        bool running = false;
        std::size_t committing = 0;  // updates in the batch being committed
        milliseconds retry = kDbRetryMin;
        asio::steady_timer retry_timer;
        // Declared last: destroyed (drained) before what its jobs use.
        std::unique_ptr<DatabaseWorker> worker;
    };
    std::vector<std::unique_ptr<UpdateLane>> lanes;

    std::unique_ptr<store::TaskListener> listener;
    std::unique_ptr<asio::posix::stream_descriptor> listener_fd;
    std::unique_ptr<transport::MasterClient> master;

    asio::signal_set signals{loop, SIGINT, SIGTERM};
    asio::steady_timer kill_timer{loop};
    asio::steady_timer poll_timer{loop};
    asio::steady_timer reconcile_timer{loop};
    asio::steady_timer implicit_timer{loop};
    asio::steady_timer leader_timer{loop};
    asio::steady_timer lag_timer{loop};
    asio::steady_timer stop_timer{loop};
    asio::steady_timer wake_timer{loop};
    asio::steady_timer hold_timer{loop};

    std::optional<std::string> framework_id;
    std::string master_name;
    bool is_leader = false;
    bool subscribed = false;
    bool stopping = false;
    int exit_code = kExitOk;

    std::vector<mesos::Offer> offers;  // held, not yet answered
    // When each offer still unanswered was read off the stream.
    struct Seen {
        Clock::time_point at;
        std::int64_t wall_us = 0;  // the same moment on the wall clock
    };
    std::unordered_map<std::string, Seen> offer_seen;
    // Claimed attempts waiting for an offer, in queue order; a spec's claimed
    // attempt is its attempt + 1.
    std::vector<task::TaskSpec> claimed;
    bool claim_running = false;
    // The last claim found fewer tasks than it asked for: claim again only
    // when new work may have come (a notification, a poll, a retry).
    bool claims_exhausted = false;
    int releases_running = 0;
    std::unordered_map<std::string, Clock::time_point> launches_awaiting_update;

    milliseconds db_retry = kDbRetryMin;

    bool kill_scan_running = false;
    bool poll_running = false;
    std::size_t calls_in_flight = 0;

    scheduler::OfferGate gate;
    scheduler::Reconciler reconciler;
    scheduler::KillTracker kills;

    // Read by other threads through state_json().
    mutable std::mutex snapshot_mutex;
    std::string snapshot_framework_id;
    std::string snapshot_master;

    // --------------------------------------------------------------- helpers
    template <typename Work, typename Done>
    void db_job(Work work, Done done) {
        timed_job(*db, std::move(work), std::move(done));
    }

    template <typename Work, typename Done>
    void timed_job(DatabaseWorker& worker, Work work, Done done) {
        worker.submit(
            [this, work = std::move(work)]() mutable {
                const auto start = Clock::now();
                auto result = work();
                metrics.db_time_us += static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start)
                        .count());
                metrics.db_batches++;
                return result;
            },
            std::move(done));
    }

    // Records whether the database answered; logs the first failure of a run.
    template <typename R>
    bool db_ok(const R& result, std::string_view what) {
        if (result.ok()) {
            if (metrics.database_up.exchange(1) == 0)
                log::info("database_up", "after={}", what);
            return true;
        }
        metrics.db_errors++;
        if (metrics.database_up.exchange(0) == 1 || log::level() <= log::Level::debug) {
            log::error("database_error", "during={} error={}", what,
                       log::quote(result.error().message));
        }
        return false;
    }

    void send(const mesos::Call& call,
              std::function<void(const transport::CallResult&)> done = {}) {
        if (!master)
            return;
        ++calls_in_flight;
        const auto type = std::string(call_name(call));
        const bool answers_offer =
            call.type() == mesos::CallType::accept || call.type() == mesos::CallType::decline;
        master->send(
            mesos::to_json(call),
            [this, type, done = std::move(done)](const transport::CallResult& r) {
                --calls_in_flight;
                if (!r.ok()) {
                    metrics.calls_failed++;
                    log::warn("call_failed", "call={} status={} error={}", type, r.status,
                              log::quote(r.body.empty() ? r.error : r.body));
                }
                if (done)
                    done(r);
                maybe_finish_stop();
            },
            answers_offer);
    }

    // ------------------------------------------------------------ start-up
    int run() {
        log::info("starting", "identity={} framework={} masters={}", identity, cfg.framework_name,
                  cfg.masters.size());
        store = std::make_unique<store::TaskStore>(cfg.database, "mesoflow");
        leader = std::make_unique<store::LeaderLock>(cfg.database, cfg.framework_name, identity);
        db = std::make_unique<DatabaseWorker>(
            [this](DatabaseWorker::Task t) { asio::post(loop, std::move(t)); });
        for (int i = 0; i < cfg.update_connections; ++i) {
            auto lane = std::make_unique<UpdateLane>(loop);
            lane->store = std::make_unique<store::TaskStore>(
                cfg.database, fmt::format("mesoflow-updates-{}", i + 1));
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
        sample_lag(Clock::now());

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
        log::info("stopped", "exit_code={}", exit_code);
        return exit_code;
    }

    void fail(int code) {
        exit_code = code;
        begin_stop(code);
    }

    void acquire_leadership() {
        if (stopping)
            return;
        db_job([this] { return leader->try_acquire(); },
               [this](const Result<bool>& r) {
                   if (stopping)
                       return;
                   if (!db_ok(r, "leader_lock")) {
                       retry_leadership();
                       return;
                   }
                   if (!*r) {
                       log::info("standby", "framework={} retry_ms={}", cfg.framework_name,
                                 kStandbyRetryInterval.count());
                       retry_leadership();
                       return;
                   }
                   is_leader = true;
                   metrics.leader = 1;
                   log::info("leading", "framework={} identity={}", cfg.framework_name, identity);
                   load_framework_id();
               });
    }

    void retry_leadership() {
        leader_timer.expires_after(kStandbyRetryInterval);
        leader_timer.async_wait([this](const boost::system::error_code& ec) {
            if (!ec)
                acquire_leadership();
        });
    }

    void load_framework_id() {
        db_job([this] { return store->load_framework_id(cfg.framework_name); },
               [this](Result<std::optional<std::string>> r) {
                   if (stopping)
                       return;
                   if (!db_ok(r, "load_framework_id")) {
                       leader_timer.expires_after(db_retry);
                       leader_timer.async_wait([this](const boost::system::error_code& ec) {
                           if (!ec)
                               load_framework_id();
                       });
                       return;
                   }
                   framework_id = *r;
                   log::info("framework_id_loaded", "framework_id={}",
                             framework_id.value_or("none"));
                   start_scheduling();
               });
    }

    void start_scheduling() {
        connect_listener();
        start_master();
        schedule_kill_scan();
        schedule_poll(milliseconds(0));
        schedule_leader_check();
        schedule_implicit_reconcile();
    }

    // ------------------------------------------------------------ the master
    void start_master() {
        transport::TransportConfig tc;
        for (const auto& m : cfg.masters) {
            transport::MasterEndpoint e;
            e.https = m.https;
            e.host = m.host;
            e.port = m.port;
            tc.masters.push_back(std::move(e));
        }
        if (cfg.authenticate && !cfg.secret.empty()) {
            tc.credentials = transport::BasicCredentials{cfg.principal, cfg.secret};
        }
        tc.backoff_min = milliseconds(static_cast<std::int64_t>(cfg.backoff_min_s * 1000));
        tc.backoff_max = milliseconds(static_cast<std::int64_t>(cfg.backoff_max_s * 1000));
        tc.heartbeat_factor = cfg.heartbeat_watchdog_factor;
        tc.ca_file = cfg.tls_ca_file;
        tc.verify = cfg.tls_verify;

        transport::Handlers h;
        h.subscribe_body = [this] { return mesos::to_json(subscribe_call()); };
        h.on_stream = [this](const std::string& where) {
            master_name = where;
            std::lock_guard lock(snapshot_mutex);
            snapshot_master = where;
        };
        h.on_record = [this](std::string_view record) { on_record(record); };
        h.on_disconnected = [this](const std::string& reason) { on_disconnected(reason); };
        h.on_refused = [this](int status, const std::string& body) {
            log::error("subscribe_refused", "status={} body={}", status, log::quote(body));
            fail(kExitFrameworkError);
        };
        try {
            master = std::make_unique<transport::MasterClient>(loop, std::move(tc), std::move(h));
        } catch (const std::invalid_argument& e) {
            // A CA file that is readable but holds no usable certificate.
            log::error("master_client_failed", "error={}", log::quote(e.what()));
            fail(kExitFailure);
            return;
        }
        master->start();
    }

    mesos::Call subscribe_call() const {
        scheduler::FrameworkOptions fo;
        fo.user = cfg.framework_user;
        fo.name = cfg.framework_name;
        fo.roles = cfg.roles;
        fo.hostname = cfg.hostname;
        fo.webui_url = cfg.webui_url;
        fo.checkpoint = cfg.checkpoint;
        fo.failover_timeout_s = cfg.failover_timeout_s;
        fo.principal = cfg.principal;
        fo.gpu_resources = cfg.gpu_resources;
        return scheduler::make_subscribe(fo, framework_id, {});
    }

    void on_disconnected(const std::string& reason) {
        metrics.disconnects++;
        if (subscribed)
            log::warn("disconnected", "master={} reason={}", master_name, log::quote(reason));
        subscribed = false;
        metrics.subscribed = 0;
        // Offers die with the subscription; the master rescinds them.
        offers.clear();
        offer_seen.clear();
        metrics.offers_held = 0;
    }

    void on_record(std::string_view record) {
        auto event = mesos::parse_event(record);
        if (!event) {
            log::error("bad_event", "error={}", log::quote(event.error().message));
            return;
        }
        std::visit([this](auto& body) { handle(body); }, event->body);
    }

    void handle(mesos::Event::Subscribed& s) {
        const bool new_id = !framework_id || *framework_id != s.framework_id;
        framework_id = s.framework_id;
        subscribed = true;
        metrics.subscribed = 1;
        metrics.subscriptions++;
        {
            std::lock_guard lock(snapshot_mutex);
            snapshot_framework_id = s.framework_id;
        }
        log::info("subscribed", "framework_id={} master={} heartbeat_s={}", s.framework_id,
                  master_name, s.heartbeat_interval_seconds.value_or(0));
        if (s.heartbeat_interval_seconds) {
            master->set_heartbeat_interval(
                milliseconds(static_cast<std::int64_t>(*s.heartbeat_interval_seconds * 1000)));
        }
        if (new_id) {
            db_job(
                [this, id = s.framework_id] {
                    return store->save_framework_id(cfg.framework_name, id, identity);
                },
                [this](Status st) {
                    if (!st.ok()) {
                        metrics.db_errors++;
                        log::error("framework_id_not_saved", "error={}",
                                   log::quote(st.error().message));
                    }
                });
        }
        launches_awaiting_update.clear();
        gate.on_subscribed(Clock::now());
        reconciler.reset();
        reconcile_page(0);
        schedule_poll(milliseconds(0));
    }

    void handle(mesos::Event::Offers& o) {
        metrics.offers_received += o.offers.size();
        if (stopping || !subscribed) {
            decline(o.offers, cfg.refuse_s);
            return;
        }
        const Seen seen{Clock::now(), wall_now_us()};
        for (auto& offer : o.offers) {
            offer_seen[offer.id] = seen;
            offers.push_back(std::move(offer));
        }
        metrics.offers_held = static_cast<std::int64_t>(offers.size());
        place_offers();
    }

    void handle(mesos::Event::InverseOffers& io) {
        for (const auto& inv : io.inverse_offers) {
            log::info("inverse_offer", "id={} agent={}", inv.id, inv.agent_id.value_or(""));
        }
    }

    void handle(mesos::Event::Rescind& r) {
        metrics.offers_rescinded++;
        std::erase_if(offers, [&](const mesos::Offer& o) { return o.id == r.offer_id; });
        offer_seen.erase(r.offer_id);
        metrics.offers_held = static_cast<std::int64_t>(offers.size());
        log::debug("offer_rescinded", "offer={}", r.offer_id);
    }

    void handle(mesos::Event::RescindInverseOffer& r) {
        log::debug("inverse_offer_rescinded", "id={}", r.inverse_offer_id);
    }

    void handle(mesos::Event::Update& u) {
        metrics.updates_received++;
        reconciler.observe(u.status.task_id);
        launches_awaiting_update.erase(u.status.task_id);
        UpdateLane& lane = lane_of(u.status.task_id);
        lane.updates.push_back({std::move(u.status), Clock::now()});
        note_updates_waiting();
        flush_updates(lane);
    }

    void handle(mesos::Event::UpdateOperationStatus& u) {
        // mesoflow sets no operation ids, so these are not its own; acknowledge
        // the reliable ones so the agent can forget them.
        log::warn("operation_status", "operation={} state={}", u.status.operation_id.value_or(""),
                  mesos::to_string(u.status.state));
        if (u.status.uuid && framework_id && u.status.operation_id) {
            mesos::Call call;
            call.framework_id = framework_id;
            call.body = mesos::Call::AcknowledgeOperationStatus{
                u.status.agent_id, u.status.resource_provider_id, *u.status.uuid,
                *u.status.operation_id};
            send(call);
        }
    }

    void handle(mesos::Event::Message& m) {
        log::debug("executor_message", "agent={} executor={}", m.agent_id, m.executor_id);
    }

    void handle(mesos::Event::Failure& f) {
        if (f.executor_id) {
            log::warn("executor_failed", "agent={} executor={} status={}", f.agent_id.value_or(""),
                      *f.executor_id, f.status.value_or(-1));
        } else {
            log::warn("agent_failed", "agent={}", f.agent_id.value_or(""));
        }
    }

    void handle(mesos::Event::Error& e) {
        log::error("framework_error", "message={}", log::quote(e.message));
        subscribed = false;
        metrics.subscribed = 0;
        if (e.message.find("removed") != std::string::npos) {
            // The id can never be used again: the next start registers anew and
            // reconciliation sends the old attempts through the retry policy.
            db_job([this] { return store->forget_framework_id(cfg.framework_name); },
                   [this](Status st) {
                       if (!st.ok())
                           log::error("framework_id_not_forgotten", "error={}",
                                      log::quote(st.error().message));
                       fail(kExitFrameworkError);
                   });
            return;
        }
        if (e.message.find("failed over") != std::string::npos) {
            log::error("framework_taken_over",
                       "framework_id={} reason=another scheduler subscribed with this id",
                       framework_id.value_or(""));
        }
        fail(kExitFrameworkError);
    }

    void handle(mesos::Event::Heartbeat&) {}

    void handle(mesos::Event::Unknown& u) {
        log::warn("unknown_event", "type={}", log::quote(u.type));
    }

    // ------------------------------------------------------------- launching
    static std::int64_t wall_now_us() {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    // When the offers being answered arrived (and forgets them).
    std::vector<Seen> take_seen(const std::vector<std::string>& ids) {
        std::vector<Seen> out;
        out.reserve(ids.size());
        for (const auto& id : ids) {
            if (auto it = offer_seen.find(id); it != offer_seen.end()) {
                out.push_back(it->second);
                offer_seen.erase(it);
            }
        }
        return out;
    }

    // Gives every held offer back.
    void decline_held(double refuse_s) {
        decline(offers, refuse_s);
        offers.clear();
        metrics.offers_held = 0;
    }

    void decline(const std::vector<mesos::Offer>& list, double refuse_s) {
        if (list.empty() || !framework_id)
            return;
        std::vector<std::string> ids;
        ids.reserve(list.size());
        for (const auto& o : list)
            ids.push_back(o.id);
        decline_ids(std::move(ids), refuse_s);
    }

    void decline_ids(std::vector<std::string> ids, double refuse_s) {
        if (ids.empty() || !framework_id)
            return;
        metrics.offers_declined += ids.size();
        auto seen = take_seen(ids);
        send(scheduler::make_decline(*framework_id, std::move(ids), refuse_s),
             [this, seen = std::move(seen)](const transport::CallResult& r) {
                 if (!r.written)
                     return;
                 for (const auto& s : seen)
                     metrics.offer_to_decline.record(*r.written - s.at);
             });
    }

    // Claim ahead: a window of the queue is claimed before the offers that
    // will run it arrive (each attempt gets its Mesos task id in the
    // database), so an offer is matched and answered on the event loop at
    // once; where each attempt went is recorded right after ACCEPT, with the
    // next batch of status updates. An attempt claimed and never placed is
    // given back on a graceful stop; after a crash, reconciliation proves it
    // never reached Mesos and it goes back to pending uncounted.
    //
    // The launch window bounds the work in flight on the way to a commit:
    // attempts launched and still without a first status update, plus
    // status updates received and not yet committed. Every launch brings
    // updates (three for a short task, one at a time), so a window that
    // counted launches alone let bursts of hundreds of updates queue for the
    // database, and acknowledgements waited behind them (see the README).
    int launch_room() const {
        const auto used = launches_awaiting_update.size() + updates_waiting();
        return std::max(0, cfg.launch_window - static_cast<int>(used));
    }

    // Work may be waiting beyond what is claimed.
    bool queue_may_hold_more() const { return !claims_exhausted; }

    void maybe_claim() {
        if (claim_running || stopping || !framework_id || claims_exhausted)
            return;
        const int room = cfg.claim_batch - static_cast<int>(claimed.size());
        // Refill once a quarter is used: the three quarters left answer
        // offers while the claim runs (a claim can take tens of milliseconds
        // on a busy database, and offers that find nothing claimed wait for
        // it), and a claim of a quarter still costs one round trip for many.
        if (room < std::max(1, cfg.claim_batch / 4))
            return;
        claim_running = true;
        db_job([this, room] { return store->claim_pending(room); },
               [this, room](Result<std::vector<task::TaskSpec>> r) { finish_claim(room, r); });
    }

    void finish_claim(int asked, Result<std::vector<task::TaskSpec>>& r) {
        claim_running = false;
        if (!db_ok(r, "claim_pending")) {
            // Nothing was claimed, or the claim is unknown and reconciliation
            // settles it after the next start. Held offers go back.
            decline_held(cfg.refuse_s);
            maybe_finish_stop();
            return;
        }
        metrics.tasks_claimed += r->size();
        metrics.claim_batches++;
        claims_exhausted = static_cast<int>(r->size()) < asked;
        for (auto& spec : *r)
            claimed.push_back(std::move(spec));
        metrics.claims_held = static_cast<std::int64_t>(claimed.size());
        if (stopping) {
            release_all_claims();
            return;
        }
        if (claimed.empty()) {
            metrics.queue_pending = 0;
            apply_gate(gate.on_pending(0, Clock::now()));
        }
        place_offers();
    }

    // Matches held offers against the claimed window and answers them.
    void place_offers() {
        if (offers.empty()) {
            maybe_claim();
            return;
        }
        if (!subscribed || stopping || !framework_id)
            return;
        if (claimed.empty()) {
            if (claim_running || queue_may_hold_more()) {
                maybe_claim();
                give_back_stale_holds();
                return;  // held until the claim answers
            }
            decline_held(cfg.idle_refuse_s);
            return;
        }
        // Commits before launches: while the window is full of updates on
        // their way to a commit, or a lane has a full batch waiting, the
        // offers are held until a commit answers (each commit calls back
        // here); a failing commit gives them back (retry_updates_later).
        // Declining them instead filtered their agents for a second each
        // time and cut throughput by 60% at 100,000 tasks (see the README).
        const int room = launch_room();
        const bool full_batch_waiting = std::any_of(lanes.begin(), lanes.end(), [&](const auto& l) {
            return l->updates.size() >= static_cast<std::size_t>(cfg.update_batch);
        });
        if ((room == 0 && updates_waiting() > 0) || full_batch_waiting) {
            give_back_stale_holds();
            return;
        }
        if (room == 0) {
            // Full of launches the master has not reported on yet.
            decline_held(std::min(cfg.refuse_s, kBackpressureRefuseS));
            return;
        }
        auto batch = std::move(offers);
        offers.clear();
        metrics.offers_held = 0;
        const std::size_t considered = std::min(claimed.size(), static_cast<std::size_t>(room));
        auto match = matcher.match(
            batch, std::span<const task::TaskSpec>(claimed.data(), considered), match_options());
        const auto defaults = task_defaults();
        const auto sent_at = now_us();
        const auto now = Clock::now();
        std::vector<bool> launched(claimed.size(), false);
        const bool more_after = claimed.size() > match.launch_count() || queue_may_hold_more();
        for (const auto& plan : match.plans) {
            std::vector<mesos::TaskInfo> infos;
            infos.reserve(plan.launches.size());
            for (const auto& l : plan.launches) {
                const auto& spec = claimed[l.index];
                infos.push_back(scheduler::build_task_info(spec, l, plan.agent_id, defaults));
                lane_of(spec.id).placements.push_back(
                    store::LaunchRecord{spec.id, l.attempt, l.mesos_task_id, plan.agent_id,
                                        plan.hostname, plan.offer_ids.front(), sent_at});
                launches_awaiting_update.emplace(l.mesos_task_id, now);
                launched[l.index] = true;
                metrics.tasks_launched++;
                log::info("task_launched", "task={} agent={} offer={}", l.mesos_task_id,
                          plan.agent_id, plan.offer_ids.front());
            }
            // Decision time starts at the later of the offer's arrival and
            // the insertion of the newest task placed on it.
            std::int64_t newest_us = 0;
            for (const auto& l : plan.launches)
                newest_us = std::max(newest_us, claimed[l.index].created_at_us);
            std::vector<Clock::time_point> starts;
            for (const auto& s : take_seen(plan.offer_ids))
                starts.push_back(s.at + std::chrono::microseconds(
                                            std::max<std::int64_t>(0, newest_us - s.wall_us)));
            send(scheduler::make_accept(*framework_id, plan.offer_ids, std::move(infos),
                                        refuse_for_unused(more_after)),
                 [this, starts = std::move(starts)](const transport::CallResult& r) {
                     if (!r.written)
                         return;
                     for (const auto& start : starts) {
                         metrics.offer_to_accept.record(*r.written - start);
                     }
                 });
        }
        std::size_t kept = 0;
        for (std::size_t i = 0; i < claimed.size(); ++i) {
            if (!launched[i])
                claimed[kept++] = std::move(claimed[i]);
        }
        claimed.resize(kept);
        metrics.claims_held = static_cast<std::int64_t>(claimed.size());
        // Offers the window could not fill are answered now rather than held:
        // the master offers them again, fresh, once the filter passes or
        // their agent's resources change.
        const bool window_limited = considered < claimed.size() + match.launch_count();
        // The rest waits its turn on the event loop, behind the call
        // connections that write the ACCEPTs just queued.
        asio::post(loop, [this, batch = std::move(batch),
                          unused = std::move(match.unused_offer_ids), window_limited, more_after] {
            decline_unused(batch, unused, window_limited, more_after);
            flush_all_updates();
            maybe_claim();
        });
    }

    // An offer is held (for a commit, or a claim) at most kOfferHoldMax:
    // past that it goes back with the short filter, and the master offers it
    // again at its next allocation. Holding longer kept resources from the
    // rest of the cluster and was most of the decision time over 5 ms (held
    // 6-27 ms for a commit while the window was full).
    void give_back_stale_holds() {
        const auto now = Clock::now();
        std::vector<std::string> stale;
        std::vector<mesos::Offer> keep;
        std::optional<Clock::time_point> next;
        for (auto& o : offers) {
            const auto it = offer_seen.find(o.id);
            const auto due = (it == offer_seen.end() ? now : it->second.at) + kOfferHoldMax;
            if (due <= now) {
                stale.push_back(o.id);
            } else {
                next = next ? std::min(*next, due) : due;
                keep.push_back(std::move(o));
            }
        }
        offers = std::move(keep);
        metrics.offers_held = static_cast<std::int64_t>(offers.size());
        decline_ids(std::move(stale), std::min(kReserveRefuseS, cfg.refuse_s));
        if (next) {
            hold_timer.expires_at(*next);
            hold_timer.async_wait([this](const boost::system::error_code& ec) {
                if (!ec)
                    place_offers();
            });
        }
    }

    // Gives never-placed claims back (graceful stop, kills).
    void release_claims(std::vector<store::ClaimRef> refs, std::string_view why) {
        if (refs.empty()) {
            maybe_finish_stop();
            return;
        }
        ++releases_running;
        db_job(
            [this, refs] { return store->release_claims(refs); },
            [this, n = refs.size(), why = std::string(why)](Result<std::vector<std::int64_t>> r) {
                --releases_running;
                if (db_ok(r, "release_claims")) {
                    metrics.claims_released += r->size();
                    log::info("claims_released", "tasks={} of={} why={}", r->size(), n, why);
                }
                // Not released: reconciliation after the next start finds
                // them never launched and sends them back to pending.
                maybe_finish_stop();
            });
    }

    void release_all_claims() {
        std::vector<store::ClaimRef> refs;
        refs.reserve(claimed.size());
        for (const auto& spec : claimed)
            refs.push_back({spec.id, spec.attempt + 1});
        claimed.clear();
        metrics.claims_held = 0;
        release_claims(std::move(refs), "stopping");
    }

    // Offers the round left unused. Where the launch window, not the fit,
    // held the round back, the tasks still claimed will want offers within
    // milliseconds: enough of the unused offers to hold them (by cpus and
    // memory, in offer order) come back after a short filter, the rest after
    // refuse_seconds. Declining them all for refuse_seconds left only the
    // agents whose tasks had just finished in play (about 4,000 tasks/s at
    // 100,000 tasks); a short filter on all of them made the master send
    // every agent again every 140 ms (800 KB events, 5 ms of the event loop
    // each).
    void decline_unused(const std::vector<mesos::Offer>& round,
                        const std::vector<std::string>& unused, bool window_limited,
                        bool more_after) {
        if (unused.empty())
            return;
        double want_cpus = 0;
        double want_mem = 0;
        if (window_limited) {
            for (const auto& spec : claimed) {
                want_cpus += spec.cpus;
                want_mem += spec.mem_mb;
            }
        }
        std::unordered_map<std::string_view, const mesos::Offer*> by_id;
        for (const auto& o : round)
            by_id.emplace(o.id, &o);
        std::vector<std::string> soon;
        std::vector<std::string> later;
        for (const auto& id : unused) {
            const auto it = by_id.find(id);
            if ((want_cpus > 0 || want_mem > 0) && it != by_id.end()) {
                want_cpus -= mesos::scalar_sum(it->second->resources, "cpus");
                want_mem -= mesos::scalar_sum(it->second->resources, "mem");
                soon.push_back(id);
            } else {
                later.push_back(id);
            }
        }
        decline_ids(std::move(soon), std::min(kReserveRefuseS, refuse_for_unused(more_after)));
        decline_ids(std::move(later), refuse_for_unused(more_after));
    }

    double refuse_for_unused(bool more_pending) const {
        return more_pending ? cfg.refuse_s : cfg.idle_refuse_s;
    }

    scheduler::MatchOptions match_options() const {
        scheduler::MatchOptions mo;
        mo.roles = cfg.roles;
        return mo;
    }

    scheduler::TaskDefaults task_defaults() const {
        scheduler::TaskDefaults d;
        d.user = cfg.framework_user;
        d.kill_grace_period_s = cfg.kill_grace_period_s;
        return d;
    }

    void apply_gate(std::optional<mesos::Call> call) {
        if (!call || !framework_id || !subscribed)
            return;
        call->framework_id = framework_id;
        const bool suppress = call->type() == mesos::CallType::suppress;
        metrics.suppressed = suppress ? 1 : 0;
        log::info(suppress ? "offers_suppressed" : "offers_revived", "framework_id={}",
                  *framework_id);
        send(*call);
    }

    // --------------------------------------------------------------- updates
    UpdateLane& lane_of(std::int64_t task_id) {
        return *lanes[static_cast<std::size_t>(task_id < 0 ? 0 : task_id) % lanes.size()];
    }

    UpdateLane& lane_of(const std::string& mesos_task_id) {
        const auto parsed = task::parse_mesos_task_id(mesos_task_id);
        return lane_of(parsed ? parsed->first : 0);
    }

    // Received and not yet committed, and of those, in a batch being committed.
    std::size_t updates_waiting() const {
        std::size_t n = 0;
        for (const auto& lane : lanes)
            n += lane->updates.size() + lane->committing;
        return n;
    }

    void note_updates_waiting() {
        metrics.updates_waiting = static_cast<std::int64_t>(updates_waiting());
    }

    void flush_all_updates() {
        for (auto& lane : lanes)
            flush_updates(*lane);
    }

    void flush_updates(UpdateLane& lane) {
        if (lane.running || (lane.updates.empty() && lane.placements.empty()))
            return;
        lane.running = true;
        const auto n =
            std::min<std::size_t>(lane.updates.size(), static_cast<std::size_t>(cfg.update_batch));
        lane.committing = n;
        auto batch = std::make_shared<std::vector<ReceivedUpdate>>(
            std::make_move_iterator(lane.updates.begin()),
            std::make_move_iterator(lane.updates.begin() + static_cast<std::ptrdiff_t>(n)));
        lane.updates.erase(lane.updates.begin(),
                           lane.updates.begin() + static_cast<std::ptrdiff_t>(n));
        auto placed =
            std::make_shared<std::vector<store::LaunchRecord>>(std::move(lane.placements));
        lane.placements.clear();
        std::vector<task::StatusUpdate> converted;
        converted.reserve(batch->size());
        for (const auto& u : *batch)
            converted.push_back(to_store_update(u.status));
        timed_job(
            *lane.worker,
            [this, &lane, converted = std::move(converted), placed] {
                const auto start = Clock::now();
                auto r = lane.store->apply_updates(converted, *placed);
                metrics.update_batch_time.record(Clock::now() - start);
                return r;
            },
            [this, &lane, batch, placed](Result<std::vector<task::UpdateResult>> r) {
                lane.running = false;
                lane.committing = 0;
                if (!db_ok(r, "apply_updates")) {
                    // Not committed, so not acknowledged: keep the batch and
                    // retry; the agent redelivers meanwhile anyway.
                    lane.updates.insert(lane.updates.begin(),
                                        std::make_move_iterator(batch->begin()),
                                        std::make_move_iterator(batch->end()));
                    lane.placements.insert(lane.placements.begin(),
                                           std::make_move_iterator(placed->begin()),
                                           std::make_move_iterator(placed->end()));
                    retry_updates_later(lane);
                    return;
                }
                lane.retry = kDbRetryMin;
                const auto committed = Clock::now();
                for (const auto& u : *batch)
                    metrics.update_to_commit.record(committed - u.received);
                after_commit(*batch, *r);
                note_updates_waiting();
                flush_updates(lane);
                // Held offers go as soon as the backlog and the window allow.
                place_offers();
                maybe_finish_stop();
            });
    }

    void retry_updates_later(UpdateLane& lane) {
        note_updates_waiting();
        // Offers held for the backlog would wait for the database to come
        // back: their resources go back to the master meanwhile.
        decline_held(cfg.refuse_s);
        lane.retry_timer.expires_after(lane.retry);
        lane.retry = std::min(lane.retry * 2, kDbRetryMax);
        lane.retry_timer.async_wait([this, &lane](const boost::system::error_code& ec) {
            if (!ec)
                flush_updates(lane);
        });
        maybe_finish_stop();
    }

    void after_commit(const std::vector<ReceivedUpdate>& batch,
                      const std::vector<task::UpdateResult>& results) {
        bool retried = false;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const auto& s = batch[i].status;
            const auto& res = results[i];
            if (res.outcome == task::UpdateOutcome::applied) {
                metrics.updates_applied++;
            } else {
                metrics.updates_ignored++;
            }
            const auto state = mesos::to_string(s.state);
            if (res.outcome == task::UpdateOutcome::applied && res.task_state) {
                const bool terminal = task::is_terminal(*res.task_state);
                if (terminal || res.retry_in_s) {
                    log::info("task_state", "task={} state={} agent={} result={} reason={}{}",
                              s.task_id, state, s.agent_id.value_or(""),
                              task::to_string(*res.task_state),
                              s.reason ? mesos::to_string(*s.reason) : "none",
                              res.retry_in_s ? fmt::format(" retry_in_s={:.1f}", *res.retry_in_s)
                                             : std::string());
                } else {
                    log::debug("task_state", "task={} state={} agent={}", s.task_id, state,
                               s.agent_id.value_or(""));
                }
                if (terminal || res.retry_in_s)
                    kills.forget(s.task_id);
                if (res.retry_in_s)
                    retried = true;
            } else if (res.outcome != task::UpdateOutcome::duplicate) {
                log::info("update_ignored", "task={} state={} outcome={} note={}", s.task_id, state,
                          task::to_string(res.outcome), log::quote(res.note));
            }
            const bool alive = s.state == mesos::TaskState::staging ||
                               s.state == mesos::TaskState::starting ||
                               s.state == mesos::TaskState::running;
            if ((res.outcome == task::UpdateOutcome::stale_attempt_alive ||
                 (res.outcome == task::UpdateOutcome::unknown_task && alive)) &&
                framework_id) {
                log::warn("killing_stray_task", "task={} agent={} outcome={}", s.task_id,
                          s.agent_id.value_or(""), task::to_string(res.outcome));
                metrics.kills_sent++;
                send(scheduler::make_kill(*framework_id, s.task_id, s.agent_id));
            }
            if (s.uuid && framework_id) {
                metrics.acks_sent++;
                send(scheduler::make_acknowledge(*framework_id, s),
                     [this, received = batch[i].received](const transport::CallResult& r) {
                         if (r.written)
                             metrics.update_to_ack.record(*r.written - received);
                     });
            }
        }
        if (retried)
            schedule_poll(milliseconds(0));
    }

    // --------------------------------------------------------- reconciliation
    void reconcile_page(std::int64_t after) {
        db_job([this, after] { return store->active_attempts(after, kReconcilePage); },
               [this](Result<std::vector<store::LiveAttempt>> r) {
                   if (!subscribed || !framework_id)
                       return;
                   if (!db_ok(r, "active_attempts")) {
                       reconcile_timer.expires_after(db_retry);
                       reconcile_timer.async_wait([this](const boost::system::error_code& ec) {
                           if (!ec)
                               reconcile_page(0);
                       });
                       return;
                   }
                   // Claims waiting here for an offer never went to Mesos:
                   // asking about them would only bring "unknown" back.
                   std::unordered_set<std::int64_t> waiting;
                   for (const auto& spec : claimed)
                       waiting.insert(spec.id);
                   std::vector<scheduler::TaskRef> refs;
                   refs.reserve(r->size());
                   for (const auto& a : *r) {
                       if (!waiting.contains(a.task_id))
                           refs.push_back({a.mesos_task_id, a.agent_id});
                   }
                   const bool last = static_cast<int>(r->size()) < kReconcilePage;
                   for (auto& call : reconciler.add(refs, Clock::now(), *framework_id)) {
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

    void schedule_reconcile_tick() {
        reconcile_timer.expires_after(milliseconds(1000));
        reconcile_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping)
                return;
            if (subscribed && framework_id) {
                for (auto& call : reconciler.tick(Clock::now(), *framework_id)) {
                    metrics.reconcile_calls++;
                    send(call);
                }
            }
            if (reconciler.outstanding() > 0)
                schedule_reconcile_tick();
        });
    }

    void schedule_implicit_reconcile() {
        implicit_timer.expires_after(
            milliseconds(static_cast<std::int64_t>(cfg.reconcile_interval_s * 1000)));
        implicit_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping)
                return;
            if (subscribed && framework_id) {
                metrics.reconcile_calls++;
                log::info("reconcile_implicit", "framework_id={}", *framework_id);
                send(scheduler::make_reconcile(*framework_id, {}));
            }
            schedule_implicit_reconcile();
        });
    }

    // -------------------------------------------------- kills and timeouts
    struct KillScan {
        std::vector<store::LiveAttempt> kills;
        std::vector<store::LiveAttempt> timed_out;
    };

    void schedule_kill_scan() {
        kill_timer.expires_after(kKillScanInterval);
        kill_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping)
                return;
            run_kill_scan();
            schedule_kill_scan();
        });
    }

    void run_kill_scan() {
        if (kill_scan_running || !subscribed)
            return;
        kill_scan_running = true;
        expire_launch_window();
        db_job(
            [this]() -> Result<KillScan> {
                KillScan scan;
                auto timed = store->timed_out_tasks(now_us(), kKillScanLimit);
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
                auto k = store->pending_kills(kKillScanLimit);
                if (!k)
                    return k.error();
                scan.kills = std::move(*k);
                return scan;
            },
            [this](Result<KillScan> r) {
                kill_scan_running = false;
                if (!db_ok(r, "kill_scan") || !framework_id || !subscribed)
                    return;
                for (const auto& t : r->timed_out) {
                    log::info("task_timed_out", "task={} agent={}", t.mesos_task_id, t.agent_id);
                }
                const auto now = Clock::now();
                std::vector<store::ClaimRef> unplaced;
                for (const auto& t : r->kills) {
                    const auto waiting =
                        std::find_if(claimed.begin(), claimed.end(), [&](const task::TaskSpec& s) {
                            return s.id == t.task_id && s.attempt + 1 == t.attempt;
                        });
                    if (waiting != claimed.end()) {
                        // Claimed, never sent to Mesos: no KILL, the row is
                        // killed where it stands.
                        unplaced.push_back({t.task_id, t.attempt});
                        claimed.erase(waiting);
                        continue;
                    }
                    if (!kills.should_send(t.mesos_task_id, now))
                        continue;
                    metrics.kills_sent++;
                    log::info("task_kill", "task={} agent={} reason={}", t.mesos_task_id,
                              t.agent_id, t.timed_out ? "timeout" : "requested");
                    send(scheduler::make_kill(*framework_id, t.mesos_task_id,
                                              t.agent_id.empty()
                                                  ? std::nullopt
                                                  : std::optional<std::string>(t.agent_id)));
                }
                if (!unplaced.empty()) {
                    metrics.claims_held = static_cast<std::int64_t>(claimed.size());
                    release_claims(std::move(unplaced), "kill_requested");
                }
            });
    }

    void expire_launch_window() {
        const auto cutoff = Clock::now() - kLaunchWindowExpiry;
        std::erase_if(launches_awaiting_update, [&](const auto& kv) { return kv.second < cutoff; });
    }

    // ---------------------------------------------------- polling and wakes
    struct PollResult {
        std::int64_t pending = 0;
        std::optional<std::int64_t> next_retry_us;
        std::vector<store::StateCount> counts;
    };

    void schedule_poll(milliseconds after) {
        poll_timer.expires_after(after);
        poll_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping)
                return;
            run_poll();
        });
    }

    void run_poll() {
        if (poll_running)
            return;
        poll_running = true;
        db_job(
            [this]() -> Result<PollResult> {
                PollResult p;
                auto n = store->pending_count();
                if (!n)
                    return n.error();
                p.pending = *n;
                auto next = store->next_retry_at_us();
                if (!next)
                    return next.error();
                p.next_retry_us = *next;
                auto counts = store->counts_by_state();
                if (!counts)
                    return counts.error();
                p.counts = std::move(*counts);
                return p;
            },
            [this](Result<PollResult> r) {
                poll_running = false;
                auto next = milliseconds(static_cast<std::int64_t>(cfg.poll_interval_s * 1000));
                if (db_ok(r, "poll")) {
                    metrics.queue_pending = r->pending;
                    for (auto& g : metrics.tasks_by_state)
                        g = 0;
                    for (const auto& c : r->counts) {
                        metrics.tasks_by_state[static_cast<std::size_t>(c.state)] = c.count;
                    }
                    // Claimed tasks wait for offers too: never suppress them.
                    apply_gate(gate.on_pending(
                        r->pending + static_cast<std::int64_t>(claimed.size()), Clock::now()));
                    if (r->pending > 0) {
                        claims_exhausted = false;
                        place_offers();
                    }
                    if (r->next_retry_us) {
                        const auto wait_ms =
                            std::max<std::int64_t>(1, (*r->next_retry_us - now_us()) / 1000 + 1);
                        next = std::min(next, milliseconds(wait_ms));
                    }
                }
                if (!stopping)
                    schedule_poll(next);
            });
    }

    void connect_listener() {
        listener = std::make_unique<store::TaskListener>(cfg.database);
        auto st = listener->connect();
        if (!st.ok()) {
            log::warn("listen_failed", "error={} fallback=polling", log::quote(st.error().message));
            return;
        }
        listener_fd =
            std::make_unique<asio::posix::stream_descriptor>(loop, ::dup(listener->socket()));
        wait_listener();
    }

    void wait_listener() {
        listener_fd->async_wait(asio::posix::stream_descriptor::wait_read,
                                [this](const boost::system::error_code& ec) {
                                    if (ec || stopping)
                                        return;
                                    on_listener_readable();
                                });
    }

    void on_listener_readable() {
        auto w = listener->drain();
        if (!w) {
            log::warn("listen_lost", "error={} fallback=polling", log::quote(w.error().message));
            listener_fd.reset();
            // Try again later; polling covers the gap.
            wake_timer.expires_after(kDbRetryMax);
            wake_timer.async_wait([this](const boost::system::error_code& ec) {
                if (!ec && !stopping)
                    connect_listener();
            });
            return;
        }
        if (w->pending) {
            apply_gate(gate.on_new_work(Clock::now()));
            claims_exhausted = false;
            maybe_claim();
            schedule_poll(milliseconds(0));
        }
        if (w->kill)
            run_kill_scan();
        wait_listener();
    }

    // ------------------------------------------------------------ leadership
    void schedule_leader_check() {
        leader_timer.expires_after(kLeaderCheckInterval);
        leader_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping)
                return;
            db_job([this] { return leader->check(); },
                   [this](const Result<bool>& r) {
                       if (stopping)
                           return;
                       if (!r.ok() || !*r) {
                           log::error("leadership_lost", "framework={} error={}",
                                      cfg.framework_name,
                                      log::quote(r.ok() ? "lock released" : r.error().message));
                           metrics.leader = 0;
                           fail(kExitFailure);
                           return;
                       }
                       schedule_leader_check();
                   });
        });
    }

    // ------------------------------------------------------------- stopping
    void begin_stop(int code) {
        if (code != kExitOk)
            exit_code = code;
        if (stopping)
            return;
        stopping = true;
        log::info("stopping", "pending_updates={} calls_in_flight={}", updates_waiting(),
                  calls_in_flight);
        decline_held(cfg.refuse_s);
        if (!claim_running)
            release_all_claims();
        for (auto* t : {&hold_timer, &kill_timer, &poll_timer, &reconcile_timer, &implicit_timer,
                        &leader_timer, &wake_timer}) {
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

    void maybe_finish_stop() {
        if (!stopping)
            return;
        bool committing = false;
        bool updates_left = false;
        for (const auto& lane : lanes) {
            committing = committing || lane->running;
            updates_left = updates_left || !lane->updates.empty() || !lane->placements.empty();
        }
        updates_left = updates_left && metrics.database_up.load() == 1;
        if (claim_running || releases_running > 0 || committing || updates_left ||
            calls_in_flight > 0)
            return;
        finish_stop();
    }

    void finish_stop() {
        stop_timer.cancel();
        for (auto& lane : lanes)
            lane->retry_timer.cancel();
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
        loop.stop();
    }

    // --------------------------------------------------------------- lag
    void sample_lag(Clock::time_point expected) {
        lag_timer.expires_at(expected);
        lag_timer.async_wait([this, expected](const boost::system::error_code& ec) {
            if (ec)
                return;
            const auto lag =
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - expected)
                    .count();
            metrics.loop_lag_us_total += static_cast<std::uint64_t>(std::max<std::int64_t>(0, lag));
            metrics.loop_lag_samples++;
            if (lag > metrics.loop_lag_us_max)
                metrics.loop_lag_us_max = lag;
            sample_lag(Clock::now() + kLagSampleInterval);
        });
    }

    std::string state_json() const {
        nlohmann::json j;
        {
            std::lock_guard lock(snapshot_mutex);
            j["framework_id"] = snapshot_framework_id;
            j["master"] = snapshot_master;
        }
        j["framework_name"] = cfg.framework_name;
        j["identity"] = identity;
        j["leader"] = metrics.leader.load() == 1;
        j["subscribed"] = metrics.subscribed.load() == 1;
        j["database_up"] = metrics.database_up.load() == 1;
        j["suppressed"] = metrics.suppressed.load() == 1;
        j["queue_pending"] = metrics.queue_pending.load();
        j["offers_held"] = metrics.offers_held.load();
        j["claims_held"] = metrics.claims_held.load();
        j["tasks_claimed"] = metrics.tasks_claimed.load();
        j["claim_batches"] = metrics.claim_batches.load();
        j["updates_waiting"] = metrics.updates_waiting.load();
        nlohmann::json states = nlohmann::json::object();
        for (std::size_t i = 0; i < metrics.tasks_by_state.size(); ++i) {
            states[std::string(task::to_string(static_cast<task::TaskState>(i)))] =
                metrics.tasks_by_state[i].load();
        }
        j["tasks_by_state"] = states;
        // mesoflow's own latencies since it started, in milliseconds.
        nlohmann::json latency = nlohmann::json::object();
        for (const auto& view : kLatencyViews) {
            const LatencyHistogram& h = metrics.*view.histogram;
            const auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000.0; };
            latency[std::string(view.key)] = {{"count", h.count()},
                                              {"p50_ms", ms(h.quantile_us(0.5))},
                                              {"p99_ms", ms(h.quantile_us(0.99))},
                                              {"max_ms", ms(h.max_us())}};
        }
        j["latency"] = latency;
        return j.dump();
    }
};

Runtime::Runtime(config::Config config, std::string identity)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(identity))) {}

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
           impl_->metrics.database_up.load() == 1;
}

std::string Runtime::state_json() const {
    return impl_->state_json();
}

}  // namespace mesoflow::runtime
