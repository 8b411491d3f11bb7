// Applying status updates against a real database: replays, reordering,
// terminal states, the retry policy with back-off, stale attempts, history.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <limits>

#include "mesoflow/task/transition.hpp"
#include "store_fixture.hpp"

using namespace mesoflow::store;
using namespace mesoflow::task;
using namespace mesoflow::store::testing;
using S = MesosTaskState;

namespace {

std::vector<UpdateOutcome> outcomes(const std::vector<UpdateResult>& results) {
    std::vector<UpdateOutcome> out;
    for (const auto& r : results)
        out.push_back(r.outcome);
    return out;
}

}  // namespace

TEST_CASE("a task runs to finished and its row tells the story") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    const auto id = queued_and_launched(store, shell_task("ok"));
    auto running = update_of(id, 1, S::running);
    running.healthy = true;
    auto finished = update_of(id, 1, S::finished);
    finished.message = "Command exited with status 0";
    finished.reason = "REASON_COMMAND_EXECUTOR_FAILED";
    finished.agent_id = "A2";
    auto results = store.apply_updates({update_of(id, 1, S::starting), running, finished});
    REQUIRE(results.ok());
    CHECK(outcomes(results->updates) ==
          std::vector{UpdateOutcome::applied, UpdateOutcome::applied, UpdateOutcome::applied});
    CHECK(results->updates.at(0).task_state == TaskState::starting);
    CHECK(results->updates.at(2).task_state == TaskState::finished);
    CHECK(results->updates.at(2).task_id == id);
    CHECK(results->updates.at(2).attempt == 1);

    const auto row = store.find_task("ok").value().value();
    CHECK(row.state == TaskState::finished);
    CHECK(row.exit_status == 0);
    CHECK(row.message == "Command exited with status 0");
    CHECK(row.agent_id == "A2");
    CHECK(row.hostname == "agent-1.example");
    CHECK(row.healthy == true);
    CHECK(row.launched_at_us);
    CHECK(row.started_at_us);
    CHECK(row.finished_at_us);
    CHECK(*row.finished_at_us >= *row.started_at_us);

    const auto history = store.task_history(id).value();
    REQUIRE(history.size() == 4);
    CHECK(history[0].kind == "launch");
    CHECK(history[1].mesos_state == "TASK_STARTING");
    CHECK(history[3].mesos_state == "TASK_FINISHED");
    CHECK(history[3].from_state == "running");
    CHECK(history[3].to_state == "finished");
    CHECK(history[3].outcome == "applied");
    CHECK(history[3].uuid == "dXVpZA==");
    CHECK(history[3].source == "SOURCE_EXECUTOR");
    CHECK(history[3].status_time_us == 1700000000500000);
}

TEST_CASE("an update whose time is no time is recorded without one, the rest of its batch too") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    std::vector<StatusUpdate> batch;
    const double times[] = {std::numeric_limits<double>::quiet_NaN(), 1e300, -1e300,
                            std::numeric_limits<double>::infinity(), 9224318016000.0};
    for (std::size_t i = 0; i < std::size(times); ++i) {
        const auto id = queued_and_launched(store, shell_task("t" + std::to_string(i)));
        auto failed = update_of(id, 1, S::failed);
        failed.timestamp = times[i];
        batch.push_back(failed);
    }
    const auto ok_id = queued_and_launched(store, shell_task("ok"));
    batch.push_back(update_of(ok_id, 1, S::finished));
    auto results = store.apply_updates(batch);
    REQUIRE(results.ok());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        CAPTURE(i);
        CHECK(results->updates.at(i).outcome == UpdateOutcome::applied);
        const auto id = results->updates.at(i).task_id;
        const auto history = store.task_history(id).value();
        REQUIRE(history.size() == 2);
        CHECK(history[1].mesos_state == (i + 1 < batch.size() ? "TASK_FAILED" : "TASK_FINISHED"));
        if (i + 1 < batch.size())
            CHECK_FALSE(history[1].status_time_us.has_value());
        else
            CHECK(history[1].status_time_us == 1700000000500000);
    }
}

TEST_CASE("a replayed batch changes nothing and is reported as duplicates") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    const auto id = queued_and_launched(store, shell_task("replay"));
    const std::vector<StatusUpdate> batch = {update_of(id, 1, S::staging),
                                             update_of(id, 1, S::running)};
    REQUIRE(store.apply_updates(batch).ok());
    const auto before = sql.one("SELECT row_to_json(t)::text FROM mesoflow.tasks t");
    auto replay = store.apply_updates(batch);
    REQUIRE(replay.ok());
    // STAGING after RUNNING is older than the row; RUNNING again is a redelivery.
    CHECK(outcomes(replay->updates) == std::vector{UpdateOutcome::stale, UpdateOutcome::duplicate});
    CHECK(sql.one("SELECT row_to_json(t)::text FROM mesoflow.tasks t") == before);

    auto finished = update_of(id, 1, S::finished);
    REQUIRE(store.apply_updates({finished}).ok());
    const auto done = sql.one("SELECT row_to_json(t)::text FROM mesoflow.tasks t");
    CHECK(store.apply_updates({finished})->updates.at(0).outcome == UpdateOutcome::duplicate);
    CHECK(store.apply_updates({finished, finished})->updates.at(1).outcome ==
          UpdateOutcome::duplicate);
    CHECK(sql.one("SELECT row_to_json(t)::text FROM mesoflow.tasks t") == done);
    // Ignored updates are kept for audit, with why.
    CHECK(sql.one("SELECT note FROM mesoflow.task_history WHERE outcome = 'stale'") ==
          "older than running");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE outcome = 'duplicate'") == 4);
}

TEST_CASE("reordered updates never move a task backwards") {
    TaskStore store(migrated_database());
    const auto id = queued_and_launched(store, shell_task("reorder"));
    auto results = store.apply_updates({update_of(id, 1, S::running), update_of(id, 1, S::starting),
                                        update_of(id, 1, S::staging)});
    REQUIRE(results.ok());
    CHECK(outcomes(results->updates) ==
          std::vector{UpdateOutcome::applied, UpdateOutcome::stale, UpdateOutcome::stale});
    CHECK(store.find_task("reorder").value()->state == TaskState::running);
    // Across batches too.
    CHECK(store.apply_updates({update_of(id, 1, S::staging)})->updates.at(0).outcome ==
          UpdateOutcome::stale);
    CHECK(store.find_task("reorder").value()->state == TaskState::running);
}

TEST_CASE("terminal states are final") {
    TaskStore store(migrated_database());
    const auto id = queued_and_launched(store, shell_task("final"));
    REQUIRE(store.apply_updates({update_of(id, 1, S::failed)}).ok());
    for (const S later : {S::finished, S::killed, S::lost, S::error, S::gone}) {
        CAPTURE(to_string(later));
        CHECK(store.apply_updates({update_of(id, 1, later)})->updates.at(0).outcome ==
              UpdateOutcome::stale);
    }
    auto alive = store.apply_updates({update_of(id, 1, S::running)});
    CHECK(alive->updates.at(0).outcome == UpdateOutcome::stale_attempt_alive);
    CHECK(alive->updates.at(0).task_state == TaskState::failed);
    CHECK(store.find_task("final").value()->state == TaskState::failed);
    CHECK(store.fetch_pending(10)->empty());
}

TEST_CASE("lost attempts go back to pending with exponential back-off until attempts run out") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    auto task = shell_task("flaky");
    task.max_attempts = 3;
    task.retry_backoff_s = 100;
    const auto id = queued_and_launched(store, task);
    const S losses[] = {S::lost, S::dropped, S::gone_by_operator};
    for (int attempt = 1; attempt <= 3; ++attempt) {
        CAPTURE(attempt);
        auto lost = update_of(id, attempt, losses[attempt - 1], "");
        lost.reason = "REASON_AGENT_REMOVED";
        auto result = store.apply_updates({lost});
        REQUIRE(result.ok());
        CHECK(result->updates.at(0).outcome == UpdateOutcome::applied);
        if (attempt < 3) {
            CHECK(result->updates.at(0).task_state == TaskState::pending);
            REQUIRE(result->updates.at(0).retry_in_s);
            const double expected = 100.0 * (1 << (attempt - 1));
            CHECK(*result->updates.at(0).retry_in_s == Approx(expected));
            const double wait = std::stod(
                sql.one("SELECT extract(epoch FROM not_before - now()) FROM mesoflow.tasks"));
            CHECK(wait == Approx(expected).margin(5));
            // Not launchable during the back-off...
            CHECK(store.fetch_pending(10)->empty());
            CHECK(store.next_retry_at_us().value().has_value());
            // ... and launchable, as the next attempt, once it has passed.
            sql.exec("UPDATE mesoflow.tasks SET not_before = now()");
            auto again = store.fetch_pending(10);
            REQUIRE(again->size() == 1);
            CHECK(again->at(0).attempt == attempt);
            REQUIRE(
                store.record_launches({launch_of(id, attempt + 1, "o" + std::to_string(attempt))})
                    ->at(0));
        } else {
            CHECK(result->updates.at(0).task_state == TaskState::lost);
        }
    }
    const auto row = store.find_task("flaky").value().value();
    CHECK(row.state == TaskState::lost);
    CHECK(row.attempt == 3);
    CHECK(row.reason == "REASON_AGENT_REMOVED");
    CHECK(row.finished_at_us);
    CHECK(store.fetch_pending(10)->empty());
}

TEST_CASE("a redelivered loss of an attempt already sent back to pending is a duplicate") {
    TaskStore store(migrated_database());
    auto task = shell_task("lost-twice");
    const auto id = queued_and_launched(store, task);
    const auto lost = update_of(id, 1, S::lost);
    CHECK(store.apply_updates({lost})->updates.at(0).outcome == UpdateOutcome::applied);
    const auto after_first = store.find_task("lost-twice").value().value();
    auto again = store.apply_updates({lost});
    CHECK(again->updates.at(0).outcome == UpdateOutcome::duplicate);
    CHECK(again->updates.at(0).task_state == TaskState::pending);
    CHECK(store.find_task("lost-twice").value()->not_before_us == after_first.not_before_us);
}

TEST_CASE("TASK_FAILED retries only tasks that ask for it") {
    TaskStore store(migrated_database());
    const auto plain = queued_and_launched(store, shell_task("plain"));
    auto retrying = shell_task("retrying");
    retrying.retry_on_failure = true;
    retrying.retry_backoff_s = 0;
    const auto retried = queued_and_launched(store, retrying);
    auto failed = update_of(plain, 1, S::failed);
    failed.message = "Command exited with status 2";
    auto results = store.apply_updates({failed, update_of(retried, 1, S::failed)});
    REQUIRE(results.ok());
    CHECK(results->updates.at(0).task_state == TaskState::failed);
    CHECK(results->updates.at(1).task_state == TaskState::pending);
    CHECK(store.find_task("plain").value()->exit_status == 2);
    auto pending = store.fetch_pending(10);
    REQUIRE(pending->size() == 1);
    CHECK(pending->at(0).id == retried);
}

TEST_CASE("updates of an old attempt never touch the current one; a live old attempt is flagged") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    auto task = shell_task("two-attempts");
    task.retry_backoff_s = 0;
    const auto id = queued_and_launched(store, task);
    // The agent is cut off: the attempt is kept, marked, until its grace
    // period ends (the runtime's own TASK_LOST); then it is replaced.
    REQUIRE(store.apply_updates({update_of(id, 1, S::unreachable)})->updates.at(0).task_state ==
            TaskState::launching);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE unreachable_since IS NOT NULL") ==
          1);
    auto expired = update_of(id, 1, S::lost);
    expired.reason = std::string(mesoflow::task::kUnreachableExpiredReason);
    REQUIRE(store.apply_updates({expired})->updates.at(0).task_state == TaskState::pending);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE unreachable_since IS NOT NULL") ==
          0);
    REQUIRE(store.record_launches({launch_of(id, 2, "offer-2")})->at(0));
    REQUIRE(store.apply_updates({update_of(id, 2, S::running)}).ok());
    const auto before = sql.one("SELECT row_to_json(t)::text FROM mesoflow.tasks t");

    // The partitioned agent comes back: its attempt still runs.
    auto results = store.apply_updates({update_of(id, 1, S::running), update_of(id, 1, S::finished),
                                        update_of(id, 3, S::running)});
    REQUIRE(results.ok());
    CHECK(outcomes(results->updates) == std::vector{UpdateOutcome::stale_attempt_alive,
                                                    UpdateOutcome::stale,
                                                    UpdateOutcome::unknown_task});
    CHECK(results->updates.at(0).attempt == 1);
    CHECK(results->updates.at(0).task_state == TaskState::running);
    CHECK(sql.one("SELECT row_to_json(t)::text FROM mesoflow.tasks t") == before);
    CHECK(
        sql.count("SELECT count(*) FROM mesoflow.task_history WHERE outcome = 'stale_attempt_alive'"
                  " AND mesos_task_id = '" +
                  mesos_task_id(id, 1) + "'") == 1);
}

TEST_CASE("updates about tasks mesoflow does not know are reported, recorded and harmless") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    StatusUpdate foreign = update_of(1, 1, S::running);
    foreign.mesos_task_id = "someone-elses-task";
    auto results = store.apply_updates({foreign, update_of(424242, 1, S::running)});
    REQUIRE(results.ok());
    CHECK(outcomes(results->updates) ==
          std::vector{UpdateOutcome::unknown_task, UpdateOutcome::unknown_task});
    CHECK(results->updates.at(1).task_id == 424242);
    CHECK_FALSE(results->updates.at(1).task_state);
    Sql sql(dsn);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE task_id IS NULL"
                    " AND outcome = 'unknown_task'") == 2);
}

TEST_CASE("a kill request stops retries: a lost attempt of a task being killed ends killed") {
    TaskStore store(migrated_database());
    const auto id = queued_and_launched(store, shell_task("doomed"));
    REQUIRE(store.request_kill("doomed").value() == TaskState::launching);
    auto result = store.apply_updates({update_of(id, 1, S::lost)});
    CHECK(result->updates.at(0).task_state == TaskState::killed);
    CHECK(store.fetch_pending(10)->empty());
}

TEST_CASE("listing tasks filters by state and key prefix, newest first, in pages") {
    TaskStore store(migrated_database());
    for (int i = 0; i < 5; ++i)
        REQUIRE(store.insert_task(shell_task("dag_a.t" + std::to_string(i))).ok());
    REQUIRE(store.insert_task(shell_task("dag_b.t0")).ok());
    REQUIRE(store.insert_task(shell_task("dag%x")).ok());
    const auto id = queued_and_launched(store, shell_task("dag_a.running"));
    REQUIRE(store.apply_updates({update_of(id, 1, S::running)}).ok());

    TaskFilter running;
    running.states = {TaskState::running};
    auto rows = store.list_tasks(running);
    REQUIRE(rows->size() == 1);
    CHECK(rows->at(0).key == "dag_a.running");
    CHECK(rows->at(0).mesos_task_id == mesos_task_id(id, 1));

    TaskFilter prefix;
    prefix.key_prefix = "dag_a.";
    prefix.limit = 4;
    auto page1 = store.list_tasks(prefix).value();
    REQUIRE(page1.size() == 4);
    CHECK(page1[0].key == "dag_a.running");
    prefix.before_id = page1.back().id;
    auto page2 = store.list_tasks(prefix).value();
    REQUIRE(page2.size() == 2);
    CHECK(page2.back().key == "dag_a.t0");

    TaskFilter literal;
    literal.key_prefix = "dag%";
    auto percent = store.list_tasks(literal).value();
    REQUIRE(percent.size() == 1);
    CHECK(percent[0].key == "dag%x");
}

TEST_CASE(
    "a batch failing in either round trip keeps nothing, reports its own error, and the next "
    "batch commits on the same connection") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('piped', 'x')");
    auto claimed = store.claim_pending(1);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 1);
    const auto id = claimed->at(0).id;
    auto store_backend = [&] {
        return sql.one(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'mesoflow'"
            " AND datname = current_database()");
    };
    const auto backend = store_backend();
    REQUIRE_FALSE(backend.empty());
    // Refusals a producer's triggers could raise: one in each round trip
    // (the placement in the first, the history rows in the second).
    sql.exec(
        "CREATE FUNCTION refuse_bad_offer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.offer_id = 'O-bad' THEN RAISE EXCEPTION 'placement refused'; END IF;"
        " RETURN NEW; END $$");
    sql.exec(
        "CREATE TRIGGER refuse_bad_offer BEFORE UPDATE ON mesoflow.tasks"
        " FOR EACH ROW EXECUTE FUNCTION refuse_bad_offer()");
    sql.exec(
        "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.message = 'boom' THEN RAISE EXCEPTION 'history refused'; END IF;"
        " RETURN NEW; END $$");
    sql.exec(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON mesoflow.task_events"
        " FOR EACH ROW EXECUTE FUNCTION refuse_boom()");
    auto nothing_kept = [&] {
        CHECK(sql.one("SELECT state || ' ' || coalesce(offer_id, '-') || ' ' ||"
                      " (launched_at IS NULL) FROM mesoflow.tasks WHERE id = " +
                      std::to_string(id)) == "launching - true");
        CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE task_id = " +
                        std::to_string(id)) == 0);
    };

    // First round trip: the placement fails; the row lock after it is
    // skipped, and the error is the placement's, not the skip's.
    auto first = store.apply_updates({update_of(id, 1, S::starting)}, {launch_of(id, 1, "O-bad")});
    REQUIRE_FALSE(first.ok());
    CHECK_THAT(first.error().message, Catch::Contains("placement refused"));
    nothing_kept();

    // Second round trip: the history insert fails; COMMIT is skipped and
    // the placement of the first round trip is rolled back with it.
    auto boom = update_of(id, 1, S::starting);
    boom.message = "boom";
    auto second = store.apply_updates({boom}, {launch_of(id, 1, "O-good")});
    REQUIRE_FALSE(second.ok());
    CHECK_THAT(second.error().message, Catch::Contains("history refused"));
    nothing_kept();

    // The connection is back in step (the same backend, not a new one): the
    // batch without the refused values commits.
    auto third = store.apply_updates({update_of(id, 1, S::starting)}, {launch_of(id, 1, "O-good")});
    REQUIRE(third.ok());
    CHECK(third->updates.at(0).outcome == UpdateOutcome::applied);
    CHECK(sql.one("SELECT state || ' ' || offer_id || ' ' || (launched_at IS NOT NULL)"
                  " FROM mesoflow.tasks WHERE id = " +
                  std::to_string(id)) == "starting O-good true");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE task_id = " +
                    std::to_string(id)) == 2);
    CHECK(store_backend() == backend);
}

TEST_CASE(
    "a row another session holds delays only its own updates and placement: the rest of the "
    "batch commits while the lock is held, and the skipped ones commit once it is released") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    // Without the skip, the batch would wait for the lock; lock_timeout
    // turns that wait into a failure instead of a hang (a bound, not a pace).
    TaskStore store(dsn + " options='-c lock_timeout=10000'");
    std::vector<std::int64_t> ids;
    for (const auto* key : {"held", "free-1", "free-2"}) {
        sql.exec(std::string("INSERT INTO mesoflow.tasks (key, command) VALUES ('") + key +
                 "', 'x')");
    }
    auto claimed = store.claim_pending(3);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 3);
    for (const auto& spec : *claimed)
        ids.push_back(spec.id);
    const auto held = store.find_task("held").value().value().id;
    // An outside session leaves an UPDATE of one row open in its transaction.
    Sql holder(dsn);
    holder.exec("BEGIN");
    holder.exec("UPDATE mesoflow.tasks SET priority = priority WHERE id = " + std::to_string(held));

    std::vector<StatusUpdate> updates;
    std::vector<LaunchRecord> placements;
    for (const auto id : ids) {
        placements.push_back(launch_of(id, 1));
        updates.push_back(update_of(id, 1, S::starting));
        updates.push_back(update_of(id, 1, S::running));
    }
    auto batch = store.apply_updates(updates, placements);
    REQUIRE(batch.ok());
    REQUIRE(batch->updates.size() == updates.size());
    for (std::size_t i = 0; i < updates.size(); ++i) {
        CAPTURE(updates[i].mesos_task_id);
        CHECK(batch->updates[i].outcome == (batch->updates[i].task_id == held
                                                ? UpdateOutcome::row_locked
                                                : UpdateOutcome::applied));
    }
    REQUIRE(batch->placements_locked.size() == 1);
    CHECK(batch->placements_locked[0].task_id == held);
    // Committed while the lock is still held: the others' rows and history;
    // nothing of the held task.
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'running'"
                    " AND agent_id IS NOT NULL AND offer_id IS NOT NULL") == 2);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE task_id = " +
                    std::to_string(held)) == 0);
    // A placement on its own skips the held row too.
    CHECK(store.record_placements({launch_of(held, 1)}).value() == 0);

    holder.exec("ROLLBACK");
    std::vector<StatusUpdate> again;
    for (const auto& u : updates) {
        if (u.mesos_task_id == mesos_task_id(held, 1))
            again.push_back(u);
    }
    auto retried = store.apply_updates(again, batch->placements_locked);
    REQUIRE(retried.ok());
    CHECK(outcomes(retried->updates) ==
          std::vector{UpdateOutcome::applied, UpdateOutcome::applied});
    CHECK(retried->placements_locked.empty());
    const auto row = store.find_task("held").value().value();
    CHECK(row.state == TaskState::running);
    CHECK(row.hostname == "agent-1.example");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE task_id = " +
                    std::to_string(held)) == 3);
}

TEST_CASE(
    "a row another session changes between the batch's read and its write is not written, nor "
    "its updates' history: they come back row_locked and apply when tried again") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    auto store = store_waiting_for_held_rows(dsn, "changed-row-test");
    std::vector<std::int64_t> ids;
    for (const auto* key : {"changed", "same-1", "same-2"})
        ids.push_back(queued_and_launched(store, shell_task(key)));
    const auto changed = ids[0];
    // Another session holds the row, so the batch's write waits for it
    // after the batch has read it.
    Sql other(dsn);
    other.exec("BEGIN");
    other.exec("SELECT 1 FROM mesoflow.tasks WHERE id = " + std::to_string(changed) +
               " FOR UPDATE");
    std::vector<StatusUpdate> updates;
    for (const auto id : ids)
        updates.push_back(update_of(id, 1, S::running));
    auto pending = std::async(std::launch::async, [&] { return store.apply_updates(updates); });
    // Waiting for the row: the batch has read it.
    wait_until_lock_wait(sql, "changed-row-test", pending);
    // It changes, and lets go.
    other.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE id = " +
               std::to_string(changed));
    other.exec("COMMIT");
    auto batch = pending.get();
    REQUIRE(batch.ok());
    CHECK(batch->updates[0].outcome == UpdateOutcome::row_locked);
    CHECK(batch->updates[0].note == "row changed by another session");
    CHECK(batch->updates[1].outcome == UpdateOutcome::applied);
    CHECK(batch->updates[2].outcome == UpdateOutcome::applied);
    // Nothing of it was written: its state, and no update in its history.
    CHECK(sql.one("SELECT state || ' ' || kill_requested FROM mesoflow.tasks WHERE id = " +
                  std::to_string(changed)) == "launching true");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'update'"
                    " AND task_id = " +
                    std::to_string(changed)) == 0);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'update'") == 2);
    // Tried again, it applies to the row as it is now.
    auto again = store.apply_updates({updates[0]});
    REQUIRE(again.ok());
    CHECK(again->updates[0].outcome == UpdateOutcome::applied);
    CHECK(store.find_task("changed").value().value().state == TaskState::running);
}

// (The WAL is read up to the server's flushed position: every statement of
// the test has committed, so flushed, and pg_walinspect refuses an end past
// it, which another database's writes on the shared server can make the
// insert position.)
// A row lock is a WAL record of its own: a placement and the status updates
// of an attempt write its row without one. Read off the WAL with
// pg_walinspect, for this database's tasks table.
TEST_CASE("claims, placements and status updates write no row lock") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("CREATE EXTENSION IF NOT EXISTS pg_walinspect");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) SELECT 'w-' || g, 'true'"
        " FROM generate_series(1, 20) g");
    const std::string before = sql.one("SELECT pg_current_wal_lsn()");
    auto claimed = store.claim_pending(20);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 20);
    std::vector<std::int64_t> ids;
    std::vector<LaunchRecord> placements;
    for (const auto& spec : *claimed) {
        ids.push_back(spec.id);
        placements.push_back(launch_of(spec.id, 1));
    }
    auto placed = store.place_attempts(placements);
    REQUIRE(placed.ok());
    CHECK(placed->placed.size() == 20);
    for (const auto state : {S::starting, S::running, S::finished}) {
        std::vector<StatusUpdate> updates;
        for (const auto id : ids)
            updates.push_back(update_of(id, 1, state));
        REQUIRE(store.apply_updates(updates).ok());
    }
    const std::string records =
        "SELECT count(*) FROM pg_get_wal_records_info('" + before +
        "', pg_current_wal_flush_lsn()) WHERE resource_manager = 'Heap' AND record_type = '{}'"
        " AND block_ref LIKE '%rel ' || (SELECT dattablespace FROM pg_database"
        " WHERE datname = current_database()) || '/' || (SELECT oid FROM pg_database"
        " WHERE datname = current_database()) || '/' || pg_relation_filenode('mesoflow.tasks')"
        " || ' %'";
    const auto count_of = [&](const std::string& type) {
        std::string q = records;
        q.replace(q.find("{}"), 2, type);
        return sql.count(q);
    };
    // Every row written five times, none locked first (FOR UPDATE: a lock
    // record with KEYS_UPDATED). An update whose new version goes to
    // another page marks the old one locked while it does, in a record of
    // its own without KEYS_UPDATED: PostgreSQL's, not a lock taken.
    CHECK(count_of("UPDATE") + count_of("HOT_UPDATE") == 5 * 20);
    const auto locks_taken = [&] {
        std::string q = records;
        q.replace(q.find("{}"), 2, "LOCK");
        return sql.count(q + " AND description LIKE '%KEYS_UPDATED%'");
    };
    CHECK(locks_taken() == 0);
    // And never one per update, as a BEFORE UPDATE trigger on the table
    // would make (it locks every row updated): at most one per update that
    // left its page (not HOT).
    CHECK(count_of("LOCK") <= count_of("UPDATE"));
}

// Schema 14: a page keeps room for two versions of each of its rows besides
// the current one, so a row is rewritten in its page even while another
// session's snapshot keeps its old versions from being removed.
TEST_CASE("a page holds a row's claim and placement while another snapshot keeps the old version") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("CREATE EXTENSION IF NOT EXISTS pg_walinspect");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) SELECT 'r-' || g, 'true'"
        " FROM generate_series(1, 40) g");
    const std::string before = sql.one("SELECT pg_current_wal_lsn()");
    // A snapshot older than every version the claim and placement write.
    Sql reader(dsn);
    reader.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
    CHECK(reader.count("SELECT count(*) FROM mesoflow.tasks") == 40);
    auto claimed = store.claim_pending(40);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 40);
    std::vector<LaunchRecord> placements;
    for (const auto& spec : *claimed)
        placements.push_back(launch_of(spec.id, 1));
    auto placed = store.place_attempts(placements);
    REQUIRE(placed.ok());
    CHECK(placed->placed.size() == 40);
    reader.exec("COMMIT");
    // Every version in its row's page: an update that leaves its page marks
    // the old version locked in a record of its own.
    CHECK(sql.count("SELECT count(*) FROM pg_get_wal_records_info('" + before +
                    "', pg_current_wal_flush_lsn()) WHERE resource_manager = 'Heap'"
                    " AND record_type = 'LOCK'") == 0);
    const std::string updates = "SELECT count(*) FROM pg_get_wal_records_info('" + before +
                                "', pg_current_wal_flush_lsn()) WHERE resource_manager = 'Heap'"
                                " AND record_type IN ('UPDATE', 'HOT_UPDATE')";
    CHECK(sql.count(updates) == 80);
    // (one that leaves its page names two blocks, the old and the new)
    CHECK(sql.count(updates + " AND block_ref LIKE '%blkref #1%'") == 0);
}

// Schema 9: the indexes name phase, not state, so a placement and the status
// updates of a live attempt rewrite the row in place (HOT): no index gains an
// entry. The claim and the end change phase and add one each. Read off the
// primary key's only page with pageinspect, so it does not wait for
// statistics.
TEST_CASE("a placement and the updates of a live attempt add no index entries") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("CREATE EXTENSION IF NOT EXISTS pageinspect");
    auto entries = [&] {
        return sql.count("SELECT count(*) FROM bt_page_items('mesoflow.tasks_pkey', 1)");
    };
    const auto id = store.insert_task(shell_task("in-place")).value();
    CHECK(entries() == 1);
    auto window = store.claim_window(10, {});
    REQUIRE(window.ok());
    REQUIRE(window->tasks.size() == 1);
    CHECK(entries() == 2);  // pending -> live: a new version in every index
    REQUIRE(store.place_attempts({launch_of(id, 1)}).ok());
    for (const auto state : {S::starting, S::running}) {
        auto applied = store.apply_updates({update_of(id, 1, state)});
        REQUIRE(applied.ok());
        REQUIRE(applied->updates.at(0).outcome == UpdateOutcome::applied);
    }
    CHECK(entries() == 2);  // placed, starting, running: in place
    REQUIRE(store.apply_updates({update_of(id, 1, S::finished)}).ok());
    CHECK(entries() == 3);  // live -> ended
    CHECK(store.find_task("in-place").value().value().state == TaskState::finished);
}
