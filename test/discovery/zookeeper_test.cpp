// Master detection against a real ZooKeeper server (TempZooKeeper) and fake
// masters that register in it as Mesos masters do: the detector alone, then
// a Runtime that follows the leading master from one to the other.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <vector>

#include "cluster.hpp"
#include "mesoflow/discovery/zookeeper_detector.hpp"
#include "store/store_fixture.hpp"
#include "temp_zookeeper.hpp"
#include "zk_client.hpp"

using namespace std::chrono_literals;
using mesoflow::discovery::Detection;
using mesoflow::discovery::ZooKeeperDetector;
using mesoflow::testing::Cluster;
using mesoflow::testing::TempZooKeeper;
using mesoflow::testing::ZkClient;
using State = Detection::State;
namespace config = mesoflow::config;
namespace fake = mesoflow::fake;
namespace task = mesoflow::task;

namespace {

// What the detector reported, in order, and a wait for the next one.
class Reports {
  public:
    void add(const Detection& d) {
        {
            std::lock_guard lock(mutex_);
            all_.push_back(d);
        }
        cv_.notify_all();
    }
    // Waits for a report (since the start) that `pred` accepts.
    bool wait_for(const std::function<bool(const Detection&)>& pred,
                  std::chrono::milliseconds timeout = 30s) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return !all_.empty() && pred(all_.back()); });
    }
    Detection last() {
        std::lock_guard lock(mutex_);
        return all_.back();
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<Detection> all_;
};

config::ZooKeeperUrl group(const std::string& path, const std::string& credentials = "") {
    return config::ZooKeeperUrl{TempZooKeeper::shared().connect_string(), path, credentials};
}

std::string master_info(int port) {
    return fmt::format(R"({{"id":"m{}","hostname":"localhost","port":{},)"
                       R"("address":{{"hostname":"localhost","ip":"127.0.0.1","port":{}}}}})",
                       port, port, port);
}

bool leads(const Detection& d, int port) {
    return d.state == State::leader && d.leader && d.leader->port == port;
}

}  // namespace

TEST_CASE("the detector names the lowest json.info_ member and follows it when it goes") {
    ZkClient admin(TempZooKeeper::shared().connect_string());
    admin.create_path("/follow/mesos");
    ZkClient first(TempZooKeeper::shared().connect_string());
    ZkClient second(TempZooKeeper::shared().connect_string());
    first.create("/follow/mesos/json.info_", master_info(6001),
                 ZkClient::ephemeral | ZkClient::sequential);
    second.create("/follow/mesos/json.info_", master_info(6002),
                  ZkClient::ephemeral | ZkClient::sequential);
    admin.create("/follow/mesos/log_replicas");  // the masters' other nodes are ignored

    Reports reports;
    ZooKeeperDetector detector(group("/follow/mesos"), [&](const Detection& d) { reports.add(d); });
    detector.start();
    REQUIRE(reports.wait_for([](const Detection& d) { return leads(d, 6001); }));
    CHECK(reports.last().member.starts_with("json.info_"));
    // The leader's session ends (a master stopped): the next member leads.
    first.close();
    REQUIRE(reports.wait_for([](const Detection& d) { return leads(d, 6002); }));
    second.close();
    REQUIRE(reports.wait_for([](const Detection& d) { return d.state == State::no_leader; }));
    // A master that joins an empty group is found by the watch.
    ZkClient third(TempZooKeeper::shared().connect_string());
    third.create("/follow/mesos/json.info_", master_info(6003),
                 ZkClient::ephemeral | ZkClient::sequential);
    REQUIRE(reports.wait_for([](const Detection& d) { return leads(d, 6003); }));
    detector.stop();
}

TEST_CASE("a group that does not exist yet is waited for; digest credentials are sent") {
    Reports reports;
    ZooKeeperDetector detector(group("/later/mesos", "mesos:secret"),
                               [&](const Detection& d) { reports.add(d); });
    detector.start();
    REQUIRE(reports.wait_for([](const Detection& d) { return d.state == State::no_leader; }));
    CHECK(reports.last().error.find("/later/mesos") != std::string::npos);
    ZkClient master(TempZooKeeper::shared().connect_string());
    master.create_path("/later/mesos");
    master.create("/later/mesos/json.info_", master_info(6010),
                  ZkClient::ephemeral | ZkClient::sequential);
    REQUIRE(reports.wait_for([](const Detection& d) { return leads(d, 6010); }));
    detector.stop();
}

TEST_CASE(
    "a leader whose data is not MasterInfo JSON is reported, naming the znode, and read again") {
    ZkClient master(TempZooKeeper::shared().connect_string());
    master.create_path("/broken/mesos");
    const auto node = master.create("/broken/mesos/json.info_", "\x08\x01 not json",
                                    ZkClient::ephemeral | ZkClient::sequential);
    Reports reports;
    mesoflow::discovery::DetectorOptions options;
    options.backoff_min = 100ms;
    options.backoff_max = 400ms;
    ZooKeeperDetector detector(
        group("/broken/mesos"), [&](const Detection& d) { reports.add(d); }, options);
    detector.start();
    REQUIRE(reports.wait_for([](const Detection& d) { return d.state == State::invalid; }));
    CHECK(reports.last().error.find("/broken/mesos/json.info_") != std::string::npos);
    CHECK(reports.last().error.find("not a MasterInfo JSON object") != std::string::npos);
    // No watch fires for a change of the data: the back-off reads it again.
    master.set(node, master_info(6030));
    REQUIRE(reports.wait_for([](const Detection& d) { return leads(d, 6030); }));
    detector.stop();
}

TEST_CASE(
    "ZooKeeper stopped: the detector says unreachable; restarted: it names the leader again") {
    ZkClient master(TempZooKeeper::shared().connect_string(), 10s, 30s);
    master.create_path("/outage/mesos");
    master.create("/outage/mesos/json.info_", master_info(6020),
                  ZkClient::ephemeral | ZkClient::sequential);
    Reports reports;
    mesoflow::discovery::DetectorOptions options;
    options.session_timeout = 30s;  // the outage is shorter: the session survives it
    ZooKeeperDetector detector(
        group("/outage/mesos"), [&](const Detection& d) { reports.add(d); }, options);
    detector.start();
    REQUIRE(reports.wait_for([](const Detection& d) { return leads(d, 6020); }));
    TempZooKeeper::shared().stop();
    REQUIRE(reports.wait_for([](const Detection& d) { return d.state == State::unreachable; }));
    TempZooKeeper::shared().start();
    REQUIRE(master.wait_connected(30s));
    REQUIRE(reports.wait_for([](const Detection& d) { return leads(d, 6020); }));
    detector.stop();
}

TEST_CASE("a session the servers lost is replaced by a new one once its timeout passes") {
    ZkClient master(TempZooKeeper::shared().connect_string());
    master.create_path("/renew/mesos");
    Reports reports;
    mesoflow::discovery::DetectorOptions options;
    options.session_timeout = 4s;
    options.backoff_min = 100ms;
    ZooKeeperDetector detector(
        group("/renew/mesos"), [&](const Detection& d) { reports.add(d); }, options);
    detector.start();
    REQUIRE(reports.wait_for([](const Detection& d) { return d.state == State::no_leader; }));
    // The server comes back without its data (an ensemble rebuilt): no
    // session survives, and the detector's cannot resume.
    master.close();
    TempZooKeeper::shared().stop();
    REQUIRE(reports.wait_for([](const Detection& d) { return d.state == State::unreachable; }));
    std::filesystem::remove_all(TempZooKeeper::shared().data_dir() + "/version-2");
    TempZooKeeper::shared().start();
    ZkClient again(TempZooKeeper::shared().connect_string());
    again.create_path("/renew/mesos");
    again.create("/renew/mesos/json.info_", master_info(6040),
                 ZkClient::ephemeral | ZkClient::sequential);
    REQUIRE(reports.wait_for([](const Detection& d) { return leads(d, 6040); }));
    detector.stop();
}

TEST_CASE(
    "mesoflow follows the leading master in ZooKeeper: when the leader's znode goes it "
    "resubscribes to the next at once with the same framework id, and launches nothing twice") {
    const std::string url = "zk://" + TempZooKeeper::shared().connect_string() + "/failover";
    auto config_a = mesoflow::testing::quick_master(2);
    config_a.zk_url = url;
    auto config_b = mesoflow::testing::quick_master(2);
    config_b.zk_url = url;
    Cluster c(config_a);           // master A registers first: it leads
    fake::FakeMaster b(config_b);  // master B waits its turn
    c.config().masters.clear();
    c.config().master_zookeeper =
        config::ZooKeeperUrl{TempZooKeeper::shared().connect_string(), "/failover", ""};
    // Without ZooKeeper's word, a dropped stream would wait for the watchdog
    // and back-off; a long heartbeat shows the move does not.
    c.master().set_heartbeat_interval(60s);
    b.set_heartbeat_interval(60s);

    c.submit_many(5, "before", "true");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_terminal() == 5; }));
    CHECK(c.runtime().metrics().master_changes.load() == 1);
    CHECK(c.runtime().state_json().find("\"master_detection\":\"zookeeper\"") != std::string::npos);
    const auto framework_id = c.store().load_framework_id(c.config().framework_name);
    REQUIRE(framework_id.ok());
    REQUIRE(framework_id->has_value());

    // A loses leadership (its ZooKeeper session ends, as when it stops).
    const auto moved_at = std::chrono::steady_clock::now();
    c.master().zk_withdraw();
    REQUIRE(c.eventually([&] { return b.counters().subscriptions >= 1; }, 20s));
    const auto took = std::chrono::steady_clock::now() - moved_at;
    INFO("moved in " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                     << " ms");
    CHECK(took < 15s);  // well under the 180 s a silent stream would take to be noticed
    const auto subscribes = b.calls_of_type("SUBSCRIBE");
    REQUIRE_FALSE(subscribes.empty());
    CHECK(subscribes.front().body.find(**framework_id) != std::string::npos);

    c.submit_many(5, "after", "true");
    REQUIRE(c.eventually([&] { return c.count_terminal() == 10; }));
    CHECK(c.count_in(task::TaskState::finished) == 10);
    CHECK(c.runtime().metrics().master_changes.load() == 2);
    // Each task launched once, on the master that led when it was claimed.
    mesoflow::store::testing::Sql sql(c.dsn());
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'launch'") == 10);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE attempt <> 1") == 0);
    CHECK(c.master().counters().tasks_launched + b.counters().tasks_launched == 10);
    CHECK(c.stop() == 0);
}
