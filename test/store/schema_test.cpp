// Migrations and the queue table's contract, against a real PostgreSQL.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mesoflow/mesos/types.hpp"
#include "process.hpp"
#include "store/history_codes.hpp"
#include "store_fixture.hpp"

using namespace mesoflow::store;
using namespace mesoflow::task;
using namespace mesoflow::store::testing;

namespace {

// A new database migrated by hand up to schema `version` (the migrator
// would take it to the latest).
std::string database_at_schema(int version) {
    const std::string dsn = TempPostgres::shared().create_database();
    Sql sql(dsn);
    sql.exec(
        "CREATE SCHEMA mesoflow; CREATE TABLE mesoflow.schema_version (version integer PRIMARY "
        "KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    for (const auto& m : embedded_migrations()) {
        if (m.version > version)
            break;
        sql.exec(std::string(m.sql));
        sql.exec("INSERT INTO mesoflow.schema_version (version, name) VALUES (" +
                 std::to_string(m.version) + ", '" + std::string(m.name) + "')");
    }
    return dsn;
}

}  // namespace

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
        {"command, constraints",
         "'true', (SELECT jsonb_agg(jsonb_build_array('hostname', 'UNLIKE', 'x' || i))"
         " FROM generate_series(1, 33) i)",
         "constraints_must_have_at_most_32_patterns"},
        {"command, constraints",
         "'true', jsonb_build_array(jsonb_build_array('h', 'LIKE', repeat('a', 1025)))",
         "constraint_pattern_must_be_at_most_1_kib"},
        {"command, constraints",
         "'true', jsonb_build_array(jsonb_build_array('h', 'LIKE', repeat('a', 1024)),"
         " jsonb_build_array('h', 'UNLIKE', repeat('b', 1024)), jsonb_build_array('h', 'LIKE', "
         "'c'))",
         "constraint_patterns_must_be_at_most_2_kib"},
        {"command, max_attempts", "'true', 0", "max_attempts_must_be_at_least_1"},
        {"command, retry_backoff_s", "'true', -1", "retry_backoff_must_not_be_negative"},
        {"command, timeout_s", "'true', 0", "timeout_must_be_positive"},
        {"command, state", "'true', 'done'", "state_must_be_known"},
        {"argv", "'{python3,NULL}'", "argv_must_not_contain_nulls"},
        {"command, uris", "'true', '{http://x/a,NULL}'", "uris_must_not_contain_nulls"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.columns, c.values);
        CHECK_THAT(refusal(sql, c.columns, c.values), Catch::Contains(c.constraint));
    }
    CHECK_THAT(sql.error_of("INSERT INTO mesoflow.tasks (key, command) VALUES (' ', 'true')"),
               Catch::Contains("key_must_not_be_empty"));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks") == 0);
}

// Schema 17: the LIKE / UNLIKE patterns mesoflow matches are bounded
// (scheduler/placement_constraints.hpp); the table refuses rows past the
// bounds it can count, and takes those at them.
TEST_CASE("a row with LIKE / UNLIKE patterns at the bounds is taken, one past them refused") {
    Sql sql(migrated_database());
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, constraints) SELECT 'at-bounds', 'true',"
        " jsonb_agg(jsonb_build_array('hostname', CASE WHEN i % 2 = 0 THEN 'LIKE' ELSE 'UNLIKE'"
        " END, repeat('a', 64))) || jsonb_build_array(jsonb_build_array('rack', 'EQUALS', 'r1'),"
        " jsonb_build_array('ssd', 'EXISTS')) FROM generate_series(1, 32) i");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, constraints) VALUES ('one-kib', 'true',"
        " jsonb_build_array(jsonb_build_array('h', 'LIKE', repeat('a', 1024)),"
        " jsonb_build_array('h', 'UNLIKE', repeat('b', 1024))))");
    // Many EQUALS constraints are no patterns.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, constraints) SELECT 'equals', 'true',"
        " jsonb_agg(jsonb_build_array('hostname', 'EQUALS', 'h' || i)) FROM generate_series(1, "
        "100) i");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks") == 3);
    // A producer's update is judged the same way.
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET constraints = constraints ||"
                            " '[[\"h\", \"LIKE\", \"x\"]]' WHERE key = 'at-bounds'"),
               Catch::Contains("constraints_must_have_at_most_32_patterns"));
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET constraints = constraints ||"
                            " '[[\"h\", \"LIKE\", \"x\"]]' WHERE key = 'one-kib'"),
               Catch::Contains("constraint_patterns_must_be_at_most_2_kib"));
}

// Since schema 9 the rules on a producer's columns are a trigger on INSERT and
// on UPDATE of those columns, not CHECKs that every UPDATE evaluates; since
// schema 11 the UPDATE's is an AFTER trigger (a BEFORE UPDATE row trigger
// makes every UPDATE lock its rows first, a WAL record each).
TEST_CASE("a producer's update that breaks a rule is refused; mesoflow's updates do not run them") {
    Sql sql(migrated_database());
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('t', 'true')");
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET cpus = -1 WHERE key = 't'"),
               Catch::Contains("cpus_must_be_positive"));
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET command = NULL WHERE key = 't'"),
               Catch::Contains("command_or_image_required"));
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET network = 'bridge' WHERE key = 't'"),
               Catch::Contains("network_needs_an_image"));
    // The first rule broken, by name, as CHECKs were tested.
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET cpus = 0, mem = 0 WHERE key = 't'"),
               Catch::Contains("cpus_must_be_positive"));
    CHECK(sql.one("SELECT cpus FROM mesoflow.tasks WHERE key = 't'") == "1");
    // A row that breaks a rule (written with the trigger off) still takes
    // mesoflow's writes of its own columns: they run no rule.
    sql.exec("ALTER TABLE mesoflow.tasks DISABLE TRIGGER tasks_check_values_on_update");
    sql.exec("UPDATE mesoflow.tasks SET cpus = -1 WHERE key = 't'");
    sql.exec("ALTER TABLE mesoflow.tasks ENABLE TRIGGER tasks_check_values_on_update");
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'launching', attempt = 1, mesos_task_id = 'mf-' || id"
        " || '-1', updated_at = now() WHERE key = 't'");
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'running', last_mesos_state = 'TASK_RUNNING',"
        " started_at = now(), not_before = now() WHERE key = 't'");
    CHECK(sql.one("SELECT state FROM mesoflow.tasks WHERE key = 't'") == "running");
    // No BEFORE UPDATE row trigger on the queue table.
    CHECK(sql.count("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'mesoflow.tasks'::regclass"
                    " AND NOT tgisinternal AND tgtype & 1 = 1 AND tgtype & 2 = 2"
                    " AND tgtype & 16 = 16") == 0);
    // A producer's queue change of a launched task is refused as before.
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET queue = 'other' WHERE key = 't'"),
               Catch::Contains("queue_changes_only_while_pending"));
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

TEST_CASE("malformed volumes, networks and Docker parameters are refused by name") {
    Sql sql(migrated_database());
    // A volume of {host_path, container_path, mode}, in a docker image row.
    auto vol = [](const std::string& fields) { return "'busybox', '[{" + fields + "}]'"; };
    const std::string ok_paths = R"("host_path": "/data", "container_path": "/data")";
    struct Case {
        std::string columns;
        std::string values;
        const char* constraint;
    };
    const Case cases[] = {
        {"image, volumes", "'busybox', '{\"host_path\": \"/data\"}'",
         "volumes_must_be_a_json_array"},
        {"image, volumes",
         "'busybox', (SELECT jsonb_agg(jsonb_build_object('host_path', '/d', 'container_path',"
         " '/d')) FROM generate_series(1, 33))",
         "volumes_must_be_at_most_32"},
        {"image, volumes", "'busybox', '[\"/data:/data\"]'",
         "volumes_must_be_host_path_container_path_mode_objects"},
        {"image, volumes", vol(R"("host_path": "/data")"),
         "volumes_must_be_host_path_container_path_mode_objects"},
        {"image, volumes", vol(ok_paths + R"(, "propagation": "shared")"),
         "volumes_must_be_host_path_container_path_mode_objects"},
        {"image, volumes", vol(R"("host_path": 7, "container_path": "/d")"),
         "volumes_must_be_host_path_container_path_mode_objects"},
        {"image, volumes", vol(R"("host_path": "data", "container_path": "/d")"),
         "volume_host_path_must_be_an_absolute_path"},
        {"image, volumes", vol(R"("host_path": "/data/../etc", "container_path": "/d")"),
         "volume_host_path_must_be_an_absolute_path"},
        {"image, volumes", vol(R"("host_path": "/data:/etc", "container_path": "/d")"),
         "volume_host_path_must_be_an_absolute_path"},
        {"image, volumes", vol(R"("host_path": "/d", "container_path": "/x,rw")"),
         "volume_container_path_must_be_an_absolute_path"},
        {"image, volumes", vol(R"("host_path": "/d", "container_path": "..")"),
         "volume_container_path_must_be_an_absolute_path"},
        {"image, volumes", vol(R"("host_path": "/d", "container_path": "")"),
         "volume_container_path_must_be_an_absolute_path"},
        {"image, volumes",
         "'busybox', jsonb_build_array(jsonb_build_object('host_path', '/' || repeat('x', 4096),"
         " 'container_path', '/d'))",
         "volume_host_path_must_be_an_absolute_path"},
        {"image, volumes", vol(ok_paths + R"(, "mode": "rw")"), "volume_mode_must_be_ro_or_rw"},
        {"image, volumes", vol(ok_paths + R"(, "mode": null)"),
         "volumes_must_be_host_path_container_path_mode_objects"},
        {"command, volumes", "'true', '[]'", "volumes_need_an_image"},
        {"image, network", "'busybox', 'overlay'", "network_must_be_host_bridge_none_or_user"},
        {"image, network", "'busybox', 'HOST'", "network_must_be_host_bridge_none_or_user"},
        {"command, network", "'true', 'host'", "network_needs_an_image"},
        {"image, containerizer, network", "'busybox', 'mesos', 'bridge'",
         "network_bridge_or_none_needs_docker"},
        {"image, network", "'busybox', 'user'", "user_network_needs_network_name"},
        {"image, network, network_name", "'busybox', 'bridge', 'etl'",
         "network_name_needs_user_network"},
        {"image, network_name", "'busybox', 'etl'", "network_name_needs_user_network"},
        {"image, network, network_name", "'busybox', 'user', 'etl net'",
         "network_name_must_be_a_plain_name"},
        {"image, network, network_name", "'busybox', 'user', repeat('n', 256)",
         "network_name_must_be_a_plain_name"},
        {"image, docker_parameters", "'busybox', '{\"label\": \"a=b\"}'",
         "docker_parameters_must_be_a_json_array"},
        {"image, docker_parameters",
         "'busybox', (SELECT jsonb_agg(jsonb_build_object('key', 'label', 'value', 'x'))"
         " FROM generate_series(1, 65))",
         "docker_parameters_must_be_at_most_64"},
        {"image, docker_parameters", "'busybox', '[[\"label\", \"a=b\"]]'",
         "docker_parameters_must_be_key_value_objects"},
        {"image, docker_parameters", "'busybox', '[{\"key\": \"label\"}]'",
         "docker_parameters_must_be_key_value_objects"},
        {"image, docker_parameters", "'busybox', '[{\"key\": \"label\", \"value\": 1}]'",
         "docker_parameters_must_be_key_value_objects"},
        {"image, docker_parameters", "'busybox', '[{\"key\": \"--privileged\", \"value\": \"\"}]'",
         "docker_parameter_key_must_be_an_option_name"},
        {"image, docker_parameters", "'busybox', '[{\"key\": \"Label\", \"value\": \"\"}]'",
         "docker_parameter_key_must_be_an_option_name"},
        {"image, docker_parameters",
         "'busybox', '[{\"key\": \"label a=b --privileged\", \"value\": \"\"}]'",
         "docker_parameter_key_must_be_an_option_name"},
        {"image, docker_parameters",
         "'busybox', jsonb_build_array(jsonb_build_object('key', 'label', 'value',"
         " repeat('v', 4097)))",
         "docker_parameter_value_must_be_at_most_4_kib"},
        {"image, containerizer, docker_parameters",
         "'busybox', 'mesos', '[{\"key\": \"label\", \"value\": \"a\"}]'",
         "docker_parameters_need_docker"},
        {"command, docker_parameters", "'true', '[]'", "docker_parameters_need_docker"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.columns, c.values);
        CHECK_THAT(refusal(sql, c.columns, c.values), Catch::Contains(c.constraint));
    }
    // PostgreSQL keeps NUL out of text and jsonb itself.
    CHECK_THAT(refusal(sql, "image, volumes",
                       vol(R"("host_path": "/data\u0000/etc", "container_path": "/d")")),
               Catch::Contains("unsupported Unicode escape sequence"));
    CHECK_THAT(refusal(sql, "image, network, network_name", "'busybox', 'user', E'etl\\x01'"),
               Catch::Contains("network_name_must_be_a_plain_name"));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks") == 0);

    // Well formed, including the limits; a producer's later change is checked too.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, image, volumes, network, network_name,"
        " docker_parameters) VALUES ('docker', 'busybox', (SELECT jsonb_agg(jsonb_build_object("
        "'host_path', '/data/' || i, 'container_path', '/mnt/' || i, 'mode', 'RW'))"
        " FROM generate_series(1, 32) i), 'user', 'etl-net.1', (SELECT jsonb_agg("
        "jsonb_build_object('key', 'label', 'value', repeat('v', 4096)))"
        " FROM generate_series(1, 64)))");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, image, containerizer, volumes, network, network_name)"
        " VALUES ('mesos', 'busybox', 'mesos', '[{\"host_path\": \"/\", \"container_path\":"
        " \"/host\"}]', 'user', 'cni1')");
    sql.exec("INSERT INTO mesoflow.tasks (key, image, network) VALUES ('none', 'busybox', 'none')");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks") == 3);
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET volumes = '[{\"host_path\": \"x\","
                            " \"container_path\": \"/x\"}]' WHERE key = 'mesos'"),
               Catch::Contains("volume_host_path_must_be_an_absolute_path"));
    // mesoflow's own updates of other columns do not run the JSON checks.
    sql.exec("UPDATE mesoflow.tasks SET state = 'launching', attempt = 1 WHERE key = 'docker'");
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

TEST_CASE("deleting tasks reads their own history rows, not the whole history") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    // 20,000 ended tasks with four history rows each.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, state, attempt)"
        " SELECT 'old-' || g, 'true', 'finished', 1 FROM generate_series(1, 20000) g;"
        "INSERT INTO mesoflow.task_events (task_id, attempt, kind)"
        " SELECT t.id, 1, k FROM mesoflow.tasks t CROSS JOIN (VALUES (1), (2), (2), (2)) v(k);"
        "ANALYZE mesoflow.tasks; ANALYZE mesoflow.task_events");
    // The history rows this session's transaction has read so far: fetched
    // through an index, or scanned.
    const auto read_of_history = [&] {
        return sql.count(
            "SELECT idx_tup_fetch + seq_tup_read FROM pg_stat_xact_user_tables"
            " WHERE relid = 'mesoflow.task_events'::regclass");
    };
    sql.exec("BEGIN");
    // One task, then 50 in the same session: the trigger's statement is
    // planned for the first (one row) and its plan kept.
    sql.exec("DELETE FROM mesoflow.tasks WHERE key = 'old-1'");
    const auto after_one = read_of_history();
    sql.exec(
        "DELETE FROM mesoflow.tasks"
        " WHERE key IN (SELECT 'old-' || g FROM generate_series(2, 51) g)");
    const auto after_fifty = read_of_history();
    CHECK(after_one == 4);
    CHECK(after_fifty - after_one == 200);
    sql.exec("COMMIT");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events") == 80000 - 204);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events e"
                    " WHERE NOT EXISTS (SELECT FROM mesoflow.tasks t WHERE t.id = e.task_id)") ==
          0);
}

TEST_CASE(
    "schema 10: the history keeps one btree index (task_id), reads a task's rows in order, "
    "and a database migrated from schema 9 keeps its history") {
    const std::string dsn = database_at_schema(9);
    Sql sql(dsn);
    // A task of schema 9, launched and running, with its history.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, state, attempt, mesos_task_id, agent_id)"
        " VALUES ('before', 'true', 'running', 1, 'mf-1-1', 'A1');"
        "INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, kind, to_state)"
        " VALUES (1, 1, 'mf-1-1', 'launch', 'launching');"
        "INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, kind, mesos_state,"
        " outcome, from_state, to_state) VALUES (1, 1, 'mf-1-1', 'update', 'TASK_RUNNING',"
        " 'applied', 'launching', 'running')");
    REQUIRE(migrate(dsn).ok());
    TaskStore store(dsn);
    const auto before = store.find_task("before").value().value().id;
    REQUIRE(store.apply_updates({update_of(before, 1, MesosTaskState::finished)}).ok());
    const auto history = store.task_history(before).value();
    REQUIRE(history.size() == 3);
    CHECK(history[0].kind == "launch");
    CHECK(history[1].mesos_state == "TASK_RUNNING");
    CHECK(history[2].mesos_state == "TASK_FINISHED");
    CHECK(history[2].outcome == "applied");
    CHECK(history[1].id > history[0].id);
    CHECK(history[2].id > history[1].id);

    // What each history row costs: one btree entry (task_id) and a BRIN
    // summary of id; deletes replicate with the whole old row.
    CHECK(sql.one("SELECT string_agg(c.relname || ' ' || am.amname || ' ' ||"
                  " pg_get_indexdef(indexrelid, 1, true), '; ' ORDER BY c.relname)"
                  " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                  " JOIN pg_am am ON am.oid = c.relam"
                  " WHERE indrelid = 'mesoflow.task_events'::regclass") ==
          "task_history_by_id brin id; task_history_by_task btree task_id");
    CHECK(sql.one("SELECT relreplident FROM pg_class"
                  " WHERE oid = 'mesoflow.task_events'::regclass") == "f");
    CHECK_FALSE(sql.error_of("INSERT INTO mesoflow.task_history (id, kind) VALUES (NULL, 'launch')")
                    .empty());
}

TEST_CASE(
    "schema 12: the launch columns come after every column a status update changes, and a "
    "database migrated from schema 11 keeps their values, its views and its grants") {
    const std::string dsn = database_at_schema(11);
    Sql sql(dsn);
    const std::string role = "reader_" + database_name(dsn);
    sql.exec("CREATE ROLE " + role);
    sql.exec("GRANT SELECT ON mesoflow.pending_reasons TO " + role);
    sql.exec("GRANT SELECT (id, agent_id) ON mesoflow.tasks TO " + role);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, state, attempt, mesos_task_id, agent_id,"
        " hostname, offer_id) VALUES ('launched', 'true', 'running', 1, 'mf-1-1', 'A1', 'h1',"
        " 'O1');"
        "INSERT INTO mesoflow.tasks (key, command) VALUES ('waiting', 'true')");
    REQUIRE(migrate(dsn).ok());

    CHECK(sql.one("SELECT concat_ws(' ', mesos_task_id, agent_id, hostname, offer_id)"
                  " FROM mesoflow.tasks WHERE key = 'launched'") == "mf-1-1 A1 h1 O1");
    CHECK(sql.one("SELECT concat_ws(' ', mesos_task_id, agent_id, hostname, offer_id, 'none')"
                  " FROM mesoflow.tasks WHERE key = 'waiting'") == "none");
    // Where each column is: every column a status update or kill changes lies
    // before the first launch column.
    CHECK(sql.one("SELECT max(attnum) FILTER (WHERE attname IN ('state', 'phase', 'updated_at',"
                  " 'started_at', 'finished_at', 'last_mesos_state', 'message', 'reason', 'source',"
                  " 'exit_status', 'healthy', 'unreachable_since', 'timed_out'))"
                  " < min(attnum) FILTER (WHERE attname IN ('mesos_task_id', 'agent_id',"
                  " 'hostname', 'offer_id'))"
                  " FROM pg_attribute WHERE attrelid = 'mesoflow.tasks'::regclass"
                  " AND attnum > 0 AND NOT attisdropped") == "t");
    CHECK(sql.one("SELECT obj_description('mesoflow.pending_reasons'::regclass, 'pg_class')") ==
          "Why each task not launched yet waits (README \"Why a task is pending\").");
    CHECK(sql.one("SELECT key FROM mesoflow.pending_reasons") == "waiting");
    CHECK(sql.one("SELECT has_table_privilege('" + role +
                  "', 'mesoflow.pending_reasons',"
                  " 'SELECT')") == "t");
    CHECK(sql.one("SELECT has_column_privilege('" + role +
                  "', 'mesoflow.tasks', 'agent_id',"
                  " 'SELECT')") == "t");
    CHECK(sql.one("SELECT has_column_privilege('" + role +
                  "', 'mesoflow.tasks', 'hostname',"
                  " 'SELECT')") == "f");
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET mesos_task_id = 'mf-9-9'"
                            " WHERE key = 'launched'"),
               Catch::Contains("mesos_task_id_must_match_attempt"));
}

namespace {

// History rows of every shape: ids that follow from the row and ids that do
// not, no task, no attempt, names mesoflow and Mesos do not have yet.
constexpr const char* kHistoryOfEveryShape =
    "INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, recorded_at, kind,"
    " mesos_state, outcome, from_state, to_state, reason, source, message, agent_id,"
    " executor_id, status_time, uuid, healthy, note) VALUES"
    " (1, 1, 'mf-1-1', '2026-01-01', 'launch', NULL, NULL, 'launching', 'launching', NULL,"
    "  NULL, NULL, 'A1', NULL, NULL, NULL, NULL, 'offer O1'),"
    " (1, 1, 'mf-1-1', '2026-01-01', 'update', 'TASK_RUNNING', 'applied', 'launching',"
    "  'running', NULL, 'SOURCE_EXECUTOR', NULL, 'A1', 'mf-1-1', '2026-01-01 00:00:01',"
    "  'qAPubCvMRqegLeJyhZ9Vdw==', true, NULL),"
    " (1, 1, 'mf-1-1', '2026-01-01', 'update', 'TASK_FAILED', 'applied', 'running', 'failed',"
    "  'REASON_COMMAND_EXECUTOR_FAILED', 'SOURCE_AGENT', 'exit 1', 'A1', 'custom-executor',"
    "  NULL, 'u2', false, NULL),"
    " (1, 2, 'mf-1-9', '2026-01-01', 'update', 'TASK_FROM_A_NEWER_MESOS', 'a_newer_outcome',"
    "  'a_newer_state', 'another_newer_state', NULL, 'SOURCE_ELSEWHERE', NULL, NULL, NULL,"
    "  NULL, NULL, NULL, NULL),"
    " (NULL, NULL, 'stray-1', '2026-01-01', 'update', 'TASK_RUNNING', 'unknown_task', NULL,"
    "  NULL, NULL, 'SOURCE_MASTER', NULL, 'A9', 'stray-1', NULL, 'u3', NULL, 'no such task'),"
    " (2, 0, NULL, '2026-01-01', 'kill_requested', NULL, NULL, 'pending', 'killed', NULL, NULL,"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
    " (2, 0, '', '2026-01-01', 'timed_out', NULL, NULL, 'pending', 'failed', NULL, NULL,"
    "  NULL, '', '', NULL, '', NULL, '')";

// Every column of the rows but id, in id order.
std::string history_values(Sql& sql, const std::string& where) {
    return sql.one(
        "SELECT string_agg(row(task_id, attempt, mesos_task_id, recorded_at, kind, mesos_state,"
        " outcome, from_state, to_state, reason, source, message, agent_id, executor_id,"
        " status_time, uuid, healthy, note)::text, E'\\n' ORDER BY id)"
        " FROM mesoflow.task_history WHERE " +
        where);
}

}  // namespace

TEST_CASE(
    "schema 13: the history is stored coded and reads as before, and a database migrated from "
    "schema 12 reads the same history with the same grants") {
    const std::string dsn = database_at_schema(12);
    Sql sql(dsn);
    const std::string role = "history_reader_" + database_name(dsn);
    sql.exec("CREATE ROLE " + role);
    sql.exec("GRANT SELECT, INSERT ON mesoflow.task_history TO " + role);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('one', 'true'), ('two', 'true')");
    sql.exec(kHistoryOfEveryShape);
    const std::string before = history_values(sql, "true");
    REQUIRE(migrate(dsn).ok());

    CHECK(sql.one("SELECT relkind FROM pg_class WHERE oid = 'mesoflow.task_history'::regclass") ==
          "v");
    CHECK(history_values(sql, "true") == before);
    // Written through the view, the same rows read back the same.
    const std::string last = sql.one("SELECT max(id) FROM mesoflow.task_history");
    sql.exec(kHistoryOfEveryShape);
    CHECK(history_values(sql, "id > " + last) == before);
    CHECK(sql.one("SELECT bool_and(id > " + last + ") FROM mesoflow.task_events WHERE id > " +
                  last) == "t");

    // Stored coded: names as codes, ids that follow from the row not stored;
    // a name without a code kept as itself.
    CHECK(sql.one("SELECT pg_typeof(kind)::text || ' ' || pg_typeof(mesos_state)::text"
                  " FROM mesoflow.task_events LIMIT 1") == "smallint smallint");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events WHERE task_id = 1 AND attempt = 1"
                    " AND mesos_task_id IS NULL") == 6);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events"
                    " WHERE executor_id IS NULL AND derived & 2 <> 0") == 6);
    CHECK(sql.one("SELECT unlisted::text FROM mesoflow.task_events WHERE attempt = 2 LIMIT 1") ==
          "{\"source\": \"SOURCE_ELSEWHERE\", \"outcome\": \"a_newer_outcome\", \"to_state\": "
          "\"another_newer_state\", \"from_state\": \"a_newer_state\", \"mesos_state\": "
          "\"TASK_FROM_A_NEWER_MESOS\"}");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events WHERE unlisted IS NOT NULL") == 2);
    CHECK_THAT(sql.error_of("INSERT INTO mesoflow.task_history (task_id, kind) VALUES (1, 'x')"),
               Catch::Contains("history_kind_must_be_known"));

    CHECK(sql.one("SELECT has_table_privilege('" + role +
                  "', 'mesoflow.task_history', 'SELECT')"
                  " AND has_table_privilege('" +
                  role + "', 'mesoflow.task_history', 'INSERT')") == "t");
    sql.exec("DELETE FROM mesoflow.task_history WHERE task_id IS NULL");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events WHERE task_id IS NULL") == 0);
    // A role allowed to delete tasks, granted nothing on the history,
    // deletes a task and its history.
    const std::string deleter = "deleter_" + database_name(dsn);
    sql.exec("CREATE ROLE " + deleter + " LOGIN");
    sql.exec("GRANT USAGE ON SCHEMA mesoflow TO " + deleter);
    sql.exec("GRANT SELECT, DELETE ON mesoflow.tasks TO " + deleter);
    Sql as_deleter(dsn + " user=" + deleter);
    as_deleter.exec("DELETE FROM mesoflow.tasks WHERE key = 'two'");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events WHERE task_id = 2") == 0);

    // Every name mesoflow writes has a code.
    std::vector<std::string> names = {"launch", "update", "kill_requested", "timed_out", "refused"};
    for (int i = 0; i <= static_cast<int>(TaskState::error); ++i)
        names.emplace_back(to_string(static_cast<TaskState>(i)));
    for (int i = 0; i <= static_cast<int>(MesosTaskState::unknown); ++i)
        names.emplace_back(to_string(static_cast<MesosTaskState>(i)));
    for (int i = 0; i <= static_cast<int>(UpdateOutcome::row_locked); ++i)
        names.emplace_back(to_string(static_cast<UpdateOutcome>(i)));
    for (int i = 0; i <= static_cast<int>(mesoflow::mesos::TaskSource::executor); ++i)
        names.emplace_back(mesoflow::mesos::to_string(static_cast<mesoflow::mesos::TaskSource>(i)));
    for (const auto& name : names) {
        INFO(name);
        CHECK(sql.one("SELECT array_position(mesoflow.history_names(), '" + name + "') > 0") ==
              "t");
    }

    // What mesoflow writes is stored coded.
    TaskStore store(dsn);
    const auto id = store.fetch_pending(1).value().at(0).id;
    const std::string written = sql.one("SELECT max(id) FROM mesoflow.task_events");
    REQUIRE(store.record_launches({launch_of(id, 1)})->at(0));
    REQUIRE(store.apply_updates({update_of(id, 1, MesosTaskState::running)}).ok());
    CHECK(sql.one("SELECT string_agg(concat_ws(' ', kind, to_state, mesos_task_id IS NULL,"
                  " unlisted IS NULL), ', ' ORDER BY id) FROM mesoflow.task_events"
                  " WHERE task_id = " +
                  std::to_string(id) + " AND id > " + written) == "1 7 t t, 2 10 t t");
}

TEST_CASE(
    "schema 15: a numbered agent and a uuid in base64 are stored as a number and 16 bytes and "
    "read as before; rows written before it are left as they were") {
    const std::string dsn = database_at_schema(14);
    Sql sql(dsn);
    const std::string role = "history_writer_" + database_name(dsn);
    sql.exec("CREATE ROLE " + role);
    sql.exec("GRANT SELECT, INSERT ON mesoflow.task_events TO " + role);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('one', 'true'), ('two', 'true')");
    sql.exec(kHistoryOfEveryShape);
    const std::string before = history_values(sql, "true");
    REQUIRE(migrate(dsn).ok());

    CHECK(history_values(sql, "true") == before);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events"
                    " WHERE agent_code IS NOT NULL OR status_uuid IS NOT NULL") == 0);
    CHECK(sql.one("SELECT has_table_privilege('" + role + "', 'mesoflow.agent_codes', 'INSERT')") ==
          "t");

    // Written through the view with A1 numbered, the rows read back the same.
    sql.exec("INSERT INTO mesoflow.agent_codes (agent_id) VALUES ('A1')");
    const std::string last = sql.one("SELECT max(id) FROM mesoflow.task_events");
    sql.exec(kHistoryOfEveryShape);
    CHECK(history_values(sql, "id > " + last) == before);
    // A1 as its number; A9 (not numbered) and '' as text.
    CHECK(sql.one("SELECT string_agg(coalesce(agent_id, '-') || ':' ||"
                  " coalesce(agent_code::text, '-'), ' ' ORDER BY id) FROM mesoflow.task_events"
                  " WHERE id > " +
                  last) == "-:1 -:1 -:1 -:- A9:- -:- :-");
    // The one uuid that is base64 of 16 bytes as a uuid; the rest as text.
    CHECK(sql.one("SELECT string_agg(coalesce(uuid, '-') || ':' ||"
                  " coalesce(status_uuid::text, '-'), ' ' ORDER BY id) FROM mesoflow.task_events"
                  " WHERE id > " +
                  last) == "-:- -:a803ee6c-2bcc-46a7-a02d-e272859f5577 u2:- -:- u3:- -:- :-");
    // Base64 that decodes to 16 bytes but is not how it encodes back (stray
    // bits in its last character) is kept as written.
    CHECK(sql.one("INSERT INTO mesoflow.task_history (task_id, kind, uuid)"
                  " VALUES (1, 'update', 'qAPubCvMRqegLeJyhZ9Vdx==') RETURNING uuid") ==
          "qAPubCvMRqegLeJyhZ9Vdx==");
    CHECK(sql.one("SELECT uuid FROM mesoflow.task_history ORDER BY id DESC LIMIT 1") ==
          "qAPubCvMRqegLeJyhZ9Vdx==");
    CHECK(
        sql.one("SELECT status_uuid IS NULL FROM mesoflow.task_events ORDER BY id DESC LIMIT 1") ==
        "t");

    // mesoflow numbers the agents it places tasks on before it writes the
    // placement, so the launch and the updates store the number.
    TaskStore store(dsn);
    const auto id = store.fetch_pending(1).value().at(0).id;
    const std::string written = sql.one("SELECT max(id) FROM mesoflow.task_events");
    REQUIRE(store.record_launches({launch_of(id, 1, "O1", "agent-7")})->at(0));
    auto running = update_of(id, 1, MesosTaskState::running, "qAPubCvMRqegLeJyhZ9Vdw==");
    running.agent_id = "agent-7";
    REQUIRE(store.apply_updates({running}).ok());
    CHECK(sql.one("SELECT string_agg(concat_ws(' ', e.agent_id IS NULL, a.agent_id,"
                  " status_uuid IS NOT NULL), ', ' ORDER BY e.id) FROM mesoflow.task_events e"
                  " JOIN mesoflow.agent_codes a ON a.code = e.agent_code WHERE e.id > " +
                  written) == "t agent-7 f, t agent-7 t");
    CHECK(sql.one("SELECT string_agg(agent_id || ' ' || coalesce(uuid, '-'), ', ' ORDER BY id)"
                  " FROM mesoflow.task_history WHERE id > " +
                  written) == "agent-7 -, agent-7 qAPubCvMRqegLeJyhZ9Vdw==");
}

TEST_CASE(
    "mesoflow writes its launches and updates to the history coded exactly as the view's rule "
    "codes the same rows, with the same list of names") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    std::string list;
    for (const auto name : history::names())
        list += (list.empty() ? "" : ",") + std::string(name);
    CHECK(sql.one("SELECT array_to_string(mesoflow.history_names(), ',')") == list);

    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) VALUES ('one', 'true'), ('two', 'true'),"
        " ('three', 'true')");
    TaskStore store(dsn);
    const auto pending = store.fetch_pending(2).value();
    REQUIRE(pending.size() == 2);
    const auto one = pending[0].id;
    const auto two = pending[1].id;
    REQUIRE(store.record_launches({launch_of(one, 1, "O1", "agent-1")})->at(0));
    REQUIRE(store.record_placements({launch_of(two, 1, "O2", "agent-2")}).ok());
    REQUIRE(store.record_launches({launch_of(two, 1, "O2", "agent-2")})->at(0));
    // The runtime's placement: its launch row by COPY, an offer id with
    // COPY's own escapes in it; a record given twice is written once.
    const auto three = store.claim_pending(1).value();
    REQUIRE(three.size() == 1);
    const auto placement = launch_of(three[0].id, 1, "O3 \\N\t\\.\n\r\\", "agent-3");
    REQUIRE(store.place_attempts({placement, placement})->placed.size() == 1);
    CHECK(sql.one("SELECT note FROM mesoflow.task_history WHERE task_id = " +
                  std::to_string(three[0].id)) == "offer " + placement.offer_id);
    auto running = update_of(one, 1, MesosTaskState::running, "qAPubCvMRqegLeJyhZ9Vdw==");
    running.agent_id = "agent-1";
    running.executor_id = running.mesos_task_id;
    auto failed = update_of(two, 1, MesosTaskState::failed, "qAPubCvMRqegLeJyhZ9Vdx==");
    failed.agent_id = "agent-3";
    failed.executor_id = "custom-executor";
    failed.reason = "REASON_COMMAND_EXECUTOR_FAILED";
    // Quotes, backslashes, COPY's own escapes and control characters, in
    // the history's copy and in the row's statement.
    failed.message = "exit 1: it's \\N, \\. and a \\ back\\slash\ttab\nnewline\r";
    failed.healthy = false;
    auto stray = update_of(0, 1, MesosTaskState::running, "u3");
    stray.mesos_task_id = "stray-1";
    stray.source = "SOURCE_MASTER";
    REQUIRE(store.apply_updates({running, failed, stray}).ok());
    const std::string last = sql.one("SELECT max(id) FROM mesoflow.task_events");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events") == 6);
    CHECK(sql.one("SELECT message FROM mesoflow.tasks WHERE id = " + std::to_string(two)) ==
          failed.message);
    CHECK(sql.one("SELECT message FROM mesoflow.task_history WHERE task_id = " +
                  std::to_string(two) + " AND kind = 'update'") == failed.message);

    // The same rows through the view's rule, then both stored forms side by
    // side.
    sql.exec(
        "INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, recorded_at, kind,"
        " mesos_state, outcome, from_state, to_state, reason, source, message, agent_id,"
        " executor_id, status_time, uuid, healthy, note)"
        " SELECT task_id, attempt, mesos_task_id, recorded_at, kind, mesos_state, outcome,"
        " from_state, to_state, reason, source, message, agent_id, executor_id, status_time,"
        " uuid, healthy, note FROM mesoflow.task_history ORDER BY id");
    const auto stored = [&](const std::string& where) {
        return sql.one(
            "SELECT string_agg(row(task_id, attempt, mesos_task_id, kind, mesos_state, outcome,"
            " from_state, to_state, reason, source, message, agent_id, executor_id, status_time,"
            " uuid, healthy, note, derived, unlisted, agent_code, status_uuid)::text, E'\\n'"
            " ORDER BY id) FROM mesoflow.task_events WHERE " +
            where);
    };
    const std::string by_mesoflow = stored("id <= " + last);
    CHECK(by_mesoflow == stored("id > " + last));
    // Coded: every agent numbered (agent-3 and A1 from their updates), one
    // uuid as a uuid,
    // both derived ids left out of the first update.
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events WHERE id <= " + last +
                    " AND agent_id IS NULL AND agent_code IS NOT NULL") == 6);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events WHERE id <= " + last +
                    " AND status_uuid IS NOT NULL") == 1);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_events WHERE id <= " + last +
                    " AND derived = 3 AND mesos_task_id IS NULL AND executor_id IS NULL") == 1);

    // A name without a code is kept as the rule keeps it.
    const auto names = history::code_names("TASK_FROM_A_NEWER_MESOS", "applied", std::nullopt,
                                           "another_newer_state", "SOURCE_ELSEWHERE");
    CHECK_FALSE(names.mesos_state);
    CHECK(names.outcome == history::code_of("applied"));
    CHECK(sql.one("SELECT '" + names.unlisted.value() +
                  "'::jsonb = mesoflow.history_unlisted('update', 'TASK_FROM_A_NEWER_MESOS',"
                  " 'applied', NULL, 'another_newer_state', 'SOURCE_ELSEWHERE')") == "t");
}

TEST_CASE(
    "a status update's time is copied as the timestamp to_timestamp gives, and is none where "
    "to_timestamp refuses it or it is infinite") {
    const std::string dsn = TempPostgres::shared().create_database();
    Sql sql(dsn);
    sql.exec("SET TimeZone = 'Asia/Kolkata'");
    const double accepted[] = {0.0,
                               1700000000.5,
                               1700000000.1234565,
                               -1.0,
                               -0.0000004,
                               951782400.0,  // 2000-02-29
                               1e11,
                               -62135596800.0,  // 0001-01-01
                               -62135596801.0,  // 1 BC
                               -210866803200.0,
                               9224318015999.0};
    for (const double seconds : accepted) {
        const std::string number = fmt::format("{}", seconds);
        const auto text = history::timestamp_text(seconds);
        REQUIRE(text);
        INFO(number << " -> " << *text);
        CHECK(sql.one("SELECT '" + *text + "'::timestamptz = to_timestamp('" + number +
                      "'::float8)") == "t");
    }
    // What to_timestamp refuses is no time (stored as NULL), and nor is an
    // infinity, which no agent could have seen.
    const double refused[] = {std::numeric_limits<double>::quiet_NaN(), -210866803201.0,
                              9224318016000.0, 1e300};
    for (const double seconds : refused) {
        const std::string number = fmt::format("{}", seconds);
        INFO(number);
        CHECK_FALSE(sql.error_of("SELECT to_timestamp('" + number + "'::float8)").empty());
        CHECK_FALSE(history::timestamp_text(seconds));
    }
    CHECK_FALSE(history::timestamp_text(std::numeric_limits<double>::infinity()));
    CHECK_FALSE(history::timestamp_text(-std::numeric_limits<double>::infinity()));
}

TEST_CASE(
    "agents' codes are learnt again on a new connection, and a launch keeps a code only if the "
    "table still gives it to that agent") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) VALUES ('one', 'true'), ('two', 'true'),"
        " ('three', 'true')");
    TaskStore store(dsn, "codes-test");
    const auto pending = store.fetch_pending(2).value();
    REQUIRE(pending.size() == 2);
    REQUIRE(store.record_launches({launch_of(pending[0].id, 1, "O1", "agent-7")})->at(0));
    const std::string code =
        sql.one("SELECT code FROM mesoflow.agent_codes WHERE agent_id = 'agent-7'");
    // The server loses its numbering (a failover to a replica behind it, a
    // restore) and gives agent-7's code to another agent.
    const auto renumber = [&](Sql& on) {
        on.exec("DELETE FROM mesoflow.agent_codes");
        on.exec("ALTER TABLE mesoflow.agent_codes ALTER COLUMN code RESTART WITH " + code);
        on.exec("INSERT INTO mesoflow.agent_codes (agent_id) VALUES ('agent-other')");
        REQUIRE(on.one("SELECT agent_id FROM mesoflow.agent_codes WHERE code = " + code) ==
                "agent-other");
    };
    const auto agent_of_last_row = [](Sql& on) {
        return on.one("SELECT agent_id FROM mesoflow.task_history ORDER BY id DESC LIMIT 1");
    };
    const auto last_row_coded = [](Sql& on) {
        return on.one(
                   "SELECT agent_code IS NOT NULL FROM mesoflow.task_events ORDER BY id DESC"
                   " LIMIT 1") == "t";
    };
    // Still connected: the launch's code is checked against the table.
    renumber(sql);
    REQUIRE(store.record_launches({launch_of(pending[1].id, 1, "O2", "agent-7")})->at(0));
    CHECK(agent_of_last_row(sql) == "agent-7");
    const auto three = store.claim_pending(1).value();
    REQUIRE(three.size() == 1);
    // Connected again: the codes are learnt again before a placement names it.
    renumber(sql);
    TempPostgres::shared().kill_connections(database_name(dsn));
    Sql placing(dsn);
    const std::vector<LaunchRecord> placement{launch_of(three[0].id, 1, "O3", "agent-7")};
    auto placed = store.place_attempts(placement);
    if (!placed)
        placed = store.place_attempts(placement);
    REQUIRE(placed.ok());
    CHECK(placed->placed.size() == 1);
    CHECK(agent_of_last_row(placing) == "agent-7");
    CHECK(last_row_coded(placing));
    // And before the updates name it.
    renumber(placing);
    TempPostgres::shared().kill_connections(database_name(dsn));
    Sql after(dsn);
    auto running = update_of(pending[0].id, 1, MesosTaskState::running);
    running.agent_id = "agent-7";
    auto batch = store.apply_updates({running});
    if (!batch)
        batch = store.apply_updates({running});
    REQUIRE(batch.ok());
    CHECK(batch->updates.at(0).outcome == UpdateOutcome::applied);
    CHECK(agent_of_last_row(after) == "agent-7");
    CHECK(last_row_coded(after));
}

TEST_CASE("an agent mesoflow cannot number is written as text and its task is placed") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    sql.exec(
        "CREATE FUNCTION mesoflow.refuse_agent() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RAISE EXCEPTION 'no more agents'; END$$;"
        " CREATE TRIGGER refuse_agent BEFORE INSERT ON mesoflow.agent_codes"
        " FOR EACH ROW EXECUTE FUNCTION mesoflow.refuse_agent()");
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('one', 'true'), ('two', 'true')");
    TaskStore store(dsn);
    const auto pending = store.fetch_pending(2).value();
    REQUIRE(pending.size() == 2);
    REQUIRE(store.record_launches({launch_of(pending[0].id, 1, "O1", "agent-8")})->at(0));
    // Tried once in a process: the next placement on it does not try again.
    sql.exec("DROP TRIGGER refuse_agent ON mesoflow.agent_codes");
    REQUIRE(store.record_launches({launch_of(pending[1].id, 1, "O2", "agent-8")})->at(0));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.agent_codes") == 0);
    // And the runtime's placement, by COPY.
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('three', 'true')");
    const auto three = store.claim_pending(1).value();
    REQUIRE(three.size() == 1);
    REQUIRE(store.place_attempts({launch_of(three[0].id, 1, "O3", "agent-8")})->placed.size() == 1);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.agent_codes") == 0);
    CHECK(sql.one("SELECT string_agg(agent_id, ' ' ORDER BY id) FROM mesoflow.task_events") ==
          "agent-8 agent-8 agent-8");
    CHECK(sql.one("SELECT string_agg(agent_id, ' ' ORDER BY id) FROM mesoflow.task_history") ==
          "agent-8 agent-8 agent-8");
}

TEST_CASE(
    "schema 12 stops, naming it, at an index of the database's own on a column it moves, and "
    "leaves the database as it was") {
    const std::string dsn = database_at_schema(11);
    Sql sql(dsn);
    sql.exec("CREATE INDEX tasks_by_agent ON mesoflow.tasks (agent_id)");
    auto refused = migrate(dsn);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message,
               Catch::Contains("tasks_by_agent") && Catch::Contains("would drop what reads them"));
    CHECK(schema_version(dsn).value() == 11);
    CHECK(sql.one("SELECT to_regclass('mesoflow.tasks_by_agent') IS NOT NULL") == "t");
    sql.exec("DROP INDEX mesoflow.tasks_by_agent");
    CHECK(migrate(dsn).ok());
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

TEST_CASE("times, resources and sizes beyond the table's limits are refused by name") {
    Sql sql(migrated_database());
    const std::string kib = "repeat('x', 1024)";
    struct Case {
        std::string columns;
        std::string values;
        const char* constraint;
    };
    const Case cases[] = {
        {"command, created_at", "'true', 'infinity'", "created_at_must_be_finite"},
        {"command, created_at", "'true', '-infinity'", "created_at_must_be_finite"},
        {"command, not_before", "'true', 'infinity'", "not_before_must_be_finite"},
        {"command, not_before", "'true', '10000-01-01'", "not_before_must_be_finite"},
        {"command, updated_at", "'true', 'infinity'", "times_must_be_finite"},
        {"command, finished_at", "'true', '-infinity'", "times_must_be_finite"},
        {"command, cpus", "'true', 4097", "cpus_must_be_at_most_4096"},
        {"command, cpus", "'true', 'Infinity'", "cpus_must_be_positive"},
        {"command, timeout_s", "'true', 'Infinity'", "timeout_must_be_positive"},
        {"command, mem", "'true', 1e12", "mem_must_be_at_most_16_tib"},
        {"command, mem", "'true', 'NaN'", "mem_must_be_positive"},
        {"command, disk", "'true', 1e10", "disk_must_be_at_most_1_pib"},
        {"command, gpus", "'true', 1025", "gpus_must_be_at_most_1024"},
        {"command, ports", "'true', 65536", "ports_must_be_at_most_65535"},
        {"command, timeout_s", "'true', 1e15", "timeout_must_be_at_most_3650_days"},
        {"command", "repeat('x', 131073)", "command_must_be_at_most_128_kib"},
        {"argv", "array_fill(" + kib + ", ARRAY[1025])", "argv_must_be_at_most_1_mib"},
        {"argv", "array_fill('x'::text, ARRAY[65537])", "argv_must_be_at_most_65536_words"},
        {"image", "repeat('x', 4097)", "image_must_be_at_most_4_kib"},
        {"command, run_as_user", "'true', repeat('u', 1025)", "run_as_user_must_be_at_most_1_kib"},
        {"command, role", "'true', repeat('r', 1025)", "role_must_be_at_most_1_kib"},
        {"command, env", "'true', jsonb_build_object('A', repeat('x', 1048576))",
         "env_must_be_at_most_1_mib"},
        {"command, uris", "'true', array_fill(" + kib + ", ARRAY[257])",
         "uris_must_be_at_most_256_kib"},
        {"command, labels", "'true', jsonb_build_object('a', repeat('x', 65536))",
         "labels_must_be_at_most_64_kib"},
        {"command, constraints",
         "'true', jsonb_build_array(jsonb_build_array('rack', 'EQUALS', repeat('x', 65536)))",
         "constraints_must_be_at_most_64_kib"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.columns, c.values);
        CHECK_THAT(refusal(sql, c.columns, c.values), Catch::Contains(c.constraint));
    }
    CHECK_THAT(sql.error_of("INSERT INTO mesoflow.tasks (key, command)"
                            " VALUES (repeat('k', 2049), 'true')"),
               Catch::Contains("key_must_be_at_most_2_kib"));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks") == 0);

    // At the limits, and a producer changing a column later, the other way.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, cpus, mem, disk, gpus, ports, timeout_s,"
        " run_as_user, env, not_before)"
        " VALUES (repeat('k', 2048), repeat('x', 131072), 4096, 16777216, 1073741824, 1024,"
        " 65535, 315360000, repeat('u', 1024), jsonb_build_object('A', repeat('x', 1000000)),"
        " '9999-12-31')");
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET labels = jsonb_build_object('a', "
                            "repeat('x', 65536))"),
               Catch::Contains("labels_must_be_at_most_64_kib"));
}

TEST_CASE("schema 3 migrates a database whose rows break its rules without failing") {
    const std::string dsn = database_at_schema(2);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, created_at, not_before, cpus, timeout_s, env)"
        " VALUES ('ok', 'x', now(), now(), 1, NULL, '{}'),"
        "        ('created-inf', 'x', 'infinity', now(), 1, NULL, '{}'),"
        "        ('never', 'x', now(), 'infinity', 1, NULL, '{}'),"
        "        ('huge', 'x', now(), now(), 100000, NULL, '{}'),"
        "        ('long-timeout', 'x', now(), now(), 1, 1e15, '{}'),"
        "        ('big-env', 'x', now(), now(), 1, NULL,"
        "         jsonb_build_object('A', repeat('x', 2000000))),"
        "        ('done-huge', 'x', now(), now(), 100000, NULL, '{}'),"
        "        ('done-inf', 'x', '-infinity', now(), 1, NULL, '{}')");
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'killed', finished_at = 'infinity'"
        " WHERE key LIKE 'done-%'");
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'running', attempt = 1,"
        " mesos_task_id = 'mf-' || id || '-1', started_at = now() WHERE key = 'long-timeout'");

    auto report = migrate(dsn);
    REQUIRE(report.ok());
    CHECK(report->to_version == latest_schema_version());

    const auto row = [&](const std::string& key) {
        return sql.one(
            "SELECT concat_ws(',', state, reason, message) FROM mesoflow.tasks WHERE key = '" +
            key + "'");
    };
    CHECK(row("ok") == "pending");
    CHECK_THAT(row("created-inf"), Catch::Contains("failed,invalid_task,refused by schema 3"));
    CHECK_THAT(row("created-inf"), Catch::Contains("created_at_must_be_finite"));
    CHECK_THAT(row("never"), Catch::Contains("not_before_must_be_finite"));
    CHECK_THAT(row("huge"), Catch::Contains("cpus_must_be_at_most_4096"));
    CHECK_THAT(row("big-env"), Catch::Contains("env_must_be_at_most_1_mib"));
    CHECK(row("long-timeout") == "running");
    CHECK(sql.one("SELECT timeout_s FROM mesoflow.tasks WHERE key = 'long-timeout'") ==
          "315360000");
    // Ended rows keep their state; their values are brought within the bounds.
    CHECK(row("done-huge") == "killed");
    CHECK(sql.one("SELECT cpus FROM mesoflow.tasks WHERE key = 'done-huge'") == "4096");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE NOT isfinite(created_at)"
                    " OR NOT isfinite(not_before) OR NOT isfinite(finished_at)") == 0);
    // Every check holds for every row.
    CHECK(sql.count("SELECT count(*) FROM pg_constraint WHERE conrelid = 'mesoflow.tasks'::regclass"
                    " AND NOT convalidated") == 0);

    TaskStore store(dsn);
    auto claimed = store.claim_pending(10);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 1);
    CHECK(claimed->at(0).key == "ok");
}

TEST_CASE(
    "a producer with README's grants queues and kills tasks but cannot write mesoflow's columns") {
    const std::string dsn = migrated_database();
    Sql admin(dsn);
    // Roles belong to the whole server, which other tests share: one per database.
    const std::string role = "producer_" + database_name(dsn);
    admin.exec("CREATE ROLE " + role + " LOGIN");
    admin.exec(readme_producer_grants(std::string(MESOFLOW_SOURCE_DIR) + "/README.md", role));
    Sql producer(dsn + " user=" + role);
    producer.exec(
        "INSERT INTO mesoflow.tasks (key, command, cpus, env, run_as_user, role, priority,"
        " not_before) VALUES ('queued', 'true', 2, '{\"A\": \"1\"}', 'etl', 'batch', 3, now())");
    CHECK(producer.one("SELECT state FROM mesoflow.tasks WHERE key = 'queued'") == "pending");
    producer.exec(
        "INSERT INTO mesoflow.tasks (key, image, volumes, network, network_name,"
        " docker_parameters) VALUES ('in-docker', 'busybox', '[{\"host_path\": \"/data\","
        " \"container_path\": \"/data\"}]', 'user', 'etl', '[{\"key\": \"label\","
        " \"value\": \"a=b\"}]')");
    CHECK(producer.one("SELECT state FROM mesoflow.tasks WHERE key = 'in-docker'") == "pending");

    const char* const owned_inserts[] = {
        "state",         "attempt",
        "mesos_task_id", "agent_id",
        "hostname",      "offer_id",
        "message",       "reason",
        "exit_status",   "timed_out",
        "created_at",    "updated_at",
        "finished_at",   "unlaunched_attempts",
    };
    for (const char* column : owned_inserts) {
        CAPTURE(column);
        CHECK_THAT(producer.error_of(std::string("INSERT INTO mesoflow.tasks (key, command, ") +
                                     column + ") SELECT 'forged', 'true', " + column +
                                     " FROM mesoflow.tasks WHERE key = 'queued'"),
                   Catch::Contains("permission denied"));
    }
    const char* const owned_updates[] = {
        "state = 'running'",       "attempt = 5",
        "agent_id = 'A1'",         "message = 'done'",
        "created_at = 'infinity'", "finished_at = now()",
        "run_as_user = 'root'",    "cpus = 1",
        "not_before = now()",
    };
    for (const char* set : owned_updates) {
        CAPTURE(set);
        CHECK_THAT(producer.error_of(std::string("UPDATE mesoflow.tasks SET ") + set +
                                     " WHERE key = 'queued'"),
                   Catch::Contains("permission denied"));
    }
    CHECK(producer.error_of("DELETE FROM mesoflow.task_history") != "");
    CHECK(admin.one("SELECT concat_ws(',', state, attempt, coalesce(agent_id, '-'), run_as_user)"
                    " FROM mesoflow.tasks WHERE key = 'queued'") == "pending,0,-,etl");
    CHECK(admin.count("SELECT count(*) FROM mesoflow.tasks") == 2);

    // A kill request is the one change a producer makes.
    producer.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE key = 'queued'");
    CHECK(admin.one("SELECT state FROM mesoflow.tasks WHERE key = 'queued'") == "killed");
    admin.exec("DROP OWNED BY " + role);
    admin.exec("DROP ROLE " + role);
}
