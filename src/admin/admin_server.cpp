#include "mesoflow/admin/admin_server.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "mesoflow/admin/prometheus.hpp"
#include "mesoflow/common/log.hpp"

namespace mesoflow::admin {
namespace {

// A client that sends nothing cannot hold the admin thread for longer.
constexpr std::chrono::seconds kReadTimeout{2};
constexpr std::chrono::seconds kWriteTimeout{2};
// How long a connection may sit idle before its request starts.
constexpr time_t kIdleTimeoutSeconds = 1;
// Requests to the admin endpoint carry no body worth more.
constexpr std::size_t kMaxRequestBody = 4096;
// How long start() waits for the server loop to run.
constexpr std::chrono::seconds kStartTimeout{5};

// Runs each connection on the thread that accepted it: the admin thread.
class InlineTaskQueue final : public httplib::TaskQueue {
  public:
    void enqueue(std::function<void()> fn) override { fn(); }
    void shutdown() override {}
};

std::string not_ready_reasons(const Metrics& m) {
    std::string out;
    const auto add = [&](bool missing, std::string_view what) {
        if (!missing)
            return;
        out += out.empty() ? "" : ", ";
        out += what;
    };
    add(m.subscribed.load() == 0, "not subscribed to a master");
    add(m.zookeeper_up.load() == 0, "zookeeper unreachable");
    add(m.zookeeper_up.load() == 1 && m.master_detected.load() == 0,
        "no leading master in zookeeper");
    add(m.leader.load() == 0 && m.standby.load() == 1,
        "standby: another mesoflow leads (/state names it)");
    add(m.leader.load() == 0 && m.standby.load() == 0, "not the leader");
    add(m.database_up.load() == 0, "database not reachable");
    if (const auto stuck = m.update_lanes_stuck.load(); stuck > 0) {
        add(true, fmt::format("{} update lane{} not committing for {:.0f} s", stuck,
                              stuck == 1 ? "" : "s",
                              static_cast<double>(m.update_lane_stall_us.load()) / 1e6));
    }
    return out.empty() ? "starting" : out;
}

}  // namespace

struct AdminServer::Impl {
    AdminSources sources;
    httplib::Server server;
    std::thread thread;
    int port = 0;

    void routes() {
        server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("ok\n", "text/plain");
        });
        server.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
            if (sources.ready()) {
                // Scheduling goes on with the master it has; operators should know.
                res.set_content(sources.metrics->zookeeper_up.load() == 0
                                    ? "ready (zookeeper unreachable: staying with the current "
                                      "master)\n"
                                    : "ready\n",
                                "text/plain");
                return;
            }
            res.status = 503;
            res.set_content("not ready: " + not_ready_reasons(*sources.metrics) + "\n",
                            "text/plain");
        });
        server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(render_prometheus(*sources.metrics, sources.version),
                            std::string(kPrometheusContentType));
        });
        server.Get("/state", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(sources.state_json() + "\n", "application/json");
        });
        if (sources.page) {
            // Registered last: the fixed paths above match first.
            server.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
                const std::string_view target = req.target;
                const auto mark = target.find('?');
                const std::string_view query =
                    mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
                std::optional<HttpAnswer> answer;
                try {
                    answer = sources.page(req.path, query);
                } catch (const std::exception& e) {
                    log::error("admin_page_failed", "path={} error={}", log::quote(req.path),
                               log::quote(e.what()));
                    res.status = 500;
                    res.set_content("the page failed: see mesoflow's log\n", "text/plain");
                    return;
                }
                if (!answer) {
                    res.status = 404;
                    return;
                }
                res.status = answer->status;
                res.set_content(std::move(answer->body), answer->content_type);
            });
        }
    }

    void serve() {
        pthread_setname_np(pthread_self(), "admin");
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &signals, nullptr);
        if (!server.listen_after_bind())
            log::error("admin_stopped", "reason={}", log::quote("listen failed"));
    }
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() {
    stop();
}

Result<std::unique_ptr<AdminServer>> AdminServer::start(const std::string& host, int port,
                                                        AdminSources sources) {
    if (sources.metrics == nullptr || !sources.ready || !sources.state_json)
        return Error{"admin endpoint: metrics, ready and state_json are required"};
    auto impl = std::make_unique<Impl>();
    impl->sources = std::move(sources);
    auto& server = impl->server;
    server.new_task_queue = [] { return new InlineTaskQueue; };
    server.set_keep_alive_max_count(1);
    server.set_keep_alive_timeout(kIdleTimeoutSeconds);
    // httplib's default adds SO_REUSEPORT, which would let a second mesoflow
    // share the port silently; SO_REUSEADDR alone keeps restarts quick.
    server.set_socket_options([](int sock) {
        const int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server.set_read_timeout(kReadTimeout);
    server.set_write_timeout(kWriteTimeout);
    server.set_payload_max_length(kMaxRequestBody);
    impl->routes();

    errno = 0;
    int bound = port;
    if (port == 0) {
        bound = server.bind_to_any_port(host);
    } else if (!server.bind_to_port(host, port)) {
        bound = -1;
    }
    if (bound <= 0) {
        const int err = errno;
        return Error{fmt::format("cannot listen on {}:{} for the admin endpoint{}{}", host, port,
                                 err != 0 ? ": " : "", err != 0 ? std::strerror(err) : "")};
    }
    impl->port = bound;
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->serve(); });
    // stop() only ends a loop that is running: wait for it, so that a stop
    // right after start cannot be lost.
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (!server.is_running()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            server.stop();
            impl->thread.join();
            return Error{"the admin endpoint did not start"};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

int AdminServer::port() const {
    return impl_->port;
}

void AdminServer::stop() {
    if (!impl_ || !impl_->thread.joinable())
        return;
    impl_->server.stop();
    impl_->thread.join();
}

}  // namespace mesoflow::admin
