// Local mode runs command tasks as real processes in sandboxes and reports
// their real exit status; container tasks are reported, not run.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "encoding.hpp"
#include "fake_master.hpp"
#include "test_client.hpp"

using namespace mesoflow::fake;
using namespace mesoflow::fake::testing;

namespace {

FakeMasterConfig local_config(ContainerTaskPolicy containers = ContainerTaskPolicy::finish) {
    FakeMasterConfig c = quick_config(1);
    c.local = true;
    c.local_kill_grace = std::chrono::milliseconds(300);
    c.container_tasks = containers;
    return c;
}

// Acknowledges every update of `task_id` until a terminal one, which it returns.
json run_to_end(Scheduler& s, const std::string& task_id,
                std::vector<std::string>* states = nullptr) {
    while (true) {
        auto status = s.update_for(task_id, std::chrono::milliseconds(10000));
        REQUIRE(status);
        s.ack(*status);
        const std::string state = (*status)["state"];
        if (states != nullptr && (states->empty() || states->back() != state)) {
            states->push_back(state);
        }
        if (state != "TASK_STARTING" && state != "TASK_RUNNING" && state != "TASK_KILLING") {
            return *status;
        }
    }
}

}  // namespace

TEST_CASE("a local task runs in its sandbox with its environment and finishes") {
    FakeMaster master(local_config());
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    json task = Scheduler::command_task(offers[0], "echo-1",
                                        "echo \"greeting=$GREETING\" > out.txt; pwd; echo done");
    task["command"]["environment"] = {{"variables", {{{"name", "GREETING"}, {"value", "hello"}}}}};
    s.launch(offers[0], {task});
    std::vector<std::string> states;
    const json finished = run_to_end(s, "echo-1", &states);
    CHECK(states == std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"});
    CHECK(finished["message"].get<std::string>().rfind("Command exited with status 0", 0) == 0);
    CHECK(finished["message"].get<std::string>().find("done") != std::string::npos);
    const auto output = base64_decode(finished["data"].get<std::string>());
    REQUIRE(output);
    const std::string sandbox = output->substr(0, output->find('\n'));
    CHECK(sandbox.find("echo-1") != std::string::npos);
    std::ifstream file(sandbox + "/out.txt");
    std::string line;
    std::getline(file, line);
    CHECK(line == "greeting=hello");
}

TEST_CASE("a failing local task reports its exit status and the tail of its stderr") {
    FakeMaster master(local_config());
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.launch(offers[0], {Scheduler::command_task(offers[0], "fail-1",
                                                 "echo first >&2; echo 'it broke' >&2; exit 3")});
    const json failed = run_to_end(s, "fail-1");
    CHECK(failed["state"] == "TASK_FAILED");
    CHECK(failed["message"] == "Command exited with status 3\nfirst\nit broke");
}

TEST_CASE("a local argv task runs without a shell") {
    FakeMaster master(local_config());
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    json task = Scheduler::command_task(offers[0], "argv-1", "");
    task["command"] = {
        {"shell", false}, {"value", "/bin/sh"}, {"arguments", {"sh", "-c", "exit $0", "5"}}};
    s.launch(offers[0], {task});
    const json failed = run_to_end(s, "argv-1");
    CHECK(failed["message"] == "Command exited with status 5");
    json missing = Scheduler::command_task(offers[0], "argv-2", "");
    missing["command"] = {{"shell", false}, {"value", "/no/such/program"}};
    s.call("REVIVE");
    const auto again = s.offers();
    REQUIRE(again.size() == 1);
    missing["agent_id"] = again[0]["agent_id"];
    s.launch(again[0], {missing});
    const json not_started = run_to_end(s, "argv-2");
    CHECK(not_started["state"] == "TASK_FAILED");
    CHECK(not_started["reason"] == "REASON_CONTAINER_LAUNCH_FAILED");
}

TEST_CASE("KILL of a local task sends SIGTERM, then SIGKILL to one that ignores it") {
    FakeMaster master(local_config());
    Scheduler s(master.port(), Scheduler::framework_info("k", {"TASK_KILLING_STATE"}));
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.launch(offers[0],
             {Scheduler::command_task(offers[0], "polite", "sleep 30", 1, 32),
              Scheduler::command_task(offers[0], "stubborn",
                                      "trap '' TERM; sleep 30 & wait; sleep 30", 1, 32)});
    for (const char* id : {"polite", "stubborn"}) {
        for (int i = 0; i < 2; ++i) {
            auto status = s.update_for(id);
            REQUIRE(status);
            s.ack(*status);
        }
        s.call("KILL", {{"task_id", {{"value", id}}}});
    }
    std::vector<std::string> states;
    const json polite = run_to_end(s, "polite", &states);
    CHECK(states == std::vector<std::string>{"TASK_KILLING", "TASK_KILLED"});
    CHECK(polite["message"].get<std::string>().rfind("Command terminated with signal", 0) == 0);
    const auto start = std::chrono::steady_clock::now();
    const json stubborn = run_to_end(s, "stubborn");
    CHECK(stubborn["state"] == "TASK_KILLED");
    CHECK(stubborn["message"].get<std::string>().find("Killed") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(5000));
}

TEST_CASE("container tasks are not run in local mode: finished or failed per policy") {
    for (const auto policy : {ContainerTaskPolicy::finish, ContainerTaskPolicy::fail}) {
        FakeMaster master(local_config(policy));
        Scheduler s(master.port(), Scheduler::framework_info());
        const auto offers = s.offers();
        REQUIRE(offers.size() == 1);
        json task = Scheduler::command_task(offers[0], "img-1", "echo hi");
        task["container"] = {
            {"type", "MESOS"},
            {"mesos", {{"image", {{"type", "DOCKER"}, {"docker", {{"name", "alpine:3.19"}}}}}}}};
        s.launch(offers[0], {task});
        const json end = run_to_end(s, "img-1");
        CHECK(end["state"] ==
              (policy == ContainerTaskPolicy::finish ? "TASK_FINISHED" : "TASK_FAILED"));
        CHECK(end["message"] ==
              "local mode runs no containers: the Mesos containerizer image 'alpine:3.19' was "
              "not run");
    }
}

TEST_CASE("destroying the master kills the processes it started") {
    std::string sandbox;
    {
        FakeMaster master(local_config());
        Scheduler s(master.port(), Scheduler::framework_info());
        const auto offers = s.offers();
        REQUIRE(offers.size() == 1);
        s.launch(offers[0],
                 {Scheduler::command_task(offers[0], "long", "echo $$ > pid; sleep 60")});
        REQUIRE(master.wait_until(
            [&] {
                const auto t = master.task("long");
                return t && !t->sandbox.empty() && std::filesystem::exists(t->sandbox + "/pid") &&
                       std::filesystem::file_size(t->sandbox + "/pid") > 0;
            },
            std::chrono::milliseconds(5000)));
        sandbox = master.task("long")->sandbox;
    }
    std::ifstream in(sandbox + "/pid");
    int pid = 0;
    in >> pid;
    REQUIRE(pid > 0);
    CHECK(::kill(pid, 0) != 0);
}
