#include "mesoflow/scheduler/kill_tracker.hpp"

#include <algorithm>

#include "mesoflow/scheduler/calls.hpp"

namespace mesoflow::scheduler {

bool KillTracker::should_send(const TaskRef& task, TimePoint now) {
    auto [it, fresh] = sent_.try_emplace(task.task_id, Sent{task.agent_id, now});
    if (fresh)
        return true;
    if (!task.agent_id.empty())
        it->second.agent_id = task.agent_id;
    if (now - it->second.at < retry_)
        return false;
    it->second.at = now;
    return true;
}

bool KillTracker::should_send(const std::string& task_id, TimePoint now) {
    return should_send(TaskRef{task_id, {}}, now);
}

std::vector<mesos::Call> KillTracker::due(TimePoint now, const std::string& framework_id) {
    std::vector<std::pair<const std::string*, Sent*>> ready;
    for (auto& [task, sent] : sent_) {
        if (now - sent.at >= retry_)
            ready.emplace_back(&task, &sent);
    }
    std::sort(ready.begin(), ready.end(),
              [](const auto& a, const auto& b) { return *a.first < *b.first; });
    std::vector<mesos::Call> calls;
    calls.reserve(ready.size());
    for (auto& [task, sent] : ready) {
        sent->at = now;
        calls.push_back(make_kill(
            framework_id, *task,
            sent->agent_id.empty() ? std::nullopt : std::optional<std::string>(sent->agent_id)));
    }
    return calls;
}

std::optional<KillTracker::TimePoint> KillTracker::deadline() const {
    std::optional<TimePoint> next;
    for (const auto& [task, sent] : sent_) {
        if (!next || sent.at + retry_ < *next)
            next = sent.at + retry_;
    }
    return next;
}

}  // namespace mesoflow::scheduler
