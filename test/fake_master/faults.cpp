// Faults under test control: broken and silent streams, 503 and 307 answers,
// master failover, corrupt RecordIO, rescinded offers, lost agents, late or
// lost status updates, calls of one type refused, unanswered, repeated or
// held back.
#include <fmt/core.h>

#include "encoding.hpp"
#include "master.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/mesos/recordio.hpp"

namespace mesoflow::fake {

void Master::drop_streams() {
    for (auto& [id, framework] : frameworks_) {
        if (!framework->connected())
            continue;
        log::info("fake_master_fault", "fault=drop_stream framework={}", id);
        ++counters_.streams_dropped;
        // Closing runs the close handler, which disconnects the framework.
        auto stream = framework->stream;
        stream->drop();
    }
}

void Master::set_silent(bool silent) {
    log::info("fake_master_fault", "fault=silent on={}", silent);
    faults_.silent = silent;
    for (auto& [id, framework] : frameworks_) {
        if (framework->connected())
            framework->stream->set_paused(silent);
    }
}

void Master::answer_unavailable_for(std::chrono::milliseconds duration, std::string body) {
    log::info("fake_master_fault", "fault=unavailable ms={}", duration.count());
    faults_.unavailable_until = Clock::now() + duration;
    faults_.unavailable_body = std::move(body);
}

void Master::answer_unavailable_requests(int count, std::string body) {
    log::info("fake_master_fault", "fault=unavailable requests={}", count);
    faults_.unavailable_requests = count;
    faults_.unavailable_body = std::move(body);
}

void Master::redirect_to(std::string host_port) {
    log::info("fake_master_fault", "fault=redirect to={}",
              host_port.empty() ? std::string("-") : host_port);
    faults_.redirect_to = std::move(host_port);
}

void Master::fail_over() {
    const std::string old_id = master_id_;
    master_id_ = random_uuid_string();
    log::info("fake_master_fault", "fault=fail_over old_master={} new_master={}", old_id,
              master_id_);
    for (auto& [id, framework] : frameworks_) {
        // The new leader knows the framework from its agents, not its stream;
        // failover timeouts are not carried over (MESOS-4659).
        framework->stream.reset();
        framework->recovered = true;
        ++framework->connection_generation;
        reactor_.cancel(framework->heartbeat_timer);
        reactor_.cancel(framework->failover_timer);
        framework->heartbeat_timer = 0;
        framework->failover_timer = 0;
        framework->offers.clear();
        framework->filters.clear();
    }
    offers_.clear();
    for (auto& agent : agents_)
        agent.offered = Resources{};
    if (drop_connections_)
        drop_connections_();
}

void Master::inject_stream_bytes(const std::string& bytes) {
    for (auto& [id, framework] : frameworks_) {
        if (!framework->connected())
            continue;
        log::info("fake_master_fault", "fault=inject_bytes framework={} bytes={}", id,
                  bytes.size());
        framework->stream->write(bytes);
    }
}

void Master::rescind_all_offers() {
    std::vector<std::string> ids;
    ids.reserve(offers_.size());
    for (const auto& [id, offer] : offers_)
        ids.push_back(id);
    log::info("fake_master_fault", "fault=rescind_offers offers={}", ids.size());
    for (const auto& id : ids)
        remove_offer(id, true);
}

void Master::rescind_offers_of(const Agent& agent) {
    std::vector<std::string> offer_ids;
    for (const auto& [id, offer] : offers_) {
        if (offer.agent == agent.index)
            offer_ids.push_back(id);
    }
    for (const auto& id : offer_ids)
        remove_offer(id, true);
}

bool Master::lose_agent(const std::string& which) {
    Agent* agent = find_agent(which);
    if (agent == nullptr || agent->lost)
        return false;
    log::info("fake_master_fault", "fault=lose_agent agent={} tasks={}", agent->id,
              agent->tasks.size());
    agent->lost = true;
    agent->lost_at_ns = now_ns();
    const std::vector<Task*> tasks(agent->tasks.begin(), agent->tasks.end());
    for (Task* task : tasks) {
        Framework* framework = find_framework(task->framework_id);
        json status = {
            {"task_id", {{"value", task->id}}},
            {"state", framework != nullptr && framework->caps.partition_aware ? "TASK_UNREACHABLE"
                                                                              : "TASK_LOST"},
            {"source", "SOURCE_MASTER"},
            {"reason", "REASON_AGENT_REMOVED"},
            {"message", fmt::format("Agent {} ({}) is unreachable", agent->id, agent->hostname)},
            {"agent_id", {{"value", agent->id}}},
            {"executor_id", {{"value", task->executor_id}}},
            {"unreachable_time", {{"nanoseconds", agent->lost_at_ns}}}};
        ++counters_.tasks_lost_or_dropped;
        if (framework != nullptr)
            framework->unreachable_tasks[task->id] = agent->lost_at_ns;
        remove_task(*task);
        if (framework != nullptr)
            send_master_update(*framework, std::move(status));
    }
    rescind_offers_of(*agent);
    for (auto& [id, framework] : frameworks_) {
        send_event(*framework,
                   {{"type", "FAILURE"}, {"failure", {{"agent_id", {{"value", agent->id}}}}}});
    }
    agent->used = Resources{};
    return true;
}

bool Master::restore_agent(const std::string& which) {
    Agent* agent = find_agent(which);
    if (agent == nullptr || !agent->lost)
        return false;
    log::info("fake_master_fault", "fault=restore_agent agent={}", agent->id);
    agent->lost = false;
    agent->lost_at_ns = 0;
    agent->used = Resources{};
    agent->offered = Resources{};
    request_allocation();
    return true;
}

bool Master::partition_agent(const std::string& which) {
    Agent* agent = find_agent(which);
    if (agent == nullptr || agent->lost)
        return false;
    log::info("fake_master_fault", "fault=partition_agent agent={} tasks={}", agent->id,
              agent->tasks.size());
    agent->lost = true;
    agent->partitioned = true;
    agent->lost_at_ns = now_ns();
    for (Task* task : agent->tasks) {
        if (is_terminal_state(task->state))
            continue;
        Framework* framework = find_framework(task->framework_id);
        if (framework == nullptr)
            continue;
        framework->unreachable_tasks[task->id] = agent->lost_at_ns;
        send_master_update(
            *framework,
            {{"task_id", {{"value", task->id}}},
             {"state", framework->caps.partition_aware ? "TASK_UNREACHABLE" : "TASK_LOST"},
             {"source", "SOURCE_MASTER"},
             {"reason", "REASON_AGENT_REMOVED"},
             {"message", fmt::format("Agent {} ({}) is unreachable", agent->id, agent->hostname)},
             {"agent_id", {{"value", agent->id}}},
             {"executor_id", {{"value", task->executor_id}}},
             {"unreachable_time", {{"nanoseconds", agent->lost_at_ns}}}});
    }
    rescind_offers_of(*agent);
    return true;
}

bool Master::heal_agent(const std::string& which) {
    Agent* agent = find_agent(which);
    if (agent == nullptr || !agent->partitioned)
        return false;
    log::info("fake_master_fault", "fault=heal_agent agent={} tasks={}", agent->id,
              agent->tasks.size());
    agent->lost = false;
    agent->partitioned = false;
    agent->lost_at_ns = 0;
    for (Task* task : agent->tasks) {
        if (Framework* framework = find_framework(task->framework_id))
            framework->unreachable_tasks.erase(task->id);
    }
    request_allocation();
    return true;
}

void Master::delay_status_updates(std::chrono::milliseconds delay) {
    log::info("fake_master_fault", "fault=delay_updates ms={}", delay.count());
    faults_.update_delay = delay;
}

void Master::drop_status_updates(int count) {
    log::info("fake_master_fault", "fault=drop_updates count={}", count);
    faults_.drop_updates = count;
}

void Master::fail_calls(std::string type, int count, CallFault fault) {
    log::info("fake_master_fault", "fault=fail_calls type={} count={} kind={} status={}", type,
              count, static_cast<int>(fault.kind), fault.status);
    faults_.calls[std::move(type)] = Faults::CallFaults{count, std::move(fault)};
}

std::size_t Master::release_held_calls() {
    std::vector<HeldCall> held;
    held.swap(held_calls_);
    log::info("fake_master_fault", "fault=release_held_calls calls={}", held.size());
    std::size_t carried_out = 0;
    for (auto& h : held) {
        Framework* framework = find_framework(h.framework_id);
        if (framework == nullptr) {
            log::info("fake_master_held_call_dropped", "type={} framework={}", h.type,
                      h.framework_id);
            continue;
        }
        dispatch(*framework, h.call, h.type);
        ++carried_out;
    }
    changed();
    return carried_out;
}

void Master::clear_faults() {
    log::info("fake_master_fault", "fault=clear");
    if (faults_.silent)
        set_silent(false);
    faults_ = Faults{};
    if (!held_calls_.empty())
        release_held_calls();
}

void Master::set_task_rules(std::vector<TaskRule> rules, TaskBehavior default_task) {
    config_.task_rules = std::move(rules);
    config_.default_task = default_task;
}

}  // namespace mesoflow::fake
