// AdminServer: the operator's HTTP endpoint of `mesoflow run` (loopback by
// default, config key admin_listen):
//   GET /health   200 "ok" while the process serves requests at all
//   GET /ready    200 when sources.ready() holds, else 503 naming what is missing
//   GET /metrics  Prometheus text format (prometheus.hpp)
//   GET /state    sources.state_json(), application/json
// Any other GET goes to sources.page when set (the status page,
// status_routes.hpp), which answers or declines; what nobody answers is 404.
// HEAD works wherever GET does.
//
// Threads: start() binds at once and serves on one thread of its own, named
// "admin", which handles connections one at a time (one request per
// connection, short timeouts): a scrape or a probe is cheap, and the event
// loop never waits for this thread. SIGINT and SIGTERM are blocked on it so
// they reach the runtime's handler. The sources are called on the admin
// thread and must be thread-safe; they must outlive the server.
//
// start() returns an Error (address in use, unknown host) instead of
// throwing; stop() and the destructor close the socket and join the thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mesoflow/common/result.hpp"
#include "mesoflow/metrics/metrics.hpp"

namespace mesoflow::admin {

// One answer of a page source.
struct HttpAnswer {
    int status = 200;
    std::string content_type;
    std::string body;
};

// Given a request's path and its raw query string (after '?', still
// %-encoded), an answer, or nullopt when the path is not the source's.
using PageSource =
    std::function<std::optional<HttpAnswer>(std::string_view path, std::string_view query)>;

struct AdminSources {
    const Metrics* metrics = nullptr;         // required
    std::function<bool()> ready;              // required
    std::function<std::string()> state_json;  // required
    std::string version;                      // for mesoflow_build_info
    PageSource page;                          // optional: other GET paths
};

class AdminServer {
  public:
    // host: a name or an address (IPv6 without brackets); port 0 picks a free one.
    static Result<std::unique_ptr<AdminServer>> start(const std::string& host, int port,
                                                      AdminSources sources);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // The port actually bound.
    int port() const;
    // Idempotent.
    void stop();

    struct Impl;

  private:
    explicit AdminServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace mesoflow::admin
