#include "mesoflow/scheduler/agent_hold.hpp"

#include <algorithm>

#include "mesoflow/mesos/resources.hpp"

namespace mesoflow::scheduler {

bool holds(const Demand& have, const Demand& need) {
    return mesos::scalar_less_equal(need.cpus, have.cpus) &&
           mesos::scalar_less_equal(need.mem_mb, have.mem_mb) &&
           mesos::scalar_less_equal(need.disk_mb, have.disk_mb) &&
           mesos::scalar_less_equal(need.gpus, have.gpus);
}

void AgentRoom::offered(const std::string& agent_id, const Demand& together) {
    auto& l = largest_[agent_id];
    l.cpus = std::max(l.cpus, together.cpus);
    l.mem_mb = std::max(l.mem_mb, together.mem_mb);
    l.disk_mb = std::max(l.disk_mb, together.disk_mb);
    l.gpus = std::max(l.gpus, together.gpus);
}

std::optional<std::size_t> largest_of(const std::vector<Demand>& needs, const AgentRoom& room) {
    Demand most;
    for (const auto& [agent, largest] : room.largest()) {
        most.cpus = std::max(most.cpus, largest.cpus);
        most.mem_mb = std::max(most.mem_mb, largest.mem_mb);
        most.disk_mb = std::max(most.disk_mb, largest.disk_mb);
        most.gpus = std::max(most.gpus, largest.gpus);
    }
    std::optional<std::size_t> best;
    double best_share = -1;
    for (std::size_t i = 0; i < needs.size(); ++i) {
        const double share = dominant_share(needs[i], most);
        if (share > best_share) {
            best = i;
            best_share = share;
        }
    }
    return best;
}

std::optional<std::string> agent_to_hold(const Demand& need, const AgentRoom& room) {
    std::optional<std::string> best;
    double best_spare = 0;
    for (const auto& [agent, largest] : room.largest()) {
        if (!holds(largest, need))
            continue;
        // What would be left, as a share of the agent, summed: least is best.
        double spare = 0;
        const std::pair<double, double> dims[] = {{largest.cpus, need.cpus},
                                                  {largest.mem_mb, need.mem_mb},
                                                  {largest.disk_mb, need.disk_mb},
                                                  {largest.gpus, need.gpus}};
        for (const auto& [have, want] : dims) {
            if (have > 0)
                spare += (have - want) / have;
        }
        if (!best || spare < best_spare) {
            best = agent;
            best_spare = spare;
        }
    }
    return best;
}

}  // namespace mesoflow::scheduler
