// Thin, owning wrappers over libpq for the store: connections and results as
// unique_ptrs, text parameters, PostgreSQL array literals for unnest()-based
// batches, and typed readers of text-format result fields. Private to the
// store module: nothing outside src/store sees libpq.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "mesoflow/common/result.hpp"

namespace mesoflow::store::pg {

struct ConnectionCloser {
    void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
using Connection = std::unique_ptr<PGconn, ConnectionCloser>;

struct ResultClearer {
    void operator()(PGresult* res) const noexcept { PQclear(res); }
};
using ResultSet = std::unique_ptr<PGresult, ResultClearer>;

struct SessionDefaults {
    std::string application_name = "mesoflow";
    // 0: no statement timeout (migrations may run long).
    std::int64_t statement_timeout_ms = 0;
    // 0: none. The server ends a session idle inside a transaction this
    // long (a frozen leader's transaction must not outlive its lease).
    std::int64_t idle_in_transaction_timeout_ms = 0;
    // 0: the system's. Data unacknowledged this long fails the connection
    // (a cut-off server is noticed within the lease, not TCP's minutes).
    std::int64_t tcp_user_timeout_ms = 0;
    // 0: mesoflow's default connect timeout (10 s), which the DSN may
    // override; set: this one, whatever the DSN says.
    std::int64_t connect_timeout_s = 0;
};

// Connects with mesoflow's defaults (connect timeout, TCP keepalives,
// application name); whatever the DSN sets itself wins. Server notices go to
// the debug log instead of stderr.
Result<Connection> connect(const std::string& dsn, const SessionDefaults& defaults);

// Statement parameters, all sent as text; nullopt is SQL NULL.
class Params {
  public:
    Params& add(std::string value);
    Params& add(std::string_view value) { return add(std::string(value)); }
    Params& add(const char* value) { return add(std::string(value)); }
    Params& add(std::int64_t value);
    Params& add(int value) { return add(static_cast<std::int64_t>(value)); }
    Params& add(double value);
    Params& add(bool value);
    Params& add_null();
    template <typename T>
    Params& add(const std::optional<T>& value) {
        return value ? add(*value) : add_null();
    }

    int size() const { return static_cast<int>(values_.size()); }
    // Pointers into this object: valid while it lives and is not modified.
    std::vector<const char*> pointers() const;

  private:
    std::vector<std::optional<std::string>> values_;
};

// Appends `value` in COPY's text format; false (nothing appended past the
// bad byte) when it holds a NUL byte, which PostgreSQL text cannot.
bool append_copy_text(std::string& out, std::string_view value);

// Rows in COPY's text format (tab between values, \N for NULL, a newline
// after each row), for COPY ... FROM STDIN.
class CopyRows {
  public:
    void push(std::string_view value);
    void push(std::int64_t value);
    void push(int value) { push(static_cast<std::int64_t>(value)); }
    void push(bool value);
    void push_null();
    template <typename T>
    void push(const std::optional<T>& value) {
        if (value) {
            push(*value);
        } else {
            push_null();
        }
    }
    // An empty string_view pushes NULL: for optional text columns.
    void push_text_or_null(std::string_view value);
    void end_row();

    const std::string& str() const { return text_; }
    // A value held a NUL byte: the rows cannot be sent.
    bool holds_nul() const { return holds_nul_; }

  private:
    void separator();
    std::string text_;
    bool row_empty_ = true;
    bool holds_nul_ = false;
};

// Builds a one-dimensional array literal: {"a","b",NULL}.
class ArrayLiteral {
  public:
    void push(std::string_view value);
    void push(std::int64_t value);
    void push(int value) { push(static_cast<std::int64_t>(value)); }
    void push(double value);
    void push(bool value);
    void push_null();
    template <typename T>
    void push(const std::optional<T>& value) {
        if (value) {
            push(*value);
        } else {
            push_null();
        }
    }
    // An empty string_view pushes NULL: for optional text columns.
    void push_text_or_null(std::string_view value);
    std::string str() const { return text_ + "}"; }

  private:
    void separator();
    std::string text_ = "{";
    bool empty_ = true;
};

// Runs one statement (text parameters, text results). Succeeds only on
// COMMAND_OK or TUPLES_OK; otherwise the Error carries the server's message
// (with the violated constraint's name when there is one) and its kind (see
// error_of). The same holds for every call below that runs SQL.
Result<ResultSet> exec(PGconn* conn, const char* sql, const Params& params = {});
// Prepares a named statement on this connection (parameter types inferred).
Status prepare(PGconn* conn, const char* name, const char* sql);
// Runs a statement prepared under `name`.
Result<ResultSet> exec_prepared(PGconn* conn, const char* name, const Params& params = {});
// Runs SQL text with the simple protocol: several statements allowed, no parameters.
Result<ResultSet> exec_script(PGconn* conn, std::string_view sql);

// One statement of a pipeline: prepared under `name` on first use when a
// name is given, else sent with its text.
struct Statement {
    const char* name = nullptr;
    const char* sql = nullptr;
    Params params;
};
// Sends the statements back to back in libpq's pipeline mode, with one sync
// after the last, and reads every result: one round trip for all of them.
// Statements named in `prepared` were prepared on this connection; those
// prepared here are added. Fails with the first error, message and kind;
// the server skips the statements after it (inside an explicit transaction,
// the transaction is then failed and must be rolled back), and those skips
// never stand in for the error itself. `*unsettled` is set when the
// connection could not be brought back out of pipeline mode: it must not be
// used again. Sends block: meant for a few statements with small results (a
// result larger than the socket buffers, arriving while later statements
// are still being sent, would stall both sides).
Result<std::vector<ResultSet>> exec_pipeline(PGconn* conn, const std::vector<Statement>& statements,
                                             std::unordered_set<std::string>& prepared,
                                             bool* unsettled);

// The server's message for a failed result, or the connection's.
std::string describe_error(PGconn* conn, const PGresult* res);
// SQLSTATE of a failed result ("" when none, e.g. a lost connection).
std::string sqlstate(const PGresult* res);
// An error of describe_error's with SQLSTATE 55P03 (lock_timeout, NOWAIT).
bool is_lock_not_available(const Error& error);
// Whether a failure with this SQLSTATE is worth retrying as is (see
// result.hpp). Transient: none ("", the connection's own failure); classes
// 08 (connection exception), 40 (transaction rollback: serialization
// failure, deadlock), 53 (insufficient resources: too many connections, out
// of memory or disk), 57 (operator intervention: canceled, statement
// timeout, shutdown), 58 (system error) and XX (internal error); and 55P03
// (lock not available: lock_timeout, NOWAIT). Every other SQLSTATE is
// permanent: 22 data exception, 23 integrity constraint violation, 42
// syntax error or undefined object, P0 raised by PL/pgSQL (a trigger's
// RAISE), and the rest; but MF001, mesoflow.fence's refusal, is fenced.
inline constexpr std::string_view kFencedSqlstate = "MF001";
ErrorKind error_kind(std::string_view sqlstate);
// The Error for a failed result (null: for the connection's last failure):
// describe_error's message, the kind of its SQLSTATE, and transient whatever
// the SQLSTATE when the connection is broken (a FATAL error ended it).
Error error_of(PGconn* conn, const PGresult* res);
// True when the connection can no longer be used.
bool is_broken(const PGconn* conn);

// Typed readers of one field of a text-format result.
inline bool is_null(const PGresult* res, int row, int col) {
    return PQgetisnull(res, row, col) != 0;
}
inline std::string_view text(const PGresult* res, int row, int col) {
    return {PQgetvalue(res, row, col), static_cast<std::size_t>(PQgetlength(res, row, col))};
}
std::int64_t to_int64(const PGresult* res, int row, int col);
int to_int(const PGresult* res, int row, int col);
double to_double(const PGresult* res, int row, int col);
bool to_bool(const PGresult* res, int row, int col);
std::optional<std::int64_t> opt_int64(const PGresult* res, int row, int col);
std::optional<int> opt_int(const PGresult* res, int row, int col);
std::optional<double> opt_double(const PGresult* res, int row, int col);
std::optional<bool> opt_bool(const PGresult* res, int row, int col);
std::optional<std::string> opt_text(const PGresult* res, int row, int col);
// NULL reads as "".
std::string text_or_empty(const PGresult* res, int row, int col);

}  // namespace mesoflow::store::pg
