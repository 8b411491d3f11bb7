// Table tests of the core's small state machines: suppress/revive,
// reconciliation back-off and kill re-sends, and the calls they produce.
#include <catch2/catch.hpp>

#include "mesoflow/scheduler/calls.hpp"
#include "mesoflow/scheduler/kill_tracker.hpp"
#include "mesoflow/scheduler/offer_gate.hpp"
#include "mesoflow/scheduler/reconciler.hpp"

using namespace mesoflow;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("nothing pending suppresses once; new work revives at once but not in a storm") {
    scheduler::OfferGate g;
    const auto t0 = Clock::now();
    g.on_subscribed(t0);
    auto s = g.on_pending(0, t0);
    REQUIRE(s);
    CHECK(s->type() == mesos::CallType::suppress);
    CHECK_FALSE(g.on_pending(0, t0 + 1s));  // already suppressed
    auto r = g.on_new_work(t0 + 2s);
    REQUIRE(r);
    CHECK(r->type() == mesos::CallType::revive);
    CHECK_FALSE(g.on_new_work(t0 + 2s + 10ms));  // not suppressed any more
    CHECK(g.on_pending(0, t0 + 3s)->type() == mesos::CallType::suppress);
}

TEST_CASE("a burst of wake-ups while suppressed costs one revive per interval") {
    scheduler::OfferGate g;
    const auto t0 = Clock::now();
    REQUIRE(g.on_pending(0, t0));
    REQUIRE(g.on_new_work(t0));
    REQUIRE(g.on_pending(0, t0 + 10ms));
    CHECK_FALSE(g.on_new_work(t0 + 20ms));  // too soon after the last revive
    CHECK(g.suppressed());
    CHECK(g.on_pending(5, t0 + scheduler::kMinReviveInterval + 1ms)->type() ==
          mesos::CallType::revive);
    CHECK_FALSE(g.on_pending(5, t0 + 1s));  // pending and not suppressed: nothing to do
}

TEST_CASE("explicit reconciliation re-sends unanswered tasks with doubling back-off") {
    scheduler::Reconciler r(100ms, 400ms);
    const auto t0 = Clock::now();
    auto calls = r.add({{"mf-1-1", "S1"}, {"mf-2-1", ""}}, t0, "FW");
    REQUIRE(calls.size() == 1);
    const auto& rec = std::get<mesos::Call::Reconcile>(calls[0].body);
    REQUIRE(rec.tasks.size() == 2);
    CHECK(rec.tasks[0].agent_id == "S1");
    CHECK_FALSE(rec.tasks[1].agent_id);
    CHECK(calls[0].framework_id == "FW");
    CHECK(r.tick(t0 + 50ms, "FW").empty());  // back-off not over
    r.observe("mf-1-1");
    auto again = r.tick(t0 + 100ms, "FW");
    REQUIRE(again.size() == 1);
    CHECK(std::get<mesos::Call::Reconcile>(again[0].body).tasks.size() == 1);
    CHECK(r.tick(t0 + 250ms, "FW").empty());  // next after 200 ms more
    CHECK(r.tick(t0 + 300ms, "FW").size() == 1);
    r.observe("mf-2-1");
    CHECK(r.outstanding() == 0);
    CHECK(r.tick(t0 + 10s, "FW").empty());
}

TEST_CASE("reconciliation calls are chunked") {
    scheduler::Reconciler r;
    std::vector<scheduler::TaskRef> many;
    for (std::size_t i = 0; i < scheduler::kReconcileChunk + 5; ++i) {
        many.push_back({"mf-" + std::to_string(i + 1) + "-1", "S"});
    }
    auto calls = r.add(many, Clock::now(), "FW");
    REQUIRE(calls.size() == 2);
    CHECK(std::get<mesos::Call::Reconcile>(calls[1].body).tasks.size() == 5);
    CHECK(r.outstanding() == scheduler::kReconcileChunk + 5);
}

TEST_CASE("a kill is re-sent only after the retry interval and forgotten once terminal") {
    scheduler::KillTracker k(1s);
    const auto t0 = Clock::now();
    CHECK(k.should_send("mf-1-1", t0));
    CHECK_FALSE(k.should_send("mf-1-1", t0 + 500ms));
    CHECK(k.should_send("mf-1-1", t0 + 1s));
    k.forget("mf-1-1");
    CHECK(k.tracked() == 0);
    CHECK(k.should_send("mf-1-1", t0 + 1100ms));
}

TEST_CASE("a re-subscription carries the framework id in both places") {
    scheduler::FrameworkOptions o;
    o.user = "nobody";
    o.name = "mesoflow";
    o.roles = {"batch"};
    o.failover_timeout_s = 604800;
    o.gpu_resources = true;
    auto first = scheduler::make_subscribe(o, std::nullopt, {});
    CHECK_FALSE(first.framework_id);
    auto again = scheduler::make_subscribe(o, std::string("FW-1"), {});
    CHECK(again.framework_id == "FW-1");
    const auto& fi = std::get<mesos::Call::Subscribe>(again.body).framework_info;
    CHECK(fi.id == "FW-1");
    CHECK(fi.roles == std::vector<std::string>{"batch"});
    CHECK(fi.failover_timeout == 604800);
    const auto& caps = fi.capabilities;
    for (auto c :
         {mesos::FrameworkCapability::multi_role, mesos::FrameworkCapability::partition_aware,
          mesos::FrameworkCapability::task_killing_state,
          mesos::FrameworkCapability::gpu_resources}) {
        CHECK(std::find(caps.begin(), caps.end(), c) != caps.end());
    }
}

TEST_CASE("acknowledgements copy agent, task and uuid verbatim") {
    mesos::TaskStatus s;
    s.task_id = "mf-1-1";
    s.agent_id = "S0";
    s.uuid = "PxwqnntNTiqcH12Oa3oMQg==";
    auto a = scheduler::make_acknowledge("FW", s);
    const auto& ack = std::get<mesos::Call::Acknowledge>(a.body);
    CHECK(ack.agent_id == "S0");
    CHECK(ack.task_id == "mf-1-1");
    CHECK(ack.uuid == "PxwqnntNTiqcH12Oa3oMQg==");
    CHECK(a.framework_id == "FW");
}
