// TaskStore, queues: their settings rows (mesoflow.queues) and what stands
// in each, for `mesoflow queue` and `mesoflow status`.
#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "counting.hpp"
#include "database.hpp"
#include "json_columns.hpp"
#include "mesoflow/store/task_store.hpp"
#include "pg.hpp"

namespace mesoflow::store {
namespace {

constexpr const char* kSettingsColumns =
    "name, weight, max_running, cpus, mem, disk, gpus, role, constraints::text, image";

QueueSettings read_settings(const PGresult* res, int row, int from) {
    QueueSettings q;
    q.name = pg::text(res, row, from);
    q.weight = pg::to_double(res, row, from + 1);
    q.max_running = pg::opt_int(res, row, from + 2);
    q.cpus = pg::opt_double(res, row, from + 3);
    q.mem_mb = pg::opt_double(res, row, from + 4);
    q.disk_mb = pg::opt_double(res, row, from + 5);
    q.gpus = pg::opt_double(res, row, from + 6);
    if (!pg::is_null(res, row, from + 7))
        q.role = std::string(pg::text(res, row, from + 7));
    if (!pg::is_null(res, row, from + 8))
        q.constraints = parse_json_constraints(pg::text(res, row, from + 8))
                            .value_or(std::vector<task::Constraint>{});
    if (!pg::is_null(res, row, from + 9))
        q.image = std::string(pg::text(res, row, from + 9));
    return q;
}

// Adds one column of an upsert: its value, or NULL to clear it.
template <typename T>
void upsert_column(const char* column, const std::optional<std::optional<T>>& change,
                   std::string& columns, std::string& values, std::string& updates,
                   pg::Params& params, const char* cast = "") {
    if (!change)
        return;
    if (*change)
        params.add(**change);
    else
        params.add_null();
    columns += std::string(", ") + column;
    values += ", $" + std::to_string(params.size()) + cast;
    updates += std::string(", ") + column + " = EXCLUDED." + column;
}

}  // namespace

Result<std::vector<QueueSummary>> TaskStore::queue_summaries(std::int64_t per_queue_up_to) {
    // Pending rows are counted from tasks_pending_by_queue alone, up to
    // per_queue_up_to a queue; launched ones are few, through
    // tasks_active.
    static const std::string sql =
        "WITH RECURSIVE " + pending_by_queue_ctes(1) +
        ", live AS ("
        "  SELECT queue,"
        "    count(*) FILTER (WHERE state = 'launching' AND agent_id IS NULL) AS claimed,"
        "    count(*) FILTER (WHERE (state = 'launching' AND agent_id IS NOT NULL)"
        "                     OR state IN ('staging', 'starting')) AS launched,"
        "    count(*) FILTER (WHERE state = 'running') AS running,"
        "    count(*) FILTER (WHERE state = 'killing') AS killing,"
        "    sum(cpus) AS cpus, sum(mem) AS mem, sum(disk) AS disk, sum(gpus) AS gpus"
        "  FROM mesoflow.tasks WHERE phase = 'live' GROUP BY queue"
        "), counts AS ("
        "  SELECT coalesce(w.queue, l.queue) AS queue, w.pending, w.backoff, w.capped,"
        "    l.claimed, l.launched, l.running, l.killing, l.cpus, l.mem, l.disk, l.gpus"
        "  FROM waiting w FULL JOIN live l ON l.queue = w.queue"
        ") SELECT coalesce(q.name, c.queue), coalesce(q.weight, 1), q.max_running, q.cpus, q.mem,"
        "  q.disk, q.gpus, q.role, q.constraints::text, q.image, q.name IS NOT NULL,"
        "  coalesce(c.pending, 0), coalesce(c.backoff, 0), coalesce(c.claimed, 0),"
        "  coalesce(c.launched, 0), coalesce(c.running, 0), coalesce(c.killing, 0),"
        "  coalesce(c.cpus, 0), coalesce(c.mem, 0), coalesce(c.disk, 0), coalesce(c.gpus, 0),"
        "  coalesce(c.capped, false)"
        " FROM counts c FULL JOIN mesoflow.queues q ON q.name = c.queue ORDER BY 1";
    auto res = db_->exec(sql.c_str(), pg::Params().add(per_queue_up_to));
    if (!res)
        return res.error();
    std::vector<QueueSummary> out;
    const PGresult* r = res->get();
    for (int i = 0; i < PQntuples(r); ++i) {
        QueueSummary s;
        s.settings = read_settings(r, i, 0);
        s.configured = pg::to_bool(r, i, 10);
        s.pending = pg::to_int64(r, i, 11);
        s.backoff = pg::to_int64(r, i, 12);
        s.claimed = pg::to_int64(r, i, 13);
        s.launched = pg::to_int64(r, i, 14);
        s.running = pg::to_int64(r, i, 15);
        s.killing = pg::to_int64(r, i, 16);
        s.cpus = pg::to_double(r, i, 17);
        s.mem_mb = pg::to_double(r, i, 18);
        s.disk_mb = pg::to_double(r, i, 19);
        s.gpus = pg::to_double(r, i, 20);
        s.capped = pg::to_bool(r, i, 21);
        out.push_back(std::move(s));
    }
    return out;
}

Result<QueueSettings> TaskStore::set_queue(const QueueChange& change) {
    pg::Params params;
    params.add(change.name);
    std::string columns = "name", values = "$1", updates = "updated_at = now()";
    std::optional<std::optional<double>> weight;
    if (change.weight)
        weight = std::optional<double>(change.weight->value_or(1.0));
    upsert_column("weight", weight, columns, values, updates, params);
    upsert_column("max_running", change.max_running, columns, values, updates, params);
    upsert_column("cpus", change.cpus, columns, values, updates, params);
    upsert_column("mem", change.mem_mb, columns, values, updates, params);
    upsert_column("disk", change.disk_mb, columns, values, updates, params);
    upsert_column("gpus", change.gpus, columns, values, updates, params);
    upsert_column("role", change.role, columns, values, updates, params);
    std::optional<std::optional<std::string>> constraints;
    if (change.constraints) {
        constraints = *change.constraints
                          ? std::optional<std::string>(json_constraints(**change.constraints))
                          : std::nullopt;
    }
    upsert_column("constraints", constraints, columns, values, updates, params, "::jsonb");
    upsert_column("image", change.image, columns, values, updates, params);
    const std::string sql = "INSERT INTO mesoflow.queues (" + columns + ") VALUES (" + values +
                            ") ON CONFLICT (name) DO UPDATE SET " + updates + " RETURNING " +
                            kSettingsColumns;
    auto res = db_->exec(sql.c_str(), params);
    if (!res) {
        return Error{"queue " + change.name + " refused: " + res.error().message, res.error().kind};
    }
    return read_settings(res->get(), 0, 0);
}

Result<bool> TaskStore::delete_queue(const std::string& name) {
    auto res = db_->exec("DELETE FROM mesoflow.queues WHERE name = $1", pg::Params().add(name));
    if (!res)
        return res.error();
    return std::string_view(PQcmdTuples(res->get())) != "0";
}

Result<std::optional<PendingReason>> TaskStore::pending_reason(std::int64_t task_id) {
    auto res = db_->exec("SELECT reason, detail FROM mesoflow.pending_reasons WHERE id = $1",
                         pg::Params().add(task_id));
    if (!res)
        return res.error();
    if (PQntuples(res->get()) == 0)
        return std::optional<PendingReason>{};
    return std::optional<PendingReason>{PendingReason{std::string(pg::text(res->get(), 0, 0)),
                                                      std::string(pg::text(res->get(), 0, 1))}};
}

Result<std::vector<ReasonCount>> TaskStore::pending_reason_counts() {
    auto queues = queue_summaries();
    if (!queues)
        return queues.error();
    return pending_reason_counts(*queues);
}

Result<std::vector<ReasonCount>> TaskStore::pending_reason_counts(
    const std::vector<QueueSummary>& queues) {
    // Pending rows by reason follow from the queue summaries (due or backing
    // off, and the queue's max_running against its live rows); only the
    // claimed rows' own reasons are read, through tasks_active. The
    // summaries' one pass over the pending rows is all a million of them
    // cost (the view's per-row reasons took seconds).
    auto res = db_->exec(
        "SELECT queue, coalesce(reason, 'claimed'), count(*) FROM mesoflow.tasks"
        " WHERE phase = 'live' AND state = 'launching' AND agent_id IS NULL GROUP BY 1, 2");
    if (!res)
        return res.error();
    std::vector<ReasonCount> out;
    for (const auto& q : queues) {
        const bool at_cap = q.settings.max_running && q.active() >= *q.settings.max_running;
        if (q.backoff > 0)
            out.push_back(ReasonCount{q.settings.name, "retry_backoff", q.backoff});
        if (q.pending > 0)
            out.push_back(ReasonCount{q.settings.name, at_cap ? "queue_at_max_running" : "in_line",
                                      q.pending});
    }
    for (int i = 0; i < PQntuples(res->get()); ++i) {
        out.push_back(ReasonCount{std::string(pg::text(res->get(), i, 0)),
                                  std::string(pg::text(res->get(), i, 1)),
                                  pg::to_int64(res->get(), i, 2)});
    }
    std::sort(out.begin(), out.end(), [](const ReasonCount& a, const ReasonCount& b) {
        return std::tie(a.queue, a.reason) < std::tie(b.queue, b.reason);
    });
    return out;
}

}  // namespace mesoflow::store
