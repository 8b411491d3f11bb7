// Holding an agent for a large task, so a stream of smaller tasks cannot
// starve it. Pure: what the offers held and what the task asks go in.
//
// A claimed task that no offer could hold for `unplaceable_after` (too
// large, or not together, for what the agents offer now) while some agent
// once offered enough gets that agent held: mesoflow launches nothing else
// there, and declines its offers with a short filter, until an offer of it
// holds the task (its own tasks there end, the master offers the freed
// resources again), then tries the task first. The agent held is the one
// whose largest offer holds the task with the least to spare (best fit). One
// agent at a time; the hold ends when the task leaves the claimed window.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mesoflow/scheduler/fair_share.hpp"

namespace mesoflow::scheduler {

// Every amount of `need` fits in `have` (Mesos' three decimals).
bool holds(const Demand& have, const Demand& need);

// The most each agent's offers held at once, per resource.
class AgentRoom {
  public:
    // What one agent's offers of a round hold together.
    void offered(const std::string& agent_id, const Demand& together);
    void forget(const std::string& agent_id) { largest_.erase(agent_id); }
    const std::map<std::string, Demand, std::less<>>& largest() const { return largest_; }

  private:
    std::map<std::string, Demand, std::less<>> largest_;
};

// Which of the tasks waiting for room to hold an agent for: the largest,
// by its largest amount as a share of the most any agent offered of it
// (small tasks find room as others end; a large one needs an agent
// drained). Ties go to the first. nullopt for none.
std::optional<std::size_t> largest_of(const std::vector<Demand>& needs, const AgentRoom& room);

// The agent to hold for a task asking `need`: the one whose largest offer
// holds it with the least to spare; nullopt when no agent ever offered
// enough (then holding one would only idle it).
std::optional<std::string> agent_to_hold(const Demand& need, const AgentRoom& room);

}  // namespace mesoflow::scheduler
