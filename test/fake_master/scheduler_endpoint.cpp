// The scheduler endpoint: every check of src/master/http.cpp
// `Master::Http::scheduler` (in the Mesos sources), in its order, then dispatch.
#include <fmt/core.h>

#include <algorithm>
#include <cctype>

#include "call_schema.hpp"
#include "encoding.hpp"
#include "master.hpp"
#include "mesoflow/common/log.hpp"

namespace mesoflow::fake {

namespace {

constexpr const char* kApplicationJson = "application/json";
constexpr const char* kApplicationProtobuf = "application/x-protobuf";
constexpr const char* kRealm = "mesos-master-scheduler";

HttpReply text_reply(int status, std::string body) {
    HttpReply reply;
    reply.response.status = status;
    if (!body.empty()) {
        reply.response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    }
    reply.response.body = std::move(body);
    return reply;
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::string current;
    for (char c : text) {
        if (c == sep) {
            out.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    out.push_back(current);
    return out;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos)
        return "";
    const auto e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// libprocess Request::acceptsMediaType: the most specific media range that
// matches decides, and q=0 refuses. No Accept header accepts everything.
bool accepts(const HttpRequest& request, const std::string& media_type) {
    const std::string* accept = request.header("Accept");
    if (accept == nullptr)
        return true;
    const auto slash = media_type.find('/');
    const std::string type = media_type.substr(0, slash);
    int best_specificity = -1;
    double best_q = 0;
    for (const auto& range : split(*accept, ',')) {
        auto params = split(range, ';');
        const std::string name = lower(trim(params[0]));
        double q = 1.0;
        for (std::size_t i = 1; i < params.size(); ++i) {
            const std::string p = trim(params[i]);
            if (p.rfind("q=", 0) == 0) {
                try {
                    q = std::stod(p.substr(2));
                } catch (const std::exception&) {
                    q = 0;
                }
            }
        }
        int specificity = -1;
        if (name == media_type) {
            specificity = 2;
        } else if (name == type + "/*") {
            specificity = 1;
        } else if (name == "*/*") {
            specificity = 0;
        }
        if (specificity > best_specificity) {
            best_specificity = specificity;
            best_q = q;
        }
    }
    return best_specificity >= 0 && best_q > 0;
}

// The authenticated principal, or nullopt when the credentials are missing or
// wrong (libprocess BasicAuthenticatorProcess::authenticate).
std::optional<std::string> authenticate(const HttpRequest& request,
                                        const std::vector<Credential>& credentials) {
    const std::string* header = request.header("Authorization");
    if (header == nullptr)
        return std::nullopt;
    const auto parts = split(*header, ' ');
    if (parts.size() != 2 || parts[0] != "Basic")
        return std::nullopt;
    const auto decoded = base64_decode(parts[1]);
    if (!decoded)
        return std::nullopt;
    const auto pair = split(*decoded, ':');
    if (pair.size() != 2)
        return std::nullopt;
    for (const auto& c : credentials) {
        if (c.principal == pair[0] && c.secret == pair[1])
            return c.principal;
    }
    return std::nullopt;
}

// scheduler::call::validate (src/master/validation.cpp); nullopt when valid.
std::optional<std::string> validate_call(const json& call,
                                         const std::optional<std::string>& principal) {
    if (!call.contains("type"))
        return "Expecting 'type' to be present";
    const std::string type = call["type"];
    if (type == "SUBSCRIBE") {
        if (!call.contains("subscribe"))
            return "Expecting 'subscribe' to be present";
        const json& info = call["subscribe"]["framework_info"];
        if (id_value(info, "id") != id_value(call, "framework_id")) {
            return "'framework_id' differs from 'subscribe.framework_info.id'";
        }
        if (principal && info.contains("principal") && info["principal"] != *principal) {
            return "Authenticated principal '" + *principal + "' does not match principal '" +
                   info["principal"].get<std::string>() + "' set in `FrameworkInfo`";
        }
        return std::nullopt;
    }
    if (!call.contains("framework_id"))
        return "Expecting 'framework_id' to be present";
    static const std::map<std::string, std::string> kRequiredSubMessage = {
        {"ACCEPT", "accept"},
        {"DECLINE", "decline"},
        {"ACCEPT_INVERSE_OFFERS", "accept_inverse_offers"},
        {"DECLINE_INVERSE_OFFERS", "decline_inverse_offers"},
        {"KILL", "kill"},
        {"SHUTDOWN", "shutdown"},
        {"ACKNOWLEDGE", "acknowledge"},
        {"ACKNOWLEDGE_OPERATION_STATUS", "acknowledge_operation_status"},
        {"RECONCILE", "reconcile"},
        {"RECONCILE_OPERATIONS", "reconcile_operations"},
        {"MESSAGE", "message"},
        {"REQUEST", "request"},
        {"UPDATE_FRAMEWORK", "update_framework"},
    };
    if (const auto it = kRequiredSubMessage.find(type); it != kRequiredSubMessage.end()) {
        if (!call.contains(it->second))
            return "Expecting '" + it->second + "' to be present";
    }
    if (type == "ACKNOWLEDGE" || type == "ACKNOWLEDGE_OPERATION_STATUS") {
        const json& ack =
            type == "ACKNOWLEDGE" ? call["acknowledge"] : call["acknowledge_operation_status"];
        const auto uuid = base64_decode(ack["uuid"].get<std::string>());
        if (!uuid || !is_valid_uuid_bytes(*uuid))
            return "Not a valid UUID";
        if (type == "ACKNOWLEDGE_OPERATION_STATUS" && !ack.contains("agent_id")) {
            return "Expecting 'agent_id' to be present";
        }
    }
    if (type == "UPDATE_FRAMEWORK" &&
        id_value(call, "framework_id") !=
            id_value(call["update_framework"]["framework_info"], "id")) {
        return "'framework_id' differs from 'update_framework.framework_info.id'";
    }
    return std::nullopt;
}

}  // namespace

std::string id_value(const json& message, const char* field) {
    const auto it = message.find(field);
    if (it == message.end() || !it->is_object())
        return "";
    return it->value("value", "");
}

HttpReply Master::handle(HttpRequest& request) {
    HttpReply reply;
    if (config_.control_endpoint && request.path.rfind("/fake/", 0) == 0) {
        reply = handle_control(request);
    } else if (request.path == "/redirect" || request.path == "/master/redirect") {
        reply = handle_redirect_endpoint(request);
    } else if (request.path == "/api/v1/scheduler" || request.path == "/master/api/v1/scheduler") {
        reply = handle_scheduler(request);
    } else if (request.path == "/version") {
        reply = handle_version_endpoint();
    } else {
        reply = text_reply(404, "");
    }
    changed();
    return reply;
}

HttpReply Master::handle_redirect_endpoint(const HttpRequest& request) {
    // GET /redirect on any master points at the leader (`//host:port`, no path).
    (void)request;
    HttpReply reply;
    reply.response.status = 307;
    const std::string leader = faults_.redirect_to.empty()
                                   ? fmt::format("{}:{}", advertised_host_, port_)
                                   : faults_.redirect_to;
    reply.response.headers.emplace_back("Location", "//" + leader);
    return reply;
}

HttpReply Master::handle_version_endpoint() const {
    // /version, whatever the method: the build information of a Mesos
    // release build. Mesos adds git_sha, git_branch and git_tag when it was
    // built from git; of these only git_tag is given.
    const json body = {{"version", config_.version},
                       {"build_date", "2020-11-24 00:00:00"},
                       {"build_time", 1606176000},
                       {"build_user", "mesoflow-fake-master"},
                       {"git_tag", config_.version}};
    HttpReply reply;
    reply.response.status = 200;
    reply.response.headers.emplace_back("Content-Type", kApplicationJson);
    reply.response.body = body.dump();
    return reply;
}

HttpReply Master::handle_scheduler(HttpRequest& request) {
    RecordedCall rec;
    rec.seq = next_call_seq_++;
    rec.time = Clock::now();
    rec.method = request.method;
    rec.path = request.path;
    if (const auto* h = request.header("Mesos-Stream-Id"))
        rec.stream_id = *h;
    if (const auto* h = request.header("Content-Type"))
        rec.content_type = *h;
    if (const auto* h = request.header("Accept"))
        rec.accept = *h;
    rec.has_authorization = request.header("Authorization") != nullptr;
    if (config_.record_bodies)
        rec.body = request.body;

    HttpReply reply = scheduler_call(request, rec);

    rec.status = reply.response.status;
    rec.response_body = reply.response.body;
    ++counters_.calls;
    if (rec.status >= 300)
        ++counters_.calls_rejected;
    if (!rec.type.empty())
        ++counters_.calls_by_type[rec.type];
    if (rec.status >= 300) {
        log::debug("fake_master_call_rejected", "type={} status={} body={}",
                   rec.type.empty() ? "-" : rec.type, rec.status, log::quote(rec.response_body));
    }
    record(std::move(rec));
    return reply;
}

void Master::record(RecordedCall rec) {
    calls_.push_back(std::move(rec));
    if (config_.max_recorded_calls > 0 && calls_.size() > config_.max_recorded_calls) {
        calls_.pop_front();
    }
}

HttpReply Master::scheduler_call(HttpRequest& request, RecordedCall& rec) {
    // 1. Authentication happens in libprocess, before the handler.
    std::optional<std::string> principal;
    if (!config_.credentials.empty()) {
        principal = authenticate(request, config_.credentials);
        if (!principal) {
            HttpReply reply = text_reply(401, "401 Unauthorized.");
            reply.response.headers.emplace_back("WWW-Authenticate",
                                                fmt::format("Basic realm=\"{}\"", kRealm));
            return reply;
        }
    }
    // 3. Not the leader: redirect to the leader, or 503 when none is known.
    if (!faults_.redirect_to.empty()) {
        HttpReply reply = text_reply(307, "");
        const bool absolute = faults_.redirect_to.find("://") != std::string::npos;
        std::string location =
            (absolute ? "" : "//") + faults_.redirect_to + "/master/api/v1/scheduler";
        if (!request.query.empty())
            location += "?" + request.query;
        reply.response.headers.emplace_back("Location", location);
        return reply;
    }
    // 4. Recovering (or not elected): 503 for a while.
    const bool unavailable_by_time =
        faults_.unavailable_until && Clock::now() < *faults_.unavailable_until;
    if (unavailable_by_time || faults_.unavailable_requests > 0) {
        if (!unavailable_by_time)
            --faults_.unavailable_requests;
        return text_reply(503, faults_.unavailable_body);
    }
    // 5. Method.
    if (request.method != "POST") {
        HttpReply reply = text_reply(405,
                                     "405 Method Not Allowed. Expecting one of { 'POST' }, "
                                     "but received '" +
                                         request.method + "'.");
        reply.response.headers.emplace_back("Allow", "POST");
        return reply;
    }
    // 6-7. Content-Type and body.
    const std::string* content_type = request.header("Content-Type");
    if (content_type == nullptr)
        return text_reply(400, "Expecting 'Content-Type' to be present");
    json call;
    if (*content_type == kApplicationProtobuf) {
        // The fake master has no protobuf codec; mesoflow speaks JSON only.
        return text_reply(400, "Failed to parse body into Call protobuf");
    }
    if (*content_type != kApplicationJson) {
        return text_reply(415, std::string("Expecting 'Content-Type' of ") + kApplicationJson +
                                   " or " + kApplicationProtobuf);
    }
    try {
        call = json::parse(request.body);
    } catch (const json::parse_error& e) {
        return text_reply(400, std::string("Failed to parse body into JSON: ") + e.what());
    }
    if (auto error = normalize_call(call)) {
        return text_reply(400, "Failed to convert JSON into Call protobuf: " + *error);
    }
    rec.type = call.value("type", "");
    rec.framework_id = id_value(call, "framework_id");
    // 8. Call validation.
    if (auto error = validate_call(call, principal)) {
        return text_reply(400, "Failed to validate scheduler::Call: " + *error);
    }
    const std::string type = call["type"];
    // 9. Response media type, for the calls that have a response body.
    if (type == "SUBSCRIBE" || type == "RECONCILE_OPERATIONS") {
        if (!accepts(request, kApplicationJson) && !accepts(request, kApplicationProtobuf)) {
            return text_reply(406, std::string("Expecting 'Accept' to allow '") +
                                       kApplicationProtobuf + "' or '" + kApplicationJson + "'");
        }
    }
    if (type == "SUBSCRIBE") {
        // 10. A SUBSCRIBE must not carry a stream id.
        if (request.header("Mesos-Stream-Id") != nullptr) {
            return text_reply(400,
                              "Subscribe calls should not include the 'Mesos-Stream-Id' header");
        }
        if (!accepts(request, kApplicationJson)) {
            // Only protobuf is acceptable: the real master would stream
            // protobuf, which this fake cannot write.
            return text_reply(406, "The fake master streams application/json only");
        }
        return subscribe(call, principal);
    }
    // 12-16. The framework and its connection.
    Framework* framework = find_framework(id_value(call, "framework_id"));
    if (framework == nullptr)
        return text_reply(400, "Framework cannot be found");
    if (principal && framework->principal != principal) {
        return text_reply(400, "Authenticated principal '" + *principal +
                                   "' does not match principal '" +
                                   framework->principal.value_or("") + "' set in `FrameworkInfo`");
    }
    if (!framework->connected())
        return text_reply(403, "Framework is not subscribed");
    const std::string* stream_id = request.header("Mesos-Stream-Id");
    if (stream_id == nullptr) {
        return text_reply(400,
                          "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    }
    if (*stream_id != framework->stream_id) {
        return text_reply(400, "The stream ID '" + *stream_id +
                                   "' included in this request didn't match the stream ID "
                                   "currently associated with framework ID " +
                                   framework->id);
    }
    if (auto it = faults_.calls.find(type); it != faults_.calls.end() && it->second.count > 0) {
        // A fault for calls of this type (fail_calls).
        const CallFault fault = it->second.fault;
        --it->second.count;
        switch (fault.kind) {
            case CallFaultKind::status:
                return text_reply(fault.status, fault.body);
            case CallFaultKind::drop_before: {
                HttpReply reply;
                reply.response.status = 0;  // recorded as unanswered
                reply.drop_connection = true;
                return reply;
            }
            case CallFaultKind::drop_after: {
                json copy = call;
                dispatch(*framework, copy, type);
                HttpReply reply;
                reply.response.status = 0;  // recorded as unanswered
                reply.drop_connection = true;
                return reply;
            }
            case CallFaultKind::repeat: {
                json copy = call;
                dispatch(*framework, copy, type);
                break;
            }
            case CallFaultKind::rescind_first: {
                const json body =
                    call.value(type == "ACCEPT" ? "accept" : "decline", json::object());
                for (const auto& id : body.value("offer_ids", json::array()))
                    remove_offer(id.value("value", ""), true);
                break;
            }
            case CallFaultKind::hold:
                log::info("fake_master_call_held", "type={} framework={} held={}", type,
                          framework->id, held_calls_.size() + 1);
                held_calls_.push_back({framework->id, type, std::move(call)});
                return text_reply(202, "");
        }
    }
    return dispatch(*framework, call, type);
}

HttpReply Master::dispatch(Framework& framework, json& call, const std::string& type) {
    if (type == "TEARDOWN") {
        log::info("fake_master_teardown", "framework={}", framework.id);
        remove_framework(framework);
    } else if (type == "ACCEPT") {
        accept(framework, call["accept"]);
    } else if (type == "DECLINE") {
        decline(framework, call["decline"]);
    } else if (type == "REVIVE") {
        revive(framework, call.value("revive", json::object()));
    } else if (type == "SUPPRESS") {
        suppress(framework, call.value("suppress", json::object()));
    } else if (type == "KILL") {
        kill(framework, call["kill"]);
    } else if (type == "SHUTDOWN") {
        shutdown_executor(framework, call["shutdown"]);
    } else if (type == "ACKNOWLEDGE") {
        acknowledge(framework, call["acknowledge"], next_call_seq_ - 1);
    } else if (type == "RECONCILE") {
        reconcile(framework, call["reconcile"]);
    } else if (type == "RECONCILE_OPERATIONS") {
        reconcile_operations(framework, call["reconcile_operations"]);
    } else if (type == "UPDATE_FRAMEWORK") {
        return update_framework(framework, call["update_framework"]);
    } else if (type == "UNKNOWN") {
        return text_reply(501, "501 Not Implemented.");
    }
    // MESSAGE (no executor listens), REQUEST (ignored by the allocator),
    // the inverse-offer calls (no maintenance) and operation acks (no
    // operations) are accepted and change nothing, as on a quiet cluster.
    return text_reply(202, "");
}

}  // namespace mesoflow::fake
