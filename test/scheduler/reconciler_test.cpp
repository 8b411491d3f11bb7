#include "mesoflow/scheduler/reconciler.hpp"

#include <catch2/catch.hpp>

using namespace mesoflow;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Task ids asked about, call by call.
std::vector<std::vector<std::string>> asked(const std::vector<mesos::Call>& calls) {
    std::vector<std::vector<std::string>> out;
    for (const auto& c : calls) {
        CHECK(c.framework_id == "FW");
        const auto& r = std::get<mesos::Call::Reconcile>(c.body);
        std::vector<std::string> ids;
        for (const auto& t : r.tasks)
            ids.push_back(t.task_id);
        out.push_back(ids);
    }
    return out;
}

using Ids = std::vector<std::vector<std::string>>;

scheduler::ReconcilerOptions fast() {
    scheduler::ReconcilerOptions o;
    o.backoff_min = 100ms;
    o.backoff_max = 400ms;
    o.implicit_interval = 10s;
    return o;
}

}  // namespace

TEST_CASE("explicit reconciliation re-sends unanswered tasks with truncated doubling back-off") {
    scheduler::Reconciler r(fast());
    const auto t0 = Clock::now();
    auto calls = r.start("FW", {{"mf-1-1", "S1"}, {"mf-2-1", ""}}, t0);
    REQUIRE(calls.size() == 1);
    const auto& rec = std::get<mesos::Call::Reconcile>(calls[0].body);
    REQUIRE(rec.tasks.size() == 2);
    CHECK(rec.tasks[0].agent_id == "S1");
    CHECK_FALSE(rec.tasks[1].agent_id);  // unknown agent: not sent
    CHECK(r.deadline() == t0 + 100ms);

    struct Step {
        std::chrono::milliseconds at;
        std::string observe;  // settled before the tick
        Ids expected;
    };
    const std::vector<Step> steps = {
        {50ms, "", {}},                   // back-off not over
        {100ms, "mf-1-1", {{"mf-2-1"}}},  // 100 ms: only the unanswered one
        {250ms, "", {}},                  // next after 200 ms more
        {300ms, "", {{"mf-2-1"}}},        // 300: then 400 (capped)
        {650ms, "", {}},
        {700ms, "", {{"mf-2-1"}}},  // 700: still 400, the cap
        {1100ms, "mf-2-1", {}},     // answered: round over
        {20000ms, "", {}},
    };
    for (const auto& s : steps) {
        INFO("at " << s.at.count() << " ms");
        if (!s.observe.empty())
            r.observe(s.observe);
        CHECK(asked(r.tick(t0 + s.at)) == s.expected);
    }
    CHECK_FALSE(r.in_progress());
    CHECK_FALSE(r.deadline());
}

TEST_CASE("reconciliation calls are chunked") {
    scheduler::ReconcilerOptions o;
    o.chunk = 2;
    scheduler::Reconciler r(o);
    auto calls =
        r.start("FW", {{"a", ""}, {"b", ""}, {"c", ""}, {"d", ""}, {"e", ""}}, Clock::now());
    CHECK(asked(calls) == Ids{{"a", "b"}, {"c", "d"}, {"e"}});
    CHECK(r.outstanding() == 5);

    scheduler::Reconciler defaults;
    std::vector<scheduler::TaskRef> many;
    for (std::size_t i = 0; i < scheduler::kReconcileChunk + 5; ++i)
        many.push_back({"mf-" + std::to_string(i + 1) + "-1", "S"});
    auto big = defaults.start("FW", many, Clock::now());
    REQUIRE(big.size() == 2);
    CHECK(std::get<mesos::Call::Reconcile>(big[1].body).tasks.size() == 5);
}

TEST_CASE("tasks arrive in pages while a round is in progress; a page waits a full back-off") {
    scheduler::Reconciler r(fast());
    const auto t0 = Clock::now();
    CHECK(asked(r.start("FW", {{"a", ""}}, t0)) == Ids{{"a"}});
    CHECK(asked(r.add({{"b", ""}, {"c", ""}}, t0 + 60ms)) == Ids{{"b", "c"}});
    CHECK(r.outstanding() == 3);
    r.observe("b");
    CHECK(r.tick(t0 + 100ms).empty());  // c was sent only 40 ms ago
    CHECK(asked(r.tick(t0 + 160ms)) == Ids{{"a", "c"}});
}

TEST_CASE("an update that comes before the re-send settles the task; unknown ids are ignored") {
    scheduler::Reconciler r(fast());
    const auto t0 = Clock::now();
    r.start("FW", {{"a", ""}, {"b", ""}}, t0);
    r.observe("a");
    r.observe("not-asked");
    CHECK(r.outstanding() == 1);
    CHECK(asked(r.tick(t0 + 100ms)) == Ids{{"b"}});
}

TEST_CASE("a new round replaces the one in progress, with the back-off reset") {
    scheduler::Reconciler r(fast());
    const auto t0 = Clock::now();
    r.start("FW", {{"a", ""}}, t0);
    r.tick(t0 + 100ms);
    r.tick(t0 + 300ms);  // back-off now 400 ms
    auto again = r.start("FW", {{"b", ""}}, t0 + 310ms);
    CHECK(asked(again) == Ids{{"b"}});
    CHECK(r.outstanding() == 1);
    CHECK(asked(r.tick(t0 + 410ms)) == Ids{{"b"}});  // 100 ms again, a is forgotten
}

TEST_CASE("reset forgets the round; the form with the framework id starts one when needed") {
    scheduler::Reconciler r(fast());
    const auto t0 = Clock::now();
    r.start("FW", {{"a", ""}}, t0);
    r.reset();
    CHECK_FALSE(r.in_progress());
    CHECK(r.tick(t0 + 1s).empty());
    CHECK(asked(r.add({{"b", ""}}, t0 + 1s, "FW")) == Ids{{"b"}});
    CHECK(asked(r.add({{"c", ""}}, t0 + 1s, "FW")) == Ids{{"c"}});
    CHECK(r.outstanding() == 2);
    CHECK(asked(r.tick(t0 + 1100ms, "FW")) == Ids{{"b", "c"}});
}

TEST_CASE("implicit reconciliation follows each explicit round, then comes every interval") {
    scheduler::Reconciler r(fast());  // implicit every 10 s
    const auto t0 = Clock::now();
    CHECK_FALSE(r.implicit_due(t0));  // never subscribed
    r.start("FW", {{"a", ""}}, t0);
    CHECK_FALSE(r.implicit_due(t0 + 1s));  // explicit round in flight
    r.observe("a");
    CHECK(r.implicit_due(t0 + 1s));
    r.mark_implicit_sent(t0 + 1s);
    CHECK_FALSE(r.implicit_due(t0 + 5s));
    CHECK(r.implicit_due(t0 + 11s));
    r.mark_implicit_sent(t0 + 11s);
    // A round that stays unanswered does not hold implicit reconciliation back forever.
    r.start("FW", {{"b", ""}}, t0 + 12s);
    CHECK_FALSE(r.implicit_due(t0 + 13s));
    CHECK(r.implicit_due(t0 + 21s));
}

TEST_CASE("an empty explicit round makes implicit reconciliation due at once") {
    scheduler::Reconciler r(fast());
    const auto t0 = Clock::now();
    CHECK(r.start("FW", {}, t0).empty());
    CHECK_FALSE(r.in_progress());
    CHECK(r.implicit_due(t0));
}
