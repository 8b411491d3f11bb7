// A call connection that dies while a batch is being written: calls any byte
// of which went out may have reached the master, so only those safe to take
// twice go again, with those none of whose bytes went out; an ACCEPT among
// the others ends with its outcome unknown and is never written again.
//
// The master here is a few raw sockets: it serves the subscription, answers
// whole requests with 202, and on the first connection that brings the
// ACCEPT reads part of it and resets the connection. Its receive buffer is
// small and the ACCEPT larger than any socket buffers on the way, so the
// reset always comes while the client is still writing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "master_client_fixture.hpp"
#include "mesoflow/transport/master_client.hpp"

using namespace std::chrono_literals;
using mesoflow::testing::Client;
using mesoflow::testing::eventually;
using mesoflow::testing::quick_transport;
namespace transport = mesoflow::transport;

namespace {

constexpr std::string_view kAcceptMarker = "\"marker\":\"the-accept\"";

// The largest a socket buffer may grow to here (tcp_wmem / tcp_rmem maximum).
std::size_t max_socket_buffer(const char* path) {
    std::ifstream in(path);
    std::size_t min = 0, def = 0, max = 0;
    if (in >> min >> def >> max)
        return max;
    return 8u << 20;
}

std::size_t count_of(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

class CuttingMaster {
  public:
    CuttingMaster() {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        const int one = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        // Inherited by accepted sockets: the client can get little ahead.
        const int small = 4096;
        ::setsockopt(listener_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_, 16) != 0)
            throw std::runtime_error("cannot listen");
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~CuttingMaster() {
        stop_ = true;
        acceptor_.join();
        ::close(listener_);
        std::lock_guard lock(mutex_);
        for (auto& t : connections_)
            t.join();
    }

    int port() const { return port_; }
    // Every byte each call connection brought, one string per connection.
    std::vector<std::string> received() const {
        std::lock_guard lock(mutex_);
        return received_;
    }
    bool cut() const { return cut_; }

  private:
    // Waits for bytes; false once the test is over or the peer is gone.
    bool read_some(int fd, std::size_t index, std::string& into) {
        while (!stop_) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0)
                continue;
            char chunk[4096];
            const auto n = ::read(fd, chunk, sizeof chunk);
            if (n <= 0)
                return false;
            into.append(chunk, static_cast<std::size_t>(n));
            std::lock_guard lock(mutex_);
            received_[index].append(chunk, static_cast<std::size_t>(n));
            return true;
        }
        return false;
    }

    void accept_loop() {
        while (!stop_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0)
                continue;
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd < 0)
                continue;
            std::lock_guard lock(mutex_);
            received_.emplace_back();
            const std::size_t index = received_.size() - 1;
            connections_.emplace_back([this, fd, index] { serve(fd, index); });
        }
    }

    void serve(int fd, std::size_t index) {
        std::string buffer;
        while (read_some(fd, index, buffer)) {
            if (!cut_ && buffer.find(kAcceptMarker) != std::string::npos &&
                buffer.size() >= 64 * 1024) {
                // Part of the ACCEPT is in: the connection dies (a reset).
                cut_ = true;
                const linger hard{1, 0};
                ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
                ::close(fd);
                return;
            }
            // Whole requests: the subscription streams, every call gets 202.
            for (;;) {
                const auto head_end = buffer.find("\r\n\r\n");
                if (head_end == std::string::npos)
                    break;
                const auto cl = buffer.find("Content-Length: ");
                if (cl == std::string::npos || cl > head_end)
                    break;
                const std::size_t length = std::stoul(buffer.substr(cl + 16));
                if (buffer.size() < head_end + 4 + length)
                    break;
                const std::string body = buffer.substr(head_end + 4, length);
                buffer.erase(0, head_end + 4 + length);
                if (body.find("\"SUBSCRIBE\"") != std::string::npos) {
                    const std::string record =
                        R"({"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"fw"}}})";
                    const std::string framed = std::to_string(record.size()) + "\n" + record;
                    char size[16];
                    std::snprintf(size, sizeof size, "%zx", framed.size());
                    const std::string answer =
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\nMesos-Stream-Id: stream-1\r\n\r\n" +
                        std::string(size) + "\r\n" + framed + "\r\n";
                    (void)!::write(fd, answer.data(), answer.size());
                } else {
                    {
                        std::lock_guard lock(mutex_);
                        answered_.push_back(body);
                    }
                    const std::string answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
                    (void)!::write(fd, answer.data(), answer.size());
                }
            }
        }
        ::close(fd);
    }

  public:
    std::vector<std::string> answered() const {
        std::lock_guard lock(mutex_);
        return answered_;
    }

  private:
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<bool> cut_{false};
    std::thread acceptor_;
    mutable std::mutex mutex_;
    std::vector<std::thread> connections_;
    std::vector<std::string> received_;
    std::vector<std::string> answered_;
};

}  // namespace

TEST_CASE(
    "a connection that dies while a batch is written sends the ACCEPT in it never again; "
    "calls safe to resend and calls not yet written go on a fresh connection") {
    CuttingMaster master;
    auto config = quick_transport("127.0.0.1", master.port());
    config.call_connections = 1;  // one connection, carrying every call
    Client client(config);
    REQUIRE(eventually([&] { return !client.records().empty(); }));

    // Larger than what the client's send buffer and the master's receive
    // buffer can hold together, wherever they are tuned.
    const std::size_t pad = 2 * max_socket_buffer("/proc/sys/net/ipv4/tcp_wmem") +
                            max_socket_buffer("/proc/sys/net/ipv4/tcp_rmem") + (4u << 20);
    const std::string accept = R"({"type":"ACCEPT",)" + std::string(kAcceptMarker) + R"(,"pad":")" +
                               std::string(pad, 'x') + "\"}";
    const std::string decline = R"({"type":"DECLINE","marker":"decline-before"})";
    const std::string kill = R"({"type":"KILL","marker":"kill-after"})";

    std::promise<void> all;
    std::mutex mutex;
    std::map<std::string, transport::CallResult> results;
    auto done = [&](std::string name) {
        return [&, name](const transport::CallResult& r) {
            std::lock_guard lock(mutex);
            results[name] = r;
            if (results.size() == 3)
                all.set_value();
        };
    };
    // Queued together: one batch, the DECLINE's bytes first, then the ACCEPT,
    // then a call not safe to resend whose bytes never go out.
    client.on_loop([&](transport::MasterClient& mc) {
        mc.send(decline, done("decline"), false, true);
        mc.send(accept, done("accept"), false, false);
        mc.send(kill, done("kill"), false, false);
    });
    REQUIRE(all.get_future().wait_for(60s) == std::future_status::ready);
    REQUIRE(master.cut());

    // The ACCEPT: written in part, never again, its outcome unknown.
    std::size_t accepts_seen = 0;
    for (const auto& bytes : master.received())
        accepts_seen += count_of(bytes, kAcceptMarker);
    CHECK(accepts_seen == 1);
    const auto& a = results["accept"];
    CHECK(a.status == 0);
    CHECK(a.written.has_value());
    CHECK(a.error.find("outcome unknown") != std::string::npos);
    // The DECLINE (written, safe to resend: the master took it before the
    // connection died, and takes it again) and the KILL (never written) go
    // again on a fresh connection and are answered.
    CHECK(results["decline"].status == 202);
    CHECK(results["kill"].status == 202);
    std::size_t declines = 0, kills = 0;
    for (const auto& body : master.answered()) {
        declines += count_of(body, "decline-before");
        kills += count_of(body, "kill-after");
    }
    CHECK(declines == 2);  // answered on the connection that died, then again
    CHECK(kills == 1);
}
