// TaskListener: wakes the runtime when producers queue tasks or request
// kills. It LISTENs on its own connection to the channel the queue table's
// triggers NOTIFY ("mesoflow_tasks", payload "pending" or "kill").
//
// The runtime watches socket() for readability (e.g. a Boost.Asio
// posix::stream_descriptor) and then calls drain(), which never blocks.
// connect() blocks (call it where blocking is fine: the runtime calls it on a
// thread of its own and hands the connected listener to its event loop,
// which owns it from then on). When drain() fails the
// connection is gone: the runtime calls connect() again, registers the NEW
// socket(), and meanwhile polls. Notifications sent while disconnected are
// lost, so the first drain() after a (re)connect reports both wake-ups.
// Not thread-safe; one owner.
#pragma once

#include <memory>
#include <string>

#include "mesoflow/common/result.hpp"

namespace mesoflow::store {

inline constexpr const char* kTaskChannel = "mesoflow_tasks";

struct Wakeup {
    bool pending = false;  // new pending tasks were queued
    bool kill = false;     // a kill was requested
    bool any() const { return pending || kill; }
};

class TaskListener {
  public:
    explicit TaskListener(std::string dsn);
    ~TaskListener();
    TaskListener(TaskListener&&) noexcept;
    TaskListener& operator=(TaskListener&&) noexcept;
    TaskListener(const TaskListener&) = delete;
    TaskListener& operator=(const TaskListener&) = delete;

    Status connect();
    bool connected() const;
    // The connection's socket, -1 when not connected.
    int socket() const;
    // Reads whatever arrived, without blocking.
    Result<Wakeup> drain();

  private:
    struct Connection;
    std::string dsn_;
    std::unique_ptr<Connection> conn_;
    bool missed_ = true;
};

}  // namespace mesoflow::store
