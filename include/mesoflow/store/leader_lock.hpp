// LeaderLock: at most one mesoflow process schedules for a framework name. It
// holds a session-level PostgreSQL advisory lock on its own connection; the
// server releases it when that connection ends (a crash included), so a
// standby takes over by trying again.
//
// The lease: once it leads, the lock's session runs with idle_session_timeout
// = the lease (PostgreSQL 14 and later), so a leader that stops renewing
// (frozen, cut off: renew() sends one small statement) loses the lock to the
// server itself within the lease, however long TCP would keep the
// connection. tcp_user_timeout = the lease makes a renewal on a dead
// connection fail within it too.
//
// try_acquire() also records the leader's identity in mesoflow.frameworks
// and takes the next leader epoch, the fencing token a leader's claims and
// placements run behind (TaskStore::set_fence). Leadership lasts exactly as
// long as the connection: when renew() fails or returns false, the process
// must stop scheduling at once, and may only resume after a new
// try_acquire() succeeds. The lock never reconnects by itself. Blocking
// calls; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "mesoflow/common/result.hpp"

namespace mesoflow::store {

// What one try for the lock found.
struct LeaderClaim {
    bool leading = false;
    std::int64_t epoch = 0;  // leading: this leadership's fencing token
    // Who leads, as mesoflow.frameworks records it (this process when
    // leading; empty when nobody ever led).
    std::string leader;
    std::optional<std::int64_t> leader_since_us;
    // Leading on a server that cannot end an idle session (before 14): the
    // lease is kept on this side only.
    bool lease_enforced_by_server = false;
};

class LeaderLock {
  public:
    // identity: who leads, for operators (e.g. "host:pid"); lease: see above.
    LeaderLock(std::string dsn, std::string framework_name, std::string identity,
               std::chrono::milliseconds lease);
    ~LeaderLock();
    LeaderLock(LeaderLock&&) noexcept;
    LeaderLock& operator=(LeaderLock&&) noexcept;
    LeaderLock(const LeaderLock&) = delete;
    LeaderLock& operator=(const LeaderLock&) = delete;

    // Tries for the lock once; leading: this process now leads.
    Result<LeaderClaim> try_acquire();
    // Renews the lease: true while the lock is still held on a live
    // connection; false once it is lost (the connection is closed).
    Result<bool> renew();
    bool held() const;
    std::int64_t epoch() const { return epoch_; }
    // The lock session's backend pid (0 when none), for TaskStore::set_fence.
    int backend_pid() const;
    // The lock connection's socket (-1 when none): readable when the server
    // closes it, so an event loop can notice a lost leadership at once.
    int socket() const;
    // Gives the lock up (closes the connection).
    void release();

  private:
    struct Connection;
    std::string dsn_;
    std::string name_;
    std::string identity_;
    std::chrono::milliseconds lease_;
    std::unique_ptr<Connection> conn_;
    bool held_ = false;
    std::int64_t epoch_ = 0;
};

}  // namespace mesoflow::store
