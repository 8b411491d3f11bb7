#include "cli/task_json.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace mesoflow::cli {
namespace {

using nlohmann::json;

Error field_error(std::string_view field, std::string_view what) {
    return Error{fmt::format("{}: {}", field, what), ErrorKind::permanent};
}

Result<std::string> text(std::string_view field, const json& value) {
    if (!value.is_string())
        return field_error(field, "must be a string");
    const auto& s = value.get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos)
        return field_error(field, "text cannot hold a NUL character (\\u0000)");
    return s;
}

Result<std::vector<std::string>> texts(std::string_view field, const json& value) {
    if (!value.is_array())
        return field_error(field, "must be an array of strings");
    std::vector<std::string> out;
    out.reserve(value.size());
    for (const auto& v : value) {
        auto s = text(field, v);
        if (!s)
            return s.error();
        out.push_back(std::move(*s));
    }
    return out;
}

// {"NAME": "VALUE", ...}
Result<std::vector<std::pair<std::string, std::string>>> string_object(std::string_view field,
                                                                       const json& value) {
    if (!value.is_object())
        return field_error(field, "must be an object of strings");
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [name, v] : value.items()) {
        if (name.find('\0') != std::string::npos)
            return field_error(field, "text cannot hold a NUL character (\\u0000)");
        auto s = text(fmt::format("{}.{}", field, name), v);
        if (!s)
            return s.error();
        out.emplace_back(name, std::move(*s));
    }
    return out;
}

Result<double> number(std::string_view field, const json& value) {
    if (!value.is_number())
        return field_error(field, "must be a number");
    const double d = value.get<double>();
    if (!std::isfinite(d))
        return field_error(field, "must be a finite number");
    return d;
}

Result<int> integer(std::string_view field, const json& value) {
    if (value.is_number_integer()) {
        const auto wide = value.is_number_unsigned()
                              ? static_cast<long double>(value.get<std::uint64_t>())
                              : static_cast<long double>(value.get<std::int64_t>());
        if (wide >= std::numeric_limits<int>::min() && wide <= std::numeric_limits<int>::max())
            return static_cast<int>(wide);
        return field_error(field, "out of range");
    }
    if (value.is_number_float()) {
        const double d = value.get<double>();
        if (std::isfinite(d) && d == std::trunc(d) && d >= std::numeric_limits<int>::min() &&
            d <= std::numeric_limits<int>::max())
            return static_cast<int>(d);
    }
    return field_error(field, "must be a whole number");
}

Result<bool> boolean(std::string_view field, const json& value) {
    if (!value.is_boolean())
        return field_error(field, "must be true or false");
    return value.get<bool>();
}

// [ATTRIBUTE, OP] or [ATTRIBUTE, OP, VALUE], as the constraints column holds them.
Result<std::vector<task::Constraint>> constraints(const json& value) {
    constexpr std::string_view field = "constraints";
    if (!value.is_array())
        return field_error(field, "must be an array of [ATTRIBUTE, OP, VALUE] arrays");
    std::vector<task::Constraint> out;
    for (const auto& c : value) {
        if (!c.is_array() || c.size() < 2 || c.size() > 3)
            return field_error(field, "each must be [ATTRIBUTE, OP, VALUE] or [ATTRIBUTE, EXISTS]");
        auto attribute = text(field, c[0]);
        if (!attribute)
            return attribute.error();
        auto op_text = text(field, c[1]);
        if (!op_text)
            return op_text.error();
        const auto op = task::parse_constraint_op(*op_text);
        if (!op) {
            return field_error(field, fmt::format("unknown operator {} (EQUALS, NOT_EQUALS, LIKE, "
                                                  "UNLIKE or EXISTS)",
                                                  json(*op_text).dump()));
        }
        task::Constraint constraint{std::move(*attribute), *op, ""};
        if ((*op == task::Constraint::Op::exists) != (c.size() == 2))
            return field_error(field, fmt::format("{} {} a value", *op_text,
                                                  c.size() == 2 ? "needs" : "takes no"));
        if (c.size() == 3) {
            if (c[2].is_number()) {
                constraint.value = c[2].dump();
            } else {
                auto v = text(field, c[2]);
                if (!v)
                    return v.error();
                constraint.value = std::move(*v);
            }
        }
        out.push_back(std::move(constraint));
    }
    return out;
}

// [{"host_path": ..., "container_path": ..., "mode": "RO" | "RW"}], mode optional.
Result<std::vector<task::Volume>> volumes(const json& value) {
    constexpr std::string_view field = "volumes";
    if (!value.is_array())
        return field_error(field, "must be an array of objects");
    std::vector<task::Volume> out;
    for (const auto& v : value) {
        if (!v.is_object())
            return field_error(field, "each must be {\"host_path\", \"container_path\", \"mode\"}");
        task::Volume volume;
        for (const auto& [name, item] : v.items()) {
            if (name == "host_path" || name == "container_path") {
                auto s = text(field, item);
                if (!s)
                    return s.error();
                (name == "host_path" ? volume.host_path : volume.container_path) = std::move(*s);
            } else if (name == "mode") {
                auto s = text(field, item);
                if (!s)
                    return s.error();
                if (*s != "RO" && *s != "RW" && *s != "ro" && *s != "rw")
                    return field_error(field, "mode must be RO or RW");
                volume.read_only = *s == "RO" || *s == "ro";
            } else {
                return field_error(field, fmt::format("unknown field {}", json(name).dump()));
            }
        }
        if (volume.host_path.empty() || volume.container_path.empty())
            return field_error(field, "each needs host_path and container_path");
        out.push_back(std::move(volume));
    }
    return out;
}

// [{"key": ..., "value": ...}], as the docker_parameters column holds them.
Result<std::vector<std::pair<std::string, std::string>>> docker_parameters(const json& value) {
    constexpr std::string_view field = "docker_parameters";
    if (!value.is_array())
        return field_error(field, "must be an array of {\"key\", \"value\"} objects");
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& p : value) {
        if (!p.is_object() || p.size() != 2 || !p.contains("key") || !p.contains("value"))
            return field_error(field, "each must be {\"key\", \"value\"}");
        auto k = text(field, p["key"]);
        if (!k)
            return k.error();
        auto v = text(field, p["value"]);
        if (!v)
            return v.error();
        out.emplace_back(std::move(*k), std::move(*v));
    }
    return out;
}

// More than the fields there are: the columns a line named, for aliases.
constexpr std::size_t kNewTaskFieldSlots = 64;

using Setter = std::function<Status(store::NewTask&, const json&)>;

// `parse` takes the field's name and value, or the value alone (the parsers
// of structured fields name their own parts in their errors).
template <typename T, typename Parse>
Setter setter(std::string_view field, Parse parse, T store::NewTask::*member) {
    return [field, parse, member](store::NewTask& task, const json& value) -> Status {
        auto parsed = [&] {
            if constexpr (std::is_invocable_v<Parse, const json&>)
                return parse(value);
            else
                return parse(field, value);
        }();
        if (!parsed)
            return parsed.error();
        task.*member = std::move(*parsed);
        return {};
    };
}

// Every field, under each of its names; aliases name the same column.
const std::unordered_map<std::string, std::pair<std::string_view, Setter>>& fields() {
    static const auto table = [] {
        std::unordered_map<std::string, std::pair<std::string_view, Setter>> t;
        const auto add = [&](std::string_view column, std::initializer_list<std::string_view> names,
                             const Setter& s) {
            for (const auto name : names)
                t[std::string(name)] = {column, s};
        };
        add("key", {"key"}, setter("key", text, &store::NewTask::key));
        add("command", {"command", "shell"}, setter("command", text, &store::NewTask::command));
        add("argv", {"argv"}, setter("argv", texts, &store::NewTask::argv));
        add("image", {"image"}, setter("image", text, &store::NewTask::image));
        add("containerizer", {"containerizer"},
            Setter([](store::NewTask& task, const json& v) -> Status {
                auto s = text("containerizer", v);
                if (!s)
                    return s.error();
                const auto parsed = task::parse_containerizer(*s);
                if (!parsed || *parsed == task::Containerizer::none)
                    return field_error("containerizer", "must be docker or mesos");
                task.containerizer = *parsed;
                return {};
            }));
        add("force_pull", {"force_pull"},
            setter("force_pull", boolean, &store::NewTask::force_pull));
        add("volumes", {"volumes"}, setter("volumes", volumes, &store::NewTask::volumes));
        add("network", {"network"}, Setter([](store::NewTask& task, const json& v) -> Status {
                auto s = text("network", v);
                if (!s)
                    return s.error();
                const auto mode = task::parse_network_mode(*s);
                if (!mode || *mode == task::NetworkMode::unset)
                    return field_error("network", "must be host, bridge, none or user");
                task.network = *mode;
                return {};
            }));
        add("network_name", {"network_name"},
            setter("network_name", text, &store::NewTask::network_name));
        add("docker_parameters", {"docker_parameters"},
            setter("docker_parameters", docker_parameters, &store::NewTask::docker_parameters));
        add("cpus", {"cpus"}, setter("cpus", number, &store::NewTask::cpus));
        add("mem", {"mem"}, setter("mem", number, &store::NewTask::mem_mb));
        add("disk", {"disk"}, setter("disk", number, &store::NewTask::disk_mb));
        add("gpus", {"gpus"}, setter("gpus", number, &store::NewTask::gpus));
        add("ports", {"ports"}, setter("ports", integer, &store::NewTask::ports));
        add("env", {"env"}, setter("env", string_object, &store::NewTask::env));
        add("uris", {"uris"}, setter("uris", texts, &store::NewTask::uris));
        add("run_as_user", {"run_as_user", "user"},
            setter("run_as_user", text, &store::NewTask::user));
        add("labels", {"labels"}, setter("labels", string_object, &store::NewTask::labels));
        add("role", {"role"}, setter("role", text, &store::NewTask::role));
        add("constraints", {"constraints"},
            setter("constraints", constraints, &store::NewTask::constraints));
        add("priority", {"priority"}, setter("priority", integer, &store::NewTask::priority));
        add("max_attempts", {"max_attempts", "attempts"},
            setter("max_attempts", integer, &store::NewTask::max_attempts));
        add("retry_backoff_s", {"retry_backoff_s", "retry_backoff"},
            setter("retry_backoff_s", number, &store::NewTask::retry_backoff_s));
        add("retry_on_failure", {"retry_on_failure"},
            setter("retry_on_failure", boolean, &store::NewTask::retry_on_failure));
        add("timeout_s", {"timeout_s", "timeout"},
            setter("timeout_s", number, &store::NewTask::timeout_s));
        add("queue", {"queue"}, setter("queue", text, &store::NewTask::queue));
        add("not_before", {"not_before"}, setter("not_before", text, &store::NewTask::not_before));
        return t;
    }();
    return table;
}

}  // namespace

Result<store::NewTask> task_from_json(std::string_view text) {
    json doc;
    // A key given twice in one object would keep only its last value
    // (cpus 1, then cpus 4000): refused, like any other line that cannot
    // mean one thing.
    std::vector<std::set<std::string>> keys;  // of each object open
    std::optional<std::string> twice;
    const json::parser_callback_t note_keys = [&](int, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start) {
            keys.emplace_back();
        } else if (event == json::parse_event_t::object_end) {
            if (!keys.empty())
                keys.pop_back();
        } else if (event == json::parse_event_t::key && !keys.empty() && !twice &&
                   parsed.is_string() && !keys.back().insert(parsed.get<std::string>()).second) {
            twice = keys.size() == 1
                        ? fmt::format("{} is given twice", parsed.get<std::string>())
                        : fmt::format("key {} is given twice in one object", parsed.dump());
        }
        return true;
    };
    try {
        doc = json::parse(text, note_keys);
    } catch (const json::exception& e) {
        // Malformed, or a number too large for a double (1e400: out_of_range).
        std::string what = e.what();
        if (const auto end = what.find("] ");
            what.rfind("[json.exception", 0) == 0 && end != std::string::npos)
            what.erase(0, end + 2);
        return Error{"not valid JSON: " + what, ErrorKind::permanent};
    }
    if (twice)
        return Error{*twice, ErrorKind::permanent};
    if (!doc.is_object())
        return Error{"must be a JSON object", ErrorKind::permanent};
    const auto& table = fields();
    store::NewTask task;
    std::string_view seen[kNewTaskFieldSlots] = {};
    std::size_t seen_count = 0;
    for (const auto& [name, value] : doc.items()) {
        const auto it = table.find(name);
        if (it == table.end())
            return Error{fmt::format("unknown field {}", json(name).dump()), ErrorKind::permanent};
        const auto column = it->second.first;
        for (std::size_t i = 0; i < seen_count; ++i) {
            if (seen[i] == column) {
                return Error{fmt::format("{} is given twice (under another name)", column),
                             ErrorKind::permanent};
            }
        }
        if (seen_count < kNewTaskFieldSlots)
            seen[seen_count++] = column;
        if (value.is_null())
            continue;  // as if left out
        if (auto set = it->second.second(task, value); !set)
            return set.error();
    }
    if (task.key.empty())
        return Error{"key: required, the task's unique name", ErrorKind::permanent};
    if (task.command && !task.argv.empty())
        return Error{"give either command or argv, not both", ErrorKind::permanent};
    if (!task.command && doc.contains("argv") && !doc["argv"].is_null() && task.argv.empty())
        return Error{"argv: must not be empty", ErrorKind::permanent};
    if (!task.command && task.argv.empty() && task.image.value_or("").empty())
        return Error{"nothing to run: give command, argv or image", ErrorKind::permanent};
    return task;
}

}  // namespace mesoflow::cli
