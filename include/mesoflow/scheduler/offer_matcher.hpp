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
// Scalars are compared in Mesos' fixed point (three decimals), exactly.
// Not thread-safe (it caches compiled constraint patterns); one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::scheduler {

struct MatchOptions {
    std::vector<std::string> roles;  // the framework's roles; empty: take offers of any role
    // Maintenance: an offer announcing its agent unavailable from a start
    // (mesos::Offer::unavailability, a window not over at `now_us`) takes no
    // task that could still run then. A task with a timeout must be over by
    // the start (now_us + timeout_s <= start); one without, by now_us +
    // maintenance_margin_s.
    std::int64_t now_us = 0;  // microseconds since the epoch
    double maintenance_margin_s = 3600;
};

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

  private:
    struct Patterns;  // compiled constraint patterns, kept across calls
    std::unique_ptr<Patterns> patterns_;
};

}  // namespace mesoflow::scheduler
