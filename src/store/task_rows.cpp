#include "task_rows.hpp"

#include <stdexcept>
#include <string>

#include "json_columns.hpp"
#include "pg.hpp"

namespace mesoflow::store {
namespace {

task::TaskState read_state(const PGresult* res, int row, int col) {
    const auto state = task::parse_task_state(pg::text(res, row, col));
    // The table's state_must_be_known check makes anything else impossible.
    if (!state)
        throw std::logic_error("unknown task state " + std::string(pg::text(res, row, col)));
    return *state;
}

task::Containerizer read_containerizer(const PGresult* res, int row, int col) {
    return task::parse_containerizer(pg::text(res, row, col)).value_or(task::Containerizer::none);
}

std::optional<std::string> read_command(const PGresult* res, int row, int col) {
    return pg::opt_text(res, row, col);
}

// A JSON column of a task to launch: what it holds, or nothing and the
// spec's `unreadable` set (the first such column), so that the claim's
// policy refuses the task rather than launch it with less.
template <typename Parse>
auto read_json(task::TaskSpec& t, const char* column, std::string_view text, Parse parse) {
    std::string why;
    auto value = parse(text, &why);
    if (!value && t.unreadable.empty())
        t.unreadable = std::string(column) + ": " + why;
    return std::move(value).value_or(typename decltype(value)::value_type{});
}

// For a listing: what can be read (a column that cannot, as empty).
template <typename T>
T or_empty(std::optional<T> value) {
    return std::move(value).value_or(T{});
}

}  // namespace

// An image without a containerizer means docker; a blank command is none.
#define MESOFLOW_COMMAND_SQL "CASE WHEN btrim(command) = '' THEN NULL ELSE command END"
#define MESOFLOW_CONTAINERIZER_SQL                                                        \
    "CASE WHEN coalesce(btrim(image), '') = '' THEN 'none' ELSE coalesce(containerizer, " \
    "'docker') END"
// Microseconds since the epoch. The value is clamped to the years 1 to 9999
// first, so that a time no bigint can hold (infinity, a row written before
// schema 3's checks) never makes the statement fail for every other row.
#define MESOFLOW_MICROS(column)                          \
    "(extract(epoch FROM CASE WHEN " column              \
    " < '0001-01-01 00:00:00+00' THEN "                  \
    "'0001-01-01 00:00:00+00'::timestamptz WHEN " column \
    " > '9999-12-31 00:00:00+00' "                       \
    "THEN '9999-12-31 00:00:00+00'::timestamptz ELSE " column " END) * 1000000)::bigint"

const char* const kTaskSpecColumns =
    "id, key, attempt, " MESOFLOW_COMMAND_SQL
    ", array_to_json(argv)::text, coalesce(image, ''), " MESOFLOW_CONTAINERIZER_SQL
    ", force_pull, cpus, mem, disk, gpus, ports, env::text, "
    "array_to_json(uris)::text, coalesce(run_as_user, ''), labels::text, coalesce(role, ''), "
    "constraints::text, priority, "
    // A task was not inserted after the claim that reads it: the runtime
    // measures decision times from here.
    MESOFLOW_MICROS("least(created_at, now())") ", timeout_s, "
    "coalesce(volumes::text, '[]'), coalesce(network, ''), coalesce(network_name, ''), "
    "coalesce(docker_parameters::text, '[]'), queue";

task::TaskSpec read_task_spec(const PGresult* res, int row) {
    task::TaskSpec t;
    t.id = pg::to_int64(res, row, 0);
    t.key = pg::text(res, row, 1);
    t.attempt = pg::to_int(res, row, 2);
    t.shell_command = read_command(res, row, 3);
    t.argv = read_json(t, "argv", pg::text(res, row, 4), parse_json_strings);
    t.image = pg::text(res, row, 5);
    t.containerizer = read_containerizer(res, row, 6);
    t.force_pull = pg::to_bool(res, row, 7);
    t.cpus = pg::to_double(res, row, 8);
    t.mem_mb = pg::to_double(res, row, 9);
    t.disk_mb = pg::to_double(res, row, 10);
    t.gpus = pg::to_double(res, row, 11);
    t.ports = pg::to_int(res, row, 12);
    t.env = read_json(t, "env", pg::text(res, row, 13), parse_json_object);
    t.uris = read_json(t, "uris", pg::text(res, row, 14), parse_json_strings);
    t.user = pg::text(res, row, 15);
    t.labels = read_json(t, "labels", pg::text(res, row, 16), parse_json_object);
    t.role = pg::text(res, row, 17);
    t.constraints = read_json(t, "constraints", pg::text(res, row, 18), parse_json_constraints);
    t.priority = pg::to_int(res, row, 19);
    t.created_at_us = pg::to_int64(res, row, 20);
    t.timeout_s = pg::opt_double(res, row, 21);
    t.volumes = read_json(t, "volumes", pg::text(res, row, 22), parse_json_volumes);
    t.network = task::parse_network_mode(pg::text(res, row, 23)).value_or(task::NetworkMode::unset);
    t.network_name = pg::text(res, row, 24);
    t.docker_parameters =
        read_json(t, "docker_parameters", pg::text(res, row, 25), parse_json_parameters);
    t.queue = pg::text(res, row, 26);
    return t;
}

const char* const kTaskRowColumns =
    "id, key, state, attempt, max_attempts, priority, " MESOFLOW_COMMAND_SQL
    ", array_to_json(argv)::text, coalesce(image, ''), " MESOFLOW_CONTAINERIZER_SQL
    ", cpus, mem, disk, gpus, ports, timeout_s, kill_requested, timed_out, "
    "coalesce(mesos_task_id, ''), coalesce(agent_id, ''), coalesce(hostname, ''), "
    "coalesce(message, ''), coalesce(reason, ''), coalesce(source, ''), exit_status, healthy, "
    MESOFLOW_MICROS("created_at") ", " MESOFLOW_MICROS("updated_at") ", "
    MESOFLOW_MICROS("not_before") ", " MESOFLOW_MICROS("launched_at") ", "
    MESOFLOW_MICROS("started_at") ", " MESOFLOW_MICROS("finished_at") ", "
    "coalesce(volumes::text, '[]'), coalesce(network, ''), coalesce(network_name, ''), "
    "coalesce(docker_parameters::text, '[]'), queue";

TaskRow read_task_row(const PGresult* res, int row) {
    TaskRow t;
    t.id = pg::to_int64(res, row, 0);
    t.key = pg::text(res, row, 1);
    t.state = read_state(res, row, 2);
    t.attempt = pg::to_int(res, row, 3);
    t.max_attempts = pg::to_int(res, row, 4);
    t.priority = pg::to_int(res, row, 5);
    t.command = read_command(res, row, 6);
    t.argv = or_empty(parse_json_strings(pg::text(res, row, 7)));
    t.image = pg::text(res, row, 8);
    t.containerizer = read_containerizer(res, row, 9);
    t.cpus = pg::to_double(res, row, 10);
    t.mem_mb = pg::to_double(res, row, 11);
    t.disk_mb = pg::to_double(res, row, 12);
    t.gpus = pg::to_double(res, row, 13);
    t.ports = pg::to_int(res, row, 14);
    t.timeout_s = pg::opt_double(res, row, 15);
    t.kill_requested = pg::to_bool(res, row, 16);
    t.timed_out = pg::to_bool(res, row, 17);
    t.mesos_task_id = pg::text(res, row, 18);
    t.agent_id = pg::text(res, row, 19);
    t.hostname = pg::text(res, row, 20);
    t.message = pg::text(res, row, 21);
    t.reason = pg::text(res, row, 22);
    t.source = pg::text(res, row, 23);
    t.exit_status = pg::opt_int(res, row, 24);
    t.healthy = pg::opt_bool(res, row, 25);
    t.created_at_us = pg::to_int64(res, row, 26);
    t.updated_at_us = pg::to_int64(res, row, 27);
    t.not_before_us = pg::to_int64(res, row, 28);
    t.launched_at_us = pg::opt_int64(res, row, 29);
    t.started_at_us = pg::opt_int64(res, row, 30);
    t.finished_at_us = pg::opt_int64(res, row, 31);
    t.volumes = or_empty(parse_json_volumes(pg::text(res, row, 32)));
    t.network = task::parse_network_mode(pg::text(res, row, 33)).value_or(task::NetworkMode::unset);
    t.network_name = pg::text(res, row, 34);
    t.docker_parameters = or_empty(parse_json_parameters(pg::text(res, row, 35)));
    t.queue = pg::text(res, row, 36);
    return t;
}

const char* const kLiveAttemptColumns =
    "id, attempt, coalesce(mesos_task_id, ''), coalesce(agent_id, ''), state, kill_requested, "
    "timed_out, coalesce(launch_timed_out_attempt = attempt, false)";

LiveAttempt read_live_attempt(const PGresult* res, int row) {
    LiveAttempt a;
    a.task_id = pg::to_int64(res, row, 0);
    a.attempt = pg::to_int(res, row, 1);
    a.mesos_task_id = pg::text(res, row, 2);
    a.agent_id = pg::text(res, row, 3);
    a.state = read_state(res, row, 4);
    a.kill_requested = pg::to_bool(res, row, 5);
    a.timed_out = pg::to_bool(res, row, 6);
    a.launch_timed_out = pg::to_bool(res, row, 7);
    return a;
}

const char* const kHistoryColumns =
    "id, " MESOFLOW_MICROS("recorded_at") ", kind, attempt, coalesce(mesos_task_id, ''), "
    "coalesce(mesos_state, ''), coalesce(outcome, ''), coalesce(from_state, ''), "
    "coalesce(to_state, ''), coalesce(reason, ''), coalesce(source, ''), coalesce(message, ''), "
    "coalesce(agent_id, ''), coalesce(executor_id, ''), coalesce(uuid, ''), coalesce(note, ''), "
    "healthy, " MESOFLOW_MICROS("status_time");

HistoryEntry read_history_entry(const PGresult* res, int row) {
    HistoryEntry h;
    h.id = pg::to_int64(res, row, 0);
    h.recorded_at_us = pg::to_int64(res, row, 1);
    h.kind = pg::text(res, row, 2);
    h.attempt = pg::opt_int(res, row, 3);
    h.mesos_task_id = pg::text(res, row, 4);
    h.mesos_state = pg::text(res, row, 5);
    h.outcome = pg::text(res, row, 6);
    h.from_state = pg::text(res, row, 7);
    h.to_state = pg::text(res, row, 8);
    h.reason = pg::text(res, row, 9);
    h.source = pg::text(res, row, 10);
    h.message = pg::text(res, row, 11);
    h.agent_id = pg::text(res, row, 12);
    h.executor_id = pg::text(res, row, 13);
    h.uuid = pg::text(res, row, 14);
    h.note = pg::text(res, row, 15);
    h.healthy = pg::opt_bool(res, row, 16);
    h.status_time_us = pg::opt_int64(res, row, 17);
    return h;
}

}  // namespace mesoflow::store

#undef MESOFLOW_COMMAND_SQL
#undef MESOFLOW_CONTAINERIZER_SQL
#undef MESOFLOW_MICROS
