// SUBSCRIBE, heartbeats, scheduler failover, refusals, disconnection and
// TEARDOWN behave as in the real master (docs/scheduler-http-api.md and
// docs/high-availability-framework-guide.md in the Mesos sources).
#include <catch2/catch.hpp>

#include "fake_master.hpp"
#include "test_client.hpp"

using namespace mesoflow::fake;
using namespace mesoflow::fake::testing;

namespace {

json subscribe_call(const json& info) {
    json call = {{"type", "SUBSCRIBE"}, {"subscribe", {{"framework_info", info}}}};
    if (info.contains("id"))
        call["framework_id"] = info["id"];
    return call;
}

}  // namespace

TEST_CASE(
    "SUBSCRIBE streams SUBSCRIBED with id, heartbeat interval and master info, then a "
    "HEARTBEAT") {
    FakeMaster master(quick_config());
    Subscription s(master.port(), subscribe_call(Scheduler::framework_info()));
    CHECK(s.head().status == 200);
    CHECK(s.head().header("transfer-encoding") == "chunked");
    CHECK(s.head().header("content-type") == "application/json");
    CHECK_FALSE(s.head().has("content-length"));
    CHECK(s.stream_id().size() == 36);

    const auto subscribed = s.next();
    REQUIRE(subscribed);
    CHECK((*subscribed)["type"] == "SUBSCRIBED");
    const json& body = (*subscribed)["subscribed"];
    const std::string id = body["framework_id"]["value"];
    CHECK(id == master.master_id() + "-0000");
    CHECK(body["heartbeat_interval_seconds"] == 0.2);
    CHECK(body["master_info"]["id"] == master.master_id());
    CHECK(body["master_info"]["port"] == master.port());
    CHECK(body["master_info"]["address"]["ip"] == "127.0.0.1");
    CHECK(body["master_info"]["pid"] == "master@" + master.address());

    const auto heartbeat = s.next();
    REQUIRE(heartbeat);
    CHECK(*heartbeat == json{{"type", "HEARTBEAT"}});
}

TEST_CASE("heartbeats keep coming at the configured interval") {
    FakeMasterConfig config = quick_config();
    config.heartbeat_interval = std::chrono::milliseconds(100);
    config.agents.clear();  // no offers in between
    FakeMaster master(config);
    Subscription s(master.port(), subscribe_call(Scheduler::framework_info()));
    REQUIRE(s.next_of("SUBSCRIBED"));
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i)
        REQUIRE(s.next_of("HEARTBEAT", std::chrono::milliseconds(1000)));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    // The first comes at once, three more after 100 ms each.
    CHECK(elapsed >= std::chrono::milliseconds(290));
    CHECK(elapsed < std::chrono::milliseconds(1500));
}

TEST_CASE("a refused SUBSCRIBE is a 200 stream with a single ERROR, then the stream ends") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info("bad-role", {"MULTI_ROLE"}, {"/test/test1"});
    Subscription s(master.port(), subscribe_call(info));
    CHECK(s.head().status == 200);
    const auto error = s.next();
    REQUIRE(error);
    CHECK((*error)["type"] == "ERROR");
    CHECK((*error)["error"]["message"] ==
          "'FrameworkInfo.roles' contains invalid role: Role '/test/test1' cannot start with a "
          "slash");
    REQUIRE(s.wait_closed());
    CHECK(s.ended_cleanly());
    CHECK(s.all_events().size() == 1);
    CHECK(master.frameworks().empty());
    CHECK(master.counters().refused_subscriptions == 1);
}

TEST_CASE("SUBSCRIBE is refused for role rules the real master enforces") {
    FakeMaster master(quick_config());
    auto refusal = [&](const json& call) {
        Subscription s(master.port(), call);
        auto e = s.next();
        return e && (*e)["type"] == "ERROR" ? (*e)["error"]["message"].get<std::string>() : "";
    };
    json roles_without_capability = Scheduler::framework_info();
    roles_without_capability["roles"] = {"a"};
    CHECK(refusal(subscribe_call(roles_without_capability)) ==
          "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable");
    json duplicate = Scheduler::framework_info("d", {"MULTI_ROLE"}, {"a", "a"});
    CHECK(refusal(subscribe_call(duplicate)) ==
          "'FrameworkInfo.roles' contains duplicate items: { a }");
    json suppressed = subscribe_call(Scheduler::framework_info("s", {"MULTI_ROLE"}, {"a"}));
    suppressed["subscribe"]["suppressed_roles"] = {"b"};
    CHECK(refusal(suppressed) == "Suppressed roles { b } are not contained in the set of roles");
}

TEST_CASE("re-subscribing with the same id fails the old stream over and keeps the id") {
    FakeMaster master(quick_config());
    Scheduler first(master.port(), Scheduler::framework_info());
    json info = Scheduler::framework_info();
    info["id"] = {{"value", first.framework_id()}};
    Subscription second(master.port(), subscribe_call(info));
    const auto subscribed = second.next();
    REQUIRE(subscribed);
    CHECK((*subscribed)["subscribed"]["framework_id"]["value"] == first.framework_id());
    CHECK(second.next_of("HEARTBEAT"));
    CHECK(second.stream_id() != first.stream_id());

    const auto error = first.stream().next_of("ERROR");
    REQUIRE(error);
    CHECK((*error)["error"]["message"] == "Framework failed over");
    REQUIRE(first.stream().wait_closed());
    CHECK(first.stream().ended_cleanly());
    REQUIRE(master.frameworks().size() == 1);
    CHECK(master.frameworks()[0].connected);
    CHECK(master.frameworks()[0].stream_id == second.stream_id());
}

TEST_CASE("a framework id the master never saw is accepted as a recovered framework") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info();
    info["id"] = {{"value", "from-an-earlier-master-0042"}};
    Scheduler s(master.port(), info);
    CHECK(s.framework_id() == "from-an-earlier-master-0042");
    CHECK(s.call("REVIVE").status == 202);
}

TEST_CASE("changing the principal on re-subscription is refused with an ERROR") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info();
    info["principal"] = "p1";
    Scheduler first(master.port(), info);
    info["id"] = {{"value", first.framework_id()}};
    info["principal"] = "p2";
    Subscription s(master.port(), subscribe_call(info));
    const auto error = s.next();
    REQUIRE(error);
    CHECK((*error)["error"]["message"] == "Changing framework's principal is not allowed.");
    // The first subscription is untouched.
    CHECK(first.call("REVIVE").status == 202);
}

TEST_CASE(
    "a closed subscription disconnects the framework at once; failover_timeout then removes "
    "it") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info();
    info["failover_timeout"] = 0.3;
    auto s = std::make_unique<Scheduler>(master.port(), info);
    const std::string id = s->framework_id();
    s->stream().close();
    REQUIRE(master.wait_until(
        [&] { return master.frameworks().size() == 1 && !master.frameworks()[0].connected; },
        std::chrono::milliseconds(1000)));
    REQUIRE(master.wait_until([&] { return master.frameworks().empty(); },
                              std::chrono::milliseconds(3000)));
    json again = Scheduler::framework_info();
    again["id"] = {{"value", id}};
    Subscription late(master.port(), subscribe_call(again));
    const auto error = late.next();
    REQUIRE(error);
    CHECK((*error)["error"]["message"] == "Framework has been removed");
}

TEST_CASE("re-subscribing within failover_timeout keeps the framework and its tasks") {
    FakeMaster master(quick_config(1));
    master.set_task_rules(
        {}, TaskBehavior{std::chrono::milliseconds(0), std::chrono::milliseconds(0), 0, true});
    json info = Scheduler::framework_info();
    auto s = std::make_unique<Scheduler>(master.port(), info);
    const auto offers = s->offers();
    REQUIRE(offers.size() == 1);
    REQUIRE(s->launch(offers[0], {Scheduler::command_task(offers[0], "t1", "sleep 100")}).status ==
            202);
    REQUIRE(s->update_for("t1"));
    const std::string id = s->framework_id();
    s.reset();
    REQUIRE(master.wait_until([&] { return !master.frameworks()[0].connected; },
                              std::chrono::milliseconds(1000)));
    info["id"] = {{"value", id}};
    Scheduler back(master.port(), info);
    CHECK(back.framework_id() == id);
    REQUIRE(master.task("t1"));
    CHECK(master.task("t1")->state == "TASK_RUNNING");
}

TEST_CASE("TEARDOWN ends the stream, kills the tasks and forgets the framework") {
    FakeMaster master(quick_config(1));
    master.set_task_rules(
        {}, TaskBehavior{std::chrono::milliseconds(0), std::chrono::milliseconds(0), 0, true});
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.launch(offers[0], {Scheduler::command_task(offers[0], "t1", "sleep 100")});
    REQUIRE(master.wait_until([&] { return master.tasks().size() == 1; },
                              std::chrono::milliseconds(1000)));
    CHECK(s.call("TEARDOWN").status == 202);
    REQUIRE(s.stream().wait_closed());
    CHECK(s.stream().ended_cleanly());
    CHECK(master.frameworks().empty());
    CHECK(master.tasks().empty());
    CHECK(master.agents()[0].used_cpus == 0);
    json info = Scheduler::framework_info();
    info["id"] = {{"value", s.framework_id()}};
    Subscription again(master.port(), subscribe_call(info));
    const auto error = again.next();
    REQUIRE(error);
    CHECK((*error)["error"]["message"] == "Framework has been removed");
}

TEST_CASE("UPDATE_FRAMEWORK changes roles and answers 200; immutable fields give 400") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info("u", {"MULTI_ROLE"}, {"a"});
    Scheduler s(master.port(), info);
    info["id"] = {{"value", s.framework_id()}};
    info["roles"] = {"a", "b"};
    auto r = s.call("UPDATE_FRAMEWORK", {{"framework_info", info}, {"suppressed_roles", {"b"}}});
    CHECK(r.status == 200);
    CHECK(r.body.empty());
    const auto view = master.frameworks()[0];
    CHECK(view.roles == std::vector<std::string>{"a", "b"});
    CHECK(view.suppressed_roles == std::vector<std::string>{"b"});
    info["user"] = "root";
    r = s.call("UPDATE_FRAMEWORK", {{"framework_info", info}});
    CHECK(r.status == 400);
    CHECK(r.body ==
          "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; "
          "attempted to update from 'nobody' to 'root'");
}
