// SUBSCRIBE, scheduler failover, disconnection, the failover timeout,
// TEARDOWN, UPDATE_FRAMEWORK and heartbeats (src/master/master.cpp
// `subscribe`, `_subscribe`, `failoverFramework`, `_exited`,
// `removeFramework`, `updateFramework`).
#include <fmt/core.h>

#include <cmath>

#include "encoding.hpp"
#include "master.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/mesos/recordio.hpp"

namespace mesoflow::fake {

namespace {

// Timers cannot wait for ever; a failover timeout beyond this is "never".
constexpr double kMaxFailoverTimerSeconds = 365.0 * 24 * 3600;

Capabilities parse_capabilities(const json& info) {
    Capabilities caps;
    for (const auto& c : info.value("capabilities", json::array())) {
        const std::string type = c.value("type", "");
        if (type == "MULTI_ROLE")
            caps.multi_role = true;
        if (type == "PARTITION_AWARE")
            caps.partition_aware = true;
        if (type == "TASK_KILLING_STATE")
            caps.task_killing_state = true;
        if (type == "GPU_RESOURCES")
            caps.gpu_resources = true;
        if (type == "RESERVATION_REFINEMENT")
            caps.reservation_refinement = true;
        if (type == "REGION_AWARE")
            caps.region_aware = true;
    }
    return caps;
}

std::vector<std::string> framework_roles(const json& info) {
    if (parse_capabilities(info).multi_role) {
        return info.value("roles", std::vector<std::string>{});
    }
    return {info.value("role", std::string("*"))};
}

std::optional<std::string> validate_options(const std::vector<std::string>& roles,
                                            const json& suppressed_roles,
                                            const json& offer_constraints) {
    const std::set<std::string> valid(roles.begin(), roles.end());
    std::set<std::string> invalid;
    for (const auto& r : suppressed_roles) {
        if (valid.count(r.get<std::string>()) == 0)
            invalid.insert(r.get<std::string>());
    }
    if (!invalid.empty()) {
        return "Suppressed roles " + stringify_set(invalid) +
               " are not contained in the set of roles";
    }
    if (offer_constraints.is_object() && offer_constraints.contains("role_constraints") &&
        offer_constraints["role_constraints"].is_object()) {
        for (const auto& [role, constraints] : offer_constraints["role_constraints"].items()) {
            (void)constraints;
            if (valid.count(role) == 0) {
                return "Offer constraints specify `role_constraints` for a role '" + role +
                       "'not contained in the set of roles";
            }
        }
    }
    return std::nullopt;
}

std::string error_record(const std::string& message) {
    return mesos::encode_record(json{{"type", "ERROR"}, {"error", {{"message", message}}}}.dump());
}

}  // namespace

json Master::master_info() const {
    // MasterInfo.ip is the IPv4 address in network byte order, read natively.
    std::uint32_t ip = 0x0100007f;  // 127.0.0.1
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (std::sscanf(config_.host.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) == 4) {
        ip = (d << 24) | (c << 16) | (b << 8) | a;
    }
    return {{"id", master_id_},
            {"ip", ip},
            {"port", port_},
            {"pid", fmt::format("master@{}:{}", config_.host, port_)},
            {"hostname", advertised_host_},
            {"version", config_.version},
            {"address", {{"hostname", advertised_host_}, {"ip", config_.host}, {"port", port_}}},
            {"capabilities", json::array({{{"type", "AGENT_UPDATE"}},
                                          {{"type", "AGENT_DRAINING"}},
                                          {{"type", "QUOTA_V2"}}})}};
}

std::optional<std::string> Master::validate_framework_info(const json& info) const {
    const Capabilities caps = parse_capabilities(info);
    const auto roles = info.value("roles", std::vector<std::string>{});
    if (caps.multi_role) {
        if (info.contains("role")) {
            return std::string(
                "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable");
        }
        std::set<std::string> seen;
        std::set<std::string> duplicates;
        for (const auto& r : roles) {
            if (!seen.insert(r).second)
                duplicates.insert(r);
        }
        if (!duplicates.empty()) {
            return "'FrameworkInfo.roles' contains duplicate items: " + stringify_set(duplicates);
        }
        for (const auto& r : roles) {
            if (auto e = validate_role(r))
                return "'FrameworkInfo.roles' contains invalid role: " + *e;
        }
    } else {
        if (!roles.empty()) {
            return std::string(
                "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE "
                "capable");
        }
        if (auto e = validate_role(info.value("role", std::string("*")))) {
            return "'FrameworkInfo.role' is not a valid role: " + *e;
        }
    }
    const std::string id = id_value(info, "id");
    if (!id.empty()) {
        if (auto e = validate_id(id))
            return e;
    }
    const double timeout = info.value("failover_timeout", 0.0);
    if (!std::isfinite(timeout) || std::fabs(timeout) * 1e9 >= 9.2e18) {
        return fmt::format("The framework failover_timeout ({}) is invalid", timeout);
    }
    return std::nullopt;
}

void Master::apply_framework_info(Framework& framework, const json& info,
                                  const json& suppressed_roles) {
    framework.info = info;
    framework.name = info.value("name", "");
    framework.user = info.value("user", "");
    framework.checkpoint = info.value("checkpoint", false);
    framework.principal = info.contains("principal")
                              ? std::optional<std::string>(info["principal"].get<std::string>())
                              : std::nullopt;
    framework.caps = parse_capabilities(info);
    framework.roles = framework_roles(info);
    framework.failover_timeout = info.value("failover_timeout", 0.0);
    framework.suppressed.clear();
    for (const auto& r : suppressed_roles)
        framework.suppressed.insert(r.get<std::string>());
}

HttpReply Master::subscribe(json& call, const std::optional<std::string>& principal) {
    json& info = call["subscribe"]["framework_info"];
    if (principal && !info.contains("principal"))
        info["principal"] = *principal;
    const std::string stream_id = random_uuid_string();
    HttpReply reply;
    reply.response.status = 200;
    reply.response.headers.emplace_back("Content-Type", "application/json");
    reply.response.headers.emplace_back("Mesos-Stream-Id", stream_id);
    reply.start_stream = [this, call = std::move(call),
                          stream_id](std::shared_ptr<EventStream> stream) mutable {
        start_subscription(std::move(call), stream_id, std::move(stream));
    };
    return reply;
}

void Master::start_subscription(json call, std::string stream_id,
                                std::shared_ptr<EventStream> stream) {
    const json& sub = call["subscribe"];
    json info = sub["framework_info"];
    const json suppressed_roles = sub.value("suppressed_roles", json::array());
    auto refuse = [&](const std::string& message) {
        log::info("fake_master_subscription_refused", "name={} reason={}",
                  log::quote(info.value("name", "")), log::quote(message));
        ++counters_.refused_subscriptions;
        ++counters_.events;
        stream->write(error_record(message));
        stream->end();
    };
    if (auto error = validate_framework_info(info))
        return refuse(*error);
    std::string id = id_value(info, "id");
    if (!id.empty() && std::find(completed_frameworks_.begin(), completed_frameworks_.end(), id) !=
                           completed_frameworks_.end()) {
        return refuse("Framework has been removed");
    }
    if (auto error = validate_options(framework_roles(info), suppressed_roles,
                                      sub.value("offer_constraints", json::object()))) {
        return refuse(*error);
    }

    Framework* framework = nullptr;
    if (id.empty()) {
        id = fmt::format("{}-{:04}", master_id_, next_framework_++);
        info["id"] = {{"value", id}};
        auto created = std::make_unique<Framework>();
        created->id = id;
        framework = created.get();
        frameworks_.emplace(id, std::move(created));
    } else {
        framework = find_framework(id);
        if (framework == nullptr) {
            // Unknown id: the master reconstructs the framework, as after a
            // master failover before any agent reported it.
            auto created = std::make_unique<Framework>();
            created->id = id;
            created->recovered = true;
            framework = created.get();
            frameworks_.emplace(id, std::move(created));
        } else {
            if (framework->principal != (info.contains("principal")
                                             ? std::optional<std::string>(info["principal"])
                                             : std::nullopt)) {
                return refuse("Changing framework's principal is not allowed.");
            }
            // user and checkpoint cannot change; SUBSCRIBE silently keeps them.
            info["user"] = framework->user;
            info["checkpoint"] = framework->checkpoint;
        }
        if (framework->connected()) {
            ++counters_.events;
            framework->stream->write(error_record("Framework failed over"));
            auto old = std::move(framework->stream);
            old->end();
        }
        for (const auto& offer_id :
             std::vector<std::string>(framework->offers.begin(), framework->offers.end())) {
            remove_offer(offer_id, false);
        }
    }
    apply_framework_info(*framework, info, suppressed_roles);
    log::info("fake_master_subscribed", "framework={} name={} stream={}", framework->id,
              log::quote(framework->name), stream_id);
    connect(*framework, std::move(stream), stream_id);
}

void Master::connect(Framework& framework, std::shared_ptr<EventStream> stream,
                     const std::string& stream_id) {
    framework.stream = std::move(stream);
    framework.stream_id = stream_id;
    framework.recovered = false;
    const std::uint64_t generation = ++framework.connection_generation;
    reactor_.cancel(framework.failover_timer);
    framework.failover_timer = 0;
    framework.stream->set_paused(faults_.silent);
    framework.stream->on_close(
        [this, id = framework.id, generation] { on_stream_closed(id, generation); });
    send_event(framework, {{"type", "SUBSCRIBED"},
                           {"subscribed",
                            {{"framework_id", {{"value", framework.id}}},
                             {"heartbeat_interval_seconds",
                              static_cast<double>(config_.heartbeat_interval.count()) / 1000.0},
                             {"master_info", master_info()}}}});
    ++counters_.subscriptions;
    // The heartbeater sends its first HEARTBEAT at once.
    send(framework, mesos::encode_record(R"({"type":"HEARTBEAT"})"));
    ++counters_.heartbeats;
    schedule_heartbeat(framework);
    request_allocation();
}

void Master::schedule_heartbeat(Framework& framework) {
    reactor_.cancel(framework.heartbeat_timer);
    framework.heartbeat_timer = reactor_.after(
        config_.heartbeat_interval,
        notifying([this, id = framework.id, generation = framework.connection_generation] {
            Framework* f = find_framework(id);
            if (f == nullptr || !f->connected() || f->connection_generation != generation)
                return;
            if (!faults_.silent) {
                send(*f, mesos::encode_record(R"({"type":"HEARTBEAT"})"));
                ++counters_.heartbeats;
            }
            schedule_heartbeat(*f);
        }));
}

void Master::set_heartbeat_interval(std::chrono::milliseconds interval) {
    config_.heartbeat_interval = interval;
    for (auto& [id, framework] : frameworks_) {
        if (framework->connected())
            schedule_heartbeat(*framework);
    }
}

void Master::on_stream_closed(const std::string& framework_id, std::uint64_t generation) {
    Framework* framework = find_framework(framework_id);
    if (framework == nullptr || !framework->connected() ||
        framework->connection_generation != generation) {
        return;
    }
    disconnect(*framework);
    changed();
}

void Master::disconnect(Framework& framework) {
    log::info("fake_master_framework_disconnected", "framework={} failover_timeout={}",
              framework.id, framework.failover_timeout);
    framework.stream.reset();
    reactor_.cancel(framework.heartbeat_timer);
    framework.heartbeat_timer = 0;
    for (const auto& offer_id :
         std::vector<std::string>(framework.offers.begin(), framework.offers.end())) {
        remove_offer(offer_id, false);
    }
    const double seconds = std::clamp(framework.failover_timeout, 0.0, kMaxFailoverTimerSeconds);
    framework.failover_timer = reactor_.after(
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)),
        notifying([this, id = framework.id, generation = framework.connection_generation] {
            Framework* f = find_framework(id);
            if (f == nullptr || f->connected() || f->recovered ||
                f->connection_generation != generation) {
                return;
            }
            log::info("fake_master_failover_timeout", "framework={}", id);
            remove_framework(*f);
        }));
}

void Master::remove_framework(Framework& framework) {
    const std::string id = framework.id;
    std::vector<Task*> tasks;
    for (auto& [task_id, task] : framework.tasks)
        tasks.push_back(task.get());
    for (Task* task : tasks)
        remove_task(*task);
    for (const auto& offer_id :
         std::vector<std::string>(framework.offers.begin(), framework.offers.end())) {
        remove_offer(offer_id, false);
    }
    reactor_.cancel(framework.heartbeat_timer);
    reactor_.cancel(framework.failover_timer);
    if (framework.stream) {
        auto stream = std::move(framework.stream);
        stream->end();
    }
    completed_frameworks_.push_back(id);
    while (completed_frameworks_.size() > config_.max_completed_frameworks) {
        completed_frameworks_.pop_front();
    }
    frameworks_.erase(id);
}

HttpReply Master::update_framework(Framework& framework, const json& call) {
    auto bad_request = [](std::string body) {
        HttpReply reply;
        reply.response.status = 400;
        reply.response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
        reply.response.body = std::move(body);
        return reply;
    };
    const json& info = call["framework_info"];
    if (auto error = validate_framework_info(info)) {
        return bad_request("Supplied FrameworkInfo is not valid: " + *error);
    }
    const std::optional<std::string> principal =
        info.contains("principal") ? std::optional<std::string>(info["principal"]) : std::nullopt;
    if (principal != framework.principal) {
        return bad_request(
            "FrameworkInfo update is not valid: Changing framework's principal is not allowed.");
    }
    if (info.value("user", "") != framework.user) {
        return bad_request(
            "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is "
            "unsupported; attempted to update from '" +
            framework.user + "' to '" + info.value("user", "") + "'");
    }
    if (info.value("checkpoint", false) != framework.checkpoint) {
        return bad_request(
            fmt::format("FrameworkInfo update is not valid: Updating 'FrameworkInfo.checkpoint' is "
                        "unsupported; attempted to update from '{}' to '{}'",
                        framework.checkpoint, info.value("checkpoint", false)));
    }
    const json suppressed_roles = call.value("suppressed_roles", json::array());
    if (auto error = validate_options(framework_roles(info), suppressed_roles,
                                      call.value("offer_constraints", json::object()))) {
        return bad_request("'UpdateFramework' call is not valid: " + *error);
    }
    const std::set<std::string> was_suppressed = framework.suppressed;
    apply_framework_info(framework, info, suppressed_roles);
    const std::set<std::string> roles(framework.roles.begin(), framework.roles.end());
    for (const auto& offer_id :
         std::vector<std::string>(framework.offers.begin(), framework.offers.end())) {
        if (roles.count(offers_.at(offer_id).role) == 0)
            remove_offer(offer_id, true);
    }
    for (const auto& role : was_suppressed) {
        if (framework.suppressed.count(role) > 0)
            continue;
        for (auto it = framework.filters.begin(); it != framework.filters.end();) {
            it = it->first.second == role ? framework.filters.erase(it) : std::next(it);
        }
    }
    request_allocation();
    HttpReply reply;
    reply.response.status = 200;
    return reply;
}

void Master::send(Framework& framework, const std::string& record) {
    if (!framework.connected())
        return;
    framework.stream->write(record);
    ++counters_.events;
}

void Master::send_event(Framework& framework, const json& event) {
    send(framework, mesos::encode_record(event.dump()));
}

}  // namespace mesoflow::fake
