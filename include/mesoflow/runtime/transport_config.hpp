// The transport's settings as mesoflow's configuration gives them: the
// masters in their order, TLS (ca_file, verify), the subscription's back-off
// and heartbeat watchdog, and Basic credentials when `authenticate` is on and
// a secret is set. `mesoflow run` and `mesoflow teardown` both start here.
#pragma once

#include "mesoflow/config/config.hpp"
#include "mesoflow/transport/master_client.hpp"

namespace mesoflow::runtime {

transport::TransportConfig transport_config(const config::Config& config);

}  // namespace mesoflow::runtime
