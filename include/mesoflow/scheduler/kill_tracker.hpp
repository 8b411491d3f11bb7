// KillTracker: which KILLs were sent when. Pure; time is passed in. A KILL
// is re-sent while the task stays alive, at most once per retry interval
// (the master drops a KILL for a task it does not know yet, and an agent may
// be slow to act); forget() ends tracking once the task is terminal.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

namespace mesoflow::scheduler {

inline constexpr std::chrono::milliseconds kKillRetryInterval{5000};

class KillTracker {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit KillTracker(std::chrono::milliseconds retry = kKillRetryInterval) : retry_(retry) {}

    // True (and remembered) when a KILL for this task should go out now.
    bool should_send(const std::string& task_id, TimePoint now);
    void forget(const std::string& task_id) { sent_.erase(task_id); }
    std::size_t tracked() const { return sent_.size(); }

  private:
    std::chrono::milliseconds retry_;
    std::unordered_map<std::string, TimePoint> sent_;
};

}  // namespace mesoflow::scheduler
