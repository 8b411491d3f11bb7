// Master: construction, agents, lookups and the small helpers every part uses.
#include "master.hpp"

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>

#include "encoding.hpp"
#include "local_tasks.hpp"
#include "mesoflow/common/log.hpp"

namespace mesoflow::fake {

namespace {

json attribute_json(const std::string& name, const std::string& value) {
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    if (!value.empty() && end != nullptr && *end == '\0') {
        return {{"name", name}, {"type", "SCALAR"}, {"scalar", {{"value", number}}}};
    }
    return {{"name", name}, {"type", "TEXT"}, {"text", {{"value", value}}}};
}

}  // namespace

Master::Master(Reactor& reactor, FakeMasterConfig config)
    : reactor_(reactor), config_(std::move(config)) {
    master_id_ = random_uuid_string();
    id_prefix_ = master_id_;
    advertised_host_ =
        config_.advertised_hostname.empty() ? config_.host : config_.advertised_hostname;
    agents_.reserve(config_.agents.size());
    for (std::size_t i = 0; i < config_.agents.size(); ++i) {
        const AgentSpec& spec = config_.agents[i];
        Agent agent;
        agent.index = i;
        agent.id = fmt::format("{}-S{}", id_prefix_, i);
        agent.hostname = spec.hostname.empty() ? fmt::format("agent-{}.fake", i) : spec.hostname;
        agent.spec = spec;
        std::vector<PortRange> ports;
        for (const auto& [b, e] : spec.ports)
            ports.push_back({b, e});
        agent.total =
            Resources::of(spec.cpus, spec.mem, spec.disk, spec.gpus, RangeSet(std::move(ports)));
        for (const auto& [name, value] : spec.attributes) {
            agent.attributes.push_back(attribute_json(name, value));
        }
        agents_.push_back(std::move(agent));
    }
    if (config_.local) {
        local_ = std::make_unique<LocalTasks>(*this, config_.sandbox_root, config_.container_tasks);
    }
}

Master::~Master() = default;

void Master::start(int port) {
    port_ = port;
    schedule_allocation_timer();
    log::info("fake_master_started", "address={}:{} agents={} master={} local={}", config_.host,
              port_, agents_.size(), master_id_, config_.local);
}

void Master::shutdown() {
    shut_down_ = true;
    reactor_.cancel(allocation_timer_);
    for (auto& [id, framework] : frameworks_)
        framework->stream.reset();
    local_.reset();
}

std::function<void()> Master::notifying(std::function<void()> fn) {
    return [this, fn = std::move(fn)] {
        if (shut_down_)
            return;
        fn();
        changed();
    };
}

std::int64_t Master::now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double Master::now_seconds() const {
    return static_cast<double>(now_ns()) / 1e9;
}

Framework* Master::find_framework(const std::string& id) {
    const auto it = frameworks_.find(id);
    return it == frameworks_.end() ? nullptr : it->second.get();
}

Agent* Master::agent_by_id(const std::string& id) {
    // Agent ids are "<first master id>-S<index>".
    const std::string prefix = id_prefix_ + "-S";
    if (id.rfind(prefix, 0) != 0)
        return nullptr;
    const std::string digits = id.substr(prefix.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
        digits.size() > 9) {
        return nullptr;
    }
    const std::size_t index = std::stoul(digits);
    return index < agents_.size() ? &agents_[index] : nullptr;
}

Agent* Master::find_agent(const std::string& which) {
    if (Agent* agent = agent_by_id(which))
        return agent;
    for (auto& agent : agents_) {
        if (agent.hostname == which)
            return &agent;
    }
    if (!which.empty() && which.find_first_not_of("0123456789") == std::string::npos &&
        which.size() < 10) {
        const std::size_t index = std::stoul(which);
        if (index < agents_.size())
            return &agents_[index];
    }
    return nullptr;
}

}  // namespace mesoflow::fake
