// Master addresses as the transport reads them: the configured list and the
// Location of a 307, where the scheme must survive a protocol-relative URL
// and https must never turn into http.
#include <catch2/catch.hpp>

#include "mesoflow/transport/master_client.hpp"

using mesoflow::transport::MasterEndpoint;
using mesoflow::transport::parse_endpoint;
using mesoflow::transport::resolve_location;

namespace {

MasterEndpoint endpoint(std::string_view text) {
    auto e = parse_endpoint(text);
    REQUIRE(e);
    return *e;
}

}  // namespace

TEST_CASE("a bare host:port is plain http on the scheduler path") {
    const auto e = endpoint("m1:5051");
    CHECK_FALSE(e.https);
    CHECK(e.host == "m1");
    CHECK(e.port == 5051);
    CHECK(e.to_string() == "http://m1:5051/api/v1/scheduler");
}

TEST_CASE("an https URL is https, on port 443 unless it names one") {
    CHECK(endpoint("https://m1").to_string() == "https://m1:443/api/v1/scheduler");
    const auto e = endpoint("https://m1:5050/master/api/v1/scheduler");
    CHECK(e.https);
    CHECK(e.port == 5050);
    CHECK(e.path == "/master/api/v1/scheduler");
}

TEST_CASE("IPv6 masters keep their brackets when printed") {
    const auto e = endpoint("https://[::1]:5050");
    CHECK(e.host == "::1");
    CHECK(e.to_string() == "https://[::1]:5050/api/v1/scheduler");
}

TEST_CASE("unknown schemes, empty hosts and bad ports are refused") {
    CHECK_FALSE(parse_endpoint("ftp://m1:5050"));
    CHECK_FALSE(parse_endpoint("https://:5050"));
    CHECK_FALSE(parse_endpoint("m1:0"));
    CHECK_FALSE(parse_endpoint("m1:65536"));
    CHECK_FALSE(parse_endpoint("[::1:5050"));
}

TEST_CASE("a protocol-relative Location from an https master stays https") {
    const auto from = endpoint("https://m1:5050");
    auto to = resolve_location("//m2:5052/master/api/v1/scheduler", from);
    REQUIRE(to);
    CHECK(to->https);
    CHECK(to->to_string() == "https://m2:5052/master/api/v1/scheduler");
}

TEST_CASE("a protocol-relative Location from an http master stays http") {
    auto to = resolve_location("//m2:5052/master/api/v1/scheduler", endpoint("m1:5050"));
    REQUIRE(to);
    CHECK_FALSE(to->https);
}

TEST_CASE("an absolute Location may keep the scheme or go from http to https") {
    auto to = resolve_location("http://m2:5052/api/v1/scheduler", endpoint("m1:5050"));
    REQUIRE(to);
    CHECK_FALSE(to->https);
    to = resolve_location("https://m2:5052/api/v1/scheduler", endpoint("m1:5050"));
    REQUIRE(to);
    CHECK(to->https);
    to = resolve_location("https://m2:5052/api/v1/scheduler", endpoint("https://m1:5050"));
    REQUIRE(to);
    CHECK(to->https);
}

TEST_CASE("a Location from an https master to http is refused") {
    // Following it would send the credentials and every call in clear.
    const auto to =
        resolve_location("http://m2:5052/api/v1/scheduler", endpoint("https://m1:5050"));
    REQUIRE_FALSE(to);
    CHECK(to.error().message ==
          "refusing redirect from https://m1:5050/api/v1/scheduler to "
          "http://m2:5052/api/v1/scheduler: it would leave https");
}

TEST_CASE("a bare host:port Location keeps the scheme and the path") {
    auto to = resolve_location("m2:5052", endpoint("https://m1:5050/master/api/v1/scheduler"));
    REQUIRE(to);
    CHECK(to->to_string() == "https://m2:5052/master/api/v1/scheduler");
}

TEST_CASE("a Location without a host is refused") {
    CHECK_FALSE(resolve_location("//:5052/x", endpoint("https://m1:5050")));
}
