// TaskStore, the producers' side: what `mesoflow submit`, `kill` and `status`
// do to the queue table. Any SQL client may do the same; these calls only
// spare the CLI the SQL.
#include <algorithm>
#include <string>
#include <vector>

#include "database.hpp"
#include "mesoflow/store/task_store.hpp"
#include "pg.hpp"
#include "task_columns.hpp"
#include "task_rows.hpp"

namespace mesoflow::store {
namespace {

// Collects the columns a NewTask sets; unset ones keep the table's defaults.
class InsertBuilder {
  public:
    template <typename T>
    void set(const char* column, const T& value, const char* cast = "") {
        columns_ += (columns_.empty() ? "" : ", ") + std::string(column);
        params_.add(value);
        placeholders_ +=
            (placeholders_.empty() ? "$" : ", $") + std::to_string(params_.size()) + cast;
    }
    std::string sql() const {
        return "INSERT INTO mesoflow.tasks (" + columns_ + ") VALUES (" + placeholders_ +
               ") RETURNING id";
    }
    const pg::Params& params() const { return params_; }

  private:
    std::string columns_;
    std::string placeholders_;
    pg::Params params_;
};

std::string like_prefix(const std::string& prefix) {
    std::string out;
    for (const char c : prefix) {
        if (c == '%' || c == '_' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "%";
}

}  // namespace

Result<std::int64_t> TaskStore::insert_task(const NewTask& task) {
    TaskColumnValues values;
    task_column_values(task, values);
    InsertBuilder b;
    for (std::size_t i = 0; i < kNewTaskColumns.size(); ++i) {
        if (values[i])
            b.set(kNewTaskColumns[i].name, *values[i], kNewTaskColumns[i].cast);
    }
    auto res = db_->exec(b.sql().c_str(), b.params());
    if (!res)
        return Error{"task " + task.key + " refused: " + res.error().message, res.error().kind};
    return pg::to_int64(res->get(), 0, 0);
}

Result<std::optional<task::TaskState>> TaskStore::request_kill(const std::string& key) {
    // A terminal task is left alone. The state reported is the row's after
    // the request: a pending task is killed by the request's trigger when
    // the statement ends, after its own RETURNING.
    auto requested = db_->exec(
        "UPDATE mesoflow.tasks SET kill_requested = true, updated_at = now()"
        " WHERE key = $1 AND NOT kill_requested"
        "   AND state NOT IN ('finished', 'failed', 'killed', 'lost', 'error')",
        pg::Params().add(key));
    if (!requested)
        return requested.error();
    auto res = db_->exec("SELECT state FROM mesoflow.tasks WHERE key = $1", pg::Params().add(key));
    if (!res)
        return res.error();
    if (PQntuples(res->get()) == 0)
        return std::optional<task::TaskState>{};
    return task::parse_task_state(pg::text(res->get(), 0, 0));
}

Result<std::optional<TaskRow>> TaskStore::find_task(const std::string& key) {
    static const std::string sql =
        std::string("SELECT ") + kTaskRowColumns + " FROM mesoflow.tasks WHERE key = $1";
    auto res = db_->exec(sql.c_str(), pg::Params().add(key));
    if (!res)
        return res.error();
    if (PQntuples(res->get()) == 0)
        return std::optional<TaskRow>{};
    return std::optional<TaskRow>{read_task_row(res->get(), 0)};
}

Result<std::vector<TaskRow>> TaskStore::list_tasks(const TaskFilter& filter) {
    std::string sql = std::string("SELECT ") + kTaskRowColumns + " FROM mesoflow.tasks WHERE true";
    pg::Params params;
    if (!filter.states.empty()) {
        pg::ArrayLiteral states;
        for (const auto s : filter.states)
            states.push(to_string(s));
        params.add(states.str());
        sql += " AND state = ANY($" + std::to_string(params.size()) + "::text[])";
    }
    if (!filter.key_prefix.empty()) {
        params.add(like_prefix(filter.key_prefix));
        sql += " AND key LIKE $" + std::to_string(params.size());
    }
    if (!filter.queue.empty()) {
        params.add(filter.queue);
        sql += " AND queue = $" + std::to_string(params.size());
    }
    if (filter.before_id > 0) {
        params.add(filter.before_id);
        sql += " AND id < $" + std::to_string(params.size());
    }
    params.add(std::clamp(filter.limit, 0, kMaxPageSize));
    sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
    auto res = db_->exec(sql.c_str(), params);
    if (!res)
        return res.error();
    std::vector<TaskRow> out;
    for (int i = 0; i < PQntuples(res->get()); ++i)
        out.push_back(read_task_row(res->get(), i));
    return out;
}

Result<std::vector<HistoryEntry>> TaskStore::task_history(std::int64_t task_id) {
    static const std::string sql = std::string("SELECT ") + kHistoryColumns +
                                   " FROM mesoflow.task_history WHERE task_id = $1 ORDER BY id";
    auto res = db_->exec(sql.c_str(), pg::Params().add(task_id));
    if (!res)
        return res.error();
    std::vector<HistoryEntry> out;
    for (int i = 0; i < PQntuples(res->get()); ++i) {
        out.push_back(read_history_entry(res->get(), i));
    }
    return out;
}

}  // namespace mesoflow::store
