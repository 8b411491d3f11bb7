#include "mesoflow/scheduler/placement_constraints.hpp"

#include <catch2/catch.hpp>

#include "mesoflow/scheduler/offer_matcher.hpp"

#include "offers.hpp"

using namespace mesoflow;
using Op = task::Constraint::Op;

TEST_CASE("attributes of every type are rendered as text the way agents spell them") {
    mesos::Attribute a;
    a.name = "x";
    struct Case {
        mesos::ValueType type;
        double scalar;
        std::vector<mesos::Range> ranges;
        std::vector<std::string> set;
        std::string text;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {mesos::ValueType::text, 0, {}, {}, "rack-1", "rack-1"},
        {mesos::ValueType::scalar, 2, {}, {}, "", "2"},
        {mesos::ValueType::scalar, 2.5, {}, {}, "", "2.5"},
        {mesos::ValueType::scalar, 0.1 + 0.2, {}, {}, "", "0.3"},
        {mesos::ValueType::scalar, 1e6, {}, {}, "", "1000000"},
        {mesos::ValueType::scalar, -0.0001, {}, {}, "", "0"},
        {mesos::ValueType::set, 0, {}, {"a", "b"}, "", "{a,b}"},
        {mesos::ValueType::ranges, 0, {{1, 3}, {5, 9}}, {}, "", "[1-3,5-9]"},
    };
    for (const auto& c : cases) {
        a.type = c.type;
        a.scalar = c.scalar;
        a.ranges = c.ranges;
        a.set = c.set;
        a.text = c.text;
        CHECK(scheduler::attribute_text(a) == c.expected);
    }
}

TEST_CASE("each constraint operator against a present and an absent attribute") {
    const std::vector<mesos::Attribute> attrs = {mesoflow::testing::text_attribute("rack", "r1")};
    struct Case {
        task::Constraint c;
        bool holds;
    };
    const std::vector<Case> cases = {
        {{"rack", Op::equals, "r1"}, true},     {{"rack", Op::equals, "r2"}, false},
        {{"zone", Op::equals, ""}, false},      {{"rack", Op::not_equals, "r1"}, false},
        {{"rack", Op::not_equals, "r2"}, true}, {{"zone", Op::not_equals, "z"}, true},
        {{"rack", Op::like, "r\\d"}, true},     {{"rack", Op::like, "r"}, false},
        {{"rack", Op::like, ".*1"}, true},      {{"zone", Op::like, ".*"}, false},
        {{"rack", Op::unlike, "r\\d"}, false},  {{"rack", Op::unlike, "x.*"}, true},
        {{"zone", Op::unlike, ".*"}, true},     {{"rack", Op::exists, ""}, true},
        {{"zone", Op::exists, ""}, false},      {{"rack", Op::like, "[bad"}, false},
        {{"rack", Op::unlike, "[bad"}, false},  {{"zone", Op::unlike, "[bad"}, false},
    };
    scheduler::ConstraintChecker checker;
    const scheduler::AgentFacts agent("h1", attrs);
    for (const auto& c : cases) {
        INFO(c.c.attribute << " " << task::to_string(c.c.op) << " " << c.c.value);
        CHECK(checker.satisfied(c.c, agent) == c.holds);
        CHECK(scheduler::satisfies({c.c}, "h1", attrs) == c.holds);
    }
}

TEST_CASE("the hostname pseudo-attribute is the offer's hostname, even over an attribute") {
    const std::vector<mesos::Attribute> attrs = {
        mesoflow::testing::text_attribute("hostname", "spoofed")};
    CHECK(scheduler::satisfies({{"hostname", Op::equals, "a1.example.com"}}, "a1.example.com",
                               attrs));
    CHECK_FALSE(
        scheduler::satisfies({{"hostname", Op::equals, "spoofed"}}, "a1.example.com", attrs));
    CHECK(scheduler::satisfies({{"hostname", Op::exists, ""}}, "a1", {}));
}

TEST_CASE("an empty constraint list always holds; every constraint of a list must hold") {
    const std::vector<mesos::Attribute> attrs = {mesoflow::testing::text_attribute("rack", "r1")};
    CHECK(scheduler::satisfies({}, "h", {}));
    CHECK(scheduler::satisfies({{"rack", Op::equals, "r1"}, {"hostname", Op::like, "h"}}, "h",
                               attrs));
    CHECK_FALSE(scheduler::satisfies({{"rack", Op::equals, "r1"}, {"hostname", Op::like, "x"}}, "h",
                                     attrs));
}

// Patterns come from producers and are matched on the event loop: a pattern
// that makes a backtracking matcher explore every way to split the hostname
// (2^48 here: days) must be answered in linear time, and answered right.
TEST_CASE("patterns that backtrack exponentially are matched in linear time") {
    const std::string plain(48, 'a');
    const std::string ends_in_x = plain + "X";
    struct Case {
        std::string hostname;
        task::Constraint c;
        bool holds;
    };
    const std::vector<Case> cases = {
        {plain, {"hostname", Op::like, "(.|.)*X"}, false},
        {plain, {"hostname", Op::unlike, "(.|.)*X"}, true},
        {ends_in_x, {"hostname", Op::like, "(.|.)*X"}, true},
        {plain, {"hostname", Op::like, "(a|aa)*b"}, false},
        {plain, {"hostname", Op::like, "(a*)*b"}, false},
        {plain, {"hostname", Op::like, "(a|aa)*"}, true},
    };
    scheduler::ConstraintChecker checker;
    for (const auto& c : cases) {
        INFO(c.hostname << " " << task::to_string(c.c.op) << " " << c.c.value);
        CHECK(checker.satisfied(c.c, scheduler::AgentFacts(c.hostname, {})) == c.holds);
    }
}

TEST_CASE("a pattern longer than kMaxPatternBytes holds nowhere, like or unlike") {
    const std::string at_limit(scheduler::kMaxPatternBytes, 'a');
    const std::string over_limit(scheduler::kMaxPatternBytes + 1, 'a');
    CHECK(scheduler::satisfies({{"hostname", Op::like, at_limit}}, at_limit, {}));
    CHECK_FALSE(scheduler::satisfies({{"hostname", Op::like, over_limit}}, over_limit, {}));
    CHECK_FALSE(scheduler::satisfies({{"hostname", Op::unlike, over_limit}}, "h", {}));
}

TEST_CASE("a short pattern that compiles to more than kMaxPatternMemory holds nowhere") {
    // Each Unicode letter class is about 1,200 instructions: two fit in 64 KiB, five do not.
    CHECK(scheduler::satisfies({{"hostname", Op::like, "\\pL{2}"}}, "ab", {}));
    for (const char* pattern : {"\\pL{5}", "\\pL{500}", "[\\x{80}-\\x{10FFFF}]{0,1000}"}) {
        INFO(pattern);
        CHECK_FALSE(scheduler::satisfies({{"hostname", Op::like, pattern}}, "abcde", {}));
        CHECK_FALSE(scheduler::satisfies({{"hostname", Op::unlike, pattern}}, "abcde", {}));
        CHECK_FALSE(scheduler::satisfies({{"absent", Op::unlike, pattern}}, "abcde", {}));
    }
}

namespace {

std::vector<task::Constraint> patterns(std::size_t n, Op op, const std::string& prefix) {
    std::vector<task::Constraint> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back({"hostname", op, prefix + std::to_string(i)});
    return out;
}

}  // namespace

TEST_CASE("pattern_problem names the first LIKE / UNLIKE constraint past a bound, and why") {
    const std::string kib(1000, 'a');
    std::vector<task::Constraint> two_kib = {{"rack", Op::like, kib}, {"zone", Op::unlike, kib}};
    two_kib.push_back({"row", Op::like, std::string(scheduler::kMaxTaskPatternBytes - 2000, 'b')});
    auto too_much = two_kib;
    too_much.back().value += 'b';
    auto with_equals = patterns(32, Op::unlike, "x");
    with_equals.insert(with_equals.begin(), {"rack", Op::equals, "[bad"});
    with_equals.push_back({"rack", Op::exists, ""});
    struct Case {
        std::string what;
        std::vector<task::Constraint> constraints;
        std::optional<std::size_t> index;  // nullopt: no problem
        std::string why;
    };
    const std::vector<Case> cases = {
        {"none", {}, std::nullopt, ""},
        {"plain",
         {{"hostname", Op::like, "gpu-.*"}, {"rack", Op::unlike, "r[0-3]"}},
         std::nullopt,
         ""},
        {"32 patterns, with other ops besides", with_equals, std::nullopt, ""},
        {"all the bytes a task may have", two_kib, std::nullopt, ""},
        {"33 patterns", patterns(33, Op::like, "x"), 32,
         "at most 32 LIKE / UNLIKE constraints; this one has 33"},
        {"the review's row: 1,400 patterns, none compiled",
         patterns(1400, Op::unlike, "\\pL{500}|x"), 32, "this one has 1400"},
        {"one pattern too long",
         {{"hostname", Op::like, "a"},
          {"hostname", Op::unlike, std::string(scheduler::kMaxPatternBytes + 1, 'a')}},
         1,
         "1025 bytes, longer than 1024"},
        {"too many bytes together", too_much, 2, "more than 2048 bytes together"},
        {"does not parse",
         {{"hostname", Op::like, "ok"}, {"rack", Op::unlike, "[bad"}},
         1,
         "does not compile (missing ]: [bad)"},
        {"too large compiled",
         {{"hostname", Op::unlike, "\\pL{500}"}},
         0,
         "does not compile within 64 KiB (pattern too large - compile failed)"},
        {"too large compiled, 27 bytes",
         {{"hostname", Op::unlike, "[\\x{80}-\\x{10FFFF}]{0,1000}"}},
         0,
         "does not compile within 64 KiB"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        const auto problem = scheduler::pattern_problem(c.constraints);
        CHECK(scheduler::within_pattern_bounds(c.constraints) ==
              (!problem || problem->why.find("compile") != std::string::npos));
        if (!c.index) {
            CHECK_FALSE(problem);
            continue;
        }
        REQUIRE(problem);
        CHECK(problem->index == *c.index);
        CHECK_THAT(problem->why, Catch::Contains(c.why));
    }
}

TEST_CASE("constraints past a bound hold nowhere and compile nothing") {
    scheduler::ConstraintChecker checker;
    const scheduler::AgentFacts agent("h1", {});
    auto many = patterns(1400, Op::unlike, "\\pL{500}|x");
    CHECK_FALSE(checker.satisfied(many, agent));
    many.resize(scheduler::kMaxPatternsPerTask + 1);
    CHECK_FALSE(checker.satisfied(many, agent));
    CHECK(checker.compiles() == 0);
    many.resize(scheduler::kMaxPatternsPerTask);
    for (auto& c : many)
        c.value = "y" + c.value.substr(9);  // y0 .. y31: none is h1
    CHECK(checker.satisfied(many, agent));
    CHECK(checker.compiles() == scheduler::kMaxPatternsPerTask);
}

// The claimed window is matched round after round: its patterns compile once,
// however many there are, and no round compiles more than its budget.
TEST_CASE("a window's patterns compile once, a round's budget at a time, and never again") {
    // 40 tasks of 32 distinct patterns each: 1,280, more than the cache of
    // old (1,024, emptied when full, so every round compiled them all again).
    std::vector<task::TaskSpec> window;
    std::size_t pattern_bytes = 0;
    for (int t = 0; t < 40; ++t) {
        auto spec = mesoflow::testing::spec(t + 1, 0.1, 1);
        spec.constraints = patterns(32, Op::unlike, "t" + std::to_string(t) + "-");
        for (const auto& c : spec.constraints)
            pattern_bytes += c.value.size();
        window.push_back(std::move(spec));
    }
    const std::vector<mesos::Offer> offers = {mesoflow::testing::offer("o1", "a1", 100, 10000)};
    scheduler::OfferMatcher matcher;
    const auto& checker = matcher.constraint_checker();
    std::vector<std::uint64_t> per_round;
    std::size_t placed = 0;
    for (int round = 0; round < 12; ++round) {
        const auto before = checker.compiles();
        const auto result = matcher.match(offers, window, {});
        per_round.push_back(checker.compiles() - before);
        placed = result.launch_count();
    }
    CAPTURE(per_round);
    CHECK(checker.compiles() == 40 * 32);
    CHECK(checker.kept() == 40 * 32);
    const std::size_t shortest = std::string("t0-0").size();
    for (const auto n : per_round)
        CHECK(n <= scheduler::kMaxCompileBytesPerRound / shortest);
    // Once all are compiled, a round compiles nothing and every task is placed.
    CHECK(pattern_bytes > scheduler::kMaxCompileBytesPerRound);
    CHECK(per_round.front() < 40 * 32);
    CHECK(per_round.back() == 0);
    CHECK(per_round[per_round.size() - 2] == 0);
    CHECK(placed == 40);

    // Patterns of tasks that left the window go at the round after the first
    // that did not use them.
    window.resize(10);
    matcher.match(offers, window, {});
    CHECK(checker.kept() == 40 * 32);
    matcher.match(offers, window, {});
    CHECK(checker.kept() == 10 * 32);
    CHECK(checker.compiles() == 40 * 32);
}

TEST_CASE("a window with more patterns than the cache holds compiles up to the cap, never again") {
    // 200 tasks of 32 patterns: 6,400 distinct ones, past kMaxCachedPatterns.
    std::vector<task::TaskSpec> window;
    for (int t = 0; t < 200; ++t) {
        auto spec = mesoflow::testing::spec(t + 1, 0.1, 1);
        spec.constraints = patterns(32, Op::unlike, std::to_string(t) + "-");
        window.push_back(std::move(spec));
    }
    const std::vector<mesos::Offer> offers = {mesoflow::testing::offer("o1", "a1", 100, 10000)};
    scheduler::OfferMatcher matcher;
    const auto& checker = matcher.constraint_checker();
    std::size_t placed = 0;
    for (int round = 0; round < 60; ++round)
        placed = matcher.match(offers, window, {}).launch_count();
    CHECK(checker.compiles() == scheduler::kMaxCachedPatterns);
    CHECK(checker.kept() == scheduler::kMaxCachedPatterns);
    CHECK(checker.deferred() > 0);
    // The tasks whose patterns are kept are placed; the rest wait, uncompiled.
    CHECK(placed == scheduler::kMaxCachedPatterns / 32);
    const auto before = checker.compiles();
    matcher.match(offers, window, {});
    CHECK(checker.compiles() == before);
}
