// Reading values from outside the config text: files (`<key>_file`, and
// `file://` master lists) and command output (`<key>_cmd`, Airflow's
// convention). Both strip trailing whitespace (the newline editors and
// `echo` add) and refuse more than kMaxValueFileBytes. Errors name the
// path or say the command failed, never the content.
#pragma once

#include <string>
#include <string_view>

#include "mesoflow/common/result.hpp"

namespace mesoflow::config {

Result<std::string> read_value_file(const std::string& path);
// Runs `command` with /bin/sh -c and returns its standard output.
Result<std::string> run_value_command(const std::string& command);
// Whole file, for config files; refuses more than `max_bytes`.
Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes);
// True when a file's mode lets users other than its owner and group read it.
bool readable_by_others(const std::string& path);

}  // namespace mesoflow::config
