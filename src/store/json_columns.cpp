#include "json_columns.hpp"

#include <nlohmann/json.hpp>

namespace mesoflow::store {
namespace {

using nlohmann::json;

json parse(std::string_view text) {
    return json::parse(text, nullptr, false);
}

std::string scalar_text(const json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

std::string json_object(const StringPairs& pairs) {
    json out = json::object();
    for (const auto& [k, v] : pairs)
        out[k] = v;
    return out.dump();
}

std::string json_constraints(const std::vector<task::Constraint>& constraints) {
    json out = json::array();
    for (const auto& c : constraints) {
        json triple = json::array({c.attribute, std::string(to_string(c.op))});
        if (c.op != task::Constraint::Op::exists)
            triple.push_back(c.value);
        out.push_back(std::move(triple));
    }
    return out.dump();
}

StringPairs parse_json_object(std::string_view text) {
    StringPairs out;
    if (text == "{}")
        return out;  // the common case, without a parser
    const json doc = parse(text);
    if (!doc.is_object())
        return out;
    for (const auto& [k, v] : doc.items())
        out.emplace_back(k, scalar_text(v));
    return out;
}

std::vector<std::string> parse_json_strings(std::string_view text) {
    std::vector<std::string> out;
    if (text.empty() || text == "null" || text == "[]")
        return out;
    const json doc = parse(text);
    if (!doc.is_array())
        return out;
    for (const auto& v : doc)
        out.push_back(scalar_text(v));
    return out;
}

std::vector<task::Constraint> parse_json_constraints(std::string_view text) {
    std::vector<task::Constraint> out;
    if (text == "[]")
        return out;
    const json doc = parse(text);
    if (!doc.is_array())
        return out;
    for (const auto& triple : doc) {
        if (!triple.is_array() || triple.size() < 2 || !triple[1].is_string())
            continue;
        const auto op = task::parse_constraint_op(triple[1].get<std::string>());
        if (!op)
            continue;
        task::Constraint c;
        c.attribute = scalar_text(triple[0]);
        c.op = *op;
        if (triple.size() > 2 && !triple[2].is_null())
            c.value = scalar_text(triple[2]);
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace mesoflow::store
