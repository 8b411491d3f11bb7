// mesoflow kill: asks mesoflow to kill a task (TaskStore::request_kill). A
// task not launched yet is killed at once by the table itself; a launched one
// is killed on its agent by the running `mesoflow run`.
#include <cstdio>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/invocation.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::cli {
namespace {

const CommandSpec kSpec{
    .name = "kill",
    .usage = R"(usage: mesoflow kill KEY

Asks for the task KEY to be killed. A task that has not been launched yet is
killed at once; a launched one is killed on its agent by `mesoflow run` (SIGTERM,
then SIGKILL after kill_grace_period). A killed task is never retried.
`mesoflow status KEY` follows it.

Exit codes: 0 kill requested (or the task had already ended), 1 database error,
2 usage error, 4 no task with KEY.
)",
    .positional_name = "KEY",
    .min_positional = 1,
    .max_positional = 1,
};

}  // namespace

int command_kill(const Args& args) {
    auto parsed = parse_invocation(kSpec, args);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto& inv = std::get<Invocation>(parsed);
    const auto loaded = load_config(inv, {"database"});
    if (!loaded)
        return kExitUsage;
    const std::string& key = inv.positional.front();
    store::TaskStore store(loaded->config.database, "mesoflow kill");

    // Read first: a task that had already ended keeps its state, and saying
    // so beats reporting a kill that did nothing.
    auto before = store.find_task(key);
    if (!before)
        return fail(inv, kExitFailure, before.error().message);
    if (!*before) {
        return fail(inv, kExitNotFound,
                    fmt::format("no task with key '{}' (`mesoflow status` lists the tasks)", key));
    }
    if (task::is_terminal((*before)->state)) {
        std::printf("%s had already ended (%s); nothing to kill\n", key.c_str(),
                    std::string(task::to_string((*before)->state)).c_str());
        return kExitOk;
    }
    auto state = store.request_kill(key);
    if (!state)
        return fail(inv, kExitFailure, state.error().message);
    if (!*state) {
        return fail(inv, kExitNotFound, fmt::format("task '{}' was deleted meanwhile", key));
    }
    if (**state == task::TaskState::killed) {
        std::printf("%s killed (%s)\n", key.c_str(),
                    (*before)->attempt == 0 ? "it had not been launched"
                                            : "it was waiting for its next attempt");
    } else if (task::is_terminal(**state)) {
        std::printf("%s had already ended (%s); nothing to kill\n", key.c_str(),
                    std::string(task::to_string(**state)).c_str());
    } else {
        std::printf("kill requested for %s (now %s); `mesoflow run` kills it on its agent\n",
                    key.c_str(), std::string(task::to_string(**state)).c_str());
    }
    return kExitOk;
}

}  // namespace mesoflow::cli
