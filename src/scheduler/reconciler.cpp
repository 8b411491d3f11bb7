#include "mesoflow/scheduler/reconciler.hpp"

#include <algorithm>

#include "mesoflow/scheduler/calls.hpp"

namespace mesoflow::scheduler {

Reconciler::Reconciler(ReconcilerOptions options)
    : options_(options), backoff_(options.backoff_min) {
    options_.chunk = std::max<std::size_t>(options_.chunk, 1);
}

void Reconciler::reset() {
    waiting_.clear();
    backoff_ = options_.backoff_min;
    next_ = TimePoint{};
}

std::vector<mesos::Call> Reconciler::start(const std::string& framework_id,
                                           const std::vector<TaskRef>& tasks, TimePoint now) {
    reset();
    framework_id_ = framework_id;
    implicit_after_round_ = true;
    if (!last_implicit_)
        last_implicit_ = now;
    return add(tasks, now);
}

std::vector<mesos::Call> Reconciler::add(const std::vector<TaskRef>& tasks, TimePoint now) {
    if (tasks.empty())
        return {};
    // A page sent now is not asked about again before a full back-off.
    next_ = std::max(next_, now + backoff_);
    for (const auto& t : tasks)
        waiting_[t.task_id] = t.agent_id;
    return calls_for(tasks);
}

std::vector<mesos::Call> Reconciler::add(const std::vector<TaskRef>& tasks, TimePoint now,
                                         const std::string& framework_id) {
    if (!in_progress() || framework_id != framework_id_)
        return start(framework_id, tasks, now);
    return add(tasks, now);
}

void Reconciler::observe(const std::string& task_id) {
    waiting_.erase(task_id);
}

std::vector<mesos::Call> Reconciler::tick(TimePoint now) {
    if (waiting_.empty() || now < next_)
        return {};
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
    next_ = now + backoff_;
    std::vector<TaskRef> again;
    again.reserve(waiting_.size());
    for (const auto& [task, agent] : waiting_)
        again.push_back({task, agent});
    std::sort(again.begin(), again.end(),
              [](const TaskRef& a, const TaskRef& b) { return a.task_id < b.task_id; });
    return calls_for(again);
}

std::vector<mesos::Call> Reconciler::tick(TimePoint now, const std::string& framework_id) {
    framework_id_ = framework_id;
    return tick(now);
}

std::optional<Reconciler::TimePoint> Reconciler::deadline() const {
    if (waiting_.empty())
        return std::nullopt;
    return next_;
}

bool Reconciler::implicit_due(TimePoint now) const {
    const bool interval_over =
        last_implicit_ && now - *last_implicit_ >= options_.implicit_interval;
    if (in_progress())
        return interval_over;
    return implicit_after_round_ || interval_over;
}

void Reconciler::mark_implicit_sent(TimePoint now) {
    implicit_after_round_ = false;
    last_implicit_ = now;
}

std::vector<mesos::Call> Reconciler::calls_for(const std::vector<TaskRef>& tasks) const {
    std::vector<mesos::Call> calls;
    for (std::size_t i = 0; i < tasks.size(); i += options_.chunk) {
        std::vector<mesos::Call::Reconcile::Task> chunk;
        const std::size_t end = std::min(tasks.size(), i + options_.chunk);
        chunk.reserve(end - i);
        for (std::size_t k = i; k < end; ++k) {
            mesos::Call::Reconcile::Task t;
            t.task_id = tasks[k].task_id;
            if (!tasks[k].agent_id.empty())
                t.agent_id = tasks[k].agent_id;
            chunk.push_back(std::move(t));
        }
        calls.push_back(make_reconcile(framework_id_, std::move(chunk)));
    }
    return calls;
}

}  // namespace mesoflow::scheduler
