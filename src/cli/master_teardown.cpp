#include "cli/master_teardown.hpp"

#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fmt/core.h>

#include <cctype>
#include <chrono>
#include <optional>

namespace mesoflow::cli {
namespace {

constexpr std::chrono::seconds kConnectTimeout{5};
// The master answers once the framework is removed; agents are told later.
constexpr std::chrono::seconds kReplyTimeout{30};
constexpr std::string_view kTeardownPath = "/master/teardown";
constexpr std::size_t kMaxBodyShown = 300;
// As for `mesoflow run`'s connection to the masters (src/transport).
constexpr int kMinTlsVersion = TLS1_2_VERSION;

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

struct Target {
    std::string base;  // "http://host:port"
    std::string path;
};

// A 307 Location: "//host:port/path" (what Mesos sends) or "scheme://host:port/path".
std::optional<Target> redirect_target(const Target& from, const std::string& location) {
    std::string scheme = from.base.substr(0, from.base.find(':'));
    std::string rest = location;
    if (const auto colon = rest.find("://"); colon != std::string::npos) {
        scheme = rest.substr(0, colon);
        rest = rest.substr(colon + 1);
    }
    if (!rest.starts_with("//") || rest.size() == 2)
        return std::nullopt;
    rest = rest.substr(2);
    const auto slash = rest.find('/');
    Target out;
    out.base = scheme + "://" + rest.substr(0, slash);
    out.path = slash == std::string::npos ? std::string(kTeardownPath) : rest.substr(slash);
    return out;
}

// httplib names the failure; for a refused certificate OpenSSL says why.
std::string connection_error(const httplib::Client& client, httplib::Error error) {
    std::string text = httplib::to_string(error);
    if (error == httplib::Error::SSLServerVerification) {
        const long verify = client.get_openssl_verify_result();
        text +=
            verify != X509_V_OK
                ? fmt::format(" (certificate rejected: {})", X509_verify_cert_error_string(verify))
                : std::string(" (certificate rejected: it is not for this host name)");
    }
    return text;
}

std::string shown_body(const std::string& body) {
    std::string out = body.substr(0, kMaxBodyShown);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
        out.pop_back();
    return out.empty() ? "(empty body)" : '"' + out + '"';
}

}  // namespace

TeardownOutcome teardown_framework(const config::Config& config, const std::string& framework_id) {
    const std::string body = "frameworkId=" + form_encoded(framework_id);
    TeardownOutcome outcome;
    std::string errors;
    for (const auto& master : config.masters) {
        Target target{master.url(), std::string(kTeardownPath)};
        for (int hop = 0; hop <= kMaxTeardownRedirects; ++hop) {
            httplib::Client client(target.base);
            client.set_connection_timeout(kConnectTimeout);
            client.set_read_timeout(kReplyTimeout);
            client.set_write_timeout(kConnectTimeout);
            if (!config.principal.empty() && !config.secret.empty())
                client.set_basic_auth(config.principal, config.secret);
            client.enable_server_certificate_verification(config.tls_verify);
            if (!config.tls_ca_file.empty())
                client.set_ca_cert_path(config.tls_ca_file);
            if (SSL_CTX* tls = client.ssl_context(); tls != nullptr)
                SSL_CTX_set_min_proto_version(tls, kMinTlsVersion);

            outcome.master = target.base + target.path;
            auto res = client.Post(target.path, body, "application/x-www-form-urlencoded");
            if (!res) {
                errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", outcome.master,
                                      connection_error(client, res.error()));
                break;
            }
            outcome.detail = fmt::format("{} {}", res->status, shown_body(res->body));
            if (res->status == 307) {
                if (hop == kMaxTeardownRedirects) {
                    errors +=
                        fmt::format("{}{}: more than {} redirects", errors.empty() ? "" : "; ",
                                    outcome.master, kMaxTeardownRedirects);
                    break;
                }
                auto next = redirect_target(target, res->get_header_value("Location"));
                if (!next) {
                    errors += fmt::format("{}{}: 307 without a usable Location",
                                          errors.empty() ? "" : "; ", outcome.master);
                    break;
                }
                target = *next;
                continue;
            }
            if (res->status == 200) {
                outcome.kind = TeardownOutcome::Kind::torn_down;
                return outcome;
            }
            if (res->status == 400) {
                outcome.kind = TeardownOutcome::Kind::refused;
                return outcome;
            }
            if (res->status == 401 || res->status == 403) {
                outcome.kind = TeardownOutcome::Kind::unauthorized;
                return outcome;
            }
            errors +=
                fmt::format("{}{}: {}", errors.empty() ? "" : "; ", outcome.master, outcome.detail);
            break;
        }
    }
    outcome.kind = TeardownOutcome::Kind::failed;
    outcome.detail = errors.empty() ? "no master configured" : errors;
    return outcome;
}

}  // namespace mesoflow::cli
