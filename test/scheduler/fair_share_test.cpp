// Fair shares: the order the claimed tasks are tried in, by weighted
// dominant resource share.
#include "mesoflow/scheduler/fair_share.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using mesoflow::scheduler::ClaimedDemand;
using mesoflow::scheduler::Demand;
using mesoflow::scheduler::dominant_share;
using mesoflow::scheduler::fair_order;
using mesoflow::scheduler::QueueShare;

namespace {

using Queues = std::map<std::string, QueueShare, std::less<>>;

// The queues of the order, as one letter each: "aabab".
std::string queues_in_order(const std::vector<ClaimedDemand>& tasks, const Queues& queues,
                            const Demand& capacity) {
    std::string out;
    for (const auto i : fair_order(tasks, queues, capacity))
        out += tasks[i].queue.front();
    return out;
}

std::vector<ClaimedDemand> tasks_of(const std::string& queues, const Demand& each) {
    static std::vector<std::string> names;  // the views point into these
    if (names.empty()) {
        for (char c = 'a'; c <= 'z'; ++c)
            names.emplace_back(1, c);
    }
    std::vector<ClaimedDemand> out;
    for (const char q : queues)
        out.push_back({names[static_cast<std::size_t>(q - 'a')], each});
    return out;
}

}  // namespace

TEST_CASE("the dominant share is the largest fraction of capacity a queue uses") {
    struct Row {
        Demand used;
        Demand capacity;
        double share;
    };
    const std::vector<Row> rows = {
        {{0, 0, 0, 0}, {10, 1000, 0, 0}, 0},
        {{1, 500, 0, 0}, {10, 1000, 0, 0}, 0.5},  // memory dominates
        {{5, 100, 0, 0}, {10, 1000, 0, 0}, 0.5},  // cpus dominate
        {{1, 10, 0, 1}, {10, 1000, 0, 2}, 0.5},   // gpus dominate
        {{1, 10, 50, 0}, {10, 1000, 0, 0}, 0.1},  // no disk to share: not counted
        {{20, 0, 0, 0}, {10, 1000, 0, 0}, 2},     // more than offered: above 1
    };
    for (const auto& r : rows) {
        INFO(r.used.cpus << " cpus " << r.used.mem_mb << " mem of " << r.capacity.cpus);
        CHECK(dominant_share(r.used, r.capacity) == Approx(r.share));
    }
}

TEST_CASE("claimed tasks are tried in the order of their queues' weighted dominant shares") {
    const Demand capacity{100, 100000, 0, 0};
    const Demand small{1, 100, 0, 0};
    struct Row {
        const char* what;
        std::string claimed;  // one queue letter per task, in claim order
        Queues queues;
        std::string order;
    };
    const std::vector<Row> rows = {
        {"one queue keeps the claim's order", "aaaa", {}, "aaaa"},
        {"equal weights alternate, ties to the name first", "aaabbb", {}, "ababab"},
        {"3:1 gives three turns to one", "aaaaaabb", {{"a", {3, {}}}, {"b", {1, {}}}}, "abaaabaa"},
        {"a queue already using more waits its turn",
         "aaabbb",
         {{"a", {1, {3, 0, 0, 0}}}},
         "bbbaaa"},
        {"a weight 3 queue using 3 cpus is even with a weight 1 queue using 1",
         "aabb",
         {{"a", {3, {3, 0, 0, 0}}}, {"b", {1, {1, 0, 0, 0}}}},
         "abab"},
        {"... and goes after an idle weight 1 queue",
         "aabb",
         {{"a", {3, {3, 0, 0, 0}}}, {"b", {1, {}}}},
         "baba"},
        {"a queue with little work takes what it asks, then the other has the rest",
         "abbbbb",
         {},
         "abbbbb"},
        {"a listed queue with no claimed task takes no turn", "bb", {{"a", {1, {}}}}, "bb"},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        auto tasks = tasks_of(r.claimed, small);
        CHECK(queues_in_order(tasks, r.queues, capacity) == r.order);
    }
}

TEST_CASE("a queue of large tasks does not take everything: shares are by dominant resource") {
    // Queue a asks 10 cpus a task, queue b 1 cpu: by task count a would
    // take ten times b's cpus; by dominant share they alternate evenly by
    // cpus: one task of a, then ten of b.
    const Demand capacity{100, 100000, 0, 0};
    std::vector<ClaimedDemand> tasks;
    for (int i = 0; i < 3; ++i)
        tasks.push_back({"a", {10, 100, 0, 0}});
    for (int i = 0; i < 30; ++i)
        tasks.push_back({"b", {1, 100, 0, 0}});
    const auto order = fair_order(tasks, {}, capacity);
    std::string queues;
    for (const auto i : order)
        queues += tasks[i].queue.front();
    CHECK(queues ==
          "a" + std::string(10, 'b') + "a" + std::string(10, 'b') + "a" + std::string(10, 'b'));
    // Within a queue, the claim's order (priority, then age) is kept.
    std::vector<std::size_t> a_indices;
    for (const auto i : order) {
        if (tasks[i].queue == "a")
            a_indices.push_back(i);
    }
    CHECK(a_indices == std::vector<std::size_t>{0, 1, 2});
}

TEST_CASE("over a long backlog, turns follow the weights") {
    const Demand capacity{1000, 1000000, 0, 0};
    std::string claimed(4000, 'a');
    claimed += std::string(4000, 'b');
    auto tasks = tasks_of(claimed, {1, 100, 0, 0});
    const auto order = fair_order(tasks, {{"a", {3, {}}}, {"b", {1, {}}}}, capacity);
    // The first 1,000 turns: 750 to a, 250 to b.
    int a = 0;
    for (std::size_t i = 0; i < 1000; ++i)
        a += tasks[order[i]].queue == "a";
    CHECK(a == 750);
}
