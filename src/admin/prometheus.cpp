#include "mesoflow/admin/prometheus.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "mesoflow/task/task.hpp"

namespace mesoflow::admin {
namespace {

constexpr double kMicrosPerSecond = 1e6;

struct CounterRow {
    std::string_view name;
    std::string_view help;
    Metrics::Counter Metrics::*value;
};

struct GaugeRow {
    std::string_view name;
    std::string_view help;
    Metrics::Gauge Metrics::*value;
};

// Counters as mesoflow_<name>_total.
constexpr CounterRow kCounters[] = {
    {"offers_received", "Offers received from the master.", &Metrics::offers_received},
    {"offers_declined", "Offers declined (nothing to launch on them, or kept too long).",
     &Metrics::offers_declined},
    {"offers_rescinded", "Offers the master took back.", &Metrics::offers_rescinded},
    {"tasks_launched", "Task attempts launched (claimed, then sent in ACCEPT).",
     &Metrics::tasks_launched},
    {"claim_batches", "Claims of pending tasks that answered (each one query).",
     &Metrics::claim_batches},
    {"tasks_claimed", "Task attempts claimed from the queue ahead of offers.",
     &Metrics::tasks_claimed},
    {"claims_released", "Claimed attempts given back unlaunched (stop, kill).",
     &Metrics::claims_released},
    {"claims_given_up",
     "Claimed attempts given up at placement: the row ended, was killed, changed or was "
     "deleted meanwhile.",
     &Metrics::claims_given_up},
    {"status_updates_received", "Status updates received from the master.",
     &Metrics::updates_received},
    {"status_updates_applied", "Status updates that changed a task in the database.",
     &Metrics::updates_applied},
    {"status_updates_ignored", "Status updates that changed nothing (duplicate, stale, unknown).",
     &Metrics::updates_ignored},
    {"acknowledgements_sent", "Status updates acknowledged after their commit.",
     &Metrics::acks_sent},
    {"kills_sent", "KILL calls sent (kill requests and timeouts).", &Metrics::kills_sent},
    {"reconcile_calls", "RECONCILE calls sent.", &Metrics::reconcile_calls},
    {"calls_failed", "Calls the master refused or that failed on the way.", &Metrics::calls_failed},
    {"subscriptions", "Successful subscriptions (SUBSCRIBED events).", &Metrics::subscriptions},
    {"disconnects", "Subscription streams lost; each is followed by a reconnection.",
     &Metrics::disconnects},
    {"db_errors", "Database batches that failed and were retried.", &Metrics::db_errors},
    {"master_changes", "Leading masters ZooKeeper named (master = zk://), the first included.",
     &Metrics::master_changes},
    {"kill_scans", "Housekeeping scans finished (kill requests, timeouts, unreachable attempts).",
     &Metrics::kill_scans},
    {"unreachable_replaced",
     "Attempts replaced because their agent stayed out of reach past unreachable_grace_period.",
     &Metrics::unreachable_replaced},
    {"updates_quarantined",
     "Status updates and placements the database refused for good: logged, never acknowledged.",
     &Metrics::updates_quarantined},
    {"leadership_terms", "Times this process took leadership of the framework.",
     &Metrics::leadership_terms},
    {"leadership_lost",
     "Times this process lost leadership (lease run out, lock connection lost, fenced by a new "
     "leader, failed over); it stays up and stands by.",
     &Metrics::leadership_lost},
    {"updates_row_locked",
     "Status updates and placements skipped because another session held or changed their "
     "task's row; "
     "kept back unacknowledged and tried again.",
     &Metrics::updates_row_locked},
};

constexpr GaugeRow kGauges[] = {
    {"subscribed", "1 while subscribed to a master.", &Metrics::subscribed},
    {"leader", "1 while this process holds the framework's leader lock.", &Metrics::leader},
    {"database_up", "1 when the last database batch succeeded.", &Metrics::database_up},
    {"standby", "1 while another mesoflow holds the leader lock and this one stands by.",
     &Metrics::standby},
    {"leader_epoch", "The leadership epoch this process holds (0 when not leading).",
     &Metrics::leader_epoch},
    {"zookeeper_up",
     "master = zk://: 1 while ZooKeeper answers, 0 while it does not; -1 when the masters are "
     "listed.",
     &Metrics::zookeeper_up},
    {"master_detected", "1 while ZooKeeper's last word named a usable leading master.",
     &Metrics::master_detected},
    {"offers_held", "Offers held, neither accepted nor declined yet.", &Metrics::offers_held},
    {"claims_held", "Claimed attempts waiting for an offer.", &Metrics::claims_held},
    {"launch_window",
     "The launch window's size now (it adapts between launch_window and "
     "launch_window_max).",
     &Metrics::launch_window},
    {"status_updates_waiting", "Status updates received and not yet committed.",
     &Metrics::updates_waiting},
    {"offers_suppressed", "1 while offers are suppressed (nothing pending).", &Metrics::suppressed},
    {"update_lanes_stuck",
     "Update lanes with status updates or placements waiting and no commit for 30 s.",
     &Metrics::update_lanes_stuck},
};

constexpr std::size_t kTaskStates = 11;
static_assert(std::tuple_size_v<decltype(Metrics::tasks_by_state)> == kTaskStates);
static_assert(static_cast<std::size_t>(task::TaskState::error) + 1 == kTaskStates);

std::string escape_label(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP mesoflow_{} {}\n# TYPE mesoflow_{} {}\n", name, help, name, type);
}

// Per queue (names escaped as label values): settings, what its placed
// tasks hold, and its tasks not launched yet by reason.
void render_queues(std::string& out, const std::vector<QueueGauges>& queues) {
    if (queues.empty())
        return;
    header(out, "queue_weight", "gauge", "Each queue's weight (README \"Queues\").");
    for (const auto& q : queues)
        out += fmt::format("mesoflow_queue_weight{{queue=\"{}\"}} {}\n", escape_label(q.queue),
                           q.weight);
    header(out, "queue_max_running", "gauge", "Each capped queue's max_running.");
    for (const auto& q : queues) {
        if (q.max_running)
            out += fmt::format("mesoflow_queue_max_running{{queue=\"{}\"}} {}\n",
                               escape_label(q.queue), *q.max_running);
    }
    header(out, "queue_tasks_placed", "gauge",
           "Each queue's tasks placed on an agent and not ended, at the last poll.");
    for (const auto& q : queues)
        out += fmt::format("mesoflow_queue_tasks_placed{{queue=\"{}\"}} {}\n",
                           escape_label(q.queue), q.placed);
    header(out, "queue_cpus", "gauge", "CPUs each queue's placed tasks hold.");
    for (const auto& q : queues)
        out +=
            fmt::format("mesoflow_queue_cpus{{queue=\"{}\"}} {}\n", escape_label(q.queue), q.cpus);
    header(out, "queue_mem_bytes", "gauge", "Memory each queue's placed tasks hold.");
    for (const auto& q : queues)
        out += fmt::format("mesoflow_queue_mem_bytes{{queue=\"{}\"}} {}\n", escape_label(q.queue),
                           q.mem_mb * 1024 * 1024);
    header(out, "pending_tasks", "gauge",
           "Tasks not launched yet, by queue and the reason they wait (mesoflow.pending_reasons), "
           "at the last count.");
    for (const auto& q : queues) {
        for (const auto& [reason, n] : q.pending_by_reason)
            out += fmt::format("mesoflow_pending_tasks{{queue=\"{}\",reason=\"{}\"}} {}\n",
                               escape_label(q.queue), escape_label(reason), n);
    }
}

double seconds(std::uint64_t micros) {
    return static_cast<double>(micros) / kMicrosPerSecond;
}

}  // namespace

std::string render_prometheus(const Metrics& m, std::string_view version) {
    constexpr auto relaxed = std::memory_order_relaxed;
    std::string out;
    header(out, "build_info", "gauge", "The running mesoflow's version; always 1.");
    out += fmt::format("mesoflow_build_info{{version=\"{}\"}} 1\n", escape_label(version));

    header(out, "tasks", "gauge",
           "Tasks in the queue table by state, at the last poll (ended states estimated past "
           "3,000 pages of the table).");
    for (std::size_t i = 0; i < kTaskStates; ++i) {
        out += fmt::format("mesoflow_tasks{{state=\"{}\"}} {}\n",
                           task::to_string(static_cast<task::TaskState>(i)),
                           m.tasks_by_state[i].load(relaxed));
    }
    header(out, "queue_pending", "gauge",
           "Pending tasks that could launch now, at the last look (absent before the first).");
    if (const auto pending = m.queue_pending.load(relaxed); pending >= 0)
        out += fmt::format("mesoflow_queue_pending {}\n", pending);
    render_queues(out, m.queues());

    for (const auto& row : kCounters) {
        const std::string name = fmt::format("{}_total", row.name);
        header(out, name, "counter", row.help);
        out += fmt::format("mesoflow_{} {}\n", name, (m.*row.value).load(relaxed));
    }
    for (const auto& row : kGauges) {
        header(out, row.name, "gauge", row.help);
        out += fmt::format("mesoflow_{} {}\n", row.name, (m.*row.value).load(relaxed));
    }

    // Summaries without quantiles: rate(_sum) / rate(_count) is the mean.
    header(out, "db_batch_seconds", "summary", "Time spent in database batches.");
    out += fmt::format("mesoflow_db_batch_seconds_sum {}\nmesoflow_db_batch_seconds_count {}\n",
                       seconds(m.db_time_us.load(relaxed)), m.db_batches.load(relaxed));
    header(out, "update_lane_stalled_seconds", "gauge",
           "The longest time an update lane has had work waiting without a commit.");
    out += fmt::format("mesoflow_update_lane_stalled_seconds {}\n",
                       seconds(static_cast<std::uint64_t>(
                           std::max<std::int64_t>(0, m.update_lane_stall_us.load(relaxed)))));
    const auto since = m.leader_since_us.load(relaxed);
    header(out, "leader_since_seconds", "gauge",
           "When this process took leadership, in seconds since the epoch (0 when not leading).");
    out += fmt::format("mesoflow_leader_since_seconds {}\n",
                       seconds(static_cast<std::uint64_t>(std::max<std::int64_t>(0, since))));
    header(out, "leader_lease_seconds", "gauge", "The leader lease (leader_lease).");
    out += fmt::format("mesoflow_leader_lease_seconds {}\n",
                       seconds(static_cast<std::uint64_t>(m.lease_ms.load(relaxed)) * 1000));
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto until = m.lease_valid_until_us.load(relaxed);
    header(
        out, "leader_lease_remaining_seconds", "gauge",
        "How long this leader's lease stays valid without another renewal (0 when not leading).");
    out += fmt::format("mesoflow_leader_lease_remaining_seconds {}\n",
                       seconds(static_cast<std::uint64_t>(
                           until > 0 ? std::max<std::int64_t>(0, until - now_us) : 0)));
    header(out, "event_loop_lag_seconds", "summary",
           "How late the event loop ran a timer it had set, per sample.");
    out += fmt::format(
        "mesoflow_event_loop_lag_seconds_sum {}\nmesoflow_event_loop_lag_seconds_count {}\n",
        seconds(m.loop_lag_us_total.load(relaxed)), m.loop_lag_samples.load(relaxed));
    for (const auto& row : kLatencyViews) {
        const std::string name = fmt::format("{}_seconds", row.metric);
        const LatencyHistogram& h = m.*row.histogram;
        // Count first: the buckets may only run ahead of it, never behind,
        // and +Inf must not be below the last finite bucket.
        const auto count = h.count();
        const auto sum = h.sum_us();
        header(out, name, "histogram", row.help);
        std::uint64_t below = 0;
        for (const auto edge : kPrometheusBucketsUs) {
            below = std::max(below, h.count_at_most(edge));
            out += fmt::format("mesoflow_{}_bucket{{le=\"{}\"}} {}\n", name, seconds(edge),
                               std::min(below, count));
        }
        out += fmt::format(
            "mesoflow_{}_bucket{{le=\"+Inf\"}} {}\nmesoflow_{}_sum {}\n"
            "mesoflow_{}_count {}\n",
            name, count, name, seconds(sum), name, count);
    }
    header(out, "event_loop_lag_max_seconds", "gauge", "The largest event-loop lag sampled.");
    const auto lag_max = m.loop_lag_us_max.load(relaxed);
    out += fmt::format("mesoflow_event_loop_lag_max_seconds {}\n",
                       seconds(lag_max < 0 ? 0 : static_cast<std::uint64_t>(lag_max)));
    return out;
}

}  // namespace mesoflow::admin
