// TaskStore::apply_updates: one transaction per batch, in two round trips.
// The first (libpq pipeline mode) begins it, records the batch's placements
// and reads the rows the batch names; the pure rules of transition.hpp then
// run every update in arrival order; the second, one simple query, copies
// one history row per update (COPY: a page's rows are one WAL record),
// writes the changed rows and commits. Until COMMIT returns, nothing may be acknowledged; a failure
// anywhere rolls the whole batch back.
//
// The rows are read without a lock, and each is written only if it is still
// the version read (its xmin): a row lock is a WAL record of its own, and
// cost three of the nine records of a task's status updates. A row changed
// by another session in between (a producer's kill request, a `mesoflow`
// command) is not written, nor its updates' history: they come back as
// row_locked, for the caller to try again. A row another session holds is
// waited for at most update_lock_wait; past it the batch runs again with
// row locks (in id order, SKIP LOCKED: a held row is skipped and its updates
// come back row_locked), so one held row never stalls the updates.
#include <algorithm>
#include <map>
#include <set>

#include "claims.hpp"
#include "database.hpp"
#include "history_codes.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/store/task_store.hpp"
#include "mesoflow/task/transition.hpp"
#include "pg.hpp"

namespace mesoflow::store {
namespace {

// What the batch does to one row, accumulated over its updates.
struct RowChange {
    task::TaskSnapshot row;
    bool changed = false;
    std::optional<task::MesosTaskState> last_mesos_state;
    std::string message, reason, source, agent_id;  // "" keeps the column
    std::optional<int> exit_status;
    std::optional<bool> healthy;
    bool starts = false;
    bool finishes = false;
    std::optional<double> retry_in_s;
    int unlaunched = 0;  // attempts found never to have reached Mesos
    std::string xmin;    // the row version read; empty when the row is locked
};

// One history row per update, as mesoflow.task_events stores it
// (history_codes.hpp), in COPY's text format (history::kCopyEvents).
struct HistoryRows {
    pg::CopyRows rows;
};

constexpr const char* kRowColumns =
    "id, state, attempt, max_attempts, retry_backoff_s, retry_on_failure, kill_requested,"
    " timed_out, healthy, last_mesos_state, agent_id IS NOT NULL AS placed, unlaunched_attempts,"
    " unreachable_since IS NOT NULL AS unreachable,"
    " coalesce(launch_timed_out_attempt = attempt, false) AS launch_timed_out";

// The rows the batch names: read as they are (with their version, xmin), or
// locked.
pg::Statement read_statement(const std::vector<std::int64_t>& ids, bool lock) {
    pg::ArrayLiteral literal;
    for (const auto id : ids)
        literal.push(id);
    if (!lock) {
        static const std::string read_sql =
            std::string("SELECT ") + kRowColumns +
            ", true, xmin::text FROM mesoflow.tasks WHERE id = ANY($1::bigint[])";
        return pg::Statement{"read_task_rows", read_sql.c_str(), pg::Params().add(literal.str())};
    }
    // The rows locked, then (marked false, read without a lock, which never
    // waits) the rows that exist but another session holds.
    static const std::string lock_sql =
        std::string("WITH locked AS (  SELECT ") + kRowColumns +
        "  FROM mesoflow.tasks WHERE id = ANY($1::bigint[])"
        "  ORDER BY id FOR UPDATE SKIP LOCKED"
        ")"
        " SELECT id, state, attempt, max_attempts, retry_backoff_s, retry_on_failure,"
        "  kill_requested, timed_out, healthy, last_mesos_state, placed, unlaunched_attempts,"
        "  unreachable, launch_timed_out, true, NULL FROM locked"
        " UNION ALL"
        " SELECT id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
        "  false, NULL"
        " FROM mesoflow.tasks t WHERE t.id = ANY($1::bigint[])"
        "  AND NOT EXISTS (SELECT 1 FROM locked l WHERE l.id = t.id)";
    return pg::Statement{"lock_task_rows", lock_sql.c_str(), pg::Params().add(literal.str())};
}

struct LockedRows {
    std::map<std::int64_t, RowChange> rows;
    std::set<std::int64_t> held;  // rows another session holds
};

LockedRows read_rows(const PGresult* r) {
    LockedRows out;
    for (int i = 0; i < PQntuples(r); ++i) {
        if (!pg::to_bool(r, i, 14)) {
            out.held.insert(pg::to_int64(r, i, 0));
            continue;
        }
        RowChange c;
        c.row.state = task::parse_task_state(pg::text(r, i, 1)).value_or(task::TaskState::pending);
        c.row.attempt = pg::to_int(r, i, 2);
        c.row.max_attempts = pg::to_int(r, i, 3);
        c.row.retry_backoff_s = pg::to_double(r, i, 4);
        c.row.retry_on_failure = pg::to_bool(r, i, 5);
        c.row.kill_requested = pg::to_bool(r, i, 6);
        c.row.timed_out = pg::to_bool(r, i, 7);
        c.row.healthy = pg::opt_bool(r, i, 8);
        if (!pg::is_null(r, i, 9))
            c.row.last_mesos_state = task::parse_mesos_task_state(pg::text(r, i, 9));
        c.row.placed = pg::to_bool(r, i, 10);
        c.row.unlaunched_attempts = pg::to_int(r, i, 11);
        c.row.unreachable = pg::to_bool(r, i, 12);
        c.row.launch_timed_out = pg::to_bool(r, i, 13);
        if (!pg::is_null(r, i, 15))
            c.xmin = pg::text(r, i, 15);
        out.rows.emplace(pg::to_int64(r, i, 0), std::move(c));
    }
    return out;
}

std::optional<std::string> text_or_none(std::string_view text) {
    return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

void record(HistoryRows& h, const history::AgentCodes& codes, const task::StatusUpdate& u,
            const task::UpdateResult& result, std::optional<task::TaskState> from,
            bool task_exists) {
    const std::optional<long long> task_id =
        task_exists ? std::optional<long long>(result.task_id) : std::nullopt;
    const std::optional<int> attempt =
        result.attempt > 0 ? std::optional<int>(result.attempt) : std::nullopt;
    const auto ids =
        history::derive_ids(task_id, attempt, u.mesos_task_id, text_or_none(u.executor_id));
    const auto names = history::code_names(
        std::string(to_string(u.state)), std::string(to_string(result.outcome)),
        from ? std::optional<std::string>(to_string(*from)) : std::nullopt,
        result.task_state ? std::optional<std::string>(to_string(*result.task_state))
                          : std::nullopt,
        text_or_none(u.source));
    const auto agent = history::agent_code(codes, u.agent_id);
    const auto uuid = history::uuid_of_base64(u.uuid);
    auto& r = h.rows;
    r.push(task_id ? std::optional<std::int64_t>(*task_id) : std::nullopt);
    r.push(attempt);
    r.push(ids.mesos_task_id);
    r.push(*history::code_of("update"));
    r.push(names.mesos_state);
    r.push(names.outcome);
    r.push(names.from_state);
    r.push(names.to_state);
    r.push_text_or_null(u.reason);
    r.push(names.source);
    r.push_text_or_null(u.message);
    r.push_text_or_null(agent ? std::string_view() : std::string_view(u.agent_id));
    r.push(ids.executor_id);
    // A time that is no time (NaN, infinite, out of PostgreSQL's range) as
    // none, like text the column could not hold: the update is recorded.
    if (const auto time = u.timestamp ? history::timestamp_text(*u.timestamp) : std::nullopt) {
        r.push(std::string_view(*time));
    } else {
        r.push_null();
    }
    r.push_text_or_null(uuid ? std::string_view() : std::string_view(u.uuid));
    r.push(u.healthy);
    r.push_text_or_null(result.note);
    r.push(ids.derived);
    r.push(names.unlisted);
    r.push(agent);
    r.push(uuid);
    r.end_row();
}

}  // namespace

namespace {

std::vector<LaunchRecord> placements_held(const std::vector<LaunchRecord>& placements,
                                          const std::set<std::int64_t>& held) {
    std::vector<LaunchRecord> out;
    for (const auto& p : placements) {
        if (held.contains(p.task_id))
            out.push_back(p);
    }
    return out;
}

// The batch, its rows read (lock false: written only if unchanged since) or
// locked (lock true: held rows skipped).
// `codes` were learnt on the connection `codes_generation` counts.
Result<BatchResult> apply_batch(Database& db, const history::AgentCodes& codes,
                                std::uint64_t codes_generation,
                                const std::vector<task::StatusUpdate>& updates,
                                const std::vector<LaunchRecord>& placements, bool lock) {
    BatchResult batch;
    batch.updates.resize(updates.size());
    auto& results = batch.updates;

    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < updates.size(); ++i) {
        if (const auto parsed = task::parse_mesos_task_id(updates[i].mesos_task_id)) {
            results[i].task_id = parsed->first;
            results[i].attempt = parsed->second;
            ids.push_back(parsed->first);
        }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());

    auto fail = [&](const Error& error) -> Error {
        db.abort_transaction();
        return error;
    };
    // Round trip 1: BEGIN, the wait allowed for a held row, the placements,
    // the rows.
    const std::string lock_wait = db.update_lock_wait_sql();
    std::vector<pg::Statement> first;
    if (!lock)
        first.push_back(pg::Statement{nullptr, lock_wait.c_str(), {}});
    if (!placements.empty())
        first.push_back(placements_statement(placements, codes));
    if (!ids.empty())
        first.push_back(read_statement(ids, lock));
    auto begun = db.begin_with(std::move(first));
    if (!begun)
        return fail(begun.error());
    if (db.generation() != codes_generation) {
        // Connected again since the agents' codes were learnt: they are
        // learnt again before the batch goes again.
        return fail(Error{"the database connection changed before the batch was written"});
    }
    if (!placements.empty()) {
        batch.placements_locked = placements_held(
            placements, read_placements_written((*begun)[lock ? 0 : 1].get()).locked);
    }
    auto locked = ids.empty() ? LockedRows{} : read_rows(begun->back().get());
    auto& rows = locked.rows;

    HistoryRows history;
    for (std::size_t i = 0; i < updates.size(); ++i) {
        const task::StatusUpdate& u = updates[i];
        task::UpdateResult& result = results[i];
        if (locked.held.contains(result.task_id)) {
            // Not applied and not written: it goes again as it is.
            result.outcome = task::UpdateOutcome::row_locked;
            result.note = "row locked by another session";
            continue;
        }
        const auto found = result.task_id > 0 ? rows.find(result.task_id) : rows.end();
        if (found == rows.end()) {
            result.outcome = task::UpdateOutcome::unknown_task;
            result.note = result.task_id > 0 ? "no such task" : "not a mesoflow task id";
            record(history, codes, u, result, std::nullopt, false);
            continue;
        }
        RowChange& c = found->second;
        const task::TaskState from = c.row.state;
        const task::Transition t =
            task::decide(c.row, result.attempt, u.state, u.healthy, u.reason, u.accept_not_taken);
        result.outcome = t.outcome;
        result.task_state = t.to;
        result.note = t.note;
        if (t.outcome == task::UpdateOutcome::applied) {
            task::advance(c.row, t, u.state, u.healthy);
            c.changed = true;
            c.last_mesos_state = u.state;
            if (!u.message.empty())
                c.message = u.message;
            c.reason = t.reason ? *t.reason : u.reason.empty() ? c.reason : u.reason;
            if (!u.source.empty())
                c.source = u.source;
            if (!u.agent_id.empty())
                c.agent_id = u.agent_id;
            if (const auto status =
                    u.exit_status ? u.exit_status : task::exit_status_from_message(u.message)) {
                c.exit_status = status;
            }
            if (u.healthy)
                c.healthy = u.healthy;
            c.starts = c.starts || t.starts;
            c.unlaunched += t.unlaunched ? 1 : 0;
            c.finishes = t.finishes;
            c.retry_in_s = t.retry_in_s;
            result.retry_in_s = t.retry_in_s;
        }
        record(history, codes, u, result, from, true);
    }

    pg::ArrayLiteral id, state, last_state, message, reason, source, agent, exit_status, healthy,
        starts, finishes, retry_in, unlaunched, unreachable, version;
    bool any_changed = false;
    for (const auto& [task_id, c] : rows) {
        if (!c.changed)
            continue;
        any_changed = true;
        id.push(task_id);
        state.push(to_string(c.row.state));
        last_state.push(to_string(*c.last_mesos_state));
        message.push_text_or_null(c.message);
        reason.push_text_or_null(c.reason);
        source.push_text_or_null(c.source);
        agent.push_text_or_null(c.agent_id);
        exit_status.push(c.exit_status);
        healthy.push(c.healthy);
        starts.push(c.starts);
        finishes.push(c.finishes);
        retry_in.push(c.retry_in_s);
        unlaunched.push(c.unlaunched);
        unreachable.push(c.row.unreachable);
        version.push_text_or_null(c.xmin);
    }
    // Rows are written only as the version read (none when they were
    // locked); the updates of a row written since by another session are not
    // applied, and their history rows, copied first, are taken out again (the
    // rows this transaction wrote: its xid, and its start as their time);
    // the statement names the row.
    static const std::string write_sql =
        "WITH changes AS ("
        "  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],"
        "    $6::text[], $7::text[], $8::int[], $9::boolean[], $10::boolean[], $11::boolean[],"
        "    $12::float8[], $13::int[], $14::boolean[], $15::text[]) AS c(id, state,"
        "    last_mesos_state, message, reason, source, agent_id, exit_status, healthy, starts,"
        "    finishes, retry_in_s, unlaunched, unreachable, version)"
        "), updated AS ("
        "  UPDATE mesoflow.tasks t SET state = c.state, last_mesos_state = c.last_mesos_state,"
        "    message = coalesce(c.message, t.message), reason = coalesce(c.reason, t.reason),"
        "    source = coalesce(c.source, t.source), agent_id = coalesce(c.agent_id, t.agent_id),"
        "    exit_status = coalesce(c.exit_status, t.exit_status),"
        "    healthy = coalesce(c.healthy, t.healthy),"
        "    started_at = CASE WHEN c.starts THEN now() ELSE t.started_at END,"
        "    finished_at = CASE WHEN c.finishes THEN now() ELSE t.finished_at END,"
        "    not_before = CASE WHEN c.retry_in_s IS NULL THEN t.not_before"
        "                 ELSE now() + make_interval(secs => c.retry_in_s) END,"
        "    unlaunched_attempts = t.unlaunched_attempts + c.unlaunched,"
        "    unreachable_since = CASE WHEN c.unreachable"
        "                        THEN coalesce(t.unreachable_since, now()) END,"
        "    updated_at = now()"
        "  FROM changes c WHERE t.id = c.id AND (c.version IS NULL OR t.xmin = c.version::xid)"
        "  RETURNING t.id"
        "), changed_since AS ("
        "  SELECT c.id FROM changes c WHERE NOT EXISTS (SELECT 1 FROM updated u WHERE u.id = c.id)"
        // Gated (a one-time filter), so that no plan scans the history when
        // no row changed, whatever the history's statistics say.
        "), unwritten AS ("
        "  DELETE FROM mesoflow.task_events e"
        "  WHERE EXISTS (SELECT FROM changed_since)"
        "    AND e.task_id = ANY(ARRAY(SELECT id FROM changed_since)) AND e.kind = " +
        history::code_sql("update") +
        "    AND e.xmin::text = (txid_current() % 4294967296)::text AND e.recorded_at = now()"
        ") SELECT id FROM changed_since";
    if (history.rows.holds_nul()) {
        return fail(Error{"a status update's text holds a NUL byte", ErrorKind::permanent});
    }
    std::optional<pg::Statement> write;
    if (any_changed) {
        pg::Params params;
        for (const auto* a :
             {&id, &state, &last_state, &message, &reason, &source, &agent, &exit_status, &healthy,
              &starts, &finishes, &retry_in, &unlaunched, &unreachable, &version}) {
            params.add(a->str());
        }
        write = pg::Statement{"write_updates", write_sql.c_str(), std::move(params)};
    }
    // Round trip 2, one simple query: the history by COPY (PostgreSQL logs
    // a page's worth of copied rows as one WAL record), the rows, COMMIT.
    auto committed =
        db.copy_then_commit(history::kCopyEvents, history.rows.str(), write ? &*write : nullptr);
    if (!committed)
        return fail(committed.error());
    std::set<std::int64_t> changed_since;
    for (int i = 0; i < PQntuples(committed->get()); ++i)
        changed_since.insert(pg::to_int64(committed->get(), i, 0));
    if (!changed_since.empty()) {
        for (auto& r : results) {
            if (!changed_since.contains(r.task_id))
                continue;
            // Neither applied nor written: it goes again as it is.
            r.outcome = task::UpdateOutcome::row_locked;
            r.task_state.reset();
            r.retry_in_s.reset();
            r.note = "row changed by another session";
        }
        log::info("update_rows_changed", "rows={} updates_again={}", changed_since.size(),
                  std::count_if(results.begin(), results.end(), [](const auto& r) {
                      return r.outcome == task::UpdateOutcome::row_locked;
                  }));
    }

    for (const auto& r : results) {
        if (r.outcome == task::UpdateOutcome::stale_attempt_alive) {
            log::debug("stale_attempt_alive", "task={} attempt={} note={}", r.task_id, r.attempt,
                       log::quote(r.note));
        }
    }
    return batch;
}

}  // namespace

Result<BatchResult> TaskStore::apply_updates(const std::vector<task::StatusUpdate>& updates,
                                             const std::vector<LaunchRecord>& placements) {
    std::vector<std::string> agents;
    agents.reserve(placements.size() + updates.size());
    for (const auto& p : placements)
        agents.push_back(p.agent_id);
    for (const auto& u : updates)
        agents.push_back(u.agent_id);
    if (auto numbered = number_agents(agents); !numbered)
        return numbered.error();
    if (updates.empty()) {
        BatchResult batch;
        auto placed = write_placements(*db_, placements, agent_codes_);
        if (!placed)
            return placed.error();
        batch.placements_locked = placements_held(placements, placed->locked);
        return batch;
    }
    auto batch = apply_batch(*db_, agent_codes_, codes_generation_, updates, placements, false);
    if (batch || !pg::is_lock_not_available(batch.error()))
        return batch;
    // A row another session holds: again, with row locks (it is skipped).
    // Its updates are kept back and retried (100 ms doubling to 5 s), so a
    // row held for long costs its lane one wait per retry.
    log::info("update_batch_row_held", "updates={} waited_ms={}", updates.size(),
              db_->update_lock_wait().count());
    return apply_batch(*db_, agent_codes_, codes_generation_, updates, placements, true);
}

}  // namespace mesoflow::store
