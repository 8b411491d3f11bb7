// ACCEPT with LAUNCH: offer and task validation like the real master
// (src/master/master.cpp `_accept` and src/master/validation.cpp in the Mesos
// sources), the task lifecycle under test control and per-agent accounting.
#include <catch2/catch.hpp>

#include "fake_master.hpp"
#include "test_client.hpp"

using namespace mesoflow::fake;
using namespace mesoflow::fake::testing;

namespace {

json scalar_resource(const std::string& name, double value) {
    return {{"name", name}, {"type", "SCALAR"}, {"scalar", {{"value", value}}}};
}

// Receives the next update of `task_id`, checks it, acknowledges it.
json expect_update(Scheduler& s, const std::string& task_id, const std::string& state) {
    auto status = s.update_for(task_id);
    REQUIRE(status);
    CHECK((*status)["state"] == state);
    if (status->contains("uuid"))
        s.ack(*status);
    return *status;
}

}  // namespace

TEST_CASE("a launched task goes STARTING, RUNNING, FINISHED with uuids, one update at a time") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    REQUIRE(s.launch(offers[0], {Scheduler::command_task(offers[0], "t1", "echo hi", 1.5, 256)})
                .status == 202);
    const std::string agent = offers[0]["agent_id"]["value"];
    REQUIRE(master.wait_until([&] { return master.agents()[0].used_cpus == 1.5; },
                              std::chrono::milliseconds(1000)));

    auto starting = s.update_for("t1");
    REQUIRE(starting);
    CHECK((*starting)["state"] == "TASK_STARTING");
    CHECK((*starting)["source"] == "SOURCE_EXECUTOR");
    CHECK((*starting)["agent_id"]["value"] == agent);
    CHECK((*starting)["executor_id"]["value"] == "t1");
    CHECK((*starting)["uuid"].get<std::string>().size() == 24);
    CHECK((*starting)["timestamp"].is_number_float());
    // Nothing else for t1 until STARTING is acknowledged (retry is 200 ms).
    CHECK_FALSE(s.update_for("t1", std::chrono::milliseconds(120)));
    s.ack(*starting);
    const json running = expect_update(s, "t1", "TASK_RUNNING");
    CHECK(running["container_status"]["network_infos"][0]["ip_addresses"][0]["ip_address"] ==
          "127.0.0.1");
    const json finished = expect_update(s, "t1", "TASK_FINISHED");
    CHECK(finished["message"] == "Command exited with status 0");
    CHECK(running["uuid"] != finished["uuid"]);
    // The terminal acknowledgement makes the master forget the task.
    REQUIRE(
        master.wait_until([&] { return master.tasks().empty(); }, std::chrono::milliseconds(1000)));
    CHECK(master.agents()[0].used_cpus == 0);
    CHECK(master.counters().tasks_finished == 1);
    const auto acks = master.acks();
    REQUIRE(acks.size() == 3);
    CHECK(acks[0].state == "TASK_STARTING");
    CHECK(acks[2].state == "TASK_FINISHED");
    CHECK(acks[2].matched);
}

TEST_CASE("task rules set the exit status by command, label or task id prefix") {
    FakeMaster master(quick_config(1));
    TaskBehavior fails;
    fails.run_time = std::chrono::milliseconds(10);
    fails.exit_code = 3;
    TaskBehavior fails_7 = fails;
    fails_7.exit_code = 7;
    TaskBehavior fails_9 = fails;
    fails_9.exit_code = 9;
    master.set_task_rules(
        {{"exit 3", "", "", fails}, {"", "outcome=bad", "", fails_7}, {"", "", "doomed-", fails_9}},
        TaskBehavior{std::chrono::milliseconds(0), std::chrono::milliseconds(10), 0, false});
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    json labelled = Scheduler::command_task(offers[0], "l1", "true");
    labelled["labels"] = {{"labels", {{{"key", "outcome"}, {"value", "bad"}}}}};
    s.launch(offers[0], {Scheduler::command_task(offers[0], "c1", "sh -c 'exit 3'"), labelled,
                         Scheduler::command_task(offers[0], "doomed-1", "true"),
                         Scheduler::command_task(offers[0], "ok-1", "true")});
    std::map<std::string, json> terminal;
    while (terminal.size() < 4) {
        auto e = s.stream().next_of("UPDATE");
        REQUIRE(e);
        const json status = (*e)["update"]["status"];
        s.ack(status);
        const std::string state = status["state"];
        if (state == "TASK_FINISHED" || state == "TASK_FAILED") {
            terminal[status["task_id"]["value"]] = status;
        }
    }
    CHECK(terminal["c1"]["state"] == "TASK_FAILED");
    CHECK(terminal["c1"]["message"] == "Command exited with status 3");
    CHECK(terminal["l1"]["message"] == "Command exited with status 7");
    CHECK(terminal["doomed-1"]["message"] == "Command exited with status 9");
    CHECK(terminal["ok-1"]["state"] == "TASK_FINISHED");
}

TEST_CASE("an offer that is no longer valid drops its tasks: TASK_LOST or TASK_DROPPED") {
    FakeMaster master(quick_config(1));
    for (const bool aware : {false, true}) {
        Scheduler s(master.port(),
                    Scheduler::framework_info(aware ? "aware" : "plain",
                                              aware ? std::vector<std::string>{"PARTITION_AWARE"}
                                                    : std::vector<std::string>{}));
        auto offers = s.offers();
        REQUIRE(offers.size() == 1);
        json stale = offers[0];
        stale["id"]["value"] = "no-such-offer";
        s.launch(stale, {Scheduler::command_task(offers[0], "t1", "true")});
        const auto status = s.update_for("t1");
        REQUIRE(status);
        CHECK((*status)["state"] == (aware ? "TASK_DROPPED" : "TASK_LOST"));
        CHECK((*status)["reason"] == "REASON_INVALID_OFFERS");
        CHECK((*status)["source"] == "SOURCE_MASTER");
        CHECK((*status)["message"] ==
              "Task launched with invalid offers: Offer no-such-offer is no longer valid");
        CHECK_FALSE(status->contains("uuid"));
        s.call("TEARDOWN");
    }
}

TEST_CASE("a rescinded offer cannot be accepted") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    master.rescind_all_offers();
    REQUIRE(s.stream().next_of("RESCIND"));
    s.launch(offers[0], {Scheduler::command_task(offers[0], "t1", "true")});
    const auto status = s.update_for("t1");
    REQUIRE(status);
    CHECK((*status)["state"] == "TASK_LOST");
}

TEST_CASE("offers from two agents cannot be accepted together") {
    FakeMaster master(quick_config(2));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 2);
    s.call(
        "ACCEPT",
        {{"offer_ids", {offers[0]["id"], offers[1]["id"]}},
         {"operations",
          {{{"type", "LAUNCH"},
            {"launch", {{"task_infos", {Scheduler::command_task(offers[0], "t1", "true")}}}}}}}});
    const auto status = s.update_for("t1");
    REQUIRE(status);
    CHECK((*status)["message"].get<std::string>().find(
              "Aggregated offers must belong to one single agent") != std::string::npos);
}

TEST_CASE("invalid tasks get TASK_ERROR while valid ones in the same ACCEPT launch") {
    FakeMaster master(quick_config(2));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 2);
    const json& offer = offers[0];
    json too_big = Scheduler::command_task(offer, "too-big", "true", 9, 32);
    json no_command = Scheduler::command_task(offer, "no-command", "true");
    no_command.erase("command");
    json container_only = no_command;
    container_only["task_id"]["value"] = "container-only";
    container_only["container"] = {{"type", "DOCKER"}, {"docker", {{"image", "alpine"}}}};
    json wrong_agent = Scheduler::command_task(offers[1], "wrong-agent", "true");
    json no_resources = Scheduler::command_task(offer, "no-resources", "true");
    no_resources["resources"] = json::array();
    json unknown_resource = Scheduler::command_task(offer, "foo-resource", "true");
    unknown_resource["resources"].push_back(scalar_resource("foo", 1));
    json ok = Scheduler::command_task(offer, "ok", "true", 7.9, 32);
    json duplicate = Scheduler::command_task(offer, "ok", "true", 0.01, 1);
    s.launch(offer, {too_big, no_command, container_only, wrong_agent, no_resources,
                     unknown_resource, ok, duplicate});

    std::map<std::string, json> errors;
    bool ok_started = false;
    while (errors.size() < 7 || !ok_started) {
        auto e = s.stream().next_of("UPDATE");
        REQUIRE(e);
        const json status = (*e)["update"]["status"];
        if (status["state"] == "TASK_ERROR") {
            CHECK(status["reason"] == "REASON_TASK_INVALID");
            CHECK_FALSE(status.contains("uuid"));
            errors[status["task_id"]["value"].get<std::string>()] = status;
        } else {
            CHECK(status["task_id"]["value"] == "ok");
            ok_started = true;
        }
    }
    CHECK(errors["too-big"]["message"].get<std::string>().rfind(
              "Total resources cpus:9; mem:32 required by task and its executor is more than "
              "available",
              0) == 0);
    CHECK(errors["no-command"]["message"] ==
          "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present");
    CHECK(errors["container-only"]["message"] == errors["no-command"]["message"]);
    CHECK(errors["wrong-agent"]["message"] ==
          "Task uses invalid agent " + offers[1]["agent_id"]["value"].get<std::string>() +
              " while agent " + offer["agent_id"]["value"].get<std::string>() + " is expected");
    CHECK(errors["no-resources"]["message"] == "Task uses no resources");
    CHECK(errors["foo-resource"]["message"].get<std::string>().find("foo") != std::string::npos);
    CHECK(errors["ok"]["message"] == "Task has duplicate ID: ok");
    CHECK(master.counters().tasks_error == 7);
    double used = 0;
    for (const auto& a : master.agents()) {
        if (a.id == offer["agent_id"]["value"])
            used = a.used_cpus;
    }
    CHECK(used == Approx(7.9));
}

TEST_CASE("a task asking for the remainder after an earlier task in the ACCEPT over-asks") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.launch(offers[0], {Scheduler::command_task(offers[0], "a", "true", 5, 32),
                         Scheduler::command_task(offers[0], "b", "true", 5, 32)});
    const auto b = s.update_for("b");
    REQUIRE(b);
    CHECK((*b)["state"] == "TASK_ERROR");
    CHECK((*b)["message"].get<std::string>().find("more than available cpus:3") !=
          std::string::npos);
}

TEST_CASE(
    "LAUNCH with an operation id is refused per task; other operations with an id get "
    "OPERATION_ERROR") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.call("ACCEPT",
           {{"offer_ids", {offers[0]["id"]}},
            {"operations",
             {{{"type", "LAUNCH"},
               {"id", {{"value", "op-1"}}},
               {"launch", {{"task_infos", {Scheduler::command_task(offers[0], "t1", "true")}}}}},
              {{"type", "RESERVE"}, {"id", {{"value", "op-2"}}}, {"reserve", json::object()}}}}});
    const auto t1 = s.update_for("t1");
    REQUIRE(t1);
    CHECK((*t1)["state"] == "TASK_ERROR");
    CHECK((*t1)["message"] == "The `id` field cannot be set on LAUNCH operations");
    const auto op = s.stream().next_of("UPDATE_OPERATION_STATUS");
    REQUIRE(op);
    CHECK((*op)["update_operation_status"]["status"]["operation_id"]["value"] == "op-2");
    CHECK((*op)["update_operation_status"]["status"]["state"] == "OPERATION_ERROR");
}

TEST_CASE("ports, environment and container details of a task are kept for inspection") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    json task = Scheduler::command_task(offers[0], "web", "nginx");
    task["resources"].push_back({{"name", "ports"},
                                 {"type", "RANGES"},
                                 {"ranges", {{"range", {{{"begin", 31000}, {"end", 31001}}}}}}});
    task["command"]["environment"] = {{"variables", {{{"name", "A"}, {"value", "1"}}}}};
    task["container"] = {{"type", "DOCKER"}, {"docker", {{"image", "library/nginx:1.25"}}}};
    s.launch(offers[0], {task});
    REQUIRE(master.wait_until([&] { return master.task("web").has_value(); },
                              std::chrono::milliseconds(1000)));
    const auto view = *master.task("web");
    CHECK(view.container_image == "library/nginx:1.25");
    CHECK(view.environment.at("A") == "1");
    CHECK(view.command == "nginx");
    json taken = Scheduler::command_task(offers[0], "web2", "nginx");
    taken["resources"].push_back({{"name", "ports"},
                                  {"type", "RANGES"},
                                  {"ranges", {{"range", {{{"begin", 31001}, {"end", 31001}}}}}}});
    s.call("REVIVE");
    const auto again = s.offers();
    REQUIRE(again.size() == 1);
    s.launch(again[0], {taken});
    const auto status = s.update_for("web2");
    REQUIRE(status);
    CHECK((*status)["state"] == "TASK_ERROR");
}
