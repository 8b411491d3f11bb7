// The key table: one row per configuration key, the single source of each
// key's name, flag, environment variables, airflow.cfg [mesos] key, value
// type and description. Defaults come from Config{} (config.hpp). Parsing,
// `--help`, `mesoflow config` and the README table are all driven by it.
// Every name is also usable with a `_file` suffix (value read from that
// file) and secret keys with `_cmd` (value printed by that shell command).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/config/config.hpp"

namespace mesoflow::config {

struct KeyInfo {
    std::string_view name;         // [mesoflow] key, also `--name-with-dashes` and MESOFLOW_NAME
    std::string_view airflow_key;  // key in airflow.cfg [mesos]; empty when Airflow had none
    std::string_view type;         // "bool", "number", "duration", "masters", ... for docs
    std::string_view description;  // one sentence for --help and the README
    bool secret = false;           // masked when rendered; `_cmd` allowed
};

// Every key, in the order docs list them.
const std::vector<KeyInfo>& keys();
// nullptr when `name` is not a key.
const KeyInfo* find_key(std::string_view name);

std::string flag_name(const KeyInfo& key);                 // "--task-cpus"
std::string env_var(const KeyInfo& key);                   // "MESOFLOW_TASK_CPUS"
std::string airflow_env_var(const KeyInfo& key);           // "AIRFLOW__MESOS__TASK_CPU", or ""
std::string airflow_mesoflow_env_var(const KeyInfo& key);  // "AIRFLOW__MESOFLOW__TASK_CPUS"

// The value of `key` in `config` as it would be written in a file
// ("http://m1:5050,http://m2:5050", "true", "604800"). Secrets come back as
// "****" (or "" when unset) and the password inside a database DSN is masked
// unless `reveal_secrets` is set.
std::string value_text(const Config& config, const KeyInfo& key, bool reveal_secrets = false);
// The built-in default, value_text(Config{}, key).
std::string default_text(const KeyInfo& key);
// Where the value came from: config.sources[key], or "default".
std::string source_of(const Config& config, const KeyInfo& key);

}  // namespace mesoflow::config
