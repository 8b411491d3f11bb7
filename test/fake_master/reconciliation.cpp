// RECONCILE, as src/master/master.cpp `Master::reconcile` answers it
// (docs/reconciliation.md in the Mesos sources): uuid-less updates with
// REASON_RECONCILIATION.
#include "master.hpp"

namespace mesoflow::fake {

bool Master::behind_partition(const Task& task) const {
    return task.agent < agents_.size() && agents_[task.agent].partitioned;
}

std::string Master::reported_state(const Task& task) const {
    // The master answers with the state of the update the agent forwarded
    // last (status_update_state), or the task's state if none yet.
    return task.forwarded_state.empty() ? task.state : task.forwarded_state;
}

json Master::reconciliation_status(Framework& framework, const std::string& task_id,
                                   const std::optional<std::string>& agent_id, bool& answer) {
    answer = true;
    json status = {{"task_id", {{"value", task_id}}},
                   {"source", "SOURCE_MASTER"},
                   {"reason", "REASON_RECONCILIATION"}};
    const auto it = framework.tasks.find(task_id);
    if (it != framework.tasks.end() && behind_partition(*it->second)) {
        const Agent& agent = agents_[it->second->agent];
        status["state"] = framework.caps.partition_aware ? "TASK_UNREACHABLE" : "TASK_LOST";
        status["message"] = "Reconciliation: Task is unreachable";
        status["agent_id"] = {{"value", agent.id}};
        status["unreachable_time"] = {{"nanoseconds", agent.lost_at_ns}};
        return status;
    }
    if (it != framework.tasks.end()) {
        const Task& task = *it->second;
        status["state"] = reported_state(task);
        status["message"] = "Reconciliation: Latest task state";
        status["agent_id"] = {{"value", task.agent_id}};
        status["executor_id"] = {{"value", task.executor_id}};
        return status;
    }
    const bool aware = framework.caps.partition_aware;
    const Agent* agent = agent_id ? agent_by_id(*agent_id) : nullptr;
    if (agent_id)
        status["agent_id"] = {{"value", *agent_id}};
    if (agent != nullptr && !agent->lost) {
        status["state"] = aware ? "TASK_GONE" : "TASK_LOST";
        status["message"] = "Reconciliation: Task is unknown to the agent";
    } else if (agent != nullptr && agent->lost) {
        status["state"] = aware ? "TASK_UNREACHABLE" : "TASK_LOST";
        status["message"] = "Reconciliation: Task is unreachable";
        status["unreachable_time"] = {{"nanoseconds", agent->lost_at_ns}};
    } else {
        status["state"] = aware ? "TASK_UNKNOWN" : "TASK_LOST";
        status["message"] = "Reconciliation: Task is unknown";
    }
    return status;
}

void Master::reconcile(Framework& framework, const json& call) {
    const json tasks = call.value("tasks", json::array());
    if (tasks.empty()) {
        std::vector<json> statuses;
        statuses.reserve(framework.tasks.size());
        for (const auto& [id, task] : framework.tasks) {
            if (behind_partition(*task)) {
                bool answer = false;
                statuses.push_back(reconciliation_status(framework, id, std::nullopt, answer));
                continue;
            }
            statuses.push_back({{"task_id", {{"value", task->id}}},
                                {"state", reported_state(*task)},
                                {"source", "SOURCE_MASTER"},
                                {"reason", "REASON_RECONCILIATION"},
                                {"message", "Reconciliation: Latest task state"},
                                {"agent_id", {{"value", task->agent_id}}},
                                {"executor_id", {{"value", task->executor_id}}}});
        }
        for (auto& status : statuses)
            send_master_update(framework, std::move(status));
        return;
    }
    for (const auto& entry : tasks) {
        const std::optional<std::string> agent_id =
            entry.contains("agent_id") ? std::optional<std::string>(id_value(entry, "agent_id"))
                                       : std::nullopt;
        bool answer = false;
        json status =
            reconciliation_status(framework, id_value(entry, "task_id"), agent_id, answer);
        if (answer)
            send_master_update(framework, std::move(status));
    }
}

void Master::reconcile_operations(Framework& framework, const json& call) {
    // This fake runs no operations, so every listed one is unknown.
    for (const auto& op : call.value("operations", json::array())) {
        json status = {{"operation_id", op["operation_id"]},
                       {"state", "OPERATION_UNKNOWN"},
                       {"message", "Reconciliation: Operation is unknown"}};
        if (op.contains("agent_id"))
            status["agent_id"] = op["agent_id"];
        send_event(framework, {{"type", "UPDATE_OPERATION_STATUS"},
                               {"update_operation_status", {{"status", status}}}});
    }
}

}  // namespace mesoflow::fake
