// The masters' group as Mesos' detector reads it: the lowest json.info_
// sequence leads; its MasterInfo JSON names the scheduler endpoint.
#include <catch2/catch.hpp>

#include "mesoflow/discovery/master_group.hpp"

using mesoflow::discovery::parse_master_info;
using mesoflow::discovery::read_group;

TEST_CASE(
    "the leader is the json.info_ member with the lowest sequence; other znodes are ignored") {
    struct Case {
        std::vector<std::string> children;
        std::optional<std::string> leader;
        bool binary_only;
    };
    const Case cases[] = {
        {{}, std::nullopt, false},
        {{"json.info_0000000003"}, "json.info_0000000003", false},
        {{"json.info_0000000012", "json.info_0000000003", "json.info_0000000007"},
         "json.info_0000000003",
         false},
        // Sequences compare as numbers, not as text.
        {{"json.info_10", "json.info_9"}, "json.info_9", false},
        // Masters' other nodes (the replicated log's, a log_replicas group) and junk.
        {{"log_replicas", "json.info_", "json.info_x1", "json.info_-1", "json.info_0000000005"},
         "json.info_0000000005",
         false},
        {{"info_0000000001", "info_0000000002"}, std::nullopt, true},
        {{"info_0000000001", "json.info_0000000004"}, "json.info_0000000004", false},
        {{"json.info_99999999999999999999"}, std::nullopt, false},
    };
    for (const auto& c : cases) {
        INFO(c.children.size() << " children");
        const auto g = read_group(c.children);
        CHECK(g.leader == c.leader);
        CHECK(g.binary_members_only == c.binary_only);
    }
}

TEST_CASE("MasterInfo JSON: address first (ip, else hostname), else the older top-level fields") {
    struct Case {
        const char* json;
        const char* endpoint;
    };
    const Case cases[] = {
        // As a Mesos 1.x master writes it.
        {R"({"id":"m1","ip":16777343,"port":5050,"pid":"master@127.0.0.1:5050",
             "hostname":"m1.example.com","version":"1.11.0",
             "address":{"hostname":"m1.example.com","ip":"10.0.0.5","port":5050}})",
         "http://10.0.0.5:5050/api/v1/scheduler"},
        {R"({"address":{"hostname":"m2.example.com","port":5051}})",
         "http://m2.example.com:5051/api/v1/scheduler"},
        // Older: no address; ip is IPv4 in network byte order (127.0.0.1 here).
        {R"({"ip":16777343,"port":5052,"hostname":"m3"})",
         "http://127.0.0.1:5052/api/v1/scheduler"},
        {R"({"hostname":"m4","port":5053})", "http://m4:5053/api/v1/scheduler"},
        // An address without a port takes the top-level one.
        {R"({"address":{"ip":"10.0.0.6"},"port":5054})", "http://10.0.0.6:5054/api/v1/scheduler"},
    };
    for (const auto& c : cases) {
        INFO(c.json);
        auto e = parse_master_info(c.json);
        REQUIRE(e.ok());
        CHECK(e->to_string() == c.endpoint);
    }
}

TEST_CASE("MasterInfo that cannot be used is refused, saying what is wrong") {
    struct Case {
        const char* json;
        const char* reason;
    };
    const Case cases[] = {
        {"", "not a MasterInfo JSON object"},
        {"\x08\x01\x12\x02m1", "not a MasterInfo JSON object"},  // binary protobuf
        {"[1,2]", "not a MasterInfo JSON object"},
        {R"({"port":5050})", "no address"},
        {R"({"address":{"ip":"10.0.0.5"}})", "no valid port"},
        {R"({"address":{"ip":"10.0.0.5","port":0}})", "no valid port"},
        {R"({"address":{"ip":"10.0.0.5","port":70000}})", "no valid port"},
        {R"({"address":{"ip":"10.0.0.5","port":"5050"}})", "no valid port"},
        {R"({"address":{"hostname":"evil host/path?x","port":5050}})", "malformed host"},
        {R"({"address":{"hostname":"a\u0000b","port":5050}})", "malformed host"},
    };
    for (const auto& c : cases) {
        INFO(c.json);
        auto e = parse_master_info(c.json);
        REQUIRE_FALSE(e.ok());
        CHECK(e.error().message.find(c.reason) != std::string::npos);
    }
}
