// LeaderLock: at most one mesoflow process schedules for a framework name. It
// holds a session-level PostgreSQL advisory lock on its own connection; the
// server releases it when that connection ends (a crash included), so a
// standby takes over by trying again.
//
// try_acquire() also records the leader's identity in mesoflow.frameworks.
// Leadership lasts exactly as long as the connection: when check() fails or
// returns false, the process must stop scheduling at once, and may only
// resume after a new try_acquire() succeeds. The lock never reconnects by
// itself. Blocking calls; not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "mesoflow/common/result.hpp"

namespace mesoflow::store {

class LeaderLock {
  public:
    // identity: who leads, for operators (e.g. "host:pid").
    LeaderLock(std::string dsn, std::string framework_name, std::string identity);
    ~LeaderLock();
    LeaderLock(LeaderLock&&) noexcept;
    LeaderLock& operator=(LeaderLock&&) noexcept;
    LeaderLock(const LeaderLock&) = delete;
    LeaderLock& operator=(const LeaderLock&) = delete;

    // true: this process now leads; false: another one does.
    Result<bool> try_acquire();
    // true while the lock is still held on a live connection.
    Result<bool> check();
    bool held() const;
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
    std::unique_ptr<Connection> conn_;
    bool held_ = false;
};

}  // namespace mesoflow::store
