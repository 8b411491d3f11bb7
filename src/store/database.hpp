// Database: the TaskStore's one libpq connection, which comes back after a
// loss. get() connects on demand and checks the schema version; a statement
// that fails on a lost connection drops it, so the next call reconnects.
// Failed connection attempts back off (kReconnectBackoffMin doubling to
// kReconnectBackoffMax); a call inside the wait fails at once with the last
// error rather than blocking the caller's thread, and of its kind. Errors
// keep the kind pg gave them (see result.hpp); those made up here for a
// lost connection are transient. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "mesoflow/common/result.hpp"
#include "mesoflow/store/task_store.hpp"
#include "pg.hpp"

namespace mesoflow::store {

class Database {
  public:
    // session_limit (0: none): the server ends a session idle inside a
    // transaction this long, and unacknowledged data fails the connection
    // after it (pg::SessionDefaults).
    // limits: shorter connect and statement timeouts (SessionLimits).
    Database(std::string dsn, std::string application_name,
             std::chrono::milliseconds session_limit = {}, SessionLimits limits = {});

    // The live connection, connecting first when needed.
    Result<PGconn*> get();
    // Runs one statement on the live connection (connecting first).
    Result<pg::ResultSet> exec(const char* sql, const pg::Params& params = {});
    // Same for a fixed statement, prepared once per connection under `name`:
    // the store's batch statements are large, and planning them on every
    // call would cost more than running a small batch.
    Result<pg::ResultSet> exec_prepared(const char* name, const char* sql,
                                        const pg::Params& params = {});
    // A transaction spans two round trips (pipeline mode; see
    // pg::exec_pipeline), with the statements' results in order: begin_with
    // sends BEGIN and then the statements, and leaves the transaction open
    // (commit_after or abort_transaction ends it); commit_after sends the
    // statements and then COMMIT. A connection lost inside it fails every
    // later call until abort_transaction(), so nothing of the batch can run
    // outside it on a fresh connection.
    Result<std::vector<pg::ResultSet>> begin_with(std::vector<pg::Statement> statements);
    Result<std::vector<pg::ResultSet>> commit_after(std::vector<pg::Statement> statements);
    // Ends the transaction begin_with opened, in one round trip (one simple
    // query): `copy` (a COPY ... FROM STDIN) reads `rows` (COPY's text
    // format), then `statement` runs when there is one (prepared under its
    // name, its parameters sent as literals), then COMMIT. The statement's
    // result (empty without one). A failure leaves the transaction for
    // abort_transaction.
    Result<pg::ResultSet> copy_then_commit(const std::string& copy, std::string_view rows,
                                           const pg::Statement* statement);
    // BEGIN, the statements and COMMIT in one round trip; a failure rolls
    // the transaction back (abort_transaction) before it is returned.
    Result<std::vector<pg::ResultSet>> transaction(std::vector<pg::Statement> statements);
    // Ends a failed transaction: ROLLBACK when the connection still stands.
    void abort_transaction();
    bool connected() const { return static_cast<bool>(conn_); }
    // Counts the connections made: what was learnt on one (the agents'
    // codes) may not hold on the next, which may be another server.
    std::uint64_t generation() const { return generation_; }
    std::chrono::milliseconds update_lock_wait() const {
        return limits_.update_lock_wait.count() > 0 ? limits_.update_lock_wait : kUpdateLockWait;
    }
    // SET LOCAL lock_timeout to update_lock_wait(): first in a transaction
    // that writes rows without locking them first, so that a row another
    // session holds fails it (SQLSTATE 55P03) instead of stalling it.
    std::string update_lock_wait_sql() const {
        return "SET LOCAL lock_timeout = " + std::to_string(update_lock_wait().count());
    }
    void disconnect() { conn_.reset(); }

  private:
    // Drops the connection when `error` was caused by losing it.
    Error after_failure(Error error);
    Result<std::vector<pg::ResultSet>> pipeline(const std::vector<pg::Statement>& statements);

    std::string dsn_;
    std::string application_name_;
    std::chrono::milliseconds session_limit_;
    SessionLimits limits_;
    pg::Connection conn_;
    std::unordered_set<std::string> prepared_;  // on conn_
    bool in_transaction_ = false;
    std::uint64_t generation_ = 0;
    std::chrono::steady_clock::time_point next_attempt_{};
    std::chrono::milliseconds backoff_{0};
    Error last_error_;  // of the last failed connection attempt
};

}  // namespace mesoflow::store
