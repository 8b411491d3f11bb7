// Reconciler: explicit task reconciliation as docs/reconciliation.md asks.
// Pure; time is passed in.
//
// After every (re)subscription the runtime feeds it the live attempts, page
// by page (add); it answers with RECONCILE calls of at most
// kReconcileChunk tasks. Any update for a task (observe) settles it. tick()
// re-sends for tasks still unanswered, with truncated exponential back-off
// (min, doubling, max). reset() forgets a round (a new subscription starts
// a new one).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mesoflow/mesos/types.hpp"

namespace mesoflow::scheduler {

inline constexpr std::size_t kReconcileChunk = 1000;

struct TaskRef {
    std::string task_id;
    std::string agent_id;  // empty: unknown
};

class Reconciler {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;
    using Duration = std::chrono::milliseconds;

    explicit Reconciler(Duration backoff_min = Duration(10000),
                        Duration backoff_max = Duration(600000));

    void reset();
    std::vector<mesos::Call> add(const std::vector<TaskRef>& tasks, TimePoint now,
                                 const std::string& framework_id);
    void observe(const std::string& task_id);
    std::vector<mesos::Call> tick(TimePoint now, const std::string& framework_id);
    std::size_t outstanding() const { return waiting_.size(); }

  private:
    std::vector<mesos::Call> calls_for(const std::vector<TaskRef>& tasks,
                                       const std::string& framework_id) const;
    Duration backoff_min_;
    Duration backoff_max_;
    Duration backoff_;
    TimePoint next_;
    std::unordered_map<std::string, std::string> waiting_;  // task id -> agent id
};

}  // namespace mesoflow::scheduler
