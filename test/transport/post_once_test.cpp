// transport::post_once, one request outside any subscription (what
// `mesoflow teardown` uses), against fake masters on loopback: the masters in
// order, 503s and refused connections passed over, redirects followed,
// credentials sent, the first other answer kept. test/cli/teardown_test.cpp
// covers the operator endpoint and https.
#include <catch2/catch.hpp>

#include "fake_master/fake_master.hpp"
#include "mesoflow/transport/master_client.hpp"
#include "process.hpp"

namespace fake = mesoflow::fake;
namespace transport = mesoflow::transport;

namespace {

// Not a valid Call: every fake master that gets as far as reading it answers 400.
constexpr std::string_view kBody = R"({"type":"TEARDOWN"})";

transport::MasterEndpoint endpoint_of(const fake::FakeMaster& master) {
    auto e = transport::parse_endpoint(master.address());
    REQUIRE(e);
    return *e;
}

transport::TransportConfig config_for(std::vector<transport::MasterEndpoint> masters) {
    transport::TransportConfig c;
    c.masters = std::move(masters);
    c.connect_timeout = std::chrono::milliseconds(2000);
    c.call_timeout = std::chrono::milliseconds(5000);
    return c;
}

}  // namespace

TEST_CASE("post_once without masters is an error") {
    const auto r = transport::post_once(config_for({}), "application/json", std::string(kBody));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "no masters");
}

TEST_CASE("post_once passes over a dead master and a 503, follows a redirect, keeps the answer") {
    fake::FakeMaster unavailable;
    unavailable.answer_unavailable_requests(1);
    fake::FakeMaster leader;
    fake::FakeMaster follower;
    follower.redirect_to(leader.address());
    auto dead = *transport::parse_endpoint("127.0.0.1:" +
                                           std::to_string(mesoflow::testing::free_loopback_port()));

    const auto r =
        transport::post_once(config_for({dead, endpoint_of(unavailable), endpoint_of(follower)}),
                             "application/json", std::string(kBody));
    REQUIRE(r.ok());
    REQUIRE(r->failures.size() == 2);
    CHECK(r->failures[0].master == dead.to_string());
    CHECK(r->failures[0].status == 0);
    CHECK_THAT(r->failures[0].error, Catch::StartsWith("connect: "));
    CHECK(r->failures[1].master == endpoint_of(unavailable).to_string());
    CHECK(r->failures[1].status == 503);
    CHECK(r->failures[1].body == "Master has not finished recovery");
    CHECK(r->failures[1].error.empty());
    REQUIRE(r->answer);
    CHECK(r->answer->status == 400);
    // The leader answered, on the path the follower's Location named.
    CHECK(r->answer->master == "http://" + leader.address() + "/master/api/v1/scheduler");
}

TEST_CASE("post_once sends the configured credentials") {
    fake::FakeMasterConfig config;
    config.credentials = {{"ops", "pw"}};
    fake::FakeMaster master(config);
    auto c = config_for({endpoint_of(master)});

    auto r = transport::post_once(c, "application/json", std::string(kBody));
    REQUIRE(r.ok());
    REQUIRE(r->answer);
    CHECK(r->answer->status == 401);

    c.credentials = transport::BasicCredentials{"ops", "pw"};
    r = transport::post_once(c, "application/json", std::string(kBody));
    REQUIRE(r.ok());
    REQUIRE(r->answer);
    CHECK(r->answer->status == 400);
    CHECK(r->failures.empty());
}

TEST_CASE("post_once gives up on a master after kMaxRedirects redirects") {
    fake::FakeMaster master;
    master.redirect_to(master.address());  // to itself, for ever
    const auto r = transport::post_once(config_for({endpoint_of(master)}), "application/json",
                                        std::string(kBody));
    REQUIRE(r.ok());
    CHECK_FALSE(r->answer);
    REQUIRE(r->failures.size() == 1);
    CHECK(r->failures[0].status == 307);
    CHECK(r->failures[0].error ==
          "more than " + std::to_string(transport::kMaxRedirects) + " redirects");
}
