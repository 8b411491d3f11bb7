#include "mesoflow/scheduler/kill_scan.hpp"

#include <algorithm>

namespace mesoflow::scheduler {

KillScanSplit split_kill_scan(const std::vector<task::LiveAttempt>& requested,
                              std::vector<task::TaskSpec>& claimed, KillTracker& tracker,
                              KillTracker::TimePoint now) {
    KillScanSplit out;
    for (const auto& t : requested) {
        const auto waiting = std::find_if(claimed.begin(), claimed.end(), [&](const auto& s) {
            return s.id == t.task_id && s.attempt + 1 == t.attempt;
        });
        if (waiting != claimed.end()) {
            out.release.push_back({t.task_id, t.attempt});
            claimed.erase(waiting);
            continue;
        }
        if (tracker.should_send(t.mesos_task_id, now))
            out.kill.push_back(t);
    }
    return out;
}

}  // namespace mesoflow::scheduler
