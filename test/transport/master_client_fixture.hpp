// A MasterClient on its own io_context thread, for tests against the fake
// master: records what the stream brings and sends calls from the test thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fake_master/fake_master.hpp"
#include "mesoflow/transport/master_client.hpp"

namespace mesoflow::testing {

using namespace std::chrono_literals;

inline mesoflow::fake::FakeMasterConfig quick_master() {
    mesoflow::fake::FakeMasterConfig c;
    c.heartbeat_interval = 200ms;
    c.allocation_interval = 50ms;
    return c;
}

// One master at host:port, with the short back-off and timeouts tests want.
inline mesoflow::transport::TransportConfig quick_transport(const std::string& host, int port,
                                                            bool https = false) {
    mesoflow::transport::TransportConfig c;
    mesoflow::transport::MasterEndpoint e;
    e.https = https;
    e.host = host;
    e.port = static_cast<std::uint16_t>(port);
    c.masters = {e};
    c.backoff_min = 50ms;
    c.backoff_max = 200ms;
    c.connect_timeout = 2s;
    c.call_timeout = 5s;
    return c;
}

class Client {
  public:
    // may_send: Handlers::may_send (empty: always).
    explicit Client(mesoflow::transport::TransportConfig config,
                    std::function<bool()> may_send = {})
        : work_(boost::asio::make_work_guard(io_)) {
        mesoflow::transport::Handlers h;
        h.may_send = std::move(may_send);
        h.subscribe_body = [] {
            return nlohmann::json{
                {"type", "SUBSCRIBE"},
                {"subscribe", {{"framework_info", {{"user", "nobody"}, {"name", "tls-test"}}}}}}
                .dump();
        };
        h.on_stream = [this](const std::string& master) {
            std::lock_guard lock(mutex_);
            masters_.push_back(master);
        };
        h.on_record = [this](std::string_view record) {
            std::lock_guard lock(mutex_);
            records_.emplace_back(record);
        };
        client_ = std::make_unique<mesoflow::transport::MasterClient>(io_, std::move(config),
                                                                      std::move(h));
        client_->start();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~Client() {
        boost::asio::post(io_, [this] { client_->stop(); });
        work_.reset();
        thread_.join();
    }

    std::vector<std::string> masters() const {
        std::lock_guard lock(mutex_);
        return masters_;
    }
    std::vector<std::string> records() const {
        std::lock_guard lock(mutex_);
        return records_;
    }
    mesoflow::transport::CallResult call(std::string body) {
        std::promise<mesoflow::transport::CallResult> done;
        auto result = done.get_future();
        boost::asio::post(io_, [&] {
            client_->send(std::move(body),
                          [&done](const mesoflow::transport::CallResult& r) { done.set_value(r); });
        });
        return result.get();
    }

    // Queues every body at once, on the event loop, and waits for all the
    // answers; they come back in the order their callbacks ran.
    std::vector<std::pair<std::size_t, mesoflow::transport::CallResult>> call_all(
        std::vector<std::string> bodies, bool urgent = false) {
        std::promise<void> all;
        std::vector<std::pair<std::size_t, mesoflow::transport::CallResult>> results;
        const std::size_t n = bodies.size();
        boost::asio::post(io_, [&] {
            for (std::size_t i = 0; i < n; ++i) {
                client_->send(
                    std::move(bodies[i]),
                    [&, i](const mesoflow::transport::CallResult& r) {
                        results.emplace_back(i, r);
                        if (results.size() == n)
                            all.set_value();
                    },
                    urgent);
            }
        });
        all.get_future().wait();
        return results;
    }
    // Runs `f` on the event loop and waits for it.
    void on_loop(const std::function<void(mesoflow::transport::MasterClient&)>& f) {
        std::promise<void> done;
        boost::asio::post(io_, [&] {
            f(*client_);
            done.set_value();
        });
        done.get_future().wait();
    }

  private:
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::unique_ptr<mesoflow::transport::MasterClient> client_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<std::string> masters_;
    std::vector<std::string> records_;
};

inline bool eventually(const std::function<bool()>& predicate,
                       std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (predicate())
            return true;
        std::this_thread::sleep_for(10ms);
    }
    return predicate();
}

}  // namespace mesoflow::testing
