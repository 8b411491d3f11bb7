// Calls on MasterClient's call connections, against the fake master over
// plain HTTP on loopback: calls queued together go out back to back on one
// connection (HTTP/1.1 pipelining) and their answers come back in order.
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "fake_master/fake_master.hpp"
#include "master_client_fixture.hpp"
#include "mesoflow/transport/master_client.hpp"

using namespace std::chrono_literals;
using mesoflow::testing::Client;
using mesoflow::testing::eventually;
using mesoflow::testing::quick_master;
using mesoflow::testing::quick_transport;
namespace fake = mesoflow::fake;
namespace transport = mesoflow::transport;
using json = nlohmann::json;

namespace {

std::string framework_id(Client& client) {
    for (const auto& r : client.records()) {
        const auto event = json::parse(r);
        if (event.value("type", "") == "SUBSCRIBED")
            return event["subscribed"]["framework_id"]["value"].get<std::string>();
    }
    return "";
}

std::vector<std::string> reconcile_calls(const std::string& id, std::size_t n) {
    const std::string body = json{
        {"framework_id", {{"value", id}}},
        {"type", "RECONCILE"},
        {"reconcile",
         json::object()}}.dump();
    return std::vector<std::string>(n, body);
}

}  // namespace

TEST_CASE("calls queued together are written back to back on one connection, answered in order") {
    fake::FakeMaster master(quick_master());
    auto config = quick_transport(master.host(), master.port());
    config.call_connections = 1;
    Client client(config);
    REQUIRE(eventually([&] { return !framework_id(client).empty(); }));

    const std::size_t n = 2 * transport::kPipelineDepth;
    const auto results = client.call_all(reconcile_calls(framework_id(client), n));
    REQUIRE(results.size() == n);
    std::set<std::chrono::steady_clock::time_point> writes;
    for (std::size_t i = 0; i < n; ++i) {
        INFO("call " << i);
        CHECK(results[i].first == i);  // answered in the order they were queued
        CHECK(results[i].second.status == 202);
        REQUIRE(results[i].second.written.has_value());
        writes.insert(*results[i].second.written);
    }
    // Two writes of kPipelineDepth calls each, not one write per call.
    CHECK(writes.size() == 2);
    CHECK(master.calls_of_type("RECONCILE").size() == n);
}

TEST_CASE("a call that could not be sent says so and carries no written time") {
    fake::FakeMaster master(quick_master());
    Client client(quick_transport(master.host(), master.port()));
    REQUIRE(eventually([&] { return !framework_id(client).empty(); }));
    transport::CallResult stopped;
    client.on_loop([&](transport::MasterClient& mc) {
        mc.stop();
        mc.send("{}", [&](const transport::CallResult& r) { stopped = r; });
    });
    CHECK(stopped.status == 0);
    CHECK(stopped.error == "stopped");
    CHECK_FALSE(stopped.written.has_value());
}

TEST_CASE("an answer to an offer is on the socket before send() returns, on a waiting connection") {
    fake::FakeMaster master(quick_master());
    auto config = quick_transport(master.host(), master.port());
    config.call_connections = transport::kUrgentShare;  // one of them for answers to offers
    Client client(config);
    REQUIRE(eventually([&] { return !framework_id(client).empty(); }));
    const std::string body = reconcile_calls(framework_id(client), 1).front();
    // The connections open on their own once the stream is up; try until one waits.
    bool before_return = false;
    for (int attempt = 0; attempt < 50 && !before_return; ++attempt) {
        std::promise<transport::CallResult> answered;
        std::chrono::steady_clock::time_point returned;
        client.on_loop([&](transport::MasterClient& mc) {
            mc.send(
                body, [&](const transport::CallResult& r) { answered.set_value(r); }, true);
            returned = std::chrono::steady_clock::now();
        });
        const auto r = answered.get_future().get();
        REQUIRE(r.status == 202);
        REQUIRE(r.written.has_value());
        before_return = *r.written <= returned;
        if (!before_return)
            std::this_thread::sleep_for(20ms);
    }
    CHECK(before_return);
}

TEST_CASE("while may_send says no, nothing is written: no SUBSCRIBE, no queued call") {
    fake::FakeMaster master(quick_master());
    std::atomic<bool> allowed{false};
    Client client(quick_transport(master.host(), master.port()), [&] { return allowed.load(); });
    // Tried with back-off, never written: the master hears nothing.
    std::this_thread::sleep_for(300ms);
    CHECK(master.counters().subscriptions == 0);
    allowed = true;
    REQUIRE(eventually([&] { return !framework_id(client).empty(); }));
    allowed = false;
    std::atomic<int> answered{0};
    const auto body = reconcile_calls(framework_id(client), 1).front();
    client.on_loop([&](transport::MasterClient& c) {
        c.send(
            body, [&](const transport::CallResult&) { ++answered; }, false);
        c.send(
            body, [&](const transport::CallResult&) { ++answered; }, true);
    });
    const auto reconciles = [&] {
        const auto by_type = master.counters().calls_by_type;
        const auto it = by_type.find("RECONCILE");
        return it == by_type.end() ? std::uint64_t{0} : it->second;
    };
    std::this_thread::sleep_for(300ms);
    CHECK(reconciles() == 0);
    CHECK(answered.load() == 0);  // held in the queue, not failed
    allowed = true;
    client.on_loop([&](transport::MasterClient& c) {
        c.send(
            body, [&](const transport::CallResult&) { ++answered; }, false);
    });
    REQUIRE(eventually([&] { return answered.load() == 3; }));
    CHECK(reconciles() == 3);
}

TEST_CASE("stop() ends the calls still queued as never written, after it returns") {
    fake::FakeMaster master(quick_master());
    std::atomic<bool> allowed{true};
    Client client(quick_transport(master.host(), master.port()), [&] { return allowed.load(); });
    REQUIRE(eventually([&] { return !framework_id(client).empty(); }));
    // Held in the queue: nothing may be written.
    allowed = false;
    const auto body = reconcile_calls(framework_id(client), 1).front();
    std::mutex mutex;
    std::vector<transport::CallResult> results;
    int answered_before_stop_returned = -1;
    client.on_loop([&](transport::MasterClient& c) {
        for (const bool urgent : {false, true}) {
            c.send(
                body,
                [&](const transport::CallResult& r) {
                    std::lock_guard lock(mutex);
                    results.push_back(r);
                },
                urgent);
        }
        c.stop();
        std::lock_guard lock(mutex);
        answered_before_stop_returned = static_cast<int>(results.size());
    });
    CHECK(answered_before_stop_returned == 0);
    REQUIRE(eventually([&] {
        std::lock_guard lock(mutex);
        return results.size() == 2;
    }));
    for (const auto& r : results) {
        CHECK(r.status == 0);
        CHECK_FALSE(r.written.has_value());
        CHECK(r.error == "stopped");
    }
    CHECK(master.counters().calls_by_type.count("RECONCILE") == 0);
}

TEST_CASE("a subscription still connecting to a master no longer named is given up at once") {
    // A master that takes the connection and never answers: the SUBSCRIBE
    // waits for its answer's header, up to connect_timeout.
    boost::asio::io_context silent_io;
    boost::asio::ip::tcp::acceptor silent(
        silent_io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    const int silent_port = silent.local_endpoint().port();
    fake::FakeMaster master(quick_master());
    auto cfg = quick_transport("127.0.0.1", silent_port);
    cfg.connect_timeout = 60s;
    Client client(cfg);
    std::this_thread::sleep_for(200ms);  // connected to the silent one, waiting
    transport::MasterEndpoint real;
    real.host = master.host();
    real.port = static_cast<std::uint16_t>(master.port());
    const auto changed = std::chrono::steady_clock::now();
    client.on_loop([&](transport::MasterClient& c) { c.set_masters({real}); });
    REQUIRE(eventually([&] { return !framework_id(client).empty(); }, 20s));
    // Far sooner than the 60 s the silent master would have held it.
    CHECK(std::chrono::steady_clock::now() - changed < 20s);
    CHECK(client.masters().size() == 1);
}
