// Faults under test control: broken and silent streams, master failover,
// corrupt RecordIO, calls of one type refused, carried out twice or held
// back, and the wait_until helper.
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

}  // namespace

TEST_CASE(
    "a dropped stream ends without the terminating chunk and the framework is "
    "disconnected") {
    FakeMaster master(quick_config());
    Scheduler s(master.port(), Scheduler::framework_info());
    master.drop_streams();
    REQUIRE(s.stream().wait_closed());
    CHECK_FALSE(s.stream().ended_cleanly());
    REQUIRE(master.wait_until([&] { return !master.frameworks()[0].connected; },
                              std::chrono::milliseconds(1000)));
    CHECK(s.call("REVIVE").status == 403);
    CHECK(master.counters().streams_dropped == 1);
}

TEST_CASE("a silent master sends nothing, keeps the connection, and resumes with what it held") {
    FakeMasterConfig config = quick_config(1);
    config.heartbeat_interval = std::chrono::milliseconds(50);
    FakeMaster master(config);
    Scheduler s(master.port(), Scheduler::framework_info());
    REQUIRE(s.offers().size() == 1);
    master.set_silent(true);
    while (s.stream().next(std::chrono::milliseconds(100))) {
    }  // drain what was already on the way
    const auto heartbeats = master.counters().heartbeats;
    CHECK_FALSE(s.stream().next(std::chrono::milliseconds(400)));
    CHECK_FALSE(s.stream().eof());
    CHECK(master.counters().heartbeats == heartbeats);
    // Calls are still served; their events wait.
    CHECK(s.call("RECONCILE", {{"tasks", {{{"task_id", {{"value", "ghost"}}}}}}}).status == 202);
    CHECK_FALSE(s.stream().next(std::chrono::milliseconds(200)));
    master.set_silent(false);
    CHECK(s.update_for("ghost", std::chrono::milliseconds(1000)));
    CHECK(s.stream().next_of("HEARTBEAT", std::chrono::milliseconds(1000)));
}

TEST_CASE("after a master failover the framework must re-subscribe and keeps its tasks") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({}, forever());
    json info = Scheduler::framework_info();
    auto s = std::make_unique<Scheduler>(master.port(), info);
    const auto offers = s->offers();
    REQUIRE(offers.size() == 1);
    s->launch(offers[0], {Scheduler::command_task(offers[0], "t1", "sleep 100")});
    auto starting = s->update_for("t1");
    REQUIRE(starting);  // not acknowledged: it must come again after the failover
    const std::string old_master = master.master_id();
    const std::string id = s->framework_id();
    const std::string old_stream = s->stream_id();

    master.fail_over();
    REQUIRE(s->stream().wait_closed());
    CHECK_FALSE(s->stream().ended_cleanly());
    CHECK(master.master_id() != old_master);
    CHECK(master.offers().empty());
    const auto forbidden =
        post_json(master.port(), {{"type", "REVIVE"}, {"framework_id", {{"value", id}}}},
                  {{"Mesos-Stream-Id", old_stream}});
    CHECK(forbidden.status == 403);
    CHECK(master.frameworks()[0].recovered);

    info["id"] = {{"value", id}};
    Scheduler back(master.port(), info);
    CHECK(back.framework_id() == id);
    CHECK(back.stream_id() != old_stream);
    auto again = back.update_for("t1", std::chrono::milliseconds(3000));
    REQUIRE(again);
    CHECK((*again)["state"] == "TASK_STARTING");
    CHECK((*again)["uuid"] == (*starting)["uuid"]);
    CHECK(master.task("t1")->state == "TASK_RUNNING");
}

TEST_CASE("injected corrupt RecordIO is seen by mesoflow's decoder as a broken stream") {
    FakeMaster master(quick_config());
    {
        Scheduler s(master.port(), Scheduler::framework_info("oversized"));
        master.inject_oversized_length();
        REQUIRE(master.wait_until([&] { return !s.stream().decode_error().empty(); },
                                  std::chrono::milliseconds(1000)));
        CHECK(s.stream().decode_error().find("exceeds the limit") != std::string::npos);
        s.call("TEARDOWN");
    }
    {
        Scheduler s(master.port(), Scheduler::framework_info("prefix"));
        master.inject_bad_length_prefix();
        REQUIRE(master.wait_until([&] { return !s.stream().decode_error().empty(); },
                                  std::chrono::milliseconds(1000)));
        CHECK(s.stream().decode_error().find("non-digit") != std::string::npos);
        s.call("TEARDOWN");
    }
    {
        Scheduler s(master.port(), Scheduler::framework_info("json"));
        master.inject_malformed_record();
        REQUIRE(master.wait_until([&] { return !s.stream().decode_error().empty(); },
                                  std::chrono::milliseconds(1000)));
        CHECK(s.stream().decode_error().find("bad JSON") != std::string::npos);
    }
}

TEST_CASE("wait_until returns false when the predicate never holds") {
    FakeMaster master(quick_config());
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(master.wait_until([] { return false; }, std::chrono::milliseconds(150)));
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(150));
}

TEST_CASE("clear_faults ends every fault in force") {
    FakeMaster master(quick_config());
    master.redirect_to("elsewhere:5050");
    master.answer_unavailable_requests(5);
    master.set_silent(true);
    master.clear_faults();
    Scheduler s(master.port(), Scheduler::framework_info());
    CHECK(s.stream().next_of("HEARTBEAT"));
    CHECK(s.call("REVIVE").status == 202);
}

TEST_CASE("fail_calls refuses, or carries out twice, the next calls of one type") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info("calls", {"PARTITION_AWARE"}));
    master.fail_calls("REVIVE", 1, CallFault{CallFaultKind::status, 503, "busy"});
    const auto refused = s.call("REVIVE");
    CHECK(refused.status == 503);
    CHECK(refused.body == "busy");
    CHECK(s.call("REVIVE").status == 202);  // only the next one
    // Carried out twice: the second copy finds its offer used, and the task
    // the first launched gets a TASK_DROPPED, as a resent ACCEPT would.
    master.fail_calls("ACCEPT", 1, CallFault{CallFaultKind::repeat});
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    CHECK(s.launch(offers[0], {Scheduler::command_task(offers[0], "twice", "true")}).status == 202);
    const auto update = s.update_for("twice");
    REQUIRE(update);
    CHECK((*update)["state"] == "TASK_DROPPED");
    CHECK((*update)["reason"] == "REASON_INVALID_OFFERS");
    CHECK(master.counters().tasks_launched == 1);
    CHECK(master.calls_of_type("ACCEPT").size() == 1);
}

TEST_CASE(
    "a held ACCEPT is answered 202 at once and carried out only when released: until then "
    "its task is unknown") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info("held", {"PARTITION_AWARE"}));
    master.fail_calls("ACCEPT", 1, CallFault{CallFaultKind::hold});
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    const json agent_id = offers[0]["agent_id"];
    // What the task leaves of the offer comes back at the next allocation.
    const json no_filter = {{"refuse_seconds", 0}};
    CHECK(s.launch(offers[0], {Scheduler::command_task(offers[0], "held", "true")}, no_filter)
              .status == 202);
    CHECK(master.held_calls() == 1);
    CHECK(master.counters().tasks_launched == 0);
    CHECK_FALSE(master.task("held"));
    CHECK(master.offers().size() == 1);  // still outstanding
    // Asked about it, the master answers as for a task it never heard of.
    const json asked = {{"tasks", {{{"task_id", {{"value", "held"}}}, {"agent_id", agent_id}}}}};
    CHECK(s.call("RECONCILE", asked).status == 202);
    const auto answer = s.update_for("held");
    REQUIRE(answer);
    CHECK((*answer)["state"] == "TASK_GONE");
    CHECK((*answer)["reason"] == "REASON_RECONCILIATION");
    // Released: launched, on the offer it named.
    CHECK(master.release_held_calls() == 1);
    CHECK(master.held_calls() == 0);
    CHECK(master.counters().tasks_launched == 1);
    CHECK(master.offers().empty());
    const auto launched = s.update_for("held");
    REQUIRE(launched);
    CHECK((*launched)["state"] == "TASK_STARTING");
    // Only the next call was held.
    const auto more = s.offers();
    REQUIRE(more.size() == 1);
    CHECK(s.launch(more[0], {Scheduler::command_task(more[0], "not-held", "true")}).status == 202);
    CHECK(master.held_calls() == 0);
    CHECK(master.task("not-held"));
}

TEST_CASE("clear_faults carries out the calls held") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    master.fail_calls("ACCEPT", 2, CallFault{CallFaultKind::hold});
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    CHECK(s.launch(offers[0], {Scheduler::command_task(offers[0], "t1", "true")}).status == 202);
    REQUIRE(master.held_calls() == 1);
    master.clear_faults();
    CHECK(master.held_calls() == 0);
    CHECK(master.task("t1"));
    CHECK(master.counters().tasks_launched == 1);
}
