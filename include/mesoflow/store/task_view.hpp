// What `mesoflow status` reads: a task row with its state columns, a filter
// for listing tasks, and one entry of a task's history. Plain values; times
// are microseconds since the epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesoflow/task/task.hpp"

namespace mesoflow::store {

struct TaskRow {
    std::int64_t id = 0;
    std::string key;
    task::TaskState state = task::TaskState::pending;
    int attempt = 0;
    int max_attempts = 0;
    int priority = 0;
    std::optional<std::string> command;
    std::vector<std::string> argv;
    std::string image;
    task::Containerizer containerizer = task::Containerizer::none;
    std::vector<task::Volume> volumes;
    task::NetworkMode network = task::NetworkMode::unset;
    std::string network_name;
    std::vector<std::pair<std::string, std::string>> docker_parameters;
    double cpus = 0;
    double mem_mb = 0;
    double disk_mb = 0;
    double gpus = 0;
    int ports = 0;
    std::optional<double> timeout_s;
    bool kill_requested = false;
    bool timed_out = false;
    // Empty when the column is NULL.
    std::string mesos_task_id;
    std::string agent_id;
    std::string hostname;
    std::string message;
    std::string reason;
    std::string source;
    std::optional<int> exit_status;
    std::optional<bool> healthy;
    std::int64_t created_at_us = 0;
    std::int64_t updated_at_us = 0;
    std::int64_t not_before_us = 0;
    std::optional<std::int64_t> launched_at_us;
    std::optional<std::int64_t> started_at_us;
    std::optional<std::int64_t> finished_at_us;
    std::string queue;
};

// Newest first. Page with before_id = the smallest id of the previous page.
struct TaskFilter {
    std::vector<task::TaskState> states;  // empty: every state
    std::string key_prefix;               // empty: every key
    std::string queue;                    // empty: every queue
    std::int64_t before_id = 0;           // 0: from the newest
    int limit = 100;
};

struct HistoryEntry {
    std::int64_t id = 0;
    std::int64_t recorded_at_us = 0;
    std::string kind;  // launch | update | kill_requested | timed_out | refused
    std::optional<int> attempt;
    // Empty when the column is NULL.
    std::string mesos_task_id;
    std::string mesos_state;  // TASK_* for updates
    std::string
        outcome;  // applied | duplicate | stale | stale_attempt_alive | unknown_task | unsettled
    std::string from_state;
    std::string to_state;
    std::string reason;
    std::string source;
    std::string message;
    std::string agent_id;
    std::string executor_id;
    std::string uuid;
    std::string note;
    std::optional<bool> healthy;
    std::optional<std::int64_t> status_time_us;
};

// A queue's settings and its placed, unfinished tasks: every queue with a
// row in mesoflow.queues or such a task.
struct QueueUsage {
    std::string queue;
    double weight = 1;
    std::optional<int> max_running;
    std::int64_t active = 0;
    double cpus = 0;
    double mem_mb = 0;
    double disk_mb = 0;
    double gpus = 0;
};

// A queue's row in mesoflow.queues. Unset optionals are NULL: no cap, no
// default.
struct QueueSettings {
    std::string name;
    double weight = 1;
    std::optional<int> max_running;
    std::optional<double> cpus;
    std::optional<double> mem_mb;
    std::optional<double> disk_mb;
    std::optional<double> gpus;
    std::optional<std::string> role;
    std::optional<std::vector<task::Constraint>> constraints;
    std::optional<std::string> image;
};

// What `mesoflow queue set` changes: an outer nullopt keeps the setting, an
// inner one clears it (the weight back to 1).
struct QueueChange {
    std::string name;
    std::optional<std::optional<double>> weight;
    std::optional<std::optional<int>> max_running;
    std::optional<std::optional<double>> cpus;
    std::optional<std::optional<double>> mem_mb;
    std::optional<std::optional<double>> disk_mb;
    std::optional<std::optional<double>> gpus;
    std::optional<std::optional<std::string>> role;
    std::optional<std::optional<std::vector<task::Constraint>>> constraints;
    std::optional<std::optional<std::string>> image;
};

// A queue with its settings (configured: it has a row) and its tasks that
// have not ended, by where they stand.
struct QueueSummary {
    QueueSettings settings;
    bool configured = false;
    std::int64_t pending = 0;  // due now
    std::int64_t backoff = 0;  // pending, not before a later time (retry back-off)
    // pending and backoff were counted over the queue's first
    // kExactPendingPerQueueUpTo rows (its claim order): the queue holds at
    // least that many, and the two are lower bounds.
    bool capped = false;
    std::int64_t claimed = 0;   // claimed, waiting for an offer
    std::int64_t launched = 0;  // placed, not running yet
    std::int64_t running = 0;
    std::int64_t killing = 0;
    // Resources of its launched, unfinished tasks (claimed ones included).
    double cpus = 0;
    double mem_mb = 0;
    double disk_mb = 0;
    double gpus = 0;

    std::int64_t active() const { return claimed + launched + running + killing; }
};

// Why a task that has not launched yet waits (mesoflow.pending_reasons).
struct PendingReason {
    std::string reason;  // retry_backoff, queue_at_max_running, in_line, claimed, no_offers,
                         // unplaceable, launch_window_full
    std::string detail;
};

struct ReasonCount {
    std::string queue;
    std::string reason;
    std::int64_t tasks = 0;
};

// The pending rows at one look: how many could launch now (not those of a
// queue at its max_running), the earliest not_before of those still in
// retry back-off, and how many there are in all.
struct PendingLook {
    std::int64_t due = 0;
    std::optional<std::int64_t> next_retry_us;
    std::int64_t total = 0;  // every pending row, due or not
    // A queue holds more than kExactPendingPerQueueUpTo pending rows: total
    // is the table's statistics' estimate (never less than the rows read).
    bool total_estimated = false;
};

struct StateCount {
    task::TaskState state = task::TaskState::pending;
    std::int64_t count = 0;
    // The planner's estimate rather than a count: ended states of a table
    // past kExactEndedPagesUpTo pages, pending ones past kExactPendingPerQueueUpTo
    // in a queue (live ones are always counted).
    bool estimated = false;
};

// Ended rows are counted exactly while the table has at most this many
// pages (of 8 kB: 24 MB), and estimated beyond (from the table's
// statistics): counting them reads the whole table, and its cost is its
// pages. Measured: 9,091 pages (100,000 rows at the 70% of each page the
// table keeps free) took 124-168 ms, a million rows 0.8-4.5 s; and the
// runtime counts on every poll.
inline constexpr std::int64_t kExactEndedPagesUpTo = 3000;

// Pending rows are read up to this many per queue (its first, in claim
// order, from the pending index alone); a queue holding more is reported as
// holding at least that many (QueueSummary::capped, PendingLook): a pass
// over a million pending rows took 0.3-0.5 s, and the runtime's poll made
// one every poll_interval. Until the table is vacuumed after a bulk insert,
// each row read is also a visit to the table: 100,000 of them took
// 100-600 ms, 10,000 take 5-25 ms.
inline constexpr std::int64_t kExactPendingPerQueueUpTo = 10000;

}  // namespace mesoflow::store
