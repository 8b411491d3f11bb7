// ZkClient: a small synchronous ZooKeeper client for tests and the fake
// master, over the ZooKeeper C client library (zookeeper_mt). Every call
// blocks until the server answers; failures throw ZkError. One session per
// connect(); close() (or the destructor) ends it, and the server deletes the
// session's ephemeral nodes at once.
//
// The C client reconnects on its own after a lost connection and keeps the
// session while its timeout has not passed; wait_connected() waits for that.
// Calls made while disconnected fail with ZCONNECTIONLOSS.
//
// Thread-safe: the C library serialises requests on one handle; connect() and
// close() must not race other calls on the same object.
// The C client's log lines at levels WARN and ERROR go to stderr when
// $MESOFLOW_ZK_LOG is set (and not 0), nowhere otherwise: a stopped server
// makes it report every refused reconnection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct _zhandle;

namespace mesoflow::testing {

class ZkError : public std::runtime_error {
  public:
    // `code`: the C client's ZOO_ERRORS value (ZNONODE, ZNODEEXISTS, ...).
    ZkError(int code, const std::string& what);
    int code() const { return code_; }
    bool no_node() const;
    bool node_exists() const;

  private:
    int code_;
};

class ZkClient {
  public:
    // Flags of create(), to combine with |.
    static constexpr int persistent = 0;
    static constexpr int ephemeral = 1;   // ZOO_EPHEMERAL
    static constexpr int sequential = 2;  // ZOO_SEQUENCE

    ZkClient() = default;
    // Connects at once (see connect()).
    explicit ZkClient(const std::string& hosts,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10),
                      std::chrono::milliseconds session_timeout = std::chrono::seconds(10));
    ~ZkClient();
    ZkClient(const ZkClient&) = delete;
    ZkClient& operator=(const ZkClient&) = delete;

    // Opens a session with "host:port[,host:port...]" (a chroot suffix such as
    // "/mesos" is allowed) and waits until it is connected, or throws ZkError
    // (ZOPERATIONTIMEOUT) after `timeout`. The server may adjust
    // `session_timeout` (TempZooKeeper allows 1 s to 60 s). Closes a session
    // this object already had.
    void connect(const std::string& hosts,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10),
                 std::chrono::milliseconds session_timeout = std::chrono::seconds(10));
    // Ends the session (its ephemeral nodes go when the server is reachable;
    // otherwise when the session times out). A no-op when not connected.
    void close();

    bool connected() const;  // connected to a server now
    bool expired() const;    // the server ended the session (timed out); connect() again
    // Waits until connected again after a lost connection; false on timeout
    // or when the session expired.
    bool wait_connected(std::chrono::milliseconds timeout);
    std::int64_t session_id() const;                    // 0 when not connected
    std::chrono::milliseconds session_timeout() const;  // as negotiated

    // Creates `path` with `data`; `flags` is persistent or ephemeral and/or
    // sequential. Returns the created path (with the sequence suffix, e.g.
    // "/mesos/json.info_0000000003"). The parent must exist.
    std::string create(const std::string& path, const std::string& data = "",
                       int flags = persistent);
    // Creates `path` and its missing ancestors as empty persistent nodes; the
    // ones that exist are left as they are.
    void create_path(const std::string& path);
    // The node's data, or nullopt when there is no such node.
    std::optional<std::string> get(const std::string& path);
    // Replaces the node's data (any version); throws when there is no node.
    void set(const std::string& path, const std::string& data);
    // Deletes the node (any version); false when there was none.
    bool remove(const std::string& path);
    bool exists(const std::string& path);
    // The names (not paths) of the node's children, sorted; throws when there
    // is no node.
    std::vector<std::string> children(const std::string& path);

  private:
    static void on_event(_zhandle* zh, int type, int state, const char* path, void* context);
    _zhandle* handle() const;

    _zhandle* zh_ = nullptr;
    mutable std::mutex mutex_;
    std::condition_variable state_changed_;
    int state_ = 0;  // the C client's ZOO_*_STATE of the session
};

}  // namespace mesoflow::testing
