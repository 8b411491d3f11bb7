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
constexpr const char* kRecordLeaderSql =
    "INSERT INTO mesoflow.frameworks AS f (name, leader, leader_since) VALUES ($1, $2, now())"
    " ON CONFLICT (name) DO UPDATE SET leader = EXCLUDED.leader, leader_since = now(),"
    " updated_at = now()";

// Registers `name` as the database's framework, or says which name holds it.
Status register_leader(PGconn* conn, const std::string& name, const std::string& identity) {
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
    if (auto recorded = pg::exec(conn, kRecordLeaderSql, pg::Params().add(name).add(identity));
        !recorded)
        return rollback(recorded.error());
    if (auto committed = pg::exec(conn, "COMMIT"); !committed)
        return committed.error();
    return {};
}

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
    if (auto recorded = register_leader(conn, name_, identity_); !recorded.ok()) {
        // Leading without the record would mislead operators, and leading
        // under a second name would launch the first one's tasks again:
        // give the lock back.
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
