// The launch pacer: what each offer gets for the counts at that moment, when
// to claim, and how unused offers are declined. Tables; no clock, no I/O.
#include "mesoflow/scheduler/launch_pacer.hpp"

#include <catch2/catch.hpp>

using namespace mesoflow::scheduler;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

PacerOptions options() {
    PacerOptions o;
    o.launch_window = 10;
    o.claim_batch = 100;
    o.update_batch = 4;
    o.refuse_s = 5;
    o.idle_refuse_s = 3600;
    return o;
}

PacerInputs inputs(std::size_t claimed, bool claim_running, bool exhausted,
                   std::size_t updates_waiting = 0, std::size_t fullest_lane = 0) {
    return PacerInputs{claimed, claim_running, exhausted, updates_waiting, fullest_lane};
}

}  // namespace

TEST_CASE("offers are matched, held or declined as the counts say") {
    struct Row {
        const char* why;
        PacerInputs in;
        std::size_t launches_in_flight;
        OfferDecision expected;
    };
    const std::vector<Row> rows = {
        {"nothing claimed, a claim on its way: hold and claim",
         inputs(0, true, false),
         0,
         {OfferAction::hold, 0, 0, true}},
        {"nothing claimed, the queue may hold more: hold and claim",
         inputs(0, false, false),
         0,
         {OfferAction::hold, 0, 0, true}},
        {"nothing claimed, the queue is empty: decline with the idle filter",
         inputs(0, false, true),
         0,
         {OfferAction::decline, 0, 3600, false, true}},
        {"work claimed, room in the window: match the claimed within the room",
         inputs(50, false, false),
         0,
         {OfferAction::match, 10, 0, false}},
        {"fewer claimed than the room: match them all",
         inputs(3, false, true),
         0,
         {OfferAction::match, 3, 0, false}},
        {"launches in flight leave room for 4",
         inputs(50, false, false),
         6,
         {OfferAction::match, 4, 0, false}},
        {"updates and launches share the window",
         inputs(50, false, false, 3),
         6,
         {OfferAction::match, 1, 0, false}},
        {"window full of updates: hold for a commit",
         inputs(50, false, false, 4),
         6,
         {OfferAction::hold, 0, 0, false}},
        {"a lane has a full batch waiting: hold for its commit, room or not",
         inputs(50, false, false, 4, 4),
         0,
         {OfferAction::hold, 0, 0, false}},
        {"window full of launches alone: decline with the backpressure filter",
         inputs(50, false, false, 0),
         10,
         {OfferAction::decline, 0, 1.0, false}},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        LaunchPacer pacer(options());
        const auto t0 = Clock::now();
        for (std::size_t i = 0; i < row.launches_in_flight; ++i)
            pacer.launched("mf-" + std::to_string(i) + "-1", t0);
        CHECK(pacer.on_offers(row.in) == row.expected);
    }
}

TEST_CASE("nothing launches under a framework id that is not committed: offers are held") {
    LaunchPacer pacer(options());
    for (const auto& in :
         {inputs(50, false, false), inputs(0, false, true), inputs(0, true, false)}) {
        auto uncommitted = in;
        uncommitted.framework_id_committed = false;
        CHECK(pacer.on_offers(uncommitted) == OfferDecision{OfferAction::hold, 0, 0, false, false});
    }
    CHECK(pacer.on_offers(inputs(50, false, false)).action == OfferAction::match);
}

TEST_CASE("the backpressure filter is never longer than refuse_seconds") {
    auto o = options();
    o.refuse_s = 0.5;
    LaunchPacer pacer(o);
    for (int i = 0; i < 10; ++i)
        pacer.launched("mf-" + std::to_string(i) + "-1", Clock::now());
    const auto d = pacer.on_offers(inputs(5, false, false));
    CHECK(d.action == OfferAction::decline);
    CHECK(d.refuse_s == Approx(0.5));
    CHECK(pacer.stale_hold_refuse() == Approx(kReserveRefuseS));
    o.refuse_s = 0.01;
    CHECK(LaunchPacer(o).stale_hold_refuse() == Approx(0.01));
}

TEST_CASE(
    "claims refill once a quarter of the batch is used, one at a time, not after the "
    "queue ran dry") {
    struct Row {
        PacerInputs in;
        std::optional<int> expected;
    };
    const std::vector<Row> rows = {
        {inputs(0, false, false), 100},   // empty: the whole batch
        {inputs(75, false, false), 25},   // a quarter used: refill it
        {inputs(76, false, false), {}},   // less than a quarter: wait
        {inputs(100, false, false), {}},  // full
        {inputs(0, true, false), {}},     // one claim at a time
        {inputs(0, false, true), {}},     // the last claim found the queue short
    };
    LaunchPacer pacer(options());
    for (const auto& row : rows) {
        INFO("claimed " << row.in.claimed << " running " << row.in.claim_running << " exhausted "
                        << row.in.claims_exhausted);
        CHECK(pacer.claim_size(row.in) == row.expected);
    }
    auto small = options();
    small.claim_batch = 2;  // a quarter rounds to nothing: refill at one used
    CHECK(LaunchPacer(small).claim_size(inputs(1, false, false)) == 1);
}

TEST_CASE("the launch window frees a launch at its first update or after the expiry") {
    LaunchPacer pacer(options());
    const auto t0 = Clock::now();
    pacer.launched("mf-1-1", t0);
    pacer.launched("mf-2-1", t0 + 30s);
    CHECK(pacer.room(0) == 8);
    CHECK(pacer.room(5) == 3);
    CHECK(pacer.room(20) == 0);
    pacer.first_update("mf-1-1");
    CHECK(pacer.launches_in_flight() == 1);
    pacer.first_update("mf-1-1");  // a second update changes nothing
    CHECK(pacer.launches_in_flight() == 1);
    pacer.expire(t0 + kLaunchWindowExpiry + 29s);
    CHECK(pacer.launches_in_flight() == 1);
    pacer.expire(t0 + kLaunchWindowExpiry + 31s);
    CHECK(pacer.launches_in_flight() == 0);
    pacer.launched("mf-3-1", t0);
    pacer.reset();
    CHECK(pacer.room(0) == 10);
}

TEST_CASE(
    "unused offers: enough for the claimed attempts come back soon when the window held "
    "the round back, the rest after refuse_seconds") {
    LaunchPacer pacer(options());
    const std::vector<UnusedOffer> unused = {
        {"O1", 8, 1024}, {"O2", 8, 1024}, {"O3", 8, 1024}, {"O4", 8, 1024}};
    struct Row {
        const char* why;
        double want_cpus;
        double want_mem;
        bool window_limited;
        bool more_after;
        std::vector<std::string> soon;
        double soon_s;
        std::vector<std::string> later;
        double later_s;
    };
    const std::vector<Row> rows = {
        {"window-limited, 10 cpus wanted: two offers soon",
         10,
         100,
         true,
         true,
         {"O1", "O2"},
         0.02,
         {"O3", "O4"},
         5},
        {"window-limited, memory decides",
         1,
         3000,
         true,
         true,
         {"O1", "O2", "O3"},
         0.02,
         {"O4"},
         5},
        {"the fit, not the window, left them: all after refuse_seconds",
         10,
         100,
         false,
         true,
         {},
         0.02,
         {"O1", "O2", "O3", "O4"},
         5},
        {"nothing more to run: the idle filter",
         0,
         0,
         true,
         false,
         {},
         0.02,
         {"O1", "O2", "O3", "O4"},
         3600},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        const auto a = pacer.answer_unused(unused, row.want_cpus, row.want_mem, row.window_limited,
                                           row.more_after);
        CHECK(a.later_idle == !row.more_after);
        CHECK(a.soon == row.soon);
        CHECK(a.soon_refuse_s == Approx(row.soon_s));
        CHECK(a.later == row.later);
        CHECK(a.later_refuse_s == Approx(row.later_s));
    }
    CHECK(LaunchPacer::more_after(0, true) == false);
    CHECK(LaunchPacer::more_after(1, true) == true);
    CHECK(LaunchPacer::more_after(0, false) == true);
}
