#include "mesoflow/scheduler/calls.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

#include "offers.hpp"

using namespace mesoflow;

namespace {

scheduler::FrameworkOptions options() {
    scheduler::FrameworkOptions o;
    o.user = "nobody";
    o.name = "mesoflow";
    o.roles = {"batch", "web"};
    o.hostname = "sched-1";
    o.webui_url = "http://sched-1:8080/";
    o.failover_timeout_s = 604800;
    o.principal = "mesoflow";
    return o;
}

bool has(const std::vector<mesos::FrameworkCapability>& caps, mesos::FrameworkCapability c) {
    return std::find(caps.begin(), caps.end(), c) != caps.end();
}

}  // namespace

TEST_CASE("a first subscription carries no framework id anywhere") {
    auto first = scheduler::make_subscribe(options(), std::nullopt, {});
    CHECK(first.type() == mesos::CallType::subscribe);
    CHECK_FALSE(first.framework_id);
    const auto& sub = std::get<mesos::Call::Subscribe>(first.body);
    CHECK_FALSE(sub.framework_info.id);
    CHECK(sub.framework_info.user == "nobody");
    CHECK(sub.framework_info.name == "mesoflow");
    CHECK(sub.framework_info.hostname == "sched-1");
    CHECK(sub.framework_info.webui_url == "http://sched-1:8080/");
    CHECK(sub.framework_info.principal == "mesoflow");
    CHECK(sub.framework_info.checkpoint);
    CHECK_FALSE(sub.framework_info.role);
}

TEST_CASE("a re-subscription carries the framework id in both places") {
    auto again = scheduler::make_subscribe(options(), std::string("FW-1"), {"batch"});
    CHECK(again.framework_id == "FW-1");
    const auto& sub = std::get<mesos::Call::Subscribe>(again.body);
    CHECK(sub.framework_info.id == "FW-1");
    CHECK(sub.framework_info.roles == std::vector<std::string>{"batch", "web"});
    CHECK(sub.framework_info.failover_timeout == 604800);
    CHECK(sub.suppressed_roles == std::vector<std::string>{"batch"});
}

TEST_CASE(
    "subscription capabilities: multi-role, partition-aware, killing state, GPUs on request") {
    using C = mesos::FrameworkCapability;
    auto o = options();
    const auto plain_call = scheduler::make_subscribe(o, std::nullopt, {});
    const auto& plain =
        std::get<mesos::Call::Subscribe>(plain_call.body).framework_info.capabilities;
    CHECK(plain.size() == 3);
    CHECK(has(plain, C::multi_role));
    CHECK(has(plain, C::partition_aware));
    CHECK(has(plain, C::task_killing_state));
    CHECK_FALSE(has(plain, C::gpu_resources));
    CHECK_FALSE(has(plain, C::reservation_refinement));
    o.gpu_resources = true;
    const auto gpu_call = scheduler::make_subscribe(o, std::nullopt, {});
    const auto& gpu = std::get<mesos::Call::Subscribe>(gpu_call.body).framework_info.capabilities;
    CHECK(gpu.size() == 4);
    CHECK(has(gpu, C::gpu_resources));
}

TEST_CASE("empty optional framework fields are not sent") {
    scheduler::FrameworkOptions o;
    o.user = "u";
    o.name = "n";
    const auto call = scheduler::make_subscribe(o, {}, {});
    const auto& fi = std::get<mesos::Call::Subscribe>(call.body).framework_info;
    CHECK_FALSE(fi.hostname);
    CHECK_FALSE(fi.webui_url);
    CHECK_FALSE(fi.principal);
}

TEST_CASE("an accept launches the tasks on all offers of the plan, with the refuse filter") {
    scheduler::AgentPlan plan;
    plan.agent_id = "S1";
    plan.offer_ids = {"O1", "O2"};
    mesos::TaskInfo t;
    t.name = "k1";
    t.task_id = "mf-1-1";
    t.agent_id = "S1";
    auto call = scheduler::make_accept("FW", plan, {t}, 5.0);
    CHECK(call.type() == mesos::CallType::accept);
    CHECK(call.framework_id == "FW");
    const auto& accept = std::get<mesos::Call::Accept>(call.body);
    CHECK(accept.offer_ids == std::vector<std::string>{"O1", "O2"});
    REQUIRE(accept.operations.size() == 1);
    CHECK_FALSE(accept.operations[0].id);  // not allowed on LAUNCH
    const auto& launch = accept.operations[0].body;
    REQUIRE(launch.task_infos.size() == 1);
    CHECK(launch.task_infos[0] == t);
    CHECK(accept.filters == mesos::Filters{5.0});
}

TEST_CASE("decline, kill, teardown carry the framework id and their arguments") {
    auto decline = scheduler::make_decline("FW", {"O1", "O2"}, 3600);
    CHECK(decline.framework_id == "FW");
    CHECK(std::get<mesos::Call::Decline>(decline.body) ==
          mesos::Call::Decline{{"O1", "O2"}, mesos::Filters{3600}});

    auto kill = scheduler::make_kill("FW", "mf-1-1", std::string("S1"));
    CHECK(kill.framework_id == "FW");
    CHECK(std::get<mesos::Call::Kill>(kill.body) ==
          mesos::Call::Kill{"mf-1-1", std::string("S1"), std::nullopt});
    auto kill_anywhere = scheduler::make_kill("FW", "mf-1-1", std::nullopt);
    CHECK_FALSE(std::get<mesos::Call::Kill>(kill_anywhere.body).agent_id);

    auto teardown = scheduler::make_teardown("FW");
    CHECK(teardown.type() == mesos::CallType::teardown);
    CHECK(teardown.framework_id == "FW");
}

TEST_CASE("acknowledgements copy agent, task and uuid verbatim, and need a uuid") {
    mesos::TaskStatus s;
    s.task_id = "mf-1-1";
    s.agent_id = "S0";
    s.uuid = "PxwqnntNTiqcH12Oa3oMQg==";
    auto a = scheduler::make_acknowledge("FW", s);
    CHECK(a.framework_id == "FW");
    CHECK(std::get<mesos::Call::Acknowledge>(a.body) ==
          mesos::Call::Acknowledge{"S0", "mf-1-1", "PxwqnntNTiqcH12Oa3oMQg=="});
    s.uuid.reset();  // a master-generated update: never acknowledged
    CHECK_THROWS_AS(scheduler::make_acknowledge("FW", s), std::invalid_argument);
}

TEST_CASE("reconcile: an empty list is implicit, otherwise the listed tasks") {
    auto implicit = scheduler::make_reconcile("FW", {});
    CHECK(implicit.framework_id == "FW");
    CHECK(std::get<mesos::Call::Reconcile>(implicit.body).tasks.empty());
    auto explicit_ = scheduler::make_reconcile("FW", {{"mf-1-1", "S1"}, {"mf-2-1", std::nullopt}});
    const auto& tasks = std::get<mesos::Call::Reconcile>(explicit_.body).tasks;
    REQUIRE(tasks.size() == 2);
    CHECK(tasks[0].agent_id == "S1");
    CHECK_FALSE(tasks[1].agent_id);
}

TEST_CASE("revive and suppress name roles, or none for all") {
    auto revive = scheduler::make_revive({});
    CHECK(revive.type() == mesos::CallType::revive);
    CHECK(std::get<mesos::Call::Revive>(revive.body).roles.empty());
    auto suppress = scheduler::make_suppress({"web"});
    CHECK(suppress.type() == mesos::CallType::suppress);
    CHECK(std::get<mesos::Call::Suppress>(suppress.body).roles == std::vector<std::string>{"web"});
}
