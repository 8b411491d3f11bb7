#include "pg.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <optional>
#include <stdexcept>

#include "mesoflow/common/log.hpp"

namespace mesoflow::store::pg {
namespace {

constexpr const char* kConnectTimeoutSeconds = "10";
// Detects a silently dead server on TCP within about a minute.
constexpr const char* kKeepalivesIdleSeconds = "30";
constexpr const char* kKeepalivesIntervalSeconds = "10";
constexpr const char* kKeepalivesCount = "3";

void log_notice(void* /*arg*/, const char* message) {
    std::string_view text(message);
    while (!text.empty() && text.back() == '\n')
        text.remove_suffix(1);
    log::debug("postgres_notice", "message={}", log::quote(text));
}

std::string format_double(double value) {
    return fmt::format("{}", value);
}

// Field values come from the server in canonical text form; a parse failure
// means the query and the reader disagree: a programming error.
template <typename Number>
Number parse_number(std::string_view text) {
    Number out{};
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
        throw std::logic_error("not a number field: " + std::string(text));
    }
    return out;
}

}  // namespace

namespace {

// libpq's reason a connection string cannot be read quotes the part it
// stopped at, which may be the password: every quoted part is left out.
std::string unreadable_dsn_reason(std::string_view message) {
    std::string out;
    bool quoted = false;
    for (const char c : message) {
        if (c == '"') {
            out += quoted ? "\"" : "\"...";
            quoted = !quoted;
        } else if (!quoted && c != '\n') {
            out += c;
        }
    }
    return out;
}

}  // namespace

Result<Connection> connect(const std::string& dsn, const SessionDefaults& defaults) {
    {
        char* error = nullptr;
        PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &error);
        if (parsed == nullptr) {
            std::string reason = error != nullptr ? unreadable_dsn_reason(error) : "out of memory";
            PQfreemem(error);
            return Error{"cannot connect to PostgreSQL: the connection string cannot be read: " +
                         reason};
        }
        PQconninfoFree(parsed);
    }
    // No JIT: mesoflow's statements are short and many, and a claim over
    // several queues is estimated large enough for the server to spend
    // about 100 ms compiling each one (measured: 90 ms a claim with JIT,
    // 15-25 ms without).
    std::string options = "-c jit=off";
    if (defaults.statement_timeout_ms > 0)
        options += fmt::format(" -c statement_timeout={}", defaults.statement_timeout_ms);
    if (defaults.idle_in_transaction_timeout_ms > 0) {
        options += fmt::format(" -c idle_in_transaction_session_timeout={}",
                               defaults.idle_in_transaction_timeout_ms);
    }
    const std::string user_timeout = std::to_string(defaults.tcp_user_timeout_ms);
    const std::string connect_timeout = std::to_string(defaults.connect_timeout_s);
    // Later keywords override earlier ones, and dbname expands to the whole
    // DSN: putting it last lets the operator's DSN override every default.
    std::vector<const char*> keys = {"application_name", "connect_timeout",     "keepalives",
                                     "keepalives_idle",  "keepalives_interval", "keepalives_count"};
    std::vector<const char*> values = {
        defaults.application_name.c_str(), kConnectTimeoutSeconds, "1", kKeepalivesIdleSeconds,
        kKeepalivesIntervalSeconds,        kKeepalivesCount};
    if (defaults.tcp_user_timeout_ms > 0) {
        keys.push_back("tcp_user_timeout");
        values.push_back(user_timeout.c_str());
    }
    keys.push_back("options");
    values.push_back(options.c_str());
    keys.push_back("dbname");
    values.push_back(dsn.c_str());
    // A connect timeout the caller insists on comes after the DSN.
    if (defaults.connect_timeout_s > 0) {
        keys.push_back("connect_timeout");
        values.push_back(connect_timeout.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    Connection conn(PQconnectdbParams(keys.data(), values.data(), 1));
    if (!conn)
        return Error{"out of memory connecting to PostgreSQL"};
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        std::string message = PQerrorMessage(conn.get());
        while (!message.empty() && message.back() == '\n')
            message.pop_back();
        return Error{"cannot connect to PostgreSQL: " + message};
    }
    PQsetNoticeProcessor(conn.get(), log_notice, nullptr);
    return conn;
}

Params& Params::add(std::string value) {
    values_.emplace_back(std::move(value));
    return *this;
}
Params& Params::add(std::int64_t value) {
    return add(std::to_string(value));
}
Params& Params::add(double value) {
    return add(format_double(value));
}
Params& Params::add(bool value) {
    return add(std::string(value ? "t" : "f"));
}
Params& Params::add_null() {
    values_.emplace_back(std::nullopt);
    return *this;
}

std::vector<const char*> Params::pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& v : values_)
        out.push_back(v ? v->c_str() : nullptr);
    return out;
}

bool append_copy_text(std::string& out, std::string_view value) {
    for (const char c : value) {
        switch (c) {
            case '\0':
                return false;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += c;
        }
    }
    return true;
}

void CopyRows::separator() {
    if (!row_empty_)
        text_ += '\t';
    row_empty_ = false;
}

void CopyRows::push(std::string_view value) {
    separator();
    if (!append_copy_text(text_, value))
        holds_nul_ = true;
}

void CopyRows::push(std::int64_t value) {
    separator();
    text_ += std::to_string(value);
}

void CopyRows::push(bool value) {
    separator();
    text_ += value ? 't' : 'f';
}

void CopyRows::push_null() {
    separator();
    text_ += "\\N";
}

void CopyRows::push_text_or_null(std::string_view value) {
    if (value.empty()) {
        push_null();
    } else {
        push(value);
    }
}

void CopyRows::end_row() {
    text_ += '\n';
    row_empty_ = true;
}

void ArrayLiteral::separator() {
    if (!empty_)
        text_ += ',';
    empty_ = false;
}

void ArrayLiteral::push(std::string_view value) {
    separator();
    text_ += '"';
    for (const char c : value) {
        if (c == '"' || c == '\\')
            text_ += '\\';
        text_ += c;
    }
    text_ += '"';
}

void ArrayLiteral::push(std::int64_t value) {
    separator();
    text_ += std::to_string(value);
}

void ArrayLiteral::push(double value) {
    separator();
    text_ += format_double(value);
}

void ArrayLiteral::push(bool value) {
    separator();
    text_ += value ? 't' : 'f';
}

void ArrayLiteral::push_null() {
    separator();
    text_ += "NULL";
}

void ArrayLiteral::push_text_or_null(std::string_view value) {
    if (value.empty()) {
        push_null();
    } else {
        push(value);
    }
}

std::string describe_error(PGconn* conn, const PGresult* res) {
    std::string message;
    if (res != nullptr) {
        if (const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
            message = primary;
            const std::string state = sqlstate(res);
            // A unique violation's detail names the duplicate key; a check
            // violation's detail repeats the whole row, which helps nobody.
            const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
            if (detail != nullptr && state != "23514")
                message += fmt::format(" ({})", detail);
            if (!state.empty())
                message += fmt::format(" [SQLSTATE {}]", state);
            return message;
        }
    }
    message = conn != nullptr ? PQerrorMessage(conn) : "no connection";
    while (!message.empty() && message.back() == '\n')
        message.pop_back();
    if (message.empty())
        message = "unknown PostgreSQL error";
    return message;
}

std::string sqlstate(const PGresult* res) {
    if (res == nullptr)
        return {};
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state != nullptr ? state : "";
}

bool is_lock_not_available(const Error& error) {
    constexpr std::string_view tag = "[SQLSTATE 55P03]";
    return error.message.size() >= tag.size() &&
           error.message.compare(error.message.size() - tag.size(), tag.size(), tag) == 0;
}

bool is_broken(const PGconn* conn) {
    return conn == nullptr || PQstatus(conn) != CONNECTION_OK;
}

ErrorKind error_kind(std::string_view state) {
    if (state.size() != 5)
        return ErrorKind::transient;
    if (state == "55P03")
        return ErrorKind::transient;
    if (state == kFencedSqlstate)
        return ErrorKind::fenced;
    const std::string_view cls = state.substr(0, 2);
    for (const std::string_view transient : {"08", "40", "53", "57", "58", "XX"}) {
        if (cls == transient)
            return ErrorKind::transient;
    }
    return ErrorKind::permanent;
}

Error error_of(PGconn* conn, const PGresult* res) {
    Error error{describe_error(conn, res)};
    error.kind = is_broken(conn) ? ErrorKind::transient : error_kind(sqlstate(res));
    return error;
}

namespace {

Result<ResultSet> check(PGconn* conn, ResultSet res) {
    const auto status = PQresultStatus(res.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    return error_of(conn, res.get());
}

}  // namespace

Result<ResultSet> exec(PGconn* conn, const char* sql, const Params& params) {
    const auto values = params.pointers();
    ResultSet res(
        PQexecParams(conn, sql, params.size(), nullptr, values.data(), nullptr, nullptr, 0));
    return check(conn, std::move(res));
}

Status prepare(PGconn* conn, const char* name, const char* sql) {
    auto res = check(conn, ResultSet(PQprepare(conn, name, sql, 0, nullptr)));
    if (!res)
        return res.error();
    return {};
}

Result<ResultSet> exec_prepared(PGconn* conn, const char* name, const Params& params) {
    const auto values = params.pointers();
    ResultSet res(PQexecPrepared(conn, name, params.size(), values.data(), nullptr, nullptr, 0));
    return check(conn, std::move(res));
}

Result<std::vector<ResultSet>> exec_pipeline(PGconn* conn, const std::vector<Statement>& statements,
                                             std::unordered_set<std::string>& prepared,
                                             bool* unsettled) {
    *unsettled = false;
    if (PQenterPipelineMode(conn) != 1)
        return error_of(conn, nullptr);
    // What each command sent is: a PREPARE (index into statements, true) or
    // the statement itself (false). libpq copies the parameters as it sends.
    std::vector<std::pair<std::size_t, bool>> commands;
    std::optional<Error> error;
    for (std::size_t i = 0; i < statements.size() && !error; ++i) {
        const Statement& s = statements[i];
        const auto values = s.params.pointers();
        if (s.name != nullptr && !prepared.contains(s.name)) {
            if (PQsendPrepare(conn, s.name, s.sql, 0, nullptr) != 1) {
                error = error_of(conn, nullptr);
                break;
            }
            commands.emplace_back(i, true);
        }
        const int sent = s.name != nullptr
                             ? PQsendQueryPrepared(conn, s.name, s.params.size(), values.data(),
                                                   nullptr, nullptr, 0)
                             : PQsendQueryParams(conn, s.sql, s.params.size(), nullptr,
                                                 values.data(), nullptr, nullptr, 0);
        if (sent != 1) {
            error = error_of(conn, nullptr);
            break;
        }
        commands.emplace_back(i, false);
    }
    if (PQpipelineSync(conn) != 1 && !error)
        error = error_of(conn, nullptr);
    // Each command's results end with a null; the sync's result ends the
    // pipeline. Two nulls in a row, or a lost connection, mean the rest
    // will never come.
    std::vector<ResultSet> results(statements.size());
    std::size_t command = 0;
    bool synced = false;
    bool after_null = false;
    bool skipped = false;  // the server skipped a statement after a failure
    while (!synced) {
        ResultSet res(PQgetResult(conn));
        if (!res) {
            if (after_null || is_broken(conn))
                break;
            after_null = true;
            ++command;
            continue;
        }
        after_null = false;
        const auto status = PQresultStatus(res.get());
        if (status == PGRES_PIPELINE_SYNC) {
            synced = true;
            break;
        }
        if (command >= commands.size())
            continue;
        const auto [index, is_prepare] = commands[command];
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            if (is_prepare) {
                prepared.insert(statements[index].name);
            } else {
                results[index] = std::move(res);
            }
        } else if (status == PGRES_PIPELINE_ABORTED) {
            skipped = true;
        } else if (!error) {
            // The failure itself: its message and its kind are the batch's.
            error = error_of(conn, res.get());
        }
    }
    if (!error && skipped) {
        // Skips come after the failure that caused them; one without it
        // means the failure's result was lost with the connection.
        error = Error{"skipped after an earlier error in the pipeline"};
    }
    if (!synced || PQexitPipelineMode(conn) != 1) {
        *unsettled = true;
        if (!error) {
            error = is_broken(conn) ? error_of(conn, nullptr)
                                    : Error{"the pipeline did not end cleanly"};
        }
    }
    if (error)
        return *std::move(error);
    return results;
}

Result<ResultSet> exec_script(PGconn* conn, std::string_view sql) {
    const std::string text(sql);
    return check(conn, ResultSet(PQexec(conn, text.c_str())));
}

std::int64_t to_int64(const PGresult* res, int row, int col) {
    return parse_number<std::int64_t>(text(res, row, col));
}

int to_int(const PGresult* res, int row, int col) {
    return parse_number<int>(text(res, row, col));
}

double to_double(const PGresult* res, int row, int col) {
    return parse_number<double>(text(res, row, col));
}

bool to_bool(const PGresult* res, int row, int col) {
    return text(res, row, col) == "t";
}

std::optional<std::int64_t> opt_int64(const PGresult* res, int row, int col) {
    if (is_null(res, row, col))
        return std::nullopt;
    return to_int64(res, row, col);
}

std::optional<int> opt_int(const PGresult* res, int row, int col) {
    if (is_null(res, row, col))
        return std::nullopt;
    return to_int(res, row, col);
}

std::optional<double> opt_double(const PGresult* res, int row, int col) {
    if (is_null(res, row, col))
        return std::nullopt;
    return to_double(res, row, col);
}

std::optional<bool> opt_bool(const PGresult* res, int row, int col) {
    if (is_null(res, row, col))
        return std::nullopt;
    return to_bool(res, row, col);
}

std::optional<std::string> opt_text(const PGresult* res, int row, int col) {
    if (is_null(res, row, col))
        return std::nullopt;
    return std::string(text(res, row, col));
}

std::string text_or_empty(const PGresult* res, int row, int col) {
    return std::string(text(res, row, col));
}

}  // namespace mesoflow::store::pg
