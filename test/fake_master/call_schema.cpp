#include "call_schema.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mesoflow::fake {

namespace {

using nlohmann::json;

enum class Label { optional, required, repeated, map };
enum class Kind { message, opaque, string, bytes, enumeration, floating, integer, boolean };

struct MessageSpec;

struct FieldSpec {
    FieldSpec(std::string_view n, int num, Label l, Kind k, std::string_view r)
        : name(n), number(num), label(l), kind(k), ref(r) {}

    std::string_view name;
    int number;
    Label label;
    Kind kind;
    std::string_view ref;  // message name (message, map value) or enum name
    // Resolved once when the registry is built:
    std::string key;                                       // `name` as a JSON key
    const MessageSpec* sub = nullptr;                      // for messages and map values
    const std::vector<std::string_view>* names = nullptr;  // for enums
};

struct MessageSpec {
    MessageSpec(std::vector<FieldSpec> f) : fields(std::move(f)) {}  // NOLINT: braces build it

    std::vector<FieldSpec> fields;  // in declaration order
    std::vector<const FieldSpec*> by_number;
    std::uint64_t required_mask = 0;  // bit i: fields[i] is required

    const FieldSpec* find(const std::string& key) const {
        for (const auto& f : fields) {
            if (f.key == key)
                return &f;
        }
        return nullptr;
    }
};

using Registry = std::unordered_map<std::string_view, MessageSpec>;
using Enums = std::unordered_map<std::string_view, std::vector<std::string_view>>;

constexpr auto O = Label::optional;
constexpr auto R = Label::required;
constexpr auto N = Label::repeated;
constexpr auto M = Label::map;

FieldSpec msg(std::string_view name, int number, Label label, std::string_view type) {
    return {name, number, label, Kind::message, type};
}
FieldSpec opaque(std::string_view name, int number, Label label = O) {
    return {name, number, label, Kind::opaque, {}};
}
FieldSpec str(std::string_view name, int number, Label label = O) {
    return {name, number, label, Kind::string, {}};
}
FieldSpec bytes(std::string_view name, int number, Label label = O) {
    return {name, number, label, Kind::bytes, {}};
}
FieldSpec enm(std::string_view name, int number, Label label, std::string_view type) {
    return {name, number, label, Kind::enumeration, type};
}
FieldSpec dbl(std::string_view name, int number, Label label = O) {
    return {name, number, label, Kind::floating, {}};
}
FieldSpec num(std::string_view name, int number, Label label = O) {
    return {name, number, label, Kind::integer, {}};
}
FieldSpec boolean(std::string_view name, int number, Label label = O) {
    return {name, number, label, Kind::boolean, {}};
}

MessageSpec id_message() {
    return {{str("value", 1, R)}};
}

const Enums& enums();

// The subset of scheduler.proto and mesos.proto (v1) reachable from a Call
// that the master's parser would check for required fields and types.
Registry build_registry() {
    return {
        {"Call",
         {{msg("framework_id", 1, O, "FrameworkID"), enm("type", 2, O, "Call.Type"),
           msg("subscribe", 3, O, "Call.Subscribe"), msg("accept", 4, O, "Call.Accept"),
           msg("decline", 5, O, "Call.Decline"),
           msg("accept_inverse_offers", 13, O, "Call.AcceptInverseOffers"),
           msg("decline_inverse_offers", 14, O, "Call.DeclineInverseOffers"),
           msg("revive", 15, O, "Call.Revive"), msg("kill", 6, O, "Call.Kill"),
           msg("shutdown", 7, O, "Call.Shutdown"), msg("acknowledge", 8, O, "Call.Acknowledge"),
           msg("acknowledge_operation_status", 17, O, "Call.AcknowledgeOperationStatus"),
           msg("reconcile", 9, O, "Call.Reconcile"),
           msg("reconcile_operations", 18, O, "Call.ReconcileOperations"),
           msg("message", 10, O, "Call.Message"), msg("request", 11, O, "Call.Request"),
           msg("suppress", 16, O, "Call.Suppress"),
           msg("update_framework", 19, O, "Call.UpdateFramework")}}},
        {"Call.Subscribe",
         {{msg("framework_info", 1, R, "FrameworkInfo"), str("suppressed_roles", 2, N),
           opaque("offer_constraints", 3)}}},
        {"Call.Accept",
         {{msg("offer_ids", 1, N, "OfferID"), msg("operations", 2, N, "Offer.Operation"),
           msg("filters", 3, O, "Filters")}}},
        {"Call.Decline", {{msg("offer_ids", 1, N, "OfferID"), msg("filters", 2, O, "Filters")}}},
        {"Call.AcceptInverseOffers",
         {{msg("inverse_offer_ids", 1, N, "OfferID"), msg("filters", 2, O, "Filters")}}},
        {"Call.DeclineInverseOffers",
         {{msg("inverse_offer_ids", 1, N, "OfferID"), msg("filters", 2, O, "Filters")}}},
        {"Call.Revive", {{str("roles", 1, N)}}},
        {"Call.Kill",
         {{msg("task_id", 1, R, "TaskID"), msg("agent_id", 2, O, "AgentID"),
           msg("kill_policy", 3, O, "KillPolicy")}}},
        {"Call.Shutdown",
         {{msg("executor_id", 1, R, "ExecutorID"), msg("agent_id", 2, R, "AgentID")}}},
        {"Call.Acknowledge",
         {{msg("agent_id", 1, R, "AgentID"), msg("task_id", 2, R, "TaskID"), bytes("uuid", 3, R)}}},
        {"Call.AcknowledgeOperationStatus",
         {{msg("agent_id", 1, O, "AgentID"),
           msg("resource_provider_id", 2, O, "ResourceProviderID"), bytes("uuid", 3, R),
           msg("operation_id", 4, R, "OperationID")}}},
        {"Call.Reconcile", {{msg("tasks", 1, N, "Call.Reconcile.Task")}}},
        {"Call.Reconcile.Task",
         {{msg("task_id", 1, R, "TaskID"), msg("agent_id", 2, O, "AgentID")}}},
        {"Call.ReconcileOperations",
         {{msg("operations", 1, N, "Call.ReconcileOperations.Operation")}}},
        {"Call.ReconcileOperations.Operation",
         {{msg("operation_id", 1, R, "OperationID"), msg("agent_id", 2, O, "AgentID"),
           msg("resource_provider_id", 3, O, "ResourceProviderID")}}},
        {"Call.Message",
         {{msg("agent_id", 1, R, "AgentID"), msg("executor_id", 2, R, "ExecutorID"),
           bytes("data", 3, R)}}},
        {"Call.Request", {{msg("requests", 1, N, "Request")}}},
        {"Request", {{msg("agent_id", 1, O, "AgentID"), msg("resources", 2, N, "Resource")}}},
        {"Call.Suppress", {{str("roles", 1, N)}}},
        {"Call.UpdateFramework",
         {{msg("framework_info", 1, R, "FrameworkInfo"), str("suppressed_roles", 2, N),
           opaque("offer_constraints", 3)}}},
        {"FrameworkID", id_message()},
        {"OfferID", id_message()},
        {"AgentID", id_message()},
        {"TaskID", id_message()},
        {"ExecutorID", id_message()},
        {"ResourceProviderID", id_message()},
        {"OperationID", id_message()},
        {"FrameworkInfo",
         {{str("user", 1, R), str("name", 2, R), msg("id", 3, O, "FrameworkID"),
           dbl("failover_timeout", 4), boolean("checkpoint", 5), str("role", 6),
           str("roles", 12, N), str("hostname", 7), str("principal", 8), str("webui_url", 9),
           msg("capabilities", 10, N, "FrameworkInfo.Capability"), msg("labels", 11, O, "Labels"),
           opaque("offer_filters", 13, M)}}},
        {"FrameworkInfo.Capability", {{enm("type", 1, O, "FrameworkInfo.Capability.Type")}}},
        {"Filters", {{dbl("refuse_seconds", 1)}}},
        {"Labels", {{msg("labels", 1, N, "Label")}}},
        {"Label", {{str("key", 1, R), str("value", 2)}}},
        {"KillPolicy", {{msg("grace_period", 1, O, "DurationInfo")}}},
        {"DurationInfo", {{num("nanoseconds", 1, R)}}},
        {"Offer.Operation",
         {{enm("type", 1, O, "Offer.Operation.Type"), msg("id", 12, O, "OperationID"),
           msg("launch", 2, O, "Offer.Operation.Launch"), opaque("launch_group", 7),
           opaque("reserve", 3), opaque("unreserve", 4), opaque("create", 5), opaque("destroy", 6),
           opaque("grow_volume", 13), opaque("shrink_volume", 14), opaque("create_disk", 15),
           opaque("destroy_disk", 16)}}},
        {"Offer.Operation.Launch", {{msg("task_infos", 1, N, "TaskInfo")}}},
        {"TaskInfo",
         {{str("name", 1, R),
           msg("task_id", 2, R, "TaskID"),
           msg("agent_id", 3, R, "AgentID"),
           msg("resources", 4, N, "Resource"),
           msg("executor", 5, O, "ExecutorInfo"),
           msg("command", 7, O, "CommandInfo"),
           msg("container", 9, O, "ContainerInfo"),
           opaque("health_check", 8),
           opaque("check", 13),
           msg("kill_policy", 12, O, "KillPolicy"),
           bytes("data", 6),
           msg("labels", 10, O, "Labels"),
           opaque("discovery", 11),
           msg("max_completion_time", 14, O, "DurationInfo"),
           {"limits", 15, M, Kind::message, "Value.Scalar"}}}},
        {"Resource",
         {{msg("provider_id", 12, O, "ResourceProviderID"), str("name", 1, R),
           enm("type", 2, R, "Value.Type"), msg("scalar", 3, O, "Value.Scalar"),
           msg("ranges", 4, O, "Value.Ranges"), msg("set", 5, O, "Value.Set"), str("role", 6),
           msg("allocation_info", 11, O, "Resource.AllocationInfo"), opaque("reservation", 8),
           opaque("reservations", 13, N), opaque("disk", 7), opaque("revocable", 9),
           opaque("shared", 10)}}},
        {"Resource.AllocationInfo", {{str("role", 1)}}},
        {"Value.Scalar", {{dbl("value", 1, R)}}},
        {"Value.Ranges", {{msg("range", 1, N, "Value.Range")}}},
        {"Value.Range", {{num("begin", 1, R), num("end", 2, R)}}},
        {"Value.Set", {{str("item", 1, N)}}},
        {"CommandInfo",
         {{msg("uris", 1, N, "CommandInfo.URI"), msg("environment", 2, O, "Environment"),
           boolean("shell", 6), str("value", 3), str("arguments", 7, N), str("user", 5)}}},
        {"CommandInfo.URI",
         {{str("value", 1, R), boolean("executable", 2), boolean("extract", 3), boolean("cache", 4),
           str("output_file", 5)}}},
        {"Environment", {{msg("variables", 1, N, "Environment.Variable")}}},
        {"Environment.Variable",
         {{str("name", 1, R), enm("type", 3, O, "Environment.Variable.Type"), str("value", 2),
           opaque("secret", 4)}}},
        {"ExecutorInfo",
         {{enm("type", 15, O, "ExecutorInfo.Type"), msg("executor_id", 1, R, "ExecutorID"),
           msg("framework_id", 8, O, "FrameworkID"), msg("command", 7, O, "CommandInfo"),
           msg("container", 11, O, "ContainerInfo"), msg("resources", 5, N, "Resource"),
           str("name", 9), str("source", 10), bytes("data", 4), opaque("discovery", 12),
           msg("shutdown_grace_period", 13, O, "DurationInfo"), msg("labels", 14, O, "Labels")}}},
        {"ContainerInfo",
         {{enm("type", 1, R, "ContainerInfo.Type"), msg("volumes", 2, N, "Volume"),
           str("hostname", 4), msg("docker", 3, O, "ContainerInfo.DockerInfo"),
           msg("mesos", 5, O, "ContainerInfo.MesosInfo"), msg("network_infos", 7, N, "NetworkInfo"),
           opaque("linux_info", 8), opaque("rlimit_info", 9), opaque("tty_info", 10)}}},
        {"ContainerInfo.DockerInfo",
         {{str("image", 1, R), enm("network", 2, O, "ContainerInfo.DockerInfo.Network"),
           msg("port_mappings", 3, N, "ContainerInfo.DockerInfo.PortMapping"),
           boolean("privileged", 4), msg("parameters", 5, N, "Parameter"),
           boolean("force_pull_image", 6), str("volume_driver", 7)}}},
        {"ContainerInfo.DockerInfo.PortMapping",
         {{num("host_port", 1, R), num("container_port", 2, R), str("protocol", 3)}}},
        {"Parameter", {{str("key", 1, R), str("value", 2, R)}}},
        {"ContainerInfo.MesosInfo", {{msg("image", 1, O, "Image")}}},
        {"Volume",
         {{enm("mode", 3, R, "Volume.Mode"), str("container_path", 1, R), str("host_path", 2),
           msg("image", 4, O, "Image"), opaque("source", 5)}}},
        {"NetworkInfo",
         {{opaque("ip_addresses", 5, N), str("name", 6), str("groups", 3, N),
           msg("labels", 4, O, "Labels"), opaque("port_mappings", 7, N)}}},
        {"Image",
         {{enm("type", 1, R, "Image.Type"), opaque("appc", 2), msg("docker", 3, O, "Image.Docker"),
           boolean("cached", 4)}}},
        {"Image.Docker", {{str("name", 1, R), opaque("credential", 2), opaque("config", 3)}}},
    };
}

const Registry& registry() {
    static const Registry r = [] {
        Registry built = build_registry();
        for (auto& [name, spec] : built) {
            for (auto& f : spec.fields) {
                f.key = std::string(f.name);
                if (f.kind == Kind::message)
                    f.sub = &built.at(f.ref);
                if (f.kind == Kind::enumeration)
                    f.names = &enums().at(f.ref);
            }
            for (std::size_t i = 0; i < spec.fields.size(); ++i) {
                spec.by_number.push_back(&spec.fields[i]);
                if (spec.fields[i].label == Label::required)
                    spec.required_mask |= std::uint64_t{1} << i;
            }
            std::sort(spec.by_number.begin(), spec.by_number.end(),
                      [](const FieldSpec* a, const FieldSpec* b) { return a->number < b->number; });
        }
        return built;
    }();
    return r;
}

const Enums& enums() {
    static const Enums e = {
        {"Call.Type",
         {"UNKNOWN", "SUBSCRIBE", "TEARDOWN", "ACCEPT", "DECLINE", "ACCEPT_INVERSE_OFFERS",
          "DECLINE_INVERSE_OFFERS", "REVIVE", "KILL", "SHUTDOWN", "ACKNOWLEDGE",
          "ACKNOWLEDGE_OPERATION_STATUS", "RECONCILE", "RECONCILE_OPERATIONS", "MESSAGE", "REQUEST",
          "SUPPRESS", "UPDATE_FRAMEWORK"}},
        {"FrameworkInfo.Capability.Type",
         {"UNKNOWN", "REVOCABLE_RESOURCES", "TASK_KILLING_STATE", "GPU_RESOURCES",
          "SHARED_RESOURCES", "PARTITION_AWARE", "MULTI_ROLE", "RESERVATION_REFINEMENT",
          "REGION_AWARE"}},
        {"Offer.Operation.Type",
         {"UNKNOWN", "LAUNCH", "LAUNCH_GROUP", "RESERVE", "UNRESERVE", "CREATE", "DESTROY",
          "GROW_VOLUME", "SHRINK_VOLUME", "CREATE_DISK", "DESTROY_DISK"}},
        {"Value.Type", {"SCALAR", "RANGES", "SET", "TEXT"}},
        {"Environment.Variable.Type", {"UNKNOWN", "VALUE", "SECRET"}},
        {"ExecutorInfo.Type", {"UNKNOWN", "DEFAULT", "CUSTOM"}},
        {"ContainerInfo.Type", {"DOCKER", "MESOS"}},
        {"ContainerInfo.DockerInfo.Network", {"HOST", "BRIDGE", "NONE", "USER"}},
        {"Volume.Mode", {"RW", "RO"}},
        {"Image.Type", {"APPC", "DOCKER"}},
    };
    return e;
}

const MessageSpec& message_spec(std::string_view name) {
    return registry().at(name);
}

std::string json_kind(const json& v) {
    if (v.is_object())
        return "object";
    if (v.is_array())
        return "array";
    if (v.is_string())
        return "string";
    if (v.is_boolean())
        return "boolean";
    if (v.is_number())
        return "number";
    return "null";
}

std::string not_expecting(const json& v, const FieldSpec& f) {
    return "Not expecting a JSON " + json_kind(v) + " for field '" + std::string(f.name) + "'";
}

std::optional<double> parse_number(const std::string& text) {
    if (text.empty())
        return std::nullopt;
    try {
        const json parsed = json::parse(text);
        if (parsed.is_number())
            return parsed.get<double>();
    } catch (const json::exception&) {
    }
    return std::nullopt;
}

// stout's base64 decoding accepts a string when every character before the
// first '=' is in the alphabet or whitespace; returns the first other one.
std::optional<char> bad_base64_character(const std::string& text) {
    for (const char c : text) {
        if (c == '=')
            return std::nullopt;
        const auto u = static_cast<unsigned char>(c);
        if (std::isspace(u) == 0 && std::isalnum(u) == 0 && c != '+' && c != '/')
            return c;
    }
    return std::nullopt;
}

// Rewrites a JSON value in place into the normalised Call; on error sets
// `error` to stout's message.
class Normalizer {
  public:
    std::optional<std::string> error;
    // Set when some message lacks a required field; the slow walk that names
    // them runs only then.
    bool missing_required = false;

    enum class Outcome { keep, drop, fail };

    bool message(const MessageSpec& spec, json& object) {
        std::vector<std::string> remove;
        std::uint64_t present = 0;
        // stout walks the object's keys in sorted order, as nlohmann stores
        // them, and stops at the first error.
        for (auto it = object.begin(); it != object.end(); ++it) {
            const FieldSpec* f = spec.find(it.key());
            if (f == nullptr || it.value().is_null()) {
                remove.push_back(it.key());
                continue;
            }
            const Outcome outcome = field(*f, it.value());
            if (outcome == Outcome::fail)
                return false;
            if (outcome == Outcome::drop) {
                remove.push_back(it.key());
            } else {
                present |= std::uint64_t{1} << static_cast<std::size_t>(f - spec.fields.data());
            }
        }
        for (const auto& key : remove)
            object.erase(key);
        if ((present & spec.required_mask) != spec.required_mask)
            missing_required = true;
        return true;
    }

  private:
    Outcome fail(std::string message) {
        error = std::move(message);
        return Outcome::fail;
    }

    Outcome field(const FieldSpec& f, json& value) {
        if (f.label == Label::map) {
            if (!value.is_object())
                return fail(not_expecting(value, f));
            std::vector<std::string> remove;
            for (auto it = value.begin(); it != value.end(); ++it) {
                json& entry = it.value();
                if (entry.is_null()) {
                    remove.push_back(it.key());
                    continue;
                }
                if (!entry.is_object()) {
                    return fail("Not expecting a JSON " + json_kind(entry) + " for field 'value'");
                }
                if (f.kind == Kind::message && !message(*f.sub, entry))
                    return Outcome::fail;
            }
            for (const auto& key : remove)
                value.erase(key);
            return Outcome::keep;
        }
        if (f.label == Label::repeated) {
            if (!value.is_array()) {
                const Outcome one = scalar(f, value);
                if (one == Outcome::fail)
                    return one;
                value = one == Outcome::keep ? json::array({std::move(value)}) : json::array();
                return Outcome::keep;
            }
            const bool simple = std::none_of(value.begin(), value.end(), [](const json& e) {
                return e.is_array() || e.is_null();
            });
            if (simple) {
                bool dropped = false;
                for (auto& element : value) {
                    const Outcome one = scalar(f, element);
                    if (one == Outcome::fail)
                        return one;
                    if (one == Outcome::drop) {
                        element = nullptr;
                        dropped = true;
                    }
                }
                if (dropped) {
                    json kept = json::array();
                    for (auto& element : value) {
                        if (!element.is_null())
                            kept.push_back(std::move(element));
                    }
                    value = std::move(kept);
                }
                return Outcome::keep;
            }
            // Nested arrays flatten and nulls vanish, as in stout's parser.
            json flat = json::array();
            if (!flatten(f, value, flat))
                return Outcome::fail;
            value = std::move(flat);
            return Outcome::keep;
        }
        if (value.is_array())
            return fail(not_expecting(value, f));
        return scalar(f, value);
    }

    bool flatten(const FieldSpec& f, json& value, json& out) {
        for (auto& element : value) {
            if (element.is_null())
                continue;
            if (element.is_array()) {
                if (!flatten(f, element, out))
                    return false;
                continue;
            }
            const Outcome one = scalar(f, element);
            if (one == Outcome::fail)
                return false;
            if (one == Outcome::keep)
                out.push_back(std::move(element));
        }
        return true;
    }

    // Checks and converts one non-array value for field `f`.
    Outcome scalar(const FieldSpec& f, json& value) {
        switch (f.kind) {
            case Kind::message:
                if (!value.is_object())
                    return fail(not_expecting(value, f));
                return message(*f.sub, value) ? Outcome::keep : Outcome::fail;
            case Kind::opaque:
                return value.is_object() ? Outcome::keep : fail(not_expecting(value, f));
            case Kind::string:
                return value.is_string() ? Outcome::keep : fail(not_expecting(value, f));
            case Kind::bytes: {
                if (!value.is_string())
                    return fail(not_expecting(value, f));
                if (const auto bad = bad_base64_character(value.get_ref<const std::string&>())) {
                    return fail("Failed to base64 decode bytes field '" + f.key +
                                "': Invalid character '" + std::string(1, *bad) + "'");
                }
                return Outcome::keep;
            }
            case Kind::enumeration: {
                if (!value.is_string())
                    return fail(not_expecting(value, f));
                const auto& text = value.get_ref<const std::string&>();
                if (std::find(f.names->begin(), f.names->end(), text) != f.names->end()) {
                    return Outcome::keep;
                }
                if (f.label == Label::required)
                    return fail("Failed to find enum for '" + text + "'");
                return Outcome::drop;
            }
            case Kind::floating:
            case Kind::integer: {
                if (value.is_number())
                    return Outcome::keep;
                if (!value.is_string())
                    return fail(not_expecting(value, f));
                const std::string text = value.get<std::string>();
                if (f.kind == Kind::floating && text == "Infinity") {
                    value = std::numeric_limits<double>::infinity();
                    return Outcome::keep;
                }
                if (f.kind == Kind::floating && text == "-Infinity") {
                    value = -std::numeric_limits<double>::infinity();
                    return Outcome::keep;
                }
                const auto number = parse_number(text);
                if (!number) {
                    return fail("Failed to parse '" + text + "' as a JSON number for field '" +
                                f.key + "': not a number");
                }
                if (f.kind == Kind::integer) {
                    value = static_cast<std::int64_t>(*number);
                } else {
                    value = *number;
                }
                return Outcome::keep;
            }
            case Kind::boolean:
                if (value.is_boolean())
                    return Outcome::keep;
                if (value.is_string()) {
                    const std::string text = value.get<std::string>();
                    if (text == "true" || text == "false") {
                        value = text == "true";
                        return Outcome::keep;
                    }
                    return fail("Failed to parse '" + text + "' as a JSON boolean for field '" +
                                f.key + "': not a boolean");
                }
                return fail(not_expecting(value, f));
        }
        return Outcome::keep;
    }
};

// A field path such as accept.operations[0].launch, kept as pointers and
// indices: it becomes text only when a required field is missing.
struct PathStep {
    const std::string* key;
    long index;              // -1: a single message
    bool map_value = false;  // the value of map entry `index`
};

std::string path_text(const std::vector<PathStep>& path, const std::string& last) {
    std::string out;
    for (const auto& step : path) {
        out += *step.key;
        if (step.index >= 0)
            out += "[" + std::to_string(step.index) + "]";
        if (step.map_value)
            out += ".value";
        out += '.';
    }
    return out + last;
}

// Mirrors protobuf's FindInitializationErrors: this message's missing
// required fields in declaration order, then its set sub-messages in field
// number order.
void collect_missing(const MessageSpec& spec, const json& value, std::vector<PathStep>& path,
                     std::vector<std::string>& missing) {
    for (const auto& f : spec.fields) {
        if (f.label == Label::required && value.find(f.key) == value.end()) {
            missing.push_back(path_text(path, f.key));
        }
    }
    for (const FieldSpec* f : spec.by_number) {
        if (f->kind != Kind::message)
            continue;
        const auto it = value.find(f->key);
        if (it == value.end())
            continue;
        if (f->label == Label::repeated) {
            for (std::size_t i = 0; i < it->size(); ++i) {
                path.push_back({&f->key, static_cast<long>(i), false});
                collect_missing(*f->sub, (*it)[i], path, missing);
                path.pop_back();
            }
        } else if (f->label == Label::map) {
            long i = 0;
            for (const auto& entry : *it) {
                path.push_back({&f->key, i++, true});
                collect_missing(*f->sub, entry, path, missing);
                path.pop_back();
            }
        } else {
            path.push_back({&f->key, -1, false});
            collect_missing(*f->sub, *it, path, missing);
            path.pop_back();
        }
    }
}

}  // namespace

std::optional<std::string> normalize_call(nlohmann::json& body) {
    if (!body.is_object())
        return std::string("Expecting a JSON object");
    Normalizer normalizer;
    if (!normalizer.message(message_spec("Call"), body))
        return normalizer.error.value_or("invalid call");
    if (!normalizer.missing_required)
        return std::nullopt;
    std::vector<std::string> missing;
    std::vector<PathStep> path;
    collect_missing(message_spec("Call"), body, path, missing);
    if (!missing.empty()) {
        std::string text = "Missing required fields: ";
        for (std::size_t i = 0; i < missing.size(); ++i) {
            if (i > 0)
                text += ", ";
            text += missing[i];
        }
        return text;
    }
    return std::nullopt;
}

}  // namespace mesoflow::fake
