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
    CHECK(parse_json_object("{}")->empty());

    const std::vector<Constraint> constraints = {
        {"hostname", Constraint::Op::like, "agent-[0-9]+"},
        {"rack", Constraint::Op::exists, ""},
    };
    CHECK(json_constraints(constraints) ==
          R"([["hostname","LIKE","agent-[0-9]+"],["rack","EXISTS"]])");
    const auto back = *parse_json_constraints(json_constraints(constraints));
    REQUIRE(back.size() == 2);
    CHECK(back[0].attribute == "hostname");
    CHECK(back[0].op == Constraint::Op::like);
    CHECK(back[0].value == "agent-[0-9]+");
    CHECK(back[1].op == Constraint::Op::exists);
    CHECK(parse_json_strings("null")->empty());
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
    CHECK(parse_json_volumes("null")->empty());
    CHECK(parse_json_volumes("{}")->empty());

    const StringPairs parameters = {{"label", "team=etl"}, {"log-opt", "max-size=10m"}};
    CHECK(json_parameters(parameters) ==
          R"([{"key":"label","value":"team=etl"},{"key":"log-opt","value":"max-size=10m"}])");
    CHECK(parse_json_parameters(json_parameters(parameters)) == parameters);
    CHECK(parse_json_parameters(R"([{"key": "label"}, {"value": "x"}, "privileged"])")->empty());
    CHECK(parse_json_parameters("[]")->empty());
}

TEST_CASE("json columns keep numbers exactly as PostgreSQL wrote them, however large") {
    // jsonb stores 1e400 as this 401-digit integer, which no double holds.
    const std::string huge = "1" + std::string(400, '0');
    CHECK(parse_json_object(R"({"KEEP": "yes", "N": )" + huge + "}") ==
          StringPairs{{"KEEP", "yes"}, {"N", huge}});
    CHECK(parse_json_object(R"({"R": 0.10, "B": 123456789012345678901234567890, "S": -1.5e-7})") ==
          StringPairs{{"B", "123456789012345678901234567890"}, {"R", "0.10"}, {"S", "-1.5e-7"}});
    // Nested values as their compact text, their numbers kept.
    CHECK(parse_json_object(R"({"J": {"a": [1, 2.50, null], "b": "x y"}})") ==
          StringPairs{{"J", R"({"a":[1,2.50,null],"b":"x y"})"}});
    CHECK(parse_json_object(R"({"u": "\u00e9\n\"", "n": null})") ==
          StringPairs{{"n", "null"}, {"u", "\xc3\xa9\n\""}});

    const auto constraints = parse_json_constraints(
        R"([["hostname", "EQUALS", "no-such-host"], ["x", "EQUALS", )" + huge + "]]");
    REQUIRE(constraints);
    REQUIRE(constraints->size() == 2);
    CHECK(constraints->at(0).value == "no-such-host");
    CHECK(constraints->at(1).attribute == "x");
    CHECK(constraints->at(1).value == huge);

    CHECK(parse_json_parameters(R"([{"key": "label", "value": )" + huge + "}]") ==
          StringPairs{{"label", huge}});
    // Deep nesting is read without recursion.
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    const auto nested = parse_json_object(R"({"D": )" + deep + "}");
    REQUIRE(nested);
    CHECK(nested->at(0).second == deep);
}

TEST_CASE("a json column that cannot be read reads as nothing, with why, never as less") {
    std::string why;
    CHECK_FALSE(parse_json_object("{\"A\": \"\xff\"}", &why));
    CHECK(why == "a string is not valid JSON text in UTF-8");
    CHECK_FALSE(parse_json_object(R"(["not", "an", "object"])", &why));
    CHECK(why == "not a JSON object");
    CHECK_FALSE(parse_json_object(R"({"A": 1)", &why));
    CHECK_FALSE(why.empty());
    // A constraint left out would let the task run anywhere.
    CHECK_FALSE(parse_json_constraints(R"([["hostname", "EQUALS", "a"], ["rack"]])", &why));
    CHECK(why == "a constraint is not an [attribute, op, value] triple");
    CHECK_FALSE(parse_json_constraints(R"([["hostname", "MATCHES", "a"]])"));
    CHECK_FALSE(parse_json_strings(R"(["a", "b)"));
    CHECK_FALSE(parse_json_volumes(R"([{"host_path": "/a", "container_path": "/b"})"));
    CHECK_FALSE(parse_json_parameters("[{]"));
}
