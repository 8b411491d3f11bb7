#include "mesoflow/scheduler/kill_tracker.hpp"

#include <catch2/catch.hpp>

using namespace mesoflow;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<scheduler::TaskRef> killed(const std::vector<mesos::Call>& calls) {
    std::vector<scheduler::TaskRef> out;
    for (const auto& c : calls) {
        CHECK(c.framework_id == "FW");
        const auto& k = std::get<mesos::Call::Kill>(c.body);
        out.push_back({k.task_id, k.agent_id.value_or("")});
    }
    return out;
}

}  // namespace

TEST_CASE(
    "a kill is sent at once, re-sent only after the retry interval, forgotten once terminal") {
    scheduler::KillTracker k(1s);
    const auto t0 = Clock::now();
    CHECK(k.should_send("mf-1-1", t0));
    CHECK_FALSE(k.should_send("mf-1-1", t0 + 500ms));
    CHECK(k.should_send("mf-1-1", t0 + 1s));
    k.forget("mf-1-1");
    CHECK(k.tracked() == 0);
    CHECK(k.should_send("mf-1-1", t0 + 1100ms));
}

TEST_CASE("due re-sends the kills of tasks still alive after the retry interval") {
    scheduler::KillTracker k(1s);
    const auto t0 = Clock::now();
    REQUIRE(k.should_send(scheduler::TaskRef{"mf-2-1", "S2"}, t0));
    REQUIRE(k.should_send(scheduler::TaskRef{"mf-1-1", "S1"}, t0 + 300ms));
    REQUIRE(k.should_send(scheduler::TaskRef{"mf-3-1", ""}, t0 + 600ms));
    CHECK(k.deadline() == t0 + 1s);

    struct Step {
        std::chrono::milliseconds at;
        std::string forget;
        std::vector<scheduler::TaskRef> expected;
    };
    const std::vector<Step> steps = {
        {999ms, "", {}},
        {1000ms, "", {{"mf-2-1", "S2"}}},
        {1300ms, "", {{"mf-1-1", "S1"}}},
        {1600ms, "mf-3-1", {}},  // terminal before its re-send
        {2000ms, "", {{"mf-2-1", "S2"}}},
        {2300ms, "", {{"mf-1-1", "S1"}}},
        {5000ms, "", {{"mf-1-1", "S1"}, {"mf-2-1", "S2"}}},  // late tick: all due, by task id
    };
    for (const auto& s : steps) {
        INFO("at " << s.at.count() << " ms");
        if (!s.forget.empty())
            k.forget(s.forget);
        CHECK(killed(k.due(t0 + s.at, "FW")) == s.expected);
    }
    k.forget("mf-1-1");
    k.forget("mf-2-1");
    CHECK_FALSE(k.deadline());
    CHECK(k.due(t0 + 1h, "FW").empty());
}

TEST_CASE("a kill first sent without an agent learns it from a later request") {
    scheduler::KillTracker k(1s);
    const auto t0 = Clock::now();
    REQUIRE(k.should_send("mf-1-1", t0));
    CHECK_FALSE(k.should_send(scheduler::TaskRef{"mf-1-1", "S9"}, t0 + 10ms));
    CHECK(killed(k.due(t0 + 1s, "FW")) == std::vector<scheduler::TaskRef>{{"mf-1-1", "S9"}});
}
