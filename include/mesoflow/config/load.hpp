// config::load(): builds the effective Config from, lowest to highest
// precedence,
//   1. built-in defaults (Config{}),
//   2. config files, in order: airflow.cfg ([mesos], Airflow's key names),
//      then /etc/mesoflow/mesoflow.conf; or instead the files given with
//      --config or MESOFLOW_CONFIG. In each file [mesoflow] beats [mesos].
//   3. the environment: AIRFLOW__MESOS__<AIRFLOW_KEY>, then
//      AIRFLOW__MESOFLOW__<KEY>, then MESOFLOW_<KEY>,
//   4. command-line flags (flags.hpp).
// Unknown keys in [mesos]/[mesoflow] and unknown MESOFLOW_* variables are
// warnings (returned, and logged one line each unless told not to). Any
// invalid value, unreadable file or failing `_cmd` returns an Error naming
// the key, where it came from and why; a secret's value never appears in an
// error, a warning or a log line.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/common/result.hpp"
#include "mesoflow/config/config.hpp"

namespace mesoflow::config {

using Environment = std::map<std::string, std::string>;

// mesoflow's own config file, read when it exists and no file was named.
inline constexpr std::string_view kSystemConfigFile = "/etc/mesoflow/mesoflow.conf";
// Larger config files, value files or `_cmd` outputs are refused.
inline constexpr std::size_t kMaxConfigFileBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxValueFileBytes = 64 * 1024;

// A configuration flag from the command line, as parse_flags() found it.
struct FlagSetting {
    std::string name;   // key name, possibly with a _file/_cmd suffix: "secret_file"
    std::string value;  // "true"/"false" for bare boolean flags
    std::string flag;   // as typed, for messages: "--secret-file"
};

struct LoadOptions {
    // Files named with --config, in order. Empty: MESOFLOW_CONFIG (a
    // ':'-separated list) if set, else the default files that exist.
    std::vector<std::string> files;
    Environment environment;
    std::vector<FlagSetting> flags;
    // The default search: $AIRFLOW_CONFIG, or $AIRFLOW_HOME/airflow.cfg, then this.
    std::string system_file = std::string(kSystemConfigFile);
    bool log_warnings = true;
};

struct ConfigWarning {
    std::string event;   // "config_unknown_key", "config_secret_on_command_line", ...
    std::string source;  // "file /etc/airflow/airflow.cfg:40 ([mesos])", "env MESOFLOW_FOO"
    std::string key;     // the key as written
    std::string detail;  // why it matters, for the log line
};

struct LoadedConfig {
    Config config;
    std::vector<ConfigWarning> warnings;
    std::vector<std::string> files_read;
};

Result<LoadedConfig> load(const LoadOptions& options);

// The environment of this process, for LoadOptions::environment.
Environment process_environment();

// Start-up check for the keys a command cannot do without ("master",
// "database"): an Error saying how to set the first one that is empty.
Status require_keys(const Config& config, const std::vector<std::string_view>& names);

}  // namespace mesoflow::config
