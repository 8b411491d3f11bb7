#include "zk_registration.hpp"

#include <stdexcept>

#include "mesoflow/common/log.hpp"
#include "zk_client.hpp"

namespace mesoflow::fake {

ZkUrl parse_zk_url(const std::string& url) {
    const std::string scheme = "zk://";
    if (url.rfind(scheme, 0) != 0)
        throw std::invalid_argument("ZooKeeper URL must start with zk://: '" + url + "'");
    const std::string rest = url.substr(scheme.size());
    if (rest.find('@') != std::string::npos) {
        throw std::invalid_argument("ZooKeeper URL with credentials is not supported: '" + url +
                                    "'");
    }
    const auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0)
        throw std::invalid_argument("ZooKeeper URL needs host:port and a path: '" + url + "'");
    ZkUrl out{rest.substr(0, slash), rest.substr(slash)};
    while (out.path.size() > 1 && out.path.back() == '/')
        out.path.pop_back();
    if (out.path == "/" || out.path.find("//") != std::string::npos)
        throw std::invalid_argument("ZooKeeper URL has no usable path: '" + url + "'");
    std::size_t start = 0;
    while (start <= out.hosts.size()) {
        const auto comma = out.hosts.find(',', start);
        const std::string host = out.hosts.substr(start, comma - start);
        const auto colon = host.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == host.size() ||
            host.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
            throw std::invalid_argument("ZooKeeper URL: expected host:port, got '" + host + "'");
        }
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return out;
}

ZkRegistration::ZkRegistration(ZkUrl url, std::chrono::milliseconds session_timeout)
    : url_(std::move(url)), session_timeout_(session_timeout) {}

ZkRegistration::~ZkRegistration() {
    withdraw();
}

std::string ZkRegistration::enroll(const std::string& master_info) {
    std::lock_guard lock(mutex_);
    client_.reset();
    node_.clear();
    auto client = std::make_unique<mesoflow::testing::ZkClient>(url_.hosts, session_timeout_,
                                                                session_timeout_);
    client->create_path(url_.path);
    node_ = client->create(
        url_.path + "/" + kZkNodePrefix, master_info,
        mesoflow::testing::ZkClient::ephemeral | mesoflow::testing::ZkClient::sequential);
    client_ = std::move(client);
    log::info("fake_master_zk_registered", "node={} zk={}", node_, url_.hosts);
    return node_;
}

void ZkRegistration::withdraw() {
    std::lock_guard lock(mutex_);
    if (!client_)
        return;
    client_->close();
    client_.reset();
    log::info("fake_master_zk_withdrawn", "node={}", node_);
    node_.clear();
}

std::string ZkRegistration::node() const {
    std::lock_guard lock(mutex_);
    return node_;
}

}  // namespace mesoflow::fake
