// The kill scan's split: claimed attempts are released, not killed; the rest
// get a KILL at most once per retry interval.
#include "mesoflow/scheduler/kill_scan.hpp"

#include <catch2/catch.hpp>

using namespace mesoflow;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

task::LiveAttempt attempt(std::int64_t id, int n) {
    task::LiveAttempt a;
    a.task_id = id;
    a.attempt = n;
    a.mesos_task_id = task::mesos_task_id(id, n);
    a.agent_id = "A1";
    return a;
}

task::TaskSpec claimed_spec(std::int64_t id, int attempts_before) {
    task::TaskSpec s;
    s.id = id;
    s.attempt = attempts_before;
    return s;
}

}  // namespace

TEST_CASE("kill requests: claimed attempts are released, launched ones killed once per interval") {
    scheduler::KillTracker tracker(5s);
    const auto t0 = Clock::now();
    std::vector<task::TaskSpec> claimed = {claimed_spec(1, 0), claimed_spec(2, 1),
                                           claimed_spec(3, 0)};
    // Task 1's claimed attempt is 1: release. Task 2's claimed attempt is 2,
    // but attempt 1 is asked about: a launched one, killed. Task 4 launched.
    const std::vector<task::LiveAttempt> requested = {attempt(1, 1), attempt(2, 1), attempt(4, 1)};
    auto split = scheduler::split_kill_scan(requested, claimed, tracker, t0);
    REQUIRE(split.release.size() == 1);
    CHECK(split.release[0].task_id == 1);
    CHECK(split.release[0].attempt == 1);
    REQUIRE(split.kill.size() == 2);
    CHECK(split.kill[0].mesos_task_id == "mf-2-1");
    CHECK(split.kill[1].mesos_task_id == "mf-4-1");
    REQUIRE(claimed.size() == 2);
    CHECK(claimed[0].id == 2);
    CHECK(claimed[1].id == 3);

    struct Step {
        std::chrono::milliseconds at;
        std::size_t kills;
    };
    // The released row is killed where it stands: later scans no longer see it.
    const std::vector<task::LiveAttempt> still = {attempt(2, 1), attempt(4, 1)};
    for (const auto& s : std::vector<Step>{{1000ms, 0}, {4999ms, 0}, {5000ms, 2}, {6000ms, 0}}) {
        INFO("at " << s.at.count() << " ms");
        auto again = scheduler::split_kill_scan(still, claimed, tracker, t0 + s.at);
        CHECK(again.release.empty());
        CHECK(again.kill.size() == s.kills);
    }
}
