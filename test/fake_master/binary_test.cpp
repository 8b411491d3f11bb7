// The mesoflow-fake-master binary: its ready line, flags, control endpoint
// and state endpoint, driven as the demo and the benchmark drive it.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "process.hpp"
#include "test_client.hpp"

using namespace mesoflow::fake::testing;
using mesoflow::testing::ChildProcess;
using mesoflow::testing::SpawnOptions;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A running binary with its output in a temp file.
struct RunningMaster {
    explicit RunningMaster(std::vector<std::string> flags) {
        port = mesoflow::testing::free_loopback_port();
        output = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                 "/fake-master-test-" + std::to_string(::getpid()) + "-" + std::to_string(port);
        std::vector<std::string> argv = {FAKE_MASTER_BINARY, "--listen",
                                         "127.0.0.1:" + std::to_string(port)};
        argv.insert(argv.end(), flags.begin(), flags.end());
        process = ChildProcess::spawn(SpawnOptions{argv, {}, std::nullopt, output, SIGKILL});
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (read_file(output).find("listening on") == std::string::npos) {
            if (std::chrono::steady_clock::now() > deadline || !process.running()) {
                FAIL("fake master did not start: " << read_file(output));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ~RunningMaster() { std::remove(output.c_str()); }

    HttpResult control(const std::string& fault, const json& body = json::object()) const {
        return http_request(port, "POST", "/fake/control/" + fault,
                            {{"Content-Type", "application/json"}}, body.dump());
    }
    json state() const {
        return json::parse(http_request(port, "GET", "/fake/state", {}, "").body);
    }

    int port = 0;
    std::string output;
    ChildProcess process;
};

int run(const std::vector<std::string>& args, std::string* output) {
    std::vector<std::string> argv = {FAKE_MASTER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return mesoflow::testing::run_program(SpawnOptions{argv, {}, std::nullopt, "", SIGKILL},
                                          output);
}

}  // namespace

TEST_CASE("the binary prints one ready line with its address and stops cleanly on SIGTERM") {
    RunningMaster master({"--agents", "2", "--heartbeat-interval", "200ms"});
    const std::string out = read_file(master.output);
    CHECK(out.find("mesoflow-fake-master listening on 127.0.0.1:" + std::to_string(master.port)) !=
          std::string::npos);
    master.process.signal(SIGTERM);
    const auto status = master.process.wait_for(std::chrono::milliseconds(5000));
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("the binary prints its usage for --help and refuses unknown flags") {
    std::string out;
    CHECK(run({"--help"}, &out) == 0);
    CHECK(out.find("--allocation-interval") != std::string::npos);
    std::string err;
    CHECK(run({"--bogus"}, &err) == 2);
    CHECK(err.find("unknown option --bogus") != std::string::npos);
    CHECK(run({"--ports", "9-3"}, &err) == 2);
}

TEST_CASE("the binary's agents follow the resource flags and /fake/state shows them") {
    RunningMaster master({"--agents", "4", "--cpus", "2", "--mem", "1024", "--racks", "2",
                          "--allocation-interval", "50ms"});
    const json state = master.state();
    REQUIRE(state["agents"].size() == 4);
    CHECK(state["agents"][0]["cpus"] == 2.0);
    CHECK(state["agents"][0]["mem"] == 1024.0);
    Scheduler s(master.port, Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 4);
    for (const auto& o : offers) {
        REQUIRE(o["attributes"].size() == 1);
        CHECK(o["attributes"][0]["name"] == "rack");
    }
    const json after = master.state();
    CHECK(after["frameworks"].size() == 1);
    CHECK(after["counters"]["offers_sent"] == 4);
    CHECK(after["recent_calls"][0]["type"] == "SUBSCRIBE");
}

TEST_CASE("faults can be set through the control endpoint") {
    RunningMaster master({"--agents", "1", "--allocation-interval", "50ms"});
    Scheduler s(master.port, Scheduler::framework_info());
    REQUIRE(s.offers().size() == 1);

    CHECK(master.control("lose-agent", {{"agent", "agent-0.fake"}}).status == 200);
    CHECK(s.stream().next_of("FAILURE"));
    CHECK(master.control("lose-agent", {{"agent", "agent-0.fake"}}).status == 404);
    CHECK(master.control("restore-agent", {{"agent", "0"}}).status == 200);

    CHECK(master.control("unavailable", {{"requests", 1}}).status == 200);
    CHECK(s.call("REVIVE").status == 503);
    CHECK(s.call("REVIVE").status == 202);

    CHECK(master.control("redirect", {{"to", "elsewhere:5050"}}).status == 200);
    CHECK(s.call("REVIVE").header("location") == "//elsewhere:5050/master/api/v1/scheduler");
    CHECK(master.control("clear-faults").status == 200);

    CHECK(master.control("malformed-record").status == 200);
    REQUIRE(master.state()["counters"]["events"] > 0);
    CHECK(master.control("no-such-fault").status == 404);
    CHECK(master.control("silent", json::array()).status == 400);
    CHECK(http_request(master.port, "GET", "/fake/control/drop-stream", {}, "").status == 405);
    CHECK(master.control("drop-stream").status == 200);
    CHECK(s.stream().wait_closed());
}

TEST_CASE("task rules can be set through the control endpoint") {
    RunningMaster master({"--agents", "1", "--allocation-interval", "50ms", "--no-task-starting"});
    CHECK(
        master
            .control("task-rules", {{"default", {{"run_time_ms", 10}}},
                                    {"rules", {{{"command_contains", "boom"}, {"exit_code", 2}}}}})
            .status == 200);
    Scheduler s(master.port, Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.launch(offers[0], {Scheduler::command_task(offers[0], "t1", "boom")});
    auto running = s.update_for("t1");
    REQUIRE(running);
    CHECK((*running)["state"] == "TASK_RUNNING");  // no TASK_STARTING with --no-task-starting
    s.ack(*running);
    auto failed = s.update_for("t1");
    REQUIRE(failed);
    CHECK((*failed)["message"] == "Command exited with status 2");
}

TEST_CASE("the binary requires Basic authentication when given --principal and --secret") {
    RunningMaster master({"--principal", "p", "--secret", "s"});
    const auto r = http_request(master.port, "POST", "/api/v1/scheduler", {}, "");
    CHECK(r.status == 401);
    // p:s
    CHECK(http_request(master.port, "POST", "/api/v1/scheduler", {{"Authorization", "Basic cDpz"}},
                       "")
              .status == 400);
}

TEST_CASE("the latency endpoint times offers to their answers and updates to their acks") {
    RunningMaster master(
        {"--agents", "2", "--allocation-interval", "50ms", "--task-duration", "0"});
    const auto latency = [&] {
        return json::parse(http_request(master.port, "GET", "/fake/latency", {}, "").body);
    };
    const json before = latency();
    CHECK(before["offer_to_accept"]["count"] == 0);
    CHECK(before["update_to_ack"]["count"] == 0);

    Scheduler s(master.port, Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    REQUIRE(s.launch(offers[0], {Scheduler::command_task(offers[0], "t1", "true")}).status == 202);
    REQUIRE(s.call("DECLINE", {{"offer_ids", json::array({offers[1]["id"]})}}).status == 202);
    for (int i = 0; i < 3; ++i) {  // STARTING, RUNNING, FINISHED
        const auto update = s.update_for("t1");
        REQUIRE(update);
        REQUIRE(s.ack(*update).status == 202);
    }
    const json after = latency();
    CHECK(after["offer_to_accept"]["count"] == 1);
    // The offer waited at least the 30 ms slept before it was accepted.
    CHECK(after["offer_to_accept"]["p50_ms"].get<double>() >= 30.0);
    CHECK(after["offer_to_accept"]["max_ms"] == after["offer_to_accept"]["p99_ms"]);
    CHECK(after["offer_to_decline"]["count"] == 1);
    CHECK(after["update_to_ack"]["count"] == 3);
    CHECK(after["update_to_ack"]["p50_ms"].get<double>() <=
          after["update_to_ack"]["max_ms"].get<double>());
}
