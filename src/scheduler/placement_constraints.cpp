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

struct ConstraintChecker::Patterns {
    std::unordered_map<std::string, std::unique_ptr<re2::RE2>> compiled;

    // nullptr for a pattern that is too long, does not compile, or would
    // need more than kMaxPatternMemory.
    const re2::RE2* get(const std::string& text) {
        if (auto it = compiled.find(text); it != compiled.end())
            return it->second.get();
        if (compiled.size() >= kMaxCachedPatterns)
            compiled.clear();
        std::unique_ptr<re2::RE2> re;
        if (text.size() <= kMaxPatternBytes) {
            re2::RE2::Options options;
            options.set_max_mem(kMaxPatternMemory);
            options.set_log_errors(false);  // a producer's typo is not worth a line on stderr
            re = std::make_unique<re2::RE2>(text, options);
            if (!re->ok())
                re.reset();
        }
        return compiled.emplace(text, std::move(re)).first->second.get();
    }
};

ConstraintChecker::ConstraintChecker() : patterns_(std::make_unique<Patterns>()) {}
ConstraintChecker::~ConstraintChecker() = default;
ConstraintChecker::ConstraintChecker(ConstraintChecker&&) noexcept = default;
ConstraintChecker& ConstraintChecker::operator=(ConstraintChecker&&) noexcept = default;

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
            const re2::RE2* re = value != nullptr ? patterns_->get(c.value) : nullptr;
            return re == nullptr || !re2::RE2::FullMatch(*value, *re);
        }
        case task::Constraint::Op::exists:
            return value != nullptr;
    }
    return false;
}

bool ConstraintChecker::satisfied(const std::vector<task::Constraint>& constraints,
                                  const AgentFacts& agent) {
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
