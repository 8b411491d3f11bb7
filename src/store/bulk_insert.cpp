// TaskStore::insert_tasks: a producer's many tasks in one transaction,
// streamed through COPY ... FROM STDIN (text format). Columns a task leaves
// unset are sent as the column's default, evaluated once in the
// transaction (so not_before's now() is the transaction's, as for an
// INSERT), or, for those the queue gives, as the row's queue gives them
// (mesoflow.queue_defaults(), read in the same transaction, resolves them
// as mesoflow.apply_queue_defaults does; the transaction sets
// mesoflow.queue_defaults_resolved, so that the trigger does not look the
// queue up again for each row: a file takes its queues' defaults as they
// were when it started). The BEFORE INSERT row triggers, which COPY
// fires as INSERT does, judge every row. Without skip_existing the rows go
// straight into
// mesoflow.tasks; with it, into a temporary table first, then
// INSERT ... SELECT ... ON CONFLICT (key) DO NOTHING.
#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "database.hpp"
#include "mesoflow/store/task_store.hpp"
#include "pg.hpp"
#include "task_columns.hpp"

namespace mesoflow::store {
namespace {

constexpr std::size_t kCopyChunkBytes = 256 * 1024;
constexpr const char* kStagingTable = "pg_temp.mesoflow_submit";
constexpr const char* kAbortMessage = "mesoflow submit stopped the copy";

constexpr std::size_t column_at(std::string_view name) {
    for (std::size_t i = 0; i < kNewTaskColumns.size(); ++i) {
        if (name == kNewTaskColumns[i].name)
            return i;
    }
    throw std::logic_error("no such column");  // at compile time: does not compile
}

// The columns mesoflow.apply_queue_defaults fills from the row's queue, in
// the order kQueueDefaultsSql returns them.
constexpr std::array<std::size_t, 7> kQueueGiven{
    column_at("cpus"),        column_at("mem"),  column_at("disk"), column_at("gpus"),
    column_at("constraints"), column_at("role"), column_at("image")};
constexpr std::size_t kQueueColumn = column_at("queue");

// What each queue gives a row that sets none of kQueueGiven, as
// mesoflow.apply_queue_defaults gives it, as text; the row with a NULL
// name, what a queue without a row in mesoflow.queues gives (a function
// with its owner's rights: a producer needs no grant on mesoflow.queues).
// The test "submit --from gives each row what an INSERT's trigger gives
// it" holds the two to the same values.
constexpr const char* kQueueDefaultsSql =
    "SELECT name, cpus::text, mem::text, disk::text, gpus::text, constraints::text, role, image"
    " FROM mesoflow.queue_defaults()";

using QueueGiven = std::array<std::optional<std::string>, kQueueGiven.size()>;

struct QueueDefaults {
    std::unordered_map<std::string, QueueGiven> by_name;
    QueueGiven unknown;  // a queue without a row

    const QueueGiven& of(const std::string& queue) const {
        const auto it = by_name.find(queue);
        return it == by_name.end() ? unknown : it->second;
    }
};

// The file line of each row sent, kept as the rows where the difference
// between the two changes (blank lines the source skipped), not per row.
class LineMap {
  public:
    void add(std::int64_t row, std::int64_t line) {
        if (steps_.empty() || steps_.back().second != line - row)
            steps_.emplace_back(row, line - row);
    }
    std::int64_t line_of(std::int64_t row) const {
        auto it = std::upper_bound(steps_.begin(), steps_.end(), std::pair{row, INT64_MAX});
        if (it == steps_.begin())
            return row;
        return row + std::prev(it)->second;
    }

  private:
    std::vector<std::pair<std::int64_t, std::int64_t>> steps_;  // first row, line - row
};

// The row number in an error's "COPY <table>, line N" context, or 0.
std::int64_t copy_row(const PGresult* res) {
    const char* context = res != nullptr ? PQresultErrorField(res, PG_DIAG_CONTEXT) : nullptr;
    if (context == nullptr)
        return 0;
    const std::string_view text(context);
    for (std::size_t at = text.find("COPY "); at != std::string_view::npos;
         at = text.find("COPY ", at + 1)) {
        const auto line = text.find(", line ", at);
        if (line == std::string_view::npos)
            break;
        std::int64_t row = 0;
        for (std::size_t i = line + 7; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
            row = row * 10 + (text[i] - '0');
        if (row > 0)
            return row;
    }
    return 0;
}

std::string column_list(bool with_line) {
    std::string out = with_line ? "source_line" : "";
    for (const auto& c : kNewTaskColumns) {
        if (!out.empty())
            out += ", ";
        out += c.name;
    }
    return out;
}

// Runs one statement of the bulk submit.
Result<pg::ResultSet> run(PGconn* conn, const std::string& sql, const pg::Params& params = {}) {
    return pg::exec(conn, sql.c_str(), params);
}

// Each column's default as text, evaluated in this transaction; nullopt
// where the column has none (the queue's defaults then apply).
Result<TaskColumnValues> column_defaults(PGconn* conn) {
    pg::ArrayLiteral names;
    for (const auto& c : kNewTaskColumns)
        names.push(std::string_view(c.name));
    auto found = run(conn,
                     "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid)"
                     " FROM pg_attribute a JOIN pg_attrdef d"
                     "   ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                     " WHERE a.attrelid = 'mesoflow.tasks'::regclass AND NOT a.attisdropped"
                     "   AND a.attname = ANY($1::text[])",
                     pg::Params().add(names.str()));
    if (!found)
        return found.error();
    TaskColumnValues out;
    std::string select;
    std::vector<std::size_t> order;
    for (int r = 0; r < PQntuples(found->get()); ++r) {
        const auto name = pg::text(found->get(), r, 0);
        for (std::size_t i = 0; i < kNewTaskColumns.size(); ++i) {
            if (name == kNewTaskColumns[i].name) {
                select += (select.empty() ? "SELECT (" : ", (") +
                          std::string(pg::text(found->get(), r, 1)) + ")::text";
                order.push_back(i);
            }
        }
    }
    if (order.empty())
        return out;
    auto values = run(conn, select);
    if (!values)
        return values.error();
    for (std::size_t k = 0; k < order.size(); ++k)
        out[order[k]] = pg::opt_text(values->get(), 0, static_cast<int>(k));
    return out;
}

Result<QueueDefaults> queue_defaults(PGconn* conn) {
    auto found = run(conn, kQueueDefaultsSql);
    if (!found)
        return found.error();
    QueueDefaults out;
    const PGresult* res = found->get();
    for (int r = 0; r < PQntuples(res); ++r) {
        QueueGiven given;
        for (std::size_t k = 0; k < given.size(); ++k)
            given[k] = pg::opt_text(res, r, static_cast<int>(k) + 1);
        if (pg::is_null(res, r, 0))
            out.unknown = std::move(given);
        else
            out.by_name.emplace(pg::text(res, r, 0), std::move(given));
    }
    return out;
}

// Gives the columns a row leaves to its queue what the queue gives (an
// image of '' stays: the trigger reads it as no image).
void apply_queue_defaults(const QueueDefaults& queues, const TaskColumnValues& defaults,
                          TaskColumnValues& values) {
    static const std::string none;  // NULL: no queue has that name
    const auto& queue = values[kQueueColumn] ? values[kQueueColumn] : defaults[kQueueColumn];
    const QueueGiven& given = queues.of(queue ? *queue : none);
    for (std::size_t k = 0; k < kQueueGiven.size(); ++k) {
        auto& value = values[kQueueGiven[k]];
        if (!value)
            value = given[k];
    }
}

// After the INSERT from the staging table failed (and was rolled back to
// its savepoint): inserts the staged rows one by one in line order to find
// the first one the table refuses, and returns "line N: why".
std::optional<std::string> first_refused_line(PGconn* conn) {
    std::string values;
    for (const auto& c : kNewTaskColumns)
        values += std::string(values.empty() ? "" : ", ") + "r." + c.name;
    const std::string function =
        "CREATE FUNCTION pg_temp.mesoflow_submit_refusal(OUT at_line bigint, OUT err_state text,"
        "  OUT err_message text, OUT err_detail text) LANGUAGE plpgsql AS $f$"
        " DECLARE r record;"
        " BEGIN"
        "   BEGIN"
        "     FOR r IN SELECT * FROM " +
        std::string(kStagingTable) +
        " ORDER BY source_line LOOP"
        "       at_line := r.source_line;"
        "       INSERT INTO mesoflow.tasks (" +
        column_list(false) + ") VALUES (" + values +
        ") ON CONFLICT (key) DO NOTHING;"
        "     END LOOP;"
        "     at_line := NULL;"
        "   EXCEPTION WHEN OTHERS THEN"
        "     GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,"
        "       err_detail = PG_EXCEPTION_DETAIL;"
        "   END;"
        " END $f$";
    if (!run(conn, function))
        return std::nullopt;
    auto found = run(conn, "SELECT * FROM pg_temp.mesoflow_submit_refusal()");
    if (!found || PQntuples(found->get()) != 1 || pg::is_null(found->get(), 0, 0))
        return std::nullopt;
    const PGresult* res = found->get();
    const std::string state = pg::text_or_empty(res, 0, 1);
    std::string message =
        fmt::format("line {}: {}", pg::to_int64(res, 0, 0), pg::text_or_empty(res, 0, 2));
    // As pg::describe_error: a check violation's detail only repeats the row.
    if (const auto detail = pg::text_or_empty(res, 0, 3); !detail.empty() && state != "23514")
        message += fmt::format(" ({})", detail);
    return message + fmt::format(" [SQLSTATE {}]", state);
}

}  // namespace

Result<BulkResult> TaskStore::insert_tasks(const BulkSource& next, bool skip_existing) {
    auto got = db_->get();
    if (!got)
        return got.error();
    PGconn* conn = *got;
    // Ends the transaction on every way out but the commit.
    struct Rollback {
        PGconn* conn;
        bool armed = true;
        ~Rollback() {
            if (!armed || pg::is_broken(conn))
                return;
            while (PGresult* r = PQgetResult(conn))
                PQclear(r);
            if (PQtransactionStatus(conn) != PQTRANS_IDLE)
                PQclear(PQexec(conn, "ROLLBACK"));
        }
    } rollback{conn};

    // A long file is one long COPY: the statement timeout would measure the
    // file, not the server.
    // The queues' defaults as text that reads back as the same float8 on
    // any server; and this transaction's word that it gave them.
    for (const char* sql :
         {"BEGIN", "SET LOCAL statement_timeout = 0", "SET LOCAL extra_float_digits = 3",
          "SELECT set_config('mesoflow.queue_defaults_resolved', txid_current()::text, true)"}) {
        if (auto done = run(conn, sql); !done)
            return done.error();
    }
    auto defaults = column_defaults(conn);
    if (!defaults)
        return defaults.error();
    auto queues = queue_defaults(conn);
    if (!queues)
        return queues.error();
    std::string copy;
    if (skip_existing) {
        auto created = run(conn, fmt::format("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS"
                                             " SELECT 0::bigint AS source_line, {} FROM"
                                             " mesoflow.tasks WITH NO DATA",
                                             kStagingTable, column_list(false)));
        if (!created)
            return created.error();
        copy = fmt::format("COPY {} ({}) FROM STDIN", kStagingTable, column_list(true));
    } else {
        copy = fmt::format("COPY mesoflow.tasks ({}) FROM STDIN", column_list(false));
    }
    {
        pg::ResultSet started(PQexec(conn, copy.c_str()));
        if (PQresultStatus(started.get()) != PGRES_COPY_IN)
            return pg::error_of(conn, started.get());
    }

    LineMap lines;
    std::int64_t rows = 0;
    std::string buffer;
    buffer.reserve(kCopyChunkBytes + 64 * 1024);
    TaskColumnValues values;
    std::optional<Error> refused;  // by the source, or a NUL byte
    bool sent = true;
    const auto flush = [&] {
        if (sent && !buffer.empty()) {
            sent = PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) == 1;
        }
        buffer.clear();
    };
    while (sent) {
        auto item = next();
        if (!item) {
            refused = item.error();
            break;
        }
        if (!*item)
            break;
        const std::size_t row_start = buffer.size();
        ++rows;
        lines.add(rows, (*item)->line);
        task_column_values((*item)->task, values);
        apply_queue_defaults(*queues, *defaults, values);
        if (skip_existing)
            buffer += fmt::format("{}\t", (*item)->line);
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i > 0)
                buffer += '\t';
            const auto& value = values[i] ? values[i] : (*defaults)[i];
            if (!value) {
                buffer += "\\N";
            } else if (!pg::append_copy_text(buffer, *value)) {
                refused = Error{fmt::format("line {}: {}: text cannot hold a NUL character",
                                            (*item)->line, kNewTaskColumns[i].name),
                                ErrorKind::permanent};
                buffer.resize(row_start);
                break;
            }
        }
        if (refused)
            break;
        buffer += '\n';
        if (buffer.size() >= kCopyChunkBytes)
            flush();
    }
    // Even when refused: the rows before it may hold an error of the
    // table's, which comes first.
    flush();
    // Fails when the server already ended the copy with an error: that
    // error is the result read next.
    PQputCopyEnd(conn, refused ? kAbortMessage : nullptr);
    pg::ResultSet copied(PQgetResult(conn));
    while (PGresult* extra = PQgetResult(conn))
        PQclear(extra);
    if (PQresultStatus(copied.get()) != PGRES_COMMAND_OK) {
        const char* primary = PQresultErrorField(copied.get(), PG_DIAG_MESSAGE_PRIMARY);
        const bool stopped =
            refused && primary != nullptr && std::strstr(primary, kAbortMessage) != nullptr;
        // Else the server's error, for an earlier row than the refused one.
        if (const std::int64_t row = copy_row(copied.get()); row > 0 && !stopped) {
            auto error = pg::error_of(conn, copied.get());
            error.message = fmt::format("line {}: {}", lines.line_of(row), error.message);
            return error;
        }
        if (refused)
            return *refused;
        return pg::error_of(conn, copied.get());
    }
    if (refused)
        return *refused;

    BulkResult result;
    if (skip_existing) {
        if (auto saved = run(conn, "SAVEPOINT mesoflow_submit"); !saved)
            return saved.error();
        auto inserted = run(conn, fmt::format("INSERT INTO mesoflow.tasks ({0}) SELECT {0} FROM {1}"
                                              " ORDER BY source_line ON CONFLICT (key) DO NOTHING",
                                              column_list(false), kStagingTable));
        if (!inserted) {
            if (pg::is_broken(conn) || !run(conn, "ROLLBACK TO SAVEPOINT mesoflow_submit"))
                return inserted.error();
            if (auto line = first_refused_line(conn))
                return Error{*line, inserted.error().kind};
            return inserted.error();
        }
        result.queued = std::stoll(PQcmdTuples(inserted->get()));
    } else {
        result.queued = std::stoll(PQcmdTuples(copied.get()));
    }
    result.skipped = rows - result.queued;
    auto committed = run(conn, "COMMIT");
    rollback.armed = false;
    if (!committed)
        return committed.error();
    return result;
}

}  // namespace mesoflow::store
