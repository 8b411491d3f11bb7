// TaskStore: connection handling, the scheduler's queries and the framework
// row. apply_updates lives in apply_updates.cpp, the producers' side in
// task_queue.cpp.
#include "mesoflow/store/task_store.hpp"

#include <algorithm>
#include <string>

#include "claims.hpp"
#include "counting.hpp"
#include "database.hpp"
#include "history_codes.hpp"
#include "mesoflow/common/log.hpp"
#include "pg.hpp"
#include "task_rows.hpp"

namespace mesoflow::store {
namespace {

int clamp_page(int limit) {
    return std::clamp(limit, 0, kMaxPageSize);
}

template <typename T, typename Reader>
std::vector<T> read_all(const PGresult* res, Reader read) {
    std::vector<T> out;
    const int rows = PQntuples(res);
    out.reserve(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i)
        out.push_back(read(res, i));
    return out;
}

}  // namespace

TaskStore::TaskStore(std::string dsn, std::string application_name,
                     std::chrono::milliseconds session_limit, SessionLimits limits)
    : db_(std::make_unique<Database>(std::move(dsn), std::move(application_name), session_limit,
                                     limits)) {}
TaskStore::~TaskStore() = default;
TaskStore::TaskStore(TaskStore&&) noexcept = default;
TaskStore& TaskStore::operator=(TaskStore&&) noexcept = default;

Status TaskStore::connect() {
    auto conn = db_->get();
    if (!conn)
        return conn.error();
    return {};
}

bool TaskStore::connected() const {
    return db_->connected();
}
void TaskStore::disconnect() {
    db_->disconnect();
}

Result<std::vector<task::TaskSpec>> TaskStore::fetch_pending(int limit) {
    static const std::string sql = std::string("SELECT ") + kTaskSpecColumns +
                                   " FROM mesoflow.tasks"
                                   " WHERE phase = 'pending' AND not_before <= now()"
                                   " AND NOT kill_requested"
                                   " ORDER BY priority DESC, created_at, id LIMIT $1";
    auto res =
        db_->exec_prepared("fetch_pending", sql.c_str(), pg::Params().add(clamp_page(limit)));
    if (!res)
        return res.error();
    return read_all<task::TaskSpec>(res->get(), read_task_spec);
}

Status TaskStore::number_agents(const std::vector<LaunchRecord>& placements) {
    std::vector<std::string> agents;
    agents.reserve(placements.size());
    for (const auto& p : placements)
        agents.push_back(p.agent_id);
    return number_agents(agents);
}

Status TaskStore::number_agents(const std::vector<std::string>& agents) {
    // Codes learnt on another connection, maybe another server (a failover
    // that lost the last commits renumbers): learnt again.
    const auto forget_if_reconnected = [this] {
        if (db_->generation() != codes_generation_) {
            agent_codes_.clear();
            codes_generation_ = db_->generation();
        }
    };
    // Connected first, so that the write after this uses the connection
    // the codes are learnt on (unless it is lost in between).
    if (auto connected = db_->get(); !connected)
        return connected.error();
    forget_if_reconnected();
    pg::ArrayLiteral asked;
    std::vector<std::string> added;
    for (const auto& a : agents) {
        if (a.empty() || agent_codes_.contains(a) ||
            std::find(added.begin(), added.end(), a) != added.end()) {
            continue;
        }
        asked.push(a);
        added.push_back(a);
    }
    if (added.empty())
        return Status::success();
    // The new agents are numbered (in one order, so that two sessions
    // numbering the same agents wait for each other, never deadlock), the
    // others read. An agent another session numbers at the same moment is
    // in neither answer: it stays text on this connection.
    auto res = db_->exec_prepared(
        "number_agents",
        "WITH asked AS (SELECT DISTINCT a FROM unnest($1::text[]) a"
        "), added AS ("
        "  INSERT INTO mesoflow.agent_codes (agent_id) SELECT a FROM asked"
        "  WHERE NOT EXISTS (SELECT 1 FROM mesoflow.agent_codes c WHERE c.agent_id = a)"
        "  ORDER BY a ON CONFLICT (agent_id) DO NOTHING RETURNING code, agent_id"
        ") SELECT code, agent_id FROM added"
        " UNION ALL SELECT c.code, c.agent_id FROM mesoflow.agent_codes c JOIN asked ON a = "
        "agent_id",
        pg::Params().add(asked.str()));
    if (!res && !res.error().permanent())
        return res.error();
    forget_if_reconnected();
    if (!res) {
        // Not asked again on this connection: a refusal costs the saving,
        // never a placement, and is not repeated every batch.
        log::warn("agents_not_numbered", "agents={} error={}", added.size(),
                  log::quote(res.error().message));
    }
    for (auto& a : added)
        agent_codes_.emplace(std::move(a), 0);
    for (int i = 0; res && i < PQntuples(res->get()); ++i) {
        agent_codes_.insert_or_assign(std::string(pg::text(res->get(), i, 1)),
                                      static_cast<int>(pg::to_int64(res->get(), i, 0)));
    }
    return Status::success();
}

Result<std::vector<bool>> TaskStore::record_launches(const std::vector<LaunchRecord>& launches) {
    std::vector<bool> claimed(launches.size(), false);
    if (launches.empty())
        return claimed;
    if (auto numbered = number_agents(launches); !numbered)
        return numbered.error();
    std::vector<std::int64_t> task_ids;
    for (const auto& l : launches)
        task_ids.push_back(l.task_id);
    std::sort(task_ids.begin(), task_ids.end());
    if (std::adjacent_find(task_ids.begin(), task_ids.end()) != task_ids.end()) {
        // The caller's data is wrong: the same batch would fail again.
        return Error{"a launch batch names the same task twice", ErrorKind::permanent};
    }
    pg::ArrayLiteral ids, attempts, mesos_ids, agents, hosts, offers, agent_codes;
    for (const auto& l : launches) {
        if (l.attempt < 1 || l.mesos_task_id != task::mesos_task_id(l.task_id, l.attempt)) {
            return Error{"launch record of task " + std::to_string(l.task_id) + " attempt " +
                             std::to_string(l.attempt) + " has Mesos task id '" + l.mesos_task_id +
                             "', expected '" + task::mesos_task_id(l.task_id, l.attempt) + "'",
                         ErrorKind::permanent};
        }
        ids.push(l.task_id);
        attempts.push(l.attempt);
        mesos_ids.push(l.mesos_task_id);
        agents.push(l.agent_id);
        hosts.push_text_or_null(l.hostname);
        offers.push(l.offer_id);
        agent_codes.push(history::agent_code(agent_codes_, l.agent_id));
    }
    // The claim is the WHERE clause: only a pending task at the previous
    // attempt moves, so a second claimant of the same attempt matches nothing.
    // Rows are found by id from the input and locked in id order, skipping
    // rows another claimant holds (they are its to launch): two claimants
    // neither deadlock nor wait. The same pass finds attempts this batch had
    // already claimed for the same offer, so a retry after an unknown commit
    // reports them as claimed again.
    static const std::string sql =
        "WITH input AS ("
        "  SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[],"
        "                       $6::text[], $7::int[]) AS u(id, attempt, mesos_task_id, agent_id,"
        "                                        hostname, offer_id, agent_code)"
        "), found AS ("
        "  SELECT t.id, t.state = 'pending' AS claimable, u.attempt, u.mesos_task_id,"
        "         u.agent_id, u.hostname, u.offer_id, u.agent_code FROM mesoflow.tasks t"
        "  JOIN input u ON t.id = u.id"
        "  WHERE (t.phase = 'pending' AND t.attempt = u.attempt - 1 AND NOT t.kill_requested)"
        "     OR (t.state = 'launching' AND t.attempt = u.attempt AND t.offer_id = u.offer_id)"
        "  ORDER BY t.id FOR UPDATE OF t SKIP LOCKED"
        // The claim takes the launch's values from `found`, not by joining
        // `input` again: the planner cannot see the arrays' length, and that
        // second join became a nested loop rescanning the whole input per row
        // (quadratic; 500 launches took 160 ms instead of 20).
        "), claimed AS ("
        "  UPDATE mesoflow.tasks t SET state = 'launching', attempt = f.attempt,"
        "    mesos_task_id = f.mesos_task_id, agent_id = f.agent_id, hostname = f.hostname,"
        "    offer_id = f.offer_id, last_mesos_state = NULL, message = NULL, reason = NULL,"
        "    source = NULL, exit_status = NULL, healthy = NULL, launched_at = now(),"
        "    started_at = NULL, finished_at = NULL, updated_at = now()"
        "  FROM found f"
        "  WHERE t.id = f.id AND f.claimable AND t.phase = 'pending'"
        "  RETURNING t.id, t.attempt, t.mesos_task_id, t.agent_id, f.agent_code, t.offer_id"
        "), history AS (" +
        launch_history_sql("claimed", "pending") +
        ")"
        " SELECT id FROM claimed"
        " UNION ALL"
        " SELECT id FROM found WHERE NOT claimable";
    auto res = db_->exec_prepared("record_launches", sql.c_str(),
                                  pg::Params()
                                      .add(ids.str())
                                      .add(attempts.str())
                                      .add(mesos_ids.str())
                                      .add(agents.str())
                                      .add(hosts.str())
                                      .add(offers.str())
                                      .add(agent_codes.str()));
    if (!res)
        return res.error();
    std::vector<std::int64_t> won;
    for (int i = 0; i < PQntuples(res->get()); ++i)
        won.push_back(pg::to_int64(res->get(), i, 0));
    std::sort(won.begin(), won.end());
    for (std::size_t i = 0; i < launches.size(); ++i) {
        claimed[i] = std::binary_search(won.begin(), won.end(), launches[i].task_id);
    }
    return claimed;
}

Result<std::vector<LiveAttempt>> TaskStore::pending_kills(int limit) {
    static const std::string sql =
        std::string("SELECT ") + kLiveAttemptColumns +
        " FROM mesoflow.tasks"
        " WHERE (kill_requested OR timed_out OR launch_timed_out_attempt = attempt)"
        " AND phase = 'live' ORDER BY id LIMIT $1";
    auto res =
        db_->exec_prepared("pending_kills", sql.c_str(), pg::Params().add(clamp_page(limit)));
    if (!res)
        return res.error();
    return read_all<LiveAttempt>(res->get(), read_live_attempt);
}

Result<std::vector<LiveAttempt>> TaskStore::timed_out_tasks(std::int64_t now_us, int limit) {
    static const std::string sql =
        std::string("SELECT ") + kLiveAttemptColumns + " FROM mesoflow.tasks WHERE phase = 'live'" +
        " AND timeout_s IS NOT NULL AND NOT timed_out AND started_at IS NOT NULL"
        // The bound of timeout_must_be_at_most_3650_days: a longer timeout
        // (from before schema 3) is no interval at all.
        " AND started_at + make_interval(secs => least(timeout_s, 315360000))"
        "     <= to_timestamp($1::bigint / 1000000.0)"
        " ORDER BY id LIMIT $2";
    auto res = db_->exec_prepared("timed_out_tasks", sql.c_str(),
                                  pg::Params().add(now_us).add(clamp_page(limit)));
    if (!res)
        return res.error();
    return read_all<LiveAttempt>(res->get(), read_live_attempt);
}

Result<std::vector<LiveAttempt>> TaskStore::unreachable_expired(std::int64_t now_us, double grace_s,
                                                                int limit) {
    static const std::string sql = std::string("SELECT ") + kLiveAttemptColumns +
                                   " FROM mesoflow.tasks WHERE phase = 'live'" +
                                   " AND unreachable_since IS NOT NULL"
                                   " AND unreachable_since + make_interval(secs => $2::float8)"
                                   "     <= to_timestamp($1::bigint / 1000000.0)"
                                   " ORDER BY unreachable_since, id LIMIT $3";
    auto res = db_->exec_prepared("unreachable_expired", sql.c_str(),
                                  pg::Params().add(now_us).add(grace_s).add(clamp_page(limit)));
    if (!res)
        return res.error();
    return read_all<LiveAttempt>(res->get(), read_live_attempt);
}

Result<std::vector<std::int64_t>> TaskStore::mark_timed_out(
    const std::vector<std::int64_t>& task_ids) {
    if (task_ids.empty())
        return std::vector<std::int64_t>{};
    pg::ArrayLiteral ids;
    for (const auto id : task_ids)
        ids.push(id);
    static const std::string sql =
        std::string(
            "WITH marked AS ("
            "  UPDATE mesoflow.tasks SET timed_out = true, updated_at = now()"
            "  WHERE id = ANY($1::bigint[]) AND NOT timed_out AND phase = 'live'") +
        "  RETURNING id, attempt, mesos_task_id, state"
        "), history AS ("
        "  INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, kind, from_state,"
        "                                     to_state, note)"
        "  SELECT id, attempt, mesos_task_id, 'timed_out', state, state,"
        "         'execution timeout passed; killing' FROM marked"
        ") SELECT id FROM marked ORDER BY id";
    auto res = db_->exec_prepared("mark_timed_out", sql.c_str(), pg::Params().add(ids.str()));
    if (!res)
        return res.error();
    return read_all<std::int64_t>(res->get(),
                                  [](const PGresult* r, int i) { return pg::to_int64(r, i, 0); });
}

Result<std::vector<LiveAttempt>> TaskStore::mark_launch_timed_out(std::int64_t now_us,
                                                                  double launch_timeout_s,
                                                                  int limit) {
    // Placed attempts (launched_at set) that never reached RUNNING
    // (started_at unset) within the launch timeout, selected and marked in
    // one statement. An attempt already being killed for another reason is
    // left to that kill.
    static const std::string sql =
        std::string(
            "WITH due AS ("
            "  SELECT id FROM mesoflow.tasks"
            "  WHERE phase = 'live' AND state IN ('launching', 'staging', 'starting')"
            "    AND launched_at IS NOT NULL AND agent_id IS NOT NULL AND started_at IS NULL"
            "    AND NOT kill_requested AND NOT timed_out"
            "    AND launch_timed_out_attempt IS DISTINCT FROM attempt"
            "    AND launched_at + make_interval(secs => $2::float8)"
            "        <= to_timestamp($1::bigint / 1000000.0)"
            "  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED"
            "), marked AS ("
            "  UPDATE mesoflow.tasks t SET launch_timed_out_attempt = t.attempt, updated_at = now()"
            "  FROM due WHERE t.id = due.id"
            "  RETURNING ") +
        "t.id, t.attempt, coalesce(t.mesos_task_id, '') AS mesos_task_id,"
        " coalesce(t.agent_id, '') AS agent_id, t.state, t.kill_requested, t.timed_out,"
        " true AS launch_timed_out"
        "), history AS ("
        "  INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, kind, from_state,"
        "                                     to_state, agent_id, note)"
        "  SELECT id, attempt, nullif(mesos_task_id, ''), 'timed_out', state, state, agent_id,"
        "         'launch timeout passed before TASK_RUNNING; killing' FROM marked"
        ") SELECT * FROM marked ORDER BY id";
    auto res =
        db_->exec_prepared("mark_launch_timed_out", sql.c_str(),
                           pg::Params().add(now_us).add(launch_timeout_s).add(clamp_page(limit)));
    if (!res)
        return res.error();
    return read_all<LiveAttempt>(res->get(), read_live_attempt);
}

Result<std::vector<LiveAttempt>> TaskStore::active_attempts(std::int64_t after_task_id, int limit) {
    static const std::string sql = std::string("SELECT ") + kLiveAttemptColumns +
                                   " FROM mesoflow.tasks WHERE phase = 'live'" +
                                   " AND id > $1 ORDER BY id LIMIT $2";
    auto res = db_->exec_prepared("active_attempts", sql.c_str(),
                                  pg::Params().add(after_task_id).add(clamp_page(limit)));
    if (!res)
        return res.error();
    return read_all<LiveAttempt>(res->get(), read_live_attempt);
}

Result<std::vector<QueueUsage>> TaskStore::queue_usage() {
    auto res = db_->exec_prepared(
        "queue_usage",
        "SELECT coalesce(u.queue, s.name), coalesce(s.weight, 1), s.max_running,"
        "  coalesce(u.n, 0), coalesce(u.cpus, 0), coalesce(u.mem, 0), coalesce(u.disk, 0),"
        "  coalesce(u.gpus, 0)"
        // Placed attempts only: a claimed one holds nothing on the cluster yet.
        " FROM (SELECT queue, count(*) AS n, sum(cpus) AS cpus, sum(mem) AS mem,"
        "         sum(disk) AS disk, sum(gpus) AS gpus FROM mesoflow.tasks"
        "       WHERE phase = 'live'"
        "         AND agent_id IS NOT NULL"
        "       GROUP BY queue) u"
        " FULL JOIN mesoflow.queues s ON s.name = u.queue ORDER BY 1");
    if (!res)
        return res.error();
    std::vector<QueueUsage> out;
    for (int i = 0; i < PQntuples(res->get()); ++i) {
        QueueUsage q;
        q.queue = pg::text(res->get(), i, 0);
        q.weight = pg::to_double(res->get(), i, 1);
        q.max_running = pg::opt_int(res->get(), i, 2);
        q.active = pg::to_int64(res->get(), i, 3);
        q.cpus = pg::to_double(res->get(), i, 4);
        q.mem_mb = pg::to_double(res->get(), i, 5);
        q.disk_mb = pg::to_double(res->get(), i, 6);
        q.gpus = pg::to_double(res->get(), i, 7);
        out.push_back(std::move(q));
    }
    return out;
}

Result<PendingLook> TaskStore::pending_look(std::int64_t per_queue_up_to) {
    // Each queue's first per_queue_up_to pending rows, from
    // tasks_pending_by_queue alone: this runs every poll_interval, and a pass
    // over a million pending rows took 0.3-0.5 s of the server's CPU each
    // time. A queue counted to the cap with none due among those rows may
    // have due ones further on: it counts as one due, so offers are never
    // suppressed while it may have work. Its next retry is the earliest
    // among the rows read; the poll every poll_interval finds later ones.
    static const std::string sql =
        "WITH RECURSIVE " + pending_by_queue_ctes(1) +
        // Rows of a queue at its max_running wait for it, not for offers.
        ", at_cap AS ("
        "  SELECT q.name FROM mesoflow.queues q WHERE q.max_running IS NOT NULL"
        "    AND q.max_running <= (SELECT count(*) FROM mesoflow.tasks a WHERE a.queue = q.name"
        "      AND a.phase = 'live')"
        "), " +
        pending_estimate_ctes() +
        " SELECT coalesce(sum(w.due + CASE WHEN w.capped AND w.due = 0 THEN 1 ELSE 0 END)"
        "    FILTER (WHERE w.queue NOT IN (SELECT name FROM at_cap)), 0)::bigint,"
        "  (extract(epoch FROM least(min(w.next_retry), '9999-12-31 00:00:00+00')) * 1000000)"
        "    ::bigint,"
        "  coalesce(sum(w.seen), 0)::bigint, coalesce(bool_or(w.capped), false), " +
        kPendingEstimate + " FROM waiting w";
    auto res = db_->exec_prepared("pending_look", sql.c_str(), pg::Params().add(per_queue_up_to));
    if (!res)
        return res.error();
    const PGresult* r = res->get();
    PendingLook look{pg::to_int64(r, 0, 0), pg::opt_int64(r, 0, 1), pg::to_int64(r, 0, 2)};
    if (pg::to_bool(r, 0, 3)) {
        // Past the cap: the table's statistics, never less than the rows seen.
        look.total_estimated = true;
        look.total = std::max(look.total, pg::opt_int64(r, 0, 4).value_or(0));
    }
    return look;
}

Result<std::optional<std::int64_t>> TaskStore::pending_estimate() {
    static const std::string sql =
        "WITH " + pending_estimate_ctes() + " SELECT " + kPendingEstimate;
    auto res = db_->exec(sql.c_str());
    if (!res)
        return res.error();
    return pg::opt_int64(res->get(), 0, 0);
}

Result<std::int64_t> TaskStore::pending_count() {
    auto look = pending_look();
    if (!look)
        return look.error();
    return look->due;
}

Result<std::optional<std::int64_t>> TaskStore::next_retry_at_us() {
    auto look = pending_look();
    if (!look)
        return look.error();
    return look->next_retry_us;
}

Result<std::vector<StateCount>> TaskStore::counts_by_state(std::int64_t exact_ended_pages_up_to,
                                                           bool count_pending) {
    // Pending rows from tasks_pending_by_queue alone (an index-only scan),
    // live ones through tasks_active; ended ones, the bulk of a table that
    // has run for a while, counted while the table has at most $1 pages
    // (what a count reads) and otherwise estimated: the table's rows now
    // (its statistics' density times its pages today) times each ended
    // state's share in pg_stats. A table never analyzed, or truncated since
    // (its statistics stay, its row count is unknown), is counted. Which of the two is
    // decided first, and passed to the count as a value: its plan then
    // holds only the branch taken (planned for the whole table, the count
    // of ended rows started parallel workers, 30-50 ms, even when skipped).
    static const std::string big_sql =
        "WITH " + std::string(kTableRowsEstimateCte) + ", " + column_shares_cte("state") +
        " SELECT pg_relation_size('mesoflow.tasks'::regclass)"
        "   / current_setting('block_size')::int > $1"
        "   AND (SELECT n FROM est) IS NOT NULL AND EXISTS (SELECT 1 FROM shares)";
    auto big = db_->exec(big_sql.c_str(), pg::Params().add(exact_ended_pages_up_to));
    if (!big)
        return big.error();
    const bool estimate_ended = pg::to_bool(big->get(), 0, 0);
    static const std::string sql = "WITH " + std::string(kTableRowsEstimateCte) + ", " +
                                   column_shares_cte("state") +
                                   " SELECT 'pending', count(*), false FROM mesoflow.tasks"
                                   "   WHERE phase = 'pending' AND $1"
                                   " UNION ALL SELECT state, count(*), false FROM mesoflow.tasks"
                                   "   WHERE phase = 'live' GROUP BY state"
                                   " UNION ALL SELECT state, count(*), false FROM mesoflow.tasks"
                                   "   WHERE phase = 'ended' AND NOT $2 GROUP BY state"
                                   " UNION ALL SELECT value, round(share * (SELECT n FROM est))"
                                   "   ::bigint, true FROM shares WHERE $2"
                                   "   AND value NOT IN ('pending', 'launching', 'staging',"
                                   "     'starting', 'running', 'killing')";
    auto res = db_->exec(sql.c_str(), pg::Params().add(count_pending).add(estimate_ended));
    if (!res)
        return res.error();
    std::vector<StateCount> out;
    for (int i = 0; i < PQntuples(res->get()); ++i) {
        const auto state = task::parse_task_state(pg::text(res->get(), i, 0));
        if (state && (count_pending || *state != task::TaskState::pending))
            out.push_back({*state, pg::to_int64(res->get(), i, 1), pg::to_bool(res->get(), i, 2)});
    }
    std::sort(out.begin(), out.end(),
              [](const StateCount& a, const StateCount& b) { return a.state < b.state; });
    return out;
}

Result<std::optional<FrameworkRecord>> TaskStore::load_framework(const std::string& name) {
    auto res = db_->exec(
        "SELECT name, coalesce(framework_id, ''), coalesce(leader, ''),"
        " (extract(epoch FROM leader_since) * 1000000)::bigint, leader_epoch"
        " FROM mesoflow.frameworks WHERE name = $1",
        pg::Params().add(name));
    if (!res)
        return res.error();
    if (PQntuples(res->get()) == 0)
        return std::optional<FrameworkRecord>{};
    FrameworkRecord f;
    f.name = pg::text(res->get(), 0, 0);
    f.framework_id = pg::text(res->get(), 0, 1);
    f.leader = pg::text(res->get(), 0, 2);
    f.leader_since_us = pg::opt_int64(res->get(), 0, 3);
    f.leader_epoch = pg::to_int64(res->get(), 0, 4);
    return std::optional<FrameworkRecord>{std::move(f)};
}

Result<std::optional<std::string>> TaskStore::load_framework_id(const std::string& name) {
    auto f = load_framework(name);
    if (!f)
        return f.error();
    if (!*f || (*f)->framework_id.empty())
        return std::optional<std::string>{};
    return std::optional<std::string>{(*f)->framework_id};
}

// Both behind the fence (exec_fenced): a leader that lost leadership cannot
// write its id over the one a new leader registered.
Status TaskStore::save_framework_id(const std::string& name, const std::string& framework_id,
                                    const std::string& leader) {
    static const char* const sql =
        "INSERT INTO mesoflow.frameworks AS f (name, framework_id, leader, leader_since)"
        " VALUES ($1, nullif($2::text, ''), nullif($3::text, ''),"
        "         CASE WHEN $3::text = '' THEN NULL ELSE now() END)"
        " ON CONFLICT (name) DO UPDATE SET framework_id = EXCLUDED.framework_id,"
        "   leader = coalesce(EXCLUDED.leader, f.leader),"
        "   leader_since = CASE WHEN EXCLUDED.leader IS DISTINCT FROM f.leader"
        "                       AND EXCLUDED.leader IS NOT NULL"
        "                  THEN now() ELSE f.leader_since END,"
        "   updated_at = now()";
    auto res = exec_fenced(*db_, fence_,
                           pg::Statement{"save_framework_id", sql,
                                         pg::Params().add(name).add(framework_id).add(leader)});
    if (!res)
        return res.error();
    return {};
}

Status TaskStore::forget_framework_id(const std::string& name) {
    auto res = exec_fenced(*db_, fence_,
                           pg::Statement{"forget_framework_id",
                                         "UPDATE mesoflow.frameworks SET framework_id = NULL, "
                                         "updated_at = now() WHERE name = $1",
                                         pg::Params().add(name)});
    if (!res)
        return res.error();
    return {};
}

}  // namespace mesoflow::store
