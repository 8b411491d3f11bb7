// PgProxy: a loopback TCP proxy in front of the test PostgreSQL that lets a
// test make one kind of connection unanswerable. It reads each client's
// startup packet (answering SSL and GSS encryption requests with "no"); a
// connection whose startup names `blackhole_application` is accepted and
// then never answered (an unresponsive server, as a blackholing network
// looks to libpq), every other one is relayed to the server. With
// `cut_after`, the first relayed connection whose client sends that text
// (a prepared statement's name, say) has its next transaction committed and
// the answer lost: the server's messages are relayed up to the
// ReadyForQuery that ends the transaction, which is never sent, and both
// sides are closed (a connection that died with its COMMIT on the way).
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mesoflow::testing {

class PgProxy {
  public:
    PgProxy(int server_port, std::string blackhole_application, std::string cut_after = "");
    ~PgProxy();
    PgProxy(const PgProxy&) = delete;
    PgProxy& operator=(const PgProxy&) = delete;

    int port() const { return port_; }
    // Unanswered connections the client still holds open.
    std::size_t held() const { return held_.load(); }
    // Transactions whose answer was cut.
    std::size_t cuts() const { return cuts_.load(); }
    // Closes the unanswered connections (their clients see the server go)
    // and answers none from now on.
    void release_held();

  private:
    void accept_loop();
    void serve(int client);
    void relay(int client, int server);

    int server_port_;
    std::string marker_;
    std::string cut_after_;
    std::atomic<bool> cut_armed_{false};
    std::atomic<std::size_t> cuts_{0};
    int listen_fd_ = -1;
    int port_ = 0;
    int stop_pipe_[2] = {-1, -1};     // readable once the proxy stops
    int release_pipe_[2] = {-1, -1};  // readable once held connections go
    std::atomic<std::size_t> held_{0};
    std::atomic<bool> released_{false};
    std::mutex mutex_;
    std::vector<std::thread> threads_;
    std::thread acceptor_;
};

// RAII: releases the proxy's held connections when the scope ends, so a
// runtime blocked on one (before a fix) can stop.
class ReleaseHeld {
  public:
    explicit ReleaseHeld(PgProxy& proxy) : proxy_(proxy) {}
    ~ReleaseHeld() { proxy_.release_held(); }
    ReleaseHeld(const ReleaseHeld&) = delete;
    ReleaseHeld& operator=(const ReleaseHeld&) = delete;

  private:
    PgProxy& proxy_;
};

}  // namespace mesoflow::testing
