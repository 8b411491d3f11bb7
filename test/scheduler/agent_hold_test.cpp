// Holding an agent for a large task: which agent, and which task.
#include "mesoflow/scheduler/agent_hold.hpp"

#include <catch2/catch.hpp>

#include "mesoflow/scheduler/waiting.hpp"

using mesoflow::scheduler::agent_to_hold;
using mesoflow::scheduler::AgentRoom;
using mesoflow::scheduler::Demand;
using mesoflow::scheduler::holds;
using std::chrono::seconds;

TEST_CASE("an offer holds a task when every amount fits, to Mesos' three decimals") {
    struct Row {
        Demand have;
        Demand need;
        bool fits;
    };
    const std::vector<Row> rows = {
        {{4, 4096, 0, 0}, {4, 4096, 0, 0}, true},
        {{4, 4096, 0, 0}, {4.0001, 4096, 0, 0}, true},  // below the precision
        {{4, 4096, 0, 0}, {4.001, 4096, 0, 0}, false},
        {{8, 1024, 0, 0}, {2, 2048, 0, 0}, false},  // memory falls short
        {{8, 8192, 10, 0}, {1, 1, 0, 1}, false},    // no gpus
    };
    for (const auto& r : rows) {
        INFO(r.need.cpus << " cpus " << r.need.mem_mb << " mem");
        CHECK(holds(r.have, r.need) == r.fits);
    }
}

TEST_CASE("the agent held is the one whose largest offer holds the task with least to spare") {
    AgentRoom room;
    room.offered("S1", {16, 65536, 0, 0});
    room.offered("S2", {8, 16384, 0, 0});
    room.offered("S3", {4, 8192, 0, 0});
    // S2 offered 1 cpu later (busy): its largest offer is remembered.
    room.offered("S2", {1, 512, 0, 0});
    struct Row {
        Demand need;
        std::optional<std::string> agent;
    };
    const std::vector<Row> rows = {
        {{4, 8192, 0, 0}, "S3"},           // fits all three: the tightest
        {{6, 8192, 0, 0}, "S2"},           // not S3
        {{12, 1024, 0, 0}, "S1"},          // only S1
        {{32, 1024, 0, 0}, std::nullopt},  // no agent ever offered that much: hold none
        {{1, 1024, 0, 1}, std::nullopt},   // nobody offered a gpu
    };
    for (const auto& r : rows) {
        INFO(r.need.cpus << " cpus");
        CHECK(agent_to_hold(r.need, room) == r.agent);
    }
}

TEST_CASE("the tasks an agent may be held for: left out for want of room, claimed long enough") {
    using mesoflow::scheduler::WaitingTracker;
    using TP = WaitingTracker::TimePoint;
    WaitingTracker w(seconds(60));
    w.claimed(5, 1, TP(seconds(10)));
    w.claimed(3, 1, TP(seconds(20)));
    w.claimed(1, 1, TP(seconds(0)));
    w.claimed(8, 1, TP(seconds(0)));
    w.looked_at(5, false, true, true);   // too large for every offer, smaller ones placed
    w.looked_at(3, true);                // crowded: fits, the room went to others
    w.looked_at(1, false, false, true);  // a role or constraint: an agent cannot help
    // 8 was never looked at (no round came): not a candidate.
    auto ids = [&](int s) {
        std::vector<std::int64_t> out;
        for (const auto& a : w.wanting_room(TP(seconds(s))))
            out.push_back(a.task_id);
        return out;
    };
    CHECK(ids(69).empty());
    CHECK(ids(70) == std::vector<std::int64_t>{5});
    // Crowded by tasks of its own size: never passed over, not a candidate.
    CHECK(ids(80) == std::vector<std::int64_t>{5});
    // Passed over once by a smaller one; crowded again: its time does not
    // restart.
    w.looked_at(3, true, false, true);
    w.looked_at(3, true);
    CHECK(ids(80) == std::vector<std::int64_t>{3, 5});
    w.forget(5);
    CHECK(ids(80) == std::vector<std::int64_t>{3});
}

TEST_CASE("of the tasks waiting for room, the agent is held for the largest") {
    AgentRoom room;
    room.offered("S1", {4, 16384, 0, 0});
    room.offered("S2", {8, 8192, 0, 0});
    using mesoflow::scheduler::largest_of;
    CHECK_FALSE(largest_of({}, room));
    CHECK(largest_of({{1, 64, 0, 0}, {4, 64, 0, 0}, {2, 64, 0, 0}}, room) == 1u);
    // Memory counts too: 12 GiB of the 16 most offered beats 4 of 8 cpus.
    CHECK(largest_of({{4, 64, 0, 0}, {1, 12288, 0, 0}}, room) == 1u);
    CHECK(largest_of({{1, 64, 0, 0}, {1, 64, 0, 0}}, room) == 0u);
}
