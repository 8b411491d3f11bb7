// Fair shares between queues. Pure: usage, weights and the capacity go in,
// the order in which to try the claimed tasks comes back.
//
// Weighted dominant resource fairness: a queue's dominant share is the
// largest of its launched, unfinished tasks' cpus, mem, disk and gpus, each
// as a fraction of the capacity; the next task tried is the next one (in
// claim order: priority, then age) of the queue whose dominant share divided
// by its weight is smallest, and its demand counts at once. So two queues
// with weights 3 and 1 and a backlog each hold about 3/4 and 1/4 of the
// cluster's dominant resource, a queue of large tasks does not take
// everything, and a queue with little work takes what it asks for. The
// matcher places in this order and skips what no offer holds, so a queue
// whose next task fits nowhere never holds back another.
#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace mesoflow::scheduler {

struct Demand {
    double cpus = 0;
    double mem_mb = 0;
    double disk_mb = 0;
    double gpus = 0;

    Demand& operator+=(const Demand& o) {
        cpus += o.cpus;
        mem_mb += o.mem_mb;
        disk_mb += o.disk_mb;
        gpus += o.gpus;
        return *this;
    }
    bool operator==(const Demand&) const = default;
};

// The largest of usage's amounts as a fraction of capacity's (0 for an
// amount of which there is none).
double dominant_share(const Demand& usage, const Demand& capacity);

struct QueueShare {
    double weight = 1;  // > 0; a queue not listed has weight 1 and no usage
    Demand used;        // its launched, unfinished tasks
};

struct ClaimedDemand {
    std::string_view queue;
    Demand demand;
};

// Indices of `tasks` (in claim order within each queue) in the order to
// try them. Ties go to the queue whose name sorts first.
std::vector<std::size_t> fair_order(std::span<const ClaimedDemand> tasks,
                                    const std::map<std::string, QueueShare, std::less<>>& queues,
                                    const Demand& capacity);

}  // namespace mesoflow::scheduler
