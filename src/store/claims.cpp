// TaskStore's claim-ahead calls: claim_pending takes a window of the queue
// before the offers that will run it arrive, record_placements writes where
// each claimed attempt went once its ACCEPT is out, release_claims gives
// back what was never placed. The placement statement is shared with
// apply_updates, which records placements in its own transaction.
#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "claims.hpp"
#include "database.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/store/task_store.hpp"
#include "pg.hpp"
#include "task_rows.hpp"

// The reasons a claimed attempt's row says it waits: a placement clears them.
#define MESOFLOW_WAITING_REASONS "'unplaceable', 'no_offers', 'launch_window_full'"

namespace mesoflow::store {

namespace {

// An attempt no ACCEPT named goes back exactly to the attempt before (its
// Mesos task id may be used again). A kill requested meanwhile ends it
// here, as the table does for a pending task.
constexpr const char* kGiveBack =
    "  state = CASE WHEN t.kill_requested THEN 'killed' ELSE 'pending' END,"
    "  attempt = t.attempt - 1,"
    "  mesos_task_id = CASE WHEN t.attempt = 1 THEN NULL"
    "                  ELSE 'mf-' || t.id || '-' || (t.attempt - 1) END,"
    "  reason = CASE WHEN t.kill_requested THEN 'killed_before_launch'"
    "           WHEN t.reason IN (" MESOFLOW_WAITING_REASONS
    ") THEN NULL ELSE t.reason END,"
    "  message = CASE WHEN t.kill_requested THEN 'kill requested before launch'"
    "            WHEN t.reason IN (" MESOFLOW_WAITING_REASONS
    ") THEN NULL"
    "            ELSE t.message END,"
    "  finished_at = CASE WHEN t.kill_requested THEN now() ELSE t.finished_at END,"
    "  updated_at = now()";

// $1..$6: task ids, attempts, agents, hosts, offers, launch times (seconds).
pg::Params placement_params(const std::vector<LaunchRecord>& placements) {
    pg::ArrayLiteral ids, attempts, agents, hosts, offers, launched_at;
    for (const auto& p : placements) {
        ids.push(p.task_id);
        attempts.push(p.attempt);
        agents.push_text_or_null(p.agent_id);
        hosts.push_text_or_null(p.hostname);
        offers.push_text_or_null(p.offer_id);
        if (p.launched_at_us > 0) {
            launched_at.push(static_cast<double>(p.launched_at_us) / 1e6);
        } else {
            launched_at.push_null();
        }
    }
    return pg::Params()
        .add(ids.str())
        .add(attempts.str())
        .add(agents.str())
        .add(hosts.str())
        .add(offers.str())
        .add(launched_at.str());
}

// The ids a statement returned (its first column), sorted.
std::vector<std::int64_t> sorted_ids(const PGresult* res) {
    std::vector<std::int64_t> out;
    for (int i = 0; i < PQntuples(res); ++i)
        out.push_back(pg::to_int64(res, i, 0));
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

pg::Statement fence_statement(const Fence& fence) {
    return pg::Statement{"fence", "SELECT mesoflow.fence($1, $2, $3)",
                         pg::Params().add(fence.framework).add(fence.epoch).add(fence.lock_pid)};
}

Result<pg::ResultSet> exec_fenced(Database& db, const std::optional<Fence>& fence,
                                  pg::Statement statement) {
    if (!fence)
        return db.exec_prepared(statement.name, statement.sql, statement.params);
    std::vector<pg::Statement> statements;
    statements.push_back(fence_statement(*fence));
    statements.push_back(std::move(statement));
    auto done = db.transaction(std::move(statements));
    if (!done)
        return done.error();
    return std::move(done->back());
}

void TaskStore::set_fence(std::optional<Fence> fence) {
    fence_ = std::move(fence);
}

std::string launch_history_sql(std::string_view source, std::string_view from_state) {
    // As the task_history view's rule would write them (history_codes.hpp).
    // A code is written only if the table still gives it to that agent (a
    // database restored or failed over since the code was learnt may not).
    const std::string derived = "s.mesos_task_id = 'mf-' || s.id || '-' || s.attempt";
    return "INSERT INTO mesoflow.task_events (task_id, attempt, mesos_task_id, kind, from_state,"
           "  to_state, agent_id, agent_code, note, derived)"
           " SELECT s.id, s.attempt, CASE WHEN " +
           derived + " THEN NULL ELSE s.mesos_task_id END, " + history::code_sql("launch") + ", " +
           history::code_sql(from_state) + ", " + history::code_sql("launching") +
           ", CASE WHEN c.code IS NULL THEN s.agent_id END, c.code, 'offer ' || s.offer_id,"
           " CASE WHEN " +
           derived + " THEN 1 ELSE 0 END FROM " + std::string(source) +
           " s LEFT JOIN mesoflow.agent_codes c ON c.code = s.agent_code AND c.agent_id ="
           " s.agent_id";
}

pg::Statement placements_statement(const std::vector<LaunchRecord>& placements,
                                   const history::AgentCodes& codes) {
    // Only placement columns change: the attempt's status updates may have
    // committed first on another connection, and they own state, started_at
    // and the rest. An agent id an update already wrote is kept. Rows another
    // session holds are skipped, never waited for: one locked row must not
    // stall the batch; they come back (the rows after the first) to be tried
    // again. A plain read (it takes no lock) tells them from rows that are gone.
    static const std::string sql =
        "WITH locked AS ("
        "  SELECT id FROM mesoflow.tasks WHERE id = ANY($1::bigint[])"
        "  ORDER BY id FOR UPDATE SKIP LOCKED"
        "), placed AS ("
        "  UPDATE mesoflow.tasks t SET agent_id = coalesce(t.agent_id, u.agent_id),"
        "    hostname = coalesce(u.hostname, t.hostname), offer_id = u.offer_id,"
        "    launched_at = coalesce(to_timestamp(u.launched_at), now()), updated_at = now(),"
        "    reason = CASE WHEN t.reason IN (" MESOFLOW_WAITING_REASONS
        ") THEN NULL ELSE t.reason END,"
        "    message = CASE WHEN t.reason IN (" MESOFLOW_WAITING_REASONS
        ") THEN NULL ELSE t.message END"
        "  FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[],"
        "              $6::float8[], $7::int[]) AS u(id, attempt, agent_id, hostname, offer_id,"
        "              launched_at, agent_code)"
        "  JOIN locked l ON l.id = u.id"
        "  WHERE t.id = u.id AND t.attempt = u.attempt"
        "  RETURNING t.id, t.attempt, t.mesos_task_id, u.agent_id, u.agent_code, u.offer_id"
        "), history AS (" +
        launch_history_sql("placed", "pending") +
        "), busy AS ("
        "  SELECT id FROM mesoflow.tasks WHERE id = ANY($1::bigint[])"
        "  EXCEPT SELECT id FROM locked"
        ")"
        " SELECT (SELECT count(*) FROM placed), NULL::bigint"
        " UNION ALL SELECT NULL, id FROM busy";
    // $7: the agents' codes.
    pg::ArrayLiteral agent_codes;
    for (const auto& p : placements)
        agent_codes.push(history::agent_code(codes, p.agent_id));
    return pg::Statement{"record_placements", sql.c_str(),
                         placement_params(placements).add(agent_codes.str())};
}

PlacementsWritten read_placements_written(const PGresult* res) {
    PlacementsWritten out;
    for (int i = 0; i < PQntuples(res); ++i) {
        if (pg::is_null(res, i, 1)) {
            out.matched += static_cast<int>(pg::to_int64(res, i, 0));
        } else {
            out.locked.insert(pg::to_int64(res, i, 1));
        }
    }
    return out;
}

Result<PlacementsWritten> write_placements(Database& db,
                                           const std::vector<LaunchRecord>& placements,
                                           const history::AgentCodes& codes) {
    if (placements.empty())
        return PlacementsWritten{};
    const auto statement = placements_statement(placements, codes);
    auto res = db.exec_prepared(statement.name, statement.sql, statement.params);
    if (!res)
        return res.error();
    return read_placements_written(res->get());
}

namespace {

// A text[] parameter, or NULL for "any".
pg::Params& add_allowed(pg::Params& params, const std::optional<std::vector<std::string>>& names) {
    if (!names)
        return params.add_null();
    pg::ArrayLiteral array;
    for (const auto& name : *names)
        array.push(std::string_view(name));
    return params.add(array.str());
}

// The rows of claim_window's statement: claimed specs, then refused rows,
// each with what the claim saw of the queues (one row of NULLs but those
// when it took nothing).
ClaimedWindow read_claimed_window(const PGresult* rows) {
    const int refused_col = PQnfields(rows) - 5;
    ClaimedWindow out;
    out.tasks.reserve(static_cast<std::size_t>(PQntuples(rows)));
    for (int i = 0; i < PQntuples(rows); ++i) {
        out.more_due = pg::to_bool(rows, i, refused_col + 3);
        out.queue_at_cap = pg::to_bool(rows, i, refused_col + 4);
        if (pg::is_null(rows, i, 0))
            continue;
        if (pg::to_bool(rows, i, refused_col)) {
            out.refused.push_back(RefusedTask{pg::to_int64(rows, i, 0),
                                              std::string(pg::text(rows, i, 1)),
                                              std::string(pg::text(rows, i, refused_col + 1)),
                                              std::string(pg::text(rows, i, refused_col + 2))});
            continue;
        }
        out.tasks.push_back(read_task_spec(rows, i));
        // The row holds the claimed attempt; a spec counts those before it.
        out.tasks.back().attempt -= 1;
    }
    return out;
}

// Ends tasks this transaction claimed and the policy refused: the attempt
// is given back (it never reached Mesos) and the row ends failed with the
// refusal's reason and message, and a refused history row, as if the claim
// had never taken it.
pg::Statement refuse_claimed_statement(const std::vector<RefusedTask>& refused) {
    static const char* const sql =
        "WITH ended AS ("
        "  UPDATE mesoflow.tasks t SET state = 'failed', attempt = t.attempt - 1,"
        "    mesos_task_id = CASE WHEN t.attempt = 1 THEN NULL"
        "                    ELSE 'mf-' || t.id || '-' || (t.attempt - 1) END,"
        "    reason = u.reason, message = u.message, finished_at = now(), updated_at = now()"
        "  FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, reason, message)"
        "  WHERE t.id = u.id AND t.state = 'launching'"
        "  RETURNING t.id, t.attempt, t.mesos_task_id, t.reason, t.message"
        "), history AS ("
        "  INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, kind,"
        "                                     from_state, to_state, reason, message)"
        "  SELECT id, attempt, mesos_task_id, 'refused', 'pending', 'failed', reason, message"
        "  FROM ended"
        ") SELECT id FROM ended";
    pg::ArrayLiteral ids, reasons, messages;
    for (const auto& r : refused) {
        ids.push(r.id);
        reasons.push(std::string_view(r.reason));
        messages.push(std::string_view(r.message));
    }
    return pg::Statement{"refuse_claimed", sql,
                         pg::Params().add(ids.str()).add(reasons.str()).add(messages.str())};
}

// The claim's statement. The window is picked in queue order and written by
// one UPDATE, which takes no row lock of its own (a lock is a WAL record):
// a row another session changed since the statement's snapshot is judged
// again as it is now (still pending, not killed, due, in the queue that
// picked it, its user and role allowed), and a row another session holds is
// waited for at most update_lock_wait. Past that the claim runs again with `locked`: the
// candidates locked as they are read, skipping rows another transaction
// holds. The claim clears what the previous attempt left. A row naming a
// user or role the policy does not allow ends failed in the same
// statement, so it never reaches an offer.
std::string claim_sql(bool locked) {
    // Whether the row's user and role are allowed ($2, $3: NULL for any).
    static const std::string user_ok =
        "(coalesce(t.run_as_user, '') = '' OR $2::text[] IS NULL"
        " OR t.run_as_user = ANY($2::text[]))";
    static const std::string role_ok =
        "(coalesce(t.role, '') = '' OR $3::text[] IS NULL OR t.role = ANY($3::text[]))";
    return std::string(
               // The queues with pending rows, one index probe each; their
               // settings and what each holds now ($4: queues, $5: their
               // dominant shares, in the units of $6/$7); how many each may
               // claim (max_running less its launched and unfinished tasks,
               // claimed ones included, and about twice its weight's part of
               // the claim, so many queues cost little); its candidates in its
               // order (locked, skipping held rows, when `locked`); the
               // room taken by turns of weighted dominant share: a queue's
               // share with its earlier candidates added, over its weight.
               "WITH RECURSIVE queues AS ("
               "  (SELECT queue FROM mesoflow.tasks WHERE phase = 'pending' ORDER BY queue LIMIT 1)"
               "  UNION ALL"
               "  SELECT (SELECT t.queue FROM mesoflow.tasks t WHERE t.phase = 'pending'"
               "          AND t.queue > q.queue ORDER BY t.queue LIMIT 1)"
               "  FROM queues q WHERE q.queue IS NOT NULL"
               "), settings AS ("
               "  SELECT q.queue, coalesce(s.weight, 1) AS weight,"
               "    CASE WHEN s.max_running IS NOT NULL THEN greatest(0, s.max_running - ("
               "        SELECT count(*) FROM mesoflow.tasks a WHERE a.queue = q.queue"
               "          AND a.phase = 'live'))"
               "    END AS cap_room,"
               "    coalesce(u.share, 0) AS share"
               "  FROM queues q LEFT JOIN mesoflow.queues s ON s.name = q.queue"
               "  LEFT JOIN unnest($4::text[], $5::float8[]) AS u(queue, share) ON u.queue = "
               "q.queue"
               "  WHERE q.queue IS NOT NULL"
               "), rooms AS ("
               "  SELECT st.*, least($1::bigint, coalesce(st.cap_room, $1::bigint),"
               "    ceil(2.0 * $1 * st.weight / sum(st.weight) OVER ())::bigint + 1) AS room"
               "  FROM settings st"
               "), candidates AS ("
               "  SELECT c.id, r.queue,"
               "    (r.share + sum(c.unit) OVER (PARTITION BY r.queue"
               "       ORDER BY c.priority DESC, c.created_at, c.id)) / r.weight AS turn"
               "  FROM rooms r CROSS JOIN LATERAL ("
               "    SELECT id, priority, created_at,"
               "      CASE WHEN $6::float8 > 0 AND $7::float8 > 0"
               "        THEN greatest(cpus / $6::float8, mem / $7::float8) ELSE 1 END AS unit"
               "    FROM mesoflow.tasks"
               "    WHERE phase = 'pending' AND queue = r.queue AND not_before <= now()"
               "      AND NOT kill_requested"
               "    ORDER BY priority DESC, created_at, id LIMIT r.room") +
           (locked ? " FOR UPDATE SKIP LOCKED" : "") +
           ") c"
           "), picked AS ("
           "  SELECT id, queue FROM candidates ORDER BY turn, queue, id LIMIT $1"
           "), counted AS ("
           "  SELECT queue, count(*) AS k FROM candidates GROUP BY queue"
           "), held AS ("
           // Whether a queue may hold more due rows than it gave (it filled
           // a room its cap did not set), and whether one is held at its
           // max_running (it filled the room its cap left).
           "  SELECT coalesce(bool_or(coalesce(c.k, 0) = r.room AND r.room > 0"
           "                          AND (r.cap_room IS NULL OR r.room < r.cap_room)), false)"
           "           AS more,"
           "         coalesce(bool_or(r.cap_room IS NOT NULL AND coalesce(c.k, 0) = r.cap_room),"
           "                  false) AS at_cap"
           "  FROM rooms r LEFT JOIN counted c ON c.queue = r.queue"
           // Each picked row as it is now: claimed, or refused for its user
           // or role. Found by id (= ANY: the primary key's index; joined to
           // picked, the checks' low estimate made it a scan of the table
           // for each picked row). Still in the queue whose room took it, so
           // max_running holds: its queue read from a map of the picked
           // rows, built once.
           "), claimed AS ("
           "  UPDATE mesoflow.tasks t SET state = 'launching', attempt = t.attempt + 1,"
           "    mesos_task_id = 'mf-' || t.id || '-' || (t.attempt + 1), agent_id = NULL,"
           "    hostname = NULL, offer_id = NULL, last_mesos_state = NULL, message = NULL,"
           "    reason = NULL, source = NULL, exit_status = NULL, healthy = NULL,"
           "    unreachable_since = NULL,"
           "    launched_at = NULL, started_at = NULL, finished_at = NULL, updated_at = now()"
           "  WHERE t.id = ANY(ARRAY(SELECT id FROM picked)) AND t.phase = 'pending'"
           "    AND NOT t.kill_requested AND t.not_before <= now()"
           "    AND t.queue = ((SELECT jsonb_object_agg(id, queue) FROM picked) ->> t.id::text)"
           "    AND " +
           user_ok + " AND " + role_ok +
           "  RETURNING t.*"
           "), refused AS ("
           "  UPDATE mesoflow.tasks t SET state = 'failed',"
           "    reason = CASE WHEN " +
           user_ok +
           " THEN 'role_not_allowed' ELSE 'user_not_allowed' END,"
           "    message = CASE WHEN " +
           user_ok +
           "      THEN 'role ' || quote_literal(t.role) || ' is not allowed: the operator allows"
           " the roles in allowed_roles (and roles); nothing was launched'"
           "      ELSE 'run_as_user ' || quote_literal(t.run_as_user) || ' is not allowed: the"
           " operator allows the users in allowed_users; nothing was launched' END,"
           "    last_mesos_state = NULL, source = NULL, exit_status = NULL, healthy = NULL,"
           "    finished_at = now(), updated_at = now()"
           "  WHERE t.id = ANY(ARRAY(SELECT id FROM picked)) AND t.phase = 'pending' AND NOT (" +
           user_ok + " AND " + role_ok +
           ")"
           "  RETURNING t.*"
           "), history AS ("
           "  INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, kind,"
           "                                     from_state, to_state, reason, message)"
           "  SELECT id, attempt, mesos_task_id, 'refused', 'pending', 'failed', reason, message"
           "  FROM refused"
           ") SELECT " +
           kTaskSpecColumns +
           ", state = 'failed', reason, message, held.more, held.at_cap FROM ("
           "  SELECT * FROM claimed UNION ALL SELECT * FROM refused) w RIGHT JOIN held ON true"
           " ORDER BY state = 'failed', priority DESC, created_at, id";
}

}  // namespace

Result<std::vector<task::TaskSpec>> TaskStore::claim_pending(int limit) {
    auto window = claim_window(limit, LaunchPolicy{});
    if (!window)
        return window.error();
    return std::move(window->tasks);
}

Result<ClaimedWindow> TaskStore::claim_window(int limit, const LaunchPolicy& policy,
                                              const ClaimShares& shares) {
    static const std::string unlocked_sql = claim_sql(false);
    static const std::string locked_sql = claim_sql(true);
    auto params = [&] {
        pg::Params p;
        p.add(std::clamp(limit, 0, kMaxPageSize));
        add_allowed(p, policy.users);
        add_allowed(p, policy.roles);
        pg::ArrayLiteral queues, used;
        for (const auto& [queue, share] : shares.used) {
            queues.push(std::string_view(queue));
            used.push(share);
        }
        p.add(queues.str()).add(used.str()).add(shares.capacity_cpus).add(shares.capacity_mem_mb);
        return p;
    };
    // One transaction: the wait allowed for a held row (unlocked only), the
    // fence, the claim; with a policy, its refusals before the commit.
    const std::string lock_wait = db_->update_lock_wait_sql();
    auto claim = [&](bool locked) -> Result<ClaimedWindow> {
        std::vector<pg::Statement> first;
        if (!locked)
            first.push_back(pg::Statement{nullptr, lock_wait.c_str(), {}});
        if (fence_)
            first.push_back(fence_statement(*fence_));
        first.push_back(locked ? pg::Statement{"claim_window_locked", locked_sql.c_str(), params()}
                               : pg::Statement{"claim_window", unlocked_sql.c_str(), params()});
        if (!policy.refuse) {
            auto done = db_->transaction(std::move(first));
            if (!done)
                return done.error();
            return read_claimed_window(done->back().get());
        }
        // The policy judges what was claimed before it commits: the claim
        // and the refusals are one transaction, so a refused task is never
        // left claimed, whatever fails in between.
        auto fail = [&](const Error& error) -> Error {
            db_->abort_transaction();
            return error;
        };
        auto begun = db_->begin_with(std::move(first));
        if (!begun)
            return fail(begun.error());
        ClaimedWindow out = read_claimed_window(begun->back().get());
        std::vector<RefusedTask> refused;
        std::vector<task::TaskSpec> kept;
        kept.reserve(out.tasks.size());
        for (auto& spec : out.tasks) {
            if (auto why = policy.refuse(spec)) {
                refused.push_back(RefusedTask{spec.id, spec.key, std::move(why->reason),
                                              std::move(why->message)});
            } else {
                kept.push_back(std::move(spec));
            }
        }
        std::vector<pg::Statement> last;
        if (!refused.empty())
            last.push_back(refuse_claimed_statement(refused));
        if (auto committed = db_->commit_after(std::move(last)); !committed)
            return fail(committed.error());
        out.tasks = std::move(kept);
        out.refused.insert(out.refused.end(), std::make_move_iterator(refused.begin()),
                           std::make_move_iterator(refused.end()));
        return out;
    };
    auto out = claim(false);
    if (out || !pg::is_lock_not_available(out.error()))
        return out;
    log::info("claim_row_held", "limit={} waited_ms={}", limit, db_->update_lock_wait().count());
    return claim(true);
}

Result<int> TaskStore::record_placements(const std::vector<LaunchRecord>& placements) {
    if (auto numbered = number_agents(placements); !numbered)
        return numbered.error();
    auto written = write_placements(*db_, placements, agent_codes_);
    if (!written)
        return written.error();
    return written->matched;
}

namespace {

// One launch row per attempt placed (`placed`: task id and attempt), as
// mesoflow.task_events stores it (history_codes.hpp), in COPY's text format
// (history::kCopyEvents): what launch_history_sql writes for a row placed,
// from the record itself.
pg::CopyRows launch_rows(const std::vector<LaunchRecord>& placements,
                         std::set<std::pair<std::int64_t, int>> placed,
                         const history::AgentCodes& codes) {
    static const int launch = history::code_of("launch").value();
    static const int launching = history::code_of("launching").value();
    pg::CopyRows r;
    for (const auto& p : placements) {
        if (placed.erase({p.task_id, p.attempt}) == 0)
            continue;  // not placed, or a repeat of a record written already
        const auto ids = history::derive_ids(p.task_id, p.attempt, p.mesos_task_id, std::nullopt);
        const auto agent = history::agent_code(codes, p.agent_id);
        r.push(p.task_id);
        r.push(p.attempt);
        r.push(ids.mesos_task_id);
        r.push(launch);
        r.push_null();  // mesos_state
        r.push_null();  // outcome
        r.push(launching);
        r.push(launching);
        r.push_null();  // reason
        r.push_null();  // source
        r.push_null();  // message
        r.push_text_or_null(agent ? std::string_view() : std::string_view(p.agent_id));
        r.push_null();  // executor_id
        r.push_null();  // status_time
        r.push_null();  // uuid
        r.push_null();  // healthy
        if (p.offer_id.empty()) {
            r.push_null();
        } else {
            r.push(std::string_view("offer " + p.offer_id));
        }
        r.push(ids.derived);
        r.push_null();  // unlisted
        r.push(agent);
        r.push_null();  // status_uuid
        r.end_row();
    }
    return r;
}

}  // namespace

Result<Placement> TaskStore::place_attempts(const std::vector<LaunchRecord>& placements) {
    if (placements.empty())
        return Placement{};
    for (const auto& p : placements) {
        for (const std::string* text : {&p.agent_id, &p.hostname, &p.offer_id}) {
            if (text->find('\0') != std::string::npos)
                return Error{"a placement's text holds a NUL byte", ErrorKind::permanent};
        }
    }
    if (auto numbered = number_agents(placements); !numbered)
        return numbered.error();
    // One transaction, two round trips. (1) BEGIN, the wait allowed for a
    // held row, the fence and the rows: each written by one conditional
    // UPDATE, which takes no lock of its own (a row lock is a WAL record),
    // and waits at most update_lock_wait for a row another session holds;
    // past that the transaction runs again with the rows locked first, in
    // id order, skipping those held. The rows are found by id (= ANY: the
    // primary key's index); the update walks the input (an index lookup
    // each). (2) The launch rows of the attempts placed, by COPY
    // (PostgreSQL logs a page's worth of copied rows as one WAL record; an
    // INSERT logs each), and COMMIT.
    static const std::string update =
        "UPDATE mesoflow.tasks t SET agent_id = u.agent_id, hostname = u.hostname,"
        "  offer_id = u.offer_id, launched_at = coalesce(to_timestamp(u.launched_at), now()),"
        "  reason = CASE WHEN t.reason IN (" MESOFLOW_WAITING_REASONS
        ") THEN NULL ELSE t.reason END,"
        "  message = CASE WHEN t.reason IN (" MESOFLOW_WAITING_REASONS
        ") THEN NULL ELSE t.message END,"
        "  updated_at = now()"
        " FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[],"
        "             $6::float8[]) AS u(id, attempt, agent_id, hostname, offer_id, launched_at)"
        " WHERE t.id = u.id AND t.attempt = u.attempt";
    static const std::string rest =
        "  RETURNING t.id, t.attempt"
        // Never placeable, as the statement's snapshot shows the row: a
        // row another session holds is stale only if it already was.
        "), stale AS ("
        "  SELECT u.id FROM unnest($1::bigint[], $2::int[]) AS u(id, attempt)"
        "  LEFT JOIN mesoflow.tasks t ON t.id = u.id"
        "  WHERE (t.id IS NULL OR t.state <> 'launching' OR t.attempt <> u.attempt"
        "         OR t.kill_requested OR t.agent_id IS NOT NULL)"
        "    AND u.id NOT IN (SELECT id FROM placed)"
        ")"
        " SELECT id, true, attempt FROM placed UNION ALL SELECT id, false, NULL FROM stale"
        " ORDER BY 1";
    static const std::string unlocked_sql =
        "WITH placed AS (" + update +
        " AND t.state = 'launching' AND NOT t.kill_requested AND t.agent_id IS NULL" + rest;
    static const std::string locked_sql =
        "WITH locked AS ("
        "  SELECT id FROM mesoflow.tasks WHERE id = ANY($1::bigint[]) AND state = 'launching'"
        "    AND NOT kill_requested AND agent_id IS NULL ORDER BY id FOR UPDATE SKIP LOCKED"
        "), placed AS (" +
        update + " AND t.id IN (SELECT id FROM locked)" + rest;
    const std::string lock_wait = db_->update_lock_wait_sql();
    const pg::Params params = placement_params(placements);
    const auto write = [&](bool lock) -> Result<Placement> {
        std::vector<pg::Statement> first;
        if (!lock)
            first.push_back(pg::Statement{nullptr, lock_wait.c_str(), {}});
        if (fence_)
            first.push_back(fence_statement(*fence_));
        first.push_back(pg::Statement{lock ? "place_attempts_locked" : "place_attempts",
                                      lock ? locked_sql.c_str() : unlocked_sql.c_str(), params});
        auto begun = db_->begin_with(std::move(first));
        if (!begun) {
            db_->abort_transaction();
            return begun.error();
        }
        if (db_->generation() != codes_generation_) {
            // Connected again since the agents' codes were learnt: they are
            // learnt again before the placement goes again.
            db_->abort_transaction();
            return Error{"the database connection changed before the placements were written"};
        }
        Placement out;
        std::set<std::pair<std::int64_t, int>> placed;
        const PGresult* rows = begun->back().get();
        out.placed.reserve(static_cast<std::size_t>(PQntuples(rows)));
        for (int i = 0; i < PQntuples(rows); ++i) {
            const auto id = pg::to_int64(rows, i, 0);
            if (!pg::to_bool(rows, i, 1)) {
                out.stale.push_back(id);
                continue;
            }
            out.placed.push_back(id);
            placed.emplace(id, pg::to_int(rows, i, 2));
        }
        if (out.placed.empty()) {
            if (auto done = db_->commit_after({}); !done) {
                db_->abort_transaction();
                return done.error();
            }
            return out;
        }
        const pg::CopyRows history = launch_rows(placements, std::move(placed), agent_codes_);
        if (auto done = db_->copy_then_commit(history::kCopyEvents, history.str(), nullptr);
            !done) {
            db_->abort_transaction();
            return done.error();
        }
        return out;
    };
    auto res = write(false);
    if (!res && pg::is_lock_not_available(res.error())) {
        log::info("placement_row_held", "placements={} waited_ms={}", placements.size(),
                  db_->update_lock_wait().count());
        res = write(true);
    }
    return res;
}

Result<std::vector<std::int64_t>> TaskStore::unplace(const std::vector<LaunchRecord>& placements) {
    if (placements.empty())
        return std::vector<std::int64_t>{};
    // No ACCEPT named the attempt: given back to the attempt before, as a
    // claim never placed is, so that no leader, this one or the next, finds
    // it launching with no one holding it.
    static const std::string sql =
        std::string("UPDATE mesoflow.tasks t SET") + kGiveBack +
        ", agent_id = NULL, hostname = NULL, offer_id = NULL, launched_at = NULL"
        " FROM unnest($1::bigint[], $2::int[], $3::text[]) AS u(id, attempt, offer_id)"
        " WHERE t.id = u.id AND t.attempt = u.attempt AND t.state = 'launching'"
        "   AND t.offer_id = u.offer_id AND t.last_mesos_state IS NULL"
        " RETURNING t.id";
    pg::ArrayLiteral ids, attempts, offers;
    for (const auto& p : placements) {
        ids.push(p.task_id);
        attempts.push(p.attempt);
        offers.push_text_or_null(p.offer_id);
    }
    auto res = db_->exec_prepared(
        "unplace", sql.c_str(), pg::Params().add(ids.str()).add(attempts.str()).add(offers.str()));
    if (!res)
        return res.error();
    return sorted_ids(res->get());
}

Result<std::vector<std::int64_t>> TaskStore::release_claims(const std::vector<ClaimRef>& claims) {
    if (claims.empty())
        return std::vector<std::int64_t>{};
    pg::ArrayLiteral ids, attempts;
    for (const auto& c : claims) {
        ids.push(c.task_id);
        attempts.push(c.attempt);
    }
    static const std::string sql =
        std::string("UPDATE mesoflow.tasks t SET") + kGiveBack +
        " FROM unnest($1::bigint[], $2::int[]) AS u(id, attempt)"
        " WHERE t.id = u.id AND t.attempt = u.attempt AND t.state = 'launching'"
        "   AND t.agent_id IS NULL AND t.offer_id IS NULL"
        " RETURNING t.id";
    auto res = db_->exec_prepared("release_claims", sql.c_str(),
                                  pg::Params().add(ids.str()).add(attempts.str()));
    if (!res)
        return res.error();
    return sorted_ids(res->get());
}

Result<std::vector<std::int64_t>> TaskStore::release_unknown_claims(
    const std::vector<std::int64_t>& held, const std::vector<LaunchRecord>& unsent) {
    // Among the live rows (the partial index on phase): launching, no status
    // update, not held, and either never placed or placed by one of
    // `unsent`. Rows another session holds are skipped; the caller asks
    // again after its next failure, and the next start reconciles the rest.
    static const std::string sql =
        std::string("UPDATE mesoflow.tasks t SET") + kGiveBack +
        ", agent_id = NULL, hostname = NULL, offer_id = NULL, launched_at = NULL"
        " WHERE t.id IN (SELECT id FROM mesoflow.tasks WHERE phase = 'live'"
        "                  AND state = 'launching' AND last_mesos_state IS NULL"
        "                  AND NOT (id = ANY($1::bigint[])) FOR UPDATE SKIP LOCKED)"
        "   AND t.state = 'launching' AND t.last_mesos_state IS NULL"
        "   AND ((t.agent_id IS NULL AND t.offer_id IS NULL)"
        "        OR (t.id, t.attempt, t.offer_id) IN"
        "           (SELECT * FROM unnest($2::bigint[], $3::int[], $4::text[])))"
        " RETURNING t.id";
    pg::ArrayLiteral held_ids, ids, attempts, offers;
    for (const auto id : held)
        held_ids.push(id);
    for (const auto& p : unsent) {
        ids.push(p.task_id);
        attempts.push(p.attempt);
        offers.push_text_or_null(p.offer_id);
    }
    auto res = exec_fenced(
        *db_, fence_,
        pg::Statement{
            "release_unknown_claims", sql.c_str(),
            pg::Params().add(held_ids.str()).add(ids.str()).add(attempts.str()).add(offers.str())});
    if (!res)
        return res.error();
    return sorted_ids(res->get());
}

namespace {

pg::Params unplaceable_params(const std::vector<UnplaceableNote>& notes) {
    pg::ArrayLiteral ids, attempts, messages;
    for (const auto& n : notes) {
        ids.push(n.task_id);
        attempts.push(n.attempt);
        messages.push(std::string_view(n.message));
    }
    return pg::Params().add(ids.str()).add(attempts.str()).add(messages.str());
}

}  // namespace

Result<std::vector<std::int64_t>> TaskStore::note_unplaceable(
    const std::vector<UnplaceableNote>& notes) {
    if (notes.empty())
        return std::vector<std::int64_t>{};
    // Only an attempt still claimed and never placed: a placement recorded
    // meanwhile (or an update) wins. Rows another session holds are skipped;
    // the next note (a new attempt) or the placement says the rest.
    static const char* const sql =
        "UPDATE mesoflow.tasks t SET reason = 'unplaceable', message = u.message,"
        "  updated_at = now()"
        " FROM unnest($1::bigint[], $2::int[], $3::text[]) AS u(id, attempt, message)"
        " WHERE t.id = u.id AND t.attempt = u.attempt AND t.state = 'launching'"
        "   AND t.agent_id IS NULL AND t.offer_id IS NULL"
        "   AND t.id IN (SELECT id FROM mesoflow.tasks WHERE id = ANY($1::bigint[])"
        "                ORDER BY id FOR UPDATE SKIP LOCKED)"
        " RETURNING t.id";
    auto res = db_->exec_prepared("note_unplaceable", sql, unplaceable_params(notes));
    if (!res)
        return res.error();
    return sorted_ids(res->get());
}

Result<std::vector<std::int64_t>> TaskStore::note_waiting(const std::vector<WaitingNote>& notes) {
    if (notes.empty())
        return std::vector<std::int64_t>{};
    // As note_unplaceable: only attempts still claimed and never placed.
    static const char* const sql =
        "UPDATE mesoflow.tasks t SET reason = u.reason, message = u.message, updated_at = now()"
        " FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[])"
        "   AS u(id, attempt, reason, message)"
        " WHERE t.id = u.id AND t.attempt = u.attempt AND t.state = 'launching'"
        "   AND t.agent_id IS NULL AND t.offer_id IS NULL"
        "   AND t.reason IS DISTINCT FROM u.reason"
        "   AND t.id IN (SELECT id FROM mesoflow.tasks WHERE id = ANY($1::bigint[])"
        "                ORDER BY id FOR UPDATE SKIP LOCKED)"
        " RETURNING t.id";
    pg::ArrayLiteral ids, attempts, reasons, messages;
    for (const auto& n : notes) {
        ids.push(n.task_id);
        attempts.push(n.attempt);
        reasons.push(n.reason);
        messages.push(n.message);
    }
    auto res = db_->exec_prepared(
        "note_waiting", sql,
        pg::Params().add(ids.str()).add(attempts.str()).add(reasons.str()).add(messages.str()));
    if (!res)
        return res.error();
    return sorted_ids(res->get());
}

Result<std::vector<std::int64_t>> TaskStore::fail_unplaceable(
    const std::vector<UnplaceableNote>& notes) {
    if (notes.empty())
        return std::vector<std::int64_t>{};
    // The attempt never reached Mesos: the row goes back to the attempt
    // before (as release_claims), and ends there.
    static const char* const sql =
        "WITH ended AS ("
        "  UPDATE mesoflow.tasks t SET state = 'failed', attempt = t.attempt - 1,"
        "    mesos_task_id = CASE WHEN t.attempt = 1 THEN NULL"
        "                    ELSE 'mf-' || t.id || '-' || (t.attempt - 1) END,"
        "    reason = 'unplaceable', message = u.message, finished_at = now(), updated_at = now()"
        "  FROM unnest($1::bigint[], $2::int[], $3::text[]) AS u(id, attempt, message)"
        "  WHERE t.id = u.id AND t.attempt = u.attempt AND t.state = 'launching'"
        "    AND t.agent_id IS NULL AND t.offer_id IS NULL AND NOT t.kill_requested"
        "  RETURNING t.id, t.attempt, t.mesos_task_id, t.message"
        "), history AS ("
        "  INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, kind,"
        "                                     from_state, to_state, reason, message)"
        "  SELECT id, attempt, mesos_task_id, 'refused', 'launching', 'failed', 'unplaceable',"
        "         message FROM ended"
        ") SELECT id FROM ended";
    auto res = db_->exec_prepared("fail_unplaceable", sql, unplaceable_params(notes));
    if (!res)
        return res.error();
    return sorted_ids(res->get());
}

}  // namespace mesoflow::store
