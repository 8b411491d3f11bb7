#include "config/ini_parser.hpp"

#include <catch2/catch.hpp>
#include <string>

using mesoflow::config::IniDocument;
using mesoflow::config::interpolate;
using mesoflow::config::parse_ini;

namespace {

IniDocument parsed(const std::string& text) {
    auto doc = parse_ini(text, "test.cfg");
    REQUIRE(doc.ok());
    return *doc;
}

std::string value_of(const IniDocument& doc, const std::string& section, const std::string& key) {
    for (const auto& e : doc.entries) {
        if (e.section == section && e.key == key)
            return e.value;
    }
    FAIL("no " << section << "." << key);
    return "";
}

}  // namespace

TEST_CASE("a line splits at its first '=' or ':', so URLs keep their colons") {
    const auto doc = parsed(
        "[mesos]\n"
        "master = zk://zk1:2181,zk2:2181/mesos\n"
        "framework_name: Airflow\n"
        "docker_image_slave: registry:5000/airflow = 1\n");
    CHECK(value_of(doc, "mesos", "master") == "zk://zk1:2181,zk2:2181/mesos");
    CHECK(value_of(doc, "mesos", "framework_name") == "Airflow");
    CHECK(value_of(doc, "mesos", "docker_image_slave") == "registry:5000/airflow = 1");
}

TEST_CASE("keys are lower-cased, values stripped, and # or ; comment lines skipped even indented") {
    const auto doc = parsed(
        "# leading comment\n"
        "[mesos]\n"
        "  ; indented comment\n"
        "MASTER   =   m1:5050   \n"
        "    # another indented comment\n"
        "Task_CPU=1\n");
    REQUIRE(doc.entries.size() == 2);
    CHECK(doc.entries[0].key == "master");
    CHECK(doc.entries[0].value == "m1:5050");
    CHECK(doc.entries[0].line == 4);
    CHECK(doc.entries[1].key == "task_cpu");
    CHECK(doc.entries[1].line == 6);
}

TEST_CASE("deeper-indented lines continue a value; inner blank lines stay, trailing ones go") {
    const auto doc = parsed(
        "[mesoflow]\n"
        "roles = a,\n"
        "    b,\n"
        "\n"
        "    c\n"
        "\n"
        "\n"
        "log_level = info\n");
    CHECK(value_of(doc, "mesoflow", "roles") == "a,\nb,\n\nc");
    CHECK(value_of(doc, "mesoflow", "log_level") == "info");
}

TEST_CASE("a section header ends a value, so an indented line after it is a key") {
    const auto doc = parsed("[a]\nx = 1\n[mesos]\n  master = m:5050\n");
    CHECK(value_of(doc, "mesos", "master") == "m:5050");
}

TEST_CASE("CRLF line ends and a UTF-8 byte order mark are read like plain text") {
    const auto doc = parsed("\xEF\xBB\xBF[mesos]\r\nmaster = m1:5050\r\ntask_cpu = 2\r\n");
    CHECK(value_of(doc, "mesos", "master") == "m1:5050");
    CHECK(value_of(doc, "mesos", "task_cpu") == "2");
}

TEST_CASE("a key before any section is an error naming the file and line, not the line's text") {
    auto doc = parse_ini("\nsecret = hunter2\n[mesos]\n", "/etc/airflow/airflow.cfg");
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().message.find("/etc/airflow/airflow.cfg:2") != std::string::npos);
    CHECK(doc.error().message.find("hunter2") == std::string::npos);
}

TEST_CASE("a line without '=' or ':' is an error naming the file, line and section") {
    auto doc = parse_ini("[mesos]\nmaster m1\n", "a.cfg");
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().message.find("a.cfg:2") != std::string::npos);
    CHECK(doc.error().message.find("[mesos]") != std::string::npos);
}

TEST_CASE("%(name)s resolves from the same section, then [DEFAULT]; %% is a literal %") {
    const auto doc = parsed(
        "[DEFAULT]\n"
        "domain = example.com\n"
        "[mesos]\n"
        "host = m1.%(domain)s\n"
        "master = %(host)s:5050\n"
        "framework_name = 100%% airflow\n");
    for (const auto& e : doc.entries) {
        if (e.key == "master") {
            auto v = interpolate(doc, e);
            REQUIRE(v.ok());
            CHECK(*v == "m1.example.com:5050");
        }
        if (e.key == "framework_name") {
            auto v = interpolate(doc, e);
            REQUIRE(v.ok());
            CHECK(*v == "100% airflow");
        }
    }
}

TEST_CASE("interpolation errors name the file, line and key: missing name, bare %, cycles") {
    const auto doc = parsed(
        "[mesos]\n"
        "master = %(nowhere)s\n"
        "task_cpu = 50%\n"
        "a = %(b)s\n"
        "b = %(a)s\n");
    const std::string expected[] = {"test.cfg:2", "test.cfg:3", "test.cfg:4", "test.cfg:5"};
    const std::string reason[] = {"no key nowhere", "'%' must be followed", "deeper than",
                                  "deeper than"};
    for (std::size_t i = 0; i < doc.entries.size(); ++i) {
        auto v = interpolate(doc, doc.entries[i]);
        REQUIRE_FALSE(v.ok());
        INFO(v.error().message);
        CHECK(v.error().message.find(expected[i]) != std::string::npos);
        CHECK(v.error().message.find(reason[i]) != std::string::npos);
    }
}
