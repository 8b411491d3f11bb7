// The agent's status update stream for each task (src/slave/
// task_status_update_manager.cpp): every executor update gets a uuid, only
// the oldest unacknowledged one is in flight, it is resent with doubling
// back-off until the scheduler acknowledges it, then the next one goes.
// Master-generated updates (reconciliation, invalid offers, lost agents)
// carry no uuid and are sent once.
#include <fmt/core.h>

#include "encoding.hpp"
#include "json_text.hpp"
#include "master.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/mesos/recordio.hpp"

namespace mesoflow::fake {

void Master::enqueue_update(Task& task, const std::string& state, const std::string& source,
                            const std::string& message, const std::string& reason,
                            const std::string& data) {
    PendingUpdate update;
    update.seq = next_update_seq_++;
    update.uuid = random_uuid_bytes();
    update.state = state;
    update.backoff = config_.update_retry_min;
    // TaskStatus in proto field order; written by hand because this is the
    // event sent most (see json_text.hpp).
    std::string r;
    r.reserve(512);
    r += R"({"type":"UPDATE","update":{"status":{"task_id":{"value":)";
    append_json_string(r, task.id);
    r += R"(},"state":")";
    r += state;
    r += '"';
    if (!message.empty()) {
        r += R"(,"message":)";
        append_json_string(r, message);
    }
    r += R"(,"source":")";
    r += source;
    r += '"';
    if (!reason.empty()) {
        r += R"(,"reason":")";
        r += reason;
        r += '"';
    }
    if (!data.empty()) {
        r += R"(,"data":")";
        r += base64_encode(data);
        r += '"';
    }
    r += R"(,"agent_id":{"value":)";
    append_json_string(r, task.agent_id);
    r += '}';
    if (source == "SOURCE_EXECUTOR") {
        r += R"(,"executor_id":{"value":)";
        append_json_string(r, task.executor_id);
        r += '}';
    }
    r += fmt::format(R"(,"timestamp":{:.6f},"uuid":")", now_seconds());
    r += base64_encode(update.uuid);
    r += '"';
    if (state == "TASK_RUNNING") {
        r +=
            R"(,"container_status":{"network_infos":[{"ip_addresses":[{"protocol":"IPv4","ip_address":"127.0.0.1"}]}]})";
    }
    r += "}}}";
    update.record = mesos::encode_record(r);
    task.updates.push_back(std::move(update));
    if (task.updates.size() == 1)
        deliver_front(task);
}

void Master::deliver_front(Task& task) {
    task.forwarded_state = task.updates.front().state;
    if (faults_.update_delay.count() > 0) {
        reactor_.after(faults_.update_delay,
                       notifying([this, serial = task.serial, seq = task.updates.front().seq] {
                           const auto it = tasks_by_serial_.find(serial);
                           if (it == tasks_by_serial_.end())
                               return;
                           Task& t = *it->second;
                           if (t.updates.empty() || t.updates.front().seq != seq)
                               return;
                           send_front(t);
                       }));
        return;
    }
    send_front(task);
}

void Master::send_front(Task& task) {
    PendingUpdate& update = task.updates.front();
    Framework* framework = find_framework(task.framework_id);
    const bool lost_on_the_way = faults_.drop_updates > 0;
    if (behind_partition(task)) {
        // Held by the agent until the partition heals; retried as usual.
    } else if (lost_on_the_way) {
        --faults_.drop_updates;
    } else if (framework != nullptr && framework->connected()) {
        send(*framework, update.record);
        if (update.sent) {
            ++counters_.updates_redelivered;
        } else {
            ++counters_.updates_sent;
            update.first_sent = Clock::now();
        }
        task.last_sent_state = update.state;
    }
    update.sent = true;
    const auto delay = update.backoff;
    update.backoff = std::min(update.backoff * 2, config_.update_retry_max);
    retries_.push(RetryEntry{Clock::now() + delay, task.serial, update.seq});
    schedule_retry(Clock::now() + delay);
}

void Master::schedule_retry(Clock::time_point due) {
    if (due >= retry_armed_for_)
        return;
    reactor_.cancel(retry_timer_);
    retry_armed_for_ = due;
    retry_timer_ = reactor_.at(due, notifying([this] {
                                   retry_timer_ = 0;
                                   retry_armed_for_ = Clock::time_point::max();
                                   run_retries();
                               }));
}

void Master::run_retries() {
    const auto now = Clock::now();
    while (!retries_.empty() && retries_.top().due <= now) {
        const RetryEntry entry = retries_.top();
        retries_.pop();
        const auto it = tasks_by_serial_.find(entry.task_serial);
        if (it == tasks_by_serial_.end())
            continue;
        Task& task = *it->second;
        if (task.updates.empty() || task.updates.front().seq != entry.update_seq)
            continue;
        log::debug("fake_master_update_retry", "task={} state={}", task.id,
                   task.updates.front().state);
        send_front(task);
    }
    if (!retries_.empty()) {
        const auto due = retries_.top().due;
        retry_armed_for_ = due;
        retry_timer_ = reactor_.at(due, notifying([this] {
                                       retry_timer_ = 0;
                                       retry_armed_for_ = Clock::time_point::max();
                                       run_retries();
                                   }));
    }
}

void Master::acknowledge(Framework& framework, const json& ack, std::uint64_t seq) {
    RecordedAck record;
    record.seq = seq;
    record.framework_id = framework.id;
    record.agent_id = id_value(ack, "agent_id");
    record.task_id = id_value(ack, "task_id");
    record.uuid = ack.value("uuid", "");
    const std::string uuid = base64_decode(record.uuid).value_or("");
    ++counters_.acks;

    Agent* agent = agent_by_id(record.agent_id);
    const auto it = framework.tasks.find(record.task_id);
    Task* task = it == framework.tasks.end() ? nullptr : it->second.get();
    const bool matched = agent != nullptr && !agent->lost && task != nullptr &&
                         task->agent_id == record.agent_id && !task->updates.empty() &&
                         task->updates.front().sent && task->updates.front().uuid == uuid;
    if (!matched) {
        // The agent ignores an acknowledgement it does not expect.
        ++counters_.acks_unmatched;
        log::debug("fake_master_ack_unmatched", "framework={} task={} agent={}", framework.id,
                   record.task_id, record.agent_id);
    } else {
        record.matched = true;
        record.state = task->updates.front().state;
        // From the first delivery: a redelivery means the first was not answered in time.
        if (task->updates.front().first_sent != Clock::time_point{})
            update_to_ack_.add(Clock::now() - task->updates.front().first_sent);
        task->updates.pop_front();
        if (task->updates.empty() && is_terminal_state(record.state)) {
            // The master forgets a task once its terminal update is acknowledged.
            remove_task(*task);
        } else if (!task->updates.empty()) {
            deliver_front(*task);
        }
    }
    acks_.push_back(std::move(record));
    if (config_.max_recorded_calls > 0 && acks_.size() > config_.max_recorded_calls) {
        acks_.pop_front();
    }
}

void Master::send_master_update(Framework& framework, json status) {
    status["timestamp"] = now_seconds();
    if (!framework.connected()) {
        log::debug("fake_master_update_dropped", "framework={} reason={}", framework.id,
                   log::quote("framework disconnected"));
        return;
    }
    ++counters_.master_updates_sent;
    send_event(framework, {{"type", "UPDATE"}, {"update", {{"status", std::move(status)}}}});
}

}  // namespace mesoflow::fake
