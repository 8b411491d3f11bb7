// Errors that know their kind, against a real database: a refusal of the
// data (a trigger's RAISE, a violated constraint) is permanent, whichever
// round trip of a batch it happens in; a lost connection and a lock or
// statement timeout are transient, and the same call succeeds once the
// cause is gone.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "store/pg.hpp"
#include "store_fixture.hpp"

using namespace mesoflow;
using namespace mesoflow::store;
using namespace mesoflow::task;
using namespace mesoflow::store::testing;
using S = MesosTaskState;

namespace {

const char* kind_name(ErrorKind kind) {
    return kind == ErrorKind::permanent ? "permanent" : "transient";
}

// The store's backend, found by the application name it connects with.
std::string backend_of(Sql& sql, const std::string& application_name) {
    return sql.one("SELECT pid FROM pg_stat_activity WHERE application_name = '" +
                   application_name + "' AND datname = current_database()");
}

// Terminates a backend from the server side and waits until it is gone (a
// generous bound: it only fails when the server never ends it).
void terminate_backend(Sql& sql, const std::string& pid) {
    REQUIRE(sql.one("SELECT pg_terminate_backend(" + pid + ")") == "t");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (sql.count("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) != 0) {
        if (std::chrono::steady_clock::now() > deadline)
            FAIL("backend " << pid << " still there after pg_terminate_backend");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

// A task claimed by claim_pending (attempt 1 launching, not placed yet).
std::int64_t claimed_task(TaskStore& store, Sql& sql, const std::string& key) {
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('" + key + "', 'x')");
    auto claimed = store.claim_pending(1);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 1);
    return claimed->at(0).id;
}

// Triggers that refuse a batch's writes in either round trip of
// apply_updates: the placement (first) when its offer id, the history row
// (second) when its message, is "refuse" (a plain RAISE, SQLSTATE P0001)
// or "sqlstate XXXXX" (a RAISE with that SQLSTATE).
void install_refusing_triggers(Sql& sql) {
    sql.exec(
        "CREATE FUNCTION refuse(what text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
        " IF what = 'refuse' THEN RAISE EXCEPTION 'refused by trigger'; END IF;"
        " IF what LIKE 'sqlstate %' THEN"
        "   RAISE EXCEPTION 'refused by trigger with %', what USING ERRCODE = substr(what, 10);"
        " END IF; END $$");
    sql.exec(
        "CREATE FUNCTION refuse_placement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " PERFORM refuse(NEW.offer_id); RETURN NEW; END $$");
    sql.exec(
        "CREATE TRIGGER refuse_placement BEFORE UPDATE ON mesoflow.tasks"
        " FOR EACH ROW EXECUTE FUNCTION refuse_placement()");
    sql.exec(
        "CREATE FUNCTION refuse_history() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " PERFORM refuse(NEW.message); RETURN NEW; END $$");
    sql.exec(
        "CREATE TRIGGER refuse_history BEFORE INSERT ON mesoflow.task_events"
        " FOR EACH ROW EXECUTE FUNCTION refuse_history()");
}

}  // namespace

TEST_CASE("an Error is transient unless made permanent; SQLSTATEs map to a kind") {
    const Error plain{"plain"};
    CHECK(plain.kind == ErrorKind::transient);
    CHECK_FALSE(plain.permanent());
    CHECK(Error{"refused", ErrorKind::permanent}.permanent());
    const Status failed = Error{"refused", ErrorKind::permanent};
    CHECK(failed.error().permanent());

    for (const char* state :
         {"", "08000", "08006", "08P01", "40001", "40P01", "53300", "53200", "53100", "57014",
          "57P01", "57P02", "57P03", "55P03", "58030", "XX000", "XX001"}) {
        CAPTURE(state);
        CHECK(pg::error_kind(state) == ErrorKind::transient);
    }
    for (const char* state :
         {"22001", "22003", "22012", "22P02", "23502", "23503", "23505", "23514", "42601", "42P01",
          "42703", "42883", "42501", "P0001", "P0002", "25P02", "55006", "0A000", "54001"}) {
        CAPTURE(state);
        CHECK(pg::error_kind(state) == ErrorKind::permanent);
    }
}

TEST_CASE("a connection string libpq cannot read is refused without the password in the error") {
    for (const char* dsn : {"postgresql://mesoflow:p%ssw0rd@127.0.0.1:5432/mf",
                            "postgresql://mesoflow:p%ssw0rd@[::1/mf",
                            "host=127.0.0.1 password=p%ssw0rd 'unterminated"}) {
        CAPTURE(dsn);
        auto conn = pg::connect(dsn, pg::SessionDefaults{});
        REQUIRE_FALSE(conn.ok());
        CHECK_THAT(conn.error().message,
                   Catch::StartsWith(
                       "cannot connect to PostgreSQL: the connection string cannot be read: "));
        CHECK_THAT(conn.error().message, !Catch::Contains("ssw0rd"));
    }
}

TEST_CASE("a trigger refusing apply_updates' writes is a permanent error in either round trip") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    const auto id = claimed_task(store, sql, "refused");
    install_refusing_triggers(sql);

    SECTION("the first round trip: the placement is refused, the row lock after it skipped") {
        auto first =
            store.apply_updates({update_of(id, 1, S::starting)}, {launch_of(id, 1, "refuse")});
        REQUIRE_FALSE(first.ok());
        CHECK_THAT(first.error().message,
                   Catch::Contains("refused by trigger") && Catch::Contains("[SQLSTATE P0001]"));
        CHECK(first.error().permanent());
    }
    SECTION("the second round trip: the history row is refused, COMMIT skipped") {
        auto refused = update_of(id, 1, S::starting);
        refused.message = "refuse";
        auto second = store.apply_updates({refused}, {launch_of(id, 1, "O-good")});
        REQUIRE_FALSE(second.ok());
        CHECK_THAT(second.error().message,
                   Catch::Contains("refused by trigger") && Catch::Contains("[SQLSTATE P0001]"));
        CHECK(second.error().permanent());
    }
    // Nothing was kept, and the same connection takes the batch without
    // the refused values.
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE task_id = " +
                    std::to_string(id)) == 0);
    auto fine = store.apply_updates({update_of(id, 1, S::starting)}, {launch_of(id, 1, "O-good")});
    REQUIRE(fine.ok());
    CHECK(fine->updates.at(0).outcome == UpdateOutcome::applied);
}

TEST_CASE("a failure inside apply_updates' pipeline has the kind of its own SQLSTATE") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    const auto id = claimed_task(store, sql, "by-state");
    install_refusing_triggers(sql);
    struct Case {
        const char* state;
        ErrorKind kind;
    };
    for (const Case c : {Case{"40001", ErrorKind::transient}, Case{"40P01", ErrorKind::transient},
                         Case{"55P03", ErrorKind::transient}, Case{"57014", ErrorKind::transient},
                         Case{"53300", ErrorKind::transient}, Case{"XX000", ErrorKind::transient},
                         Case{"23505", ErrorKind::permanent}, Case{"23514", ErrorKind::permanent},
                         Case{"22012", ErrorKind::permanent}, Case{"42P01", ErrorKind::permanent},
                         Case{"55006", ErrorKind::permanent}}) {
        const std::string raise = std::string("sqlstate ") + c.state;
        const std::string expected = std::string("[SQLSTATE ") + c.state + "]";
        CAPTURE(c.state, kind_name(c.kind));
        // Refused in the first round trip (the lock after it is skipped)...
        auto first =
            store.apply_updates({update_of(id, 1, S::starting)}, {launch_of(id, 1, raise)});
        REQUIRE_FALSE(first.ok());
        CHECK_THAT(first.error().message, Catch::Contains(expected));
        CHECK(kind_name(first.error().kind) == std::string(kind_name(c.kind)));
        // ... and in the second (COMMIT is skipped).
        auto refused = update_of(id, 1, S::starting);
        refused.message = raise;
        auto second = store.apply_updates({refused});
        REQUIRE_FALSE(second.ok());
        CHECK_THAT(second.error().message, Catch::Contains(expected));
        CHECK(kind_name(second.error().kind) == std::string(kind_name(c.kind)));
    }
    CHECK(sql.one("SELECT state FROM mesoflow.tasks WHERE id = " + std::to_string(id)) ==
          "launching");
    REQUIRE(store.apply_updates({update_of(id, 1, S::starting)}).ok());
}

TEST_CASE("a violated constraint is a permanent error") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    REQUIRE(store.insert_task(shell_task("twice")).ok());

    SECTION("the same key submitted twice (unique)") {
        auto again = store.insert_task(shell_task("twice"));
        REQUIRE_FALSE(again.ok());
        CHECK_THAT(again.error().message,
                   Catch::Contains("task twice refused") && Catch::Contains("[SQLSTATE 23505]"));
        CHECK(again.error().permanent());
    }
    SECTION("a value a CHECK refuses") {
        auto task = shell_task("no-attempts");
        task.max_attempts = 0;
        auto refused = store.insert_task(task);
        REQUIRE_FALSE(refused.ok());
        CHECK_THAT(refused.error().message, Catch::Contains("[SQLSTATE 23514]"));
        CHECK(refused.error().permanent());
    }
    SECTION("a launch batch the store refuses before sending it") {
        const auto id = store.find_task("twice").value()->id;
        auto twice = store.record_launches({launch_of(id, 1), launch_of(id, 1, "O2")});
        REQUIRE_FALSE(twice.ok());
        CHECK(twice.error().permanent());
    }
    // The connection is fine afterwards.
    CHECK(store.insert_task(shell_task("once")).ok());
}

TEST_CASE(
    "a backend terminated by the server fails the next call transient; the one after "
    "reconnects") {
    const std::string dsn = migrated_database();
    const std::string app = "mesoflow-error-kind";
    TaskStore store(dsn, app);
    Sql sql(dsn);
    const auto id = claimed_task(store, sql, "terminated");

    SECTION("a batch of updates (two pipelined round trips)") {
        terminate_backend(sql, backend_of(sql, app));
        auto lost = store.apply_updates({update_of(id, 1, S::starting)}, {launch_of(id, 1)});
        // libpq learns of the loss only when it next talks to the server.
        REQUIRE_FALSE(lost.ok());
        CAPTURE(lost.error().message);
        CHECK_FALSE(lost.error().permanent());
        CHECK(sql.one("SELECT state FROM mesoflow.tasks WHERE id = " + std::to_string(id)) ==
              "launching");
        auto again = store.apply_updates({update_of(id, 1, S::starting)}, {launch_of(id, 1)});
        REQUIRE(again.ok());
        CHECK(again->updates.at(0).outcome == UpdateOutcome::applied);
    }
    SECTION("a single statement") {
        terminate_backend(sql, backend_of(sql, app));
        auto lost = store.fetch_pending(10);
        REQUIRE_FALSE(lost.ok());
        CAPTURE(lost.error().message);
        CHECK_FALSE(lost.error().permanent());
        CHECK(store.find_task("terminated").ok());
    }
    CHECK_FALSE(backend_of(sql, app).empty());
}

TEST_CASE(
    "a row lock held past the session's lock or statement timeout is a transient error "
    "(apply_updates skips the row instead); the same call succeeds once it is released") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    std::int64_t id = 0;
    {
        TaskStore setup(dsn);
        id = claimed_task(setup, sql, "locked");
    }
    // The DSN's settings win over the store's session defaults.
    Sql holder(dsn);
    auto hold = [&] {
        holder.exec("BEGIN");
        holder.exec("SELECT 1 FROM mesoflow.tasks WHERE id = " + std::to_string(id) +
                    " FOR UPDATE");
    };

    SECTION("lock_timeout, apply_updates (pipelined): never waits, so never times out") {
        TaskStore store(dsn + " options='-c lock_timeout=100'");
        REQUIRE(store.connect().ok());
        hold();
        auto skipped = store.apply_updates({update_of(id, 1, S::starting)}, {launch_of(id, 1)});
        REQUIRE(skipped.ok());
        CHECK(skipped->updates.at(0).outcome == UpdateOutcome::row_locked);
        CHECK(skipped->placements_locked.size() == 1);
        holder.exec("ROLLBACK");
        auto retried = store.apply_updates({update_of(id, 1, S::starting)}, {launch_of(id, 1)});
        REQUIRE(retried.ok());
        CHECK(retried->updates.at(0).outcome == UpdateOutcome::applied);
        CHECK(retried->placements_locked.empty());
    }
    SECTION("lock_timeout, one statement") {
        TaskStore store(dsn + " options='-c lock_timeout=100'");
        REQUIRE(store.connect().ok());
        hold();
        auto timed_out = store.request_kill("locked");
        REQUIRE_FALSE(timed_out.ok());
        CHECK_THAT(timed_out.error().message, Catch::Contains("[SQLSTATE 55P03]"));
        CHECK_FALSE(timed_out.error().permanent());
        holder.exec("ROLLBACK");
        auto retried = store.request_kill("locked");
        REQUIRE(retried.ok());
        CHECK(retried.value() == TaskState::launching);
    }
    SECTION("statement_timeout, one statement") {
        // Long enough for the connection's schema check on a busy machine;
        // the blocked statement waits for it in full.
        TaskStore store(dsn + " options='-c statement_timeout=1000'");
        REQUIRE(store.connect().ok());
        hold();
        auto timed_out = store.request_kill("locked");
        REQUIRE_FALSE(timed_out.ok());
        CHECK_THAT(timed_out.error().message, Catch::Contains("[SQLSTATE 57014]"));
        CHECK_FALSE(timed_out.error().permanent());
        holder.exec("ROLLBACK");
        auto retried = store.request_kill("locked");
        REQUIRE(retried.ok());
        CHECK(retried.value() == TaskState::launching);
    }
}
