// The fake master's registration in ZooKeeper: the nodes a real Mesos master
// writes (ephemeral sequential json.info_<seq> holding MasterInfo as JSON),
// their order, and withdrawal, against a real ZooKeeper server.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_master.hpp"
#include "process.hpp"
#include "temp_zookeeper.hpp"
#include "test_client.hpp"
#include "zk_client.hpp"
#include "zk_registration.hpp"

using namespace mesoflow::fake;
using mesoflow::fake::testing::quick_config;
using mesoflow::testing::TempZooKeeper;
using mesoflow::testing::ZkClient;
using nlohmann::json;

namespace {

// A znode path of its own for each test: the server is shared by the process.
std::string fresh_path(const std::string& name) {
    static int counter = 0;
    return "/" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) +
           "/mesos";
}

FakeMasterConfig zk_config(const std::string& path) {
    FakeMasterConfig config = quick_config();
    config.zk_url = "zk://" + TempZooKeeper::shared().connect_string() + path;
    return config;
}

}  // namespace

TEST_CASE(
    "two masters register as json.info_ nodes, the first lowest, and withdrawal leaves the "
    "second") {
    const std::string path = fresh_path("two");
    FakeMaster first(zk_config(path));
    FakeMaster second(zk_config(path));
    ZkClient zk(TempZooKeeper::shared().connect_string());

    const auto children = zk.children(path);
    REQUIRE(children.size() == 2);
    for (const auto& name : children)
        CHECK(name.rfind("json.info_", 0) == 0);
    CHECK(first.zk_node() == path + "/" + children[0]);
    CHECK(second.zk_node() == path + "/" + children[1]);

    const json leader = json::parse(zk.get(path + "/" + children[0]).value());
    CHECK(leader["address"]["port"] == first.port());
    CHECK(leader["address"]["ip"] == "127.0.0.1");
    CHECK(leader["address"]["hostname"] == "127.0.0.1");
    CHECK(leader["id"] == first.master_id());
    CHECK(leader["port"] == first.port());
    CHECK(leader["ip"] == 0x0100007f);  // 127.0.0.1 in network byte order, read natively
    CHECK(leader["pid"] == "master@127.0.0.1:" + std::to_string(first.port()));
    CHECK(leader["hostname"] == "127.0.0.1");
    CHECK(leader["version"] == "1.11.0");

    first.zk_withdraw();
    CHECK(first.zk_node().empty());
    const auto left = zk.children(path);
    REQUIRE(left.size() == 1);
    CHECK(left[0] == children[1]);
    const json next = json::parse(zk.get(path + "/" + left[0]).value());
    CHECK(next["address"]["port"] == second.port());
    CHECK(next["id"] == second.master_id());

    // Registering again puts the first master behind the second.
    const auto again = first.zk_register();
    CHECK(again > second.zk_node());
    CHECK(zk.children(path).size() == 2);
}

TEST_CASE("a registered master's node goes with the master, and without zk_url nothing registers") {
    const std::string path = fresh_path("lifetime");
    ZkClient zk(TempZooKeeper::shared().connect_string());
    {
        FakeMaster master(zk_config(path));
        CHECK(zk.children(path).size() == 1);
        // A failover gives a new master id; registering again carries it.
        master.fail_over();
        const auto node = master.zk_register();
        CHECK(json::parse(zk.get(node).value())["id"] == master.master_id());
        CHECK(zk.children(path).size() == 1);
    }
    CHECK(zk.children(path).empty());

    FakeMaster plain(quick_config());
    CHECK(plain.zk_node().empty());
    CHECK_THROWS_AS(plain.zk_register(), std::runtime_error);
    plain.zk_withdraw();  // a no-op
}

TEST_CASE("zk URLs: the simple form is parsed, anything else refused") {
    const auto url = parse_zk_url("zk://10.0.0.1:2181,10.0.0.2:2181/mesos/");
    CHECK(url.hosts == "10.0.0.1:2181,10.0.0.2:2181");
    CHECK(url.path == "/mesos");
    CHECK(parse_zk_url("zk://h:1/a/b").path == "/a/b");
    for (const std::string bad :
         {"http://h:1/mesos", "zk://h:1", "zk://h:1/", "zk:///mesos", "zk://h/mesos",
          "zk://h:x/mesos", "zk://u:p@h:1/mesos", "zk://h:1,/mesos", "zk://h:1//m"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_zk_url(bad), std::invalid_argument);
    }
    FakeMasterConfig config = quick_config();
    config.zk_url = "zk://127.0.0.1/mesos";
    CHECK_THROWS_AS(FakeMaster(config), std::runtime_error);
}

TEST_CASE(
    "a master cannot start with its ZooKeeper down, and a registered one keeps its node over a "
    "short stop") {
    TempZooKeeper zk;
    FakeMasterConfig config = quick_config();
    config.zk_url = "zk://" + zk.connect_string() + "/mesos";
    FakeMaster master(config);
    REQUIRE_FALSE(master.zk_node().empty());

    zk.stop();
    config.zk_session_timeout = std::chrono::seconds(2);
    CHECK_THROWS_AS(FakeMaster(config), std::runtime_error);
    zk.start();
    ZkClient client(zk.connect_string());
    // The registered master's session outlived the short stop: its node is
    // still the only one.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (client.children("/mesos").size() != 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(client.children("/mesos") ==
          std::vector<std::string>{master.zk_node().substr(std::string("/mesos/").size())});
}

TEST_CASE("the binary registers with --zk before its ready line, and its node goes when it stops") {
    using mesoflow::testing::ChildProcess;
    using mesoflow::testing::read_file;
    using mesoflow::testing::SpawnOptions;
    const std::string path = fresh_path("binary");
    const int port = mesoflow::testing::free_loopback_port();
    const std::string output =
        "/tmp/fake-master-zk-test-" + std::to_string(::getpid()) + "-" + std::to_string(port);
    const std::string url = "zk://" + TempZooKeeper::shared().connect_string() + path;
    ChildProcess process = ChildProcess::spawn(SpawnOptions{
        {FAKE_MASTER_BINARY, "--listen", "127.0.0.1:" + std::to_string(port), "--zk", url},
        {},
        std::nullopt,
        output,
        SIGKILL});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (read_file(output).find("listening on") == std::string::npos) {
        if (std::chrono::steady_clock::now() > deadline || !process.running()) {
            std::remove(output.c_str());
            FAIL("fake master did not start: " << read_file(output));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ZkClient zk(TempZooKeeper::shared().connect_string());
    const auto children = zk.children(path);
    REQUIRE(children.size() == 1);
    CHECK(json::parse(zk.get(path + "/" + children[0]).value())["address"]["port"] == port);

    const int status = process.stop(SIGTERM, std::chrono::seconds(10));
    CHECK(WIFEXITED(status));
    CHECK(zk.children(path).empty());
    std::remove(output.c_str());

    std::string out;
    SpawnOptions bad;
    bad.argv = {FAKE_MASTER_BINARY, "--zk", "zk://nohost/mesos"};
    CHECK(mesoflow::testing::run_program(bad, &out) == 2);
    CHECK(out.find("--zk") != std::string::npos);
}
