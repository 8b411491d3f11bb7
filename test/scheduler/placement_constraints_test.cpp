#include "mesoflow/scheduler/placement_constraints.hpp"

#include <catch2/catch.hpp>

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
        {{"rack", Op::unlike, "[bad"}, true},
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

TEST_CASE("a pattern longer than kMaxPatternBytes is refused so like fails and unlike holds") {
    const std::string at_limit(scheduler::kMaxPatternBytes, 'a');
    const std::string over_limit(scheduler::kMaxPatternBytes + 1, 'a');
    CHECK(scheduler::satisfies({{"hostname", Op::like, at_limit}}, at_limit, {}));
    CHECK_FALSE(scheduler::satisfies({{"hostname", Op::like, over_limit}}, over_limit, {}));
    CHECK(scheduler::satisfies({{"hostname", Op::unlike, over_limit}}, over_limit, {}));
}

TEST_CASE("a short pattern that compiles to more than kMaxPatternMemory is refused") {
    // 100 Unicode letter classes: about 120 000 instructions, over the budget.
    const std::string hostname(100, 'a');
    CHECK(scheduler::satisfies({{"hostname", Op::like, "\\pL{10}"}}, "abcdefghij", {}));
    CHECK_FALSE(scheduler::satisfies({{"hostname", Op::like, "\\pL{100}"}}, hostname, {}));
    CHECK(scheduler::satisfies({{"hostname", Op::unlike, "\\pL{100}"}}, hostname, {}));
}
