#include "mesoflow/config/load.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "mesoflow/config/keys.hpp"
#include "mesoflow/config/render.hpp"
#include "scratch_dir.hpp"

using namespace mesoflow::config;
using mesoflow::testing::ScratchDir;

namespace {

const std::string kFixtures = MESOFLOW_CONFIG_FIXTURES;

// Reads only what the test names: no /etc/mesoflow, no log lines.
LoadOptions quiet(Environment env = {}, std::vector<std::string> files = {},
                  std::vector<FlagSetting> flags = {}) {
    LoadOptions o;
    o.environment = std::move(env);
    o.files = std::move(files);
    o.flags = std::move(flags);
    o.system_file = "/nonexistent/mesoflow.conf";
    o.log_warnings = false;
    return o;
}

LoadedConfig loaded_ok(const LoadOptions& options) {
    auto r = load(options);
    if (!r.ok())
        FAIL(r.error().message);
    return *r;
}

std::string load_error(const LoadOptions& options) {
    auto r = load(options);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string source(const Config& c, const char* key) {
    return source_of(c, *find_key(key));
}

std::string key_for_airflow_key(const std::string& airflow_key) {
    for (const auto& k : keys()) {
        if (k.airflow_key == airflow_key)
            return std::string(k.name);
    }
    FAIL("no key for [mesos] " << airflow_key);
    return "";
}

}  // namespace

TEST_CASE("with nothing configured every key has its built-in default") {
    const auto loaded = loaded_ok(quiet());
    CHECK(render_effective(loaded.config) == render_effective(Config{}));
    CHECK(loaded.warnings.empty());
    CHECK(loaded.files_read.empty());
    const Config& c = loaded.config;
    CHECK(c.framework_name == "mesoflow");
    CHECK(c.failover_timeout_s == 604800.0);
    CHECK(c.checkpoint);
    CHECK(c.roles == std::vector<std::string>{"*"});
    CHECK(c.admin_listen.to_string() == "127.0.0.1:9731");
    CHECK(c.tls_verify);
    CHECK(source(c, "master") == "default");
}

TEST_CASE("airflow.cfg [mesos] found through AIRFLOW_HOME gives Airflow's settings their meaning") {
    const auto loaded = loaded_ok(quiet({{"AIRFLOW_HOME", kFixtures}}));
    const Config& c = loaded.config;
    REQUIRE(loaded.files_read == std::vector<std::string>{kFixtures + "/airflow.cfg"});
    REQUIRE(c.masters.size() == 1);
    CHECK(c.masters[0].url() == "http://mesos-master-1.example.com:5050");
    CHECK(c.framework_name == "Airflow");
    CHECK(c.task_cpus == 2.0);
    CHECK(c.task_mem_mb == 1024.0);
    CHECK(c.checkpoint);
    CHECK(c.failover_timeout_s == 604800.0);
    CHECK(c.authenticate);
    CHECK(c.principal == "airflow");
    CHECK(c.secret == "mesos-fixture-secret");
    CHECK(c.docker_image == "registry.example.com/airflow:1.10.15");
    CHECK(c.containerizer == Containerizer::docker);
    CHECK(source(c, "master") == kFixtures + "/airflow.cfg:70 ([mesos] master)");
    CHECK(source(c, "task_cpus") == kFixtures + "/airflow.cfg:78 ([mesos] task_cpu)");
    // Other sections ([core], [webserver], [kerberos] principal...) are not mesoflow's, so
    // nothing is unknown; the only possible warning is about the inline secret.
    for (const auto& w : loaded.warnings)
        CHECK(w.event == "config_secret_in_readable_file");
    CHECK(c.database.empty());
}

TEST_CASE("AIRFLOW_CONFIG names airflow.cfg directly and wins over AIRFLOW_HOME") {
    ScratchDir dir;
    const auto cfg = dir.write("custom.cfg", "[mesos]\nmaster = other:5050\n");
    const auto loaded = loaded_ok(quiet({{"AIRFLOW_HOME", kFixtures}, {"AIRFLOW_CONFIG", cfg}}));
    CHECK(loaded.files_read == std::vector<std::string>{cfg});
    CHECK(loaded.config.masters[0].host == "other");
}

TEST_CASE(
    "precedence: default < airflow.cfg < mesoflow.conf < AIRFLOW__MESOS__ < "
    "AIRFLOW__MESOFLOW__ < MESOFLOW_ < flag") {
    ScratchDir dir;
    const auto airflow = dir.write("airflow.cfg", "[mesos]\ntask_cpu = 1.5\n");
    const auto own = dir.write("mesoflow.conf", "[mesoflow]\ntask_cpus = 2.5\n");
    LoadOptions o = quiet();
    CHECK(loaded_ok(o).config.task_cpus == 1.0);

    o.environment["AIRFLOW_CONFIG"] = airflow;
    CHECK(loaded_ok(o).config.task_cpus == 1.5);

    o.system_file = own;
    auto c = loaded_ok(o).config;
    CHECK(c.task_cpus == 2.5);
    CHECK(source(c, "task_cpus") == own + ":2 ([mesoflow] task_cpus)");

    o.environment["AIRFLOW__MESOS__TASK_CPU"] = "3.5";
    CHECK(loaded_ok(o).config.task_cpus == 3.5);

    o.environment["AIRFLOW__MESOFLOW__TASK_CPUS"] = "4.5";
    CHECK(loaded_ok(o).config.task_cpus == 4.5);

    o.environment["MESOFLOW_TASK_CPUS"] = "5.5";
    c = loaded_ok(o).config;
    CHECK(c.task_cpus == 5.5);
    CHECK(source(c, "task_cpus") == "env MESOFLOW_TASK_CPUS");

    o.flags = {{"task_cpus", "6.5", "--task-cpus"}};
    c = loaded_ok(o).config;
    CHECK(c.task_cpus == 6.5);
    CHECK(source(c, "task_cpus") == "flag --task-cpus");
}

TEST_CASE("[mesoflow] beats [mesos] in the same file, whatever their order") {
    ScratchDir dir;
    const auto f = dir.write("both.cfg",
                             "[mesoflow]\nframework_name = from-mesoflow\n"
                             "[mesos]\nframework_name = from-mesos\ntask_memory = 512\n");
    const auto c = loaded_ok(quiet({}, {f})).config;
    CHECK(c.framework_name == "from-mesoflow");
    CHECK(c.task_mem_mb == 512.0);
}

TEST_CASE("named config files replace the default search and later ones win") {
    ScratchDir dir;
    const auto a = dir.write("a.conf", "[mesoflow]\nlog_level = debug\nclaim_batch = 10\n");
    const auto b = dir.write("b.conf", "[mesoflow]\nclaim_batch = 20\n");
    const auto loaded = loaded_ok(quiet({{"AIRFLOW_HOME", kFixtures}}, {a, b}));
    CHECK(loaded.files_read == std::vector<std::string>{a, b});
    CHECK(loaded.config.log_level == "debug");
    CHECK(loaded.config.claim_batch == 20);
    CHECK(loaded.config.masters.empty());  // the fixture airflow.cfg was not read

    const auto via_env = loaded_ok(quiet({{"MESOFLOW_CONFIG", b + ":" + a}}));
    CHECK(via_env.config.claim_batch == 10);

    const auto missing = load_error(quiet({}, {dir.path() + "/nope.conf"}));
    CHECK(contains(missing, dir.path() + "/nope.conf"));
    CHECK(contains(missing, "No such file"));
}

TEST_CASE("environment overrides in Airflow style and MESOFLOW_ style") {
    const auto c = loaded_ok(quiet({
                                 {"AIRFLOW__MESOS__MASTER", "m1:5050,m2:5050"},
                                 {"AIRFLOW__MESOS__CHECKPOINT", "False"},
                                 {"AIRFLOW__MESOS__DOCKER_IMAGE_SLAVE", "img:1"},
                                 {"AIRFLOW__MESOFLOW__ROLES", "etl, gpu"},
                                 {"MESOFLOW_DATABASE", "host=db dbname=q"},
                                 {"MESOFLOW_RECONCILE_INTERVAL", "10m"},
                                 {"MESOFLOW_ADMIN_LISTEN", "0.0.0.0:9000"},
                                 {"PATH", "/usr/bin"},
                             }))
                       .config;
    CHECK(c.masters.size() == 2);
    CHECK_FALSE(c.checkpoint);
    CHECK(c.docker_image == "img:1");
    CHECK(c.roles == std::vector<std::string>{"etl", "gpu"});
    CHECK(c.database == "host=db dbname=q");
    CHECK(c.reconcile_interval_s == 600.0);
    CHECK(c.admin_listen.port == 9000);
    CHECK(source(c, "master") == "env AIRFLOW__MESOS__MASTER");
    CHECK(source(c, "roles") == "env AIRFLOW__MESOFLOW__ROLES");
}

TEST_CASE("secrets come from files named in airflow.cfg, the environment or a flag") {
    ScratchDir dir;
    const auto secret = dir.write("secret", "file-secret\n");
    const auto dsn = dir.write("dsn", "postgresql://mf:db-secret@db/q\n");
    const auto cfg = dir.write("airflow.cfg",
                               "[mesos]\nauthenticate = true\ndefault_principal = p\n"
                               "default_secret_file = " +
                                   secret + "\n[mesoflow]\ndatabase_file = " + dsn + "\n");
    auto c = loaded_ok(quiet({}, {cfg})).config;
    CHECK(c.secret == "file-secret");
    CHECK(c.database == "postgresql://mf:db-secret@db/q");
    CHECK(source(c, "secret") == cfg + ":4 ([mesos] default_secret_file)");

    const auto other = dir.write("other", "env-secret");
    c = loaded_ok(quiet({{"MESOFLOW_SECRET_FILE", other}}, {cfg})).config;
    CHECK(c.secret == "env-secret");
    CHECK(source(c, "secret") == "env MESOFLOW_SECRET_FILE");

    const auto third = dir.write("third", "flag-secret\r\n");
    c = loaded_ok(quiet({}, {cfg}, {{"secret_file", third, "--secret-file"}})).config;
    CHECK(c.secret == "flag-secret");

    const auto err = load_error(quiet({{"MESOFLOW_SECRET_FILE", dir.path() + "/gone"}}));
    CHECK(contains(err, "invalid secret in env MESOFLOW_SECRET_FILE: cannot read"));
}

TEST_CASE("secret keys may come from a command, Airflow's _cmd convention") {
    auto c = loaded_ok(quiet({{"AIRFLOW__MESOS__DEFAULT_SECRET_CMD", "printf 'cmd-%s\\n' secret"},
                              {"MESOFLOW_DATABASE_CMD", "echo host=db dbname=q"}}))
                 .config;
    CHECK(c.secret == "cmd-secret");
    CHECK(c.database == "host=db dbname=q");

    const auto err = load_error(quiet({{"MESOFLOW_SECRET_CMD", "echo leaked-value; exit 3"}}));
    CHECK(contains(err, "invalid secret in env MESOFLOW_SECRET_CMD"));
    CHECK(contains(err, "exited with status 3"));
    CHECK_FALSE(contains(err, "leaked-value"));
}

TEST_CASE("_cmd on a key that is not secret is an unknown key, with the reason") {
    const auto loaded = loaded_ok(quiet({{"MESOFLOW_MASTER_CMD", "echo m1:5050"}}));
    REQUIRE(loaded.warnings.size() == 1);
    CHECK(loaded.warnings[0].key == "MESOFLOW_MASTER_CMD");
    CHECK(contains(loaded.warnings[0].detail, "only secret keys"));
    CHECK(loaded.config.masters.empty());
}

TEST_CASE("a key given twice in one section, or as value and _file, is an error") {
    ScratchDir dir;
    const auto twice = dir.write("t.cfg", "[mesos]\ntask_cpu = 1\ntask_cpu = 2\n");
    CHECK(contains(load_error(quiet({}, {twice})), "task_cpus is given twice"));
    const auto forms =
        dir.write("f.cfg", "[mesos]\ndefault_secret = a\ndefault_secret_file = /x\n");
    const auto err = load_error(quiet({}, {forms}));
    CHECK(contains(err, forms + ":2 ([mesos] default_secret)"));
    CHECK(contains(err, forms + ":3 ([mesos] default_secret_file)"));
    CHECK(contains(load_error(quiet({{"MESOFLOW_SECRET", "a"}, {"MESOFLOW_SECRET_FILE", "/x"}})),
                   "secret is given twice"));
}

TEST_CASE("unknown keys warn once each with file, line and key; other sections are not read") {
    ScratchDir dir;
    const auto f =
        dir.write("a.cfg",
                  "[core]\nwhatever = 1\n"
                  "[mesos]\nmaster = m:5050\nmesos_ssl = True\ndefault_secret_secret = x\n"
                  "[mesoflow]\ndatabse = host=db\n");
    const auto loaded = loaded_ok(quiet({}, {f}));
    REQUIRE(loaded.warnings.size() == 3);
    CHECK(loaded.warnings[0].event == "config_unknown_key");
    CHECK(loaded.warnings[0].source == f + ":5 ([mesos])");
    CHECK(loaded.warnings[0].key == "mesos_ssl");
    CHECK(loaded.warnings[1].key == "default_secret_secret");
    CHECK(contains(loaded.warnings[1].detail, "secrets backends are not supported"));
    CHECK(loaded.warnings[2].source == f + ":8 ([mesoflow])");
    CHECK(contains(loaded.warnings[2].detail, "did you mean database?"));
}

TEST_CASE("unknown MESOFLOW_ and AIRFLOW__MESOS__ variables warn; MESOFLOW_CONFIG is not a key") {
    ScratchDir dir;
    const auto f = dir.write("a.conf", "[mesoflow]\n");
    const auto loaded = loaded_ok(quiet({{"MESOFLOW_DATABSE", "x"},
                                         {"AIRFLOW__MESOS__MESOS_SSL", "True"},
                                         {"AIRFLOW__CORE__EXECUTOR", "MesosExecutor"},
                                         {"MESOFLOW_CONFIG", f}}));
    REQUIRE(loaded.warnings.size() == 2);
    CHECK(loaded.warnings[0].source == "env AIRFLOW__MESOS__MESOS_SSL");
    CHECK(loaded.warnings[1].source == "env MESOFLOW_DATABSE");
    CHECK(contains(loaded.warnings[1].detail, "did you mean database?"));
}

TEST_CASE("a world-readable secret file and a secret flag are warned about") {
    ScratchDir dir;
    const auto open = dir.write("secret", "s", 0644);
    auto loaded = loaded_ok(quiet({{"MESOFLOW_SECRET_FILE", open}}));
    REQUIRE(loaded.warnings.size() == 1);
    CHECK(loaded.warnings[0].event == "config_secret_file_readable");
    CHECK(loaded.warnings[0].detail == open + " is readable by every user; chmod o-r it");

    loaded = loaded_ok(quiet({}, {}, {{"secret", "on-the-command-line", "--secret"}}));
    REQUIRE(loaded.warnings.size() == 1);
    CHECK(loaded.warnings[0].event == "config_secret_on_command_line");
    CHECK(contains(loaded.warnings[0].detail, "--secret-file"));
    CHECK_FALSE(contains(loaded.warnings[0].detail, "on-the-command-line"));
}

TEST_CASE("a secret written in a config file that every user can read is warned about") {
    ScratchDir dir;
    const std::string text = "[mesos]\ndefault_secret = s3\n";
    CHECK(loaded_ok(quiet({}, {dir.write("private.cfg", text, 0640)})).warnings.empty());
    const auto open = dir.write("open.cfg", text, 0644);
    const auto loaded = loaded_ok(quiet({}, {open}));
    REQUIRE(loaded.warnings.size() == 1);
    CHECK(loaded.warnings[0].event == "config_secret_in_readable_file");
    CHECK(loaded.warnings[0].source == open + ":2 ([mesos] default_secret)");
    CHECK(loaded.warnings[0].detail ==
          open + " is readable by every user; move the secret to secret_file");
}

TEST_CASE(
    "$VARS and ~ in airflow.cfg values expand like Airflow's; MESOFLOW_ values are verbatim") {
    ScratchDir dir;
    const auto f = dir.write("a.cfg",
                             "[mesos]\nmaster = ${MASTER_HOST}:$MASTER_PORT\n"
                             "docker_image_slave = $UNSET_VAR/img\n"
                             "[mesoflow]\ntls_ca_file = ~/ca.pem\n");
    dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
    const auto c = loaded_ok(quiet({{"MASTER_HOST", "m9"},
                                    {"MASTER_PORT", "5099"},
                                    {"HOME", dir.path()},
                                    {"MESOFLOW_FRAMEWORK_USER", "$MASTER_HOST"}},
                                   {f}))
                       .config;
    CHECK(c.masters[0].url() == "http://m9:5099");
    CHECK(c.docker_image == "$UNSET_VAR/img");
    CHECK(c.tls_ca_file == dir.path() + "/ca.pem");
    CHECK(c.framework_user == "$MASTER_HOST");
}

TEST_CASE("inline comments are dropped from plain values but kept in secrets") {
    ScratchDir dir;
    const auto f = dir.write("a.cfg",
                             "[mesos]\ncheckpoint = False  # as before\ntask_cpu = 0.5 ; half\n"
                             "default_secret = pa ss #1\n");
    const auto c = loaded_ok(quiet({}, {f})).config;
    CHECK_FALSE(c.checkpoint);
    CHECK(c.task_cpus == 0.5);
    CHECK(c.secret == "pa ss #1");
}

TEST_CASE("failover_timeout is seconds; empty means none, as in Airflow; units are accepted") {
    ScratchDir dir;
    const auto empty = dir.write("e.cfg", "[mesos]\nfailover_timeout =\n");
    CHECK(loaded_ok(quiet({}, {empty})).config.failover_timeout_s == 0.0);
    CHECK(loaded_ok(quiet({{"MESOFLOW_FAILOVER_TIMEOUT", "2w"}})).config.failover_timeout_s ==
          14 * 86400.0);
}

TEST_CASE(
    "a zk:// master from Airflow's setting is read as ZooKeeper's group, its password masked") {
    const auto loaded =
        loaded_ok(quiet({{"AIRFLOW__MESOS__MASTER", "zk://mesos:hush@zk1:2181,zk2/mesos"}}));
    const Config& c = loaded.config;
    CHECK(c.masters.empty());
    REQUIRE(c.master_zookeeper);
    CHECK(c.master_zookeeper->servers == "zk1:2181,zk2:2181");
    CHECK(c.master_zookeeper->path == "/mesos");
    CHECK(c.master_zookeeper->credentials == "mesos:hush");
    CHECK(require_keys(c, {"master"}).ok());
    CHECK(value_text(c, *find_key("master"), false) == "zk://mesos:****@zk1:2181,zk2:2181/mesos");
    const auto err = load_error(quiet({{"AIRFLOW__MESOS__MASTER", "zk://zk1:2181"}}));
    CHECK(contains(err, "invalid master in env AIRFLOW__MESOS__MASTER"));
    CHECK(contains(err, "zk://host:2181/mesos"));
}

TEST_CASE("every invalid value stops start-up naming the key, where it was set and why") {
    ScratchDir dir;
    struct Case {
        std::string name;  // airflow.cfg [mesos] key, [mesoflow] key, variable or flag
        std::string value;
        std::string reason;
    };
    const Case in_airflow_cfg[] = {
        {"task_cpu", "abc", "\"abc\" is not a number"},
        {"task_memory", "-5", "-5 must be greater than 0"},
        {"task_cpu", "0", "0 must be greater than 0"},
        {"checkpoint", "maybe", "\"maybe\" is not a boolean"},
        {"authenticate", "yes please", "is not a boolean"},
        {"failover_timeout", "a week", "is not a duration"},
        {"master", "m1:99999", "port must be a number from 1 to 65535"},
        {"framework_name", "", "must not be empty"},
    };
    for (const auto& c : in_airflow_cfg) {
        const auto f =
            dir.write("bad.cfg", "[core]\nx = 1\n[mesos]\n" + c.name + " = " + c.value + "\n");
        const auto err = load_error(quiet({}, {f}));
        INFO(err);
        CHECK(contains(err, "invalid " + key_for_airflow_key(c.name) + " in " + f + ":4 ([mesos] " +
                                c.name + ")"));
        CHECK(contains(err, c.reason));
    }
    const Case in_environment[] = {
        {"MESOFLOW_LOG_LEVEL", "loud", "\"loud\" is not a log level"},
        {"MESOFLOW_CLAIM_BATCH", "0", "0 must be at least 1"},
        {"MESOFLOW_CLAIM_BATCH", "1.5", "\"1.5\" is not a whole number"},
        {"MESOFLOW_LAUNCH_WINDOW", "2000000", "must be at most 1000000"},
        {"MESOFLOW_HEARTBEAT_WATCHDOG_FACTOR", "1", "1 must be greater than 1"},
        {"MESOFLOW_REFUSE_SECONDS", "-1", "-1s must be at least 0s"},
        {"MESOFLOW_REFUSE_SECONDS", "400d", "must be at most 31536000s"},
        {"MESOFLOW_CONTAINERIZER", "rkt", "\"rkt\" is not a containerizer"},
        {"MESOFLOW_ROLES", " , ", "must not be empty"},
        {"MESOFLOW_ALLOWED_VOLUME_PATHS", "/srv,data", "\"data\" is not an absolute path"},
        {"MESOFLOW_ALLOWED_VOLUME_PATHS", "/data/../etc", "\"/data/../etc\" has a .. component"},
        {"MESOFLOW_ALLOWED_DOCKER_PARAMETERS", "label,--privileged",
         "\"--privileged\" is not a docker option name"},
        {"MESOFLOW_ALLOWED_NETWORKS", "bridge,overlay", "\"overlay\" is not a network"},
        {"MESOFLOW_ADMIN_LISTEN", "localhost", "expected host:port"},
        {"AIRFLOW__MESOS__TASK_MEMORY", "lots", "\"lots\" is not a number"},
    };
    for (const auto& c : in_environment) {
        const auto err = load_error(quiet({{c.name, c.value}}));
        INFO(err);
        CHECK(contains(err, " in env " + c.name + ": "));
        CHECK(contains(err, c.reason));
    }
    const auto flag_err =
        load_error(quiet({}, {}, {{"admin_listen", "host:99999", "--admin-listen"}}));
    CHECK(contains(flag_err, "invalid admin_listen in flag --admin-listen: "));
    CHECK(contains(flag_err, "port must be a number"));
}

TEST_CASE("an invalid database DSN is refused without showing its password") {
    const auto err =
        load_error(quiet({{"MESOFLOW_DATABASE", "postgresql+psycopg2://u:hunter2@db/airflow"}}));
    CHECK(contains(err, "invalid database in env MESOFLOW_DATABASE"));
    CHECK(contains(err, "SQLAlchemy"));
    CHECK_FALSE(contains(err, "hunter2"));
}

TEST_CASE("authenticate without principal or secret stops start-up, as it stopped Airflow") {
    ScratchDir dir;
    const auto f = dir.write("a.cfg", "[mesos]\nauthenticate = True\ndefault_principal = p\n");
    const auto err = load_error(quiet({}, {f}));
    CHECK(contains(err, "invalid authenticate in " + f + ":2 ([mesos] authenticate)"));
    CHECK(contains(err, "needs secret"));
    CHECK(contains(err, "MESOFLOW_SECRET"));
    CHECK(contains(load_error(quiet({{"MESOFLOW_AUTHENTICATE", "1"}})), "needs principal"));
}

TEST_CASE("back-off bounds in the wrong order are an error naming both keys and sources") {
    const auto err =
        load_error(quiet({{"MESOFLOW_BACKOFF_MIN", "1m"}, {"MESOFLOW_BACKOFF_MAX", "10"}}));
    CHECK(contains(err, "invalid backoff_min: 60s (from env MESOFLOW_BACKOFF_MIN)"));
    CHECK(contains(err, "backoff_max = 10s (from env MESOFLOW_BACKOFF_MAX)"));
    const auto r = load_error(quiet({{"MESOFLOW_RECONCILE_BACKOFF_MIN", "1h"}}));
    CHECK(contains(r, "reconcile_backoff_max = 600s (from default)"));
}

TEST_CASE("a tls_ca_file that cannot be read stops start-up") {
    const auto err = load_error(quiet({{"MESOFLOW_TLS_CA_FILE", "/nonexistent/ca.pem"}}));
    CHECK(contains(
        err, "invalid tls_ca_file in env MESOFLOW_TLS_CA_FILE: cannot read /nonexistent/ca.pem"));
}

TEST_CASE("https masters without verification are warned about") {
    const auto loaded = loaded_ok(
        quiet({{"MESOFLOW_MASTER", "https://m1:5050"}, {"MESOFLOW_TLS_VERIFY", "false"}}));
    REQUIRE(loaded.warnings.size() == 1);
    CHECK(loaded.warnings[0].event == "config_tls_verify_off");
}

TEST_CASE("a flag that is not a key is an error") {
    CHECK(contains(load_error(quiet({}, {}, {{"nope", "1", "--nope"}})), "unknown flag --nope"));
}

TEST_CASE("require_keys says how to set the first missing key") {
    Config c;
    auto s = require_keys(c, {"master", "database"});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message ==
          "master is not set: give --master, set MESOFLOW_MASTER, master in airflow.cfg [mesos], "
          "or master in [mesoflow] of /etc/mesoflow/mesoflow.conf");
    c.masters.push_back(MasterAddress{false, "m", 5050});
    s = require_keys(c, {"master", "database"});
    REQUIRE_FALSE(s.ok());
    CHECK(contains(s.error().message,
                   "database is not set: give --database, set MESOFLOW_DATABASE,"));
    c.database = "host=db";
    CHECK(require_keys(c, {"master", "database"}).ok());
}
