#include "mesoflow/scheduler/reconciler.hpp"

#include <algorithm>

#include "mesoflow/scheduler/calls.hpp"

namespace mesoflow::scheduler {

Reconciler::Reconciler(Duration backoff_min, Duration backoff_max)
    : backoff_min_(backoff_min), backoff_max_(backoff_max), backoff_(backoff_min) {}

void Reconciler::reset() {
    waiting_.clear();
    backoff_ = backoff_min_;
}

std::vector<mesos::Call> Reconciler::add(const std::vector<TaskRef>& tasks, TimePoint now,
                                         const std::string& framework_id) {
    if (waiting_.empty()) {
        backoff_ = backoff_min_;
        next_ = now + backoff_;
    }
    for (const auto& t : tasks)
        waiting_[t.task_id] = t.agent_id;
    return calls_for(tasks, framework_id);
}

void Reconciler::observe(const std::string& task_id) {
    waiting_.erase(task_id);
}

std::vector<mesos::Call> Reconciler::tick(TimePoint now, const std::string& framework_id) {
    if (waiting_.empty() || now < next_)
        return {};
    backoff_ = std::min(backoff_ * 2, backoff_max_);
    next_ = now + backoff_;
    std::vector<TaskRef> again;
    again.reserve(waiting_.size());
    for (const auto& [task, agent] : waiting_)
        again.push_back({task, agent});
    std::sort(again.begin(), again.end(),
              [](const TaskRef& a, const TaskRef& b) { return a.task_id < b.task_id; });
    return calls_for(again, framework_id);
}

std::vector<mesos::Call> Reconciler::calls_for(const std::vector<TaskRef>& tasks,
                                               const std::string& framework_id) const {
    std::vector<mesos::Call> calls;
    for (std::size_t i = 0; i < tasks.size(); i += kReconcileChunk) {
        std::vector<mesos::Call::Reconcile::Task> chunk;
        for (std::size_t k = i; k < std::min(tasks.size(), i + kReconcileChunk); ++k) {
            mesos::Call::Reconcile::Task t;
            t.task_id = tasks[k].task_id;
            if (!tasks[k].agent_id.empty())
                t.agent_id = tasks[k].agent_id;
            chunk.push_back(std::move(t));
        }
        calls.push_back(make_reconcile(framework_id, std::move(chunk)));
    }
    return calls;
}

}  // namespace mesoflow::scheduler
