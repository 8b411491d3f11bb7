// RECONCILE, KILL, SHUTDOWN and agent loss as the real master answers them
// (docs/reconciliation.md, docs/task-state-reasons.md and src/master/master.cpp
// `Master::kill` in the Mesos sources).
#include <catch2/catch.hpp>

#include <set>

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

// Launches `ids` on the first offer and acknowledges STARTING and RUNNING.
std::string launch_running(Scheduler& s, const std::vector<std::string>& ids) {
    const auto offers = s.offers();
    REQUIRE(!offers.empty());
    std::vector<json> tasks;
    for (const auto& id : ids)
        tasks.push_back(Scheduler::command_task(offers[0], id, "sleep 100"));
    REQUIRE(s.launch(offers[0], tasks).status == 202);
    for (const auto& id : ids) {
        for (const char* state : {"TASK_STARTING", "TASK_RUNNING"}) {
            auto status = s.update_for(id);
            REQUIRE(status);
            REQUIRE((*status)["state"] == state);
            s.ack(*status);
        }
    }
    return offers[0]["agent_id"]["value"];
}

json reconcile_one(Scheduler& s, const std::string& task_id,
                   const std::optional<std::string>& agent_id) {
    json entry = {{"task_id", {{"value", task_id}}}};
    if (agent_id)
        entry["agent_id"] = {{"value", *agent_id}};
    REQUIRE(s.call("RECONCILE", {{"tasks", {entry}}}).status == 202);
    auto status = s.update_for(task_id);
    REQUIRE(status);
    return *status;
}

}  // namespace

TEST_CASE("explicit reconciliation answers the latest state without a uuid") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    Scheduler s(master.port(), Scheduler::framework_info());
    const std::string agent = launch_running(s, {"t1"});
    const json status = reconcile_one(s, "t1", agent);
    CHECK(status["state"] == "TASK_RUNNING");
    CHECK(status["reason"] == "REASON_RECONCILIATION");
    CHECK(status["source"] == "SOURCE_MASTER");
    CHECK(status["message"] == "Reconciliation: Latest task state");
    CHECK(status["agent_id"]["value"] == agent);
    CHECK_FALSE(status.contains("uuid"));
}

TEST_CASE("reconciling unknown tasks: TASK_LOST for plain frameworks") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    const std::string agent = offers[0]["agent_id"]["value"];
    json unknown = reconcile_one(s, "ghost", std::nullopt);
    CHECK(unknown["state"] == "TASK_LOST");
    CHECK(unknown["message"] == "Reconciliation: Task is unknown");
    json on_agent = reconcile_one(s, "ghost2", agent);
    CHECK(on_agent["state"] == "TASK_LOST");
    CHECK(on_agent["message"] == "Reconciliation: Task is unknown to the agent");
}

TEST_CASE("reconciling unknown tasks: TASK_UNKNOWN or TASK_GONE for PARTITION_AWARE frameworks") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info("pa", {"PARTITION_AWARE"}));
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    CHECK(reconcile_one(s, "ghost", std::nullopt)["state"] == "TASK_UNKNOWN");
    CHECK(reconcile_one(s, "ghost", std::string("no-such-agent"))["state"] == "TASK_UNKNOWN");
    CHECK(reconcile_one(s, "ghost", offers[0]["agent_id"]["value"].get<std::string>())["state"] ==
          "TASK_GONE");
}

TEST_CASE("implicit reconciliation answers every task the master tracks") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    Scheduler s(master.port(), Scheduler::framework_info());
    launch_running(s, {"a", "b", "c"});
    REQUIRE(s.call("RECONCILE", json::object()).status == 202);
    std::set<std::string> answered;
    while (answered.size() < 3) {
        auto e = s.stream().next_of("UPDATE");
        REQUIRE(e);
        const json& status = (*e)["update"]["status"];
        CHECK(status["reason"] == "REASON_RECONCILIATION");
        CHECK(status["state"] == "TASK_RUNNING");
        answered.insert(status["task_id"]["value"].get<std::string>());
    }
    CHECK(answered == std::set<std::string>{"a", "b", "c"});
}

TEST_CASE("reconciliation reports the state the agent forwarded, not one still queued") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.launch(offers[0], {Scheduler::command_task(offers[0], "t1", "sleep 1")});
    REQUIRE(s.update_for("t1"));  // STARTING in flight, RUNNING queued behind it
    CHECK(reconcile_one(s, "t1", std::nullopt)["state"] == "TASK_STARTING");
}

TEST_CASE(
    "KILL goes through TASK_KILLING with TASK_KILLING_STATE, straight to TASK_KILLED "
    "without") {
    for (const bool killing_state : {true, false}) {
        FakeMaster master(quick_config(1));
        master.set_task_rules({}, forever());
        Scheduler s(master.port(),
                    Scheduler::framework_info(
                        "k", killing_state ? std::vector<std::string>{"TASK_KILLING_STATE"}
                                           : std::vector<std::string>{}));
        const std::string agent = launch_running(s, {"t1"});
        REQUIRE(s.call("KILL", {{"task_id", {{"value", "t1"}}}, {"agent_id", {{"value", agent}}}})
                    .status == 202);
        auto first = s.update_for("t1");
        REQUIRE(first);
        if (killing_state) {
            CHECK((*first)["state"] == "TASK_KILLING");
            s.ack(*first);
            first = s.update_for("t1");
            REQUIRE(first);
        }
        CHECK((*first)["state"] == "TASK_KILLED");
        CHECK((*first)["message"] == "Command terminated with signal Terminated");
        CHECK(first->contains("uuid"));
        s.ack(*first);
        REQUIRE(master.wait_until([&] { return master.tasks().empty(); },
                                  std::chrono::milliseconds(1000)));
    }
}

TEST_CASE("KILL of an unknown task answers with reconciliation; a wrong agent id is ignored") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    Scheduler s(master.port(), Scheduler::framework_info());
    launch_running(s, {"t1"});
    s.call("KILL", {{"task_id", {{"value", "ghost"}}}});
    const auto ghost = s.update_for("ghost");
    REQUIRE(ghost);
    CHECK((*ghost)["state"] == "TASK_LOST");
    CHECK((*ghost)["reason"] == "REASON_RECONCILIATION");
    s.call("KILL", {{"task_id", {{"value", "t1"}}}, {"agent_id", {{"value", "elsewhere"}}}});
    CHECK_FALSE(s.update_for("t1", std::chrono::milliseconds(300)));
    CHECK(master.task("t1")->state == "TASK_RUNNING");
}

TEST_CASE("SHUTDOWN of a command executor kills its task, then FAILURE names the executor") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    Scheduler s(master.port(), Scheduler::framework_info());
    const std::string agent = launch_running(s, {"t1"});
    s.call("SHUTDOWN", {{"executor_id", {{"value", "t1"}}}, {"agent_id", {{"value", agent}}}});
    const auto killed = s.update_for("t1");
    REQUIRE(killed);
    CHECK((*killed)["state"] == "TASK_KILLED");
    const auto failure = s.stream().next_of("FAILURE");
    REQUIRE(failure);
    CHECK((*failure)["failure"]["executor_id"]["value"] == "t1");
    CHECK((*failure)["failure"]["agent_id"]["value"] == agent);
}

TEST_CASE(
    "losing an agent: TASK_UNREACHABLE for PARTITION_AWARE, TASK_LOST otherwise, then "
    "FAILURE") {
    for (const bool aware : {true, false}) {
        FakeMaster master(quick_config(2));
        master.set_task_rules({}, forever());
        Scheduler s(master.port(), Scheduler::framework_info(
                                       "l", aware ? std::vector<std::string>{"PARTITION_AWARE"}
                                                  : std::vector<std::string>{}));
        const std::string agent = launch_running(s, {"t1"});
        REQUIRE(master.lose_agent(agent));
        const auto status = s.update_for("t1");
        REQUIRE(status);
        CHECK((*status)["state"] == (aware ? "TASK_UNREACHABLE" : "TASK_LOST"));
        CHECK((*status)["reason"] == "REASON_AGENT_REMOVED");
        CHECK((*status)["source"] == "SOURCE_MASTER");
        CHECK((*status)["unreachable_time"]["nanoseconds"].get<std::int64_t>() > 0);
        CHECK_FALSE(status->contains("uuid"));
        const auto failure = s.stream().next_of("FAILURE");
        REQUIRE(failure);
        CHECK((*failure)["failure"]["agent_id"]["value"] == agent);
        CHECK(master.agents()[0].lost != master.agents()[1].lost);

        const json reconciled = reconcile_one(s, "t1", agent);
        CHECK(reconciled["state"] == (aware ? "TASK_UNREACHABLE" : "TASK_LOST"));
        CHECK(reconciled["message"] == "Reconciliation: Task is unreachable");

        REQUIRE(master.restore_agent(agent));
        s.call("REVIVE");
        bool offered_again = false;
        for (int i = 0; i < 5 && !offered_again; ++i) {
            for (const auto& o : s.offers(std::chrono::milliseconds(500))) {
                if (o["agent_id"]["value"] == agent) {
                    offered_again = true;
                    s.launch(o, {Scheduler::command_task(o, "t1", "true")});
                    const auto reuse = s.update_for("t1");
                    REQUIRE(reuse);
                    CHECK((*reuse)["state"] == "TASK_ERROR");
                    CHECK((*reuse)["message"] == "Task reuses the ID of an unreachable task: t1");
                }
            }
        }
        CHECK(offered_again);
    }
}

TEST_CASE("outstanding offers of a lost agent are rescinded") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    REQUIRE(master.lose_agent("agent-0.fake"));
    const auto rescind = s.stream().next_of("RESCIND");
    REQUIRE(rescind);
    CHECK((*rescind)["rescind"]["offer_id"] == offers[0]["id"]);
    CHECK_FALSE(master.lose_agent("agent-0.fake"));
    CHECK_FALSE(master.lose_agent("no-such-agent"));
}
