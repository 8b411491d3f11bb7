// Prints how long OfferMatcher::match takes on queues of a realistic size
// (1,000 offers x 10,000 tasks), cold (first call in the process, memory
// fresh from the kernel) and warm (later calls). Times are printed, not
// asserted (the benchmark owns the target); the placements are asserted.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <random>

#include "mesoflow/scheduler/offer_matcher.hpp"
#include "offers.hpp"

using namespace mesoflow;

namespace {

constexpr int kOffers = 1000;
constexpr int kTasks = 10000;
constexpr int kRuns = 7;

long minor_faults() {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return u.ru_minflt;
}

double thread_cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::vector<mesos::Offer> agents(int n, double cpus, double mem) {
    std::vector<mesos::Offer> offers;
    offers.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        auto o = mesoflow::testing::offer("o-" + std::to_string(i), "agent-" + std::to_string(i),
                                          cpus, mem, i % 2 ? "batch" : "web");
        o.resources.back().ranges = {{31000, 32000}};
        o.attributes = {mesoflow::testing::text_attribute("rack", "r" + std::to_string(i % 10))};
        offers.push_back(std::move(o));
    }
    return offers;
}

// Runs match kRuns times; prints the first (cold) and the best and median
// of the others; returns the launch count (the same every time).
std::size_t time_match(const char* name, const std::vector<mesos::Offer>& offers,
                       const std::vector<task::TaskSpec>& pending) {
    std::vector<double> wall;
    std::vector<double> cpu;
    std::size_t launches = 0;
    long cold_faults = 0;
    for (int run = 0; run < kRuns; ++run) {
        scheduler::OfferMatcher m;
        const long f0 = minor_faults();
        const double c0 = thread_cpu_ms();
        const auto w0 = std::chrono::steady_clock::now();
        auto r = m.match(offers, pending, {});
        const auto w1 = std::chrono::steady_clock::now();
        const double c1 = thread_cpu_ms();
        if (run == 0)
            cold_faults = minor_faults() - f0;
        wall.push_back(std::chrono::duration<double, std::milli>(w1 - w0).count());
        cpu.push_back(c1 - c0);
        if (run > 0)
            CHECK(r.launch_count() == launches);
        launches = r.launch_count();
    }
    const double cold = wall.front();
    const double cold_cpu = cpu.front();
    wall.erase(wall.begin());
    cpu.erase(cpu.begin());
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    std::printf(
        "match scenario=%s offers=%zu tasks=%zu launches=%zu cold_ms=%.2f cold_cpu_ms=%.2f "
        "cold_page_faults=%ld "
        "warm_best_ms=%.2f warm_median_ms=%.2f warm_median_cpu_ms=%.2f\n",
        name, offers.size(), pending.size(), launches, cold, cold_cpu, cold_faults, wall.front(),
        wall[wall.size() / 2], cpu[cpu.size() / 2]);
    return launches;
}

}  // namespace

TEST_CASE("matching 1000 offers against 10000 tasks: timings printed") {
    std::mt19937 rng(42);

    // The target case: one shape, first in the process so it runs cold.
    const auto uniform_offers = agents(kOffers, 8, 32768);
    std::vector<task::TaskSpec> uniform;
    for (int i = 0; i < kTasks; ++i)
        uniform.push_back(mesoflow::testing::spec(i + 1, 1, 1024));
    CHECK(time_match("uniform", uniform_offers, uniform) == 8000);

    // Mixed shapes, some with ports.
    std::vector<task::TaskSpec> mixed;
    const double cpus[] = {0.25, 0.5, 1, 2, 4};
    const double mem[] = {256, 1024, 2048, 8192};
    for (int i = 0; i < kTasks; ++i) {
        auto t = mesoflow::testing::spec(i + 1, cpus[rng() % 5], mem[rng() % 4]);
        t.ports = static_cast<int>(rng() % 4 == 0 ? 1 + rng() % 3 : 0);
        mixed.push_back(t);
    }
    CHECK(time_match("mixed", uniform_offers, mixed) > 4000);

    // Roles and constraints: racks, pinned hosts, patterns.
    std::vector<task::TaskSpec> constrained = mixed;
    for (auto& t : constrained) {
        const auto dice = rng() % 10;
        using Op = task::Constraint::Op;
        if (dice < 3)
            t.constraints = {{"rack", Op::equals, "r" + std::to_string(rng() % 10)}};
        else if (dice == 3)
            t.constraints = {{"hostname", Op::equals,
                              "agent-" + std::to_string(rng() % kOffers) + ".example.com"}};
        else if (dice == 4)
            t.constraints = {{"rack", Op::unlike, "r[0-4]"}};
        else if (dice == 5)
            t.role = rng() % 2 ? "web" : "batch";
    }
    CHECK(time_match("constrained", uniform_offers, constrained) > 4000);

    // Nothing fits: every task bigger than any agent.
    std::vector<task::TaskSpec> huge;
    for (int i = 0; i < kTasks; ++i)
        huge.push_back(mesoflow::testing::spec(i + 1, 16, 1024));
    CHECK(time_match("nothing_fits", uniform_offers, huge) == 0);

    // Agents left rich in one dimension, poor in another: the search's worst case.
    std::vector<task::TaskSpec> lopsided;
    for (int i = 0; i < kTasks; ++i) {
        lopsided.push_back(i % 2 ? mesoflow::testing::spec(i + 1, 7, 1024)
                                 : mesoflow::testing::spec(i + 1, 0.5, 30000));
    }
    CHECK(time_match("lopsided", uniform_offers, lopsided) > 0);
}
