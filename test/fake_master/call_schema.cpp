#include "call_schema.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "encoding.hpp"

namespace mesoflow::fake {

namespace {

using nlohmann::json;

enum class Label { optional, required, repeated, map };
enum class Kind { message, opaque, string, bytes, enumeration, floating, integer, boolean };

struct FieldSpec {
    std::string_view name;
    int number;
    Label label;
    Kind kind;
    std::string_view ref;  // message name (message, map value) or enum name
};

struct MessageSpec {
    std::vector<FieldSpec> fields;  // in declaration order
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

// The subset of scheduler.proto and mesos.proto (v1) reachable from a Call
// that the master's parser would check for required fields and types.
const Registry& registry() {
    static const Registry r = {
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
           msg("launch", 2, O, "Offer.Operation.Launch"),
           msg("launch_group", 7, O, "Offer.Operation.LaunchGroup"), opaque("reserve", 3),
           opaque("unreserve", 4), opaque("create", 5), opaque("destroy", 6),
           opaque("grow_volume", 13), opaque("shrink_volume", 14), opaque("create_disk", 15),
           opaque("destroy_disk", 16)}}},
        {"Offer.Operation.Launch", {{msg("task_infos", 1, N, "TaskInfo")}}},
        {"Offer.Operation.LaunchGroup",
         {{msg("executor", 1, R, "ExecutorInfo"), msg("task_group", 2, R, "TaskGroupInfo")}}},
        {"TaskGroupInfo", {{msg("tasks", 1, N, "TaskInfo")}}},
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
         {{enm("type", 1, R, "ContainerInfo.Type"), opaque("volumes", 2, N), str("hostname", 4),
           msg("docker", 3, O, "ContainerInfo.DockerInfo"),
           msg("mesos", 5, O, "ContainerInfo.MesosInfo"), opaque("network_infos", 7, N),
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
        {"Image",
         {{enm("type", 1, R, "Image.Type"), opaque("appc", 2), msg("docker", 3, O, "Image.Docker"),
           boolean("cached", 4)}}},
        {"Image.Docker", {{str("name", 1, R), opaque("credential", 2), opaque("config", 3)}}},
    };
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

class Normalizer {
  public:
    std::optional<std::string> error;

    // Returns the normalised message, or an empty optional on error.
    std::optional<json> message(const MessageSpec& spec, const json& in) {
        json out = json::object();
        // stout walks the object's keys in sorted order, as nlohmann stores them.
        for (const auto& [key, value] : in.items()) {
            const auto it =
                std::find_if(spec.fields.begin(), spec.fields.end(),
                             [&key = key](const FieldSpec& f) { return f.name == key; });
            if (it == spec.fields.end())
                continue;
            if (!field(*it, value, out))
                return std::nullopt;
        }
        return out;
    }

  private:
    bool fail(std::string message) {
        error = std::move(message);
        return false;
    }

    bool field(const FieldSpec& f, const json& value, json& out) {
        const std::string name(f.name);
        if (value.is_null())
            return true;
        if (f.label == Label::map) {
            if (!value.is_object())
                return fail(not_expecting(value, f));
            json entries = json::object();
            for (const auto& [key, entry] : value.items()) {
                if (entry.is_null())
                    continue;
                if (!entry.is_object()) {
                    return fail("Not expecting a JSON " + json_kind(entry) + " for field 'value'");
                }
                if (f.kind == Kind::message) {
                    auto parsed = message(message_spec(f.ref), entry);
                    if (!parsed)
                        return false;
                    entries[key] = std::move(*parsed);
                } else {
                    entries[key] = entry;
                }
            }
            out[name] = std::move(entries);
            return true;
        }
        if (f.label == Label::repeated) {
            json& list = out[name];
            if (!list.is_array())
                list = json::array();
            return repeated_value(f, value, list);
        }
        if (value.is_array())
            return fail(not_expecting(value, f));
        std::optional<json> single;
        if (!scalar(f, value, single))
            return false;
        if (single)
            out[name] = std::move(*single);
        return true;
    }

    bool repeated_value(const FieldSpec& f, const json& value, json& list) {
        if (value.is_array()) {
            for (const auto& element : value) {
                if (element.is_null())
                    continue;
                if (!repeated_value(f, element, list))
                    return false;
            }
            return true;
        }
        std::optional<json> single;
        if (!scalar(f, value, single))
            return false;
        if (single)
            list.push_back(std::move(*single));
        return true;
    }

    // Converts one non-array value for field `f`; leaves `out` empty when the
    // master would leave the field unset (an unknown optional enum name).
    bool scalar(const FieldSpec& f, const json& value, std::optional<json>& out) {
        switch (f.kind) {
            case Kind::message:
            case Kind::opaque: {
                if (!value.is_object())
                    return fail(not_expecting(value, f));
                if (f.kind == Kind::opaque) {
                    out = value;
                    return true;
                }
                auto parsed = message(message_spec(f.ref), value);
                if (!parsed)
                    return false;
                out = std::move(*parsed);
                return true;
            }
            case Kind::string:
                if (!value.is_string())
                    return fail(not_expecting(value, f));
                out = value;
                return true;
            case Kind::bytes: {
                if (!value.is_string())
                    return fail(not_expecting(value, f));
                const auto& text = value.get_ref<const std::string&>();
                if (!base64_decode(text)) {
                    const auto bad = std::find_if(text.begin(), text.end(), [](char c) {
                        return c != '=' && std::isspace(static_cast<unsigned char>(c)) == 0 &&
                               std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '+' &&
                               c != '/';
                    });
                    return fail("Failed to base64 decode bytes field '" + std::string(f.name) +
                                "': Invalid character '" +
                                std::string(1, bad == text.end() ? '?' : *bad) + "'");
                }
                out = value;
                return true;
            }
            case Kind::enumeration: {
                if (!value.is_string())
                    return fail(not_expecting(value, f));
                const auto& text = value.get_ref<const std::string&>();
                const auto& names = enums().at(f.ref);
                if (std::find(names.begin(), names.end(), text) == names.end()) {
                    if (f.label == Label::required) {
                        return fail("Failed to find enum for '" + text + "'");
                    }
                    return true;
                }
                out = value;
                return true;
            }
            case Kind::floating:
            case Kind::integer: {
                if (value.is_number()) {
                    out = value;
                    return true;
                }
                if (!value.is_string())
                    return fail(not_expecting(value, f));
                const auto& text = value.get_ref<const std::string&>();
                if (f.kind == Kind::floating && text == "Infinity") {
                    out = std::numeric_limits<double>::infinity();
                    return true;
                }
                if (f.kind == Kind::floating && text == "-Infinity") {
                    out = -std::numeric_limits<double>::infinity();
                    return true;
                }
                const auto number = parse_number(text);
                if (!number) {
                    return fail("Failed to parse '" + text + "' as a JSON number for field '" +
                                std::string(f.name) + "': not a number");
                }
                if (f.kind == Kind::integer) {
                    out = static_cast<std::int64_t>(*number);
                } else {
                    out = *number;
                }
                return true;
            }
            case Kind::boolean:
                if (value.is_boolean()) {
                    out = value;
                    return true;
                }
                if (value.is_string()) {
                    const auto& text = value.get_ref<const std::string&>();
                    if (text == "true" || text == "false") {
                        out = text == "true";
                        return true;
                    }
                    return fail("Failed to parse '" + text + "' as a JSON boolean for field '" +
                                std::string(f.name) + "': not a boolean");
                }
                return fail(not_expecting(value, f));
        }
        return true;
    }
};

// Mirrors protobuf's FindInitializationErrors: this message's missing
// required fields in declaration order, then its set sub-messages in field
// number order.
void collect_missing(const MessageSpec& spec, const json& value, const std::string& prefix,
                     std::vector<std::string>& missing) {
    for (const auto& f : spec.fields) {
        if (f.label == Label::required && !value.contains(std::string(f.name))) {
            missing.push_back(prefix + std::string(f.name));
        }
    }
    std::vector<const FieldSpec*> by_number;
    for (const auto& f : spec.fields)
        by_number.push_back(&f);
    std::sort(by_number.begin(), by_number.end(),
              [](const FieldSpec* a, const FieldSpec* b) { return a->number < b->number; });
    for (const FieldSpec* f : by_number) {
        if (f->kind != Kind::message)
            continue;
        const auto it = value.find(std::string(f->name));
        if (it == value.end())
            continue;
        const MessageSpec& sub = message_spec(f->ref);
        if (f->label == Label::repeated) {
            for (std::size_t i = 0; i < it->size(); ++i) {
                collect_missing(sub, (*it)[i],
                                prefix + std::string(f->name) + "[" + std::to_string(i) + "].",
                                missing);
            }
        } else if (f->label == Label::map) {
            std::size_t i = 0;
            for (const auto& [key, entry] : it->items()) {
                collect_missing(
                    sub, entry,
                    prefix + std::string(f->name) + "[" + std::to_string(i) + "].value.", missing);
                ++i;
            }
        } else {
            collect_missing(sub, *it, prefix + std::string(f->name) + ".", missing);
        }
    }
}

}  // namespace

std::optional<std::string> normalize_call(nlohmann::json& body) {
    if (!body.is_object())
        return std::string("Expecting a JSON object");
    Normalizer normalizer;
    auto parsed = normalizer.message(message_spec("Call"), body);
    if (!parsed)
        return normalizer.error.value_or("invalid call");
    std::vector<std::string> missing;
    collect_missing(message_spec("Call"), *parsed, "", missing);
    if (!missing.empty()) {
        std::string text = "Missing required fields: ";
        for (std::size_t i = 0; i < missing.size(); ++i) {
            if (i > 0)
                text += ", ";
            text += missing[i];
        }
        return text;
    }
    body = std::move(*parsed);
    return std::nullopt;
}

}  // namespace mesoflow::fake
