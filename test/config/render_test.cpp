#include "mesoflow/config/render.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <string>

#include "mesoflow/config/flags.hpp"
#include "mesoflow/config/keys.hpp"
#include "mesoflow/config/load.hpp"
#include "scratch_dir.hpp"

using namespace mesoflow::config;

namespace {

LoadOptions quiet(Environment env, std::vector<std::string> files = {}) {
    LoadOptions o;
    o.environment = std::move(env);
    o.files = std::move(files);
    o.system_file = "/nonexistent/mesoflow.conf";
    o.log_warnings = false;
    return o;
}

std::string line_of(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + " ", 0) == 0)
            return line;
    }
    return "";
}

}  // namespace

TEST_CASE("mesoflow config shows every key with its value and where it came from") {
    mesoflow::testing::ScratchDir dir;
    const auto f = dir.write("airflow.cfg", "[mesos]\nmaster = m1:5050\ntask_cpu = 2\n");
    auto loaded = load(quiet({{"MESOFLOW_LOG_LEVEL", "debug"}}, {f}));
    REQUIRE(loaded.ok());
    const std::string out = render_effective(loaded->config);
    CHECK(out.rfind("KEY ", 0) == 0);
    for (const auto& key : keys())
        CHECK_FALSE(line_of(out, std::string(key.name)).empty());
    CHECK(line_of(out, "master").find("http://m1:5050") != std::string::npos);
    CHECK(line_of(out, "master").find(f + ":2 ([mesos] master)") != std::string::npos);
    CHECK(line_of(out, "task_cpus").find(f + ":3 ([mesos] task_cpu)") != std::string::npos);
    CHECK(line_of(out, "log_level").find("debug") != std::string::npos);
    CHECK(line_of(out, "log_level").find("env MESOFLOW_LOG_LEVEL") != std::string::npos);
    CHECK(line_of(out, "checkpoint").find("default") != std::string::npos);
    CHECK(line_of(out, "database").find("\"\"") != std::string::npos);
}

TEST_CASE("no secret appears anywhere in rendered output; the principal does") {
    mesoflow::testing::ScratchDir dir;
    const auto secret_file = dir.write("s", "file-borne-secret\n");
    const auto f = dir.write("airflow.cfg",
                             "[mesos]\nauthenticate = true\ndefault_principal = the-principal\n"
                             "default_secret = cfg-borne-secret\n");
    const std::vector<Environment> envs = {
        {},
        {{"MESOFLOW_SECRET_FILE", secret_file},
         {"MESOFLOW_DATABASE", "postgresql://mf:uri-db-secret@db/q?password=query-db-secret"}},
        {{"AIRFLOW__MESOS__DEFAULT_SECRET", "env-borne-secret"},
         {"MESOFLOW_DATABASE", "host=db password='kv db secret' sslpassword=ssl-db-secret"}},
    };
    const std::vector<std::string> secrets = {
        "cfg-borne-secret", "file-borne-secret", "uri-db-secret", "query-db-secret",
        "env-borne-secret", "kv db secret",      "ssl-db-secret"};
    for (const auto& env : envs) {
        auto loaded = load(quiet(env, {f}));
        REQUIRE(loaded.ok());
        const std::string out = render_effective(loaded->config);
        for (const auto& s : secrets) {
            INFO(s);
            CHECK(out.find(s) == std::string::npos);
        }
        for (const auto& w : loaded->warnings) {
            for (const auto& s : secrets)
                CHECK((w.source + w.key + w.detail).find(s) == std::string::npos);
        }
        CHECK(line_of(out, "principal").find("the-principal") != std::string::npos);
        CHECK(line_of(out, "secret").find("****") != std::string::npos);
    }
    auto with_db = load(quiet(envs[1], {f}));
    REQUIRE(with_db.ok());
    CHECK(
        line_of(render_effective(with_db->config), "database").find("postgresql://mf:****@db/q") !=
        std::string::npos);
}

TEST_CASE("an unset secret renders empty, not as a mask that suggests one is set") {
    CHECK(line_of(render_effective(Config{}), "secret").find("****") == std::string::npos);
}

TEST_CASE("every default survives being written out and read back as a flag") {
    LoadOptions o = quiet({});
    for (const auto& key : keys()) {
        o.flags.push_back(
            FlagSetting{std::string(key.name), value_text(Config{}, key, true), flag_name(key)});
    }
    auto loaded = load(o);
    if (!loaded.ok())
        FAIL(loaded.error().message);
    for (const auto& key : keys()) {
        INFO(key.name);
        CHECK(value_text(loaded->config, key, true) == default_text(key));
        CHECK(source_of(loaded->config, key) == flag_name(key).insert(0, "flag "));
    }
}

TEST_CASE("the key table names each key, flag and variable once") {
    std::set<std::string> names, airflow;
    for (const auto& key : keys()) {
        CHECK(names.insert(std::string(key.name)).second);
        if (!key.airflow_key.empty())
            CHECK(airflow.insert(std::string(key.airflow_key)).second);
        CHECK_FALSE(key.description.empty());
    }
    for (const char* airflow_key :
         {"master", "framework_name", "task_cpu", "task_memory", "checkpoint", "failover_timeout",
          "authenticate", "default_principal", "default_secret", "docker_image_slave"}) {
        INFO(airflow_key);
        CHECK(airflow.count(airflow_key) == 1);
    }
}
