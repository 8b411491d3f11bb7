// The queue table's JSON columns (env, labels, constraints, uris, volumes,
// docker_parameters): pure, no database.
#include <catch2/catch.hpp>

#include "store/json_columns.hpp"

using namespace mesoflow::store;
using namespace mesoflow::task;
using mesoflow::task::Constraint;

TEST_CASE("json columns keep env, labels and constraints as the table stores them") {
    const StringPairs env = {{"A", "1"}, {"B", "x y"}};
    CHECK(parse_json_object(json_object(env)) == env);
    CHECK(parse_json_object(R"({"N": 3, "T": true})") == StringPairs{{"N", "3"}, {"T", "true"}});
    CHECK(parse_json_object("{}").empty());

    const std::vector<Constraint> constraints = {
        {"hostname", Constraint::Op::like, "agent-[0-9]+"},
        {"rack", Constraint::Op::exists, ""},
    };
    CHECK(json_constraints(constraints) ==
          R"([["hostname","LIKE","agent-[0-9]+"],["rack","EXISTS"]])");
    const auto back = parse_json_constraints(json_constraints(constraints));
    REQUIRE(back.size() == 2);
    CHECK(back[0].attribute == "hostname");
    CHECK(back[0].op == Constraint::Op::like);
    CHECK(back[0].value == "agent-[0-9]+");
    CHECK(back[1].op == Constraint::Op::exists);
    CHECK(parse_json_strings("null").empty());
    CHECK(parse_json_strings(R"(["a","b c"])") == std::vector<std::string>{"a", "b c"});
}

TEST_CASE("json columns keep volumes and Docker parameters; what cannot be read mounts nothing") {
    const std::vector<Volume> volumes = {{"/srv/dags", "/opt/dags", true},
                                         {"/srv/logs", "/opt/logs", false}};
    CHECK(json_volumes(volumes) ==
          R"([{"container_path":"/opt/dags","host_path":"/srv/dags","mode":"RO"},)"
          R"({"container_path":"/opt/logs","host_path":"/srv/logs","mode":"RW"}])");
    CHECK(parse_json_volumes(json_volumes(volumes)) == volumes);
    // No mode, or one that is not RW, is read-only; entries that cannot be
    // read are left out rather than guessed.
    CHECK(parse_json_volumes(
              R"([{"host_path": "/a", "container_path": "/b"},
                  {"host_path": "/a", "container_path": "/c", "mode": "rw"},
                  {"host_path": "/x"}, ["/y", "/z"], {"host_path": 1, "container_path": "/w"}])") ==
          std::vector<Volume>{{"/a", "/b", true}, {"/a", "/c", true}});
    CHECK(parse_json_volumes("null").empty());
    CHECK(parse_json_volumes("{}").empty());

    const StringPairs parameters = {{"label", "team=etl"}, {"log-opt", "max-size=10m"}};
    CHECK(json_parameters(parameters) ==
          R"([{"key":"label","value":"team=etl"},{"key":"log-opt","value":"max-size=10m"}])");
    CHECK(parse_json_parameters(json_parameters(parameters)) == parameters);
    CHECK(parse_json_parameters(R"([{"key": "label"}, {"value": "x"}, "privileged"])").empty());
    CHECK(parse_json_parameters("[]").empty());
}
