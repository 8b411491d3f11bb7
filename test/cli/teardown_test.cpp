// mesoflow teardown against a stand-in for the Mesos master's operator
// endpoint POST /master/teardown (an external API; the fake master serves the
// scheduler API only), with the framework id stored in a real PostgreSQL.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "../store/store_fixture.hpp"
#include "cli_fixture.hpp"
#include "terminal.hpp"
#include "test_pki.hpp"

using Catch::Contains;
using mesoflow::store::TaskStore;
using mesoflow::store::testing::migrated_database;
using mesoflow::testing::CertificateFiles;
using mesoflow::testing::CliResult;
using mesoflow::testing::mesoflow_cli;

namespace {

struct Request {
    std::string body;
    std::string content_type;
    std::string authorization;
};

std::unique_ptr<httplib::Server> make_server(const std::optional<CertificateFiles>& tls) {
    if (!tls)
        return std::make_unique<httplib::Server>();
    auto server = std::make_unique<httplib::SSLServer>(tls->certificate.c_str(), tls->key.c_str());
    REQUIRE(server->is_valid());
    return server;
}

// Answers POST /master/teardown with a fixed status and body, or a 307;
// over https when given a certificate.
class TeardownEndpoint {
  public:
    explicit TeardownEndpoint(int status, std::string body = "", std::string location = "",
                              const std::optional<CertificateFiles>& tls = std::nullopt)
        : status_(status),
          body_(std::move(body)),
          location_(std::move(location)),
          server_(make_server(tls)) {
        server_->Post("/master/teardown",
                      [this](const httplib::Request& req, httplib::Response& res) {
                          {
                              std::lock_guard lock(mutex_);
                              requests_.push_back({req.body, req.get_header_value("Content-Type"),
                                                   req.get_header_value("Authorization")});
                          }
                          res.status = status_;
                          if (!location_.empty())
                              res.set_header("Location", location_);
                          res.set_content(body_, "text/plain");
                      });
        port_ = server_->bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_->listen_after_bind(); });
        while (!server_->is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~TeardownEndpoint() {
        server_->stop();
        thread_.join();
    }
    std::string https_url() const { return "https://localhost:" + std::to_string(port_); }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    std::vector<Request> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

  private:
    int status_;
    std::string body_;
    std::string location_;
    std::unique_ptr<httplib::Server> server_;
    int port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<Request> requests_;
};

// A migrated database whose framework "mesoflow" has the id fw-0001.
std::string database_with_framework() {
    const std::string dsn = migrated_database();
    REQUIRE(TaskStore(dsn).save_framework_id("mesoflow", "fw-0001", "host:1"));
    return dsn;
}

std::optional<std::string> stored_id(const std::string& dsn) {
    auto id = TaskStore(dsn).load_framework_id("mesoflow");
    REQUIRE(id);
    return *id;
}

CliResult teardown(const std::string& dsn, const std::string& masters,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"teardown", "--yes", "--master", masters};
    args.insert(args.end(), extra.begin(), extra.end());
    return mesoflow_cli(args, {"MESOFLOW_DATABASE=" + dsn});
}

// A CA the tests trust and one they do not, each with a certificate for localhost.
struct Certificates {
    mesoflow::testing::TestPki ca{"mesoflow test CA"};
    mesoflow::testing::TestPki untrusted{"mesoflow untrusted CA"};
    CertificateFiles localhost = ca.issue("localhost", {"localhost", "127.0.0.1"});
    CertificateFiles other_host = ca.issue("other", {"mesos-master.invalid"});
    CertificateFiles untrusted_localhost = untrusted.issue("localhost", {"localhost"});
};

const Certificates& certificates() {
    static const Certificates c;
    return c;
}

}  // namespace

TEST_CASE("teardown refuses without --yes when stdin is not a terminal, before anything else") {
    const auto r = mesoflow_cli({"teardown"});
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Contains("stdin is not a terminal") && Contains("--yes"));
}

TEST_CASE("teardown with no stored framework id exits 4 and contacts no master") {
    TeardownEndpoint master(200);
    const auto r = teardown(migrated_database(), master.address());
    CHECK(r.code == 4);
    CHECK_THAT(r.output, Contains("no framework id stored for framework 'mesoflow'"));
    CHECK(master.requests().empty());
}

TEST_CASE("teardown posts the framework id to the master's teardown endpoint and forgets it") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint master(200);
    const auto r = teardown(
        dsn, master.address(),
        {"--principal", "ops", "--secret-file", mesoflow::testing::TempFile("pw\n").path()});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("framework fw-0001 torn down"));
    const auto requests = master.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].body == "frameworkId=fw-0001");
    CHECK(requests[0].content_type == "application/x-www-form-urlencoded");
    CHECK(requests[0].authorization == "Basic b3BzOnB3");  // ops:pw
    CHECK_FALSE(stored_id(dsn));
}

TEST_CASE("teardown follows a redirect to the leading master") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint leader(200);
    TeardownEndpoint follower(307, "", "//" + leader.address() + "/master/teardown");
    const auto r = teardown(dsn, follower.address());
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(follower.requests().size() == 1);
    CHECK(leader.requests().size() == 1);
    CHECK_FALSE(stored_id(dsn));
}

TEST_CASE("teardown tries the next master when one cannot be reached") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint live(200);
    const std::string dead = "127.0.0.1:" + std::to_string(mesoflow::testing::free_loopback_port());
    const auto r = teardown(dsn, dead + "," + live.address());
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(live.requests().size() == 1);
}

TEST_CASE("a master that does not know the framework makes teardown exit 3 and keep the id") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint master(400, "No framework found with specified ID");
    const auto r = teardown(dsn, master.address());
    CHECK(r.code == 3);
    CHECK_THAT(r.output, Contains("No framework found with specified ID") &&
                             Contains("no longer knows this framework"));
    CHECK(stored_id(dsn) == std::optional<std::string>("fw-0001"));
}

TEST_CASE("refused credentials make teardown exit 1 and say to set principal and secret") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint master(401, "401 Unauthorized.");
    const auto r = teardown(dsn, master.address());
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("principal and secret"));
    CHECK(stored_id(dsn) == std::optional<std::string>("fw-0001"));
}

TEST_CASE("no reachable master makes teardown exit 1, naming each failure, and keep the id") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint broken(503, "Master has not finished recovery");
    const std::string dead = "127.0.0.1:" + std::to_string(mesoflow::testing::free_loopback_port());
    const auto r = teardown(dsn, dead + "," + broken.address());
    CHECK(r.code == 1);
    CHECK_THAT(r.output,
               Contains(dead) && Contains("503") && Contains("Master has not finished recovery"));
    CHECK(stored_id(dsn) == std::optional<std::string>("fw-0001"));
}

TEST_CASE("teardown on a terminal asks first and does nothing unless the answer is yes") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint master(200);
    const std::vector<std::string> args{"teardown", "--master", master.address()};
    const std::vector<std::string> env{"MESOFLOW_DATABASE=" + dsn};

    auto r = mesoflow::testing::mesoflow_on_terminal(args, env, "Type yes", "y");
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("fw-0001") && Contains("not confirmed"));
    CHECK(master.requests().empty());
    CHECK(stored_id(dsn) == std::optional<std::string>("fw-0001"));

    r = mesoflow::testing::mesoflow_on_terminal(args, env, "Type yes", "yes");
    CHECK(r.code == 0);
    CHECK(master.requests().size() == 1);
    CHECK_FALSE(stored_id(dsn));
}

TEST_CASE("teardown reaches an https master verified against tls_ca_file") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint master(200, "", "", certificates().localhost);
    const auto r =
        teardown(dsn, master.https_url(), {"--tls-ca-file", certificates().ca.ca_file()});
    INFO(r.output);
    CHECK(r.code == 0);
    const auto requests = master.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].body == "frameworkId=fw-0001");
    CHECK_FALSE(stored_id(dsn));
}

TEST_CASE("teardown follows a redirect from an https master over https") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint leader(200, "", "", certificates().localhost);
    const std::string leader_authority = leader.https_url().substr(std::string("https:").size());
    TeardownEndpoint follower(307, "", leader_authority + "/master/teardown",
                              certificates().localhost);
    const auto r =
        teardown(dsn, follower.https_url(), {"--tls-ca-file", certificates().ca.ca_file()});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(follower.requests().size() == 1);
    CHECK(leader.requests().size() == 1);
}

TEST_CASE("teardown refuses an https master whose certificate the CA did not sign") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint master(200, "", "", certificates().untrusted_localhost);
    const auto r =
        teardown(dsn, master.https_url(), {"--tls-ca-file", certificates().ca.ca_file()});
    CHECK(r.code == 1);
    CHECK_THAT(r.output,
               Contains(master.https_url()) &&
                   Contains("certificate rejected: unable to get local issuer certificate"));
    CHECK(master.requests().empty());
    CHECK(stored_id(dsn) == std::optional<std::string>("fw-0001"));
}

TEST_CASE("teardown refuses an https master whose certificate is for another host") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint master(200, "", "", certificates().other_host);
    const auto r =
        teardown(dsn, master.https_url(), {"--tls-ca-file", certificates().ca.ca_file()});
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("certificate rejected: it is not for this host name"));
    CHECK(master.requests().empty());
    CHECK(stored_id(dsn) == std::optional<std::string>("fw-0001"));
}

TEST_CASE("teardown with tls_verify off takes a certificate it cannot verify") {
    const std::string dsn = database_with_framework();
    TeardownEndpoint master(200, "", "", certificates().untrusted_localhost);
    const auto r = teardown(dsn, master.https_url(), {"--no-tls-verify"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(master.requests().size() == 1);
    CHECK_FALSE(stored_id(dsn));
}
