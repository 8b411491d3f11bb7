// mesoflow queue: the queues' settings (mesoflow.queues) and what stands in
// each. Plain SQL does the same; this spares the operator the SQL.
#include <cstdio>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/invocation.hpp"
#include "cli/task_table.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::cli {
namespace {

const CommandSpec kSpec{
    .name = "queue",
    .usage = R"(usage: mesoflow queue list
       mesoflow queue set NAME [SETTINGS...]
       mesoflow queue delete NAME

list    every queue with settings or tasks that have not ended: its weight and
        max_running, its tasks by where they stand, what its launched tasks use
set     creates the queue's settings or changes those given; a value `none`
        clears a setting (the weight back to 1)
delete  deletes the queue's settings; its tasks stay, under the defaults

Settings:
  --weight W            the queue's fair share against the other queues with work
                        (default 1): under contention launches follow the
                        weights, by dominant resource share
  --max-running N       at most N of its tasks launched and not ended at once
                        (claimed ones included); 0 pauses the queue
  --cpus N  --mem MB  --disk MB  --gpus N  --role ROLE  --image IMAGE
                        defaults for tasks queued later that set none
  --constraint ATTRIBUTE:OP[:VALUE]
                        default placement rules (repeatable; `none` clears)

Exit codes: 0 done, 1 database error or a value the table refuses, 2 usage
error, 4 no such queue (delete).
)",
    .options = {{"weight"},
                {"max-running"},
                {"cpus"},
                {"mem"},
                {"disk"},
                {"gpus"},
                {"role"},
                {"image"},
                {"constraint"}},
    .positional_name = "list|set|delete",
    .min_positional = 1,
    .max_positional = 2,
};

template <typename T>
using Change = std::optional<std::optional<T>>;

Result<Change<double>> number_change(const Invocation& inv, std::string_view name) {
    const auto text = inv.value(name);
    if (!text)
        return Change<double>{};
    if (*text == "none")
        return Change<double>{std::optional<double>{}};
    auto v = number_option(name, *text);
    if (!v)
        return v.error();
    return Change<double>{std::optional<double>{*v}};
}

Change<std::string> text_change(const Invocation& inv, std::string_view name) {
    const auto text = inv.value(name);
    if (!text)
        return {};
    if (*text == "none")
        return Change<std::string>{std::optional<std::string>{}};
    return Change<std::string>{std::optional<std::string>{*text}};
}

Result<store::QueueChange> queue_change(const Invocation& inv, const std::string& name) {
    store::QueueChange c;
    c.name = name;
    const std::pair<std::string_view, Change<double>*> numbers[] = {
        {"weight", &c.weight}, {"cpus", &c.cpus}, {"mem", &c.mem_mb},
        {"disk", &c.disk_mb},  {"gpus", &c.gpus},
    };
    for (const auto& [option, field] : numbers) {
        auto v = number_change(inv, option);
        if (!v)
            return v.error();
        *field = *v;
    }
    if (const auto text = inv.value("max-running")) {
        if (*text == "none") {
            c.max_running = std::optional<int>{};
        } else {
            auto v = integer_option("max-running", *text);
            if (!v)
                return v.error();
            c.max_running = std::optional<int>{*v};
        }
    }
    c.role = text_change(inv, "role");
    c.image = text_change(inv, "image");
    const auto constraints = inv.values("constraint");
    if (constraints.size() == 1 && constraints.front() == "none") {
        c.constraints = std::optional<std::vector<task::Constraint>>{};
    } else if (!constraints.empty()) {
        std::vector<task::Constraint> list;
        for (const auto& text : constraints) {
            auto parsed = constraint_option(text);
            if (!parsed)
                return parsed.error();
            list.push_back(std::move(*parsed));
        }
        c.constraints = std::optional<std::vector<task::Constraint>>{std::move(list)};
    }
    return c;
}

}  // namespace

int command_queue(const Args& args) {
    auto parsed = parse_invocation(kSpec, args);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto& inv = std::get<Invocation>(parsed);
    const std::string& action = inv.positional.front();
    const bool named = action == "set" || action == "delete";
    if (action != "list" && !named)
        return usage_error(kSpec, fmt::format("unknown action '{}': list, set or delete", action));
    if (named != (inv.positional.size() == 2)) {
        return usage_error(
            kSpec, named ? fmt::format("{} needs the queue's NAME", action) : "list takes no NAME");
    }
    if (action != "set" && !inv.options.empty())
        return usage_error(kSpec, "settings go with `set`");
    store::QueueChange change;
    if (action == "set") {
        auto c = queue_change(inv, inv.positional[1]);
        if (!c)
            return usage_error(kSpec, c.error().message);
        change = std::move(*c);
    }
    const auto loaded = load_config(inv, {"database"});
    if (!loaded)
        return kExitUsage;
    store::TaskStore store(loaded->config.database, "mesoflow queue");
    if (action == "list") {
        auto queues = store.queue_summaries();
        if (!queues)
            return fail(inv, kExitFailure, queues.error().message);
        auto reasons = store.pending_reason_counts(*queues);
        if (!reasons)
            return fail(inv, kExitFailure, reasons.error().message);
        if (queues->empty()) {
            std::puts("no queues: no settings and no tasks that have not ended");
            return kExitOk;
        }
        std::fputs(render_queue_table(*queues, *reasons).c_str(), stdout);
        return kExitOk;
    }
    if (action == "delete") {
        auto deleted = store.delete_queue(inv.positional[1]);
        if (!deleted)
            return fail(inv, kExitFailure, deleted.error().message);
        if (!*deleted) {
            return fail(inv, kExitNotFound,
                        fmt::format("queue '{}' has no settings", inv.positional[1]));
        }
        std::printf("queue %s: settings deleted; its tasks run under the defaults\n",
                    inv.positional[1].c_str());
        return kExitOk;
    }
    auto settings = store.set_queue(change);
    if (!settings)
        return fail(inv, kExitFailure, settings.error().message);
    std::fputs(render_queue_settings(*settings).c_str(), stdout);
    return kExitOk;
}

}  // namespace mesoflow::cli
