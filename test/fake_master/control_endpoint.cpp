// Inspection views, GET /fake/state, GET /fake/latency and POST
// /fake/control/<fault>: the HTTP face of the faults and views FakeMaster
// offers in process. See README.md for the list of controls.
#include <fmt/core.h>

#include <algorithm>

#include "master.hpp"
#include "mesoflow/mesos/recordio.hpp"

namespace mesoflow::fake {

namespace {

constexpr std::size_t kStateRecentCalls = 20;

HttpReply json_reply(int status, const json& body) {
    HttpReply reply;
    reply.response.status = status;
    reply.response.headers.emplace_back("Content-Type", "application/json");
    reply.response.body = body.dump(2);
    return reply;
}

std::chrono::milliseconds ms(const json& body, const char* key, std::int64_t fallback) {
    return std::chrono::milliseconds(body.value(key, fallback));
}

TaskBehavior behavior_from(const json& j, const TaskBehavior& base) {
    TaskBehavior b = base;
    b.start_delay = ms(j, "start_delay_ms", b.start_delay.count());
    b.run_time = ms(j, "run_time_ms", b.run_time.count());
    b.exit_code = j.value("exit_code", b.exit_code);
    b.runs_until_killed = j.value("runs_until_killed", b.runs_until_killed);
    return b;
}

json call_json(const RecordedCall& c) {
    json out = {{"seq", c.seq},
                {"method", c.method},
                {"path", c.path},
                {"type", c.type},
                {"framework_id", c.framework_id},
                {"status", c.status},
                {"has_authorization", c.has_authorization}};
    if (c.stream_id)
        out["stream_id"] = *c.stream_id;
    if (c.content_type)
        out["content_type"] = *c.content_type;
    if (!c.response_body.empty())
        out["response"] = c.response_body;
    if (!c.body.empty()) {
        try {
            out["body"] = json::parse(c.body);
        } catch (const json::exception&) {
            out["body"] = c.body;
        }
    }
    return out;
}

std::vector<std::string> capability_names(const Capabilities& caps) {
    std::vector<std::string> out;
    if (caps.multi_role)
        out.emplace_back("MULTI_ROLE");
    if (caps.partition_aware)
        out.emplace_back("PARTITION_AWARE");
    if (caps.task_killing_state)
        out.emplace_back("TASK_KILLING_STATE");
    if (caps.gpu_resources)
        out.emplace_back("GPU_RESOURCES");
    if (caps.reservation_refinement)
        out.emplace_back("RESERVATION_REFINEMENT");
    if (caps.region_aware)
        out.emplace_back("REGION_AWARE");
    return out;
}

}  // namespace

std::vector<RecordedCall> Master::calls() const {
    return {calls_.begin(), calls_.end()};
}

std::vector<TaskView> Master::task_views() const {
    std::vector<TaskView> out;
    for (const auto& [fid, framework] : frameworks_) {
        for (const auto& [tid, task] : framework->tasks) {
            TaskView v;
            v.framework_id = fid;
            v.task_id = tid;
            v.agent_id = task->agent_id;
            v.hostname = agents_[task->agent].hostname;
            v.state = task->state;
            v.last_sent_state = task->last_sent_state;
            v.pending_updates = task->updates.size();
            v.command = task->command;
            for (const auto& [k, val] : task->environment)
                v.environment[k] = val;
            v.container_image = task->container_image;
            v.sandbox = task->sandbox;
            out.push_back(std::move(v));
        }
        for (const auto& [tid, time] : framework->unreachable_tasks) {
            if (framework->tasks.count(tid) > 0)
                continue;
            TaskView v;
            v.framework_id = fid;
            v.task_id = tid;
            v.state = framework->caps.partition_aware ? "TASK_UNREACHABLE" : "TASK_LOST";
            v.unreachable = true;
            out.push_back(std::move(v));
        }
    }
    std::sort(out.begin(), out.end(),
              [](const TaskView& a, const TaskView& b) { return a.task_id < b.task_id; });
    return out;
}

std::vector<AgentView> Master::agent_views() const {
    std::vector<AgentView> out;
    for (const auto& a : agents_) {
        AgentView v;
        v.id = a.id;
        v.hostname = a.hostname;
        v.lost = a.lost;
        v.cpus = a.total.cpus();
        v.mem = a.total.mem();
        v.disk = a.total.disk();
        v.gpus = a.total.gpus();
        v.used_cpus = a.used.cpus();
        v.used_mem = a.used.mem();
        v.offered_cpus = a.offered.cpus();
        v.offered_mem = a.offered.mem();
        v.tasks = a.tasks.size();
        out.push_back(std::move(v));
    }
    return out;
}

std::vector<FrameworkView> Master::framework_views() const {
    std::vector<FrameworkView> out;
    for (const auto& [id, f] : frameworks_) {
        FrameworkView v;
        v.id = id;
        v.name = f->name;
        v.principal = f->principal.value_or("");
        v.connected = f->connected();
        v.recovered = f->recovered;
        v.stream_id = f->stream_id;
        v.roles = f->roles;
        v.suppressed_roles.assign(f->suppressed.begin(), f->suppressed.end());
        v.capabilities = capability_names(f->caps);
        v.failover_timeout = f->failover_timeout;
        v.offers = f->offers.size();
        v.tasks = f->tasks.size();
        out.push_back(std::move(v));
    }
    return out;
}

std::vector<OfferView> Master::offer_views() const {
    std::vector<OfferView> out;
    for (const auto& [id, o] : offers_) {
        out.push_back({id, o.framework_id, agents_[o.agent].id, o.role, o.resources.cpus(),
                       o.resources.mem(), o.resources.disk(), o.resources.gpus()});
    }
    return out;
}

json Master::state() const {
    json frameworks = json::array();
    for (const auto& f : framework_views()) {
        frameworks.push_back({{"id", f.id},
                              {"name", f.name},
                              {"principal", f.principal},
                              {"connected", f.connected},
                              {"recovered", f.recovered},
                              {"stream_id", f.stream_id},
                              {"roles", f.roles},
                              {"suppressed_roles", f.suppressed_roles},
                              {"capabilities", f.capabilities},
                              {"failover_timeout", f.failover_timeout},
                              {"offers", f.offers},
                              {"tasks", f.tasks}});
    }
    json agents = json::array();
    for (const auto& a : agent_views()) {
        agents.push_back({{"id", a.id},
                          {"hostname", a.hostname},
                          {"lost", a.lost},
                          {"cpus", a.cpus},
                          {"mem", a.mem},
                          {"used_cpus", a.used_cpus},
                          {"used_mem", a.used_mem},
                          {"offered_cpus", a.offered_cpus},
                          {"tasks", a.tasks}});
    }
    json tasks_by_state = json::object();
    json tasks = json::array();
    for (const auto& t : task_views()) {
        tasks_by_state[t.state] = tasks_by_state.value(t.state, 0) + 1;
        if (tasks.size() < 1000) {
            tasks.push_back({{"task_id", t.task_id},
                             {"framework_id", t.framework_id},
                             {"agent_id", t.agent_id},
                             {"state", t.state},
                             {"last_sent_state", t.last_sent_state},
                             {"pending_updates", t.pending_updates},
                             {"sandbox", t.sandbox}});
        }
    }
    const Counters& c = counters_;
    json counters = {{"calls", c.calls},
                     {"calls_rejected", c.calls_rejected},
                     {"calls_by_type", c.calls_by_type},
                     {"subscriptions", c.subscriptions},
                     {"refused_subscriptions", c.refused_subscriptions},
                     {"heartbeats", c.heartbeats},
                     {"events", c.events},
                     {"offers_sent", c.offers_sent},
                     {"cpus_offered", static_cast<double>(c.cpus_milli_offered) / 1000.0},
                     {"offer_events", c.offer_events},
                     {"offers_rescinded", c.offers_rescinded},
                     {"offers_declined", c.offers_declined},
                     {"offers_accepted", c.offers_accepted},
                     {"tasks_launched", c.tasks_launched},
                     {"tasks_finished", c.tasks_finished},
                     {"tasks_failed", c.tasks_failed},
                     {"tasks_killed", c.tasks_killed},
                     {"tasks_error", c.tasks_error},
                     {"tasks_lost_or_dropped", c.tasks_lost_or_dropped},
                     {"updates_sent", c.updates_sent},
                     {"updates_redelivered", c.updates_redelivered},
                     {"master_updates_sent", c.master_updates_sent},
                     {"acks", c.acks},
                     {"acks_unmatched", c.acks_unmatched},
                     {"streams_dropped", c.streams_dropped}};
    json recent = json::array();
    const std::size_t skip =
        calls_.size() > kStateRecentCalls ? calls_.size() - kStateRecentCalls : 0;
    for (std::size_t i = skip; i < calls_.size(); ++i)
        recent.push_back(call_json(calls_[i]));
    return {{"master_info", master_info()},
            {"faults",
             {{"silent", faults_.silent},
              {"redirect_to", faults_.redirect_to},
              {"unavailable_requests", faults_.unavailable_requests},
              {"unavailable",
               faults_.unavailable_until.has_value() && Clock::now() < *faults_.unavailable_until},
              {"update_delay_ms", faults_.update_delay.count()},
              {"drop_updates", faults_.drop_updates},
              {"held_calls", held_calls_.size()}}},
            {"counters", counters},
            {"frameworks", frameworks},
            {"agents", agents},
            {"outstanding_offers", offers_.size()},
            {"tasks_by_state", tasks_by_state},
            {"tasks", tasks},
            {"recent_calls", recent}};
}

json Master::latency() const {
    return {{"offer_to_accept", offer_to_accept_.summary()},
            {"offer_to_decline", offer_to_decline_.summary()},
            {"update_to_ack", update_to_ack_.summary()}};
}

HttpReply Master::handle_control(HttpRequest& request) {
    if (request.method == "GET" && request.path == "/fake/state")
        return json_reply(200, state());
    if (request.method == "GET" && request.path == "/fake/latency")
        return json_reply(200, latency());
    if (request.method == "GET" && request.path == "/fake/calls") {
        json out = json::array();
        for (const auto& c : calls_)
            out.push_back(call_json(c));
        return json_reply(200, out);
    }
    const std::string prefix = "/fake/control/";
    if (request.path.rfind(prefix, 0) != 0)
        return json_reply(404, {{"error", "no such path"}});
    if (request.method != "POST")
        return json_reply(405, {{"error", "use POST"}});
    json body = json::object();
    if (!request.body.empty()) {
        try {
            body = json::parse(request.body);
        } catch (const json::exception& e) {
            return json_reply(400, {{"error", std::string("body is not JSON: ") + e.what()}});
        }
        if (!body.is_object())
            return json_reply(400, {{"error", "body must be a JSON object"}});
    }
    const std::string fault = request.path.substr(prefix.size());
    try {
        if (fault == "drop-stream") {
            drop_streams();
        } else if (fault == "silent") {
            set_silent(body.value("silent", true));
        } else if (fault == "unavailable") {
            const std::string why = body.value("body", "Master has not finished recovery");
            if (body.contains("requests")) {
                answer_unavailable_requests(body["requests"].get<int>(), why);
            } else {
                answer_unavailable_for(std::chrono::milliseconds(static_cast<std::int64_t>(
                                           body.value("seconds", 5.0) * 1000)),
                                       why);
            }
        } else if (fault == "redirect") {
            redirect_to(body.value("to", ""));
        } else if (fault == "fail-over") {
            fail_over();
        } else if (fault == "malformed-record") {
            inject_stream_bytes(mesos::encode_record("{\"type\":\"UPDATE\",\"upd"));
        } else if (fault == "oversized-length") {
            inject_stream_bytes("99999999999999999\n{\"type\":\"HEARTBEAT\"}");
        } else if (fault == "bad-length-prefix") {
            inject_stream_bytes("2x\n{}");
        } else if (fault == "inject") {
            inject_stream_bytes(body.value("bytes", ""));
        } else if (fault == "rescind-offers") {
            rescind_all_offers();
        } else if (fault == "lose-agent" || fault == "restore-agent") {
            const std::string agent = body.value("agent", "");
            const bool done = fault == "lose-agent" ? lose_agent(agent) : restore_agent(agent);
            if (!done)
                return json_reply(404, {{"error", "no such agent in that state: " + agent}});
        } else if (fault == "delay-updates") {
            delay_status_updates(ms(body, "ms", 0));
        } else if (fault == "drop-updates") {
            drop_status_updates(body.value("count", 1));
        } else if (fault == "hold-calls") {
            fail_calls(body.value("type", "ACCEPT"), body.value("count", 1),
                       CallFault{CallFaultKind::hold});
        } else if (fault == "release-calls") {
            return json_reply(200, {{"ok", true}, {"released", release_held_calls()}});
        } else if (fault == "clear-faults") {
            clear_faults();
        } else if (fault == "task-rules") {
            const TaskBehavior base =
                behavior_from(body.value("default", json::object()), config_.default_task);
            std::vector<TaskRule> rules;
            for (const auto& r : body.value("rules", json::array())) {
                TaskRule rule;
                rule.command_contains = r.value("command_contains", "");
                rule.label = r.value("label", "");
                rule.task_id_prefix = r.value("task_id_prefix", "");
                rule.behavior = behavior_from(r, base);
                rules.push_back(std::move(rule));
            }
            set_task_rules(std::move(rules), base);
        } else if (fault == "finish-task") {
            if (!finish_task(body.value("task_id", ""), body.value("exit_code", 0))) {
                return json_reply(404, {{"error", "no running simulated task with that id"}});
            }
        } else if (fault == "heartbeat-interval") {
            set_heartbeat_interval(ms(body, "ms", 15000));
        } else if (fault == "allocation-interval") {
            set_allocation_interval(ms(body, "ms", 1000));
        } else {
            return json_reply(404, {{"error", "unknown control: " + fault}});
        }
    } catch (const json::exception& e) {
        return json_reply(400, {{"error", std::string("bad field: ") + e.what()}});
    }
    return json_reply(200, {{"ok", true}});
}

}  // namespace mesoflow::fake
