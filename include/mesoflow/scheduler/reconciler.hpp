// Reconciler: task reconciliation as docs/reconciliation.md asks. Pure; time
// is passed in.
//
// Explicit: after every (re)subscription the runtime starts a round with the
// live attempts (start), page by page if need be (add); the Reconciler answers
// with RECONCILE calls of at most `chunk` tasks. Any update for a task
// (observe) settles it. tick() re-sends, for the tasks still unanswered, with
// truncated exponential back-off (backoff_min, doubling, at most backoff_max).
// One round at a time: start() replaces a round in progress.
//
// Implicit: one RECONCILE with no tasks (the master reports every task it
// knows, so strays can be killed) is due when an explicit round ends, and
// every implicit_interval after the last one (implicit_due /
// mark_implicit_sent).
//
// Calls carry the framework id given to start().
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/scheduler/task_ref.hpp"

namespace mesoflow::scheduler {

inline constexpr std::size_t kReconcileChunk = 1000;

struct ReconcilerOptions {
    std::chrono::milliseconds backoff_min{10'000};
    std::chrono::milliseconds backoff_max{600'000};
    std::chrono::milliseconds implicit_interval{900'000};
    std::size_t chunk = kReconcileChunk;  // tasks per RECONCILE call
};

class Reconciler {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit Reconciler(ReconcilerOptions options = {});

    // A new round: forgets any earlier one.
    std::vector<mesos::Call> start(const std::string& framework_id,
                                   const std::vector<TaskRef>& tasks, TimePoint now);
    // More tasks for the round in progress (the next page).
    std::vector<mesos::Call> add(const std::vector<TaskRef>& tasks, TimePoint now);
    // add() for callers that pass the framework id each time; starts a round
    // if none is in progress.
    std::vector<mesos::Call> add(const std::vector<TaskRef>& tasks, TimePoint now,
                                 const std::string& framework_id);
    // An update arrived for this task.
    void observe(const std::string& task_id);
    // RECONCILE calls for the tasks still unanswered, once the back-off is over.
    std::vector<mesos::Call> tick(TimePoint now);
    std::vector<mesos::Call> tick(TimePoint now, const std::string& framework_id);
    // Forgets the round (the subscription is gone; the next one starts anew).
    void reset();

    bool in_progress() const { return !waiting_.empty(); }
    std::size_t outstanding() const { return waiting_.size(); }
    // When tick() will next have calls; nullopt: no round in progress.
    std::optional<TimePoint> deadline() const;

    bool implicit_due(TimePoint now) const;
    void mark_implicit_sent(TimePoint now);

  private:
    std::vector<mesos::Call> calls_for(const std::vector<TaskRef>& tasks) const;

    ReconcilerOptions options_;
    std::string framework_id_;
    std::chrono::milliseconds backoff_;
    TimePoint next_{};
    std::unordered_map<std::string, std::string> waiting_;  // task id -> agent id
    bool implicit_after_round_ = false;
    std::optional<TimePoint> last_implicit_;
};

}  // namespace mesoflow::scheduler
