// Reliable status updates: redelivered until acknowledged, in order, one in
// flight per task, with back-off; lost and late updates under test control
// (docs/scheduler-http-api.md "UPDATE" and
// src/slave/task_status_update_manager.cpp in the Mesos sources).
#include <catch2/catch.hpp>

#include "fake_master.hpp"
#include "test_client.hpp"

using namespace mesoflow::fake;
using namespace mesoflow::fake::testing;

namespace {

TaskBehavior forever() {
    TaskBehavior b;
    b.runs_until_killed = true;
    return b;
}

// Subscribes and launches one task `id` on the single agent.
void launch_one(Scheduler& s, const std::string& id) {
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    REQUIRE(s.launch(offers[0], {Scheduler::command_task(offers[0], id, "sleep 100")}).status ==
            202);
}

}  // namespace

TEST_CASE("an unacknowledged update is redelivered with the same uuid and growing gaps") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    Scheduler s(master.port(), Scheduler::framework_info());
    launch_one(s, "t1");
    std::vector<std::chrono::steady_clock::time_point> times;
    std::string uuid;
    for (int i = 0; i < 3; ++i) {
        auto status = s.update_for("t1", std::chrono::milliseconds(2000));
        REQUIRE(status);
        CHECK((*status)["state"] == "TASK_STARTING");
        if (i == 0)
            uuid = (*status)["uuid"];
        CHECK((*status)["uuid"] == uuid);
        times.push_back(std::chrono::steady_clock::now());
    }
    // Retry after 200 ms, then 400 ms (quick_config's minimum, doubled).
    CHECK(times[1] - times[0] >= std::chrono::milliseconds(150));
    CHECK(times[2] - times[1] >= std::chrono::milliseconds(350));
    CHECK(master.counters().updates_redelivered >= 2);
    CHECK(master.task("t1")->pending_updates == 2);  // STARTING in flight, RUNNING queued
}

TEST_CASE("an acknowledgement that matches nothing is recorded and changes nothing") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    Scheduler s(master.port(), Scheduler::framework_info());
    launch_one(s, "t1");
    auto starting = s.update_for("t1");
    REQUIRE(starting);
    json wrong = *starting;
    wrong["uuid"] = "AAAAAAAAQAAAAAAAAAAAAA==";  // a valid v4 uuid, not this one
    CHECK(s.ack(wrong).status == 202);
    REQUIRE(master.wait_until([&] { return master.acks().size() == 1; },
                              std::chrono::milliseconds(1000)));
    CHECK_FALSE(master.acks()[0].matched);
    CHECK(master.counters().acks_unmatched == 1);
    CHECK(master.task("t1")->pending_updates == 2);
    // The right one moves the stream on; acknowledging it twice is harmless.
    s.ack(*starting);
    s.ack(*starting);
    const auto running = s.update_for("t1");
    REQUIRE(running);
    CHECK((*running)["state"] == "TASK_RUNNING");
    CHECK(master.counters().acks_unmatched == 2);
}

TEST_CASE("updates of one task arrive in order even when acknowledged late") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    launch_one(s, "t1");  // runs 50 ms, so FINISHED is queued behind STARTING
    std::vector<std::string> states;
    while (states.empty() || states.back() != "TASK_FINISHED") {
        auto status = s.update_for("t1", std::chrono::milliseconds(2000));
        REQUIRE(status);
        if (!states.empty() && states.back() == (*status)["state"])
            continue;  // redelivery
        states.push_back((*status)["state"]);
        std::this_thread::sleep_for(std::chrono::milliseconds(80));  // a slow scheduler
        s.ack(*status);
    }
    CHECK(states == std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"});
}

TEST_CASE("a dropped update reaches the scheduler at the next retry") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    master.drop_status_updates(1);
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto launched = std::chrono::steady_clock::now();
    launch_one(s, "t1");
    auto starting = s.update_for("t1", std::chrono::milliseconds(2000));
    REQUIRE(starting);
    CHECK((*starting)["state"] == "TASK_STARTING");
    CHECK(std::chrono::steady_clock::now() - launched >= std::chrono::milliseconds(150));
}

TEST_CASE("delayed updates are held back for the delay") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    master.delay_status_updates(std::chrono::milliseconds(300));
    Scheduler s(master.port(), Scheduler::framework_info());
    launch_one(s, "t1");
    CHECK_FALSE(s.update_for("t1", std::chrono::milliseconds(200)));
    CHECK(s.update_for("t1", std::chrono::milliseconds(1000)));
}

TEST_CASE("an update produced while the scheduler is away is delivered after it re-subscribes") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    json info = Scheduler::framework_info();
    auto s = std::make_unique<Scheduler>(master.port(), info);
    launch_one(*s, "t1");
    auto starting = s->update_for("t1");
    REQUIRE(starting);
    s->ack(*starting);
    REQUIRE(s->update_for("t1"));  // RUNNING, not acknowledged
    const std::string id = s->framework_id();
    s.reset();
    info["id"] = {{"value", id}};
    Scheduler back(master.port(), info);
    auto running = back.update_for("t1", std::chrono::milliseconds(3000));
    REQUIRE(running);
    CHECK((*running)["state"] == "TASK_RUNNING");
    CHECK(back.ack(*running).status == 202);
    REQUIRE(master.wait_until([&] { return master.task("t1")->pending_updates == 0; },
                              std::chrono::milliseconds(1000)));
}

TEST_CASE("finish_task ends a simulated task on demand") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    Scheduler s(master.port(), Scheduler::framework_info());
    launch_one(s, "t1");
    for (const char* state : {"TASK_STARTING", "TASK_RUNNING"}) {
        auto status = s.update_for("t1");
        REQUIRE(status);
        CHECK((*status)["state"] == state);
        s.ack(*status);
    }
    CHECK(master.finish_task("t1", 4));
    auto failed = s.update_for("t1");
    REQUIRE(failed);
    CHECK((*failed)["state"] == "TASK_FAILED");
    CHECK((*failed)["message"] == "Command exited with status 4");
    CHECK_FALSE(master.finish_task("nope", 0));
}
