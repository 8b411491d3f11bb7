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

// A round `gap` after a launch whose first update came at once.
WindowChange round_after_launch(LaunchPacer& pacer, std::size_t room, bool limited,
                                Clock::duration gap = 1s) {
    const Clock::time_point t{1h};
    pacer.launched("previous", t);
    pacer.first_update("previous");
    return pacer.round_done(room, limited, t + gap);
}

// Rounds a second apart, each cut short on an empty window: a slow clock.
// The first of them only starts the run of slow rounds.
void grow_to(LaunchPacer& pacer, std::size_t window) {
    for (int rounds = 0; pacer.window() < window; ++rounds) {
        REQUIRE(rounds < 64);
        round_after_launch(pacer, pacer.window(), true);
    }
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
         {OfferAction::hold, 0, 0, false, false, true}},
        {"a lane has a full batch waiting: hold for its commit, room or not",
         inputs(50, false, false, 4, 4),
         0,
         {OfferAction::hold, 0, 0, false}},
        {"window full of launches alone: decline with the backpressure filter",
         inputs(50, false, false, 0),
         10,
         {OfferAction::decline, 0, 1.0, false, false, true}},
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
    small.claim_batch = 2;    // a quarter rounds to nothing: refill at one used
    small.launch_window = 1;  // claims fill the larger of the two
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

TEST_CASE("the launch window doubles after a round it cut short while nearly empty") {
    struct Row {
        const char* why;
        std::size_t window;  // before the round
        std::size_t room_at_start;
        bool limited;
        Clock::duration gap;  // since the last launch
        std::size_t expected;
    };
    // options(): launch_window 10; launch_window_max 35.
    const std::vector<Row> rows = {
        {"empty window, round cut short a second after the last launch: doubles", 10, 10, true, 1s,
         20},
        {"kSlowOffersAfter after the last launch is slow enough", 10, 10, true, kSlowOffersAfter,
         20},
        {"offers that come faster: it stays", 10, 10, true, kSlowOffersAfter - 1ms, 10},
        {"a quarter in use is still nearly empty: doubles, up to the most", 20, 15, true, 1s, 35},
        {"more than a quarter in use: the database is behind, it stays", 20, 14, true, 1s, 20},
        {"not cut short (claims or offers ran out first): it stays", 10, 10, false, 1s, 10},
        {"never past launch_window_max", 35, 35, true, 1s, 35},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        auto o = options();
        o.launch_window_max = 35;
        LaunchPacer pacer(o);
        grow_to(pacer, row.window);
        REQUIRE(pacer.window() == row.window);
        // A slow round before it, not cut short: the run of slow rounds.
        REQUIRE_FALSE(round_after_launch(pacer, row.window, false).changed());
        const auto change = round_after_launch(pacer, row.room_at_start, row.limited, row.gap);
        CHECK(change.from == row.window);
        CHECK(change.to == row.expected);
        CHECK(pacer.window() == row.expected);
    }
}

TEST_CASE(
    "the launch window halves when an acknowledgement took longer than the target, once per "
    "target") {
    auto o = options();
    o.launch_window_max = 80;
    o.commit_latency_target_s = 1.0;
    LaunchPacer pacer(o);
    const Clock::time_point t0{};
    // At the floor nothing shrinks it.
    CHECK_FALSE(pacer.acknowledged(5s, t0).changed());
    grow_to(pacer, 80);
    struct Row {
        const char* why;
        Clock::duration wait;
        Clock::duration at;  // after t0
        std::size_t expected;
    };
    const std::vector<Row> rows = {
        {"within the target: unchanged", 1000ms, 0ms, 80},
        {"past it: halved", 1001ms, 10ms, 40},
        {"past it again within one target of the last halving: unchanged", 3s, 900ms, 40},
        {"past it a target later: halved again", 3s, 1010ms, 20},
        {"never below launch_window", 3s, 5s, 10},
        {"at the floor: stays", 3s, 10s, 10},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        pacer.acknowledged(row.wait, t0 + row.at);
        CHECK(pacer.window() == row.expected);
    }
    // The room is the window's, now 10.
    CHECK(pacer.room(0) == 10);
}

TEST_CASE("claims ahead fill the larger of claim_batch and two launch windows") {
    auto o = options();  // claim_batch 100, launch_window 10
    o.launch_window_max = 1000;
    LaunchPacer pacer(o);
    CHECK(pacer.claim_size(inputs(0, false, false)) == 100);
    grow_to(pacer, 640);
    CHECK(pacer.claim_size(inputs(0, false, false)) == 1280);
    CHECK(pacer.claim_size(inputs(1000, false, false)) == std::nullopt);  // under a quarter used
    CHECK(pacer.claim_size(inputs(960, false, false)) == 320);
    CHECK(pacer.room(0) == 640);
}

TEST_CASE("a launch_window_max at or below launch_window fixes the window") {
    auto o = options();
    o.launch_window_max = 5;
    LaunchPacer pacer(o);
    CHECK(pacer.window() == 10);
    CHECK_FALSE(round_after_launch(pacer, 10, true).changed());
    CHECK(pacer.window() == 10);
}

TEST_CASE("after a round cut short, the offers wanted soon hold the next window") {
    auto o = options();  // launch_window 10
    o.launch_window_max = 100;
    struct Row {
        const char* why;
        bool grew;  // the round doubled the window (10 -> 20)
        double claimed_cpus, claimed_mem;
        std::size_t claimed_left;
        double want_cpus, want_mem;
    };
    const std::vector<Row> rows = {
        {"at the floor, never grown: the claimed alone", false, 1.5, 96, 3, 1.5, 96},
        {"at the floor, nothing claimed: nothing", false, 0, 0, 0, 0, 0},
        {"the window grew: offers for its most", true, 0, 0, 0, 100 * 0.5, 100 * 64},
        {"the window grew, some claimed: those and the rest of its most", true, 1.5, 96, 3,
         1.5 + 97 * 0.5, 96 + 97 * 64},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        LaunchPacer pacer(o);
        if (row.grew)
            grow_to(pacer, 20);
        const auto [cpus, mem] =
            pacer.want_next_round(row.claimed_cpus, row.claimed_mem, row.claimed_left, 0.5, 64);
        CHECK(cpus == Approx(row.want_cpus));
        CHECK(mem == Approx(row.want_mem));
    }
    // Grown, and the last round did not grow it: a window's worth.
    LaunchPacer pacer(o);
    grow_to(pacer, 20);
    REQUIRE_FALSE(round_after_launch(pacer, 20, false).changed());
    const auto [cpus, mem] = pacer.want_next_round(1.5, 96, 3, 0.5, 64);
    CHECK(cpus == Approx(1.5 + 17 * 0.5));
    CHECK(mem == Approx(96 + 17 * 64));
}

TEST_CASE("once the window has grown, offers wanted soon go back without a filter") {
    auto o = options();  // launch_window 10
    o.launch_window_max = 40;
    LaunchPacer pacer(o);
    const std::vector<UnusedOffer> unused = {{"a", 1, 100}, {"b", 1, 100}};
    CHECK(pacer.answer_unused(unused, 1, 10, true, true).soon_refuse_s == Approx(kReserveRefuseS));
    grow_to(pacer, 20);
    const auto grown = pacer.answer_unused(unused, 1, 10, true, true);
    CHECK(grown.soon == std::vector<std::string>{"a"});
    CHECK(grown.soon_refuse_s == 0);
    CHECK(grown.later_refuse_s == Approx(5));
    CHECK(pacer.stale_hold_refuse() == 0);
    // Full of launches: declined, and without a filter.
    for (int i = 0; i < 20; ++i)
        pacer.launched("t" + std::to_string(i), Clock::time_point{});
    const auto full = pacer.on_offers(inputs(50, false, false));
    CHECK(full.action == OfferAction::decline);
    CHECK(full.refuse_s == 0);
}

TEST_CASE("offers that find the window full halve it, at most once per kWindowShrinkEvery") {
    auto o = options();  // launch_window 10
    o.launch_window_max = 80;
    LaunchPacer pacer(o);
    const Clock::time_point t0{};
    CHECK_FALSE(pacer.full(t0).changed());  // at the floor
    grow_to(pacer, 80);
    struct Row {
        const char* why;
        Clock::duration at;  // after t0
        std::size_t expected;
    };
    const std::vector<Row> rows = {
        {"full: halved", 1s, 40},
        {"full again at once: unchanged", 1s + 99ms, 40},
        {"full after kWindowShrinkEvery: halved", 1s + 100ms, 20},
        {"never below launch_window", 2s, 10},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        pacer.full(t0 + row.at);
        CHECK(pacer.window() == row.expected);
    }
    // Halved to its floor, it no longer asks for offers for its most.
    const auto [cpus, mem] = pacer.want_next_round(0, 0, 0, 1, 1);
    CHECK(cpus == Approx(0));
    CHECK(mem == Approx(0));
}

TEST_CASE("the window grows after two slow rounds in a row, the first counting as slow") {
    LaunchPacer pacer(options());
    // The first round, no launch before it: slow, but one alone.
    CHECK_FALSE(pacer.round_done(10, true, Clock::time_point{1h}).changed());
    // The second, a second after a launch: the window doubles.
    CHECK(round_after_launch(pacer, 10, true).changed());
    CHECK(pacer.window() == 20);
    // One fast round (20 ms after a launch) ends the run: the next slow
    // round alone does not grow it, the one after does.
    CHECK_FALSE(round_after_launch(pacer, 20, true, 20ms).changed());
    CHECK_FALSE(round_after_launch(pacer, 20, true).changed());
    CHECK(round_after_launch(pacer, 20, true).changed());
    CHECK(pacer.window() == 40);
}

TEST_CASE("a grown window launches into its room although a lane has a full batch waiting") {
    auto o = options();  // launch_window 10, update_batch 4
    o.launch_window_max = 40;
    LaunchPacer pacer(o);
    CHECK(pacer.on_offers(inputs(50, false, false, 4, 4)).action == OfferAction::hold);
    grow_to(pacer, 20);
    const auto d = pacer.on_offers(inputs(50, false, false, 4, 4));
    CHECK(d.action == OfferAction::match);
    CHECK(d.room == 16);
}
