#include "task_columns.hpp"

#include <fmt/format.h>

#include "json_columns.hpp"
#include "pg.hpp"

namespace mesoflow::store {
namespace {

std::string text_array(const std::vector<std::string>& values) {
    pg::ArrayLiteral a;
    for (const auto& v : values)
        a.push(v);
    return a.str();
}

}  // namespace

void task_column_values(const NewTask& task, TaskColumnValues& out) {
    std::size_t i = 0;
    const auto set = [&](bool present, auto&& text) {
        if (present) {
            out[i] = std::forward<decltype(text)>(text)();
        } else {
            out[i].reset();
        }
        ++i;
    };
    const auto number = [&](const auto& value) {
        set(value.has_value(), [&] { return fmt::format("{}", *value); });
    };
    const auto flag = [&](bool value) { set(value, [] { return std::string("t"); }); };
    set(true, [&] { return task.key; });
    set(task.command.has_value(), [&] { return *task.command; });
    set(!task.argv.empty(), [&] { return text_array(task.argv); });
    set(task.image.has_value(), [&] { return *task.image; });
    set(task.containerizer != task::Containerizer::none,
        [&] { return std::string(to_string(task.containerizer)); });
    flag(task.force_pull);
    set(!task.volumes.empty(), [&] { return json_volumes(task.volumes); });
    set(task.network != task::NetworkMode::unset,
        [&] { return std::string(to_string(task.network)); });
    set(!task.network_name.empty(), [&] { return task.network_name; });
    set(!task.docker_parameters.empty(), [&] { return json_parameters(task.docker_parameters); });
    number(task.cpus);
    number(task.mem_mb);
    number(task.disk_mb);
    number(task.gpus);
    number(task.ports);
    set(!task.env.empty(), [&] { return json_object(task.env); });
    set(!task.uris.empty(), [&] { return text_array(task.uris); });
    set(!task.user.empty(), [&] { return task.user; });
    set(!task.labels.empty(), [&] { return json_object(task.labels); });
    set(!task.role.empty(), [&] { return task.role; });
    set(!task.constraints.empty(), [&] { return json_constraints(task.constraints); });
    number(task.priority);
    number(task.max_attempts);
    number(task.retry_backoff_s);
    flag(task.retry_on_failure);
    number(task.timeout_s);
    flag(task.kill_requested);
    set(!task.queue.empty(), [&] { return task.queue; });
    set(task.not_before.has_value(), [&] { return *task.not_before; });
}

}  // namespace mesoflow::store
