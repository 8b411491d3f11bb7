#include "mesoflow/scheduler/placement_constraints.hpp"

#include <re2/re2.h>

#include <cmath>
#include <cstdio>
#include <unordered_map>

namespace mesoflow::scheduler {
namespace {

constexpr std::string_view kHostname = "hostname";

std::string scalar_text(double value) {
    // Mesos keeps three decimals; print them and drop trailing zeros.
    char buffer[64];
    const int n = std::snprintf(buffer, sizeof buffer, "%.3f", std::round(value * 1000.0) / 1000.0);
    std::string s(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
    if (s.find('.') != std::string::npos) {
        s.erase(s.find_last_not_of('0') + 1);
        if (!s.empty() && s.back() == '.')
            s.pop_back();
    }
    return s == "-0" ? "0" : s;
}

}  // namespace

namespace {

bool is_pattern(const task::Constraint& c) {
    return c.op == task::Constraint::Op::like || c.op == task::Constraint::Op::unlike;
}

std::string kib(std::int64_t bytes) {
    return std::to_string(bytes >> 10) + " KiB";
}

// A pattern compiled under the bounds: `re` null when it does not compile
// (then `error` says why).
struct Compiled {
    std::unique_ptr<re2::RE2> re;
    std::string error;
    bool too_large = false;
};

Compiled compile(const std::string& text) {
    Compiled out;
    if (text.size() > kMaxPatternBytes) {
        out.error = "longer than " + std::to_string(kMaxPatternBytes) + " bytes";
        return out;
    }
    re2::RE2::Options options;
    options.set_max_mem(kMaxPatternMemory);
    options.set_log_errors(false);  // a producer's typo is not worth a line on stderr
    out.re = std::make_unique<re2::RE2>(text, options);
    if (!out.re->ok()) {
        out.too_large = out.re->error_code() == re2::RE2::ErrorPatternTooLarge;
        out.error = out.re->error();
        out.re.reset();
    }
    return out;
}

}  // namespace

bool within_pattern_bounds(const std::vector<task::Constraint>& constraints) {
    std::size_t count = 0;
    std::size_t bytes = 0;
    for (const auto& c : constraints) {
        if (!is_pattern(c))
            continue;
        ++count;
        bytes += c.value.size();
        if (c.value.size() > kMaxPatternBytes)
            return false;
    }
    return count <= kMaxPatternsPerTask && bytes <= kMaxTaskPatternBytes;
}

std::optional<PatternProblem> pattern_problem(const std::vector<task::Constraint>& constraints) {
    // The bounds that need no compiling first, so a row past them costs no compile.
    std::size_t count = 0;
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < constraints.size(); ++i) {
        const auto& c = constraints[i];
        if (!is_pattern(c))
            continue;
        ++count;
        bytes += c.value.size();
        if (count > kMaxPatternsPerTask) {
            std::size_t total = count;
            for (std::size_t j = i + 1; j < constraints.size(); ++j)
                total += is_pattern(constraints[j]) ? 1 : 0;
            return PatternProblem{
                i, "one task may have at most " + std::to_string(kMaxPatternsPerTask) +
                       " LIKE / UNLIKE constraints; this one has " + std::to_string(total)};
        }
        if (c.value.size() > kMaxPatternBytes) {
            return PatternProblem{i, "its pattern is " + std::to_string(c.value.size()) +
                                         " bytes, longer than " + std::to_string(kMaxPatternBytes)};
        }
        if (bytes > kMaxTaskPatternBytes) {
            return PatternProblem{i, "the task's LIKE / UNLIKE patterns come to more than " +
                                         std::to_string(kMaxTaskPatternBytes) + " bytes together"};
        }
    }
    for (std::size_t i = 0; i < constraints.size(); ++i) {
        if (!is_pattern(constraints[i]))
            continue;
        const Compiled compiled = compile(constraints[i].value);
        if (compiled.re)
            continue;
        if (compiled.too_large) {
            return PatternProblem{i, "its pattern does not compile within " +
                                         kib(kMaxPatternMemory) + " (" + compiled.error + ")"};
        }
        return PatternProblem{i, "its pattern does not compile (" + compiled.error + ")"};
    }
    return std::nullopt;
}

struct ConstraintChecker::Patterns {
    struct Kept {
        std::unique_ptr<re2::RE2> re;  // null: the pattern does not compile
        bool used = true;              // by the current round
    };
    std::unordered_map<std::string, Kept> kept;
    std::size_t compiled_bytes = 0;  // this round
    std::uint64_t compiles = 0;
    std::uint64_t deferred = 0;

    void begin_round() {
        std::erase_if(kept, [](const auto& entry) { return !entry.second.used; });
        for (auto& [text, k] : kept)
            k.used = false;
        compiled_bytes = 0;
    }

    // The compiled pattern, or nullptr when it does not compile, breaks a
    // bound, or is past this round's budget or the cap (not compiled now).
    const re2::RE2* get(const std::string& text) {
        if (auto it = kept.find(text); it != kept.end()) {
            it->second.used = true;
            return it->second.re.get();
        }
        if (text.size() > kMaxPatternBytes)
            return nullptr;
        if (kept.size() >= kMaxCachedPatterns ||
            compiled_bytes + text.size() > kMaxCompileBytesPerRound) {
            ++deferred;
            return nullptr;
        }
        compiled_bytes += text.size();
        ++compiles;
        return kept.emplace(text, Kept{compile(text).re, true}).first->second.re.get();
    }
};

ConstraintChecker::ConstraintChecker() : patterns_(std::make_unique<Patterns>()) {}
ConstraintChecker::~ConstraintChecker() = default;
ConstraintChecker::ConstraintChecker(ConstraintChecker&&) noexcept = default;
ConstraintChecker& ConstraintChecker::operator=(ConstraintChecker&&) noexcept = default;

void ConstraintChecker::begin_round() {
    patterns_->begin_round();
}

std::uint64_t ConstraintChecker::compiles() const {
    return patterns_->compiles;
}

std::uint64_t ConstraintChecker::deferred() const {
    return patterns_->deferred;
}

std::size_t ConstraintChecker::kept() const {
    return patterns_->kept.size();
}

std::string attribute_text(const mesos::Attribute& a) {
    switch (a.type) {
        case mesos::ValueType::text:
            return a.text;
        case mesos::ValueType::scalar:
            return scalar_text(a.scalar);
        case mesos::ValueType::set: {
            std::string s = "{";
            for (std::size_t i = 0; i < a.set.size(); ++i) {
                if (i > 0)
                    s += ',';
                s += a.set[i];
            }
            return s + "}";
        }
        case mesos::ValueType::ranges: {
            std::string s = "[";
            for (std::size_t i = 0; i < a.ranges.size(); ++i) {
                if (i > 0)
                    s += ',';
                s += std::to_string(a.ranges[i].begin) + "-" + std::to_string(a.ranges[i].end);
            }
            return s + "]";
        }
    }
    return {};
}

AgentFacts::AgentFacts(std::string_view hostname, const std::vector<mesos::Attribute>& attributes) {
    facts_.reserve(attributes.size() + 1);
    facts_.emplace_back(std::string(kHostname), std::string(hostname));
    for (const auto& a : attributes) {
        if (a.name != kHostname)
            facts_.emplace_back(a.name, attribute_text(a));
    }
}

const std::string* AgentFacts::find(std::string_view name) const {
    for (const auto& [n, text] : facts_) {
        if (n == name)
            return &text;
    }
    return nullptr;
}

bool ConstraintChecker::satisfied(const task::Constraint& c, const AgentFacts& agent) {
    const std::string* value = agent.find(c.attribute);
    switch (c.op) {
        case task::Constraint::Op::equals:
            return value != nullptr && *value == c.value;
        case task::Constraint::Op::not_equals:
            return value == nullptr || *value != c.value;
        case task::Constraint::Op::like: {
            const re2::RE2* re = value != nullptr ? patterns_->get(c.value) : nullptr;
            return re != nullptr && re2::RE2::FullMatch(*value, *re);
        }
        case task::Constraint::Op::unlike: {
            // Fail closed: a pattern that is not usable holds nowhere, even
            // where the attribute is absent.
            const re2::RE2* re = patterns_->get(c.value);
            return re != nullptr && (value == nullptr || !re2::RE2::FullMatch(*value, *re));
        }
        case task::Constraint::Op::exists:
            return value != nullptr;
    }
    return false;
}

bool ConstraintChecker::satisfied(const std::vector<task::Constraint>& constraints,
                                  const AgentFacts& agent) {
    if (!within_pattern_bounds(constraints))
        return false;
    for (const auto& c : constraints) {
        if (!satisfied(c, agent))
            return false;
    }
    return true;
}

bool satisfies(const std::vector<task::Constraint>& constraints, std::string_view hostname,
               const std::vector<mesos::Attribute>& attributes) {
    ConstraintChecker checker;
    return checker.satisfied(constraints, AgentFacts(hostname, attributes));
}

}  // namespace mesoflow::scheduler
