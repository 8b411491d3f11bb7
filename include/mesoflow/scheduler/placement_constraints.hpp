// Placement constraints (task::Constraint) checked against one agent. Pure.
//
// An agent is seen as text: each attribute rendered by attribute_text(), plus
// the pseudo-attribute "hostname" (the offer's hostname, which wins over an
// attribute of that name). equals / not_equals compare that text; like /
// unlike full-match it against a regular expression in RE2's syntax; exists
// asks for presence. An absent attribute satisfies not_equals and unlike
// (with a usable pattern), nothing else.
//
// Patterns come from producers and are matched on the event loop, so RE2
// matches them in time linear in the text, whatever the pattern (no
// backtracking: no backreferences or lookaround either). What a pattern may
// cost is bounded, and a task whose patterns break a bound never launches:
// the claim judges each task with pattern_problem() (off the event loop) and
// ends the ones it names failed. The bounds: at most kMaxPatternsPerTask
// LIKE / UNLIKE constraints, each pattern at most kMaxPatternBytes and all
// of them together at most kMaxTaskPatternBytes, each compiling within
// kMaxPatternMemory. A pattern that does not compile, or breaks a bound,
// never holds: neither `like` nor `unlike` (fail closed), so a task that
// reaches a matcher unjudged still goes nowhere.
//
// ConstraintChecker compiles a pattern once and keeps it while matching uses
// it: begin_round() (OfferMatcher::match calls it) lets go of the patterns
// the last round did not use, so a claimed window looked at round after
// round compiles nothing again. A round compiles at most
// kMaxCompileBytesPerRound of pattern text and keeps at most
// kMaxCachedPatterns patterns (each within kMaxPatternMemory); a pattern
// past either is not compiled this round and holds for no agent, so its task
// waits for a later round. Nothing is evicted that the round uses, so the
// window cannot thrash the cache. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::scheduler {

// Most LIKE / UNLIKE constraints one task may have.
inline constexpr std::size_t kMaxPatternsPerTask = 32;
// Longest LIKE / UNLIKE pattern, in bytes.
inline constexpr std::size_t kMaxPatternBytes = 1024;
// Most bytes of LIKE / UNLIKE patterns one task may have, all together.
inline constexpr std::size_t kMaxTaskPatternBytes = 2048;
// RE2's memory budget for one pattern (its program and its DFA cache).
inline constexpr std::int64_t kMaxPatternMemory = 64 << 10;
// Most compiled patterns a ConstraintChecker keeps (those its last round used).
inline constexpr std::size_t kMaxCachedPatterns = 4096;
// Most bytes of pattern text one round compiles.
inline constexpr std::size_t kMaxCompileBytesPerRound = 4096;

// Why a task's constraints may not be used: the first LIKE / UNLIKE
// constraint that breaks a bound (its index in the list) and why, in words.
struct PatternProblem {
    std::size_t index = 0;
    std::string why;
};

// The first problem with `constraints`' patterns, or nullopt when every one
// is within the bounds above and compiles. Compiles each pattern (once, not
// kept): call it off the event loop. Pure and thread-safe.
std::optional<PatternProblem> pattern_problem(const std::vector<task::Constraint>& constraints);

// Whether `constraints` keep the count and size bounds (no compiling).
bool within_pattern_bounds(const std::vector<task::Constraint>& constraints);

// The text form of an attribute value: TEXT as is; SCALAR in its shortest
// form with at most three decimals ("2", "2.5"); SET as "{a,b}"; RANGES as
// "[1-3,5-9]" (the way agents' --attributes spell them, without spaces).
std::string attribute_text(const mesos::Attribute& attribute);

// One agent as constraints see it: (name, text) pairs, "hostname" first.
class AgentFacts {
  public:
    AgentFacts(std::string_view hostname, const std::vector<mesos::Attribute>& attributes);
    // nullptr when the agent has no such attribute.
    const std::string* find(std::string_view name) const;

  private:
    std::vector<std::pair<std::string, std::string>> facts_;
};

class ConstraintChecker {
  public:
    ConstraintChecker();
    ~ConstraintChecker();
    ConstraintChecker(ConstraintChecker&&) noexcept;
    ConstraintChecker& operator=(ConstraintChecker&&) noexcept;

    // True when the agent satisfies every constraint (an empty list always
    // holds; a list past the count or size bounds never does).
    bool satisfied(const std::vector<task::Constraint>& constraints, const AgentFacts& agent);
    bool satisfied(const task::Constraint& constraint, const AgentFacts& agent);

    // A new round of matching: the patterns the last round did not use are
    // let go, and the round's compile budget starts again.
    void begin_round();

    // For tests: patterns compiled since construction (each attempt, kept
    // or not), patterns left uncompiled for a round's budget or the cap, and
    // how many are kept now.
    std::uint64_t compiles() const;
    std::uint64_t deferred() const;
    std::size_t kept() const;

  private:
    struct Patterns;  // compiled patterns by their text; keeps RE2 out of this header
    std::unique_ptr<Patterns> patterns_;
};

// One-off form of ConstraintChecker::satisfied.
bool satisfies(const std::vector<task::Constraint>& constraints, std::string_view hostname,
               const std::vector<mesos::Attribute>& attributes);

}  // namespace mesoflow::scheduler
