#include "mesoflow/scheduler/fair_share.hpp"

#include <algorithm>
#include <queue>
#include <tuple>

namespace mesoflow::scheduler {

double dominant_share(const Demand& usage, const Demand& capacity) {
    double share = 0;
    const std::pair<double, double> amounts[] = {{usage.cpus, capacity.cpus},
                                                 {usage.mem_mb, capacity.mem_mb},
                                                 {usage.disk_mb, capacity.disk_mb},
                                                 {usage.gpus, capacity.gpus}};
    for (const auto& [used, total] : amounts) {
        if (total > 0)
            share = std::max(share, used / total);
    }
    return share;
}

std::vector<std::size_t> fair_order(std::span<const ClaimedDemand> tasks,
                                    const std::map<std::string, QueueShare, std::less<>>& queues,
                                    const Demand& capacity) {
    // Each queue's tasks, in claim order.
    struct Lane {
        std::string_view name;
        double weight = 1;
        Demand used;
        std::vector<std::size_t> tasks;
        std::size_t next = 0;
    };
    std::vector<Lane> lanes;
    std::map<std::string_view, std::size_t> lane_of;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        auto [it, added] = lane_of.try_emplace(tasks[i].queue, lanes.size());
        if (added) {
            Lane lane;
            lane.name = tasks[i].queue;
            if (const auto q = queues.find(tasks[i].queue); q != queues.end()) {
                lane.weight = q->second.weight > 0 ? q->second.weight : 1;
                lane.used = q->second.used;
            }
            lanes.push_back(std::move(lane));
        }
        lanes[it->second].tasks.push_back(i);
    }
    if (lanes.size() <= 1) {
        std::vector<std::size_t> same(tasks.size());
        for (std::size_t i = 0; i < same.size(); ++i)
            same[i] = i;
        return same;
    }
    using Turn = std::tuple<double, std::string_view, std::size_t>;  // share/weight, name, lane
    std::priority_queue<Turn, std::vector<Turn>, std::greater<>> turns;
    auto turn = [&](std::size_t l) {
        return Turn{dominant_share(lanes[l].used, capacity) / lanes[l].weight, lanes[l].name, l};
    };
    for (std::size_t l = 0; l < lanes.size(); ++l)
        turns.push(turn(l));
    std::vector<std::size_t> order;
    order.reserve(tasks.size());
    while (!turns.empty()) {
        const auto l = std::get<2>(turns.top());
        turns.pop();
        auto& lane = lanes[l];
        const auto i = lane.tasks[lane.next++];
        order.push_back(i);
        lane.used += tasks[i].demand;
        if (lane.next < lane.tasks.size())
            turns.push(turn(l));
    }
    return order;
}

}  // namespace mesoflow::scheduler
