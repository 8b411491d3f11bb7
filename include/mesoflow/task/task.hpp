// Plain values shared by the store, the scheduler core and the runtime: a
// queued task as mesoflow launches it, and the states a task moves through.
// No libpq, no JSON here: this header is included widely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mesoflow::task {

// The state column of mesoflow.tasks. Order matters: a later state of the
// same attempt never goes back to an earlier one.
enum class TaskState {
    pending,    // queued, waiting for an offer (or for its retry back-off)
    launching,  // launch recorded with its Mesos task id; ACCEPT sent or about to be
    staging,
    starting,
    running,
    killing,
    finished,  // terminal from here on
    failed,
    killed,
    lost,
    error,
};

bool is_terminal(TaskState state);
std::string_view to_string(TaskState state);
std::optional<TaskState> parse_task_state(std::string_view text);

enum class Containerizer { none, docker, mesos };

// "none", "docker", "mesos" (the queue table's containerizer column).
std::string_view to_string(Containerizer containerizer);
std::optional<Containerizer> parse_containerizer(std::string_view text);

// The network a task's container joins (the queue table's network column).
// unset: none was asked for, so the containerizer's default (host).
enum class NetworkMode { unset, host, bridge, none, user };

// "", "host", "bridge", "none", "user".
std::string_view to_string(NetworkMode mode);
std::optional<NetworkMode> parse_network_mode(std::string_view text);

// A host path mounted into the task's container (one entry of the queue
// table's volumes column).
struct Volume {
    std::string host_path;
    std::string container_path;
    bool read_only = true;  // mode RO, the default; false: RW
    bool operator==(const Volume&) const = default;
};

// A placement constraint on an agent attribute, or on "hostname".
struct Constraint {
    enum class Op {
        equals,      // attribute == value
        not_equals,  // attribute != value (or absent)
        like,        // attribute matches the regex value
        unlike,      // attribute does not match the regex value
        exists,      // attribute present
    };
    std::string attribute;
    Op op = Op::equals;
    std::string value;
};

// "EQUALS", "NOT_EQUALS", "LIKE", "UNLIKE", "EXISTS" (the queue table's spelling).
std::string_view to_string(Constraint::Op op);
std::optional<Constraint::Op> parse_constraint_op(std::string_view text);

// One pending task, as read from the queue for matching and launching.
struct TaskSpec {
    std::int64_t id = 0;  // mesoflow.tasks.id
    std::string key;      // producer-chosen unique key
    int attempt = 0;      // attempts already launched; the next launch is attempt + 1
    std::optional<std::string> shell_command;  // run with /bin/sh -c
    std::vector<std::string> argv;             // used when shell_command is empty
    std::string image;                         // empty: no container image
    Containerizer containerizer = Containerizer::none;
    bool force_pull = false;
    std::vector<Volume> volumes;
    NetworkMode network = NetworkMode::unset;
    std::string network_name;  // the user network's name (NetworkMode::user)
    std::vector<std::pair<std::string, std::string>> docker_parameters;  // key, value
    double cpus = 0;
    double mem_mb = 0;
    double disk_mb = 0;
    double gpus = 0;
    int ports = 0;
    std::vector<std::pair<std::string, std::string>> env;
    std::vector<std::string> uris;
    std::string user;  // empty: the framework's user
    std::vector<std::pair<std::string, std::string>> labels;
    std::string role;  // empty: any of the framework's roles
    std::vector<Constraint> constraints;
    int priority = 0;
    std::int64_t created_at_us = 0;  // microseconds since the epoch
    std::optional<double> timeout_s;
    std::string queue = "default";  // mesoflow.tasks.queue
    // Set when a column of the row could not be read exactly (its name and
    // why, e.g. "env: ..."): such a task must never launch, since it would
    // run with less than its row asks for (no environment, no constraints).
    std::string unreadable;
};

// The Mesos task id of one attempt of one task: "mf-<id>-<attempt>".
std::string mesos_task_id(std::int64_t task_id, int attempt);
// Inverse of mesos_task_id; nullopt for ids mesoflow did not make.
std::optional<std::pair<std::int64_t, int>> parse_mesos_task_id(std::string_view id);

}  // namespace mesoflow::task
