// The scheduling core alone: OfferMatcher::match over 1,000 offers (agents
// of 8 cpus, 32 GiB) and 10,000 pending tasks, no I/O. Two task shapes: the
// benchmark's own (0.1 cpu, 32 MB; every task fits) and 1 cpu, 1 GiB, where
// 2,000 tasks fit nowhere and the search has to prove it. The first call in
// the process is reported apart (cold: memory fresh from the kernel); the
// figure is the median of the warm calls, as in the daemon, whose matcher
// lives for the whole run.
#include <algorithm>
#include <stdexcept>

#include "bench.hpp"
#include "mesoflow/scheduler/offer_matcher.hpp"
#include "offers.hpp"

namespace mesoflow::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kOffers = 1000;
constexpr int kTasks = 10000;
constexpr int kRuns = 9;

struct Timing {
    double cold_ms = 0;
    double warm_median_ms = 0;
    std::size_t launches = 0;
};

Timing time_match(const std::vector<mesos::Offer>& offers,
                  const std::vector<task::TaskSpec>& pending) {
    std::vector<double> ms;
    Timing t;
    scheduler::OfferMatcher matcher;
    for (int run = 0; run < kRuns; ++run) {
        const auto start = Clock::now();
        const auto result = matcher.match(offers, pending, {});
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        if (run > 0 && result.launch_count() != t.launches)
            throw std::runtime_error("match: the same input placed a different number of tasks");
        t.launches = result.launch_count();
    }
    t.cold_ms = ms.front();
    ms.erase(ms.begin());
    std::sort(ms.begin(), ms.end());
    t.warm_median_ms = ms[ms.size() / 2];
    return t;
}

}  // namespace

json match_timing() {
    std::vector<mesos::Offer> offers;
    for (int i = 0; i < kOffers; ++i) {
        offers.push_back(mesoflow::testing::offer("o-" + std::to_string(i),
                                                  "agent-" + std::to_string(i), 8, 32768));
    }
    std::vector<task::TaskSpec> small;
    std::vector<task::TaskSpec> large;
    for (int i = 0; i < kTasks; ++i) {
        small.push_back(mesoflow::testing::spec(i + 1, 0.1, 32));
        large.push_back(mesoflow::testing::spec(i + 1, 1, 1024));
    }
    const Timing s = time_match(offers, small);
    const Timing l = time_match(offers, large);
    json f;
    f["offers"] = kOffers;
    f["tasks"] = kTasks;
    f["small_cold_ms"] = s.cold_ms;
    f["small_ms"] = s.warm_median_ms;
    f["small_launches"] = s.launches;
    f["large_cold_ms"] = l.cold_ms;
    f["large_ms"] = l.warm_median_ms;
    f["large_launches"] = l.launches;
    // The headline is the slower shape.
    f["match_ms"] = std::max(s.warm_median_ms, l.warm_median_ms);
    return f;
}

}  // namespace mesoflow::bench
