// The values that name one attempt of one task on its way through Mesos:
// where it was launched (LaunchRecord), a claim not yet placed (ClaimRef) and
// a launched attempt not yet terminal (LiveAttempt). Plain values; the store
// reads and writes them, the scheduler core decides with them.
#pragma once

#include <cstdint>
#include <string>

#include "mesoflow/task/task.hpp"

namespace mesoflow::task {

// The launch of one attempt on an agent: recorded before ACCEPT by
// record_launches, or after it for an attempt claim_pending claimed.
struct LaunchRecord {
    std::int64_t task_id = 0;
    int attempt = 0;            // the attempt being launched: TaskSpec::attempt + 1
    std::string mesos_task_id;  // mesos_task_id(task_id, attempt)
    std::string agent_id;
    std::string hostname;
    std::string offer_id;
    std::int64_t launched_at_us = 0;  // when ACCEPT went out (0: the commit's time)
};

// One attempt claim_pending claimed.
struct ClaimRef {
    std::int64_t task_id = 0;
    int attempt = 0;  // the claimed attempt: TaskSpec::attempt + 1
};

// A launched attempt that is not terminal yet.
struct LiveAttempt {
    std::int64_t task_id = 0;
    int attempt = 0;
    std::string mesos_task_id;
    std::string agent_id;
    TaskState state = TaskState::launching;
    bool kill_requested = false;
    bool timed_out = false;
    bool launch_timed_out = false;  // killed for not reaching RUNNING within launch_timeout
};

}  // namespace mesoflow::task
