// The binary's surface without a database: help, versions, usage errors and
// their exit codes, and configuration errors that say what to do.
#include <catch2/catch.hpp>

#include "cli_fixture.hpp"

using Catch::Contains;
using mesoflow::testing::mesoflow_cli;

namespace {

const char* const kCommands[] = {"run",  "migrate",  "submit", "status",
                                 "kill", "teardown", "config", "version"};

}  // namespace

TEST_CASE("every command answers --help with its usage and exit 0") {
    for (const char* command : kCommands) {
        INFO(command);
        const auto r = mesoflow_cli({command, "--help"});
        CHECK(r.code == 0);
        CHECK_THAT(r.output, Contains(std::string("usage: mesoflow ") + command));
        CHECK_THAT(r.output, Contains("--config"));
    }
}

TEST_CASE("mesoflow help lists the commands and the exit codes") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--help"}, {"help"}, {"-h"}}) {
        const auto r = mesoflow_cli(args);
        CHECK(r.code == 0);
        for (const char* command : kCommands)
            CHECK_THAT(r.output, Contains(std::string("  ") + command));
        CHECK_THAT(r.output, Contains("Exit codes") && Contains("4  not found"));
    }
    const auto r = mesoflow_cli({"help", "submit"});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("usage: mesoflow submit"));
}

TEST_CASE("run and config help list every configuration key with its environment variable") {
    for (const char* command : {"run", "config"}) {
        const auto r = mesoflow_cli({command, "--help"});
        CHECK(r.code == 0);
        CHECK_THAT(r.output, Contains("--master") && Contains("MESOFLOW_DATABASE") &&
                                 Contains("AIRFLOW__MESOS__TASK_CPU") &&
                                 Contains("--admin-listen"));
    }
}

TEST_CASE("version prints the version and the schema version") {
    for (const char* arg : {"version", "--version"}) {
        const auto r = mesoflow_cli({arg});
        CHECK(r.code == 0);
        CHECK_THAT(r.output,
                   Catch::Matches("mesoflow [0-9]+\\.[0-9]+\\.[0-9]+ \\(schema [0-9]+\\)\n"));
    }
}

TEST_CASE("no command or an unknown one is a usage error with exit 2") {
    auto r = mesoflow_cli({});
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Contains("usage: mesoflow COMMAND"));
    r = mesoflow_cli({"lanch"});
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Contains("unknown command 'lanch'") && Contains("mesoflow --help"));
}

TEST_CASE("unknown options, missing values and stray arguments are usage errors with exit 2") {
    struct Case {
        std::vector<std::string> args;
        const char* message;
    };
    const Case cases[] = {
        {{"status", "--bogus"}, "unknown option --bogus"},
        {{"status", "--limit"}, "--limit needs a value"},
        {{"status", "--limit", "many"}, "--limit: expected a number"},
        {{"status", "--state", "runing"}, "unknown state 'runing'"},
        {{"status", "a", "b"}, "unexpected argument 'b'"},
        {{"status", "k", "--state", "running"}, "KEY shows one task"},
        {{"kill"}, "missing KEY"},
        {{"kill", "a", "b"}, "unexpected argument 'b'"},
        {{"migrate", "extra"}, "unexpected argument 'extra'"},
        {{"version", "--yes"}, "unknown option --yes"},
        {{"teardown", "--yes=no"}, "--yes takes no value"},
        {{"config", "--", "x"}, "takes no command after '--'"},
        {{"submit", "--shell", "true"}, "--key KEY is required"},
        {{"submit", "--key", "k"}, "nothing to run"},
        {{"submit", "--key", "k", "--shell", "true", "--", "true"}, "not both"},
        {{"submit", "--key", "k", "--"}, "nothing after '--'"},
        {{"submit", "--key", "k", "--shell", "x", "--cpus", "two"},
         "--cpus: 'two' is not a number"},
        {{"submit", "--key", "k", "--shell", "x", "--attempts", "1.5"}, "not a whole number"},
        {{"submit", "--key", "k", "--shell", "x", "--env", "NOEQUALS"}, "expected NAME=VALUE"},
        {{"submit", "--key", "k", "--shell", "x", "--constraint", "rack:NEAR:r1"},
         "unknown operator 'NEAR'"},
        {{"submit", "--key", "k", "--shell", "x", "--constraint", "rack:EQUALS"}, "needs a value"},
        {{"submit", "--key", "k", "--shell", "x", "--constraint", "gpu:EXISTS:yes"},
         "EXISTS takes no value"},
        {{"submit", "--key", "k", "--image", "x", "--containerizer", "lxc"},
         "expected docker or mesos"},
        {{"run", "--master"}, "--master needs a value"},
    };
    for (const auto& c : cases) {
        std::string joined;
        for (const auto& a : c.args)
            joined += a + " ";
        INFO(joined);
        const auto r = mesoflow_cli(c.args);
        CHECK(r.code == 2);
        CHECK_THAT(r.output, Contains(c.message));
    }
}

TEST_CASE("a command without its database says every way to give one, with exit 2") {
    for (const char* command : {"migrate", "status"}) {
        INFO(command);
        const auto r = mesoflow_cli({command});
        CHECK(r.code == 2);
        CHECK_THAT(r.output, Contains("database is not set") && Contains("--database") &&
                                 Contains("MESOFLOW_DATABASE") &&
                                 Contains("/etc/mesoflow/mesoflow.conf"));
    }
}

TEST_CASE("run without a master says how to set one, with exit 2") {
    const auto r = mesoflow_cli({"run", "--database", "dbname=x"});
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Contains("master is not set") && Contains("MESOFLOW_MASTER") &&
                             Contains("airflow.cfg"));
}

TEST_CASE("an invalid configuration value stops a command with its key, source and reason") {
    auto r = mesoflow_cli({"config"}, {"MESOFLOW_TASK_CPUS=two"});
    CHECK(r.code == 2);
    CHECK_THAT(r.output,
               Contains("task_cpus") && Contains("env MESOFLOW_TASK_CPUS") && Contains("two"));
    mesoflow::testing::TempFile cfg("[mesos]\ntask_cpu = lots\n");
    r = mesoflow_cli({"status", "--config", cfg.path(), "--database", "dbname=x"});
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Contains(cfg.path() + ":2"));
}

TEST_CASE("config shows each value with its source and masks every secret") {
    const std::string password = "hunter2-db-password";
    const std::string secret = "s3cr3t-mesos-secret";
    mesoflow::testing::TempFile secret_file(secret + "\n");
    mesoflow::testing::TempFile cfg(
        "[mesos]\nmaster = m1:5050\ntask_cpu = 2\n"
        "default_principal = mesoflow\n");
    const auto r =
        mesoflow_cli({"config", "--config", cfg.path(), "--secret-file", secret_file.path(),
                      "--task-mem", "512"},
                     {"MESOFLOW_DATABASE=postgresql://mesoflow:" + password + "@db.example/queue",
                      "MESOFLOW_LOG_LEVEL=warn"});
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output, !Contains(password) && !Contains(secret));
    CHECK_THAT(r.output, Contains("postgresql://mesoflow:****@db.example/queue"));
    CHECK_THAT(r.output, Contains("# read " + cfg.path()));
    CHECK_THAT(r.output, Catch::Matches("[\\s\\S]*\nmaster +http://m1:5050 +" + cfg.path() +
                                        ":2 \\(\\[mesos\\] master\\)\n[\\s\\S]*"));
    CHECK_THAT(r.output, Catch::Matches("[\\s\\S]*\ntask_mem +512 +flag --task-mem\n[\\s\\S]*"));
    CHECK_THAT(r.output,
               Catch::Matches("[\\s\\S]*\nsecret +\\*\\*\\*\\* +flag --secret-file[\\s\\S]*"));
    CHECK_THAT(r.output,
               Catch::Matches("[\\s\\S]*\ndatabase +\\S+ +env MESOFLOW_DATABASE\n[\\s\\S]*"));
    CHECK_THAT(r.output, Catch::Matches("[\\s\\S]*\nframework_name +mesoflow +default\n[\\s\\S]*"));
}

TEST_CASE("unknown configuration keys are warned about but do not stop a command") {
    mesoflow::testing::TempFile cfg("[mesoflow]\ntask_cpuz = 2\n");
    const auto r = mesoflow_cli({"config", "--config", cfg.path()});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("event=config_unknown_key") && Contains("task_cpuz"));
}

TEST_CASE("the log level applies to configuration warnings too") {
    mesoflow::testing::TempFile cfg("[mesoflow]\ntask_cpuz = 2\nlog_level = error\n");
    const auto r = mesoflow_cli({"config", "--config", cfg.path()});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, !Contains("config_unknown_key"));
}
