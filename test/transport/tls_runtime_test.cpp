// mesoflow's Runtime with https masters: a real PostgreSQL, the fake master
// behind a TLS-terminating proxy, tls_ca_file and tls_verify as an operator
// sets them.
#include <catch2/catch.hpp>
#include <fstream>

#include "runtime/cluster.hpp"
#include "test_certificates.hpp"
#include "tls_proxy.hpp"

using namespace std::chrono_literals;
using mesoflow::config::MasterAddress;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
using mesoflow::testing::TlsProxy;

namespace {

MasterAddress https_master(int port) {
    return MasterAddress{true, "localhost", static_cast<std::uint16_t>(port)};
}

}  // namespace

TEST_CASE("queued tasks run to success through an https master verified against tls_ca_file") {
    const auto& certs = mesoflow::testing::test_certificates();
    Cluster c;
    TlsProxy proxy(certs.localhost, c.master().host(), c.master().port());
    c.config().masters = {https_master(proxy.port())};
    c.config().tls_ca_file = certs.ca.ca_file();
    c.submit_many(20, "tls-", "true");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 20; }));
    // Launches and acknowledgements went over the call connections, through the proxy.
    CHECK(c.master().counters().tasks_launched == 20);
    CHECK(c.master().counters().acks >= 20);
    CHECK(proxy.handshakes() >= 2);
    CHECK(proxy.failed_handshakes() == 0);
    CHECK(c.stop() == 0);
}

TEST_CASE(
    "an https master with an untrusted certificate gets no subscription; mesoflow keeps "
    "retrying and stops cleanly") {
    const auto& certs = mesoflow::testing::test_certificates();
    Cluster c;
    TlsProxy proxy(certs.untrusted_localhost, c.master().host(), c.master().port());
    c.config().masters = {https_master(proxy.port())};
    c.config().tls_ca_file = certs.ca.ca_file();
    c.submit_many(1, "refused-", "true");
    c.start();
    REQUIRE(c.eventually([&] { return proxy.failed_handshakes() >= 4; }));
    CHECK(c.running());
    CHECK(proxy.handshakes() == 0);
    CHECK(c.master().counters().subscriptions == 0);
    CHECK(c.count_in(TaskState::pending) == 1);
    CHECK(c.stop() == 0);
}

TEST_CASE("a master whose certificate is refused is passed over for the next master") {
    const auto& certs = mesoflow::testing::test_certificates();
    Cluster c;
    TlsProxy wrong_name(certs.other_host, c.master().host(), c.master().port());
    TlsProxy good(certs.localhost, c.master().host(), c.master().port());
    c.config().masters = {https_master(wrong_name.port()), https_master(good.port())};
    c.config().tls_ca_file = certs.ca.ca_file();
    c.submit_many(3, "next-", "true");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 3; }));
    CHECK(wrong_name.failed_handshakes() >= 1);
    CHECK(wrong_name.handshakes() == 0);
    CHECK(c.master().counters().subscriptions == 1);
    CHECK(c.stop() == 0);
}

TEST_CASE("with tls_verify off, tasks run through a master whose certificate is not trusted") {
    const auto& certs = mesoflow::testing::test_certificates();
    Cluster c;
    TlsProxy proxy(certs.untrusted_other_host, c.master().host(), c.master().port());
    c.config().masters = {https_master(proxy.port())};
    c.config().tls_verify = false;
    c.submit_many(3, "unverified-", "true");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 3; }));
    CHECK(proxy.handshakes() >= 2);
    CHECK(c.stop() == 0);
}

TEST_CASE("a tls_ca_file without a certificate in it stops the runtime with exit code 1") {
    const auto& certs = mesoflow::testing::test_certificates();
    // Next to the test CA, so it goes when the test certificates do.
    const std::string not_pem = certs.ca.ca_file() + ".not-pem";
    std::ofstream(not_pem) << "not a certificate\n";
    Cluster c;
    TlsProxy proxy(certs.localhost, c.master().host(), c.master().port());
    c.config().masters = {https_master(proxy.port())};
    c.config().tls_ca_file = not_pem;
    c.start();
    const auto code = c.wait_exit(30s);
    REQUIRE(code);
    CHECK(*code == 1);
    CHECK(proxy.connections() == 0);
    CHECK(c.master().counters().subscriptions == 0);
}
