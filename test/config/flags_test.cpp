#include "mesoflow/config/flags.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "mesoflow/config/keys.hpp"

using namespace mesoflow::config;

namespace {

ParsedFlags parsed(const std::vector<std::string>& args) {
    auto r = parse_flags(args);
    if (!r.ok())
        FAIL(r.error().message);
    return *r;
}

}  // namespace

TEST_CASE("flags --key value and --key=value, with dashes or underscores, map onto keys") {
    const auto p = parsed({"--master", "m1:5050", "--task-cpus=0.5", "--task_mem", "128",
                           "--database=host=db dbname=q"});
    REQUIRE(p.settings.size() == 4);
    CHECK(p.settings[0].name == "master");
    CHECK(p.settings[0].value == "m1:5050");
    CHECK(p.settings[0].flag == "--master");
    CHECK(p.settings[1].name == "task_cpus");
    CHECK(p.settings[1].value == "0.5");
    CHECK(p.settings[1].flag == "--task-cpus");
    CHECK(p.settings[2].name == "task_mem");
    CHECK(p.settings[3].value == "host=db dbname=q");
    CHECK(p.rest.empty());
}

TEST_CASE("boolean flags: bare means true, --no- means false, =value is explicit") {
    const auto p =
        parsed({"--checkpoint", "positional", "--no-tls-verify", "--gpu-resources=false"});
    REQUIRE(p.settings.size() == 3);
    CHECK(p.settings[0].name == "checkpoint");
    CHECK(p.settings[0].value == "true");
    CHECK(p.settings[1].name == "tls_verify");
    CHECK(p.settings[1].value == "false");
    CHECK(p.settings[1].flag == "--no-tls-verify");
    CHECK(p.settings[2].value == "false");
    CHECK(p.rest == std::vector<std::string>{"positional"});
    CHECK_FALSE(parse_flags({"--no-checkpoint=yes"}).ok());
}

TEST_CASE("_file forms are flags too") {
    const auto p = parsed({"--secret-file", "/run/secret", "--database-file=/run/dsn"});
    REQUIRE(p.settings.size() == 2);
    CHECK(p.settings[0].name == "secret_file");
    CHECK(p.settings[1].name == "database_file");
}

TEST_CASE("the subcommand's own flags, positionals and everything after -- pass through in order") {
    const auto p = parsed(
        {"submit", "--cpus", "2", "--master", "m:5050", "--priority=3", "--", "--master", "x"});
    CHECK(p.rest ==
          std::vector<std::string>{"submit", "--cpus", "2", "--priority=3", "--", "--master", "x"});
    REQUIRE(p.settings.size() == 1);
    CHECK(p.settings[0].value == "m:5050");
}

TEST_CASE("flag --config repeats and --help or -h is noticed") {
    const auto p = parsed({"--config", "/a.conf", "--config=/b.conf", "-h"});
    CHECK(p.config_files == std::vector<std::string>{"/a.conf", "/b.conf"});
    CHECK(p.help);
    CHECK(parsed({"--help"}).help);
    CHECK_FALSE(parsed({"status"}).help);
}

TEST_CASE("a flag without its value is an error naming the flag") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--master"},
          std::vector<std::string>{"--master", "--checkpoint"},
          std::vector<std::string>{"--config"}}) {
        auto r = parse_flags(args);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message == args[0] + " needs a value");
    }
}

TEST_CASE("the --help text lists every key with flag, default, variables and airflow.cfg key") {
    const std::string help = flags_help();
    // Descriptions are wrapped: compare with runs of white space made one space.
    std::string flat;
    for (char c : help) {
        const bool space = c == ' ' || c == '\n';
        if (!space || (!flat.empty() && flat.back() != ' '))
            flat += space ? ' ' : c;
    }
    for (const auto& key : keys()) {
        INFO(key.name);
        CHECK(flat.find(flag_name(key)) != std::string::npos);
        CHECK(flat.find(std::string(key.description)) != std::string::npos);
        CHECK(flat.find("default: " + default_text(key)) != std::string::npos);
        CHECK(flat.find("env: " + env_var(key)) != std::string::npos);
        if (!key.airflow_key.empty()) {
            CHECK(flat.find("airflow.cfg: [mesos] " + std::string(key.airflow_key)) !=
                  std::string::npos);
            CHECK(flat.find(env_var(key) + ", " + airflow_env_var(key)) != std::string::npos);
        }
    }
    CHECK(help.find("  --task-cpus N\n") != std::string::npos);
    CHECK(help.find("  --tls-ca-file PATH\n") != std::string::npos);
    CHECK(help.find("  --checkpoint, --no-checkpoint\n") != std::string::npos);
    std::size_t start = 0;
    while (start < help.size()) {
        const std::size_t end = help.find('\n', start);
        CHECK(end - start <= 80);
        start = end + 1;
    }
}
