// mesoflow teardown: removes the framework from Mesos for good (every task
// of it is killed) and forgets its id, so that the next `mesoflow run`
// registers a new framework. The only way mesoflow tears a framework down:
// `mesoflow run` never does, even when it stops (see master_teardown.hpp for
// how the master is asked).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/invocation.hpp"
#include "cli/master_teardown.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::cli {
namespace {

const CommandSpec kSpec{
    .name = "teardown",
    .usage = R"(usage: mesoflow teardown [--yes]

Tears the framework down: the Mesos master kills every task it runs for
mesoflow and forgets the framework, whose id can never be used again. The
stored framework id is then cleared, so the next `mesoflow run` registers a
new framework. Tasks still pending in the queue stay queued for that run.
Stop the daemon first (systemctl stop mesoflow): a running `mesoflow run`
exits with code 3 once the master has removed its framework.

The master is asked through its operator endpoint POST /master/teardown, with
the configured principal and secret when set.

  --yes   do not ask for confirmation (required when stdin is not a terminal)

Exit codes: 0 torn down, 1 declined at the prompt or failure (no master
reachable, credentials refused, database error), 2 usage or configuration
error (also: no terminal and no --yes), 3 the master refused (it knows no such
framework), 4 no framework id stored: nothing to tear down.
)",
    .options = {{"yes", false}},
};

bool confirmed(const std::string& name, const std::string& framework_id,
               const std::string& master) {
    std::fprintf(stderr,
                 "Tear down framework '%s' (id %s) through %s?\n"
                 "Mesos kills every task of it, and the id can never be used again.\n"
                 "Type yes to continue: ",
                 name.c_str(), framework_id.c_str(), master.c_str());
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer))
        return false;
    return answer == "yes";
}

}  // namespace

int command_teardown(const Args& args) {
    auto parsed = parse_invocation(kSpec, args);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto& inv = std::get<Invocation>(parsed);
    const bool yes = inv.has("yes");
    if (!yes && isatty(STDIN_FILENO) == 0) {
        return fail(inv, kExitUsage,
                    "refusing to tear down without confirmation: stdin is not a terminal; "
                    "pass --yes to confirm");
    }
    const auto loaded = load_config(inv, {"master", "database"});
    if (!loaded)
        return kExitUsage;
    const auto& config = loaded->config;

    store::TaskStore store(config.database, "mesoflow teardown");
    auto framework_id = store.load_framework_id(config.framework_name);
    if (!framework_id)
        return fail(inv, kExitFailure, framework_id.error().message);
    if (!*framework_id) {
        return fail(inv, kExitNotFound,
                    fmt::format("no framework id stored for framework '{}': it never registered, "
                                "or was torn down already; nothing to tear down",
                                config.framework_name));
    }
    const std::string& id = **framework_id;
    const std::string where =
        config.master_zookeeper ? config.master_zookeeper->display() : config.masters.front().url();
    if (!yes && !confirmed(config.framework_name, id, where))
        return fail(inv, kExitFailure, "not confirmed; nothing was torn down");

    const auto outcome = teardown_framework(config, id);
    switch (outcome.kind) {
        case TeardownOutcome::Kind::torn_down:
            break;
        case TeardownOutcome::Kind::refused:
            return fail(inv, kExitFrameworkError,
                        fmt::format("{} refused to tear down framework {}: {}. It no longer knows "
                                    "this framework (torn down already, or its failover_timeout "
                                    "passed)",
                                    outcome.master, id, outcome.detail));
        case TeardownOutcome::Kind::unauthorized:
            return fail(inv, kExitFailure,
                        fmt::format("{} refused the request: {}. Set principal and secret to a "
                                    "principal allowed to tear down this framework",
                                    outcome.master, outcome.detail));
        case TeardownOutcome::Kind::failed:
            return fail(inv, kExitFailure,
                        fmt::format("no master tore the framework down: {}", outcome.detail));
    }
    log::info("framework_torn_down", "framework={} framework_id={} master={}",
              log::quote(config.framework_name), id, outcome.master);
    if (auto forgotten = store.forget_framework_id(config.framework_name); !forgotten) {
        return fail(inv, kExitFailure,
                    fmt::format("framework {} was torn down, but its id could not be cleared: {}. "
                                "Run mesoflow teardown --yes again once the database is back",
                                id, forgotten.error().message));
    }
    std::printf("framework %s torn down; the next `mesoflow run` registers a new framework\n",
                id.c_str());
    return kExitOk;
}

}  // namespace mesoflow::cli
