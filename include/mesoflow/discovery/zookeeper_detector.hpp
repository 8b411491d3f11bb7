// ZooKeeperDetector: finds the leading Mesos master in ZooKeeper and follows
// it. A thread of its own drives the ZooKeeper C client (multi-threaded
// flavour): it connects (digest authentication when the URL carries
// user:password), reads the masters' group with a watch, reads the leader's
// MasterInfo (see master_group.hpp) and waits for the watch, the session or
// stop(). Each change of what it knows is reported once, on its thread:
// the caller hands it on to its own loop.
//
// ZooKeeper unreachable: `unreachable` is reported and the client keeps
// trying every server; the last leader reported stays the caller's to use.
// A session that expires is replaced by a new one (the group is read
// again). An empty or missing group: `no_leader`; the watch reports the
// first master that joins.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mesoflow/common/result.hpp"
#include "mesoflow/config/config.hpp"
#include "mesoflow/transport/master_client.hpp"

namespace mesoflow::discovery {

struct Detection {
    enum class State {
        leader,       // `leader` is the leading master
        no_leader,    // the group is empty or missing
        unreachable,  // no ZooKeeper server answers (or the session ended)
        invalid,      // the group or the leader's data cannot be used; `error` says why
    };
    State state = State::unreachable;
    std::optional<transport::MasterEndpoint> leader;
    std::string member;  // the leader's znode, e.g. json.info_0000000003
    std::string error;   // for unreachable and invalid
    bool operator==(const Detection&) const = default;
};

std::string_view state_name(Detection::State state);

struct DetectorOptions {
    std::chrono::milliseconds session_timeout{10000};
    // Before a new session after one failed to start or expired.
    std::chrono::milliseconds backoff_min{500};
    std::chrono::milliseconds backoff_max{30000};
};

class ZooKeeperDetector {
  public:
    using Listener = std::function<void(const Detection&)>;

    ZooKeeperDetector(config::ZooKeeperUrl url, Listener listener, DetectorOptions options = {});
    ~ZooKeeperDetector();  // stops
    ZooKeeperDetector(const ZooKeeperDetector&) = delete;
    ZooKeeperDetector& operator=(const ZooKeeperDetector&) = delete;

    void start();
    // Closes the session and joins the thread; no report follows.
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// For one-off commands (mesoflow teardown): the leading master ZooKeeper
// names, or an Error saying why none was found within `timeout`.
Result<transport::MasterEndpoint> find_leader(const config::ZooKeeperUrl& url,
                                              std::chrono::milliseconds timeout);

}  // namespace mesoflow::discovery
