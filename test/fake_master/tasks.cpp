// The life of a task on a simulated agent: STAGING -> STARTING -> RUNNING ->
// FINISHED/FAILED, KILL (-> KILLING) -> KILLED, SHUTDOWN of an executor.
// Updates come from the "executor" (SOURCE_EXECUTOR) and travel through
// the agent's status update stream (status_updates.cpp).
#include <fmt/core.h>

#include "local_tasks.hpp"
#include "master.hpp"
#include "mesoflow/common/log.hpp"

namespace mesoflow::fake {

namespace {

bool label_matches(const json& labels, const std::string& matcher) {
    const auto eq = matcher.find('=');
    const std::string key = matcher.substr(0, eq);
    for (const auto& label : labels) {
        if (label.value("key", "") != key)
            continue;
        if (eq == std::string::npos)
            return true;
        if (label.value("value", "") == matcher.substr(eq + 1))
            return true;
    }
    return false;
}

}  // namespace

Task* Master::find_task(const std::string& framework_id, const std::string& task_id) {
    Framework* framework = find_framework(framework_id);
    if (framework == nullptr)
        return nullptr;
    const auto it = framework->tasks.find(task_id);
    return it == framework->tasks.end() ? nullptr : it->second.get();
}

TaskBehavior Master::behavior_for(const Task& task) const {
    std::string command = task.command;
    for (const auto& a : task.arguments)
        command += " " + a;
    for (const auto& rule : config_.task_rules) {
        if (!rule.command_contains.empty() &&
            command.find(rule.command_contains) == std::string::npos) {
            continue;
        }
        if (!rule.label.empty() && !label_matches(task.labels, rule.label))
            continue;
        if (!rule.task_id_prefix.empty() && task.id.rfind(rule.task_id_prefix, 0) != 0)
            continue;
        return rule.behavior;
    }
    return config_.default_task;
}

Task& Master::launch_task(Framework& framework, Agent& agent, const json& info,
                          const Resources& resources, const std::string& executor_id) {
    auto owned = std::make_unique<Task>();
    Task& task = *owned;
    task.serial = next_task_serial_++;
    task.framework_id = framework.id;
    task.id = id_value(info, "task_id");
    task.name = info.value("name", "");
    task.agent_id = agent.id;
    task.agent = agent.index;
    task.executor_id = executor_id;
    task.resources = resources;
    static const json kNoCommand = json::object();
    const json* found = &kNoCommand;
    if (info.contains("command")) {
        found = &info["command"];
    } else if (info.contains("executor") && info["executor"].contains("command")) {
        found = &info["executor"]["command"];
    }
    const json& command = *found;
    task.command = command.value("value", "");
    task.shell = command.value("shell", true);
    task.arguments = command.value("arguments", std::vector<std::string>{});
    if (command.contains("environment")) {
        for (const auto& v : command["environment"].value("variables", json::array())) {
            if (v.value("type", "VALUE") == "VALUE") {
                task.environment.emplace_back(v.value("name", ""), v.value("value", ""));
            }
        }
    }
    if (info.contains("container")) {
        const json& container = info["container"];
        task.container_type = container.value("type", "");
        if (container.contains("docker")) {
            task.container_image = container["docker"].value("image", "");
        } else if (container.contains("mesos") && container["mesos"].contains("image")) {
            const json& image = container["mesos"]["image"];
            if (image.contains("docker"))
                task.container_image = image["docker"].value("name", "");
            if (image.contains("appc"))
                task.container_image = image["appc"].value("name", "");
        }
    }
    if (info.contains("labels"))
        task.labels = info["labels"].value("labels", json::array());
    if (info.contains("kill_policy") && info["kill_policy"].contains("grace_period")) {
        task.kill_grace =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(
                info["kill_policy"]["grace_period"].value("nanoseconds", std::int64_t{0})));
    }
    task.behavior = behavior_for(task);

    agent.used += resources;
    agent.tasks.insert(&task);
    tasks_by_serial_[task.serial] = &task;
    framework.tasks.emplace(task.id, std::move(owned));
    ++counters_.tasks_launched;
    log::debug("fake_master_task_launched", "framework={} task={} agent={}", framework.id, task.id,
               agent.id);

    if (config_.local) {
        local_->launch(task);
    } else {
        schedule_task_timer(task, task.behavior.start_delay, [this](Task& t) { start_task(t); });
    }
    return task;
}

void Master::schedule_task_timer(Task& task, std::chrono::milliseconds delay,
                                 std::function<void(Task&)> action) {
    reactor_.cancel(task.lifecycle_timer);
    task.lifecycle_timer =
        reactor_.after(delay, notifying([this, serial = task.serial, action = std::move(action)] {
                           const auto it = tasks_by_serial_.find(serial);
                           if (it == tasks_by_serial_.end())
                               return;
                           it->second->lifecycle_timer = 0;
                           action(*it->second);
                       }));
}

void Master::start_task(Task& task) {
    if (config_.send_task_starting)
        transition(task, "TASK_STARTING", "SOURCE_EXECUTOR");
    transition(task, "TASK_RUNNING", "SOURCE_EXECUTOR");
    if (!task.behavior.runs_until_killed) {
        const int code = task.behavior.exit_code;
        schedule_task_timer(task, task.behavior.run_time,
                            [this, code](Task& t) { exit_task(t, code); });
    }
}

void Master::exit_task(Task& task, int exit_code) {
    transition(task, exit_code == 0 ? "TASK_FINISHED" : "TASK_FAILED", "SOURCE_EXECUTOR",
               fmt::format("Command exited with status {}", exit_code));
}

bool Master::finish_task(const std::string& task_id, int exit_code) {
    for (auto& [id, framework] : frameworks_) {
        const auto it = framework->tasks.find(task_id);
        if (it == framework->tasks.end() || is_terminal_state(it->second->state))
            continue;
        Task& task = *it->second;
        if (task.pid > 0)
            return false;  // a real process decides for itself
        reactor_.cancel(task.lifecycle_timer);
        task.lifecycle_timer = 0;
        if (task.state == "TASK_STAGING")
            start_task(task);
        reactor_.cancel(task.lifecycle_timer);
        task.lifecycle_timer = 0;
        exit_task(task, exit_code);
        return true;
    }
    return false;
}

void Master::transition(Task& task, const std::string& state, const std::string& source,
                        const std::string& message, const std::string& reason,
                        const std::string& data) {
    if (is_terminal_state(task.state))
        return;  // terminal states never change
    task.state = state;
    if (is_terminal_state(state)) {
        release_resources(task);
        reactor_.cancel(task.lifecycle_timer);
        task.lifecycle_timer = 0;
        if (state == "TASK_FINISHED")
            ++counters_.tasks_finished;
        if (state == "TASK_FAILED")
            ++counters_.tasks_failed;
        if (state == "TASK_KILLED")
            ++counters_.tasks_killed;
        if (state == "TASK_ERROR")
            ++counters_.tasks_error;
        if (state == "TASK_LOST" || state == "TASK_DROPPED")
            ++counters_.tasks_lost_or_dropped;
    }
    enqueue_update(task, state, source, message, reason, data);
}

void Master::release_resources(Task& task) {
    if (task.resources_released)
        return;
    task.resources_released = true;
    agents_[task.agent].used -= task.resources;
}

void Master::remove_task(Task& task) {
    reactor_.cancel(task.lifecycle_timer);
    if (local_)
        local_->forget(task);
    release_resources(task);
    agents_[task.agent].tasks.erase(&task);
    tasks_by_serial_.erase(task.serial);
    Framework* framework = find_framework(task.framework_id);
    if (framework != nullptr)
        framework->tasks.erase(task.id);  // destroys `task`
}

void Master::kill(Framework& framework, const json& call) {
    const std::string task_id = id_value(call, "task_id");
    const auto it = framework.tasks.find(task_id);
    if (it == framework.tasks.end()) {
        // An unknown task is reconciled instead (src/master/master.cpp `kill`).
        json entry = {{"task_id", {{"value", task_id}}}};
        if (call.contains("agent_id"))
            entry["agent_id"] = call["agent_id"];
        reconcile(framework, {{"tasks", json::array({entry})}});
        return;
    }
    Task& task = *it->second;
    if (behind_partition(task)) {
        // The master cannot reach the agent: it answers with the task's state.
        reconcile(framework, {{"tasks", json::array({{{"task_id", {{"value", task_id}}}}})}});
        return;
    }
    if (call.contains("agent_id") && id_value(call, "agent_id") != task.agent_id) {
        log::warn("fake_master_kill_ignored", "framework={} task={} reason={}", framework.id,
                  task_id, log::quote("the task belongs to a different agent"));
        return;
    }
    std::optional<std::chrono::milliseconds> grace = task.kill_grace;
    if (call.contains("kill_policy") && call["kill_policy"].contains("grace_period")) {
        grace = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(
            call["kill_policy"]["grace_period"].value("nanoseconds", std::int64_t{0})));
    }
    kill_task(task, grace);
}

void Master::kill_task(Task& task, std::optional<std::chrono::milliseconds> grace) {
    if (is_terminal_state(task.state) || task.kill_requested)
        return;
    task.kill_requested = true;
    if (task.state == "TASK_STAGING") {
        reactor_.cancel(task.lifecycle_timer);
        task.lifecycle_timer = 0;
        if (local_)
            local_->forget(task);
        transition(task, "TASK_KILLED", "SOURCE_AGENT", "Killed before delivery to the executor",
                   "REASON_TASK_KILLED_DURING_LAUNCH");
        return;
    }
    Framework* framework = find_framework(task.framework_id);
    if (framework != nullptr && framework->caps.task_killing_state) {
        transition(task, "TASK_KILLING", "SOURCE_EXECUTOR");
    }
    if (task.pid > 0) {
        local_->terminate(task, grace.value_or(config_.local_kill_grace));
        return;
    }
    schedule_task_timer(task, config_.kill_delay, [this](Task& t) {
        transition(t, "TASK_KILLED", "SOURCE_EXECUTOR",
                   "Command terminated with signal Terminated");
    });
}

void Master::shutdown_executor(Framework& framework, const json& call) {
    const std::string executor_id = id_value(call, "executor_id");
    const std::string agent_id = id_value(call, "agent_id");
    bool found = false;
    for (auto& [id, task] : framework.tasks) {
        if (task->agent_id != agent_id || task->executor_id != executor_id)
            continue;
        found = true;
        kill_task(*task, std::chrono::milliseconds(0));
    }
    if (!found)
        return;
    // The executor exits once its tasks are gone; FAILURE follows their updates.
    reactor_.after(config_.kill_delay + std::chrono::milliseconds(1),
                   notifying([this, fid = framework.id, agent_id, executor_id] {
                       Framework* f = find_framework(fid);
                       if (f == nullptr)
                           return;
                       send_event(*f, {{"type", "FAILURE"},
                                       {"failure",
                                        {{"agent_id", {{"value", agent_id}}},
                                         {"executor_id", {{"value", executor_id}}},
                                         {"status", 0}}}});
                   }));
}

void Master::task_exited(const std::string& framework_id, const std::string& task_id,
                         std::uint64_t serial, const std::string& state, const std::string& message,
                         const std::string& reason, const std::string& data) {
    Task* task = find_task(framework_id, task_id);
    if (task == nullptr || task->serial != serial)
        return;
    task->pid = -1;
    transition(*task, state, "SOURCE_EXECUTOR", message, reason, data);
    changed();
}

}  // namespace mesoflow::fake
