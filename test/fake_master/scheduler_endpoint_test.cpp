// The scheduler endpoint answers like src/master/http.cpp, in its order of
// checks (and src/master/validation.cpp in the Mesos sources), over real HTTP
// on loopback.
#include <catch2/catch.hpp>

#include "fake_master.hpp"
#include "test_client.hpp"

using namespace mesoflow::fake;
using namespace mesoflow::fake::testing;

namespace {

const json kMinimalSubscribe = {
    {"type", "SUBSCRIBE"},
    {"subscribe", {{"framework_info", {{"user", "nobody"}, {"name", "f"}}}}}};

const Headers kTestCredentials = {{"Authorization", "Basic dGVzdC1wcmluY2lwYWw6dGVzdC1zZWNyZXQ="}};

FakeMasterConfig with_auth() {
    FakeMasterConfig c = quick_config();
    c.credentials = {{"test-principal", "test-secret"}};
    return c;
}

}  // namespace

TEST_CASE("a request without credentials gets 401 with a Basic challenge when auth is on") {
    FakeMaster master(with_auth());
    const auto r = http_request(master.port(), "POST", "/api/v1/scheduler", {}, "");
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate") == "Basic realm=\"mesos-master-scheduler\"");
    CHECK(r.body == "401 Unauthorized.");
}

TEST_CASE("wrong or malformed Basic credentials get 401; good ones reach the next check") {
    FakeMaster master(with_auth());
    const int port = master.port();
    // test-principal:wrong
    CHECK(post_json(port, kMinimalSubscribe,
                    {{"Authorization", "Basic dGVzdC1wcmluY2lwYWw6d3Jvbmc="}})
              .status == 401);
    CHECK(post_json(port, kMinimalSubscribe, {{"Authorization", "Bearer abc"}}).status == 401);
    CHECK(post_json(port, kMinimalSubscribe,
                    {{"Authorization", "Basic  dGVzdC1wcmluY2lwYWw6dGVzdC1zZWNyZXQ="}})
              .status == 401);
    const auto ok = http_request(port, "POST", "/api/v1/scheduler", kTestCredentials, "");
    CHECK(ok.status == 400);
    CHECK(ok.body == "Expecting 'Content-Type' to be present");
}

TEST_CASE("SUBSCRIBE with a principal other than the authenticated one is a 400") {
    FakeMaster master(with_auth());
    json call = kMinimalSubscribe;
    call["subscribe"]["framework_info"]["principal"] = "someone-else";
    const auto r = post_json(master.port(), call, kTestCredentials);
    CHECK(r.status == 400);
    CHECK(r.body ==
          "Failed to validate scheduler::Call: Authenticated principal 'test-principal' does not "
          "match principal 'someone-else' set in `FrameworkInfo`");
}

TEST_CASE("authentication is checked before the leader redirect") {
    FakeMaster master(with_auth());
    master.redirect_to("10.1.2.3:5050");
    CHECK(post_json(master.port(), kMinimalSubscribe).status == 401);
    CHECK(post_json(master.port(), kMinimalSubscribe, kTestCredentials).status == 307);
}

TEST_CASE("a non-leading master answers 307 with a protocol-relative Location and no body") {
    FakeMaster master(quick_config());
    master.redirect_to("m2.example.com:5050");
    for (const std::string path : {"/api/v1/scheduler", "/master/api/v1/scheduler"}) {
        const auto r = http_request(master.port(), "POST", path, {}, "");
        CHECK(r.status == 307);
        CHECK(r.header("location") == "//m2.example.com:5050/master/api/v1/scheduler");
        CHECK(r.body.empty());
    }
    const auto q = http_request(master.port(), "POST", "/api/v1/scheduler?x=1", {}, "");
    CHECK(q.header("location") == "//m2.example.com:5050/master/api/v1/scheduler?x=1");
    master.redirect_to("");
    Subscription s(master.port(), kMinimalSubscribe);
    CHECK(s.head().status == 200);
}

TEST_CASE("GET /redirect points at the leader without a path") {
    FakeMaster master(quick_config());
    auto r = http_request(master.port(), "GET", "/redirect", {}, "");
    CHECK(r.status == 307);
    CHECK(r.header("location") == "//" + master.address());
    master.redirect_to("m2:5050");
    r = http_request(master.port(), "GET", "/master/redirect", {}, "");
    CHECK(r.header("location") == "//m2:5050");
}

TEST_CASE("503 is answered for the next N requests, then the master serves again") {
    FakeMaster master(quick_config());
    master.answer_unavailable_requests(2);
    for (int i = 0; i < 2; ++i) {
        const auto r = post_json(master.port(), kMinimalSubscribe);
        CHECK(r.status == 503);
        CHECK(r.body == "Master has not finished recovery");
    }
    Subscription s(master.port(), kMinimalSubscribe);
    CHECK(s.head().status == 200);
}

TEST_CASE("503 is answered for a while, then the master serves again") {
    FakeMaster master(quick_config());
    master.answer_unavailable_for(std::chrono::milliseconds(300), "No leader elected");
    const auto r = post_json(master.port(), kMinimalSubscribe);
    CHECK(r.status == 503);
    CHECK(r.body == "No leader elected");
    // Once the window has passed the next check decides: GET is a 405.
    REQUIRE(master.wait_until(
        [&] {
            return http_request(master.port(), "GET", "/api/v1/scheduler", {}, "").status == 405;
        },
        std::chrono::milliseconds(3000)));
}

TEST_CASE("methods other than POST get 405 with Allow: POST") {
    FakeMaster master(quick_config());
    const auto r = http_request(master.port(), "GET", "/api/v1/scheduler", {}, "");
    CHECK(r.status == 405);
    CHECK(r.header("allow") == "POST");
    CHECK(r.body == "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'.");
    CHECK(http_request(master.port(), "PUT", "/master/api/v1/scheduler", {}, "x").status == 405);
}

TEST_CASE("a missing Content-Type is a 400 before the body is looked at") {
    FakeMaster master(quick_config());
    const auto r = http_request(master.port(), "POST", "/api/v1/scheduler", {}, "MALFORMED");
    CHECK(r.status == 400);
    CHECK(r.body == "Expecting 'Content-Type' to be present");
    CHECK(r.header("content-type") == "text/plain; charset=utf-8");
}

TEST_CASE("any Content-Type but the exact JSON or protobuf strings is a 415") {
    FakeMaster master(quick_config());
    for (const std::string type :
         {"application/json; charset=utf-8", "application/unknown-media-type", "text/plain",
          "Application/JSON"}) {
        const auto r = http_request(master.port(), "POST", "/api/v1/scheduler",
                                    {{"Content-Type", type}}, kMinimalSubscribe.dump());
        CHECK(r.status == 415);
        CHECK(r.body == "Expecting 'Content-Type' of application/json or application/x-protobuf");
    }
}

TEST_CASE("a body that is not JSON is a 400 saying so") {
    FakeMaster master(quick_config());
    const auto r = http_request(master.port(), "POST", "/api/v1/scheduler",
                                {{"Content-Type", "application/json"}}, "MALFORMED_CONTENT");
    CHECK(r.status == 400);
    CHECK(r.body.rfind("Failed to parse body into JSON: ", 0) == 0);
    const auto p = http_request(master.port(), "POST", "/api/v1/scheduler",
                                {{"Content-Type", "application/x-protobuf"}}, "MALFORMED_CONTENT");
    CHECK(p.status == 400);
    CHECK(p.body == "Failed to parse body into Call protobuf");
}

TEST_CASE("JSON that cannot become a Call is a 400 naming the field") {
    FakeMaster master(quick_config());
    const int port = master.port();
    auto body_of = [port](const json& j) { return post_json(port, j).body; };
    CHECK(body_of(json::array()) ==
          "Failed to convert JSON into Call protobuf: Expecting a JSON object");
    CHECK(body_of({{"type", "SUBSCRIBE"}, {"subscribe", {{"framework_info", json::object()}}}}) ==
          "Failed to convert JSON into Call protobuf: Missing required fields: "
          "subscribe.framework_info.user, subscribe.framework_info.name");
    CHECK(body_of({{"type", "TEARDOWN"}, {"framework_id", "abc"}}) ==
          "Failed to convert JSON into Call protobuf: Not expecting a JSON string for field "
          "'framework_id'");
    CHECK(
        body_of(
            {{"type", "ACCEPT"},
             {"framework_id", {{"value", "f"}}},
             {"accept",
              {{"offer_ids", {{{"value", "o"}}}},
               {"operations",
                {{{"type", "LAUNCH"},
                  {"launch",
                   {{"task_infos",
                     {{{"task_id", {{"value", "t"}}}, {"agent_id", {{"value", "a"}}}}}}}}}}}}}}) ==
        "Failed to convert JSON into Call protobuf: Missing required fields: "
        "accept.operations[0].launch.task_infos[0].name");
    CHECK(body_of({{"type", "ACKNOWLEDGE"},
                   {"framework_id", {{"value", "f"}}},
                   {"acknowledge",
                    {{"agent_id", {{"value", "a"}}},
                     {"task_id", {{"value", "t"}}},
                     {"uuid", "not*base64"}}}}) ==
          "Failed to convert JSON into Call protobuf: Failed to base64 decode bytes field 'uuid': "
          "Invalid character '*'");
}

TEST_CASE("an unknown type name leaves the call without a type") {
    FakeMaster master(quick_config());
    const auto r = post_json(master.port(), {{"type", "FOO"}, {"framework_id", {{"value", "f"}}}});
    CHECK(r.status == 400);
    CHECK(r.body == "Failed to validate scheduler::Call: Expecting 'type' to be present");
    const auto v = post_json(master.port(), {{"string", "valid_json"}});
    CHECK(v.body == "Failed to validate scheduler::Call: Expecting 'type' to be present");
}

TEST_CASE("call validation failures are 400 with the validator's reason") {
    FakeMaster master(quick_config());
    const int port = master.port();
    auto body_of = [port](const json& j) { return post_json(port, j).body; };
    const std::string prefix = "Failed to validate scheduler::Call: ";
    CHECK(body_of({{"type", "RECONCILE"}, {"framework_id", {{"value", "f"}}}}) ==
          prefix + "Expecting 'reconcile' to be present");
    CHECK(body_of({{"type", "ACCEPT"}, {"framework_id", {{"value", "f"}}}}) ==
          prefix + "Expecting 'accept' to be present");
    CHECK(body_of({{"type", "TEARDOWN"}}) == prefix + "Expecting 'framework_id' to be present");
    CHECK(body_of({{"type", "SUBSCRIBE"}}) == prefix + "Expecting 'subscribe' to be present");
    json mismatched = kMinimalSubscribe;
    mismatched["framework_id"] = {{"value", "x"}};
    CHECK(body_of(mismatched) ==
          prefix + "'framework_id' differs from 'subscribe.framework_info.id'");
    // "bad-uuid" is 8 bytes, not 16.
    CHECK(body_of({{"type", "ACKNOWLEDGE"},
                   {"framework_id", {{"value", "f"}}},
                   {"acknowledge",
                    {{"agent_id", {{"value", "a"}}},
                     {"task_id", {{"value", "t"}}},
                     {"uuid", "YmFkLXV1aWQ="}}}}) == prefix + "Not a valid UUID");
}

TEST_CASE("SUBSCRIBE whose Accept allows neither JSON nor protobuf is a 406") {
    FakeMaster master(quick_config());
    auto r = post_json(master.port(), kMinimalSubscribe, {{"Accept", "foo"}});
    CHECK(r.status == 406);
    CHECK(r.body == "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
    Subscription any(master.port(), kMinimalSubscribe, {{"Accept", "*/*"}});
    CHECK(any.head().status == 200);
    CHECK(any.head().header("content-type") == "application/json");
}

TEST_CASE("SUBSCRIBE carrying a Mesos-Stream-Id is a 400") {
    FakeMaster master(quick_config());
    const auto r = post_json(master.port(), kMinimalSubscribe, {{"Mesos-Stream-Id", "abc"}});
    CHECK(r.status == 400);
    CHECK(r.body == "Subscribe calls should not include the 'Mesos-Stream-Id' header");
}

TEST_CASE("a call for a framework the master never saw is a 400") {
    FakeMaster master(quick_config());
    const auto r =
        post_json(master.port(), {{"type", "TEARDOWN"}, {"framework_id", {{"value", "nope"}}}},
                  {{"Mesos-Stream-Id", "x"}});
    CHECK(r.status == 400);
    CHECK(r.body == "Framework cannot be found");
}

TEST_CASE("calls need the current stream id; a re-subscription makes the old one stale") {
    FakeMaster master(quick_config());
    Scheduler first(master.port(), Scheduler::framework_info());
    const json teardown = {{"type", "TEARDOWN"},
                           {"framework_id", {{"value", first.framework_id()}}}};
    const auto missing = post_json(master.port(), teardown);
    CHECK(missing.status == 400);
    CHECK(missing.body == "All non-subscribe calls should include the 'Mesos-Stream-Id' header");

    json info = Scheduler::framework_info();
    info["id"] = {{"value", first.framework_id()}};
    Scheduler second(master.port(), info);
    CHECK(second.stream_id() != first.stream_id());
    const auto stale = post_json(master.port(), teardown, {{"Mesos-Stream-Id", first.stream_id()}});
    CHECK(stale.status == 400);
    CHECK(stale.body == "The stream ID '" + first.stream_id() +
                            "' included in this request didn't match the stream ID currently "
                            "associated with framework ID " +
                            first.framework_id());
    CHECK(second.call("REVIVE").status == 202);
}

TEST_CASE("a known framework whose stream is gone gets 403") {
    FakeMaster master(quick_config());
    auto s = std::make_unique<Scheduler>(master.port(), Scheduler::framework_info());
    const std::string id = s->framework_id();
    const std::string stream = s->stream_id();
    s.reset();  // closes the subscription connection
    REQUIRE(master.wait_until(
        [&] { return !master.frameworks().empty() && !master.frameworks()[0].connected; },
        std::chrono::milliseconds(2000)));
    const auto r = post_json(master.port(), {{"type", "REVIVE"}, {"framework_id", {{"value", id}}}},
                             {{"Mesos-Stream-Id", stream}});
    CHECK(r.status == 403);
    CHECK(r.body == "Framework is not subscribed");
}

TEST_CASE("an accepted call is 202 with an empty body; UNKNOWN is 501") {
    FakeMaster master(quick_config());
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto r = s.call("SUPPRESS");
    CHECK(r.status == 202);
    CHECK(r.body.empty());
    CHECK(r.header("content-length") == "0");
    CHECK(s.call("UNKNOWN").status == 501);
}

TEST_CASE("pipelined requests on one connection are answered in order") {
    FakeMaster master(quick_config());
    Scheduler s(master.port(), Scheduler::framework_info());
    Connection c(master.port());
    std::string batch;
    const json revive = {{"type", "REVIVE"}, {"framework_id", {{"value", s.framework_id()}}}};
    for (int i = 0; i < 5; ++i) {
        const std::string body = i == 2 ? std::string("{") : revive.dump();
        batch +=
            "POST /api/v1/scheduler HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Mesos-Stream-Id: " +
            s.stream_id() + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
            body;
    }
    c.send_raw(batch);
    for (int i = 0; i < 5; ++i)
        CHECK(c.read_response().status == (i == 2 ? 400 : 202));
}

TEST_CASE("every call is recorded in order with the headers that matter and the answer") {
    FakeMaster master(quick_config());
    Scheduler s(master.port(), Scheduler::framework_info());
    s.call("SUPPRESS");
    post_json(master.port(), {{"type", "REVIVE"}, {"framework_id", {{"value", s.framework_id()}}}});
    const auto calls = master.calls();
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].type == "SUBSCRIBE");
    CHECK(calls[0].status == 200);
    CHECK_FALSE(calls[0].stream_id.has_value());
    CHECK(calls[1].type == "SUPPRESS");
    CHECK(calls[1].stream_id == s.stream_id());
    CHECK(calls[1].content_type == "application/json");
    CHECK(calls[1].framework_id == s.framework_id());
    CHECK(calls[1].status == 202);
    CHECK(json::parse(calls[1].body)["type"] == "SUPPRESS");
    CHECK(calls[2].status == 400);
    CHECK(calls[0].seq < calls[1].seq);
    CHECK(master.counters().calls_by_type.at("SUPPRESS") == 1);
    CHECK(master.calls_of_type("REVIVE").size() == 1);
}

TEST_CASE("GET /version answers 200 with the Mesos version and build information as JSON") {
    FakeMaster master(quick_config());
    const auto r = http_request(master.port(), "GET", "/version", {}, "");
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type") == "application/json");
    const json body = json::parse(r.body);
    CHECK(body["version"] == "1.11.0");
    CHECK(body["build_date"].is_string());
    CHECK(body["build_time"].is_number());
    CHECK(body["build_user"].is_string());
}
