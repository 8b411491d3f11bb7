#include "mesoflow/runtime/status_conversion.hpp"

#include "mesoflow/task/text.hpp"

namespace mesoflow::runtime {

task::StatusUpdate to_store_update(const mesos::TaskStatus& status) {
    task::StatusUpdate u;
    // Whatever an agent sends must commit: the text is cleaned for the database
    // (the acknowledgement is built from the update as received).
    u.mesos_task_id = task::clean_text(status.task_id, task::kMaxNameBytes);
    // Every Mesos state has a store counterpart; an unmapped one would be a
    // programming error in the enum tables, and TASK_UNKNOWN is the safe reading.
    u.state = task::parse_mesos_task_state(mesos::to_string(status.state))
                  .value_or(task::MesosTaskState::unknown);
    if (status.reason)
        u.reason = std::string(mesos::to_string(*status.reason));
    if (status.source)
        u.source = std::string(mesos::to_string(*status.source));
    u.message = task::clean_text(status.message.value_or(""), task::kMaxMessageBytes);
    u.agent_id = task::clean_text(status.agent_id.value_or(""), task::kMaxNameBytes);
    u.executor_id = task::clean_text(status.executor_id.value_or(""), task::kMaxNameBytes);
    u.timestamp = status.timestamp;
    u.uuid = task::clean_text(status.uuid.value_or(""), task::kMaxNameBytes);
    u.healthy = status.healthy;
    return u;
}

}  // namespace mesoflow::runtime
