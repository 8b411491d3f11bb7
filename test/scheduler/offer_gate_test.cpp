// Suppress/revive sequences: the calls the gate returns for a timeline of inputs.
#include "mesoflow/scheduler/offer_gate.hpp"

#include <catch2/catch.hpp>

using namespace mesoflow;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

enum class Input { subscribed, pending, new_work, tick, revive_failed, suppress_failed, taken };
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
            case Input::revive_failed:
                g.on_call_failed(mesos::CallType::revive, now);
                break;
            case Input::suppress_failed:
                g.on_call_failed(mesos::CallType::suppress, now);
                break;
            case Input::taken:
                g.on_call_taken();
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

TEST_CASE("a REVIVE the master did not take goes again after a back-off until one is taken") {
    scheduler::OfferGate g;
    run(g, {
               {0ms, Input::pending, 0, Out::suppress},
               {1000ms, Input::new_work, 0, Out::revive},
               {1001ms, Input::revive_failed, 0, Out::none},  // answered 503
               {1050ms, Input::tick, 0, Out::none},           // back-off: 100 ms
               {1050ms, Input::new_work, 0, Out::none},       // the gate still means it
               {1101ms, Input::tick, 0, Out::revive},
               {1102ms, Input::revive_failed, 0, Out::none},
               {1250ms, Input::tick, 0, Out::none},  // now 200 ms
               {1302ms, Input::tick, 0, Out::revive},
               {1303ms, Input::taken, 0, Out::none},
               {1400ms, Input::tick, 0, Out::none},  // taken: nothing more
               {2000ms, Input::pending, 0, Out::suppress},
               {3000ms, Input::new_work, 0, Out::revive},
               {3001ms, Input::revive_failed, 0, Out::none},
               {3101ms, Input::tick, 0, Out::revive},  // the back-off started over
           });
}

TEST_CASE("a failed SUPPRESS goes again while still meant, and never after a later REVIVE") {
    scheduler::OfferGate g;
    run(g, {
               {0ms, Input::pending, 0, Out::suppress},
               {1ms, Input::suppress_failed, 0, Out::none},
               {101ms, Input::tick, 0, Out::suppress},
               {102ms, Input::suppress_failed, 0, Out::none},
               {150ms, Input::new_work, 0, Out::revive},  // work came: the SUPPRESS is void
               {1000ms, Input::tick, 0, Out::none},
               {1000ms, Input::suppress_failed, 0, Out::none},  // a late answer changes nothing
               {2000ms, Input::tick, 0, Out::none},
           });
    CHECK_FALSE(g.suppressed());
    CHECK_FALSE(g.deadline());
}

TEST_CASE(
    "a failed REVIVE answered after a later SUPPRESS is not sent again; a new subscription "
    "forgets a failed call") {
    scheduler::OfferGate g;
    run(g, {
               {0ms, Input::pending, 0, Out::suppress},
               {10ms, Input::new_work, 0, Out::revive},
               {500ms, Input::pending, 0, Out::suppress},
               {501ms, Input::revive_failed, 0, Out::none},
               {2000ms, Input::tick, 0, Out::none},
               {2001ms, Input::suppress_failed, 0, Out::none},
               {2002ms, Input::subscribed, 0, Out::none},
               {5000ms, Input::tick, 0, Out::none},
           });
    CHECK_FALSE(g.deadline());
}

TEST_CASE("the deadline names a failed call's retry") {
    scheduler::OfferGate g;
    const auto t0 = Clock::now();
    REQUIRE(g.on_pending(0, t0));
    g.on_call_failed(mesos::CallType::suppress, t0);
    REQUIRE(g.deadline());
    CHECK(*g.deadline() == t0 + scheduler::kCallRetryMin);
}
