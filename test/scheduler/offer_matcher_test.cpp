#include "mesoflow/scheduler/offer_matcher.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>

#include "offers.hpp"

using namespace mesoflow;
using mesoflow::testing::offer;
using mesoflow::testing::task;

namespace {

double taken(const scheduler::PlannedLaunch& l, const std::string& name) {
    double sum = 0;
    for (const auto& r : l.resources) {
        if (r.name == name)
            sum += r.scalar;
    }
    return sum;
}

}  // namespace

TEST_CASE("several tasks are packed into one offer, in queue order") {
    scheduler::OfferMatcher m;
    std::vector<mesos::Offer> offers = {offer("o1", "a1", 4, 4096)};
    std::vector<store::TaskSpec> pending = {task(1, 1, 1024), task(2, 2, 1024), task(3, 2, 1024)};
    auto r = m.match(offers, pending, {});
    REQUIRE(r.plans.size() == 1);
    REQUIRE(r.plans[0].launches.size() == 2);  // 1 + 2 cpus; the third does not fit
    CHECK(r.plans[0].launches[0].index == 0);
    CHECK(r.plans[0].launches[1].index == 1);
    CHECK(taken(r.plans[0].launches[1], "cpus") == 2);
    CHECK(taken(r.plans[0].launches[1], "mem") == 1024);
    CHECK(r.plans[0].launches[0].mesos_task_id == "mf-1-1");
    CHECK(r.unused_offer_ids.empty());
}

TEST_CASE("a task that fits nowhere is skipped and a later smaller one still runs") {
    scheduler::OfferMatcher m;
    std::vector<mesos::Offer> offers = {offer("o1", "a1", 2, 2048)};
    std::vector<store::TaskSpec> pending = {task(1, 8, 1024), task(2, 1, 512)};
    auto r = m.match(offers, pending, {});
    REQUIRE(r.plans.size() == 1);
    REQUIRE(r.plans[0].launches.size() == 1);
    CHECK(r.plans[0].launches[0].index == 1);
}

TEST_CASE("offers of one agent are merged into one plan, other agents get their own") {
    scheduler::OfferMatcher m;
    std::vector<mesos::Offer> offers = {offer("o1", "a1", 1, 1024), offer("o2", "a1", 1, 1024),
                                        offer("o3", "a2", 4, 4096)};
    std::vector<store::TaskSpec> pending = {task(1, 2, 2048)};
    auto r = m.match(offers, pending, {});
    REQUIRE(r.plans.size() == 1);
    CHECK(r.plans[0].agent_id == "a1");
    CHECK(r.plans[0].offer_ids == std::vector<std::string>{"o1", "o2"});
    CHECK(taken(r.plans[0].launches[0], "cpus") == 2);
    CHECK(r.unused_offer_ids == std::vector<std::string>{"o3"});
}

TEST_CASE("ports are chosen from the offered ranges and not given twice") {
    scheduler::OfferMatcher m;
    std::vector<mesos::Offer> offers = {offer("o1", "a1", 4, 4096)};
    auto t1 = task(1, 1, 10);
    t1.ports = 3;
    auto t2 = task(2, 1, 10);
    t2.ports = 8;  // only 7 left of 10
    auto t3 = task(3, 1, 10);
    t3.ports = 2;
    std::vector<store::TaskSpec> pending = {t1, t2, t3};
    auto r = m.match(offers, pending, {});
    REQUIRE(r.plans.size() == 1);
    REQUIRE(r.plans[0].launches.size() == 2);
    const auto& p1 = r.plans[0].launches[0].resources.back();
    CHECK(p1.name == "ports");
    CHECK(p1.ranges == std::vector<mesos::Range>{{31000, 31002}});
    const auto& p3 = r.plans[0].launches[1].resources.back();
    CHECK(p3.ranges == std::vector<mesos::Range>{{31003, 31004}});
    CHECK(p3.allocation_info->role == "web");
}

TEST_CASE("a task with a role only goes to offers allocated to that role") {
    scheduler::OfferMatcher m;
    std::vector<mesos::Offer> offers = {offer("o1", "a1", 4, 4096, "web"),
                                        offer("o2", "a2", 4, 4096, "batch")};
    auto t = task(1, 1, 10);
    t.role = "batch";
    std::vector<store::TaskSpec> pending = {t};
    auto r = m.match(offers, pending, {});
    REQUIRE(r.plans.size() == 1);
    CHECK(r.plans[0].agent_id == "a2");
    CHECK(r.plans[0].role == "batch");
}

TEST_CASE("reserved resources are used before unreserved ones") {
    scheduler::OfferMatcher m;
    auto o = offer("o1", "a1", 1, 4096);
    auto reserved = mesoflow::testing::scalar("cpus", 1);
    reserved.reservations = {
        mesos::ReservationInfo{mesos::ReservationType::static_, "web", {}, {}}};
    o.resources.push_back(reserved);
    std::vector<mesos::Offer> offers = {o};
    std::vector<store::TaskSpec> pending = {task(1, 1.5, 10)};
    auto r = m.match(offers, pending, {});
    REQUIRE(r.plans.size() == 1);
    const auto& res = r.plans[0].launches[0].resources;
    REQUIRE(res.size() >= 2);
    CHECK(res[0].name == "cpus");
    CHECK_FALSE(res[0].reservations.empty());
    CHECK(res[0].scalar == 1);
    CHECK(res[1].scalar == 0.5);
}

TEST_CASE("placement constraints on attributes and hostname") {
    mesos::Attribute rack;
    rack.name = "rack";
    rack.type = mesos::ValueType::text;
    rack.text = "r2";
    auto a1 = offer("o1", "a1", 4, 4096);
    auto a2 = offer("o2", "a2", 4, 4096);
    a2.attributes = {rack};
    struct Case {
        store::Constraint c;
        std::string agent;  // empty: no match
    };
    const std::vector<Case> cases = {
        {{"rack", store::Constraint::Op::equals, "r2"}, "a2"},
        {{"rack", store::Constraint::Op::not_equals, "r2"}, "a1"},
        {{"rack", store::Constraint::Op::exists, ""}, "a2"},
        {{"hostname", store::Constraint::Op::like, "a2\\..*"}, "a2"},
        {{"hostname", store::Constraint::Op::unlike, "a1.*"}, "a2"},
        {{"rack", store::Constraint::Op::equals, "r9"}, ""},
        {{"hostname", store::Constraint::Op::like, "(unclosed"}, ""},
    };
    for (const auto& c : cases) {
        INFO(c.c.attribute << " " << static_cast<int>(c.c.op) << " " << c.c.value);
        scheduler::OfferMatcher m;
        auto t = task(1, 1, 10);
        t.constraints = {c.c};
        std::vector<mesos::Offer> offers = {a1, a2};
        std::vector<store::TaskSpec> pending = {t};
        auto r = m.match(offers, pending, {});
        if (c.agent.empty()) {
            CHECK(r.plans.empty());
        } else {
            REQUIRE(r.plans.size() == 1);
            CHECK(r.plans[0].agent_id == c.agent);
        }
    }
}

TEST_CASE("offers for roles the framework does not hold are left unused") {
    scheduler::OfferMatcher m;
    std::vector<mesos::Offer> offers = {offer("o1", "a1", 4, 4096, "other")};
    std::vector<store::TaskSpec> pending = {task(1, 1, 10)};
    auto r = m.match(offers, pending, scheduler::MatchOptions{{"web"}});
    CHECK(r.plans.empty());
    CHECK(r.unused_offer_ids == std::vector<std::string>{"o1"});
}

TEST_CASE("the next attempt gets its own Mesos task id") {
    scheduler::OfferMatcher m;
    auto t = task(42, 1, 10);
    t.attempt = 2;
    std::vector<mesos::Offer> offers = {offer("o1", "a1", 4, 4096)};
    std::vector<store::TaskSpec> pending = {t};
    auto r = m.match(offers, pending, {});
    REQUIRE(r.plans.size() == 1);
    CHECK(r.plans[0].launches[0].attempt == 3);
    CHECK(r.plans[0].launches[0].mesos_task_id == "mf-42-3");
}

TEST_CASE("matching 1,000 offers against 10,000 tasks fills every agent") {
    std::vector<mesos::Offer> offers;
    for (int i = 0; i < 1000; ++i) {
        offers.push_back(offer("o" + std::to_string(i), "a" + std::to_string(i), 8, 32768));
    }
    std::vector<store::TaskSpec> pending;
    for (int i = 0; i < 10000; ++i)
        pending.push_back(task(i + 1, 1, 1024));
    scheduler::OfferMatcher m;
    const auto start = std::chrono::steady_clock::now();
    auto r = m.match(offers, pending, {});
    const auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::size_t launches = 0;
    for (const auto& p : r.plans)
        launches += p.launches.size();
    CHECK(launches == 8000);
    CHECK(r.plans.size() == 1000);
    // Informational: the benchmark (test/bench) owns the target.
    std::cout << "match 1000 offers x 10000 tasks: " << ms << " ms\n";
}
