#include "mesoflow/store/task_listener.hpp"

#include <poll.h>

#include <string_view>

#include "mesoflow/common/log.hpp"
#include "pg.hpp"

namespace mesoflow::store {
namespace {

// Bounds one drain() under a flood of notifications; the rest waits for the next.
constexpr int kMaxReadsPerDrain = 16;

}  // namespace

struct TaskListener::Connection {
    pg::Connection conn;
};

TaskListener::TaskListener(std::string dsn) : dsn_(std::move(dsn)) {}
TaskListener::~TaskListener() = default;
TaskListener::TaskListener(TaskListener&&) noexcept = default;
TaskListener& TaskListener::operator=(TaskListener&&) noexcept = default;

Status TaskListener::connect() {
    conn_.reset();
    auto conn = pg::connect(dsn_, pg::SessionDefaults{"mesoflow-listener", 0});
    if (!conn)
        return conn.error();
    const std::string listen = std::string("LISTEN ") + kTaskChannel;
    if (auto res = pg::exec(conn->get(), listen.c_str()); !res)
        return res.error();
    conn_ = std::make_unique<Connection>(Connection{std::move(*conn)});
    missed_ = true;
    log::info("task_listener_connected", "channel={}", kTaskChannel);
    return {};
}

bool TaskListener::connected() const {
    return conn_ != nullptr;
}

int TaskListener::socket() const {
    return conn_ ? PQsocket(conn_->conn.get()) : -1;
}

Result<Wakeup> TaskListener::drain() {
    if (!conn_)
        return Error{"task listener is not connected"};
    PGconn* conn = conn_->conn.get();
    // A server that ends the session sends its FATAL message, then closes:
    // keep reading while data is there, so the close is seen in this call
    // rather than on a next wake-up.
    for (int round = 0; round < kMaxReadsPerDrain; ++round) {
        if (PQconsumeInput(conn) == 0 || pg::is_broken(conn)) {
            Error error{"task listener lost its connection: " + pg::describe_error(conn, nullptr)};
            conn_.reset();
            return error;
        }
        pollfd p{PQsocket(conn), POLLIN, 0};
        if (::poll(&p, 1, 0) != 1)
            break;
    }
    Wakeup wake;
    if (missed_) {
        wake.pending = true;
        wake.kill = true;
        missed_ = false;
    }
    while (PGnotify* n = PQnotifies(conn)) {
        const std::string_view payload = n->extra != nullptr ? n->extra : "";
        if (payload == "kill") {
            wake.kill = true;
        } else {
            wake.pending = true;
        }
        PQfreemem(n);
    }
    return wake;
}

}  // namespace mesoflow::store
