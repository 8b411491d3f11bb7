#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "temp_zookeeper.hpp"
#include "zk_client.hpp"

using mesoflow::testing::TempZooKeeper;
using mesoflow::testing::ZkClient;
using mesoflow::testing::ZkError;
using namespace std::chrono_literals;

namespace {

bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!predicate()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

}  // namespace

TEST_CASE("an ephemeral sequential node is seen by other sessions and goes with its session") {
    auto& zk = TempZooKeeper::shared();
    CHECK(zk.connect_string() == "127.0.0.1:" + std::to_string(zk.port()));
    ZkClient owner(zk.connect_string());
    ZkClient observer(zk.connect_string());
    CHECK(owner.connected());
    CHECK(owner.session_id() != observer.session_id());

    owner.create_path("/ephemeral/test");
    const auto node =
        owner.create("/ephemeral/test/n_", "payload", ZkClient::ephemeral | ZkClient::sequential);
    REQUIRE(node.rfind("/ephemeral/test/n_", 0) == 0);
    CHECK(node.size() == std::string("/ephemeral/test/n_").size() + 10);  // 10-digit sequence

    const auto second =
        owner.create("/ephemeral/test/n_", "", ZkClient::ephemeral | ZkClient::sequential);
    CHECK(second > node);  // sequence numbers grow
    CHECK(observer.children("/ephemeral/test") ==
          std::vector<std::string>{node.substr(node.rfind('/') + 1),
                                   second.substr(second.rfind('/') + 1)});
    CHECK(observer.get(node) == "payload");
    CHECK(observer.get(second) == "");

    owner.close();
    CHECK_FALSE(owner.connected());
    CHECK(observer.children("/ephemeral/test").empty());
    CHECK_FALSE(observer.get(node).has_value());
}

TEST_CASE("persistent nodes: create_path, get, set, remove, children") {
    ZkClient zk(TempZooKeeper::shared().connect_string());
    zk.create_path("/persistent/a/b");
    zk.create_path("/persistent/a/b");  // existing nodes are left alone
    CHECK(zk.exists("/persistent/a"));
    CHECK(zk.get("/persistent/a/b") == "");

    CHECK(zk.create("/persistent/a/b/c", "one") == "/persistent/a/b/c");
    zk.set("/persistent/a/b/c", std::string(10000, 'x'));  // longer than the first read buffer
    CHECK(zk.get("/persistent/a/b/c") == std::string(10000, 'x'));
    CHECK(zk.children("/persistent/a/b") == std::vector<std::string>{"c"});

    try {
        zk.create("/persistent/a/b/c", "again");
        FAIL("created a node twice");
    } catch (const ZkError& e) {
        CHECK(e.node_exists());
    }
    try {
        zk.children("/persistent/none");
        FAIL("children of a missing node");
    } catch (const ZkError& e) {
        CHECK(e.no_node());
    }
    CHECK_THROWS_AS(zk.set("/persistent/none", "x"), ZkError);
    CHECK_THROWS_AS(zk.create("/persistent/none/child", "x"), ZkError);

    CHECK(zk.remove("/persistent/a/b/c"));
    CHECK_FALSE(zk.remove("/persistent/a/b/c"));
    CHECK_FALSE(zk.exists("/persistent/a/b/c"));
    CHECK_FALSE(zk.get("/persistent/a/b/c").has_value());
}

TEST_CASE("a stopped server refuses sessions; restarted on its port, it has its data back") {
    TempZooKeeper zk;
    const int port = zk.port();
    ZkClient client(zk.connect_string());
    client.create_path("/restart");
    client.create("/restart/kept", "data");
    const auto ephemeral =
        client.create("/restart/e_", "", ZkClient::ephemeral | ZkClient::sequential);

    zk.stop();
    CHECK_FALSE(zk.running());
    CHECK(eventually([&] { return !client.connected(); }, 10s));
    try {
        client.get("/restart/kept");
        FAIL("a read succeeded with the server stopped");
    } catch (const ZkError&) {
    }
    CHECK_THROWS_AS(ZkClient(zk.connect_string(), 500ms), ZkError);

    zk.restart();
    CHECK(zk.running());
    CHECK(zk.port() == port);
    ZkClient fresh(zk.connect_string());
    CHECK(fresh.get("/restart/kept") == "data");
    // The first session outlived the stop (its timeout had not passed): its
    // client reconnects by itself and its ephemeral node is still there.
    CHECK(client.wait_connected(15s));
    CHECK(fresh.exists(ephemeral));
    client.close();
    CHECK_FALSE(fresh.exists(ephemeral));
}

TEST_CASE("the server and its directory are gone after teardown") {
    std::string dir;
    std::string hosts;
    int port = 0;
    {
        TempZooKeeper own;
        dir = own.data_dir();
        hosts = own.connect_string();
        port = own.port();
        CHECK(mesoflow::testing::zookeeper_serving(port));
    }
    CHECK_FALSE(std::filesystem::exists(dir));
    CHECK_FALSE(mesoflow::testing::zookeeper_serving(port));
    CHECK_THROWS_AS(ZkClient(hosts, 500ms), ZkError);
}
