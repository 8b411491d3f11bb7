// Text views of the configuration, all generated from the key table:
// the effective config for `mesoflow config` (secrets masked), the README's
// key and airflow.cfg mapping tables, and the example config file. No
// function here ever returns a secret's value or a DSN password.
#pragma once

#include <string>
#include <string_view>

#include "mesoflow/config/config.hpp"

namespace mesoflow::config {

// One line per key: name, value, source (default, file path:line, env VAR,
// flag --x), in aligned columns under a header line.
std::string render_effective(const Config& config);

// Markdown table of every key: key, flag / environment, airflow.cfg [mesos]
// key, default, description.
std::string render_keys_markdown();
// Markdown table mapping each airflow.cfg [mesos] key to its mesoflow key.
std::string render_airflow_mapping_markdown();
// deploy/mesoflow.conf.example: a [mesoflow] section with every key
// commented out at its default and described.
std::string render_example_file();

// A libpq connection string with its password (key=value `password`,
// `sslpassword`, or the password in a URI's user info or query) replaced by
// "****".
std::string mask_dsn(std::string_view dsn);

}  // namespace mesoflow::config
