// TaskStore: mesoflow's queue and memory in PostgreSQL, through one libpq
// connection. Calls block and the class is not thread-safe: the runtime owns
// one TaskStore on its database thread (producers' tools use their own).
//
// Every call returns a Result or Status. A call that fails because the
// connection is lost reports an Error and changes nothing that was not
// committed: each batch is one statement or one transaction, so it is applied
// wholly or not at all; the caller retries it and acknowledges nothing in the
// meantime. The next call reconnects; between failed connection attempts the
// store waits a back-off doubling up to kReconnectBackoffMax, and a call inside
// that wait fails at once. A (re)connection checks that the schema is the one
// this binary knows (run `mesoflow migrate` otherwise).
//
// Every batch is safe to retry when its outcome is unknown (connection lost
// around COMMIT): record_launches reports an attempt it had already claimed
// for the same offer as claimed again, apply_updates reports redelivered
// updates as duplicates.
//
// Rows another session holds locked (a producer's open transaction) are
// skipped by the batches of the update lanes (apply_updates,
// record_placements), waited for at most update_lock_wait: they report what
// they skipped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mesoflow/common/result.hpp"
#include "mesoflow/store/new_task.hpp"
#include "mesoflow/store/task_view.hpp"
#include "mesoflow/task/attempt.hpp"
#include "mesoflow/task/status_update.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::store {

inline constexpr std::chrono::milliseconds kReconnectBackoffMin{100};
inline constexpr std::chrono::milliseconds kReconnectBackoffMax{5000};
// A statement that runs longer fails (and its batch is retried) instead of
// stalling the database thread.
inline constexpr std::chrono::seconds kStatementTimeout{60};
// Shorter limits for a reader that must answer quickly or not at all (the
// status page, served on the admin thread): 0 keeps the default; a limit
// set holds whatever the DSN says.
struct SessionLimits {
    std::chrono::seconds connect_timeout{0};         // default 10 s
    std::chrono::milliseconds statement_timeout{0};  // default kStatementTimeout
    std::chrono::milliseconds update_lock_wait{0};   // default kUpdateLockWait
};

// How long a batch of status updates waits for a row another session holds
// before it runs again with row locks, skipping that row (apply_updates).
inline constexpr std::chrono::milliseconds kUpdateLockWait{100};

// Upper bound on one fetch_pending/active_attempts/pending_kills page.
inline constexpr int kMaxPageSize = 10000;

// The attempt values (LaunchRecord, ClaimRef, LiveAttempt) are plain task
// values, shared with the scheduler core; the store speaks of them by the
// same names.
using task::ClaimRef;
using task::LaunchRecord;
using task::LiveAttempt;

struct FrameworkRecord {
    std::string name;
    std::string framework_id;  // empty: none yet
    std::string leader;        // empty: nobody has led
    std::optional<std::int64_t> leader_since_us;
    std::int64_t leader_epoch = 0;  // taken leaderships so far
};

// A leader's fencing token: its framework, the epoch it took leadership at
// and its lock session's backend pid (LeaderLock). A store given one runs its
// claims and placements behind mesoflow.fence, which refuses them
// (ErrorKind::fenced, nothing written) once another process has taken
// leadership or the lock's session has ended.
struct Fence {
    std::string framework;
    std::int64_t epoch = 0;
    int lock_pid = 0;
};

// Why a claim ends a task instead of launching it.
// What place_attempts did: `placed` may be sent to Mesos; `stale` never
// will be (release_claims ends those a kill was requested for); an attempt
// in neither is held by another session and may be placed later. Both
// sorted.
struct Placement {
    std::vector<std::int64_t> placed;
    std::vector<std::int64_t> stale;
};

struct ClaimRefusal {
    std::string reason;   // e.g. volume_not_allowed
    std::string message;  // for the row, naming what was refused
};

// Who claimed tasks may run as. A task whose run_as_user (or role) is set
// and not in the list is not claimed: it ends failed, reason
// user_not_allowed (or role_not_allowed). nullopt allows any.
struct LaunchPolicy {
    std::optional<std::vector<std::string>> users;
    std::optional<std::vector<std::string>> roles;
    // Judges each task the claim took (its volumes, network, Docker
    // parameters, placement patterns, and whether its row could be read
    // exactly); a refusal ends the task failed in the claim's own
    // transaction, so it never reaches an offer. Empty: nothing refused.
    // Called on the store's thread; must be pure.
    std::function<std::optional<ClaimRefusal>(const task::TaskSpec&)> refuse;
};

// A task a claim ended instead of claiming it.
struct RefusedTask {
    std::int64_t id = 0;
    std::string key;
    // user_not_allowed | role_not_allowed, or LaunchPolicy::refuse's reason
    std::string reason;
    std::string message;  // what the row says, naming the user or role
};

// A claimed attempt no offer could hold, with why (for the row's message).
struct UnplaceableNote {
    std::int64_t task_id = 0;
    int attempt = 0;  // the claimed attempt
    std::string message;
};

// Why a claimed attempt waits, for its row: reason NULL clears it.
struct WaitingNote {
    std::int64_t task_id = 0;
    int attempt = 0;  // the claimed attempt
    std::optional<std::string> reason;
    std::optional<std::string> message;
};

// What the queues hold now, for the claim's turns between queues: each
// queue's dominant share of the capacity (cpus, mem), or, with no capacity
// known (zero), its count of placed tasks (each task then counts 1).
struct ClaimShares {
    std::vector<std::pair<std::string, double>> used;
    double capacity_cpus = 0;
    double capacity_mem_mb = 0;
};

struct ClaimedWindow {
    std::vector<task::TaskSpec> tasks;  // as claim_pending returns them
    std::vector<RefusedTask> refused;   // by priority, then age, then id
    // A queue filled the room the claim's size gave it: it may hold more
    // due rows, whatever the claim took after skipping locked rows.
    bool more_due = false;
    // A queue filled the room its max_running left: a task of it that ends
    // makes room again.
    bool queue_at_cap = false;
};

// What apply_updates made of a batch.
struct BatchResult {
    std::vector<task::UpdateResult> updates;  // aligned with the batch's updates
    // Placements not written: another session held their task's row.
    std::vector<LaunchRecord> placements_locked;
};

// One task of a bulk submit (insert_tasks) and the line of the producer's
// file it came from, which errors name.
struct BulkTask {
    NewTask task;
    std::int64_t line = 0;
};
// The next task, nullopt at the end, or an Error that ends the submit.
using BulkSource = std::function<Result<std::optional<BulkTask>>()>;
struct BulkResult {
    std::int64_t queued = 0;
    std::int64_t skipped = 0;  // keys already queued (skip_existing)
};

class Database;

class TaskStore {
  public:
    // `application_name` shows in pg_stat_activity.
    // session_limit (0: none): a leader passes its lease, so the server ends
    // its sessions left idle inside a transaction that long (a frozen
    // leader's open claim cannot hold rows, or a new leader's fence, past
    // its lease), and a connection whose data goes unacknowledged that long
    // fails.
    explicit TaskStore(std::string dsn, std::string application_name = "mesoflow",
                       std::chrono::milliseconds session_limit = {}, SessionLimits limits = {});
    ~TaskStore();
    TaskStore(TaskStore&&) noexcept;
    TaskStore& operator=(TaskStore&&) noexcept;
    TaskStore(const TaskStore&) = delete;
    TaskStore& operator=(const TaskStore&) = delete;

    // Connects now (every call does so on demand): for start-up checks.
    Status connect();
    bool connected() const;
    void disconnect();
    // Claims and placements from now on run behind `fence` (none: unfenced,
    // for tools and tests).
    void set_fence(std::optional<Fence> fence);

    // --- The scheduler's side -------------------------------------------

    // Up to `limit` tasks that can launch now: state pending, not_before
    // passed, no kill requested; by priority (highest first), then age, then id.
    Result<std::vector<task::TaskSpec>> fetch_pending(int limit);

    // Claims up to `limit` tasks that can launch now, in fetch_pending's order,
    // for the offers to come: each moves pending -> launching with its next
    // attempt's Mesos task id and no agent, so an offer is answered without
    // a claim; the placement is recorded before the ACCEPT (place_attempts). Rows another
    // transaction holds are skipped. The specs come back as they were pending: the claimed attempt
    // is TaskSpec::attempt + 1, what OfferMatcher launches. One statement.
    Result<std::vector<task::TaskSpec>> claim_pending(int limit);
    // claim_pending under a policy, in the same statement: of the `limit`
    // rows taken from the queue, those the policy refuses end failed (with a
    // history row of kind refused) and come back in `refused`; the others
    // are claimed. With LaunchPolicy::refuse, the claim and the ending of
    // the tasks it refuses are one transaction (two round trips); those come
    // back in `refused` after the user and role refusals. claim_pending
    // allows any user and role and refuses nothing.
    Result<ClaimedWindow> claim_window(int limit, const LaunchPolicy& policy,
                                       const ClaimShares& shares = {});
    // Records where claimed attempts were launched (agent, host, offer, the
    // time ACCEPT went out) and a launch history row for each. Leaves the
    // state alone, so it may commit before or after the attempt's first
    // status updates. Returns how many attempts matched; a row another
    // session holds locked is skipped (not waited for) and not counted.
    Result<int> record_placements(const std::vector<LaunchRecord>& placements);
    // Records where claimed attempts go before their ACCEPT may leave: an
    // attempt is placed (agent, host, offer, the time) only once, while its
    // row is still launching at that attempt, not kill-requested and not held by
    // another session (waited for at most update_lock_wait, then skipped; the
    // rows are written without a lock of their own); a launch history row
    // each. Returns the task ids placed: only those may be sent to Mesos, so
    // an attempt with no agent recorded provably never left. Also returns
    // the attempts that can never be placed (their row ended, killed, at
    // another attempt, already placed, or gone): the caller gives them up
    // rather than trying again. One statement.
    Result<Placement> place_attempts(const std::vector<LaunchRecord>& placements);
    // Gives claimed, never-placed attempts back: pending at the attempt before
    // (or killed, when a kill was requested meanwhile). For a graceful stop
    // and for kills; an attempt that was placed is left alone. Returns the
    // ids released.
    Result<std::vector<std::int64_t>> release_claims(const std::vector<ClaimRef>& claims);
    // Takes back placements whose ACCEPT never left (the leadership ended
    // between the two): where the row is still launching at that attempt
    // with that offer and no status update, agent, host, offer and launch
    // time are cleared and the attempt given back as release_claims does
    // (pending at the attempt before, or killed). The ids undone.
    Result<std::vector<std::int64_t>> unplace(const std::vector<LaunchRecord>& placements);
    // Gives back what a failed claim or placement may have left behind
    // when its outcome is unknown (the connection died with its COMMIT on
    // the way): every attempt still launching with no status update and
    // none of `held` (the attempts the caller still holds), either claimed
    // and never placed, or placed by one of `unsent` (the placement's
    // records: no ACCEPT was sent for them). Each goes back exactly to the
    // attempt before, as release_claims does (killed if a kill was asked).
    // Behind the fence once set. Returns the ids given back, sorted.
    Result<std::vector<std::int64_t>> release_unknown_claims(
        const std::vector<std::int64_t>& held, const std::vector<LaunchRecord>& unsent);

    // Claimed attempts no offer could hold (see UnplaceableTracker): sets
    // reason 'unplaceable' and the why in message on rows still launching at
    // that attempt and never placed; they stay launching. One statement.
    // Returns the ids written.
    Result<std::vector<std::int64_t>> note_unplaceable(const std::vector<UnplaceableNote>& notes);
    // Claimed attempts that wait for other reasons (WaitingTracker): sets
    // reason and message (NULL clears them) on rows still launching at that
    // attempt and never placed. One statement. Returns the ids written.
    Result<std::vector<std::int64_t>> note_waiting(const std::vector<WaitingNote>& notes);
    // Ends such attempts: failed, reason 'unplaceable', the why in message,
    // the attempt given back (it never reached Mesos), a 'refused' history
    // row. One statement. Returns the ids ended.
    Result<std::vector<std::int64_t>> fail_unplaceable(const std::vector<UnplaceableNote>& notes);

    // Claims each attempt (pending -> launching) unless another process (or
    // a kill request) got there first: only a task still pending at attempt
    // - 1 is claimed, so one attempt is never launched twice. One statement;
    // history is written for each claim. The answer is aligned with `launches`:
    // true where the caller may send the LAUNCH.
    Result<std::vector<bool>> record_launches(const std::vector<LaunchRecord>& launches);

    // Applies status updates in order, in one transaction; the answer's
    // `updates` is aligned with `updates`. Every update is written to the
    // history with its outcome. Once this returns, the updates may be
    // acknowledged, but for those whose outcome is row_locked: another
    // session held or changed their task's row, so they were neither applied
    // nor written (the caller tries them again later). Rows are read without
    // a lock and written only as read; a held row is waited for at most
    // update_lock_wait, then the batch runs again with SKIP LOCKED, so one
    // held row never stalls the batch. `placements` are
    // recorded first in the same transaction (see record_placements): one
    // commit for both; those whose row was held come back in
    // `placements_locked`, not written.
    Result<BatchResult> apply_updates(const std::vector<task::StatusUpdate>& updates,
                                      const std::vector<LaunchRecord>& placements = {});

    // Launched attempts to kill: a kill was requested, or they timed out
    // (execution or launch timeout).
    // (A kill requested before launch never shows here: the table kills it.)
    Result<std::vector<LiveAttempt>> pending_kills(int limit);
    // Running attempts whose execution timeout (counted from TASK_RUNNING) has
    // passed at `now_us` (microseconds since the epoch) and are not yet marked.
    Result<std::vector<LiveAttempt>> timed_out_tasks(std::int64_t now_us, int limit);
    // Attempts whose agent has been out of reach since at least `grace_s`
    // seconds before `now_us` (microseconds since the epoch), longest first.
    Result<std::vector<LiveAttempt>> unreachable_expired(std::int64_t now_us, double grace_s,
                                                         int limit);
    // Marks the tasks timed out; their TASK_KILLED then ends them as failed
    // with reason "timeout". Returns the ids actually marked (still live).
    Result<std::vector<std::int64_t>> mark_timed_out(const std::vector<std::int64_t>& task_ids);
    // Marks, in one statement, up to `limit` placed attempts that have not
    // reached TASK_RUNNING `launch_timeout_s` after their placement (by
    // `now_us`), with a `timed_out` history row each, and returns them: the
    // kill scan kills them and their end is retried by the retry policy.
    Result<std::vector<LiveAttempt>> mark_launch_timed_out(std::int64_t now_us,
                                                           double launch_timeout_s, int limit);
    // Live attempts with task id > after_task_id, by task id: page through
    // them for explicit reconciliation.
    Result<std::vector<LiveAttempt>> active_attempts(std::int64_t after_task_id, int limit);
    // Each queue's weight, cap and placed, unfinished tasks (claimed ones
    // waiting for an offer hold nothing yet): what fair shares are measured
    // by. Reads the active rows only.
    Result<std::vector<QueueUsage>> queue_usage();
    // Both of the next two, reading each queue's first `per_queue_up_to`
    // pending rows (PendingLook::total_estimated past them).
    Result<PendingLook> pending_look(std::int64_t per_queue_up_to = kExactPendingPerQueueUpTo);
    // The pending rows the table's statistics make, without reading them
    // (nullopt for a table never analyzed): for a caller whose count
    // stopped at the cap.
    Result<std::optional<std::int64_t>> pending_estimate();
    // Pending tasks that could launch now (not those of a queue at its
    // max_running).
    Result<std::int64_t> pending_count();
    // The earliest not_before among pending tasks still in back-off, if any:
    // when the runtime should look again without a notification.
    Result<std::optional<std::int64_t>> next_retry_at_us();
    // Tasks by state: pending and live ones counted, ended ones counted
    // while the table has at most `exact_ended_pages_up_to` pages, estimated
    // from its statistics beyond (StateCount::estimated). Without
    // `count_pending` no pending row is read (a caller that has the queue
    // summaries has their count: each pass over a million pending rows
    // takes 0.3-0.5 s).
    Result<std::vector<StateCount>> counts_by_state(
        std::int64_t exact_ended_pages_up_to = kExactEndedPagesUpTo, bool count_pending = true);

    // --- The framework's row --------------------------------------------

    Result<std::optional<FrameworkRecord>> load_framework(const std::string& name);
    // The framework id to re-subscribe with; nullopt before the first SUBSCRIBED.
    Result<std::optional<std::string>> load_framework_id(const std::string& name);
    // Stores the id Mesos assigned (or confirmed) and who is leading.
    Status save_framework_id(const std::string& name, const std::string& framework_id,
                             const std::string& leader);
    // After the framework was torn down or removed: the id must not be reused.
    Status forget_framework_id(const std::string& name);

    // --- The producers' side (`mesoflow submit`, `kill`, `status`) -----

    // Returns the new task's id; a row the table refuses comes back as an
    // Error naming the violated constraint.
    Result<std::int64_t> insert_task(const NewTask& task);
    // Queues every task `next` yields in one transaction, streamed through
    // COPY: all of them, or none when one is refused (by the source or by
    // the table; the Error starts with "line N: " for the task's line).
    // Columns a task leaves unset take the same defaults as insert_task's.
    // skip_existing: a key already queued (or earlier in the same source)
    // is skipped and counted, instead of failing the whole submit.
    Result<BulkResult> insert_tasks(const BulkSource& next, bool skip_existing);
    // Sets kill_requested; returns the task's state after the request
    // (killed at once when it was still pending), nullopt for an unknown key.
    Result<std::optional<task::TaskState>> request_kill(const std::string& key);
    Result<std::optional<TaskRow>> find_task(const std::string& key);
    Result<std::vector<TaskRow>> list_tasks(const TaskFilter& filter);
    Result<std::vector<HistoryEntry>> task_history(std::int64_t task_id);

    // --- Queues (`mesoflow queue`, `status`) ----------------------------

    // Every queue with a settings row or a task that has not ended, by name.
    Result<std::vector<QueueSummary>> queue_summaries(
        std::int64_t per_queue_up_to = kExactPendingPerQueueUpTo);
    // Creates the queue's settings row or changes it; an Error names the
    // rule a value breaks.
    Result<QueueSettings> set_queue(const QueueChange& change);
    // Deletes the settings row (its tasks stay, under the defaults); false
    // when there was none.
    Result<bool> delete_queue(const std::string& name);
    // Why the task waits, if it has not launched yet (nullopt otherwise).
    Result<std::optional<PendingReason>> pending_reason(std::int64_t task_id);
    // The tasks not launched yet, by queue and reason. Reads every pending
    // row (in the queue summaries): for a low rate (metrics, the CLI, the
    // status page).
    Result<std::vector<ReasonCount>> pending_reason_counts();
    // The same from queue summaries just read: only the claimed rows' own
    // reasons are read.
    Result<std::vector<ReasonCount>> pending_reason_counts(const std::vector<QueueSummary>& queues);

  private:
    // Learns the codes (mesoflow.agent_codes) of the agents this process
    // has not asked about yet, numbering the new ones, so that history rows
    // store a number, not the id. An agent without a code is written as
    // text: a refusal (a role without INSERT on the table) is logged and not
    // asked again on that connection; a lost connection fails the call, as
    // the write would.
    Status number_agents(const std::vector<std::string>& agents);
    Status number_agents(const std::vector<LaunchRecord>& placements);

    std::unique_ptr<Database> db_;
    std::optional<Fence> fence_;
    // Agent id -> code; 0: asked, no code (not asked again). Learnt on the
    // connection codes_generation_ counts (Database::generation).
    std::unordered_map<std::string, int> agent_codes_;
    std::uint64_t codes_generation_ = 0;
};

}  // namespace mesoflow::store
