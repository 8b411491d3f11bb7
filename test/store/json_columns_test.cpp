// The queue table's JSON columns (env, labels, constraints, uris): pure,
// no database.
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
