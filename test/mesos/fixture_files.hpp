// Reads JSON fixtures from test/mesos/fixtures/ (their path is compiled in).
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mesoflow::mesos::testing {

inline std::string read_fixture(const std::string& relative) {
    const std::string path = std::string(MESOFLOW_MESOS_FIXTURES) + "/" + relative;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("missing fixture " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline constexpr const char* kMaster = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d";
inline constexpr const char* kFramework = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-0000";
inline constexpr const char* kAgent = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-S0";
inline constexpr const char* kOffer = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-O1";
inline constexpr const char* kInverseOffer = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-O7";

}  // namespace mesoflow::mesos::testing
