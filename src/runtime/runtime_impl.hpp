// Runtime::Impl: the runtime's state and its pipelines, one file each:
//   runtime.cpp       start-up, stopping, the public API
//   subscription.cpp  leadership, the master, events in, calls out
//   launching.cpp     claims, offers held, matched and answered
//   update_lanes.cpp  status updates committed, then acknowledged
//   queue_watch.cpp   NOTIFY and the poll: new work, revive and suppress
//   housekeeping.cpp  the kill scan, reconciliation, loop lag
//   state_view.cpp    /state
// Everything here runs on the event loop, but for the jobs handed to the
// database threads (their results come back to the loop). Decisions come
// from the scheduler core's policies; these files only carry them out.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "mesoflow/common/log.hpp"
#include "mesoflow/config/config.hpp"
#include "mesoflow/discovery/zookeeper_detector.hpp"
#include "mesoflow/mesos/types.hpp"
#include "mesoflow/metrics/metrics.hpp"
#include "mesoflow/runtime/database_worker.hpp"
#include "mesoflow/runtime/runtime.hpp"
#include "mesoflow/runtime/seams.hpp"
#include "mesoflow/scheduler/agent_hold.hpp"
#include "mesoflow/scheduler/call_repair.hpp"
#include "mesoflow/scheduler/commit_reactions.hpp"
#include "mesoflow/scheduler/fair_share.hpp"
#include "mesoflow/scheduler/kill_tracker.hpp"
#include "mesoflow/scheduler/launch_pacer.hpp"
#include "mesoflow/scheduler/lease.hpp"
#include "mesoflow/scheduler/offer_book.hpp"
#include "mesoflow/scheduler/offer_gate.hpp"
#include "mesoflow/scheduler/offer_matcher.hpp"
#include "mesoflow/scheduler/phase.hpp"
#include "mesoflow/scheduler/reconciler.hpp"
#include "mesoflow/scheduler/task_info_builder.hpp"
#include "mesoflow/scheduler/unplaceable.hpp"
#include "mesoflow/scheduler/waiting.hpp"
#include "mesoflow/store/leader_lock.hpp"
#include "mesoflow/store/task_listener.hpp"
#include "mesoflow/store/task_store.hpp"
#include "mesoflow/transport/master_client.hpp"

namespace mesoflow::runtime {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// How often the runtime looks for kill requests and execution timeouts.
inline constexpr milliseconds kKillScanInterval{1000};
// A standby retries the leader lock this often (and a process whose
// leadership ended, while the database is away): a takeover comes at most
// this long after the lock is free.
inline constexpr milliseconds kStandbyRetryInterval{1000};
// What Impl::run() returns when its leadership ended (lease, lock, fence,
// failed over): Runtime::run() starts a new term in the same process.
inline constexpr int kTermEnded = -100;
// A term that ended waits at most this long for its placements on their way
// (to take back those whose ACCEPT will not leave).
inline constexpr milliseconds kTermDrain{2000};
// Event-loop lag is sampled this often.
inline constexpr milliseconds kLagSampleInterval{100};
// A failed read or write (framework id, reconciliation page) is retried
// after this, doubling up to kDbRetryMax where it repeats.
inline constexpr milliseconds kDbRetry{100};
inline constexpr milliseconds kDbRetryMax{5000};
// A lost NOTIFY connection is reconnected after this; polling covers the gap.
inline constexpr milliseconds kListenRetry{5000};
// Graceful stop: in-flight commits and acknowledgements get this long.
inline constexpr milliseconds kStopGrace{30000};
// Unanswered explicit reconciliation is looked at this often.
inline constexpr milliseconds kReconcileTick{1000};
// Live attempts read per page for explicit reconciliation.
inline constexpr int kReconcilePage = 5000;
// Kill requests and timeouts read per scan.
inline constexpr int kKillScanLimit = 1000;
// Placements recorded per statement before their ACCEPTs (whole ACCEPTs,
// so a chunk may hold a few more).
inline constexpr std::size_t kPlacementChunk = 32;

// One Impl is one term: it starts as a fresh process would (leader lock,
// framework id, subscription, reconciliation), and when its leadership ends
// it stops at once, sending nothing more, and Runtime::run() starts the
// next one. Nothing a term knew (offers, claims, kills in flight) outlives it.
struct Runtime::Impl {
    // term: 1 for the process's first (migrations run, a database that
    // cannot be reached at start is an error); later ones retry instead.
    Impl(config::Config c, std::string id, Seams seams, Metrics& m, int term_number,
         const std::atomic<bool>& stop_flag);

    using TimePoint = std::chrono::steady_clock::time_point;

    // ------------------------------------------------------------------ state
    config::Config cfg;
    std::string identity;
    SystemTime system_time;
    const TimeSource& time;
    asio::io_context loop;
    Metrics& metrics;  // the Runtime's: it outlives the terms
    const int term;
    const std::atomic<bool>& stop_requested;  // request_stop() before this term ran
    scheduler::Phase phase = scheduler::Phase::starting;

    // The scheduler core: every decision comes from these.
    scheduler::OfferMatcher matcher;
    scheduler::OfferBook book;
    scheduler::LaunchPacer pacer;
    scheduler::OfferGate gate;
    scheduler::Reconciler reconciler;
    scheduler::KillTracker kills;
    scheduler::UnplaceableTracker unplaceable;
    scheduler::WaitingTracker waiting_reasons;
    // The most each agent offered at once, and the agent held for a large
    // task that waited too long (agent_hold.hpp).
    scheduler::AgentRoom agent_room;
    struct HeldAgent {
        std::int64_t task_id = 0;
        int attempt = 0;
        std::string agent_id;
        TimePoint since;
    };
    std::optional<HeldAgent> held_agent;
    // Tasks whose hold ran out: not held for again while claimed.
    std::unordered_set<std::int64_t> hold_given_up;
    // A hold lasts at most this many unplaceable_after (at least a minute).
    static constexpr double kHoldLimitFactor = 10;
    static constexpr std::chrono::seconds kHoldLimitMin{60};
    // Agents whose offers the last round held (an unplaceable task's note).
    std::size_t last_round_agents = 0;

    // Used on the db thread only (inside DatabaseWorker jobs).
    std::unique_ptr<store::TaskStore> store;
    std::unique_ptr<store::LeaderLock> leader;
    // The leader lock's own thread ("db-lease"): a renewal never waits
    // behind a claim or a slow page.
    std::unique_ptr<DatabaseWorker> lease_worker;
    scheduler::Lease lease;
    // The leadership ended: nothing more is sent or claimed in this term.
    bool fenced = false;
    bool renewal_running = false;
    int unplacing = 0;  // placements being taken back at the end of a term
    // A copy of the lock connection's socket, readable when the server ends it.
    std::unique_ptr<asio::posix::stream_descriptor> lock_watch;
    std::int64_t leader_epoch = 0;  // this term's fencing token
    // Declared after what their jobs use, so they are destroyed (drained) first.
    std::unique_ptr<DatabaseWorker> db;
    // Placements, recorded before their ACCEPT leaves, on a connection and a
    // thread of their own ("db-place"), so a launch never waits behind a
    // claim, a poll or a reconciliation page.
    std::unique_ptr<store::TaskStore> placer_store;
    std::unique_ptr<DatabaseWorker> placer;

    // A round's launches between their match and their ACCEPTs: the
    // placements commit first, and only the attempts placed are sent.
    struct PendingAccept {
        std::vector<std::string> offer_ids;
        std::vector<mesos::TaskInfo> infos;
        double refuse_s = 0;
        std::vector<TimePoint> starts;  // decision times, for offer_to_accept
    };
    struct PendingLaunch {
        std::vector<store::LaunchRecord> records;
        std::vector<PendingAccept> accepts;
        std::vector<task::TaskSpec> specs;  // given back to the window if not placed
    };
    int placements_running = 0;
    struct Placed {
        std::vector<std::int64_t> ids;    // sorted
        std::vector<std::int64_t> stale;  // never placeable (see store::Placement), sorted
        std::vector<std::pair<store::LaunchRecord, std::string>> refused;  // and why
    };

    struct ReceivedUpdate {
        mesos::TaskStatus status;
        TimePoint received;
        // mesoflow's own reason, for the updates it makes up itself.
        std::string own_reason{};
    };
    // Status updates commit on lanes of their own, each a connection and a
    // thread ("db-updates-N"), so an ACKNOWLEDGE never waits behind a claim,
    // and batches commit side by side. A task always maps to the same lane
    // (its id modulo the lanes), so its updates commit in the order they
    // came, and two lanes never lock the same row. Rows cannot collide with
    // claims or placements either: a task's updates come only after its
    // placement was committed, and all lock what they change.
    struct UpdateLane {
        explicit UpdateLane(asio::io_context& io) : retry_timer(io), kept_timer(io) {}
        std::unique_ptr<store::TaskStore> store;
        std::deque<ReceivedUpdate> updates;  // received, not yet committed
        bool running = false;
        std::size_t committing = 0;  // updates in the batch being committed
        // Updates still to commit one at a time after a batch failed
        // permanently.
        std::size_t one_by_one = 0;
        milliseconds retry = scheduler::kCommitRetryMin;
        asio::steady_timer retry_timer;
        // Kept back: updates whose task row another session
        // held (the batch skipped them), tried again after kept_retry; later
        // updates of those tasks wait here behind them, in order.
        std::deque<ReceivedUpdate> kept;
        std::set<std::string> kept_tasks;  // Mesos task ids with updates in `kept`
        milliseconds kept_retry = scheduler::kCommitRetryMin;
        asio::steady_timer kept_timer;
        // (Mesos task id, uuid) of every update the lane holds, queued,
        // committing or kept: a redelivery of one of them is not held twice.
        std::set<std::pair<std::string, std::string>> held;
        // Since when the lane has had work without a commit (TimeSource);
        // empty while it has none, or since its last commit.
        std::optional<TimePoint> waiting_since;
        // Declared last: destroyed (drained) before what its jobs use.
        std::unique_ptr<DatabaseWorker> worker;
    };
    std::vector<std::unique_ptr<UpdateLane>> lanes;

    // Owned by the event loop once connected; connected (blocking: up to
    // the connect timeout while the database is unreachable) on the
    // "db-listen" thread, never on the loop, and handed over when ready.
    std::unique_ptr<store::TaskListener> listener;
    std::unique_ptr<asio::posix::stream_descriptor> listener_fd;
    bool listener_connecting = false;
    std::unique_ptr<DatabaseWorker> listen_worker;
    std::unique_ptr<transport::MasterClient> master;
    CallSink* call_sink = nullptr;  // a test's, or null: the master client
    // master = zk://...: finds the leading master; its reports come to the loop.
    std::unique_ptr<discovery::ZooKeeperDetector> detector;
    std::optional<transport::MasterEndpoint> detected_leader;  // the last one named

    asio::signal_set signals{loop, SIGINT, SIGTERM};
    asio::steady_timer kill_timer{loop};
    asio::steady_timer poll_timer{loop};
    asio::steady_timer reconcile_timer{loop};
    asio::steady_timer implicit_timer{loop};
    asio::steady_timer leader_timer{loop};
    asio::steady_timer lease_timer{loop};   // the next renewal
    asio::steady_timer expiry_timer{loop};  // the lease's end, unless renewed
    asio::steady_timer lag_timer{loop};
    asio::steady_timer stop_timer{loop};
    asio::steady_timer wake_timer{loop};
    asio::steady_timer hold_timer{loop};
    asio::steady_timer revive_timer{loop};
    asio::steady_timer save_timer{loop};
    asio::steady_timer reconcile_tick_timer{loop};
    asio::steady_timer resend_timer{loop};

    std::optional<std::string> framework_id;
    // framework_id is the one in the database (loaded, or saved and committed).
    bool framework_id_committed = false;
    std::string master_name;
    int exit_code = kExitOk;

    // Claimed attempts waiting for an offer, in queue order; a spec's claimed
    // attempt is its attempt + 1.
    std::vector<task::TaskSpec> claimed;
    // Each queue's weight and what its launched, unfinished tasks use: read
    // by the poll, and the launches since added (fair_order's input).
    std::map<std::string, scheduler::QueueShare, std::less<>> queue_shares;
    // What the queues held and the last round offered (the claim's turns).
    scheduler::Demand last_capacity;
    // Tasks not launched yet by queue and reason, at the last count.
    std::vector<store::ReasonCount> reason_counts;
    std::optional<TimePoint> reasons_counted_at;
    bool claim_running = false;
    // The last claim found fewer tasks than it asked for: claim again only
    // when new work may have come (a notification, a poll, a retry).
    bool claims_exhausted = false;
    // The last claim found a queue held at its max_running.
    bool queue_at_cap = false;
    int releases_running = 0;
    // A claim, a placement or a release failed without saying whether it
    // committed (bumped at each): attempts may be left launching that no
    // one holds. The next claim first gives back every launching attempt
    // with no status update that neither the window nor a placement under
    // way holds, and those of `unsent_placements` (placed, perhaps, but no
    // ACCEPT named them).
    std::uint64_t unknown_claims = 0;
    std::vector<store::LaunchRecord> unsent_placements;
    std::unordered_set<std::int64_t> placing;  // tasks of the placements under way

    // Bumped whenever work may have become pending (a notification, a
    // commit that put a task back in the queue, a new subscription). A poll
    // or claim that started under an older value may have read the queue
    // before that work: its "nothing pending" is not believed (no SUPPRESS,
    // no end of claiming), and it is asked again.
    std::uint64_t work_epoch = 0;
    bool kill_scan_running = false;
    bool poll_running = false;
    // A poll was asked for while one ran: another goes when it ends.
    bool poll_again = false;
    std::size_t calls_in_flight = 0;

    // Counts subscriptions: a failed call is repaired only under the one it
    // was made for.
    std::uint64_t subscription_seq = 0;
    // Failed calls the master may take twice, waiting to go again.
    struct Resend {
        std::shared_ptr<const mesos::Call> call;
        TimePoint due;
        milliseconds backoff;
        std::uint64_t subscription = 0;
    };
    std::vector<Resend> resends;
    // Attempts whose ACCEPT the master never took (refused, or never
    // written), or dropped for invalid offers before any word of them (an
    // offer rescinded on the way): the master's "unknown" sends them back
    // uncounted. An applied update takes an attempt out.
    std::unordered_set<std::string> never_taken;

    // Read by other threads through state_json().
    mutable std::mutex snapshot_mutex;
    std::string snapshot_framework_id;
    std::string snapshot_master;
    std::optional<discovery::Detection> snapshot_detection;
    // starting, standby, leader or stepped_down (this term's leadership ended).
    std::string snapshot_role = "starting";
    // Who leads as the database says (this process while leading), since.
    std::string snapshot_leader;
    std::optional<std::int64_t> snapshot_leader_since_us;
    std::int64_t snapshot_epoch = 0;  // the framework's, as last read
    // When the current subscription began; unset while not subscribed.
    std::optional<std::int64_t> snapshot_subscribed_since_us;

    // ---------------------------------------------------------------- phase
    bool stopping() const { return phase == scheduler::Phase::stopping; }
    bool subscribed() const { return phase == scheduler::Phase::subscribed; }
    void move_to(scheduler::PhaseEvent event);

    // --------------------------------------------------------------- helpers
    template <typename Work, typename Done>
    void db_job(Work work, Done done) {
        timed_job(*db, std::move(work), std::move(done));
    }

    template <typename Work, typename Done>
    void timed_job(DatabaseWorker& worker, Work work, Done done) {
        worker.submit(
            [this, work = std::move(work)]() mutable {
                const auto start = std::chrono::steady_clock::now();
                auto result = work();
                metrics.db_time_us += static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
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

    // Runs `then` after `wait` on `timer`, unless the timer is cancelled.
    void after(asio::steady_timer& timer, std::chrono::steady_clock::duration wait,
               std::function<void()> then);

    // ------------------------------------------------ runtime.cpp: life cycle
    int run();
    void fail(int code);
    void begin_stop(int code);
    void maybe_finish_stop();
    void finish_stop();

    // --------------------------------------------------------- subscription
    void acquire_leadership();
    void retry_leadership();
    void took_leadership(const store::LeaderClaim& claim,
                         std::chrono::steady_clock::time_point sent);
    void schedule_renewal();
    void renew_lease();
    void watch_lock(int socket);
    void arm_lease_expiry();
    // Whether anything may be sent or claimed now: leading, in a valid lease.
    bool may_send();
    // Leadership ended: stop at once, sending nothing more; the next term
    // starts in this process (kTermEnded).
    void end_term(std::string_view reason, const std::string& detail);
    void maybe_end_term_loop();
    void unplace(std::vector<store::LaunchRecord> records);
    void load_framework_id();
    void save_framework_id(milliseconds retry);
    void start_scheduling();
    void start_master();
    mesos::Call subscribe_call() const;
    void on_detection(const discovery::Detection& d);
    void send(const mesos::Call& call, std::function<void(const transport::CallResult&)> done = {});
    void send_call(std::shared_ptr<const mesos::Call> call,
                   std::function<void(const transport::CallResult&)> done, milliseconds backoff);
    void repair_call(const std::shared_ptr<const mesos::Call>& call, scheduler::CallOutcome outcome,
                     milliseconds backoff, std::uint64_t subscription);
    void run_resends();
    void arm_resends();
    void reconcile_tasks(const std::vector<scheduler::TaskRef>& refs);
    void on_disconnected(const std::string& reason);
    void on_record(std::string_view record);
    void handle(mesos::Event::Subscribed& s);
    void handle(mesos::Event::Offers& o);
    void handle(mesos::Event::InverseOffers& io);
    void handle(mesos::Event::Rescind& r);
    void handle(mesos::Event::RescindInverseOffer& r);
    void handle(mesos::Event::Update& u);
    void handle(mesos::Event::UpdateOperationStatus& u);
    void handle(mesos::Event::Message& m);
    void handle(mesos::Event::Failure& f);
    void handle(mesos::Event::Error& e);
    void handle(mesos::Event::Heartbeat&) {}
    void handle(mesos::Event::Unknown& u);
    void apply_gate(std::optional<mesos::Call> call);

    // ------------------------------------------------------------ launching
    scheduler::PacerInputs pacer_inputs() const;
    void maybe_claim();
    void finish_claim(int asked, std::uint64_t epoch, Result<store::ClaimedWindow>& r);
    void place_offers();
    void set_queue_usage(const std::vector<store::QueueUsage>& queues);
    void order_claimed_fairly(const std::vector<mesos::Offer>& round);
    void hold_agent_for_starving(std::vector<mesos::Offer>& round);
    void launch(std::vector<mesos::Offer> round, std::size_t room);
    // The pacer resized the launch window: the gauge and one log line.
    void window_changed(scheduler::WindowChange change, std::string_view why);
    void place_then_accept(std::shared_ptr<PendingLaunch> pending);
    void accept_placed(PendingLaunch& pending, Placed result, bool outcome_unknown = false);
    void hold_offers();
    void decline_held(double refuse_s);
    void decline_ids(std::vector<std::string> ids, double refuse_s);
    void decline_unused(const std::vector<mesos::Offer>& round,
                        const std::vector<std::string>& unused,
                        std::optional<scheduler::Demand> per_task, bool more_after);
    void release_claims(std::vector<store::ClaimRef> refs, std::string_view why);
    void give_back_unknown_claims();
    void release_all_claims();
    // Writes what the UnplaceableTracker says is due: reasons, ended tasks.
    void check_unplaceable();
    void note_waiting();
    scheduler::MatchOptions match_options() const;
    scheduler::TaskDefaults task_defaults() const;
    store::LaunchPolicy launch_policy() const;

    // --------------------------------------------------------- update lanes
    UpdateLane& lane_of(std::int64_t task_id);
    UpdateLane& lane_of(const std::string& mesos_task_id);
    std::size_t updates_waiting() const;
    void note_updates_waiting();
    void flush_all_updates();
    void flush_updates(UpdateLane& lane);
    void commit_failed(UpdateLane& lane, std::vector<ReceivedUpdate> batch, const Error& error);
    void after_commit(const std::vector<ReceivedUpdate>& batch,
                      const std::vector<task::UpdateResult>& results,
                      const scheduler::CommitReaction& reaction);
    void keep_locked(UpdateLane& lane, std::vector<ReceivedUpdate>& batch,
                     const scheduler::CommitReaction& reaction);
    void release_kept(UpdateLane& lane);
    void forget_held(UpdateLane& lane, const ReceivedUpdate& u);
    void watch_lanes();

    // ---------------------------------------------------------- queue watch
    void schedule_poll(milliseconds after);
    void run_poll();
    // Work may have become pending: polls now, and no earlier read of the
    // queue may end claiming or suppress offers.
    void on_work_may_be_pending();
    void connect_listener();
    void retry_listener();
    void wait_listener();
    void on_listener_readable();

    // --------------------------------------------------------- housekeeping
    void reconcile_page(std::int64_t after);
    void schedule_reconcile_tick();
    void schedule_implicit_reconcile();
    void schedule_kill_scan();
    void run_kill_scan();
    void replace_unreachable(const std::vector<store::LiveAttempt>& expired);
    void sample_lag(std::chrono::steady_clock::time_point expected);

    // ----------------------------------------------------------- state view
    std::string state_json() const;
};

}  // namespace mesoflow::runtime
