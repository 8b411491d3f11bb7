// The /metrics page: every Metrics value in the Prometheus text
// exposition format (version 0.0.4), each with HELP and TYPE lines, names
// prefixed mesoflow_, counters suffixed _total, times in seconds. Pure: reads
// the atomics once each and returns the page.
#pragma once

#include <string>
#include <string_view>

#include "mesoflow/metrics/metrics.hpp"

namespace mesoflow::admin {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

std::string render_prometheus(const Metrics& metrics, std::string_view version);

}  // namespace mesoflow::admin
