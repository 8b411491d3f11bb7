#include "pg_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace mesoflow::testing {
namespace {

// Protocol codes of the requests a client may send before its startup packet.
constexpr std::uint32_t kSslRequest = 80877103;
constexpr std::uint32_t kGssEncRequest = 80877104;

bool read_exact(int fd, char* out, std::size_t n) {
    while (n > 0) {
        const auto got = ::recv(fd, out, n, 0);
        if (got <= 0)
            return false;
        out += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

bool write_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        const auto put = ::send(fd, data, n, MSG_NOSIGNAL);
        if (put <= 0)
            return false;
        data += put;
        n -= static_cast<std::size_t>(put);
    }
    return true;
}

std::uint32_t be32(const char* p) {
    std::uint32_t v = 0;
    std::memcpy(&v, p, 4);
    return ntohl(v);
}

}  // namespace

PgProxy::PgProxy(int server_port, std::string blackhole_application, std::string cut_after)
    : server_port_(server_port),
      marker_(std::move(blackhole_application)),
      cut_after_(std::move(cut_after)),
      cut_armed_(!cut_after_.empty()) {
    if (::pipe(stop_pipe_) != 0 || ::pipe(release_pipe_) != 0)
        throw std::runtime_error("pipe");
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
        throw std::runtime_error("proxy: cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

PgProxy::~PgProxy() {
    release_held();
    const char c = 's';
    (void)!::write(stop_pipe_[1], &c, 1);
    acceptor_.join();
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        threads.swap(threads_);
    }
    for (auto& t : threads)
        t.join();
    for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1], release_pipe_[0], release_pipe_[1]})
        ::close(fd);
}

void PgProxy::release_held() {
    if (released_.exchange(true))
        return;
    const char c = 'r';
    (void)!::write(release_pipe_[1], &c, 1);
}

void PgProxy::accept_loop() {
    for (;;) {
        std::array<pollfd, 2> fds{pollfd{listen_fd_, POLLIN, 0}, pollfd{stop_pipe_[0], POLLIN, 0}};
        if (::poll(fds.data(), fds.size(), -1) < 0)
            continue;
        if (fds[1].revents != 0)
            return;
        const int client = ::accept(listen_fd_, nullptr, nullptr);
        if (client < 0)
            continue;
        std::lock_guard lock(mutex_);
        threads_.emplace_back([this, client] { serve(client); });
    }
}

void PgProxy::serve(int client) {
    std::string startup;
    for (;;) {
        char head[4];
        if (!read_exact(client, head, 4)) {
            ::close(client);
            return;
        }
        const auto len = be32(head);
        if (len < 8 || len > 10000) {
            ::close(client);
            return;
        }
        std::string body(len - 4, '\0');
        if (!read_exact(client, body.data(), body.size())) {
            ::close(client);
            return;
        }
        const auto code = be32(body.data());
        if (code == kSslRequest || code == kGssEncRequest) {
            if (!write_all(client, "N", 1)) {
                ::close(client);
                return;
            }
            continue;
        }
        startup = std::string(head, 4) + body;
        break;
    }
    if (startup.find(marker_) != std::string::npos && !released_.load()) {
        // Never answered: wait until the client gives up or the test releases it.
        held_++;
        std::array<pollfd, 3> fds{pollfd{client, POLLIN, 0}, pollfd{release_pipe_[0], POLLIN, 0},
                                  pollfd{stop_pipe_[0], POLLIN, 0}};
        for (;;) {
            if (::poll(fds.data(), fds.size(), -1) < 0)
                continue;
            if (fds[1].revents != 0 || fds[2].revents != 0)
                break;
            char sink[256];
            if (::recv(client, sink, sizeof sink, 0) <= 0)
                break;
        }
        held_--;
        ::close(client);
        return;
    }
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(server_port_));
    if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        !write_all(server, startup.data(), startup.size())) {
        ::close(server);
        ::close(client);
        return;
    }
    relay(client, server);
    ::close(server);
    ::close(client);
}

void PgProxy::relay(int client, int server) {
    std::array<pollfd, 3> fds{pollfd{client, POLLIN, 0}, pollfd{server, POLLIN, 0},
                              pollfd{stop_pipe_[0], POLLIN, 0}};
    char buf[16384];
    bool cutting = false;     // this connection's transaction is the one cut
    std::string seen;         // the client's last bytes, for a text split between reads
    std::string from_server;  // the server's messages not relayed yet, when cutting
    for (;;) {
        if (::poll(fds.data(), fds.size(), -1) < 0)
            continue;
        if (fds[2].revents != 0)
            return;
        for (int i = 0; i < 2; ++i) {
            if (fds[static_cast<std::size_t>(i)].revents == 0)
                continue;
            const int from = i == 0 ? client : server;
            const int to = i == 0 ? server : client;
            const auto got = ::recv(from, buf, sizeof buf, 0);
            if (got <= 0)
                return;
            const auto n = static_cast<std::size_t>(got);
            if (i == 0 && !cutting && cut_armed_.load()) {
                seen.append(buf, n);
                if (seen.find(cut_after_) != std::string::npos && cut_armed_.exchange(false))
                    cutting = true;
                if (seen.size() > cut_after_.size())
                    seen.erase(0, seen.size() - cut_after_.size());
            }
            if (i == 1 && cutting) {
                // Relay whole messages up to the ReadyForQuery that says the
                // transaction ended ('Z', status 'I'); that one never goes.
                from_server.append(buf, n);
                std::size_t pos = 0;
                while (from_server.size() - pos >= 5) {
                    const auto len = be32(from_server.data() + pos + 1);
                    if (from_server.size() - pos < 1 + len)
                        break;
                    if (from_server[pos] == 'Z' && len == 5 && from_server[pos + 5] == 'I') {
                        (void)write_all(to, from_server.data(), pos);
                        cuts_++;
                        return;
                    }
                    pos += 1 + len;
                }
                if (!write_all(to, from_server.data(), pos))
                    return;
                from_server.erase(0, pos);
                continue;
            }
            if (!write_all(to, buf, n))
                return;
        }
    }
}

}  // namespace mesoflow::testing
