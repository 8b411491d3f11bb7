#include "mesoflow/scheduler/kill_tracker.hpp"

namespace mesoflow::scheduler {

bool KillTracker::should_send(const std::string& task_id, TimePoint now) {
    auto it = sent_.find(task_id);
    if (it != sent_.end() && now - it->second < retry_)
        return false;
    sent_[task_id] = now;
    return true;
}

}  // namespace mesoflow::scheduler
