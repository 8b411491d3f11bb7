#include "mesoflow/scheduler/offer_matcher.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>
#include <unordered_map>

namespace mesoflow::scheduler {
namespace {

// Mesos compares scalars in fixed point with three decimals.
constexpr double kEpsilon = 0.0005;
// Requirement shapes remembered as "fits nowhere this round" (unconstrained tasks).
constexpr std::size_t kMaxFailedShapes = 16;

double round3(double v) {
    return std::round(v * 1000.0) / 1000.0;
}

bool is_reserved(const mesos::Resource& r) {
    if (!r.reservations.empty() || r.reservation)
        return true;
    return r.role && *r.role != "*";
}

std::string offer_role(const mesos::Offer& o) {
    if (o.allocation_info && o.allocation_info->role)
        return *o.allocation_info->role;
    for (const auto& r : o.resources) {
        if (r.allocation_info && r.allocation_info->role)
            return *r.allocation_info->role;
    }
    return "*";
}

struct ScalarPool {
    const mesos::Resource* source;
    double left;
};

struct PortPool {
    const mesos::Resource* source;
    std::vector<mesos::Range> free;
};

struct ScalarKind {
    std::vector<ScalarPool> pools;
    double left = 0;

    void add(const mesos::Resource* r) {
        pools.push_back({r, r->scalar});
        left += r->scalar;
    }
    // Reserved resources are spent before unreserved ones: they are only
    // good for this role, while unreserved ones could serve any.
    void order() {
        std::stable_partition(pools.begin(), pools.end(),
                              [](const ScalarPool& p) { return is_reserved(*p.source); });
    }
    void take(double need, std::vector<mesos::Resource>& out) {
        if (need <= 0)
            return;
        left -= need;
        for (auto& p : pools) {
            if (need <= kEpsilon)
                break;
            if (p.left <= kEpsilon)
                continue;
            const double t = std::min(p.left, need);
            p.left -= t;
            need -= t;
            mesos::Resource r = *p.source;
            r.scalar = round3(t);
            out.push_back(std::move(r));
        }
    }
};

struct Slot {
    std::string agent_id;
    std::string hostname;
    std::string role;
    std::vector<std::string> offer_ids;
    const std::vector<mesos::Attribute>* attributes = nullptr;
    ScalarKind cpus, mem, disk, gpus;
    std::vector<PortPool> ports;
    std::uint64_t ports_left = 0;
    std::size_t plan = static_cast<std::size_t>(-1);

    bool fits(const store::TaskSpec& t) const {
        return cpus.left + kEpsilon >= t.cpus && mem.left + kEpsilon >= t.mem_mb &&
               disk.left + kEpsilon >= t.disk_mb && gpus.left + kEpsilon >= t.gpus &&
               ports_left >= static_cast<std::uint64_t>(std::max(0, t.ports));
    }

    void take_ports(int n, std::vector<mesos::Resource>& out) {
        ports_left -= static_cast<std::uint64_t>(n);
        for (auto& pool : ports) {
            if (n == 0)
                break;
            mesos::Resource r = *pool.source;
            r.ranges.clear();
            while (n > 0 && !pool.free.empty()) {
                auto& range = pool.free.front();
                const std::uint64_t available = range.end - range.begin + 1;
                const auto take = std::min<std::uint64_t>(available, static_cast<std::uint64_t>(n));
                r.ranges.push_back({range.begin, range.begin + take - 1});
                n -= static_cast<int>(take);
                if (take == available) {
                    pool.free.erase(pool.free.begin());
                } else {
                    range.begin += take;
                }
            }
            if (!r.ranges.empty())
                out.push_back(std::move(r));
        }
    }
};

void add_offer(Slot& slot, const mesos::Offer& o) {
    slot.offer_ids.push_back(o.id);
    for (const auto& r : o.resources) {
        if (r.revocable || r.shared || r.disk)
            continue;  // never used by plain tasks
        if (r.type == mesos::ValueType::scalar) {
            if (r.name == "cpus")
                slot.cpus.add(&r);
            else if (r.name == "mem")
                slot.mem.add(&r);
            else if (r.name == "disk")
                slot.disk.add(&r);
            else if (r.name == "gpus")
                slot.gpus.add(&r);
        } else if (r.type == mesos::ValueType::ranges && r.name == "ports") {
            slot.ports.push_back({&r, r.ranges});
            for (const auto& range : r.ranges) {
                if (range.end >= range.begin)
                    slot.ports_left += range.end - range.begin + 1;
            }
        }
    }
}

struct Shape {
    double cpus, mem, disk, gpus;
    int ports;
    std::string role;
    bool dominated_by(const store::TaskSpec& t) const {
        return t.role == role && t.cpus >= cpus && t.mem_mb >= mem && t.disk_mb >= disk &&
               t.gpus >= gpus && t.ports >= ports;
    }
};

bool full_match(const std::regex* re, const std::string& text) {
    return re != nullptr && std::regex_match(text, *re);
}

// Compiled constraint patterns, by pattern text; a pattern that does not
// compile is remembered as null and never matches.
struct CompiledPatterns {
    std::unordered_map<std::string, std::unique_ptr<std::regex>> compiled;

    const std::regex* get(const std::string& pattern) {
        auto it = compiled.find(pattern);
        if (it != compiled.end())
            return it->second.get();
        std::unique_ptr<std::regex> re;
        try {
            re = std::make_unique<std::regex>(pattern, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
            re.reset();
        }
        return compiled.emplace(pattern, std::move(re)).first->second.get();
    }
};

}  // namespace

struct OfferMatcher::RegexCache : CompiledPatterns {};

namespace {

const mesos::Attribute* find_attribute(const std::vector<mesos::Attribute>& attrs,
                                       const std::string& name) {
    for (const auto& a : attrs) {
        if (a.name == name)
            return &a;
    }
    return nullptr;
}

bool satisfies_with(const std::vector<store::Constraint>& constraints, const std::string& hostname,
                    const std::vector<mesos::Attribute>& attributes, CompiledPatterns& patterns) {
    for (const auto& c : constraints) {
        std::optional<std::string> value;
        if (c.attribute == "hostname") {
            value = hostname;
        } else if (const auto* a = find_attribute(attributes, c.attribute)) {
            value = attribute_text(*a);
        }
        bool ok = false;
        switch (c.op) {
            case store::Constraint::Op::equals:
                ok = value && *value == c.value;
                break;
            case store::Constraint::Op::not_equals:
                ok = !value || *value != c.value;
                break;
            case store::Constraint::Op::like:
                ok = value && full_match(patterns.get(c.value), *value);
                break;
            case store::Constraint::Op::unlike:
                ok = !value || !full_match(patterns.get(c.value), *value);
                break;
            case store::Constraint::Op::exists:
                ok = value.has_value();
                break;
        }
        if (!ok)
            return false;
    }
    return true;
}

}  // namespace

std::string attribute_text(const mesos::Attribute& a) {
    switch (a.type) {
        case mesos::ValueType::text:
            return a.text;
        case mesos::ValueType::scalar: {
            std::string s = std::to_string(round3(a.scalar));
            s.erase(s.find_last_not_of('0') + 1);
            if (!s.empty() && s.back() == '.')
                s.pop_back();
            return s;
        }
        case mesos::ValueType::set: {
            std::string s = "{";
            for (std::size_t i = 0; i < a.set.size(); ++i)
                s += (i ? "," : "") + a.set[i];
            return s + "}";
        }
        case mesos::ValueType::ranges: {
            std::string s = "[";
            for (std::size_t i = 0; i < a.ranges.size(); ++i) {
                s += (i ? "," : "") + std::to_string(a.ranges[i].begin) + "-" +
                     std::to_string(a.ranges[i].end);
            }
            return s + "]";
        }
    }
    return {};
}

bool satisfies(const std::vector<store::Constraint>& constraints, const std::string& hostname,
               const std::vector<mesos::Attribute>& attributes) {
    CompiledPatterns patterns;
    return satisfies_with(constraints, hostname, attributes, patterns);
}

OfferMatcher::OfferMatcher() : regexes_(std::make_unique<RegexCache>()) {}
OfferMatcher::~OfferMatcher() = default;
OfferMatcher::OfferMatcher(OfferMatcher&&) noexcept = default;
OfferMatcher& OfferMatcher::operator=(OfferMatcher&&) noexcept = default;

MatchResult OfferMatcher::match(std::span<const mesos::Offer> offers,
                                std::span<const store::TaskSpec> pending,
                                const MatchOptions& options) {
    MatchResult result;
    std::vector<Slot> slots;
    {
        std::unordered_map<std::string, std::size_t> by_key;
        by_key.reserve(offers.size());
        for (const auto& o : offers) {
            const std::string role = offer_role(o);
            if (!options.roles.empty() && role != "*" &&
                std::find(options.roles.begin(), options.roles.end(), role) ==
                    options.roles.end()) {
                result.unused_offer_ids.push_back(o.id);
                continue;
            }
            auto [it, fresh] = by_key.emplace(o.agent_id + '\n' + role, slots.size());
            if (fresh) {
                slots.emplace_back();
                slots.back().agent_id = o.agent_id;
                slots.back().hostname = o.hostname;
                slots.back().role = role;
                slots.back().attributes = &o.attributes;
            }
            add_offer(slots[it->second], o);
        }
    }
    for (auto& s : slots) {
        s.cpus.order();
        s.mem.order();
        s.disk.order();
        s.gpus.order();
    }

    double min_cpus = 0;
    double min_mem = 0;
    bool first = true;
    for (const auto& t : pending) {
        min_cpus = first ? t.cpus : std::min(min_cpus, t.cpus);
        min_mem = first ? t.mem_mb : std::min(min_mem, t.mem_mb);
        first = false;
    }

    std::vector<Shape> failed;
    std::size_t open_from = 0;  // slots before this are too full for any task
    for (std::size_t i = 0; i < pending.size(); ++i) {
        const auto& t = pending[i];
        const bool plain = t.constraints.empty();
        if (plain && std::any_of(failed.begin(), failed.end(),
                                 [&](const Shape& s) { return s.dominated_by(t); })) {
            continue;
        }
        while (open_from < slots.size() && (slots[open_from].cpus.left + kEpsilon < min_cpus ||
                                            slots[open_from].mem.left + kEpsilon < min_mem)) {
            ++open_from;
        }
        Slot* chosen = nullptr;
        for (std::size_t k = open_from; k < slots.size(); ++k) {
            Slot& s = slots[k];
            if (!t.role.empty() && s.role != t.role)
                continue;
            if (!s.fits(t))
                continue;
            if (!plain && !satisfies_with(t.constraints, s.hostname, *s.attributes, *regexes_))
                continue;
            chosen = &s;
            break;
        }
        if (chosen == nullptr) {
            if (plain && failed.size() < kMaxFailedShapes) {
                failed.push_back({t.cpus, t.mem_mb, t.disk_mb, t.gpus, t.ports, t.role});
            }
            continue;
        }
        PlannedLaunch launch;
        launch.index = i;
        launch.attempt = t.attempt + 1;
        launch.mesos_task_id = store::mesos_task_id(t.id, launch.attempt);
        chosen->cpus.take(t.cpus, launch.resources);
        chosen->mem.take(t.mem_mb, launch.resources);
        chosen->disk.take(t.disk_mb, launch.resources);
        chosen->gpus.take(t.gpus, launch.resources);
        if (t.ports > 0)
            chosen->take_ports(t.ports, launch.resources);
        if (chosen->plan == static_cast<std::size_t>(-1)) {
            chosen->plan = result.plans.size();
            result.plans.push_back(
                AgentPlan{chosen->agent_id, chosen->hostname, chosen->role, chosen->offer_ids, {}});
        }
        result.plans[chosen->plan].launches.push_back(std::move(launch));
    }
    for (const auto& s : slots) {
        if (s.plan == static_cast<std::size_t>(-1)) {
            result.unused_offer_ids.insert(result.unused_offer_ids.end(), s.offer_ids.begin(),
                                           s.offer_ids.end());
        }
    }
    return result;
}

}  // namespace mesoflow::scheduler
