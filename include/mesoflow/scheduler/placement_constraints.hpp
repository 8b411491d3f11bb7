// Placement constraints (task::Constraint) checked against one agent. Pure.
//
// An agent is seen as text: each attribute rendered by attribute_text(), plus
// the pseudo-attribute "hostname" (the offer's hostname, which wins over an
// attribute of that name). equals / not_equals compare that text; like /
// unlike full-match it against a regular expression in RE2's syntax; exists
// asks for presence. An absent attribute satisfies not_equals and unlike,
// nothing else.
//
// Patterns come from producers and are matched on the event loop, so RE2
// matches them in time linear in the text, whatever the pattern (no
// backtracking: no backreferences or lookaround either). A pattern longer
// than kMaxPatternBytes, one that does not compile, or one whose compiled
// form would need more than kMaxPatternMemory matches nothing (so `like`
// fails and `unlike` holds): a bad pattern in one task must not stop the
// others.
//
// ConstraintChecker compiles each pattern once and keeps it (at most
// kMaxCachedPatterns; then it starts over). Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::scheduler {

inline constexpr std::size_t kMaxCachedPatterns = 1024;
// Longest LIKE / UNLIKE pattern compiled, in bytes.
inline constexpr std::size_t kMaxPatternBytes = 1024;
// RE2's memory budget for one pattern (its program and its DFA cache).
inline constexpr std::int64_t kMaxPatternMemory = 1 << 20;

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

    // True when the agent satisfies every constraint (an empty list always holds).
    bool satisfied(const std::vector<task::Constraint>& constraints, const AgentFacts& agent);
    bool satisfied(const task::Constraint& constraint, const AgentFacts& agent);

  private:
    struct Patterns;  // compiled patterns by their text; keeps RE2 out of this header
    std::unique_ptr<Patterns> patterns_;
};

// One-off form of ConstraintChecker::satisfied.
bool satisfies(const std::vector<task::Constraint>& constraints, std::string_view hostname,
               const std::vector<mesos::Attribute>& attributes);

}  // namespace mesoflow::scheduler
