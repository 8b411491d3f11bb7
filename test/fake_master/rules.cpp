// Small rules of the real master that several parts of the fake need.
#include <algorithm>
#include <cctype>
#include <climits>

#include "master.hpp"

namespace mesoflow::fake {

std::string stringify_set(const std::set<std::string>& values) {
    std::string out = "{ ";
    bool first = true;
    for (const auto& v : values) {
        if (!first)
            out += ", ";
        out += v;
        first = false;
    }
    return out + " }";
}

std::optional<std::string> validate_role(const std::string& role) {
    if (role == "*")
        return std::nullopt;
    if (!role.empty() && role.front() == '/')
        return "Role '" + role + "' cannot start with a slash";
    if (!role.empty() && role.back() == '/')
        return "Role '" + role + "' cannot end with a slash";
    if (role.find("//") != std::string::npos) {
        return "Role '" + role + "' cannot contain two adjacent slashes";
    }
    std::vector<std::string> components;
    std::string current;
    for (char c : role) {
        if (c == '/') {
            if (!current.empty())
                components.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty())
        components.push_back(current);
    if (components.empty())
        return std::string("Role names cannot be the empty string");
    for (const auto& component : components) {
        if (component == ".")
            return "Role '" + role + "' cannot include '.' as a component";
        if (component == "..")
            return "Role '" + role + "' cannot include '..' as a component";
        if (component == "*")
            return "Role '" + role + "' cannot include '*' as a component";
        if (component.front() == '-') {
            return "Role component '" + component + "' is invalid because it starts with a dash";
        }
        const bool bad = std::any_of(component.begin(), component.end(), [](char c) {
            return c == '\b' || std::isspace(static_cast<unsigned char>(c)) != 0;
        });
        if (bad) {
            return "Role component '" + component +
                   "' is invalid because it contains backspace or whitespace";
        }
    }
    return std::nullopt;
}

std::optional<std::string> validate_id(const std::string& id) {
    if (id.empty())
        return std::string("ID must not be empty");
    if (id.size() > NAME_MAX) {
        return "ID must not be greater than " + std::to_string(NAME_MAX) + " characters";
    }
    if (id == "." || id == "..")
        return "'" + id + "' is disallowed";
    const bool bad = std::any_of(id.begin(), id.end(), [](char c) {
        return std::iscntrl(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '\\';
    });
    if (bad)
        return "'" + id + "' contains invalid characters";
    return std::nullopt;
}

bool is_terminal_state(const std::string& state) {
    return state == "TASK_FINISHED" || state == "TASK_FAILED" || state == "TASK_KILLED" ||
           state == "TASK_ERROR" || state == "TASK_LOST" || state == "TASK_DROPPED" ||
           state == "TASK_GONE" || state == "TASK_GONE_BY_OPERATOR";
}

}  // namespace mesoflow::fake
