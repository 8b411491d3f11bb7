// OfferMatcher: places pending tasks into offers. Pure: no I/O, no clock.
//
// Order: tasks arrive sorted by priority, then age, and are placed in that
// order, each into the first agent (in offer order) with room for all it asks:
// cpus, mem, disk, gpus and a number of ports. A task that fits nowhere is
// skipped, never waited for; a later, smaller task may then still run. First
// fit fills an agent before the next one is opened, so whole agents stay free
// for big tasks.
//
// Roles: a task with a role only goes to offers allocated to that role; a task
// without one goes to any offer allocated to one of MatchOptions::roles (all
// offers when that list is empty). Offers allocated to other roles are left
// unused. Within an offer, resources reserved for the role are spent before
// unreserved ones. Revocable, shared and disk resources with DiskInfo
// (persistent volumes, mount disks) are never used.
//
// Constraints: see placement_constraints.hpp.
//
// Output: offers of one agent allocated to one role become ONE AgentPlan (one
// ACCEPT, listing all of them); offers with nothing planned are listed apart.
// Each launch lists what it takes as ResourceTakes that point into the offers
// given to match(): a MatchResult is only valid while those offers live (use
// it to build TaskInfos right away). PlannedLaunch::resources() turns the
// takes into Resources copied from the offer (role, reservations,
// allocation_info) with only the amount taken, so the master accepts them.
// (Copying whole Resources per launch was measured at 5-10x the cost of the
// matching itself; they are made once, into the TaskInfo.)
//
// Window: MatchOptions::max_launches bounds how many launch, not which tasks
// are looked at: a task no offer can hold never keeps a later one out.
//
// Why not: a task looked at and not placed is listed in MatchResult::unplaced
// with the reason (a few integers, no text; explain() words it). `crowded`
// says it fits an offer as offered, but the round's earlier launches took the
// room; every other reason says no offer of the round could ever hold it.
//
// Scalars are compared in Mesos' fixed point (three decimals), exactly.
// Not thread-safe (it keeps compiled constraint patterns: each match() is a
// round of its ConstraintChecker); one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/scheduler/placement_constraints.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::scheduler {

struct MatchOptions {
    std::vector<std::string> roles;  // the framework's roles; empty: take offers of any role
    // Most launches in one match; once reached, later tasks are not looked at.
    std::size_t max_launches = std::numeric_limits<std::size_t>::max();
    // The framework subscribed with GPU_RESOURCES (else no offer holds gpus).
    bool gpu_resources = true;
    // Maintenance: an offer announcing its agent unavailable from a start
    // (mesos::Offer::unavailability, a window not over at `now_us`) takes no
    // task that could still run then. A task with a timeout must be over by
    // the start (now_us + timeout_s <= start); one without, by now_us +
    // maintenance_margin_s.
    std::int64_t now_us = 0;  // microseconds since the epoch
    double maintenance_margin_s = 3600;
};

// Why a task looked at in a match was not placed.
enum class UnplacedWhy : std::uint8_t {
    crowded,            // an offer as offered holds it; earlier launches took the room
    too_large,          // `dimension` asks more than the largest offer's (`best`)
    not_together,       // each dimension fits some offer, no offer holds all together
    no_gpu_capability,  // gpus asked, the framework lacks GPU_RESOURCES
    role_not_offered,   // no offer of the task's role (or of the framework's roles)
    constraint_unmet,   // constraint number `constraint` is met by no offer of its role
    constraints_unmet,  // each constraint is met somewhere, all together nowhere
};

struct Unplaced {
    std::size_t index = 0;  // into the pending span
    UnplacedWhy why = UnplacedWhy::crowded;
    std::uint8_t dimension = 0;    // too_large: 0 cpus, 1 mem, 2 disk, 3 gpus, 4 ports
    std::int64_t need = 0;         // too_large: what the task asks (milli-units; ports: a count)
    std::int64_t best = 0;         // too_large: the largest offer's amount, same units
    std::uint32_t constraint = 0;  // constraint_unmet: index into the task's constraints
};

// The reason in words, for the task's row, e.g. "needs cpus 64, largest offer 8".
std::string explain(const Unplaced& unplaced, const task::TaskSpec& task);

// Part of one offered resource taken by a launch: `scalar` of a SCALAR
// resource, or the port range `range` of a RANGES resource.
struct ResourceTake {
    const mesos::Resource* offered = nullptr;  // points into the offers given to match()
    double scalar = 0;
    mesos::Range range;
};

struct PlannedLaunch {
    std::size_t index = 0;  // into the pending span
    int attempt = 0;        // TaskSpec::attempt + 1
    std::string mesos_task_id;
    std::vector<ResourceTake> takes;

    // The resources for the TaskInfo: one per offered resource touched, as
    // offered but holding only what was taken (port ranges merged).
    std::vector<mesos::Resource> resources() const;
};

struct AgentPlan {
    std::string agent_id;
    std::string hostname;
    std::string role;                    // the offers' allocation role
    std::vector<std::string> offer_ids;  // every offer of this agent and role
    std::vector<PlannedLaunch> launches;
};

struct MatchResult {
    std::vector<AgentPlan> plans;               // only plans with at least one launch
    std::vector<std::string> unused_offer_ids;  // offers nothing was planned into, in offer order
    std::vector<Unplaced> unplaced;             // tasks looked at and not placed, in task order
    bool limited = false;  // max_launches was reached before every task was looked at
    std::size_t launch_count() const;
};

class OfferMatcher {
  public:
    OfferMatcher();
    ~OfferMatcher();
    OfferMatcher(OfferMatcher&&) noexcept;
    OfferMatcher& operator=(OfferMatcher&&) noexcept;

    MatchResult match(std::span<const mesos::Offer> offers, std::span<const task::TaskSpec> pending,
                      const MatchOptions& options);
    // The result points into the offers: they may not be a temporary.
    MatchResult match(std::vector<mesos::Offer>&& offers, std::span<const task::TaskSpec> pending,
                      const MatchOptions& options) = delete;

    // Its patterns (for tests: how many rounds compiled).
    const ConstraintChecker& constraint_checker() const;

  private:
    struct Patterns;  // compiled constraint patterns, kept across calls
    std::unique_ptr<Patterns> patterns_;
};

}  // namespace mesoflow::scheduler
