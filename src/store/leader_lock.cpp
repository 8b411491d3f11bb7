#include "mesoflow/store/leader_lock.hpp"

#include <fmt/format.h>

#include "mesoflow/common/log.hpp"
#include "pg.hpp"

namespace mesoflow::store {
namespace {

// The lock key is derived from the framework name: one leader per name.
constexpr const char* kTryLockSql =
    "SELECT pg_try_advisory_lock(hashtextextended('mesoflow leader ' || $1::text, 0))";

// One database serves one framework name. The queue table holds no framework
// column: a second name would reconcile the first one's attempts, hear
// TASK_GONE and launch them again. Registration is serialised by a
// transaction lock so two names starting at once cannot both register.
constexpr const char* kRegisterLockSql =
    "SELECT pg_advisory_xact_lock(hashtextextended('mesoflow frameworks', 0))";
constexpr const char* kOtherNameSql =
    "SELECT name, coalesce(framework_id, '') FROM mesoflow.frameworks WHERE name <> $1"
    " ORDER BY name LIMIT 1";
// The bump runs under the exclusive form of the advisory lock that
// mesoflow.fence takes shared: it waits for the old leader's claims and
// placements still running, and every later one sees the new epoch.
constexpr const char* kRecordLeaderSql =
    "INSERT INTO mesoflow.frameworks AS f (name, leader, leader_since, leader_epoch)"
    " VALUES ($1, $2, now(), 1)"
    " ON CONFLICT (name) DO UPDATE SET leader = EXCLUDED.leader, leader_since = now(),"
    " leader_epoch = f.leader_epoch + 1, updated_at = now()"
    " RETURNING leader_epoch, (extract(epoch FROM leader_since) * 1000000)::bigint";
constexpr const char* kWhoLeadsSql =
    "SELECT coalesce(leader, ''), (extract(epoch FROM leader_since) * 1000000)::bigint"
    " FROM mesoflow.frameworks WHERE name = $1";

// Registers `name` as the database's framework, or says which name holds it;
// fills the claim's epoch and since.
Status register_leader(PGconn* conn, const std::string& name, const std::string& identity,
                       LeaderClaim& claim) {
    if (auto begun = pg::exec(conn, "BEGIN"); !begun)
        return begun.error();
    auto rollback = [conn](Error e) -> Status {
        (void)pg::exec(conn, "ROLLBACK");
        return e;
    };
    if (auto locked = pg::exec(conn, kRegisterLockSql); !locked)
        return rollback(locked.error());
    auto other = pg::exec(conn, kOtherNameSql, pg::Params().add(name));
    if (!other)
        return rollback(other.error());
    if (PQntuples(other->get()) > 0) {
        const std::string other_name(pg::text(other->get(), 0, 0));
        const std::string other_id(pg::text(other->get(), 0, 1));
        return rollback(Error{
            fmt::format("this database belongs to framework '{}' (framework id '{}'), not '{}': "
                        "one database serves one framework name. To rename the framework, "
                        "stop mesoflow and run UPDATE mesoflow.frameworks SET name = '{}' "
                        "WHERE name = '{}'; to run a second framework, give it its own database",
                        other_name, other_id.empty() ? "none" : other_id, name, name, other_name),
            ErrorKind::permanent});
    }
    auto recorded = pg::exec(conn, kRecordLeaderSql, pg::Params().add(name).add(identity));
    if (!recorded)
        return rollback(recorded.error());
    claim.epoch = pg::to_int64(recorded->get(), 0, 0);
    claim.leader_since_us = pg::opt_int64(recorded->get(), 0, 1);
    if (auto committed = pg::exec(conn, "COMMIT"); !committed)
        return committed.error();
    return {};
}

}  // namespace

struct LeaderLock::Connection {
    pg::Connection conn;
};

LeaderLock::LeaderLock(std::string dsn, std::string framework_name, std::string identity,
                       std::chrono::milliseconds lease)
    : dsn_(std::move(dsn)),
      name_(std::move(framework_name)),
      identity_(std::move(identity)),
      lease_(lease) {}
LeaderLock::~LeaderLock() = default;
LeaderLock::LeaderLock(LeaderLock&&) noexcept = default;
LeaderLock& LeaderLock::operator=(LeaderLock&&) noexcept = default;

Result<LeaderClaim> LeaderLock::try_acquire() {
    LeaderClaim claim;
    if (held_) {
        claim.leading = true;
        claim.epoch = epoch_;
        claim.leader = identity_;
        return claim;
    }
    // A standby's idle connection may have died unnoticed; a dead session
    // holds no lock, so trying once more on a fresh one is safe.
    Result<pg::ResultSet> locked = Error{"not tried"};
    for (int round = 0; round < 2; ++round) {
        if (!conn_ || pg::is_broken(conn_->conn.get())) {
            pg::SessionDefaults defaults{"mesoflow-leader", 0};
            defaults.tcp_user_timeout_ms = lease_.count();
            auto conn = pg::connect(dsn_, defaults);
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
    if (!pg::to_bool(locked->get(), 0, 0)) {
        // Who leads, for operators; the lock is what counts.
        if (auto who = pg::exec(conn, kWhoLeadsSql, pg::Params().add(name_));
            who && PQntuples(who->get()) > 0) {
            claim.leader = pg::text(who->get(), 0, 0);
            claim.leader_since_us = pg::opt_int64(who->get(), 0, 1);
        }
        return claim;
    }
    // The lease, enforced by the server from here on: a session left idle
    // longer ends, and the lock with it.
    if (PQserverVersion(conn) >= 140000) {
        if (auto set = pg::exec(
                conn, fmt::format("SET idle_session_timeout = {}", lease_.count()).c_str());
            !set) {
            release();
            return set.error();
        }
        claim.lease_enforced_by_server = true;
    }
    if (auto recorded = register_leader(conn, name_, identity_, claim); !recorded.ok()) {
        // Leading without the record would mislead operators, and leading
        // under a second name would launch the first one's tasks again:
        // give the lock back.
        release();
        return recorded.error();
    }
    held_ = true;
    epoch_ = claim.epoch;
    claim.leading = true;
    claim.leader = identity_;
    log::info("leader_acquired", "framework={} leader={} epoch={}", log::quote(name_),
              log::quote(identity_), epoch_);
    return claim;
}

Result<bool> LeaderLock::renew() {
    if (!held_)
        return false;
    // A session advisory lock ends only with its session: a live connection
    // still holds it, and the statement starts the idle timeout again.
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

int LeaderLock::backend_pid() const {
    return conn_ ? PQbackendPID(conn_->conn.get()) : 0;
}

int LeaderLock::socket() const {
    return conn_ ? PQsocket(conn_->conn.get()) : -1;
}

void LeaderLock::release() {
    held_ = false;
    conn_.reset();
}

}  // namespace mesoflow::store
