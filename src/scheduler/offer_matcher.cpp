#include "mesoflow/scheduler/offer_matcher.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "agent_capacity.hpp"
#include "first_fit_tree.hpp"
#include "mesoflow/scheduler/placement_constraints.hpp"

namespace mesoflow::scheduler {

struct OfferMatcher::Patterns {
    ConstraintChecker checker;
};

namespace {

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
// Request shapes remembered per group as "fits nowhere": a later task that
// asks for at least as much in every dimension is skipped without a search.
constexpr std::size_t kMaxFailedShapes = 8;

std::string_view offer_role(const mesos::Offer& o) {
    if (o.allocation_info && o.allocation_info->role)
        return *o.allocation_info->role;
    for (const auto& r : o.resources) {
        if (r.allocation_info && r.allocation_info->role)
            return *r.allocation_info->role;
    }
    return "*";  // no allocation info: a framework without MULTI_ROLE
}

Amounts need_of(const task::TaskSpec& t) {
    return {to_milli(t.cpus), to_milli(t.mem_mb), to_milli(t.disk_mb), to_milli(t.gpus),
            std::max(0, t.ports)};
}

bool same_constraints(const std::vector<task::Constraint>& a,
                      const std::vector<task::Constraint>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const task::Constraint& x, const task::Constraint& y) {
                          return x.op == y.op && x.attribute == y.attribute && x.value == y.value;
                      });
}

struct AgentRoleHash {
    std::size_t operator()(const std::pair<std::string_view, std::string_view>& k) const {
        const std::size_t h = std::hash<std::string_view>{}(k.first);
        return h ^ (std::hash<std::string_view>{}(k.second) + 0x9e3779b97f4a7c15ULL + (h << 6) +
                    (h >> 2));
    }
};

// The agents a kind of task (one role filter, one constraint list) may use,
// with a first-fit index over them.
struct Group {
    std::vector<std::size_t> agents;  // indices into the capacities, ascending
    FirstFitTree tree;
    std::vector<Amounts> failed;
    Amounts best{};  // per dimension, the most any member offered
    // The members' amounts as offered, built at the first task that fails.
    std::optional<FirstFitTree> offered;
    // No member: why (role_not_offered, constraint_unmet or constraints_unmet).
    UnplacedWhy empty_why = UnplacedWhy::role_not_offered;
    std::uint32_t unmet_constraint = 0;

    bool known_to_fail(const Amounts& need) const {
        return std::any_of(failed.begin(), failed.end(),
                           [&](const Amounts& f) { return covers(need, f); });
    }
};

// One call of match(): the agents, the groups built so far, the plans.
class MatchRun {
  public:
    MatchRun(std::span<const mesos::Offer> offers, const MatchOptions& options,
             ConstraintChecker& checker)
        : offers_(offers), checker_(checker), options_(options) {
        index_offers(options);
        index_maintenance();
    }

    MatchResult run(std::span<const task::TaskSpec> pending) {
        for (std::size_t i = 0; i < pending.size(); ++i) {
            if (launches_ >= options_.max_launches) {
                result_.limited = true;
                break;
            }
            place(pending, i);
        }
        finish();
        return std::move(result_);
    }

  private:
    void index_offers(const MatchOptions& options) {
        std::unordered_map<std::pair<std::string_view, std::string_view>, std::size_t,
                           AgentRoleHash>
            by_agent_role;
        by_agent_role.reserve(offers_.size());
        capacities_.reserve(offers_.size());
        result_.plans.reserve(offers_.size());
        offer_agent_.assign(offers_.size(), kNone);
        for (std::size_t k = 0; k < offers_.size(); ++k) {
            const auto& o = offers_[k];
            const std::string_view role = offer_role(o);
            if (!options.roles.empty() && role != "*" &&
                std::find(options.roles.begin(), options.roles.end(), role) ==
                    options.roles.end()) {
                continue;  // not a role of this framework: left unused
            }
            auto [it, fresh] = by_agent_role.try_emplace({o.agent_id, role}, capacities_.size());
            if (fresh) {
                capacities_.emplace_back(o, role);
            } else {
                capacities_[it->second].add(o);
            }
            offer_agent_[k] = it->second;
        }
        for (auto& c : capacities_)
            c.seal();
        plan_of_.assign(capacities_.size(), kNone);
        memberships_.resize(capacities_.size());
        facts_.resize(capacities_.size());
    }

    // Each agent's earliest announced maintenance start that is not over at
    // now_us, and the distinct starts in order: a task must avoid the
    // agents whose start comes before it could be over, a prefix of them.
    void index_maintenance() {
        maintenance_rank_.assign(capacities_.size(), kNone);
        std::vector<std::int64_t> start_of(capacities_.size(), 0);
        std::vector<bool> announced(capacities_.size(), false);
        for (std::size_t k = 0; k < offers_.size(); ++k) {
            const std::size_t agent = offer_agent_[k];
            const auto& u = offers_[k].unavailability;
            if (agent == kNone || !u)
                continue;
            const std::int64_t start_us = u->start_ns / 1000;
            if (u->duration_ns && start_us + *u->duration_ns / 1000 <= options_.now_us)
                continue;  // the window is over
            if (!announced[agent] || start_us < start_of[agent])
                start_of[agent] = start_us;
            announced[agent] = true;
        }
        for (std::size_t a = 0; a < capacities_.size(); ++a) {
            if (announced[a])
                maintenance_starts_.push_back(start_of[a]);
        }
        std::sort(maintenance_starts_.begin(), maintenance_starts_.end());
        maintenance_starts_.erase(
            std::unique(maintenance_starts_.begin(), maintenance_starts_.end()),
            maintenance_starts_.end());
        for (std::size_t a = 0; a < capacities_.size(); ++a) {
            if (announced[a]) {
                maintenance_rank_[a] = static_cast<std::size_t>(
                    std::lower_bound(maintenance_starts_.begin(), maintenance_starts_.end(),
                                     start_of[a]) -
                    maintenance_starts_.begin());
            }
        }
    }

    // How many of the distinct maintenance starts come before the task could
    // be over: it avoids the agents of those.
    std::size_t maintenance_avoided(const task::TaskSpec& task) const {
        if (maintenance_starts_.empty())
            return 0;
        const double run_s = task.timeout_s ? *task.timeout_s : options_.maintenance_margin_s;
        // Beyond any start a clock can name: every announced agent is avoided.
        constexpr double kFarUs = 9.0e18;
        const double over_us = static_cast<double>(options_.now_us) + run_s * 1e6;
        if (!(over_us < kFarUs))
            return maintenance_starts_.size();
        const auto over = static_cast<std::int64_t>(over_us);
        // A start at or after the moment it is over is far enough.
        return static_cast<std::size_t>(
            std::lower_bound(maintenance_starts_.begin(), maintenance_starts_.end(), over) -
            maintenance_starts_.begin());
    }

    void place(std::span<const task::TaskSpec> pending, std::size_t i) {
        const auto& task = pending[i];
        const Amounts need = need_of(task);
        Group& group = groups_[group_for(task)];
        if (group.known_to_fail(need)) {
            not_placed(group, need, i);
            return;
        }
        const auto leaf = group.tree.first_fit(need);
        if (!leaf) {
            if (group.failed.size() < kMaxFailedShapes)
                group.failed.push_back(need);
            not_placed(group, need, i);
            return;
        }
        ++launches_;
        const std::size_t agent = group.agents[*leaf];
        AgentCapacity& capacity = capacities_[agent];

        PlannedLaunch launch;
        launch.index = i;
        launch.attempt = task.attempt + 1;
        launch.mesos_task_id = task::mesos_task_id(task.id, launch.attempt);
        scratch_.clear();
        capacity.take(need, scratch_);
        launch.takes.assign(scratch_.begin(), scratch_.end());  // exact size: launches add up
        for (const auto& [g, position] : memberships_[agent])
            groups_[g].tree.update(position, capacity.left());

        if (plan_of_[agent] == kNone) {
            plan_of_[agent] = result_.plans.size();
            AgentPlan plan;
            const auto& offer = capacity.first_offer();
            plan.agent_id = offer.agent_id;
            plan.hostname = offer.hostname;
            plan.role = capacity.role();
            plan.launches.reserve(expected_launches(capacity.left(), need, pending.size() - i));
            result_.plans.push_back(std::move(plan));
        }
        result_.plans[plan_of_[agent]].launches.push_back(std::move(launch));
    }

    // Lists a task that fits no agent of its group now, with the reason.
    void not_placed(Group& group, const Amounts& need, std::size_t i) {
        Unplaced u;
        u.index = i;
        if (need[kGpus] > 0 && !options_.gpu_resources) {
            u.why = UnplacedWhy::no_gpu_capability;
        } else if (group.agents.empty()) {
            u.why = group.empty_why;
            u.constraint = group.unmet_constraint;
        } else {
            std::size_t d = 0;
            while (d < kDimensions && need[d] <= group.best[d])
                ++d;
            if (d < kDimensions) {
                u.why = UnplacedWhy::too_large;
                u.dimension = static_cast<std::uint8_t>(d);
                u.need = need[d];
                u.best = group.best[d];
            } else {
                if (!group.offered) {
                    std::vector<Amounts> leaves;
                    leaves.reserve(group.agents.size());
                    for (std::size_t a : group.agents)
                        leaves.push_back(capacities_[a].offered());
                    group.offered.emplace(leaves);
                }
                u.why = group.offered->first_fit(need) ? UnplacedWhy::crowded
                                                       : UnplacedWhy::not_together;
            }
        }
        result_.unplaced.push_back(u);
    }

    // Why a group has no agent: no offer of its role, or a constraint (or
    // the constraints together) met by no offer of the role.
    void explain_empty(Group& group, std::string_view role,
                       const std::vector<task::Constraint>& constraints) {
        std::vector<std::size_t> of_role;
        for (std::size_t a = 0; a < capacities_.size(); ++a) {
            if (role.empty() || capacities_[a].role() == role)
                of_role.push_back(a);
        }
        if (of_role.empty()) {
            group.empty_why = UnplacedWhy::role_not_offered;
            return;
        }
        group.empty_why = UnplacedWhy::constraints_unmet;
        if (!within_pattern_bounds(constraints))
            return;  // never held: nothing is compiled to say which
        for (std::size_t k = 0; k < constraints.size(); ++k) {
            const bool met = std::any_of(of_role.begin(), of_role.end(), [&](std::size_t a) {
                return checker_.satisfied(constraints[k], facts(a));
            });
            if (!met) {
                group.empty_why = UnplacedWhy::constraint_unmet;
                group.unmet_constraint = static_cast<std::uint32_t>(k);
                return;
            }
        }
    }

    // How many launches an agent's plan will likely hold: this task plus as
    // many more of its shape as still fit (queues tend to repeat shapes).
    static std::size_t expected_launches(const Amounts& left, const Amounts& need,
                                         std::size_t remaining) {
        std::int64_t more = std::numeric_limits<std::int64_t>::max();
        for (std::size_t d = 0; d < kDimensions; ++d) {
            if (need[d] > 0)
                more = std::min(more, left[d] / need[d]);
        }
        const auto cap = static_cast<std::int64_t>(remaining);
        return static_cast<std::size_t>(1 + std::clamp<std::int64_t>(more, 0, cap - 1));
    }

    std::size_t group_for(const task::TaskSpec& task) {
        const std::size_t avoided = maintenance_avoided(task);
        if (task.role.empty() && task.constraints.empty() && avoided == 0) {
            if (any_group_ == kNone)
                any_group_ = build_group({}, {}, 0);
            return any_group_;
        }
        if (last_task_ != nullptr && last_task_->role == task.role && last_avoided_ == avoided &&
            same_constraints(last_task_->constraints, task.constraints)) {
            return last_group_;
        }
        std::string key = std::to_string(avoided);
        key += '\x1c';
        key += task.role;
        key += '\x1f';
        for (const auto& c : task.constraints) {
            key += c.attribute;
            key += '\x1e';
            key += static_cast<char>('0' + static_cast<int>(c.op));
            key += c.value;
            key += '\x1d';
        }
        auto it = group_by_key_.find(key);
        if (it == group_by_key_.end())
            it = group_by_key_
                     .emplace(std::move(key), build_group(task.role, task.constraints, avoided))
                     .first;
        last_task_ = &task;
        last_avoided_ = avoided;
        last_group_ = it->second;
        return it->second;
    }

    std::size_t build_group(std::string_view role, const std::vector<task::Constraint>& constraints,
                            std::size_t avoided) {
        Group group;
        auto admits = [&](std::size_t a) {
            return (maintenance_rank_[a] == kNone || maintenance_rank_[a] >= avoided) &&
                   (role.empty() || capacities_[a].role() == role) &&
                   (constraints.empty() || checker_.satisfied(constraints, facts(a)));
        };
        const auto equals = std::find_if(
            constraints.begin(), constraints.end(),
            [](const task::Constraint& c) { return c.op == task::Constraint::Op::equals; });
        if (equals != constraints.end()) {
            for (std::size_t a : agents_with(equals->attribute, equals->value)) {
                if (admits(a))
                    group.agents.push_back(a);
            }
        } else {
            for (std::size_t a = 0; a < capacities_.size(); ++a) {
                if (admits(a))
                    group.agents.push_back(a);
            }
        }
        std::vector<Amounts> leaves;
        leaves.reserve(group.agents.size());
        for (std::size_t a : group.agents) {
            leaves.push_back(capacities_[a].left());
            for (std::size_t d = 0; d < kDimensions; ++d)
                group.best[d] = std::max(group.best[d], capacities_[a].offered()[d]);
        }
        if (group.agents.empty())
            explain_empty(group, role, constraints);
        group.tree = FirstFitTree(leaves);
        const std::size_t id = groups_.size();
        for (std::size_t position = 0; position < group.agents.size(); ++position)
            memberships_[group.agents[position]].emplace_back(id, position);
        groups_.push_back(std::move(group));
        return id;
    }

    // Agents whose attribute `name` reads exactly `value`, ascending; an index
    // per attribute name, so pinning thousands of tasks to hosts stays cheap.
    const std::vector<std::size_t>& agents_with(const std::string& name, const std::string& value) {
        auto [by_value, fresh] = equals_index_.try_emplace(name);
        if (fresh) {
            for (std::size_t a = 0; a < capacities_.size(); ++a) {
                if (const std::string* text = facts(a).find(name))
                    by_value->second[*text].push_back(a);
            }
        }
        static const std::vector<std::size_t> kNoAgents;
        const auto it = by_value->second.find(value);
        return it == by_value->second.end() ? kNoAgents : it->second;
    }

    const AgentFacts& facts(std::size_t a) {
        if (!facts_[a]) {
            const auto& offer = capacities_[a].first_offer();
            facts_[a].emplace(offer.hostname, offer.attributes);
        }
        return *facts_[a];
    }

    void finish() {
        for (std::size_t k = 0; k < offers_.size(); ++k) {
            const std::size_t agent = offer_agent_[k];
            const std::size_t plan = agent == kNone ? kNone : plan_of_[agent];
            if (plan == kNone) {
                result_.unused_offer_ids.push_back(offers_[k].id);
            } else {
                result_.plans[plan].offer_ids.push_back(offers_[k].id);
            }
        }
    }

    std::span<const mesos::Offer> offers_;
    ConstraintChecker& checker_;
    const MatchOptions& options_;
    std::vector<std::int64_t> maintenance_starts_;  // distinct, ascending
    std::vector<std::size_t> maintenance_rank_;     // per capacity: its start's index, or kNone
    std::vector<AgentCapacity> capacities_;
    std::vector<std::size_t> offer_agent_;  // per offer: its capacity, or kNone
    std::vector<std::size_t> plan_of_;      // per capacity: its plan, or kNone
    // per capacity: (group, position in the group's tree)
    std::vector<std::vector<std::pair<std::size_t, std::size_t>>> memberships_;
    std::vector<std::optional<AgentFacts>> facts_;
    std::unordered_map<std::string, std::unordered_map<std::string, std::vector<std::size_t>>>
        equals_index_;
    std::vector<Group> groups_;
    std::unordered_map<std::string, std::size_t> group_by_key_;
    std::size_t any_group_ = kNone;
    const task::TaskSpec* last_task_ = nullptr;
    std::size_t last_group_ = kNone;
    std::size_t last_avoided_ = 0;
    std::vector<ResourceTake> scratch_;
    std::size_t launches_ = 0;
    MatchResult result_;
};

}  // namespace

std::vector<mesos::Resource> PlannedLaunch::resources() const {
    std::vector<mesos::Resource> out;
    out.reserve(takes.size());
    for (std::size_t i = 0; i < takes.size(); ++i) {
        const ResourceTake& take = takes[i];
        const bool ranges = take.offered->type == mesos::ValueType::ranges;
        if (ranges && i > 0 && takes[i - 1].offered == take.offered) {
            out.back().ranges.push_back(take.range);  // more ports of the same offered resource
            continue;
        }
        mesos::Resource r = *take.offered;
        if (ranges) {
            r.ranges = {take.range};
        } else {
            r.scalar = take.scalar;
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::string explain(const Unplaced& unplaced, const task::TaskSpec& task) {
    static constexpr std::string_view kNames[kDimensions] = {"cpus", "mem", "disk", "gpus",
                                                             "ports"};
    auto amount = [](std::size_t d, std::int64_t v) {
        if (d == kPorts)
            return std::to_string(v);
        std::string text = std::to_string(v / 1000);
        if (const auto frac = v % 1000; frac != 0) {
            std::string digits = std::to_string(1000 + frac).substr(1);
            while (digits.back() == '0')
                digits.pop_back();
            text += '.' + digits;
        }
        return text;
    };
    switch (unplaced.why) {
        case UnplacedWhy::crowded:
            return "fits an offer; other launches took it first";
        case UnplacedWhy::too_large: {
            const std::size_t d = std::min<std::size_t>(unplaced.dimension, kPorts);
            return "needs " + std::string(kNames[d]) + " " + amount(d, unplaced.need) +
                   ", largest offer " + amount(d, unplaced.best);
        }
        case UnplacedWhy::not_together:
            return "no single offer holds cpus " + amount(kCpus, to_milli(task.cpus)) + ", mem " +
                   amount(kMem, to_milli(task.mem_mb)) + ", disk " +
                   amount(kDisk, to_milli(task.disk_mb)) + ", gpus " +
                   amount(kGpus, to_milli(task.gpus)) + " and " +
                   std::to_string(std::max(0, task.ports)) + " ports together";
        case UnplacedWhy::no_gpu_capability:
            return "gpus asked, framework lacks GPU_RESOURCES";
        case UnplacedWhy::role_not_offered:
            if (task.role.empty())
                return "no offer of the framework's roles";
            return "role '" + task.role + "' not offered";
        case UnplacedWhy::constraint_unmet:
            if (unplaced.constraint < task.constraints.size()) {
                const auto& c = task.constraints[unplaced.constraint];
                return "constraint " + c.attribute + " " + std::string(task::to_string(c.op)) +
                       " " + c.value + " met by no offer";
            }
            return "a constraint met by no offer";
        case UnplacedWhy::constraints_unmet:
            return "constraints met together by no offer";
    }
    return "not placed";
}

std::size_t MatchResult::launch_count() const {
    std::size_t n = 0;
    for (const auto& p : plans)
        n += p.launches.size();
    return n;
}

OfferMatcher::OfferMatcher() : patterns_(std::make_unique<Patterns>()) {}
OfferMatcher::~OfferMatcher() = default;
OfferMatcher::OfferMatcher(OfferMatcher&&) noexcept = default;
OfferMatcher& OfferMatcher::operator=(OfferMatcher&&) noexcept = default;

const ConstraintChecker& OfferMatcher::constraint_checker() const {
    return patterns_->checker;
}

MatchResult OfferMatcher::match(std::span<const mesos::Offer> offers,
                                std::span<const task::TaskSpec> pending,
                                const MatchOptions& options) {
    patterns_->checker.begin_round();
    MatchRun run(offers, options, patterns_->checker);
    return run.run(pending);
}

}  // namespace mesoflow::scheduler
