#include "mesoflow/runtime/status_conversion.hpp"

namespace mesoflow::runtime {

task::StatusUpdate to_store_update(const mesos::TaskStatus& status) {
    task::StatusUpdate u;
    u.mesos_task_id = status.task_id;
    // Every Mesos state has a store counterpart; an unmapped one would be a
    // programming error in the enum tables, and TASK_UNKNOWN is the safe reading.
    u.state = task::parse_mesos_task_state(mesos::to_string(status.state))
                  .value_or(task::MesosTaskState::unknown);
    if (status.reason)
        u.reason = std::string(mesos::to_string(*status.reason));
    if (status.source)
        u.source = std::string(mesos::to_string(*status.source));
    u.message = status.message.value_or("");
    u.agent_id = status.agent_id.value_or("");
    u.executor_id = status.executor_id.value_or("");
    u.timestamp = status.timestamp;
    u.uuid = status.uuid.value_or("");
    u.healthy = status.healthy;
    return u;
}

}  // namespace mesoflow::runtime
