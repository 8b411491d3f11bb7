// MasterClient over https: the fake master behind a TLS-terminating proxy,
// a CA and server certificates made for the test. Each test pins one rule of
// issue 5: verified against tls_ca_file, host names checked, failures
// logged with OpenSSL's reason and retried, verification off on request,
// redirects keeping https and never leaving it.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "fake_master/fake_master.hpp"
#include "master_client_fixture.hpp"
#include "mesoflow/transport/master_client.hpp"
#include "stderr_capture.hpp"
#include "test_certificates.hpp"
#include "tls_proxy.hpp"

using namespace std::chrono_literals;
using Catch::Contains;
using mesoflow::testing::Client;
using mesoflow::testing::eventually;
using mesoflow::testing::quick_master;
using mesoflow::testing::StderrCapture;
using mesoflow::testing::TlsProxy;
namespace fake = mesoflow::fake;
namespace transport = mesoflow::transport;
namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

transport::TransportConfig tls_config(const std::string& host, int port) {
    auto c = mesoflow::testing::quick_transport(host, port, true);
    c.ca_file = mesoflow::testing::test_certificates().ca.ca_file();
    return c;
}

// A MasterClient on its own io_context thread, recording what it hands over.
std::string url(const std::string& host, int port) {
    return "https://" + host + ":" + std::to_string(port) + "/api/v1/scheduler";
}

// Runs a client against `proxy` long enough for several attempts and checks
// that none got through: no stream, nothing reached the master.
void require_refused(fake::FakeMaster& master, TlsProxy& proxy, Client& client) {
    REQUIRE(eventually([&] { return proxy.failed_handshakes() >= 3; }));
    CHECK(proxy.handshakes() == 0);
    CHECK(client.masters().empty());
    CHECK(client.records().empty());
    CHECK(master.counters().subscriptions == 0);
    CHECK(master.calls().empty());
}

// What a refused client logged, and the URL it names the master by.
struct Refusal {
    std::string master_url;
    std::string log;
};

// A client for `host` against a proxy presenting `certificate`, refused on
// every attempt (require_refused).
Refusal refused_connection(const mesoflow::testing::CertificateFiles& certificate,
                           const std::string& host) {
    fake::FakeMaster master(quick_master());
    TlsProxy proxy(certificate, master.host(), master.port());
    StderrCapture log;
    {
        Client client(tls_config(host, proxy.port()));
        require_refused(master, proxy, client);
    }
    return {url(host, proxy.port()), log.text()};
}

}  // namespace

TEST_CASE(
    "an https master whose certificate the configured CA signed streams events and takes "
    "calls") {
    const auto& certs = mesoflow::testing::test_certificates();
    fake::FakeMaster master(quick_master());
    TlsProxy proxy(certs.localhost, master.host(), master.port());
    Client client(tls_config("localhost", proxy.port()));

    REQUIRE(eventually([&] { return client.records().size() >= 2; }));  // SUBSCRIBED, HEARTBEAT
    REQUIRE(client.masters() == std::vector<std::string>{url("localhost", proxy.port())});
    const auto subscribed = json::parse(client.records().front());
    REQUIRE(subscribed["type"] == "SUBSCRIBED");
    const auto framework_id = subscribed["subscribed"]["framework_id"];

    // The call goes over a pooled connection of its own: a second handshake.
    const auto result = client.call(json{
        {"framework_id", framework_id},
        {"type", "RECONCILE"},
        {"reconcile", json::object()}}.dump());
    INFO(result.error << result.body);
    CHECK(result.status == 202);
    CHECK(master.calls_of_type("RECONCILE").size() == 1);
    CHECK(proxy.handshakes() >= 2);
    CHECK(proxy.failed_handshakes() == 0);
}

TEST_CASE("a certificate from an unknown CA is refused, logged with the reason, and retried") {
    const auto r =
        refused_connection(mesoflow::testing::test_certificates().untrusted_localhost, "localhost");
    CHECK_THAT(r.log, Contains("event=subscribe_failed master=" + r.master_url) &&
                          Contains("unable to get local issuer certificate"));
    CHECK_THAT(r.log, Contains("event=backoff"));
}

TEST_CASE("a certificate for another host name is refused") {
    const auto r =
        refused_connection(mesoflow::testing::test_certificates().other_host, "localhost");
    CHECK_THAT(r.log, Contains("master=" + r.master_url) &&
                          Contains("certificate rejected: hostname mismatch"));
}

TEST_CASE("a certificate without the master's IP address is refused when the master is an IP") {
    const auto r =
        refused_connection(mesoflow::testing::test_certificates().other_host, "127.0.0.1");
    CHECK_THAT(r.log, Contains("master=" + r.master_url) &&
                          Contains("certificate rejected: IP address mismatch"));
}

TEST_CASE("with verification off, a certificate that would be refused is taken, with a warning") {
    const auto& certs = mesoflow::testing::test_certificates();
    fake::FakeMaster master(quick_master());
    TlsProxy proxy(certs.untrusted_other_host, master.host(), master.port());
    StderrCapture log;
    {
        auto config = tls_config("localhost", proxy.port());
        config.verify = false;
        config.ca_file.clear();
        Client client(std::move(config));
        REQUIRE(eventually([&] { return !client.records().empty(); }));
        CHECK(client.masters() == std::vector<std::string>{url("localhost", proxy.port())});
        CHECK(master.counters().subscriptions == 1);
    }
    const auto text = log.text();
    CHECK_THAT(
        text, Contains("level=warn event=tls_verify_off master=" + url("localhost", proxy.port())));
    // One line, however often the client reconnects.
    CHECK(text.find("event=tls_verify_off") == text.rfind("event=tls_verify_off"));
}

TEST_CASE("a 307 from an https master is followed over https") {
    const auto& certs = mesoflow::testing::test_certificates();
    fake::FakeMaster leader(quick_master());
    fake::FakeMaster standby(quick_master());
    TlsProxy leader_proxy(certs.localhost, leader.host(), leader.port());
    TlsProxy standby_proxy(certs.localhost, standby.host(), standby.port());
    // Location: //localhost:<port>/master/api/v1/scheduler, as Mesos sends it.
    standby.redirect_to("localhost:" + std::to_string(leader_proxy.port()));
    Client client(tls_config("localhost", standby_proxy.port()));

    REQUIRE(eventually([&] { return !client.records().empty(); }));
    CHECK(client.masters() ==
          std::vector<std::string>{"https://localhost:" + std::to_string(leader_proxy.port()) +
                                   "/master/api/v1/scheduler"});
    CHECK(leader.counters().subscriptions == 1);
    CHECK(standby.counters().subscriptions == 0);
    CHECK(leader_proxy.handshakes() >= 1);
    CHECK(leader_proxy.failed_handshakes() == 0);
}

namespace {

// An https standby (behind `proxy`) that wants Basic credentials and
// redirects every request to `http://` + the plain master's address.
struct DowngradingStandby {
    fake::FakeMaster plain{quick_master()};
    fake::FakeMaster standby{[] {
        auto c = quick_master();
        c.credentials = {{"ops", "pw"}};
        return c;
    }()};
    TlsProxy proxy{mesoflow::testing::test_certificates().localhost, standby.host(),
                   standby.port()};

    DowngradingStandby() { standby.redirect_to("http://" + plain.address()); }

    transport::TransportConfig config() const {
        auto c = tls_config("localhost", proxy.port());
        c.credentials = transport::BasicCredentials{"ops", "pw"};
        return c;
    }
};

}  // namespace

TEST_CASE(
    "a 307 from an https master to an http Location is not followed: nothing goes out in "
    "clear") {
    DowngradingStandby masters;
    StderrCapture log;
    {
        Client client(masters.config());
        // Several rounds of back-off, each refused at the redirect.
        REQUIRE(eventually([&] {
            return masters.standby.counters().calls >= 3 || !masters.plain.calls().empty();
        }));
        CHECK(client.masters().empty());
    }
    // The https standby got the credentials; the http master got nothing at all.
    const auto asked = masters.standby.calls();
    REQUIRE_FALSE(asked.empty());
    CHECK(asked.front().has_authorization);
    CHECK(asked.front().status == 307);
    CHECK(masters.plain.calls().empty());
    CHECK(masters.plain.counters().subscriptions == 0);
    CHECK_THAT(log.text(),
               Contains("event=subscribe_failed master=" + url("localhost", masters.proxy.port()) +
                        " reason=\"refusing redirect from https://localhost:") &&
                   Contains("to http://" + masters.plain.address() +
                            "/master/api/v1/scheduler: it would leave https\""));
}

TEST_CASE("post_once does not follow a redirect from https to http") {
    DowngradingStandby masters;
    const auto r =
        transport::post_once(masters.config(), "application/json", R"({"type":"TEARDOWN"})");
    REQUIRE(r.ok());
    CHECK_FALSE(r->answer);
    REQUIRE(r->failures.size() == 1);
    CHECK(r->failures[0].status == 307);
    CHECK_THAT(r->failures[0].error, Catch::StartsWith("refusing redirect from https://") &&
                                         Catch::EndsWith("it would leave https"));
    CHECK(masters.standby.counters().calls == 1);
    CHECK(masters.plain.calls().empty());
}
