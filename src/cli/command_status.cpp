// mesoflow status: the tasks in the queue as a table (newest first), or one
// task with its whole history.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/invocation.hpp"
#include "cli/task_table.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::cli {
namespace {

constexpr int kDefaultLimit = 50;

const CommandSpec kSpec{
    .name = "status",
    .usage = R"(usage: mesoflow status [--state STATE,...] [--key PREFIX] [--queue NAME] [--limit N]
       mesoflow status KEY

Without KEY: the newest tasks as a table, the number of tasks in each state, and
the queues (as `mesoflow queue list`).
With KEY: that task's columns and its whole history (launches, status updates,
kill requests, timeouts), oldest first.

  --state STATE,...   only tasks in these states (repeatable): pending, launching,
                      staging, starting, running, killing, finished, failed,
                      killed, lost, error; `active` means every state before
                      finished, `done` every state from finished on
  --key PREFIX        only tasks whose key starts with PREFIX
  --queue NAME        only tasks of the queue NAME
  --limit N           at most N tasks (default 50)

Exit codes: 0 shown, 1 database error, 2 usage error, 4 no task with KEY.
)",
    .options = {{"state"}, {"key"}, {"queue"}, {"limit"}},
    .positional_name = "KEY",
    .max_positional = 1,
};

constexpr task::TaskState kAllStates[] = {
    task::TaskState::pending,  task::TaskState::launching, task::TaskState::staging,
    task::TaskState::starting, task::TaskState::running,   task::TaskState::killing,
    task::TaskState::finished, task::TaskState::failed,    task::TaskState::killed,
    task::TaskState::lost,     task::TaskState::error,
};

Result<std::vector<task::TaskState>> states(const Invocation& inv) {
    std::vector<task::TaskState> out;
    for (const auto& list : inv.values("state")) {
        std::size_t start = 0;
        while (start <= list.size()) {
            const auto comma = list.find(',', start);
            const std::string word =
                list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            if (word == "active" || word == "done") {
                for (auto s : kAllStates) {
                    if (task::is_terminal(s) == (word == "done"))
                        out.push_back(s);
                }
            } else if (auto s = task::parse_task_state(word)) {
                out.push_back(*s);
            } else {
                return Error{fmt::format("--state: unknown state '{}'", word)};
            }
            if (comma == std::string::npos)
                break;
            start = comma + 1;
        }
    }
    return out;
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int show_one(const Invocation& inv, store::TaskStore& store, const std::string& key) {
    auto task = store.find_task(key);
    if (!task)
        return fail(inv, kExitFailure, task.error().message);
    if (!*task) {
        return fail(inv, kExitNotFound,
                    fmt::format("no task with key '{}' (`mesoflow status` lists the tasks)", key));
    }
    auto history = store.task_history((*task)->id);
    if (!history)
        return fail(inv, kExitFailure, history.error().message);
    auto waiting = store.pending_reason((*task)->id);
    if (!waiting)
        return fail(inv, kExitFailure, waiting.error().message);
    std::fputs(render_task_detail(**task, *history, *waiting).c_str(), stdout);
    return kExitOk;
}

}  // namespace

int command_status(const Args& args) {
    auto parsed = parse_invocation(kSpec, args);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto& inv = std::get<Invocation>(parsed);
    store::TaskFilter filter;
    filter.limit = kDefaultLimit;
    auto wanted = states(inv);
    if (!wanted)
        return usage_error(kSpec, wanted.error().message);
    filter.states = std::move(*wanted);
    filter.key_prefix = inv.value("key").value_or("");
    filter.queue = inv.value("queue").value_or("");
    if (auto limit = inv.value("limit")) {
        auto n = integer_option("limit", *limit);
        if (!n || *n < 1 || *n > store::kMaxPageSize) {
            return usage_error(
                kSpec, fmt::format("--limit: expected a number from 1 to {}", store::kMaxPageSize));
        }
        filter.limit = *n;
    }
    if (!inv.positional.empty() &&
        (inv.has("state") || inv.has("key") || inv.has("queue") || inv.has("limit"))) {
        return usage_error(kSpec,
                           "KEY shows one task: --state, --key, --queue and --limit are for lists");
    }

    const auto loaded = load_config(inv, {"database"});
    if (!loaded)
        return kExitUsage;
    store::TaskStore store(loaded->config.database, "mesoflow status");
    if (!inv.positional.empty())
        return show_one(inv, store, inv.positional.front());

    auto tasks = store.list_tasks(filter);
    if (!tasks)
        return fail(inv, kExitFailure, tasks.error().message);
    // The queue summaries read each queue's pending rows up to a cap; the
    // state counts take the pending count from them.
    auto queues = store.queue_summaries();
    if (!queues)
        return fail(inv, kExitFailure, queues.error().message);
    auto counts = store.counts_by_state(store::kExactEndedPagesUpTo, false);
    if (!counts)
        return fail(inv, kExitFailure, counts.error().message);
    store::StateCount pending{task::TaskState::pending, 0, false};
    for (const auto& q : *queues) {
        pending.count += q.pending + q.backoff;
        pending.estimated = pending.estimated || q.capped;
    }
    if (pending.estimated) {
        // A queue past the count's cap: the table's statistics say how many
        // (never fewer than the rows counted).
        auto estimate = store.pending_estimate();
        if (!estimate)
            return fail(inv, kExitFailure, estimate.error().message);
        pending.count = std::max(pending.count, estimate->value_or(0));
    }
    counts->push_back(pending);
    if (tasks->empty()) {
        std::puts("no tasks match");
    } else {
        std::fputs(render_task_table(*tasks, now_us()).c_str(), stdout);
    }
    std::printf("\n%zu shown (newest first); %s\n", tasks->size(),
                render_counts(std::move(*counts)).c_str());
    auto reasons = store.pending_reason_counts(*queues);
    if (!reasons)
        return fail(inv, kExitFailure, reasons.error().message);
    if (!queues->empty())
        std::printf("\n%s", render_queue_table(*queues, *reasons).c_str());
    return kExitOk;
}

}  // namespace mesoflow::cli
