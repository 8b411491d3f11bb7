// Metrics: counters and gauges the runtime updates on its event loop and the
// admin endpoint reads from its own thread. Plain relaxed atomics: each value
// is exact on its own; a scrape is not a consistent snapshot across values,
// which Prometheus does not need.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesoflow/common/latency_histogram.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow {

// One queue at the last look: its settings, what its placed tasks hold and
// its tasks not launched yet by reason (mesoflow.pending_reasons).
struct QueueGauges {
    std::string queue;
    double weight = 1;
    std::optional<int> max_running;
    std::int64_t placed = 0;  // placed, not ended
    double cpus = 0;
    double mem_mb = 0;
    double gpus = 0;
    std::vector<std::pair<std::string, std::int64_t>> pending_by_reason;
};

struct Metrics {
    using Counter = std::atomic<std::uint64_t>;
    using Gauge = std::atomic<std::int64_t>;

    Counter offers_received{0};
    Counter offers_declined{0};
    Counter offers_rescinded{0};
    Counter tasks_launched{0};
    Counter tasks_claimed{0};    // attempts claimed ahead of offers
    Counter claim_batches{0};    // claims that answered
    Counter claims_released{0};  // claimed attempts given back unlaunched
    Counter claims_given_up{0};  // claims whose row ended, changed or went before placement
    Counter updates_received{0};
    Counter updates_applied{0};
    Counter updates_ignored{0};  // duplicates, stale and unknown
    Counter acks_sent{0};
    Counter kills_sent{0};
    Counter reconcile_calls{0};
    Counter calls_failed{0};  // non-2xx answers and transport errors
    Counter subscriptions{0};
    Counter disconnects{0};
    Counter db_errors{0};
    // Status updates and placements a database refused for good, dropped
    // unacknowledged (updates are redelivered by Mesos; placements killed).
    Counter updates_quarantined{0};
    Counter master_changes{0};        // leading masters ZooKeeper named, the first included
    Counter kill_scans{0};            // housekeeping scans finished (kills, timeouts, unreachable)
    Counter unreachable_replaced{0};  // attempts out of reach past unreachable_grace_period
    // Status updates and placements a batch skipped because another session
    // held their task's row; kept back unacknowledged and tried again.
    Counter updates_row_locked{0};
    Counter leadership_terms{0};  // times this process took leadership
    Counter leadership_lost{0};   // times it lost it (lease, lock, fence, failed over)
    Counter db_batches{0};
    Counter db_time_us{0};         // total time spent in database batches
    Counter loop_lag_us_total{0};  // event-loop lag, summed over samples
    Counter loop_lag_samples{0};

    Gauge subscribed{0};
    Gauge leader{0};
    Gauge database_up{0};
    // While leading: when this process took leadership, the epoch it holds,
    // and until when its lease is valid (wall clock, microseconds; 0 when
    // not leading). The lease's length, always.
    Gauge leader_since_us{0};
    Gauge standby{0};  // 1 while another process holds the leader lock
    Gauge leader_epoch{0};
    Gauge lease_valid_until_us{0};
    Gauge lease_ms{0};
    // master = zk://...: 1 while ZooKeeper answers, 0 while it does not; -1
    // when the masters are listed. master_detected: 1 while ZooKeeper's last
    // word named a usable leading master.
    Gauge zookeeper_up{-1};
    Gauge master_detected{0};
    Gauge queue_pending{-1};  // pending tasks at the last look, -1 before the first
    Gauge offers_held{0};
    Gauge claims_held{0};      // claimed attempts waiting for an offer
    Gauge launch_window{0};    // the launch window's size now (it adapts)
    Gauge updates_waiting{0};  // received, not yet committed
    // Update lanes with work and no commit for scheduler::kLaneStuckAfter.
    Gauge update_lanes_stuck{0};
    // The longest time any lane has had work without a commit (0: none waits).
    Gauge update_lane_stall_us{0};
    Gauge loop_lag_us_max{0};
    Gauge suppressed{0};
    // Tasks by state at the last count, indexed by task::TaskState.
    std::array<Gauge, 11> tasks_by_state{};

    // mesoflow's own latencies, from the moment a record is read off the
    // event stream to the moment the answering call is written on a socket.
    LatencyHistogram offer_to_accept;    // per offer: received (or its task inserted) -> ACCEPT
    LatencyHistogram offer_to_decline;   // per offer: received -> DECLINE
    LatencyHistogram update_to_commit;   // per status update: received -> its batch committed
    LatencyHistogram update_to_ack;      // per status update: received -> ACKNOWLEDGE
    LatencyHistogram update_batch_time;  // per batch: apply_updates, BEGIN to COMMIT

    // The queues, replaced whole at each look (a mutex, not atomics: a
    // list of names).
    void set_queues(std::vector<QueueGauges> queues) {
        std::lock_guard lock(queues_mutex_);
        queues_ = std::move(queues);
    }
    std::vector<QueueGauges> queues() const {
        std::lock_guard lock(queues_mutex_);
        return queues_;
    }

  private:
    mutable std::mutex queues_mutex_;
    std::vector<QueueGauges> queues_;
};

// The latency histograms, as /state names them (`key`, in its "latency"
// object) and as /metrics does (mesoflow_<metric>_seconds).
struct LatencyView {
    std::string_view key;
    std::string_view metric;
    std::string_view help;
    LatencyHistogram Metrics::*histogram;
};

inline constexpr LatencyView kLatencyViews[] = {
    {"offer_to_accept", "offer_decision",
     "Offer read off the event stream (or its newest task inserted, if later) to its ACCEPT "
     "written, per offer.",
     &Metrics::offer_to_accept},
    {"offer_to_decline", "offer_decline",
     "Offer read off the event stream to its DECLINE written, per offer.",
     &Metrics::offer_to_decline},
    {"update_to_commit", "status_update_commit",
     "Status update read off the event stream to its batch committed.", &Metrics::update_to_commit},
    {"update_to_ack", "status_update_ack",
     "Status update read off the event stream to its ACKNOWLEDGE written.",
     &Metrics::update_to_ack},
    {"update_batch", "status_update_batch", "One batch of status updates, BEGIN to COMMIT.",
     &Metrics::update_batch_time},
};

}  // namespace mesoflow
