// ACCEPT: offer validation (src/master/validation.cpp `offer::validate`),
// task validation (`task::validate`, in its order) and launches
// (src/master/master.cpp `accept`, `_accept`). LAUNCH is the only operation
// carried out, the one mesoflow sends; any other (LAUNCH_GROUP included) is
// dropped with "The fake master does not support <TYPE> operations", logged,
// and answered with OPERATION_ERROR when it carries an id.
#include <fmt/core.h>

#include <unordered_set>

#include "master.hpp"
#include "mesoflow/common/log.hpp"

namespace mesoflow::fake {

namespace {

json master_status(const std::string& task_id, const std::string& agent_id,
                   const std::string& state, const std::string& message,
                   const std::string& reason) {
    json status = {{"task_id", {{"value", task_id}}},
                   {"state", state},
                   {"source", "SOURCE_MASTER"},
                   {"message", message},
                   {"reason", reason}};
    if (!agent_id.empty())
        status["agent_id"] = {{"value", agent_id}};
    return status;
}

// The tasks of a LAUNCH, the one operation the fake master carries out.
const json& launch_tasks(const json& operation) {
    static const json kNone = json::array();
    if (!operation.contains("launch"))
        return kNone;
    const auto& launch = operation["launch"];
    return launch.contains("task_infos") ? launch["task_infos"] : kNone;
}

std::optional<std::string> validate_environment(const json& command) {
    if (!command.contains("environment"))
        return std::nullopt;
    for (const auto& v : command["environment"].value("variables", json::array())) {
        const std::string name = v.value("name", "");
        const std::string type = v.value("type", "VALUE");
        if (type == "UNKNOWN")
            return "Environment variable of type 'UNKNOWN' is not allowed";
        if (type == "VALUE") {
            if (!v.contains("value")) {
                return "Environment variable '" + name + "' of type 'VALUE' must have a value set";
            }
            if (v.contains("secret")) {
                return "Environment variable '" + name +
                       "' of type 'VALUE' must not have a secret set";
            }
        } else if (type == "SECRET") {
            if (!v.contains("secret")) {
                return "Environment variable '" + name +
                       "' of type 'SECRET' must have a secret set";
            }
            if (v.contains("value")) {
                return "Environment variable '" + name +
                       "' of type 'SECRET' must not have a value set";
            }
        }
    }
    return std::nullopt;
}

std::optional<std::string> validate_container(const json& container) {
    if (container.value("type", "") == "DOCKER") {
        if (!container.contains("docker")) {
            return "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo";
        }
        for (const auto& p : container["docker"].value("parameters", json::array())) {
            if (p.value("key", "") == "name")
                return "Parameter in DockerInfo must not be 'name'";
        }
    }
    return std::nullopt;
}

bool negative_duration(const json& duration) {
    return duration.is_object() && duration.value("nanoseconds", std::int64_t{0}) < 0;
}

}  // namespace

std::optional<std::string> Master::validate_offers(Framework& framework, const json& offer_ids) {
    std::unordered_set<std::string> seen;
    for (const auto& id : offer_ids) {
        const std::string value = id.value("value", "");
        if (!seen.insert(value).second)
            return "Duplicate offer " + value + " in offer list";
    }
    for (const auto& id : offer_ids) {
        const std::string value = id.value("value", "");
        if (offers_.count(value) == 0)
            return "Offer " + value + " is no longer valid";
    }
    for (const auto& id : offer_ids) {
        const std::string value = id.value("value", "");
        const Offer& offer = offers_.at(value);
        if (offer.framework_id != framework.id) {
            return "Offer " + value + " has invalid framework " + offer.framework_id +
                   " while framework " + framework.id + " is expected";
        }
    }
    std::optional<std::string> role;
    for (const auto& id : offer_ids) {
        const std::string value = id.value("value", "");
        const Offer& offer = offers_.at(value);
        if (!role) {
            role = offer.role;
        } else if (offer.role != *role) {
            return "Aggregated offers must be allocated to the same role. Offer " + value +
                   " uses role '" + offer.role + " but another is using role '" + *role;
        }
    }
    std::optional<std::size_t> agent;
    for (const auto& id : offer_ids) {
        const std::string value = id.value("value", "");
        const Offer& offer = offers_.at(value);
        if (!agent) {
            agent = offer.agent;
        } else if (offer.agent != *agent) {
            return "Aggregated offers must belong to one single agent. Offer " + value +
                   " uses agent " + agents_[offer.agent].id + " and agent " + agents_[*agent].id;
        }
    }
    return std::nullopt;
}

std::optional<std::string> Master::validate_task(Framework& framework, const Agent& agent,
                                                 const json& task, const Resources& available,
                                                 const std::string& role, Resources& consumed) {
    const std::string task_id = id_value(task, "task_id");
    if (auto e = validate_id(task_id))
        return e;
    if (framework.tasks.count(task_id) > 0)
        return "Task has duplicate ID: " + task_id;
    if (framework.unreachable_tasks.count(task_id) > 0) {
        return "Task reuses the ID of an unreachable task: " + task_id;
    }
    const std::string agent_id = id_value(task, "agent_id");
    if (agent_id != agent.id) {
        return "Task uses invalid agent " + agent_id + " while agent " + agent.id + " is expected";
    }
    if (task.contains("kill_policy") &&
        negative_duration(task["kill_policy"].value("grace_period", json()))) {
        return std::string("Task's 'kill_policy.grace_period' must be non-negative");
    }
    if (negative_duration(task.value("max_completion_time", json()))) {
        return std::string("Task's `max_completion_time` must be non-negative");
    }
    const json resources_json = task.value("resources", json::array());
    if (resources_json.empty())
        return std::string("Task uses no resources");
    TaskResources asked = parse_task_resources(resources_json, role);
    if (asked.invalid)
        return "Task uses invalid resources: " + *asked.invalid;
    if (task.contains("command")) {
        if (auto e = validate_environment(task["command"])) {
            return "Task's `CommandInfo` is invalid: " + *e;
        }
    }
    if (task.contains("container")) {
        if (auto e = validate_container(task["container"])) {
            return "Task's `ContainerInfo` is invalid: " + *e;
        }
    }
    Resources total = asked.resources;
    if (task.contains("executor") == task.contains("command")) {
        return std::string(
            "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present");
    }
    if (task.contains("executor")) {
        const json& executor = task["executor"];
        if (executor.contains("type") && executor["type"] != "CUSTOM") {
            return std::string("'ExecutorInfo.type' must be 'CUSTOM'");
        }
        if (!executor.contains("command")) {
            return std::string("'ExecutorInfo.command' must be set");
        }
        TaskResources executor_resources =
            parse_task_resources(executor.value("resources", json::array()), role);
        if (executor_resources.invalid) {
            return "Executor uses invalid resources: " + *executor_resources.invalid;
        }
        if (executor_resources.unavailable)
            asked.unavailable = executor_resources.unavailable;
        total += executor_resources.resources;
    }
    if (asked.unavailable || !available.contains(total)) {
        return "Total resources " + total.to_string() +
               " required by task and its executor is more than available " +
               available.to_string() +
               (asked.unavailable ? " (" + *asked.unavailable + ")" : std::string());
    }
    consumed = total;
    return std::nullopt;
}

void Master::drop_operation(Framework& framework, const json& operation,
                            const std::string& message) {
    log::info("fake_master_operation_dropped", "framework={} type={} reason={}", framework.id,
              operation.value("type", "UNKNOWN"), log::quote(message));
    if (!operation.contains("id"))
        return;
    send_event(framework, {{"type", "UPDATE_OPERATION_STATUS"},
                           {"update_operation_status",
                            {{"status",
                              {{"operation_id", operation["id"]},
                               {"state", "OPERATION_ERROR"},
                               {"message", message}}}}}});
}

void Master::accept(Framework& framework, const json& call) {
    const json offer_ids = call.value("offer_ids", json::array());
    const json operations = call.value("operations", json::array());
    std::optional<std::string> error;
    if (offer_ids.empty()) {
        error = "No offers specified";
    } else {
        error = validate_offers(framework, offer_ids);
    }
    if (error) {
        log::info("fake_master_accept_invalid_offers", "framework={} reason={}", framework.id,
                  log::quote(*error));
        for (const auto& id : offer_ids) {
            const std::string value = id.value("value", "");
            const auto it = offers_.find(value);
            if (it != offers_.end() && it->second.framework_id == framework.id) {
                remove_offer(value, false);
            }
        }
        const std::string state = framework.caps.partition_aware ? "TASK_DROPPED" : "TASK_LOST";
        for (const auto& operation : operations) {
            const std::string type = operation.value("type", "UNKNOWN");
            if (type != "LAUNCH") {
                drop_operation(framework, operation,
                               "Operation attempted with invalid offers: " + *error);
                continue;
            }
            for (const auto& task : launch_tasks(operation)) {
                ++counters_.tasks_lost_or_dropped;
                send_master_update(
                    framework, master_status(id_value(task, "task_id"), id_value(task, "agent_id"),
                                             state, "Task launched with invalid offers: " + *error,
                                             "REASON_INVALID_OFFERS"));
            }
        }
        return;
    }

    Offer first = offers_.at(offer_ids[0].value("value", ""));
    Resources pool;
    const auto answered = Clock::now();
    for (const auto& id : offer_ids) {
        const std::string value = id.value("value", "");
        pool += offers_.at(value).resources;
        offer_to_accept_.add(answered - offers_.at(value).sent_at);
        remove_offer(value, false);
        ++counters_.offers_accepted;
    }
    Agent& agent = agents_[first.agent];
    auto task_error = [&](const json& task, const std::string& message, const std::string& reason) {
        ++counters_.tasks_error;
        send_master_update(framework,
                           master_status(id_value(task, "task_id"), id_value(task, "agent_id"),
                                         "TASK_ERROR", message, reason));
    };

    for (const auto& operation : operations) {
        const std::string type = operation.value("type", "UNKNOWN");
        if (type == "LAUNCH") {
            const json& tasks = launch_tasks(operation);
            if (operation.contains("id")) {
                for (const auto& task : tasks) {
                    task_error(task, "The `id` field cannot be set on LAUNCH operations",
                               "REASON_TASK_INVALID");
                }
                continue;
            }
            for (const auto& task : tasks) {
                Resources consumed;
                if (auto e = validate_task(framework, agent, task, pool, first.role, consumed)) {
                    task_error(task, *e, "REASON_TASK_INVALID");
                    continue;
                }
                pool -= consumed;
                const std::string executor_id = task.contains("executor")
                                                    ? id_value(task["executor"], "executor_id")
                                                    : id_value(task, "task_id");
                launch_task(framework, agent, task, consumed, executor_id);
            }
        } else {
            drop_operation(framework, operation,
                           "The fake master does not support " + type + " operations");
        }
    }
    recover(first, pool, refuse_seconds(call.value("filters", json::object())));
}

}  // namespace mesoflow::fake
