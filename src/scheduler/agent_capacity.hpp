// AgentCapacity: what the offers of one agent, allocated to one role, still
// have to give while a match runs. It keeps each usable offered resource as a
// pool (reserved pools first, so reservations are spent before unreserved
// resources) and the per-dimension totals the first-fit search compares.
// Pools point into the offers; the offers must outlive the AgentCapacity and
// the ResourceTakes it hands out. Internal to the scheduler module.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "amounts.hpp"
#include "mesoflow/mesos/types.hpp"
#include "mesoflow/scheduler/offer_matcher.hpp"

namespace mesoflow::scheduler {

// True for resources reserved in either format (role != "*", a legacy
// dynamic reservation, or a refinement-format reservation stack).
bool is_reserved(const mesos::Resource& resource);

class AgentCapacity {
  public:
    AgentCapacity(const mesos::Offer& first, std::string_view role);

    // Adds the usable resources of another offer of the same agent and role.
    void add(const mesos::Offer& offer);
    // Puts reserved pools first; call once after the last add().
    void seal();

    const Amounts& left() const { return left_; }
    // What the offers held before any take (set by seal()).
    const Amounts& offered() const { return offered_; }
    const mesos::Offer& first_offer() const { return *first_; }
    std::string_view role() const { return role_; }

    // Takes `need`, which left() must cover, appending what it took.
    void take(const Amounts& need, std::vector<ResourceTake>& out);

  private:
    struct Pool {
        const mesos::Resource* offered;
        Dimension dimension;
        bool reserved;
        std::int64_t left;               // scalars, in milli-units
        std::vector<mesos::Range> free;  // ports, lowest first
    };
    void take_scalar(Dimension d, std::int64_t need, std::vector<ResourceTake>& out);
    void take_ports(std::int64_t need, std::vector<ResourceTake>& out);

    const mesos::Offer* first_;
    std::string_view role_;
    Amounts left_{};
    Amounts offered_{};
    std::vector<Pool> pools_;
};

}  // namespace mesoflow::scheduler
