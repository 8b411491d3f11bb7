#include "cli/master_teardown.hpp"

#include <fmt/core.h>

#include <cctype>
#include <chrono>

#include "mesoflow/discovery/zookeeper_detector.hpp"
#include "mesoflow/runtime/transport_config.hpp"
#include "mesoflow/transport/master_client.hpp"

namespace mesoflow::cli {
namespace {

constexpr std::chrono::seconds kConnectTimeout{5};
// The master answers once the framework is removed; agents are told later.
constexpr std::chrono::seconds kReplyTimeout{30};
constexpr std::string_view kTeardownPath = "/master/teardown";
constexpr std::size_t kMaxBodyShown = 300;

std::string form_encoded(std::string_view value) {
    std::string out;
    for (unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

std::string shown_body(const std::string& body) {
    std::string out = body.substr(0, kMaxBodyShown);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
        out.pop_back();
    return out.empty() ? "(empty body)" : '"' + out + '"';
}

// OpenSSL names a certificate for another host "hostname mismatch" (or "IP
// address mismatch"); said plainly for whoever runs the command.
std::string plain_reason(std::string error) {
    for (std::string_view mismatch : {"hostname mismatch", "IP address mismatch"}) {
        const std::string said = fmt::format("certificate rejected: {}", mismatch);
        if (const auto at = error.find(said); at != std::string::npos) {
            error.replace(
                at, said.size(),
                fmt::format("certificate rejected: it is not for this host name ({})", mismatch));
        }
    }
    return error;
}

// "status body", or why no answer came.
std::string described(const transport::PostAnswer& a) {
    return a.error.empty() ? fmt::format("{} {}", a.status, shown_body(a.body))
                           : plain_reason(a.error);
}

// Teardown is an operator's call: credentials go wherever a secret is set,
// whether the framework authenticates or not.
transport::TransportConfig teardown_transport(const config::Config& config) {
    auto tc = runtime::transport_config(config);
    for (auto& e : tc.masters)
        e.path = std::string(kTeardownPath);
    tc.credentials.reset();
    if (!config.principal.empty() && !config.secret.empty())
        tc.credentials = transport::BasicCredentials{config.principal, config.secret};
    tc.connect_timeout = kConnectTimeout;
    tc.call_timeout = kReplyTimeout;
    return tc;
}

}  // namespace

TeardownOutcome teardown_framework(const config::Config& config, const std::string& framework_id) {
    TeardownOutcome outcome;
    auto tc = teardown_transport(config);
    if (config.master_zookeeper) {
        auto leader = discovery::find_leader(*config.master_zookeeper, kConnectTimeout);
        if (!leader) {
            outcome.detail = leader.error().message;
            return outcome;
        }
        leader->path = std::string(kTeardownPath);
        tc.masters = {*leader};
    }
    if (tc.masters.empty()) {
        outcome.detail = "no master configured";
        return outcome;
    }
    const auto round = transport::post_once(tc, "application/x-www-form-urlencoded",
                                            "frameworkId=" + form_encoded(framework_id));
    if (!round) {
        outcome.detail = round.error().message;
        return outcome;
    }
    std::string errors;
    for (const auto& failure : round->failures) {
        errors +=
            fmt::format("{}{}: {}", errors.empty() ? "" : "; ", failure.master, described(failure));
        outcome.master = failure.master;
    }
    if (const auto& answer = round->answer) {
        outcome.master = answer->master;
        outcome.detail = described(*answer);
        switch (answer->status) {
            case 200:
                outcome.kind = TeardownOutcome::Kind::torn_down;
                return outcome;
            case 400:
                outcome.kind = TeardownOutcome::Kind::refused;
                return outcome;
            case 401:
            case 403:
                outcome.kind = TeardownOutcome::Kind::unauthorized;
                return outcome;
            default:
                errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", answer->master,
                                      outcome.detail);
        }
    }
    outcome.kind = TeardownOutcome::Kind::failed;
    outcome.detail = errors;
    return outcome;
}

}  // namespace mesoflow::cli
