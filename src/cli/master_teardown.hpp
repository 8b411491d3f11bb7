// Tears a framework down through the Mesos master's operator endpoint
// `POST /master/teardown` (form body frameworkId=<id>). Unlike the scheduler
// API's TEARDOWN call it needs no subscription: a TEARDOWN call must carry the
// Mesos-Stream-Id of the framework's current subscription, and subscribing
// with the framework id would fail over the running mesoflow.
//
// The request goes through the transport (transport::post_once), as
// `mesoflow run` reaches its masters: masters tried in order, redirects to
// the leading master followed, HTTP Basic credentials when a principal and
// secret are configured, https masters verified as configured (tls_ca_file,
// tls_verify; TLS 1.2 or later), a refused certificate reported with
// OpenSSL's reason. Never throws.
#pragma once

#include <string>

#include "mesoflow/config/config.hpp"

namespace mesoflow::cli {

struct TeardownOutcome {
    enum class Kind {
        torn_down,     // 200
        refused,       // 400: the master knows no such (active) framework
        unauthorized,  // 401 or 403
        failed,        // no master reachable or willing (connection errors, 5xx, others)
    };
    Kind kind = Kind::failed;
    std::string master;  // the URL that answered last
    std::string detail;  // status and body, or the connection error
};

TeardownOutcome teardown_framework(const config::Config& config, const std::string& framework_id);

}  // namespace mesoflow::cli
