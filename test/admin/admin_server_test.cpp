// The admin endpoint as Prometheus and a load balancer see it: real HTTP on
// a loopback port, against a Metrics object the test changes.
#include "mesoflow/admin/admin_server.hpp"

#include <httplib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>

#include "process.hpp"
#include "prometheus_format.hpp"

namespace {

using mesoflow::Metrics;
using mesoflow::admin::AdminServer;
using mesoflow::admin::AdminSources;

struct Endpoint {
    Metrics metrics;
    std::atomic<bool> ready{false};
    std::unique_ptr<AdminServer> server;

    explicit Endpoint(int port = 0) {
        AdminSources sources;
        sources.metrics = &metrics;
        sources.ready = [this] { return ready.load(); };
        sources.state_json = [] { return std::string(R"({"framework_id":"fw-1"})"); };
        sources.version = "9.9.9";
        auto started = AdminServer::start("127.0.0.1", port, std::move(sources));
        if (!started)
            FAIL(started.error().message);
        server = std::move(*started);
    }

    httplib::Result get(const std::string& path) const {
        httplib::Client client("127.0.0.1", server->port());
        client.set_connection_timeout(std::chrono::seconds(2));
        client.set_read_timeout(std::chrono::seconds(5));
        return client.Get(path.c_str());
    }
};

}  // namespace

TEST_CASE("health answers 200 while the process serves requests") {
    Endpoint e;
    auto res = e.get("/health");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == "ok\n");
}

TEST_CASE("ready is 503 naming what is missing until the runtime is ready, then 200") {
    Endpoint e;
    e.metrics.leader = 1;
    auto res = e.get("/ready");
    REQUIRE(res);
    CHECK(res->status == 503);
    CHECK_THAT(res->body, Catch::Contains("not subscribed to a master") &&
                              Catch::Contains("database not reachable") &&
                              !Catch::Contains("not the leader"));
    e.ready = true;
    res = e.get("/ready");
    REQUIRE(res);
    CHECK(res->status == 200);
}

TEST_CASE("a standby's ready names it a standby, a process without the lock not the leader") {
    Endpoint e;
    e.metrics.standby = 1;
    auto res = e.get("/ready");
    REQUIRE(res);
    CHECK(res->status == 503);
    CHECK_THAT(res->body, Catch::Contains("standby: another mesoflow leads (/state names it)") &&
                              !Catch::Contains("not the leader"));
    e.metrics.standby = 0;
    res = e.get("/ready");
    REQUIRE(res);
    CHECK_THAT(res->body, Catch::Contains("not the leader") && !Catch::Contains("standby"));
}

TEST_CASE("metrics are served as Prometheus text and follow the counters") {
    Endpoint e;
    auto res = e.get("/metrics");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    auto page = mesoflow::testing::parse_prometheus(res->body);
    INFO(page.error);
    CHECK(page.error.empty());
    CHECK(page.samples.at("mesoflow_tasks_launched_total") == 0);
    CHECK(page.samples.at("mesoflow_build_info{version=\"9.9.9\"}") == 1);

    e.metrics.tasks_launched += 3;
    e.metrics.offers_received += 10;
    e.metrics.tasks_by_state[0] = 42;
    res = e.get("/metrics");
    REQUIRE(res);
    page = mesoflow::testing::parse_prometheus(res->body);
    CHECK(page.samples.at("mesoflow_tasks_launched_total") == 3);
    CHECK(page.samples.at("mesoflow_offers_received_total") == 10);
    CHECK(page.samples.at("mesoflow_tasks{state=\"pending\"}") == 42);
}

TEST_CASE("the leadership metrics: epoch, since, the lease and what is left of it") {
    Endpoint e;
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    e.metrics.leader = 1;
    e.metrics.leader_epoch = 7;
    e.metrics.leader_since_us = 1'700'000'000'000'000;
    e.metrics.lease_ms = 15000;
    e.metrics.lease_valid_until_us = now_us + 10'000'000;
    e.metrics.leadership_terms = 2;
    e.metrics.leadership_lost = 1;
    auto page = mesoflow::testing::parse_prometheus(e.get("/metrics")->body);
    INFO(page.error);
    CHECK(page.samples.at("mesoflow_leader") == 1);
    CHECK(page.samples.at("mesoflow_standby") == 0);
    CHECK(page.samples.at("mesoflow_leader_epoch") == 7);
    CHECK(page.samples.at("mesoflow_leader_since_seconds") == Approx(1'700'000'000.0));
    CHECK(page.samples.at("mesoflow_leader_lease_seconds") == 15);
    // Computed at the scrape: at most the 10 s left when it was set.
    CHECK(page.samples.at("mesoflow_leader_lease_remaining_seconds") <= 10.0);
    CHECK(page.samples.at("mesoflow_leader_lease_remaining_seconds") > 0.0);
    CHECK(page.samples.at("mesoflow_leadership_terms_total") == 2);
    CHECK(page.samples.at("mesoflow_leadership_lost_total") == 1);
    // Run out: never negative.
    e.metrics.lease_valid_until_us = now_us - 1'000'000;
    page = mesoflow::testing::parse_prometheus(e.get("/metrics")->body);
    CHECK(page.samples.at("mesoflow_leader_lease_remaining_seconds") == 0);
}

TEST_CASE("state returns the runtime's JSON snapshot") {
    Endpoint e;
    auto res = e.get("/state");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "application/json");
    CHECK_THAT(res->body, Catch::StartsWith(R"({"framework_id":"fw-1"})"));
}

TEST_CASE("paths the endpoint does not serve are 404") {
    Endpoint e;
    for (const char* path : {"/", "/metrics/x", "/admin", "/healthz"}) {
        auto res = e.get(path);
        REQUIRE(res);
        INFO(path);
        CHECK(res->status == 404);
    }
}

TEST_CASE("many requests in a row are all answered") {
    Endpoint e;
    int ok = 0;
    for (int i = 0; i < 200; ++i) {
        auto res = e.get(i % 2 == 0 ? "/health" : "/metrics");
        ok += res && res->status == 200 ? 1 : 0;
    }
    CHECK(ok == 200);
}

TEST_CASE("the configured port is used, and a port in use is an error naming the address") {
    const int port = mesoflow::testing::free_loopback_port();
    Endpoint first(port);
    CHECK(first.server->port() == port);
    AdminSources sources;
    sources.metrics = &first.metrics;
    sources.ready = [] { return true; };
    sources.state_json = [] { return std::string("{}"); };
    auto second = AdminServer::start("127.0.0.1", port, std::move(sources));
    REQUIRE_FALSE(second);
    CHECK_THAT(second.error().message,
               Catch::Contains("127.0.0.1:" + std::to_string(port)) && Catch::Contains("in use"));
}

TEST_CASE("after stop the port no longer answers, and stop may be called twice") {
    Endpoint e;
    const int port = e.server->port();
    e.server->stop();
    e.server->stop();
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(std::chrono::seconds(1));
    CHECK_FALSE(client.Get("/health"));
}

TEST_CASE("a client that connects and sends nothing does not block the others for long") {
    Endpoint e;
    // A raw connection that never sends a request.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(e.server->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const auto start = std::chrono::steady_clock::now();
    auto res = e.get("/health");
    const auto waited = std::chrono::steady_clock::now() - start;
    ::close(fd);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(waited < std::chrono::seconds(4));
}
