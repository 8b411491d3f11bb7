// Suppress/revive sequences: the calls the gate returns for a timeline of inputs.
#include "mesoflow/scheduler/offer_gate.hpp"

#include <catch2/catch.hpp>

using namespace mesoflow;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

enum class Input { subscribed, pending, new_work, tick };
enum class Out { none, suppress, revive };

struct Step {
    std::chrono::milliseconds at;
    Input input;
    std::int64_t pending;
    Out expected;
};

Out kind(const std::optional<mesos::Call>& c) {
    if (!c)
        return Out::none;
    CHECK_FALSE(c->framework_id);  // the sender sets it
    if (c->type() == mesos::CallType::suppress)
        return Out::suppress;
    REQUIRE(c->type() == mesos::CallType::revive);
    return Out::revive;
}

void run(scheduler::OfferGate& g, const std::vector<Step>& steps) {
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        INFO("step " << i << " at " << s.at.count() << " ms");
        const auto now = t0 + s.at;
        std::optional<mesos::Call> out;
        switch (s.input) {
            case Input::subscribed:
                g.on_subscribed(now);
                break;
            case Input::pending:
                out = g.on_pending(s.pending, now);
                break;
            case Input::new_work:
                out = g.on_new_work(now);
                break;
            case Input::tick:
                out = g.tick(now);
                break;
        }
        CHECK(kind(out) == s.expected);
    }
}

}  // namespace

TEST_CASE("nothing pending suppresses once; new work revives at once") {
    scheduler::OfferGate g;
    run(g, {
               {0ms, Input::subscribed, 0, Out::none},
               {0ms, Input::pending, 0, Out::suppress},
               {1000ms, Input::pending, 0, Out::none},  // already suppressed
               {2000ms, Input::new_work, 0, Out::revive},
               {2010ms, Input::new_work, 0, Out::none},  // not suppressed any more
               {2020ms, Input::pending, 3, Out::none},   // work and offers: nothing to do
               {3000ms, Input::pending, 0, Out::suppress},
               {4000ms, Input::pending, 2, Out::revive},  // found by a poll, not a NOTIFY
           });
    CHECK_FALSE(g.suppressed());
}

TEST_CASE("a burst of wake-ups while suppressed costs one revive per interval, none lost") {
    scheduler::OfferGate g;  // 200 ms between revives
    run(g, {
               {0ms, Input::pending, 0, Out::suppress},
               {10ms, Input::new_work, 0, Out::revive},
               {20ms, Input::pending, 0, Out::suppress},  // the work was taken elsewhere
               {30ms, Input::new_work, 0, Out::none},     // too soon: held back
               {40ms, Input::new_work, 0, Out::none},
               {50ms, Input::pending, 4, Out::none},
               {100ms, Input::tick, 0, Out::none},      // interval not over
               {210ms, Input::tick, 0, Out::revive},    // the held revive goes out
               {220ms, Input::tick, 0, Out::none},      // and only once
               {230ms, Input::new_work, 0, Out::none},  // offers flow: nothing to revive
           });
}

TEST_CASE("a held-back revive is dropped when the queue turns out empty") {
    scheduler::OfferGate g;
    const auto t0 = Clock::now();
    REQUIRE(g.on_pending(0, t0));
    REQUIRE(g.on_new_work(t0));
    REQUIRE(g.on_pending(0, t0 + 10ms));
    CHECK_FALSE(g.on_new_work(t0 + 20ms));
    REQUIRE(g.deadline());
    CHECK(*g.deadline() == t0 + scheduler::kMinReviveInterval);
    CHECK_FALSE(g.on_pending(0, t0 + 30ms));  // still suppressed, nothing pending
    CHECK_FALSE(g.deadline());
    CHECK_FALSE(g.tick(t0 + 1s));
}

TEST_CASE("work after offers were declined with the idle filter revives even if not suppressed") {
    scheduler::OfferGate g(scheduler::OfferGateOptions{200ms, 5.0, 3600.0});
    const auto t0 = Clock::now();
    CHECK(g.refuse_seconds_for_unused(true) == 5.0);
    CHECK_FALSE(g.on_new_work(t0));  // short filters only: they lapse soon enough
    CHECK(g.refuse_seconds_for_unused(false) == 3600.0);
    auto r = g.on_new_work(t0 + 1s);
    REQUIRE(r);
    CHECK(r->type() == mesos::CallType::revive);
    CHECK_FALSE(g.on_new_work(t0 + 2s));  // the revive cleared the filters
}

TEST_CASE("a new subscription starts unsuppressed and suppresses again when idle") {
    scheduler::OfferGate g;
    run(g, {
               {0ms, Input::pending, 0, Out::suppress},
               {1000ms, Input::subscribed, 0, Out::none},
               {1000ms, Input::pending, 0, Out::suppress},
           });
}
