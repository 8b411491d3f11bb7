// A strict reader of the Prometheus text format, enough to check that every
// sample on a page is well formed and declared: `# HELP` and `# TYPE` come
// before the first sample of a metric, and values parse as numbers.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace mesoflow::testing {

struct PrometheusPage {
    std::map<std::string, std::string> types;  // metric -> counter | gauge | summary
    std::map<std::string, std::string> help;
    std::map<std::string, double> samples;  // "name{labels}" -> value
    std::string error;                      // empty when the page is well formed
};

PrometheusPage parse_prometheus(const std::string& page);

}  // namespace mesoflow::testing
