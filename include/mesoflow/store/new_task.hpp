// NewTask: one task as a producer queues it (`mesoflow submit`, tests). Unset
// optionals take the queue's defaults, then the table's, so those live in one
// place: the schema (schemas/0008_queues.sql, README "The queue table").
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mesoflow/task/task.hpp"

namespace mesoflow::store {

struct NewTask {
    std::string key;                     // unique, chosen by the producer
    std::optional<std::string> command;  // a shell string (/bin/sh -c) ...
    std::vector<std::string> argv;       // ... or an argv; not both
    // Unset: the queue's default image, if any; "": no image, whatever the
    // queue's default.
    std::optional<std::string> image;
    task::Containerizer containerizer =
        task::Containerizer::none;  // none with an image means docker
    bool force_pull = false;
    std::vector<task::Volume> volumes;                     // empty: the column left NULL
    task::NetworkMode network = task::NetworkMode::unset;  // unset: NULL
    std::string network_name;                              // with NetworkMode::user
    std::vector<std::pair<std::string, std::string>> docker_parameters;  // key, value
    std::optional<double> cpus;
    std::optional<double> mem_mb;
    std::optional<double> disk_mb;
    std::optional<double> gpus;
    std::optional<int> ports;
    std::vector<std::pair<std::string, std::string>> env;
    std::vector<std::string> uris;
    std::string user;  // empty: the framework's user
    std::vector<std::pair<std::string, std::string>> labels;
    std::string role;  // empty: any of the framework's roles
    std::vector<task::Constraint> constraints;
    std::optional<int> priority;
    std::optional<int> max_attempts;
    std::optional<double> retry_backoff_s;
    bool retry_on_failure = false;
    std::optional<double> timeout_s;
    bool kill_requested = false;
    std::string queue;  // empty: the table's default, "default"
    // Not before this time (timestamptz text, e.g. "2026-01-31T12:00:00Z");
    // unset: now.
    std::optional<std::string> not_before;
};

}  // namespace mesoflow::store
