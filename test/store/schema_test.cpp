// Migrations and the queue table's contract, against a real PostgreSQL.
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "store_fixture.hpp"

using namespace mesoflow::store;
using namespace mesoflow::task;
using namespace mesoflow::store::testing;

TEST_CASE("migrating an empty database creates the schema at the latest version") {
    const std::string dsn = TempPostgres::shared().create_database();
    CHECK(schema_version(dsn).value() == 0);
    auto report = migrate(dsn);
    REQUIRE(report.ok());
    CHECK(report->from_version == 0);
    CHECK(report->to_version == latest_schema_version());
    CHECK(report->applied.size() == embedded_migrations().size());
    CHECK(report->applied.front() == "0001_initial");
    Sql sql(dsn);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.schema_version") ==
          static_cast<std::int64_t>(embedded_migrations().size()));
    for (const char* table : {"mesoflow.tasks", "mesoflow.task_history", "mesoflow.frameworks"}) {
        CHECK(sql.one(std::string("SELECT to_regclass('") + table + "') IS NOT NULL") == "t");
    }
}

TEST_CASE("migrating again changes nothing") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    const auto applied_at = sql.one("SELECT max(applied_at)::text FROM mesoflow.schema_version");
    auto again = migrate(dsn);
    REQUIRE(again.ok());
    CHECK(again->applied.empty());
    CHECK(again->from_version == latest_schema_version());
    CHECK(again->to_version == latest_schema_version());
    CHECK(sql.one("SELECT max(applied_at)::text FROM mesoflow.schema_version") == applied_at);
}

TEST_CASE("concurrent migrators apply the schema once and all succeed") {
    const std::string dsn = TempPostgres::shared().create_database();
    constexpr int kMigrators = 4;
    std::vector<mesoflow::Result<MigrationReport>> reports(kMigrators, mesoflow::Error{"not run"});
    std::vector<std::thread> threads;
    for (int i = 0; i < kMigrators; ++i) {
        threads.emplace_back([&, i] { reports[static_cast<std::size_t>(i)] = migrate(dsn); });
    }
    for (auto& t : threads)
        t.join();
    int applying = 0;
    for (const auto& r : reports) {
        REQUIRE(r.ok());
        if (!r->applied.empty())
            ++applying;
        CHECK(r->to_version == latest_schema_version());
    }
    CHECK(applying == 1);
}

TEST_CASE("a database with a newer schema is refused by the migrator and by the store") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    const int newer = latest_schema_version() + 1;
    sql.exec("INSERT INTO mesoflow.schema_version (version, name) VALUES (" +
             std::to_string(newer) + ", 'from_the_future')");
    auto report = migrate(dsn);
    REQUIRE_FALSE(report.ok());
    CHECK_THAT(report.error().message, Catch::Contains("newer than this mesoflow binary knows"));
    CHECK_THAT(report.error().message, Catch::Contains("version " + std::to_string(newer)));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.schema_version") ==
          static_cast<std::int64_t>(embedded_migrations().size()) + 1);

    TaskStore store(dsn);
    const auto connected = store.connect();
    REQUIRE_FALSE(connected.ok());
    CHECK_THAT(connected.error().message, Catch::Contains("newer than this mesoflow binary knows"));
}

TEST_CASE("the store refuses a database that was never migrated and says what to run") {
    TaskStore store(TempPostgres::shared().create_database());
    const auto fetched = store.fetch_pending(10);
    REQUIRE_FALSE(fetched.ok());
    CHECK_THAT(fetched.error().message, Catch::Contains("mesoflow migrate"));
}

TEST_CASE("mesoflow migrate applies the schema from --database and from MESOFLOW_DATABASE") {
    auto& pg = TempPostgres::shared();
    const std::string by_flag = pg.create_database();
    mesoflow::testing::SpawnOptions run;
    run.argv = {MESOFLOW_BINARY, "migrate", "--database", by_flag};
    std::string out;
    CHECK(mesoflow::testing::run_program(run, &out) == 0);
    CHECK_THAT(out, Catch::Contains("applied 0001_initial"));
    CHECK(schema_version(by_flag).value() == latest_schema_version());

    out.clear();
    const std::string by_env = pg.uri(database_name(pg.create_database()));
    run.argv = {MESOFLOW_BINARY, "migrate"};
    run.extra_env = {"MESOFLOW_DATABASE=" + by_env};
    CHECK(mesoflow::testing::run_program(run, &out) == 0);
    CHECK(schema_version(by_env).value() == latest_schema_version());

    out.clear();
    CHECK(mesoflow::testing::run_program(run, &out) == 0);
    CHECK_THAT(out, Catch::Contains("nothing to do"));

    out.clear();
    run.argv = {MESOFLOW_BINARY, "migrate", "--database", "host=/nonexistent dbname=x"};
    run.extra_env = {};
    CHECK(mesoflow::testing::run_program(run, &out) == 1);
    CHECK_THAT(out, Catch::Contains("cannot connect to PostgreSQL"));
}

namespace {

// The error a producer sees for one INSERT (a plain SQL client, not mesoflow).
std::string refusal(Sql& sql, const std::string& columns, const std::string& values) {
    return sql.error_of("INSERT INTO mesoflow.tasks (key, " + columns + ") VALUES ('k', " + values +
                        ")");
}

}  // namespace

TEST_CASE("rows that make no sense are refused with the name of the broken rule") {
    Sql sql(migrated_database());
    struct Case {
        const char* columns;
        const char* values;
        const char* constraint;
    };
    const Case cases[] = {
        {"command, cpus", "'true', 0", "cpus_must_be_positive"},
        {"command, cpus", "'true', -1", "cpus_must_be_positive"},
        {"command, cpus", "'true', 'NaN'", "cpus_must_be_positive"},
        {"command, mem", "'true', 0", "mem_must_be_positive"},
        {"command, disk", "'true', -5", "disk_must_not_be_negative"},
        {"command, gpus", "'true', -0.5", "gpus_must_not_be_negative"},
        {"command, ports", "'true', -1", "ports_must_not_be_negative"},
        {"command", "''", "command_or_image_required"},
        {"command", "'   '", "command_or_image_required"},
        {"argv", "'{}'", "command_or_image_required"},
        {"cpus", "2", "command_or_image_required"},
        {"command, argv", "'true', '{true}'", "command_and_argv_are_exclusive"},
        {"image, containerizer", "'busybox', 'podman'", "containerizer_must_be_docker_or_mesos"},
        {"command, containerizer", "'true', 'docker'", "containerizer_needs_an_image"},
        {"command, env", "'true', '[1,2]'", "env_must_be_a_json_object"},
        {"command, labels", "'true', '\"x\"'", "labels_must_be_a_json_object"},
        {"command, constraints", "'true', '[[\"rack\", \"EQUAL\", \"a\"]]'",
         "constraint_op_must_be_equals_not_equals_like_unlike_or_exists"},
        {"command, constraints", "'true', '[\"rack\"]'",
         "constraints_must_be_attribute_op_value_triples"},
        {"command, constraints", "'true', '{\"rack\": \"a\"}'",
         "constraints_must_be_attribute_op_value_triples"},
        {"command, constraints", "'true', '[[\"rack\", \"EQUALS\"]]'",
         "constraints_must_be_attribute_op_value_triples"},
        {"command, max_attempts", "'true', 0", "max_attempts_must_be_at_least_1"},
        {"command, retry_backoff_s", "'true', -1", "retry_backoff_must_not_be_negative"},
        {"command, timeout_s", "'true', 0", "timeout_must_be_positive"},
        {"command, state", "'true', 'done'", "state_must_be_known"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.columns, c.values);
        CHECK_THAT(refusal(sql, c.columns, c.values), Catch::Contains(c.constraint));
    }
    CHECK_THAT(sql.error_of("INSERT INTO mesoflow.tasks (key, command) VALUES (' ', 'true')"),
               Catch::Contains("key_must_not_be_empty"));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks") == 0);
}

TEST_CASE("sensible rows are accepted with the documented defaults") {
    Sql sql(migrated_database());
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('shell', 'echo hi')");
    sql.exec("INSERT INTO mesoflow.tasks (key, image) VALUES ('image-only', 'busybox')");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, argv, image, containerizer, constraints)"
        " VALUES ('argv', '{python3,-c,print(1)}', 'python:3', 'mesos',"
        " '[[\"hostname\", \"LIKE\", \"a-.*\"], [\"gpu\", \"EXISTS\"], [\"rack\", \"EQUALS\", "
        "3]]')");
    CHECK(sql.one("SELECT concat_ws(',', cpus, mem, disk, gpus, ports, max_attempts,"
                  " retry_backoff_s, retry_on_failure, priority, state, attempt, kill_requested)"
                  " FROM mesoflow.tasks WHERE key = 'shell'") ==
          "1,256,0,0,0,3,15,f,0,pending,0,f");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks") == 3);
}

TEST_CASE("a second task with the same key is refused by name") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    REQUIRE(store.insert_task(shell_task("dag.task.2024-01-01.1")).ok());
    auto again = store.insert_task(shell_task("dag.task.2024-01-01.1"));
    REQUIRE_FALSE(again.ok());
    CHECK_THAT(again.error().message, Catch::Contains("task_key_must_be_unique"));
    CHECK_THAT(again.error().message, Catch::Contains("dag.task.2024-01-01.1"));
}

TEST_CASE("insert_task refuses what the table refuses, naming the constraint") {
    TaskStore store(migrated_database());
    auto task = shell_task("bad-cpus");
    task.cpus = 0;
    auto refused = store.insert_task(task);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message, Catch::Contains("cpus_must_be_positive"));
    CHECK_THAT(refused.error().message, Catch::Contains("bad-cpus"));

    NewTask nothing;
    nothing.key = "nothing-to-run";
    auto empty = store.insert_task(nothing);
    REQUIRE_FALSE(empty.ok());
    CHECK_THAT(empty.error().message, Catch::Contains("command_or_image_required"));
}

TEST_CASE("a kill requested before launch kills the task in the producer's own statement") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('k1', 'sleep 100')");
    sql.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE key = 'k1'");
    CHECK(sql.one("SELECT state || ',' || reason || ',' || (finished_at IS NOT NULL)"
                  " FROM mesoflow.tasks WHERE key = 'k1'") == "killed,killed_before_launch,true");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'kill_requested'") ==
          1);

    sql.exec("INSERT INTO mesoflow.tasks (key, command, kill_requested) VALUES ('k2', 'x', true)");
    CHECK(sql.one("SELECT state FROM mesoflow.tasks WHERE key = 'k2'") == "killed");

    TaskStore store(dsn);
    CHECK(store.fetch_pending(10)->empty());
    auto killed = store.request_kill("k1");
    REQUIRE(killed.ok());
    CHECK(killed.value() == TaskState::killed);
    CHECK_FALSE(store.request_kill("no-such-key").value());
}

TEST_CASE("deleting finished tasks deletes their history too") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    const auto keep = queued_and_launched(store, shell_task("keep"));
    const auto drop = queued_and_launched(store, shell_task("drop"));
    REQUIRE(store
                .apply_updates({update_of(drop, 1, MesosTaskState::finished),
                                update_of(keep, 1, MesosTaskState::finished)})
                .ok());
    Sql sql(dsn);
    sql.exec("DELETE FROM mesoflow.tasks WHERE key = 'drop'");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE task_id = " +
                    std::to_string(drop)) == 0);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE task_id = " +
                    std::to_string(keep)) == 2);
}

TEST_CASE("constraints are checked when a producer changes them, not on mesoflow's own updates") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, constraints)"
        " VALUES ('c', 'true', '[[\"rack\", \"EQUALS\", \"r1\"]]')");
    const auto refused =
        sql.error_of("UPDATE mesoflow.tasks SET constraints = '[[\"rack\", \"NEAR\", \"r1\"]]'");
    CHECK_THAT(refused,
               Catch::Contains("constraint_op_must_be_equals_not_equals_like_unlike_or_exists"));
    CHECK_THAT(refused, Catch::Contains("EQUALS, NOT_EQUALS, LIKE, UNLIKE and EXISTS"));
    TaskStore store(dsn);
    const auto id = store.fetch_pending(1).value().at(0).id;
    CHECK(store.record_launches({launch_of(id, 1)})->at(0));
}
