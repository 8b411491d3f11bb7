#include <fmt/core.h>

#include "mesoflow/config/config.hpp"

namespace mesoflow::config {
namespace {

std::string bracketed(const std::string& host) {
    return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

}  // namespace

std::string MasterAddress::url() const {
    return fmt::format("{}://{}:{}", https ? "https" : "http", bracketed(host), port);
}

std::string ZooKeeperUrl::display() const {
    if (credentials.empty())
        return fmt::format("zk://{}{}", servers, path);
    const auto colon = credentials.find(':');
    return fmt::format("zk://{}:****@{}{}", credentials.substr(0, colon), servers, path);
}

std::string ListenAddress::to_string() const {
    return enabled() ? fmt::format("{}:{}", bracketed(host), port) : "off";
}

}  // namespace mesoflow::config
