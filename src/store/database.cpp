#include "database.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

#include "mesoflow/common/log.hpp"
#include "mesoflow/store/task_store.hpp"
#include "schema.hpp"

namespace mesoflow::store {

Database::Database(std::string dsn, std::string application_name,
                   std::chrono::milliseconds session_limit, SessionLimits limits)
    : dsn_(std::move(dsn)),
      application_name_(std::move(application_name)),
      session_limit_(session_limit),
      limits_(limits) {}

Result<PGconn*> Database::get() {
    if (in_transaction_) {
        if (conn_ && !pg::is_broken(conn_.get()))
            return conn_.get();
        // Transient: the batch is retried whole, in a new transaction.
        return Error{"the database connection was lost inside a transaction"};
    }
    if (conn_ && !pg::is_broken(conn_.get())) {
        // A previous call may have left a transaction open; start clean.
        if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE)
            abort_transaction();
        if (conn_)
            return conn_.get();
    }
    conn_.reset();
    const auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) {
        const auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now).count();
        // Of the kind of the failure that started the wait.
        return Error{"database unavailable (" + last_error_.message + "); next attempt in " +
                         std::to_string(wait) + " ms",
                     last_error_.kind};
    }
    auto fail = [&](const Error& error) -> Error {
        backoff_ = std::clamp(backoff_ * 2, kReconnectBackoffMin, kReconnectBackoffMax);
        next_attempt_ = std::chrono::steady_clock::now() + backoff_;
        last_error_ = error;
        log::warn("database_unavailable", "error={} retry_in_ms={}", log::quote(error.message),
                  backoff_.count());
        return error;
    };
    pg::SessionDefaults defaults;
    defaults.application_name = application_name_;
    defaults.statement_timeout_ms =
        limits_.statement_timeout.count() > 0
            ? limits_.statement_timeout.count()
            : std::chrono::duration_cast<std::chrono::milliseconds>(kStatementTimeout).count();
    defaults.connect_timeout_s = limits_.connect_timeout.count();
    defaults.idle_in_transaction_timeout_ms = session_limit_.count();
    defaults.tcp_user_timeout_ms = session_limit_.count();
    auto conn = pg::connect(dsn_, defaults);
    if (!conn)
        return fail(conn.error());
    if (auto schema = require_current_schema(conn->get()); !schema) {
        return fail(schema.error());
    }
    // A statement limit set for this reader holds whatever the DSN's options say.
    if (limits_.statement_timeout.count() > 0) {
        const auto sql =
            "SET statement_timeout = " + std::to_string(limits_.statement_timeout.count());
        if (auto set = pg::exec(conn->get(), sql.c_str()); !set)
            return fail(set.error());
    }
    log::info("database_connected", "application={} backoff_ms={}", application_name_,
              backoff_.count());
    backoff_ = std::chrono::milliseconds{0};
    next_attempt_ = {};
    conn_ = std::move(*conn);
    prepared_.clear();
    ++generation_;
    return conn_.get();
}

Result<pg::ResultSet> Database::exec(const char* sql, const pg::Params& params) {
    auto conn = get();
    if (!conn)
        return conn.error();
    auto res = pg::exec(*conn, sql, params);
    if (!res)
        return after_failure(res.error());
    return res;
}

Result<std::vector<pg::ResultSet>> Database::pipeline(
    const std::vector<pg::Statement>& statements) {
    auto conn = get();
    if (!conn)
        return conn.error();
    bool unsettled = false;
    auto res = pg::exec_pipeline(*conn, statements, prepared_, &unsettled);
    if (unsettled) {
        // Out of step with the server: nothing more can be read in order.
        log::warn("database_connection_lost", "error={}",
                  log::quote(res ? std::string("pipeline left unsettled") : res.error().message));
        conn_.reset();
        next_attempt_ = {};
        // A statement's own failure keeps its kind; the lost step is transient.
        return res ? Error{"the database connection was left unsettled"} : res.error();
    }
    if (!res)
        return after_failure(res.error());
    return res;
}

Result<std::vector<pg::ResultSet>> Database::begin_with(std::vector<pg::Statement> statements) {
    statements.insert(statements.begin(), pg::Statement{nullptr, "BEGIN", {}});
    auto conn = get();
    if (!conn)
        return conn.error();
    // From here a lost connection must fail the rest of the batch, not run
    // it outside the transaction on a new one.
    in_transaction_ = true;
    auto res = pipeline(statements);
    if (!res)
        return res.error();
    res->erase(res->begin());
    return res;
}

Result<std::vector<pg::ResultSet>> Database::commit_after(std::vector<pg::Statement> statements) {
    statements.push_back(pg::Statement{nullptr, "COMMIT", {}});
    auto res = pipeline(statements);
    if (!res)
        return res.error();
    in_transaction_ = false;
    // COMMIT of a transaction that had failed answers ROLLBACK, not an error.
    // Every statement of this round trip succeeded, and a failure in
    // begin_with's would have been reported there: no refusal of the
    // batch's own data is known, so a new transaction is worth trying
    // (transient).
    if (std::string_view(PQcmdStatus(res->back().get())) != "COMMIT")
        return Error{"the transaction was rolled back"};
    res->pop_back();
    return res;
}

Result<pg::ResultSet> Database::copy_then_commit(const std::string& copy, std::string_view rows,
                                                 const pg::Statement* statement) {
    if (rows.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        // libpq takes a copy's data as one int-sized buffer.
        return Error{"the rows to copy pass 2 GB", ErrorKind::permanent};
    }
    auto conn = get();
    if (!conn)
        return conn.error();
    std::string sql = copy + ";";
    if (statement != nullptr) {
        if (!prepared_.contains(statement->name)) {
            if (auto prepared = pg::prepare(*conn, statement->name, statement->sql); !prepared)
                return after_failure(prepared.error());
            prepared_.insert(statement->name);
        }
        sql += " EXECUTE ";
        sql += statement->name;
        sql += '(';
        const auto values = statement->params.pointers();
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i > 0)
                sql += ", ";
            if (values[i] == nullptr) {
                sql += "NULL";
                continue;
            }
            char* literal = PQescapeLiteral(*conn, values[i], std::strlen(values[i]));
            if (literal == nullptr)
                return after_failure(pg::error_of(*conn, nullptr));
            sql += literal;
            PQfreemem(literal);
        }
        sql += ");";
    }
    sql += " COMMIT";
    // The server reads the rows, runs the statement, then COMMIT; after a
    // failure it skips the rest, and the transaction stays failed.
    if (PQsendQuery(*conn, sql.c_str()) != 1)
        return after_failure(pg::error_of(*conn, nullptr));
    std::optional<Error> error;
    {
        pg::ResultSet started(PQgetResult(*conn));
        if (PQresultStatus(started.get()) != PGRES_COPY_IN) {
            error = pg::error_of(*conn, started.get());
        } else if (PQputCopyData(*conn, rows.data(), static_cast<int>(rows.size())) != 1 ||
                   PQputCopyEnd(*conn, nullptr) != 1) {
            // libpq is still copying and will answer nothing else: the
            // connection cannot be used again.
            error = pg::error_of(*conn, nullptr);
            conn_.reset();
            return *std::move(error);
        }
    }
    // The COPY's result, the statement's, COMMIT's, then none; a lost
    // connection ends them early.
    pg::ResultSet out;
    bool committed = false;
    while (PGresult* next = PQgetResult(*conn)) {
        pg::ResultSet res(next);
        const auto status = PQresultStatus(res.get());
        const std::string_view command = PQcmdStatus(res.get());
        if (status == PGRES_TUPLES_OK) {
            out = std::move(res);
        } else if (status == PGRES_COPY_IN) {
            // Out of step (a second COPY, or a copy libpq did not end): it
            // would answer the same forever.
            conn_.reset();
            return Error{"the database connection was left copying"};
        } else if (status != PGRES_COMMAND_OK) {
            if (!error)
                error = pg::error_of(*conn, res.get());
        } else if (command == "COMMIT") {
            committed = true;
        } else if (command == "ROLLBACK" && !error) {
            error = Error{"the transaction was rolled back"};
        }
        if (pg::is_broken(*conn))
            break;
    }
    if (!error && !committed) {
        error = pg::is_broken(*conn) ? pg::error_of(*conn, nullptr)
                                     : Error{"the transaction did not commit"};
    }
    if (error)
        return after_failure(*std::move(error));
    in_transaction_ = false;
    return out;
}

Result<std::vector<pg::ResultSet>> Database::transaction(std::vector<pg::Statement> statements) {
    statements.insert(statements.begin(), pg::Statement{nullptr, "BEGIN", {}});
    statements.push_back(pg::Statement{nullptr, "COMMIT", {}});
    auto conn = get();
    if (!conn)
        return conn.error();
    in_transaction_ = true;
    auto res = pipeline(statements);
    if (!res) {
        // An error inside the block skipped the rest, COMMIT included, and
        // left the block open and failed.
        abort_transaction();
        return res.error();
    }
    in_transaction_ = false;
    if (std::string_view(PQcmdStatus(res->back().get())) != "COMMIT")
        return Error{"the transaction was rolled back"};
    res->pop_back();
    res->erase(res->begin());
    return res;
}

Result<pg::ResultSet> Database::exec_prepared(const char* name, const char* sql,
                                              const pg::Params& params) {
    auto conn = get();
    if (!conn)
        return conn.error();
    if (!prepared_.contains(name)) {
        if (auto prepared = pg::prepare(*conn, name, sql); !prepared) {
            return after_failure(prepared.error());
        }
        prepared_.insert(name);
    }
    auto res = pg::exec_prepared(*conn, name, params);
    if (!res)
        return after_failure(res.error());
    return res;
}

void Database::abort_transaction() {
    in_transaction_ = false;
    if (!conn_)
        return;
    if (pg::is_broken(conn_.get())) {
        conn_.reset();
        return;
    }
    if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE)
        return;
    auto res = pg::exec(conn_.get(), "ROLLBACK");
    if (!res)
        conn_.reset();
}

Error Database::after_failure(Error error) {
    if (conn_ && pg::is_broken(conn_.get())) {
        log::warn("database_connection_lost", "error={}", log::quote(error.message));
        conn_.reset();
        // The first reconnect is immediate: the server may have come back.
        next_attempt_ = {};
    }
    return error;
}

}  // namespace mesoflow::store
