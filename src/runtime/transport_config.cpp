#include "mesoflow/runtime/transport_config.hpp"

#include <chrono>
#include <cstdint>
#include <utility>

namespace mesoflow::runtime {

transport::TransportConfig transport_config(const config::Config& config) {
    using std::chrono::milliseconds;
    transport::TransportConfig tc;
    for (const auto& m : config.masters) {
        transport::MasterEndpoint e;
        e.https = m.https;
        e.host = m.host;
        e.port = m.port;
        tc.masters.push_back(std::move(e));
    }
    if (config.authenticate && !config.secret.empty())
        tc.credentials = transport::BasicCredentials{config.principal, config.secret};
    tc.backoff_min = milliseconds(static_cast<std::int64_t>(config.backoff_min_s * 1000));
    tc.backoff_max = milliseconds(static_cast<std::int64_t>(config.backoff_max_s * 1000));
    tc.heartbeat_factor = config.heartbeat_watchdog_factor;
    tc.ca_file = config.tls_ca_file;
    tc.verify = config.tls_verify;
    return tc;
}

}  // namespace mesoflow::runtime
