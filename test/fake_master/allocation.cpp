// Offers: the allocation cycle, offer filters, DECLINE, SUPPRESS, REVIVE and
// RESCIND (after src/master/allocator/mesos/hierarchical.cpp, simplified to
// "each free agent goes whole to one framework role per cycle").
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "master.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/mesos/recordio.hpp"

namespace mesoflow::fake {

namespace {

constexpr double kMaxRefuseSeconds = 365.0 * 24 * 3600;

}  // namespace

double Master::refuse_seconds(const json& filters) const {
    double seconds = config_.default_refuse_seconds;
    if (filters.is_object() && filters.contains("refuse_seconds")) {
        seconds = filters["refuse_seconds"].get<double>();
        if (std::isnan(seconds) || seconds < 0)
            seconds = config_.default_refuse_seconds;
    }
    return std::min(seconds, kMaxRefuseSeconds);
}

void Master::request_allocation() {
    if (allocation_requested_ || shut_down_)
        return;
    allocation_requested_ = true;
    reactor_.post(notifying([this] {
        allocation_requested_ = false;
        allocate();
    }));
}

void Master::schedule_allocation_timer() {
    reactor_.cancel(allocation_timer_);
    allocation_timer_ = reactor_.after(config_.allocation_interval, notifying([this] {
                                           allocate();
                                           schedule_allocation_timer();
                                       }));
}

void Master::set_allocation_interval(std::chrono::milliseconds interval) {
    config_.allocation_interval = interval;
    schedule_allocation_timer();
}

bool Master::filtered(Framework& framework, std::size_t agent, const std::string& role,
                      const Resources& available, Clock::time_point now) {
    const auto it = framework.filters.find({agent, role});
    if (it == framework.filters.end())
        return false;
    auto& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [now](const Filter& f) { return f.expires <= now; }),
               list.end());
    if (list.empty()) {
        framework.filters.erase(it);
        return false;
    }
    // A filter refuses resources it covers; more resources (a task ended)
    // pass it, as in the hierarchical allocator.
    return std::any_of(list.begin(), list.end(),
                       [&](const Filter& f) { return f.refused.contains(available); });
}

json Master::offer_json(const Framework& framework, const Offer& offer) const {
    const Agent& agent = agents_[offer.agent];
    const bool multi_role = framework.caps.multi_role;
    json out = {
        {"id", {{"value", offer.id}}},
        {"framework_id", {{"value", framework.id}}},
        {"agent_id", {{"value", agent.id}}},
        {"hostname", agent.hostname},
        {"url",
         {{"scheme", "http"},
          {"address", {{"hostname", agent.hostname}, {"ip", "127.0.0.1"}, {"port", 5051}}},
          {"path", "/slave(1)"}}},
        {"resources", offer.resources.to_json(multi_role ? &offer.role : nullptr,
                                              !framework.caps.reservation_refinement)},
    };
    if (!agent.attributes.empty())
        out["attributes"] = agent.attributes;
    if (agent.spec.unavailable_from_ns) {
        json window = {{"start", {{"nanoseconds", *agent.spec.unavailable_from_ns}}}};
        if (agent.spec.unavailable_for_ns)
            window["duration"] = {{"nanoseconds", *agent.spec.unavailable_for_ns}};
        out["unavailability"] = window;
    }
    if (multi_role)
        out["allocation_info"] = {{"role", offer.role}};
    return out;
}

void Master::allocate() {
    if (shut_down_)
        return;
    std::vector<Framework*> eligible;
    for (auto& [id, framework] : frameworks_) {
        if (!framework->connected())
            continue;
        const bool any_role = std::any_of(
            framework->roles.begin(), framework->roles.end(),
            [&f = *framework](const std::string& r) { return f.suppressed.count(r) == 0; });
        if (any_role)
            eligible.push_back(framework.get());
    }
    if (eligible.empty() || agents_.empty())
        return;

    const auto now = Clock::now();
    std::map<Framework*, json> batches;
    std::size_t turn = allocation_cursor_++;
    for (std::size_t step = 0; step < agents_.size(); ++step) {
        Agent& agent = agents_[(allocation_cursor_ + step) % agents_.size()];
        if (agent.lost)
            continue;
        const Resources available = agent.available();
        if (!available.allocatable())
            continue;
        bool placed = false;
        for (std::size_t k = 0; k < eligible.size() && !placed; ++k) {
            Framework& framework = *eligible[(turn + k) % eligible.size()];
            if (agent.total.gpus_milli > 0 && !framework.caps.gpu_resources)
                continue;
            for (const auto& role : framework.roles) {
                if (framework.suppressed.count(role) > 0)
                    continue;
                if (filtered(framework, agent.index, role, available, now))
                    continue;
                Offer offer;
                offer.id = fmt::format("{}-O{}", master_id_, next_offer_++);
                offer.framework_id = framework.id;
                offer.agent = agent.index;
                offer.role = role;
                offer.resources = available;
                agent.offered += available;
                counters_.cpus_milli_offered += static_cast<std::uint64_t>(available.cpus_milli);
                framework.offers.insert(offer.id);
                auto& batch = batches[&framework];
                if (batch.is_null())
                    batch = json::array();
                batch.push_back(offer_json(framework, offer));
                offers_.emplace(offer.id, std::move(offer));
                placed = true;
                break;
            }
        }
        ++turn;
    }
    for (auto& [framework, offers] : batches) {
        counters_.offers_sent += offers.size();
        ++counters_.offer_events;
        std::vector<std::string> ids;
        ids.reserve(offers.size());
        for (const auto& o : offers)
            ids.push_back(o["id"]["value"].get<std::string>());
        send_event(*framework, {{"type", "OFFERS"}, {"offers", {{"offers", std::move(offers)}}}});
        const auto sent = Clock::now();
        for (const auto& id : ids)
            offers_.at(id).sent_at = sent;
    }
}

void Master::remove_offer(const std::string& offer_id, bool rescind) {
    const auto it = offers_.find(offer_id);
    if (it == offers_.end())
        return;
    Offer offer = std::move(it->second);
    offers_.erase(it);
    agents_[offer.agent].offered -= offer.resources;
    Framework* framework = find_framework(offer.framework_id);
    if (framework == nullptr)
        return;
    framework->offers.erase(offer_id);
    if (rescind) {
        ++counters_.offers_rescinded;
        send_event(*framework,
                   {{"type", "RESCIND"}, {"rescind", {{"offer_id", {{"value", offer_id}}}}}});
    }
}

void Master::recover(Offer& offer, const Resources& unused, std::optional<double> refuse) {
    if (!refuse || *refuse <= 0 || unused.empty())
        return;
    Framework* framework = find_framework(offer.framework_id);
    if (framework == nullptr)
        return;
    // A filter lasts at least one allocation cycle.
    const auto duration = std::max<Clock::duration>(
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*refuse)),
        config_.allocation_interval);
    framework->filters[{offer.agent, offer.role}].push_back(
        Filter{Clock::now() + duration, unused});
}

void Master::decline(Framework& framework, const json& call) {
    const double refuse = refuse_seconds(call.value("filters", json::object()));
    for (const auto& id : call.value("offer_ids", json::array())) {
        const std::string offer_id = id.value("value", "");
        const auto it = offers_.find(offer_id);
        if (it == offers_.end() || it->second.framework_id != framework.id) {
            log::debug("fake_master_decline_ignored", "offer={} reason={}", offer_id,
                       log::quote("no longer valid"));
            continue;
        }
        Offer offer = it->second;
        offer_to_decline_.add(Clock::now() - offer.sent_at);
        remove_offer(offer_id, false);
        recover(offer, offer.resources, refuse);
        ++counters_.offers_declined;
    }
}

namespace {

// SUPPRESS and REVIVE drop the whole call if one role is bad.
std::optional<std::set<std::string>> call_roles(const Framework& framework, const json& call,
                                                const char* what) {
    std::set<std::string> roles;
    for (const auto& r : call.value("roles", json::array())) {
        const std::string role = r.get<std::string>();
        if (auto e = validate_role(role)) {
            log::warn("fake_master_call_dropped", "framework={} reason={}", framework.id,
                      log::quote(fmt::format("{} role '{}' is invalid: {}", what, role, *e)));
            return std::nullopt;
        }
        if (std::find(framework.roles.begin(), framework.roles.end(), role) ==
            framework.roles.end()) {
            log::warn("fake_master_call_dropped", "framework={} reason={}", framework.id,
                      log::quote(fmt::format("{} role '{}' is not one of the frameworks's "
                                             "subscribed roles",
                                             what, role)));
            return std::nullopt;
        }
        roles.insert(role);
    }
    if (roles.empty())
        roles.insert(framework.roles.begin(), framework.roles.end());
    return roles;
}

}  // namespace

void Master::revive(Framework& framework, const json& call) {
    const auto roles = call_roles(framework, call, "revive");
    if (!roles)
        return;
    for (const auto& role : *roles) {
        framework.suppressed.erase(role);
        for (auto it = framework.filters.begin(); it != framework.filters.end();) {
            it = it->first.second == role ? framework.filters.erase(it) : std::next(it);
        }
    }
    request_allocation();
}

void Master::suppress(Framework& framework, const json& call) {
    const auto roles = call_roles(framework, call, "suppression");
    if (!roles)
        return;
    framework.suppressed.insert(roles->begin(), roles->end());
}

}  // namespace mesoflow::fake
