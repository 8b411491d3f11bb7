// ZkRegistration: the fake master's entry in ZooKeeper, made as a Mesos master
// contending for leadership makes it: in a ZooKeeper session of its own, an
// ephemeral sequential node "<path>/json.info_<10-digit sequence>" whose data
// is the master's MasterInfo as JSON. Detectors take the node with the lowest
// sequence as the leader. The node goes when the session ends: withdraw(),
// the destructor, or the session timing out when the process dies.
// Of the fake master's library, only zk_registration.cpp includes the
// ZooKeeper client (zk_client.hpp).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace mesoflow::testing {
class ZkClient;
}

namespace mesoflow::fake {

struct ZkUrl {
    std::string hosts;  // "host:port[,host:port...]"
    std::string path;   // "/mesos"
};

// Parses the simple form of a Mesos ZooKeeper URL,
// zk://host:port[,host:port...]/path (no credentials); throws
// std::invalid_argument naming what is wrong.
ZkUrl parse_zk_url(const std::string& url);

// The prefix of a master's node name under the path.
inline constexpr const char* kZkNodePrefix = "json.info_";

class ZkRegistration {
  public:
    ZkRegistration(ZkUrl url, std::chrono::milliseconds session_timeout);
    ~ZkRegistration();
    ZkRegistration(const ZkRegistration&) = delete;
    ZkRegistration& operator=(const ZkRegistration&) = delete;

    // Ends a session held before, opens a new one (waiting up to the session
    // timeout for it), creates the path's missing nodes (persistent) and the
    // master's node with `master_info`. Returns the node's path. Throws
    // std::runtime_error (ZkError) on failure, then holds no session.
    std::string enroll(const std::string& master_info);
    // Ends the session; its node goes at once. A no-op without a session.
    void withdraw();
    // The node's path; empty without a session.
    std::string node() const;

  private:
    const ZkUrl url_;
    const std::chrono::milliseconds session_timeout_;
    mutable std::mutex mutex_;
    std::unique_ptr<mesoflow::testing::ZkClient> client_;
    std::string node_;
};

}  // namespace mesoflow::fake
