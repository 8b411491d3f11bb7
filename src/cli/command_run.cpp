// mesoflow run: the daemon. Loads the configuration, starts the admin
// endpoint (its own thread, "admin"; admin/admin_server.hpp) when
// admin_listen is not off, runs the Runtime on this thread until SIGTERM or
// SIGINT, stops the endpoint and exits with the Runtime's code.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <memory>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/invocation.hpp"
#include "mesoflow/admin/admin_server.hpp"
#include "mesoflow/admin/status_routes.hpp"
#include "mesoflow/common/log.hpp"
#ifdef MESOFLOW_HAVE_RUNTIME
#include "mesoflow/runtime/runtime.hpp"
#endif

namespace mesoflow::cli {
namespace {

const CommandSpec kSpec{
    .name = "run",
    .usage = R"(usage: mesoflow run [CONFIGURATION FLAGS]

Runs the scheduler: subscribes to the Mesos master as a framework, launches
the tasks queued in the database on the offers it receives, records every
status update, and serves the admin endpoint (/health, /ready, /metrics,
/state, and the status page /status) on admin_listen. Stops on SIGTERM or SIGINT; the framework stays
registered, so its tasks keep running until the next `mesoflow run`
re-attaches (within failover_timeout). Needs master and database.

Leadership: one process per framework name leads (a PostgreSQL advisory lock
with a lease of leader_lease); others stand by. A process that loses
leadership (its lease ran out, the database restarted) stops sending at once
and, without exiting, takes the lock back when it is free or stands by.

Exit codes: 0 stopped by a signal, 1 failure (database or masters unusable at
start, admin address in use), 2 configuration error, 3 the master refused or
removed the framework, or a scheduler that is not a mesoflow leader took it
over.
)",
    .full_config_help = true,
    .logs_info = true,
};

// The OS user for FrameworkInfo.user when framework_user is empty; under
// systemd's DynamicUser the name may only be known from $USER.
std::string os_user() {
    if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr)
        return pw->pw_name;
    if (const char* user = std::getenv("USER"); user != nullptr)
        return user;
    return "";
}

#ifdef MESOFLOW_HAVE_RUNTIME
std::string identity() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    return fmt::format("{}:{}", host[0] != '\0' ? host : "unknown-host", getpid());
}
#endif

}  // namespace

int command_run(const Args& args) {
    auto parsed = parse_invocation(kSpec, args);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto& inv = std::get<Invocation>(parsed);
    auto loaded = load_config(inv, {"master", "database"});
    if (!loaded)
        return kExitUsage;
    config::Config config = std::move(loaded->config);
    if (config.framework_user.empty()) {
        config.framework_user = os_user();
        if (config.framework_user.empty()) {
            return fail(inv, kExitUsage,
                        "cannot tell which user this process runs as; set framework_user "
                        "(--framework-user, MESOFLOW_FRAMEWORK_USER)");
        }
    }
#ifdef MESOFLOW_HAVE_RUNTIME
    try {
        runtime::Runtime rt(config, identity());
        std::unique_ptr<admin::AdminServer> admin_server;
        if (config.admin_listen.enabled()) {
            admin::AdminSources sources;
            sources.metrics = &rt.metrics();
            sources.ready = [&rt] { return rt.ready(); };
            sources.state_json = [&rt] { return rt.state_json(); };
            sources.version = MESOFLOW_VERSION;
            // The status page reads the database on a connection of its own.
            auto pages = std::make_shared<admin::StatusRoutes>(config.database,
                                                               [&rt] { return rt.state_json(); });
            sources.page = [pages](std::string_view path, std::string_view query) {
                return pages->serve(path, query);
            };
            auto started = admin::AdminServer::start(config.admin_listen.host,
                                                     config.admin_listen.port, std::move(sources));
            if (!started) {
                return fail(
                    inv, kExitFailure,
                    started.error().message + "; set admin_listen to a free address, or to off");
            }
            admin_server = std::move(*started);
            log::info("admin_listening", "address={}:{}", config.admin_listen.host,
                      admin_server->port());
        }
        const int code = rt.run();
        if (admin_server)
            admin_server->stop();
        return code;
    } catch (const std::exception& e) {
        return fail(inv, kExitFailure, e.what());
    }
#else
    return fail(inv, kExitFailure, "this mesoflow was built without the runtime module");
#endif
}

}  // namespace mesoflow::cli
