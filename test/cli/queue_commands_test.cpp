// migrate, submit, status and kill against a real PostgreSQL, read back
// through the store and plain SQL.
#include <catch2/catch.hpp>

#include "../store/store_fixture.hpp"
#include "cli_fixture.hpp"

using Catch::Contains;
using Catch::Matches;
using mesoflow::store::TaskStore;
using mesoflow::store::testing::migrated_database;
using mesoflow::store::testing::Sql;
using mesoflow::task::TaskState;
using mesoflow::testing::mesoflow_cli;
using mesoflow::testing::mesoflow_db;
using mesoflow::testing::TempPostgres;

namespace {

std::int64_t submitted_id(const mesoflow::testing::CliResult& r) {
    INFO(r.output);
    REQUIRE(r.code == 0);
    REQUIRE_THAT(r.output, Matches("[0-9]+\n"));
    return std::stoll(r.output);
}

}  // namespace

TEST_CASE("migrate creates the schema from a config file and is a no-op the second time") {
    const std::string dsn = TempPostgres::shared().create_database();
    mesoflow::testing::TempFile cfg("[mesoflow]\ndatabase = " + dsn + "\n");
    auto r = mesoflow_cli({"migrate", "--config", cfg.path()});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("applied 0001_initial") && Contains("schema now at version"));
    r = mesoflow_cli({"migrate", "--config", cfg.path()});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("nothing to do"));
}

TEST_CASE("commands on an unreachable database fail with exit 1 and the reason") {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"migrate"},
                                                 {"status"},
                                                 {"kill", "k"},
                                                 {"submit", "--key", "k", "--shell", "true"}}) {
        INFO(args.front());
        const auto r = mesoflow_db("host=/nonexistent dbname=x connect_timeout=2", args);
        CHECK(r.code == 1);
        CHECK_THAT(r.output, Contains("cannot connect to PostgreSQL"));
    }
}

TEST_CASE("commands on a database without the schema say to run mesoflow migrate") {
    const std::string dsn = TempPostgres::shared().create_database();
    const auto r = mesoflow_db(dsn, {"status"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("mesoflow migrate"));
}

TEST_CASE("submit queues a shell command with the table's defaults and prints its id") {
    const std::string dsn = migrated_database();
    const auto id =
        submitted_id(mesoflow_db(dsn, {"submit", "--key", "etl.load", "--shell", "echo hello"}));
    TaskStore store(dsn);
    auto row = store.find_task("etl.load");
    REQUIRE(row);
    REQUIRE(*row);
    CHECK((*row)->id == id);
    CHECK((*row)->state == TaskState::pending);
    CHECK((*row)->command == std::optional<std::string>("echo hello"));
    CHECK((*row)->cpus == 1);
    CHECK((*row)->mem_mb == 256);
    CHECK((*row)->max_attempts == 3);
}

TEST_CASE("submit passes an argv after -- untouched, flags and all") {
    const std::string dsn = migrated_database();
    submitted_id(mesoflow_db(dsn, {"submit", "--key", "argv", "--", "python3", "-c", "print('a b')",
                                   "--master", "--", "x"}));
    auto row = TaskStore(dsn).find_task("argv");
    REQUIRE(row);
    REQUIRE(*row);
    CHECK_FALSE((*row)->command);
    CHECK((*row)->argv ==
          std::vector<std::string>{"python3", "-c", "print('a b')", "--master", "--", "x"});
}

TEST_CASE("submit sets every column its options name") {
    const std::string dsn = migrated_database();
    const auto id = submitted_id(mesoflow_db(dsn, {"submit",
                                                   "--key",
                                                   "train.42",
                                                   "--image",
                                                   "registry.local/train:1.4",
                                                   "--containerizer",
                                                   "mesos",
                                                   "--force-pull",
                                                   "--cpus",
                                                   "4",
                                                   "--mem",
                                                   "16384",
                                                   "--disk",
                                                   "100",
                                                   "--gpus",
                                                   "1",
                                                   "--ports",
                                                   "2",
                                                   "--env",
                                                   "DATASET=s3://b/x",
                                                   "--env",
                                                   "EMPTY=",
                                                   "--label",
                                                   "team=ml",
                                                   "--priority",
                                                   "10",
                                                   "--constraint",
                                                   "rack:EQUALS:r7",
                                                   "--constraint",
                                                   "hostname:like:gpu-.*:x",
                                                   "--constraint",
                                                   "ssd:EXISTS",
                                                   "--attempts",
                                                   "5",
                                                   "--retry-backoff",
                                                   "2.5",
                                                   "--retry-on-failure",
                                                   "--timeout",
                                                   "3600",
                                                   "--user",
                                                   "etl",
                                                   "--role",
                                                   "ml",
                                                   "--uri",
                                                   "https://example.com/a.tgz",
                                                   "--",
                                                   "python3",
                                                   "train.py"}));
    TaskStore store(dsn);
    auto pending = store.fetch_pending(10);
    REQUIRE(pending);
    REQUIRE(pending->size() == 1);
    const auto& t = pending->front();
    CHECK(t.id == id);
    CHECK(t.image == "registry.local/train:1.4");
    CHECK(t.containerizer == mesoflow::task::Containerizer::mesos);
    CHECK(t.force_pull);
    CHECK(t.cpus == 4);
    CHECK(t.mem_mb == 16384);
    CHECK(t.disk_mb == 100);
    CHECK(t.gpus == 1);
    CHECK(t.ports == 2);
    CHECK(t.argv == std::vector<std::string>{"python3", "train.py"});
    using Pairs = std::vector<std::pair<std::string, std::string>>;
    auto env = t.env;
    std::sort(env.begin(), env.end());
    CHECK(env == Pairs{{"DATASET", "s3://b/x"}, {"EMPTY", ""}});
    CHECK(t.labels == Pairs{{"team", "ml"}});
    CHECK(t.priority == 10);
    REQUIRE(t.constraints.size() == 3);
    CHECK(t.constraints[0].attribute == "rack");
    CHECK(t.constraints[0].op == mesoflow::task::Constraint::Op::equals);
    CHECK(t.constraints[0].value == "r7");
    CHECK(t.constraints[1].op == mesoflow::task::Constraint::Op::like);
    CHECK(t.constraints[1].value == "gpu-.*:x");
    CHECK(t.constraints[2].op == mesoflow::task::Constraint::Op::exists);
    CHECK(t.user == "etl");
    CHECK(t.role == "ml");
    CHECK(t.uris == std::vector<std::string>{"https://example.com/a.tgz"});
    CHECK(t.timeout_s == std::optional<double>(3600));

    Sql sql(dsn);
    CHECK(sql.one("SELECT max_attempts FROM mesoflow.tasks") == "5");
    CHECK(sql.one("SELECT retry_backoff_s FROM mesoflow.tasks") == "2.5");
    CHECK(sql.one("SELECT retry_on_failure FROM mesoflow.tasks") == "t");
}

TEST_CASE(
    "submit sets volumes, the network and Docker parameters; malformed ones are usage "
    "errors") {
    const std::string dsn = migrated_database();
    const auto id = submitted_id(
        mesoflow_db(dsn, {"submit", "--key", "dag", "--image", "apache/airflow:2.9.0", "--volume",
                          "/srv/airflow/dags:/opt/airflow/dags", "--volume",
                          "/srv/airflow/logs:/opt/airflow/logs:rw", "--network", "user:airflow",
                          "--docker-parameter", "label=team=etl", "--shell", "airflow version"}));
    TaskStore store(dsn);
    auto pending = store.fetch_pending(10);
    REQUIRE(pending);
    REQUIRE(pending->size() == 1);
    const auto& t = pending->front();
    CHECK(t.id == id);
    CHECK(t.volumes ==
          std::vector<mesoflow::task::Volume>{{"/srv/airflow/dags", "/opt/airflow/dags", true},
                                              {"/srv/airflow/logs", "/opt/airflow/logs", false}});
    CHECK(t.network == mesoflow::task::NetworkMode::user);
    CHECK(t.network_name == "airflow");
    CHECK(t.docker_parameters ==
          std::vector<std::pair<std::string, std::string>>{{"label", "team=etl"}});
    submitted_id(mesoflow_db(
        dsn, {"submit", "--key", "bridged", "--image", "busybox", "--network", "bridge"}));
    auto shown = mesoflow_db(dsn, {"status", "dag"});
    REQUIRE(shown.code == 0);
    CHECK_THAT(shown.output,
               Contains("volume /srv/airflow/dags:/opt/airflow/dags:ro, volume "
                        "/srv/airflow/logs:/opt/airflow/logs:rw, network user:airflow, docker "
                        "--label=team=etl"));
    CHECK_THAT(mesoflow_db(dsn, {"status", "bridged"}).output, Contains("network bridge"));

    const std::vector<std::vector<std::string>> usage_errors = {
        {"--volume", "/srv"},       {"--volume", "/srv:"},    {"--volume", ":/x"},
        {"--volume", "/srv:/x:rx"}, {"--network", "overlay"}, {"--network", "user"},
        {"--network", "user:"},     {"--network", "host:x"},  {"--docker-parameter", "privileged"},
    };
    for (const auto& flags : usage_errors) {
        CAPTURE(flags);
        std::vector<std::string> args = {"submit", "--key", "bad", "--image", "busybox"};
        args.insert(args.end(), flags.begin(), flags.end());
        CHECK(mesoflow_db(dsn, args).code == 2);
    }
    // What the table refuses comes back naming its rule.
    auto r =
        mesoflow_db(dsn, {"submit", "--key", "rel", "--image", "busybox", "--volume", "srv:/x"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("volume_host_path_must_be_an_absolute_path"));
    r = mesoflow_db(dsn, {"submit", "--key", "mesos-param", "--image", "busybox", "--containerizer",
                          "mesos", "--docker-parameter", "label=x"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("docker_parameters_need_docker"));
}

TEST_CASE("submit reports the rule the queue table refuses, with exit 1") {
    const std::string dsn = migrated_database();
    submitted_id(mesoflow_db(dsn, {"submit", "--key", "dup", "--shell", "true"}));
    auto r = mesoflow_db(dsn, {"submit", "--key", "dup", "--shell", "true"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("task_key_must_be_unique"));
    r = mesoflow_db(dsn, {"submit", "--key", "neg", "--shell", "true", "--cpus", "-1"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("cpus_must_be_positive"));
    r = mesoflow_db(dsn, {"submit", "--key", "c", "--shell", "true", "--containerizer", "docker"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("containerizer_needs_an_image"));
}

TEST_CASE("status lists tasks newest first with totals, and filters by state, key and limit") {
    const std::string dsn = migrated_database();
    for (const char* key : {"a.one", "a.two", "b.three"})
        submitted_id(mesoflow_db(dsn, {"submit", "--key", key, "--shell", "true"}));
    REQUIRE(mesoflow_db(dsn, {"kill", "a.two"}).code == 0);

    auto r = mesoflow_db(dsn, {"status"});
    REQUIRE(r.code == 0);
    CHECK_THAT(
        r.output,
        Matches("ID +KEY +STATE +ATTEMPT +HOST +EXIT +UPDATED +MESSAGE\n"
                "[0-9]+ +b\\.three +pending +0/3 +- +- +[0-9]+s ago +-\n"
                "[0-9]+ +a\\.two +killed +0/3 [\\s\\S]*\n"
                "[0-9]+ +a\\.one +pending [\\s\\S]*\n\n"
                "3 shown \\(newest first\\); 3 tasks in the queue: 2 pending, 1 killed\n"
                "\nQUEUE +WEIGHT +MAX_RUNNING +PENDING +BACKOFF +CLAIMED +LAUNCHED +RUNNING +CPUS"
                " +MEM +WAITING\n"
                "default +1 +- +2 +0 +0 +0 +0 +0 +0 +in_line 2\n"));
    r = mesoflow_db(dsn, {"status", "--state", "killed"});
    CHECK_THAT(r.output, Contains("a.two") && !Contains("a.one") && !Contains("b.three"));
    r = mesoflow_db(dsn, {"status", "--state", "done"});
    CHECK_THAT(r.output, Contains("a.two") && !Contains("a.one"));
    r = mesoflow_db(dsn, {"status", "--state", "active"});
    CHECK_THAT(r.output, !Contains("a.two") && Contains("a.one") && Contains("b.three"));
    r = mesoflow_db(dsn, {"status", "--key", "a."});
    CHECK_THAT(r.output, Contains("a.one") && Contains("a.two") && !Contains("b.three"));
    r = mesoflow_db(dsn, {"status", "--limit", "1"});
    CHECK_THAT(r.output, Contains("b.three") && !Contains("a.one") && Contains("1 shown"));
    r = mesoflow_db(dsn, {"status", "--key", "zzz"});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("no tasks match"));
}

TEST_CASE(
    "status past the per-queue count: the queue's counts as lower bounds, the pending total "
    "estimated") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue) SELECT 'deep-' || g, 'true', 'deep'"
        " FROM generate_series(1, 10005) g");
    sql.exec("INSERT INTO mesoflow.tasks (key, command, queue) VALUES ('s', 'true', 'shallow')");
    sql.exec("ANALYZE mesoflow.tasks");
    const auto r = mesoflow_db(dsn, {"status", "--limit", "1"});
    REQUIRE(r.code == 0);
    // The statistics of a table this small are its rows: the estimate is exact.
    CHECK_THAT(r.output, Contains("~10006 pending"));
    CHECK_THAT(r.output, Matches("[\\s\\S]*\ndeep +1 +- +10000\\+ +0\\+ +0 +0 +0 +0 +0 +in_line "
                                 "10000\\+\n[\\s\\S]*"));
    CHECK_THAT(r.output, Matches("[\\s\\S]*\nshallow +1 +- +1 +0 +0 +0 +0 +0 +0 +in_line 1\n"
                                 "[\\s\\S]*"));
}

TEST_CASE("status KEY shows the task's columns and its history through a run") {
    using namespace mesoflow::store::testing;
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    const auto id = queued_and_launched(store, shell_task("job", "echo hi"));
    auto running = update_of(id, 1, mesoflow::task::MesosTaskState::running, "dTE=");
    auto failed = update_of(id, 1, mesoflow::task::MesosTaskState::failed, "dTI=");
    failed.message = "Command exited with status 3";
    failed.exit_status = 3;
    REQUIRE(store.apply_updates({running, failed}));

    const auto r = mesoflow_db(dsn, {"status", "job"});
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output, Matches("key +job\n[\\s\\S]*"));
    CHECK_THAT(r.output, Contains("/bin/sh -c 'echo hi'"));
    CHECK_THAT(r.output, Contains("mesos task      mf-" + std::to_string(id) + "-1"));
    CHECK_THAT(r.output, Contains("exit status     3"));
    CHECK_THAT(r.output, Contains("Command exited with status 3"));
    CHECK_THAT(r.output, Contains("history (3 entries, oldest first)"));
    CHECK_THAT(r.output, Matches("[\\s\\S]*launch +1 [\\s\\S]*update +1 +TASK_RUNNING +applied "
                                 "[\\s\\S]*update +1 +TASK_FAILED +applied [\\s\\S]*"));
}

TEST_CASE("status and kill of an unknown key exit 4 and say how to list tasks") {
    const std::string dsn = migrated_database();
    for (const char* command : {"status", "kill"}) {
        const auto r = mesoflow_db(dsn, {command, "nope"});
        CHECK(r.code == 4);
        CHECK_THAT(r.output, Contains("no task with key 'nope'") && Contains("mesoflow status"));
    }
}

TEST_CASE("kill ends a pending task at once and asks the daemon to kill a running one") {
    using namespace mesoflow::store::testing;
    const std::string dsn = migrated_database();
    submitted_id(mesoflow_db(dsn, {"submit", "--key", "queued", "--shell", "sleep 100"}));
    auto r = mesoflow_db(dsn, {"kill", "queued"});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("queued killed (it had not been launched)"));

    TaskStore store(dsn);
    const auto id = queued_and_launched(store, shell_task("busy", "sleep 100"));
    REQUIRE(store.apply_updates({update_of(id, 1, mesoflow::task::MesosTaskState::running)}));
    r = mesoflow_db(dsn, {"kill", "busy"});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("kill requested for busy (now running)"));
    auto kills = store.pending_kills(10);
    REQUIRE(kills);
    REQUIRE(kills->size() == 1);
    CHECK(kills->front().task_id == id);

    r = mesoflow_db(dsn, {"kill", "queued"});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("had already ended (killed); nothing to kill"));
}

TEST_CASE("status shows a producer's key and an agent's message with their controls escaped") {
    using namespace mesoflow::store::testing;
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    // A key that would turn the terminal red and start a line of its own.
    const std::string key = "evil\x1b[31mred\nforged";
    const auto id = queued_and_launched(store, shell_task(key, "printf '\x1b[2J'"));
    auto failed = update_of(id, 1, mesoflow::task::MesosTaskState::failed, "dTI=");
    failed.message = "boom\x1b]0;owned\x07 done";
    REQUIRE(store.apply_updates({failed}));

    for (const auto& args : std::vector<std::vector<std::string>>{{"status"}, {"status", key}}) {
        const auto r = mesoflow_db(dsn, args);
        INFO(r.output);
        REQUIRE(r.code == 0);
        CHECK(r.output.find('\x1b') == std::string::npos);
        CHECK(r.output.find('\x07') == std::string::npos);
        CHECK_THAT(r.output, Contains("evil\\x1b[31mred\\nforged"));
        CHECK_THAT(r.output, Contains("boom\\x1b]0;owned\\x07 done"));
    }
    const auto detail = mesoflow_db(dsn, {"status", key});
    CHECK_THAT(detail.output, Contains("/bin/sh -c 'printf '\\''\\x1b[2J'\\'''"));
}

TEST_CASE("queue set, list and delete manage a queue's settings, and submit --queue uses them") {
    const std::string dsn = migrated_database();
    auto r = mesoflow_db(dsn, {"queue", "set", "gpu", "--weight", "3", "--max-running", "2",
                               "--cpus", "4", "--mem", "8192", "--gpus", "1", "--constraint",
                               "rack:EQUALS:r7", "--image", "registry.local/train:1"});
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output, Contains("weight") && Contains("3") && Contains("rack:EQUALS:r7"));

    // A task that sets none takes the queue's defaults; one that sets some keeps its own.
    submitted_id(mesoflow_db(dsn, {"submit", "--key", "train-1", "--queue", "gpu", "--", "train"}));
    submitted_id(mesoflow_db(
        dsn, {"submit", "--key", "train-2", "--queue", "gpu", "--cpus", "1", "--", "train"}));
    Sql sql(dsn);
    CHECK(sql.one("SELECT cpus || ' ' || mem || ' ' || gpus || ' ' || image || ' ' ||"
                  " constraints::text FROM mesoflow.tasks WHERE key = 'train-1'") ==
          R"(4 8192 1 registry.local/train:1 [["rack", "EQUALS", "r7"]])");
    CHECK(sql.one("SELECT cpus || ' ' || mem FROM mesoflow.tasks WHERE key = 'train-2'") ==
          "1 8192");
    // Other queues keep the table's defaults.
    submitted_id(mesoflow_db(dsn, {"submit", "--key", "plain", "--shell", "true"}));
    CHECK(sql.one("SELECT queue || ' ' || cpus || ' ' || mem || ' ' || coalesce(image, '-')"
                  " FROM mesoflow.tasks WHERE key = 'plain'") == "default 1 256 -");

    r = mesoflow_db(dsn, {"queue", "list"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Matches("(?:.|\n)*QUEUE +WEIGHT +MAX_RUNNING +PENDING(?:.|\n)*"));
    CHECK_THAT(r.output, Matches("(?:.|\n)*\ndefault +1 +- +1 (?:.|\n)*"));
    CHECK_THAT(r.output, Matches("(?:.|\n)*\ngpu +3 +2 +2 (?:.|\n)*"));
    // status lists the queues too, and filters by one.
    r = mesoflow_db(dsn, {"status", "--queue", "gpu"});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("train-1") && Contains("train-2") && !Contains("plain  "));
    CHECK_THAT(r.output, Contains("QUEUE"));
    // One task says why it waits.
    r = mesoflow_db(dsn, {"status", "train-1"});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Matches("(?:.|\n)*\nqueue +gpu\n(?:.|\n)*"));
    CHECK_THAT(r.output, Contains("in_line: in line in its queue"));

    // none clears a setting; the weight goes back to 1.
    r = mesoflow_db(dsn, {"queue", "set", "gpu", "--max-running", "none", "--weight", "none",
                          "--constraint", "none"});
    CHECK(r.code == 0);
    CHECK(sql.one("SELECT weight || ' ' || coalesce(max_running::text, 'null') || ' ' ||"
                  " coalesce(constraints::text, 'null') || ' ' || cpus FROM mesoflow.queues") ==
          "1 null null 4");

    // What the table refuses comes back with the rule's name.
    r = mesoflow_db(dsn, {"queue", "set", "gpu", "--weight", "0"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("weight_must_be_positive"));
    r = mesoflow_db(dsn, {"queue", "set", "gpu", "--max-running", "-1"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("max_running_must_not_be_negative"));
    r = mesoflow_db(dsn, {"queue", "set", " gpu", "--weight", "2"});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("queue_must_not_start_or_end_with_spaces"));

    r = mesoflow_db(dsn, {"queue", "delete", "gpu"});
    CHECK(r.code == 0);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.queues") == 0);
    r = mesoflow_db(dsn, {"queue", "delete", "gpu"});
    CHECK(r.code == 4);
    // Its tasks stay.
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE queue = 'gpu'") == 2);

    // Usage errors.
    CHECK(mesoflow_db(dsn, {"queue", "frobnicate"}).code == 2);
    CHECK(mesoflow_db(dsn, {"queue", "set"}).code == 2);
    CHECK(mesoflow_db(dsn, {"queue", "list", "--weight", "2"}).code == 2);
    CHECK(mesoflow_db(dsn, {"queue", "set", "q", "--weight", "lots"}).code == 2);
}

TEST_CASE("a careless producer's queue name is refused with the rule, and nothing else is lost") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    struct Row {
        std::string queue_sql;
        std::string rule;
    };
    const std::vector<Row> rows = {
        {"''", "queue_must_not_be_empty"},
        {"'   '", "queue_must_not_be_empty"},
        {"repeat('q', 201)", "queue_must_be_at_most_200_bytes"},
        {"E'evil\\x1b[31m'", "queue_must_not_contain_control_characters"},
        {"E'a\\nb'", "queue_must_not_contain_control_characters"},
        {"' padded'", "queue_must_not_start_or_end_with_spaces"},
        {"NULL", "null value in column \"queue\""},
    };
    for (const auto& r : rows) {
        INFO(r.queue_sql);
        CHECK_THAT(sql.error_of("INSERT INTO mesoflow.tasks (key, command, queue) VALUES ('k', "
                                "'true', " +
                                r.queue_sql + ")"),
                   Contains(r.rule));
        // A row that gives every default itself is judged the same.
        CHECK_THAT(sql.error_of("INSERT INTO mesoflow.tasks (key, command, queue, cpus, mem, disk,"
                                " gpus, constraints, role, image) VALUES ('k', 'true', " +
                                r.queue_sql + ", 1, 1, 0, 0, '[]', 'r', 'i')"),
                   Contains(r.rule));
    }
    // A session whose search_path puts a function of its own before
    // pg_catalog's cannot change the rules.
    sql.exec("CREATE SCHEMA shadow");
    sql.exec("CREATE FUNCTION shadow.btrim(t text) RETURNS text LANGUAGE sql AS 'SELECT t'");
    sql.exec("SET search_path = shadow, pg_catalog, public");
    CHECK_THAT(sql.error_of("INSERT INTO mesoflow.tasks (key, command, queue, cpus, mem, disk,"
                            " gpus, constraints, role, image) VALUES ('k', 'true', ' padded', 1, 1,"
                            " 0, 0, '[]', 'r', 'i')"),
               Contains("queue_must_not_start_or_end_with_spaces"));
    sql.exec("RESET search_path");
    // Moving a task to a bad queue is refused the same way.
    sql.exec("INSERT INTO mesoflow.tasks (key, command, queue) VALUES ('ok', 'true', 'etl')");
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET queue = '' WHERE key = 'ok'"),
               Contains("queue_must_not_be_empty"));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks") == 1);
}
