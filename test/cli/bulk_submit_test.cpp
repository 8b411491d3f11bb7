// submit --from FILE: JSON lines queued through COPY against a real
// PostgreSQL, all or nothing, with the line of whatever is refused.
#include <catch2/catch.hpp>

#include <string>

#include "../store/store_fixture.hpp"
#include "cli_fixture.hpp"

using Catch::Contains;
using Catch::Matches;
using mesoflow::store::testing::database_name;
using mesoflow::store::testing::migrated_database;
using mesoflow::store::testing::Sql;
using mesoflow::testing::CliResult;
using mesoflow::testing::mesoflow_db;
using mesoflow::testing::TempFile;

namespace {

std::string lines(int n, int first = 0) {
    std::string out;
    for (int i = first; i < first + n; ++i) {
        out += R"({"key": "job.)" + std::to_string(i) + R"(", "argv": ["work", ")" +
               std::to_string(i) + R"("], "cpus": 0.5})" + "\n";
    }
    return out;
}

std::string count(Sql& sql) {
    return sql.one("SELECT count(*) FROM mesoflow.tasks");
}

// `mesoflow submit --from -` reading `input` on its stdin.
CliResult submit_stdin(const std::string& dsn, const std::string& input) {
    TempFile file(input);
    mesoflow::testing::SpawnOptions options;
    options.argv = {"/bin/sh", "-c", std::string("exec \"$0\" submit --from - < \"$1\""),
                    MESOFLOW_BINARY, file.path()};
    options.extra_env = {"MESOFLOW_CONFIG=" + mesoflow::testing::empty_config_file(),
                         "MESOFLOW_DATABASE=" + dsn};
    CliResult result;
    result.code = mesoflow::testing::run_program(options, &result.output);
    return result;
}

}  // namespace

TEST_CASE("submit --from queues every line with its columns and the queue's defaults") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.queues (name, cpus, mem, role) VALUES ('gpu', 2, 4096, 'ml')");
    TempFile file(lines(1000) +
                  R"({"key": "full", "image": "registry.local/x:1", "containerizer": "mesos",)"
                  R"( "force_pull": true, "mem": 512, "disk": 10, "ports": 2, "env": {"A": "1"},)"
                  R"( "uris": ["http://x/a"], "user": "svc", "labels": {"team": "ml"},)"
                  R"( "constraints": [["rack", "EQUALS", "r1"], ["gpu", "EXISTS"]], "priority": 7,)"
                  R"( "attempts": 5, "retry_backoff_s": 2.5, "retry_on_failure": true,)"
                  R"( "timeout": 60, "queue": "gpu", "not_before": "2030-01-01T00:00:00Z"})"
                  "\n\n"
                  R"({"key": "shell\ttab", "command": "echo 'a\\b' \"c\"\nline2", "cpus": null})"
                  "\n");
    const auto r = mesoflow_db(dsn, {"submit", "--from", file.path()});
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output, Matches("queued 1,002 tasks from .* in [0-9.]+ s \\([0-9,]+/s\\)\n"));
    CHECK(count(sql) == "1002");
    CHECK(sql.one("SELECT count(*) FROM mesoflow.tasks WHERE cpus = 0.5 AND mem = 256 AND"
                  " max_attempts = 3 AND queue = 'default' AND state = 'pending' AND"
                  " command IS NULL AND argv[1] = 'work' AND argv[2] = substr(key, 5)") == "1000");
    // Ids follow the file's order.
    CHECK(sql.one("SELECT key FROM mesoflow.tasks ORDER BY id LIMIT 1") == "job.0");
    CHECK(sql.one("SELECT concat_ws('|', image, containerizer, force_pull, cpus, mem, disk, ports,"
                  " env, uris, run_as_user, labels, role, constraints, priority, max_attempts,"
                  " retry_backoff_s, retry_on_failure, timeout_s, queue, not_before)"
                  " FROM mesoflow.tasks WHERE key = 'full'") ==
          "registry.local/x:1|mesos|t|2|512|10|2|{\"A\": \"1\"}|{http://x/a}|svc|"
          "{\"team\": \"ml\"}|ml|[[\"rack\", \"EQUALS\", \"r1\"], [\"gpu\", \"EXISTS\"]]|7|5|"
          "2.5|t|60|gpu|2030-01-01 00:00:00+00");
    CHECK(sql.one("SELECT command FROM mesoflow.tasks WHERE key = E'shell\\ttab'") ==
          "echo 'a\\b' \"c\"\nline2");
    CHECK(sql.one("SELECT cpus FROM mesoflow.tasks WHERE key = E'shell\\ttab'") == "1");
}

TEST_CASE("submit --from gives each row what an INSERT's trigger gives it") {
    // The client resolves the queue's defaults itself (the trigger skips
    // the lookup for its rows): every combination of a queue's settings
    // and a row's own values, queued once by submit --from (key b.*) and
    // once by a producer's INSERT through the trigger (key s.*), must
    // store the same values.
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    // Defaults that print with 17 digits, read by a session that would
    // print 15 (as PostgreSQL 11 and older did).
    sql.exec("ALTER DATABASE " + database_name(dsn) + " SET extra_float_digits = 0");
    sql.exec(
        "INSERT INTO mesoflow.queues (name, cpus, mem, disk, gpus, role, constraints, image)"
        " VALUES ('full', 1 / 3::float8, 4096, 10, 1, 'ml', '[[\"rack\", \"EQUALS\", \"r1\"]]',"
        "         'registry.local/q:1')");
    sql.exec("INSERT INTO mesoflow.queues (name) VALUES ('bare')");
    sql.exec("INSERT INTO mesoflow.queues (name, mem, image) VALUES ('imaged', 64.5, 'img:2')");
    struct Variant {
        const char* name;
        const char* json;     // fields of the JSON line
        const char* columns;  // the same as INSERT columns
        const char* values;
    };
    const Variant variants[] = {
        {"nothing", "", "", ""},
        {"no-image", R"(, "image": "")", ", image", ", ''"},
        {"own-image", R"(, "image": "own:3")", ", image", ", 'own:3'"},
        {"own-role", R"(, "role": "r2")", ", role", ", 'r2'"},
        {"own-resources", R"(, "cpus": 0.25, "mem": 32, "disk": 1, "gpus": 0)",
         ", cpus, mem, disk, gpus", ", 0.25, 32, 1, 0"},
        {"own-constraints", R"(, "constraints": [["host", "LIKE", "a.*"]])", ", constraints",
         R"(, '[["host", "LIKE", "a.*"]]')"},
        {"all-resources",
         R"(, "cpus": 0.5, "mem": 16, "disk": 0, "gpus": 0, "constraints": [["gpu", "EXISTS"]])",
         ", cpus, mem, disk, gpus, constraints", R"(, 0.5, 16, 0, 0, '[["gpu", "EXISTS"]]')"},
        {"all-own",
         R"(, "cpus": 3, "mem": 8, "disk": 2, "gpus": 2, "role": "r3", "image": "i:4",)"
         R"( "constraints": [["gpu", "EXISTS"]])",
         ", cpus, mem, disk, gpus, role, image, constraints",
         R"(, 3, 8, 2, 2, 'r3', 'i:4', '[["gpu", "EXISTS"]]')"},
    };
    // "": the row names no queue (the table's default queue, which has no
    // row); ghost: a queue without a row.
    const char* queues[] = {"full", "bare", "imaged", "ghost", ""};
    std::string file, staged;  // b.*; k.*, through --skip-existing
    int rows = 0;
    for (const char* queue : queues) {
        for (const auto& v : variants) {
            const std::string name = std::string(*queue ? queue : "none") + "." + v.name;
            const std::string queue_json =
                *queue ? std::string(R"(, "queue": ")") + queue + "\"" : std::string();
            const std::string rest = R"(", "command": "true")" + queue_json + v.json + "}\n";
            file += R"({"key": "b.)" + name + rest;
            staged += R"({"key": "k.)" + name + rest;
            sql.exec(std::string("INSERT INTO mesoflow.tasks (key, command") +
                     (*queue ? ", queue" : "") + v.columns + ") VALUES ('s." + name + "', 'true'" +
                     (*queue ? std::string(", '") + queue + "'" : "") + v.values + ")");
            ++rows;
        }
    }
    TempFile input(file);
    const auto r = mesoflow_db(dsn, {"submit", "--from", input.path()});
    INFO(r.output);
    REQUIRE(r.code == 0);
    TempFile staged_input(staged + R"({"key": "b.full.nothing", "command": "true"})" + "\n");
    const auto skipping =
        mesoflow_db(dsn, {"submit", "--from", staged_input.path(), "--skip-existing"});
    INFO(skipping.output);
    REQUIRE(skipping.code == 0);
    for (const char* by : {"b", "k"}) {
        CAPTURE(by);
        const std::string pairs = std::string(" FROM mesoflow.tasks b JOIN mesoflow.tasks s") +
                                  " ON s.key = 's' || substr(b.key, 2) WHERE b.key LIKE '" + by +
                                  ".%'";
        CHECK(sql.one("SELECT count(*)" + pairs) == std::to_string(rows));
        CHECK(
            sql.one("SELECT string_agg(b.key, ', ')" + pairs +
                    " AND (b.cpus, b.mem, b.disk, b.gpus, b.constraints, b.role, b.image,"
                    " b.queue) IS DISTINCT FROM"
                    " (s.cpus, s.mem, s.disk, s.gpus, s.constraints, s.role, s.image, s.queue)") ==
            "");
    }
    // What the two agree on is the queues' and the table's defaults.
    CHECK(sql.one("SELECT concat_ws('|', cpus = 1 / 3::float8, mem, disk, gpus, constraints,"
                  " role, image) FROM mesoflow.tasks WHERE key = 'b.full.nothing'") ==
          "t|4096|10|1|[[\"rack\", \"EQUALS\", \"r1\"]]|ml|registry.local/q:1");
    const std::string unset =
        "SELECT concat_ws('|', cpus, mem, disk, gpus, constraints,"
        " coalesce(role, '-'), coalesce(image, '-')) FROM mesoflow.tasks"
        " WHERE key = ";
    // Every resource given: only the client gives the queue's role and image.
    CHECK(sql.one(unset + "'b.full.all-resources'") ==
          "0.5|16|0|0|[[\"gpu\", \"EXISTS\"]]|ml|registry.local/q:1");
    // An image of '' is no image, whatever the queue's, by either path.
    CHECK(sql.one("SELECT concat_ws('|', role, coalesce(image, '-')) FROM mesoflow.tasks"
                  " WHERE key = 'b.full.no-image'") == "ml|-");
    const auto one = mesoflow_db(dsn, {"submit", "--key", "one.no-image", "--queue", "imaged",
                                       "--shell", "true", "--image", ""});
    INFO(one.output);
    CHECK(one.code == 0);
    CHECK(sql.one(unset + "'one.no-image'") == "1|64.5|0|0|[]|-|-");
    CHECK(sql.one(unset + "'b.imaged.nothing'") == "1|64.5|0|0|[]|-|img:2");
    CHECK(sql.one(unset + "'b.bare.own-role'") == "1|256|0|0|[]|r2|-");
    CHECK(sql.one(unset + "'b.ghost.nothing'") == "1|256|0|0|[]|-|-");
    CHECK(sql.one(unset + "'b.none.own-image'") == "1|256|0|0|[]|-|own:3");
}

TEST_CASE("submit and submit --from give a producer with README's grants its queues' defaults") {
    // The producer has no grant on mesoflow.queues: the defaults come from
    // mesoflow.queue_defaults(), with its owner's rights.
    const std::string dsn = migrated_database();
    Sql admin(dsn);
    const std::string role = "bulk_producer_" + database_name(dsn);
    admin.exec("CREATE ROLE " + role + " LOGIN");
    admin.exec(mesoflow::store::testing::readme_producer_grants(
        std::string(MESOFLOW_SOURCE_DIR) + "/README.md", role));
    admin.exec(
        "INSERT INTO mesoflow.queues (name, cpus, role, image) VALUES ('gpu', 2, 'ml',"
        " 'img:1')");
    TempFile file(
        R"({"key": "given", "command": "true", "queue": "gpu", "cpus": 1, "mem": 1, "disk": 0,)"
        R"( "gpus": 0, "constraints": [["gpu", "EXISTS"]]})"
        "\n"
        R"({"key": "unset", "command": "true", "queue": "gpu"})"
        "\n");
    const auto r = mesoflow_db(dsn + " user=" + role, {"submit", "--from", file.path()});
    INFO(r.output);
    CHECK(r.code == 0);
    const std::string row =
        "SELECT concat_ws('|', cpus, mem, coalesce(role, '-'), coalesce(image, '-'))"
        " FROM mesoflow.tasks WHERE key = ";
    CHECK(admin.one(row + "'given'") == "1|1|ml|img:1");
    CHECK(admin.one(row + "'unset'") == "2|256|ml|img:1");
    // And one task at a time.
    const auto one = mesoflow_db(dsn + " user=" + role,
                                 {"submit", "--key", "one", "--queue", "gpu", "--shell", "true"});
    INFO(one.output);
    CHECK(one.code == 0);
    CHECK(admin.one(row + "'one'") == "2|256|ml|img:1");
    Sql producer(dsn + " user=" + role);
    CHECK_THAT(producer.error_of("SELECT * FROM mesoflow.queues"), Contains("permission denied"));
    admin.exec("DROP OWNED BY " + role);
    admin.exec("DROP ROLE " + role);
}

TEST_CASE("the queue defaults trigger skips a resolved row's unset role and image only") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.queues (name, cpus, role, image) VALUES ('q', 2, 'ml', 'x:1')");
    // A row of queue q with every resource given, role and image unset.
    const auto insert_given = [&](const std::string& key) {
        sql.exec(
            "INSERT INTO mesoflow.tasks (key, command, queue, cpus, mem, disk, gpus,"
            " constraints) VALUES ('" +
            key + "', 'true', 'q', 1, 1, 0, 0, '[]')");
    };
    const std::string row =
        "SELECT concat_ws('|', cpus, coalesce(role, '-'), coalesce(image, '-'))"
        " FROM mesoflow.tasks WHERE key = ";
    // Without the setting: the queue's role and image, as always.
    insert_given("plain");
    CHECK(sql.one(row + "'plain'") == "1|ml|x:1");
    // A value that is not this transaction's id says nothing (ALTER ROLE
    // ... SET would leave one in every session).
    sql.exec("BEGIN");
    sql.exec("SET LOCAL mesoflow.queue_defaults_resolved = on");
    insert_given("static");
    sql.exec("COMMIT");
    CHECK(sql.one(row + "'static'") == "1|ml|x:1");
    sql.exec("BEGIN");
    sql.exec("SELECT set_config('mesoflow.queue_defaults_resolved', txid_current()::text, true)");
    // Every resource given: role and image stay unset.
    insert_given("resolved");
    // A resource unset still takes the queue's, with its role and image.
    sql.exec("INSERT INTO mesoflow.tasks (key, command, queue) VALUES ('unresolved', 'true', 'q')");
    // An image of '' is still no image.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, role, image, cpus, mem, disk, gpus,"
        " constraints) VALUES ('no-image', 'true', 'q', 'r', '', 1, 1, 0, 0, '[]')");
    sql.exec("COMMIT");
    CHECK(sql.one(row + "'resolved'") == "1|-|-");
    CHECK(sql.one(row + "'unresolved'") == "2|ml|x:1");
    CHECK(sql.one(row + "'no-image'") == "1|r|-");
    // The setting ends with its transaction.
    insert_given("after");
    CHECK(sql.one(row + "'after'") == "1|ml|x:1");
}

TEST_CASE("submit --from - reads stdin") {
    const std::string dsn = migrated_database();
    const auto r = submit_stdin(dsn, lines(50));
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("queued 50 tasks from stdin"));
    Sql sql(dsn);
    CHECK(count(sql) == "50");
}

TEST_CASE("submit --from refuses a bad line with its number and queues nothing") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    struct Case {
        std::string line;
        std::string says;
    };
    const Case cases[] = {
        {R"({"key": "x", "argv": ["a"], "cpus": )", "line 4: not valid JSON"},
        {R"({"key": "x", "argv": ["a"], "cpus": "two"})", "line 4: cpus: must be a number"},
        // A number no double holds, and a key given twice (the last would win).
        {R"({"key": "x", "argv": ["a"], "cpus": 1e400})",
         "line 4: not valid JSON: number overflow parsing '1e400'"},
        {R"({"key": "dup.1", "command": "true", "cpus": 1, "cpus": 4000})",
         "line 4: cpus is given twice"},
        {R"({"key": "x", "argv": ["a"], "env": {"A": "1", "A": "2"}})",
         "line 4: key \"A\" is given twice in one object"},
        {R"({"key": "x", "command": "a\u0000b"})", "line 4: command: text cannot hold a NUL"},
        {R"({"key": "x", "argv": ["a"], "env": {"A\u0000": "1"}})", "line 4: env: text cannot"},
        {R"({"key": "x", "argv": ["a"], "colour": "red"})", "line 4: unknown field \"colour\""},
        {R"({"argv": ["a"]})", "line 4: key: required"},
        {R"(["a"])", "line 4: must be a JSON object"},
        // Refused by PostgreSQL during the COPY: the constraint's name.
        {R"({"key": "x", "argv": ["a"], "cpus": -1})", "line 4: new row for relation"},
        {R"({"key": "x", "argv": ["a"], "cpus": -1})", "cpus_must_be_positive"},
        {R"({"key": "x", "argv": ["a"], "constraints": [["rack", "EQUALS", ""]], "queue": " q"})",
         "line 4: "},
        {R"({"key": "x", "image": "i", "network": "user"})", "user_network_needs_network_name"},
        {R"({"key": "x", "argv": ["a"], "not_before": "soon"})", "line 4: invalid input syntax"},
    };
    for (const auto& c : cases) {
        INFO(c.line);
        // Line 2 is blank: the line numbers are the file's.
        TempFile file(lines(1) + "\n" + lines(1, 1) + c.line + "\n" + lines(3000, 2));
        const auto r = mesoflow_db(dsn, {"submit", "--from", file.path()});
        CHECK(r.code == 1);
        CHECK_THAT(r.output, Contains(c.says) && Contains("nothing was queued"));
        CHECK(count(sql) == "0");
    }
}

TEST_CASE("submit --from maps a refusal late in a long file to its line") {
    const std::string dsn = migrated_database();
    TempFile file(lines(20000) + R"({"key": "big", "argv": ["a"], "mem": 1e300})" + "\n" +
                  lines(10, 20000));
    const auto r = mesoflow_db(dsn, {"submit", "--from", file.path()});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("line 20001: ") && Contains("mem_must_be_at_most_16_tib"));
    Sql sql(dsn);
    CHECK(count(sql) == "0");
}

TEST_CASE("submit --from fails on a key already queued unless --skip-existing skips it") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    TempFile first(lines(10));
    REQUIRE(mesoflow_db(dsn, {"submit", "--from", first.path()}).code == 0);

    TempFile again(lines(15, 5));  // job.5 to job.19: 5 already queued
    auto r = mesoflow_db(dsn, {"submit", "--from", again.path()});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("line 1: duplicate key") && Contains("(key)=(job.5)") &&
                             Contains("--skip-existing"));
    CHECK(count(sql) == "10");

    // A key twice in the same file, without and with the flag.
    TempFile twice(lines(3, 100) + lines(1, 101));
    r = mesoflow_db(dsn, {"submit", "--from", twice.path()});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("line 4: duplicate key") && Contains("(key)=(job.101)"));
    CHECK(count(sql) == "10");

    r = mesoflow_db(dsn, {"submit", "--from", again.path(), "--skip-existing"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("queued 10 tasks from") && Contains("skipped 5 already queued"));
    CHECK(count(sql) == "20");
    r = mesoflow_db(dsn, {"submit", "--from", twice.path(), "--skip-existing"});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("queued 3 tasks") && Contains("skipped 1 already queued"));
    CHECK(count(sql) == "23");

    // With the flag, a refused row still names its line (found after the INSERT failed).
    TempFile bad(lines(5, 200) + R"({"key": "job.0", "argv": ["a"], "cpus": 0})" + "\n" +
                 R"({"key": "late", "argv": ["a"], "ports": -2})" + "\n");
    r = mesoflow_db(dsn, {"submit", "--from", bad.path(), "--skip-existing"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("line 6: ") && Contains("cpus_must_be_positive"));
    CHECK(count(sql) == "23");
}

TEST_CASE("submit --from an empty file queues nothing and says so") {
    const std::string dsn = migrated_database();
    for (const std::string content : {"", "\n  \n"}) {
        TempFile file(content);
        const auto r = mesoflow_db(dsn, {"submit", "--from", file.path()});
        CHECK(r.code == 0);
        CHECK_THAT(r.output, Contains("queued 0 tasks"));
    }
    Sql sql(dsn);
    CHECK(count(sql) == "0");
}

TEST_CASE("submit --from refuses a line over 1 MiB, and rows over the table's limits") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    TempFile huge(lines(2) + R"({"key": "huge", "command": ")" + std::string(2 << 20, 'x') +
                  "\"}\n");
    auto r = mesoflow_db(dsn, {"submit", "--from", huge.path()});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("line 3: longer than 1048576 bytes"));
    // Under the line limit, over the command's: the schema's size rule.
    TempFile large(lines(2) + R"({"key": "large", "command": ")" + std::string(200000, 'x') +
                   "\"}\n");
    r = mesoflow_db(dsn, {"submit", "--from", large.path()});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("line 3: ") && Contains("command_must_be_at_most_128_kib"));
    CHECK(count(sql) == "0");
}

TEST_CASE("submit --from takes no task options, and --skip-existing needs it") {
    const std::string dsn = migrated_database();
    auto r = mesoflow_db(dsn, {"submit", "--from", "-", "--cpus", "2"});
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Contains("--cpus does not go with --from"));
    r = mesoflow_db(dsn, {"submit", "--key", "k", "--shell", "true", "--skip-existing"});
    CHECK(r.code == 2);
    r = mesoflow_db(dsn, {"submit", "--from", "/nonexistent/tasks.jsonl"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("cannot read /nonexistent/tasks.jsonl"));
}
