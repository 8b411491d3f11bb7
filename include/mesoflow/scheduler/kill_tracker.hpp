// KillTracker: which KILLs were sent when. Pure; time is passed in.
//
// A KILL is re-sent while the task stays alive, once per retry interval: the
// master drops a KILL for a task it has not seen yet, and a KILL to an agent
// that is away only lands when it comes back. should_send() records a KILL
// the caller is about to send; due() hands back the KILLs to send again;
// forget() ends tracking once the task is terminal (or retried).
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

inline constexpr std::chrono::milliseconds kKillRetryInterval{5000};

class KillTracker {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit KillTracker(std::chrono::milliseconds retry = kKillRetryInterval) : retry_(retry) {}

    // True (and recorded as sent now) when a KILL for this task should go out
    // now: never sent, or sent at least a retry interval ago.
    bool should_send(const TaskRef& task, TimePoint now);
    bool should_send(const std::string& task_id, TimePoint now);
    // KILLs of tracked tasks last sent a retry interval ago or more, by task
    // id; each is recorded as sent now.
    std::vector<mesos::Call> due(TimePoint now, const std::string& framework_id);
    // When due() will next have a KILL; nullopt: nothing tracked.
    std::optional<TimePoint> deadline() const;
    void forget(const std::string& task_id) { sent_.erase(task_id); }
    std::size_t tracked() const { return sent_.size(); }

  private:
    struct Sent {
        std::string agent_id;  // empty: unknown
        TimePoint at;
    };
    std::chrono::milliseconds retry_;
    std::unordered_map<std::string, Sent> sent_;
};

}  // namespace mesoflow::scheduler
