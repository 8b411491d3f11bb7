#include "mesoflow/store/leader_lock.hpp"

#include "mesoflow/common/log.hpp"
#include "pg.hpp"

namespace mesoflow::store {
namespace {

// The lock key is derived from the framework name, so frameworks with
// different names can each have their own leader in one database.
constexpr const char* kTryLockSql =
    "SELECT pg_try_advisory_lock(hashtextextended('mesoflow leader ' || $1::text, 0))";

}  // namespace

struct LeaderLock::Connection {
    pg::Connection conn;
};

LeaderLock::LeaderLock(std::string dsn, std::string framework_name, std::string identity)
    : dsn_(std::move(dsn)), name_(std::move(framework_name)), identity_(std::move(identity)) {}
LeaderLock::~LeaderLock() = default;
LeaderLock::LeaderLock(LeaderLock&&) noexcept = default;
LeaderLock& LeaderLock::operator=(LeaderLock&&) noexcept = default;

Result<bool> LeaderLock::try_acquire() {
    if (held_)
        return true;
    // A standby's idle connection may have died unnoticed; a dead session
    // holds no lock, so trying once more on a fresh one is safe.
    Result<pg::ResultSet> locked = Error{"not tried"};
    for (int round = 0; round < 2; ++round) {
        if (!conn_ || pg::is_broken(conn_->conn.get())) {
            auto conn = pg::connect(dsn_, pg::SessionDefaults{"mesoflow-leader", 0});
            if (!conn)
                return conn.error();
            conn_ = std::make_unique<Connection>(Connection{std::move(*conn)});
        }
        locked = pg::exec(conn_->conn.get(), kTryLockSql, pg::Params().add(name_));
        if (locked || !pg::is_broken(conn_->conn.get()))
            break;
        conn_.reset();
    }
    if (!locked)
        return locked.error();
    PGconn* conn = conn_->conn.get();
    if (!pg::to_bool(locked->get(), 0, 0))
        return false;
    auto recorded = pg::exec(
        conn,
        "INSERT INTO mesoflow.frameworks AS f (name, leader, leader_since) VALUES ($1, $2, now())"
        " ON CONFLICT (name) DO UPDATE SET leader = EXCLUDED.leader, leader_since = now(),"
        " updated_at = now()",
        pg::Params().add(name_).add(identity_));
    if (!recorded) {
        // Leading without the record would mislead operators: give the lock back.
        release();
        return recorded.error();
    }
    held_ = true;
    log::info("leader_acquired", "framework={} leader={}", log::quote(name_),
              log::quote(identity_));
    return true;
}

Result<bool> LeaderLock::check() {
    if (!held_)
        return false;
    // A session advisory lock ends only with its session: a live connection
    // still holds it.
    auto alive = pg::exec(conn_->conn.get(), "SELECT 1");
    if (alive)
        return true;
    log::error("leader_lost", "framework={} error={}", log::quote(name_),
               log::quote(alive.error().message));
    release();
    return false;
}

bool LeaderLock::held() const {
    return held_;
}

int LeaderLock::socket() const {
    return conn_ ? PQsocket(conn_->conn.get()) : -1;
}

void LeaderLock::release() {
    held_ = false;
    conn_.reset();
}

}  // namespace mesoflow::store
