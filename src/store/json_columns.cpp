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

std::string json_volumes(const std::vector<task::Volume>& volumes) {
    json out = json::array();
    for (const auto& v : volumes) {
        out.push_back({{"host_path", v.host_path},
                       {"container_path", v.container_path},
                       {"mode", v.read_only ? "RO" : "RW"}});
    }
    return out.dump();
}

std::string json_parameters(const StringPairs& parameters) {
    json out = json::array();
    for (const auto& [k, v] : parameters)
        out.push_back({{"key", k}, {"value", v}});
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

std::vector<task::Volume> parse_json_volumes(std::string_view text) {
    std::vector<task::Volume> out;
    if (text.empty() || text == "null" || text == "[]")
        return out;
    const json doc = parse(text);
    if (!doc.is_array())
        return out;
    for (const auto& v : doc) {
        if (!v.is_object())
            continue;
        const auto host = v.find("host_path");
        const auto container = v.find("container_path");
        if (host == v.end() || !host->is_string() || container == v.end() ||
            !container->is_string())
            continue;
        task::Volume volume;
        volume.host_path = host->get<std::string>();
        volume.container_path = container->get<std::string>();
        const auto mode = v.find("mode");
        volume.read_only = !(mode != v.end() && mode->is_string() && *mode == "RW");
        out.push_back(std::move(volume));
    }
    return out;
}

StringPairs parse_json_parameters(std::string_view text) {
    StringPairs out;
    if (text.empty() || text == "null" || text == "[]")
        return out;
    const json doc = parse(text);
    if (!doc.is_array())
        return out;
    for (const auto& p : doc) {
        if (!p.is_object())
            continue;
        const auto key = p.find("key");
        const auto value = p.find("value");
        if (key == p.end() || !key->is_string() || value == p.end())
            continue;
        out.emplace_back(key->get<std::string>(), scalar_text(*value));
    }
    return out;
}

}  // namespace mesoflow::store
