#include "config/value_parsers.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "mesoflow/config/render.hpp"
#include "scratch_dir.hpp"

using namespace mesoflow::config;

TEST_CASE("booleans accept Airflow's and configparser's spellings in any case") {
    for (const char* yes : {"True", "true", "t", "1", "yes", "ON"})
        CHECK(*parse_bool(yes));
    for (const char* no : {"False", "false", "F", "0", "no", "off"})
        CHECK_FALSE(*parse_bool(no));
    auto bad = parse_bool("maybe");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "\"maybe\" is not a boolean (use true or false)");
}

TEST_CASE("numbers must be finite decimals") {
    CHECK(*parse_number("0.25") == 0.25);
    CHECK(*parse_number(" 2 ") == 2.0);
    for (const char* bad : {"", "abc", "1.5x", "inf", "nan", "0x10"}) {
        INFO(bad);
        CHECK_FALSE(parse_number(bad).ok());
    }
    CHECK_FALSE(parse_integer("1.5").ok());
    CHECK(*parse_integer("42") == 42);
}

TEST_CASE("durations are seconds or carry a unit") {
    CHECK(*parse_duration("30") == 30.0);
    CHECK(*parse_duration("0.5") == 0.5);
    CHECK(*parse_duration("500ms") == 0.5);
    CHECK(*parse_duration("90s") == 90.0);
    CHECK(*parse_duration("10m") == 600.0);
    CHECK(*parse_duration("2h") == 7200.0);
    CHECK(*parse_duration("1d") == 86400.0);
    CHECK(*parse_duration("1w") == 604800.0);
    for (const char* bad : {"", "m", "ten", "5 minutes", "5y"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad).ok());
    }
}

TEST_CASE("masters: host:port, bare hosts on 5050, http(s) URLs, IPv6, duplicates dropped") {
    auto parsed = parse_masters("m1:5050, http://m2:5051/ ,https://m3, [::1]:6000,m1:5050,m4");
    REQUIRE(parsed.ok());
    CHECK_FALSE(parsed->zookeeper);
    const auto& m = parsed->list;
    REQUIRE(m.size() == 5);
    CHECK(m[0].url() == "http://m1:5050");
    CHECK(m[1].url() == "http://m2:5051");
    CHECK(m[2].url() == "https://m3:5050");
    CHECK(m[2].https);
    CHECK(m[3].host == "::1");
    CHECK(m[3].url() == "http://[::1]:6000");
    CHECK(m[4].url() == "http://m4:5050");
    CHECK(parse_masters("")->list.empty());
}

TEST_CASE(
    "zk:// masters: servers (port 2181 when left out), the group's path, digest credentials") {
    struct Case {
        const char* text;
        const char* servers;
        const char* path;
        const char* credentials;
        const char* display;
    };
    const Case cases[] = {
        {"zk://zk1:2181,zk2:2182/mesos", "zk1:2181,zk2:2182", "/mesos", "",
         "zk://zk1:2181,zk2:2182/mesos"},
        {"ZK://zk1/mesos/", "zk1:2181", "/mesos", "", "zk://zk1:2181/mesos"},
        {" zk://10.0.0.1:2181 , 10.0.0.2/a/b ", "10.0.0.1:2181,10.0.0.2:2181", "/a/b", "",
         "zk://10.0.0.1:2181,10.0.0.2:2181/a/b"},
        // IPv6 as the ZooKeeper client takes it: no brackets, the port after the last ':'.
        {"zk://[::1]:2181/mesos", "::1:2181", "/mesos", "", "zk://::1:2181/mesos"},
        {"zk://mesos:p@ss@zk1:2181/mesos", "zk1:2181", "/mesos", "mesos:p@ss",
         "zk://mesos:****@zk1:2181/mesos"},
        // A password may hold '/' and ':' too.
        {"zk://alice:s3/cr:3t@zk1:2181/mesos", "zk1:2181", "/mesos", "alice:s3/cr:3t",
         "zk://alice:****@zk1:2181/mesos"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto parsed = parse_masters(c.text);
        REQUIRE(parsed.ok());
        CHECK(parsed->list.empty());
        REQUIRE(parsed->zookeeper);
        CHECK(parsed->zookeeper->servers == c.servers);
        CHECK(parsed->zookeeper->path == c.path);
        CHECK(parsed->zookeeper->credentials == c.credentials);
        CHECK(parsed->zookeeper->display() == c.display);
    }
}

TEST_CASE("zk:// URLs that cannot be used are refused with the reason, never the password") {
    struct Case {
        const char* text;
        const char* reason;
    };
    const Case cases[] = {
        {"zk://zk1:2181", "names the masters' path"},
        {"zk://zk1:2181/", "names the masters' path"},
        {"zk:///mesos", "at least one ZooKeeper server"},
        {"zk://zk1:0/mesos", "port must be a number from 1 to 65535"},
        {"zk://zk 1:2181/mesos", "not a host name"},
        {"zk://secretonly@zk1/mesos", "user:password@"},
        {"zk://user:@zk1/mesos", "user:password@"},
        {"zk://secretonly:x/y@zk1:0/mesos", "port must be a number"},
        {"zk://zk1/mes os", "no spaces"},
        {"zk://zk1/a//b", "no empty segment"},
    };
    for (const auto& c : cases) {
        auto m = parse_masters(c.text);
        INFO(c.text);
        REQUIRE_FALSE(m.ok());
        CHECK(m.error().message.find(c.reason) != std::string::npos);
        CHECK(m.error().message.find("secretonly") == std::string::npos);
    }
}

TEST_CASE("masters that cannot be used are refused with the reason") {
    struct Case {
        const char* text;
        const char* reason;
    };
    const Case cases[] = {
        {"m1:0", "port must be a number from 1 to 65535"},
        {"m1:99999", "port must be a number from 1 to 65535"},
        {"m1:http", "port must be a number from 1 to 65535"},
        {"http://m1:5050/master", "without a path"},
        {"ftp://m1:5050", "http:// or https://"},
        {"http://user:pw@m1:5050", "may not carry credentials"},
        {"m 1:5050", "not a host name"},
        {"::1:5050", "IPv6 address in brackets"},
    };
    for (const auto& c : cases) {
        auto m = parse_masters(c.text);
        INFO(c.text);
        REQUIRE_FALSE(m.ok());
        CHECK(m.error().message.find(c.reason) != std::string::npos);
    }
}

TEST_CASE("file:// masters are read from the file, as libmesos did") {
    mesoflow::testing::ScratchDir dir;
    const auto path = dir.write("masters", "m1:5050,m2:5050\n");
    auto m = parse_masters("file://" + path);
    REQUIRE(m.ok());
    CHECK(m->list.size() == 2);
    const auto zk = dir.write("zk", "zk://zk1:2181/mesos\n");
    auto from_zk = parse_masters("file://" + zk);
    REQUIRE(from_zk.ok());
    REQUIRE(from_zk->zookeeper);
    CHECK(from_zk->zookeeper->display() == "zk://zk1:2181/mesos");
    CHECK_FALSE(parse_masters("file://" + dir.path() + "/missing").ok());
}

TEST_CASE("listen addresses need host and port; empty or off disables") {
    CHECK(parse_listen_address("127.0.0.1:9731")->to_string() == "127.0.0.1:9731");
    CHECK(parse_listen_address("[::1]:80")->to_string() == "[::1]:80");
    CHECK_FALSE(parse_listen_address("off")->enabled());
    CHECK_FALSE(parse_listen_address("")->enabled());
    CHECK_FALSE(parse_listen_address("localhost").ok());
    CHECK_FALSE(parse_listen_address(":9731").ok());
    CHECK_FALSE(parse_listen_address("localhost:70000").ok());
}

TEST_CASE("log levels, containerizers") {
    CHECK(*parse_log_level("WARNING") == "warn");
    CHECK(*parse_log_level("Debug") == "debug");
    CHECK_FALSE(parse_log_level("loud").ok());
    CHECK(*parse_containerizer("Mesos") == Containerizer::mesos);
    CHECK_FALSE(parse_containerizer("rkt").ok());
}

TEST_CASE("a DSN is a URI or key=value pairs; a SQLAlchemy URL is refused without echoing it") {
    CHECK(check_dsn("").ok());
    CHECK(check_dsn("postgresql://u:p@h/db").ok());
    CHECK(check_dsn("host=/run/postgresql dbname=mesoflow").ok());
    auto sqla = check_dsn("postgresql+psycopg2://u:hunter2@h/db");
    REQUIRE_FALSE(sqla.ok());
    CHECK(sqla.error().message.find("SQLAlchemy") != std::string::npos);
    CHECK(sqla.error().message.find("hunter2") == std::string::npos);
    CHECK_FALSE(check_dsn("mesoflow").ok());
    CHECK_FALSE(check_dsn("mysql://u:p@h/db").ok());
}

TEST_CASE("mask_dsn hides passwords in every place libpq reads one") {
    CHECK(mask_dsn("host=db password=hunter2 dbname=q") == "host=db password=**** dbname=q");
    CHECK(mask_dsn("host=db password = 'hun ter\\'2' user=x") == "host=db password = **** user=x");
    CHECK(mask_dsn("sslpassword=k3y host=db") == "sslpassword=**** host=db");
    CHECK(mask_dsn("postgresql://mf:hunter2@db:5432/q") == "postgresql://mf:****@db:5432/q");
    CHECK(mask_dsn("postgres://mf:hun@ter/2@db/q?sslmode=require&password=x") ==
          "postgres://mf:****@db/q?sslmode=require&password=****");
    CHECK(mask_dsn("postgresql://mf@db/q") == "postgresql://mf@db/q");
    CHECK(mask_dsn("host=db dbname=q") == "host=db dbname=q");
    CHECK(mask_dsn("host=db password=a://b@c") == "host=db password=****");
    CHECK(mask_dsn("postgresql+psycopg2://u:hunter2@h/db") == "postgresql+psycopg2://u:****@h/db");
}
