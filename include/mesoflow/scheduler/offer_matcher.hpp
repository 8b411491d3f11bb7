// OfferMatcher: places pending tasks into offers. Pure: no I/O, no clock.
//
// Tasks arrive sorted by priority, then age, and are placed in that order;
// a task that fits nowhere is skipped, never waited for. Several tasks share
// an offer (first fit: an agent is filled before the next one is opened, so
// whole agents stay free for big tasks). Offers of one agent allocated to one
// role are merged into one AgentPlan, i.e. one ACCEPT. Each planned launch
// carries the exact resources it takes, copied from the offer with their
// role, reservations and allocation_info, so the master accepts them as is.
//
// Not thread-safe (it caches compiled constraint regexes); one per thread.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/store/task.hpp"

namespace mesoflow::scheduler {

struct MatchOptions {
    std::vector<std::string> roles;  // the framework's roles; a task without role takes any
};

struct PlannedLaunch {
    std::size_t index = 0;  // into the pending span
    int attempt = 0;        // TaskSpec::attempt + 1
    std::string mesos_task_id;
    std::vector<mesos::Resource> resources;
};

struct AgentPlan {
    std::string agent_id;
    std::string hostname;
    std::string role;
    std::vector<std::string> offer_ids;
    std::vector<PlannedLaunch> launches;
};

struct MatchResult {
    std::vector<AgentPlan> plans;               // only plans with at least one launch
    std::vector<std::string> unused_offer_ids;  // offers nothing was planned into
};

class OfferMatcher {
  public:
    OfferMatcher();
    ~OfferMatcher();
    OfferMatcher(OfferMatcher&&) noexcept;
    OfferMatcher& operator=(OfferMatcher&&) noexcept;

    MatchResult match(std::span<const mesos::Offer> offers,
                      std::span<const store::TaskSpec> pending, const MatchOptions& options);

  private:
    struct RegexCache;
    std::unique_ptr<RegexCache> regexes_;
};

// True when the agent (attributes + hostname) satisfies every constraint.
// `like`/`unlike` use full-match ECMAScript regexes; a regex that does not
// compile never matches.
bool satisfies(const std::vector<store::Constraint>& constraints, const std::string& hostname,
               const std::vector<mesos::Attribute>& attributes);

// The text form of an attribute value used by constraints: TEXT as is,
// SCALAR without trailing zeros ("2", "2.5"), SET as "{a,b}", RANGES as "[1-3,5-9]".
std::string attribute_text(const mesos::Attribute& attribute);

}  // namespace mesoflow::scheduler
