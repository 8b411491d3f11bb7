// Command-line flags for configuration keys, for every subcommand:
//   --key value | --key=value        (key with dashes or underscores)
//   --key-file PATH                  (value read from a file)
//   --flag | --no-flag | --flag=false  (booleans; a bare boolean flag takes no value)
//   --config PATH                    (repeatable; replaces the default files)
//   --help | -h
// Everything else (positional arguments, the subcommand's own flags, and all
// that follows "--", which is kept) is returned untouched in `rest`, in
// order, for the subcommand to parse. Values are checked later by load();
// parse_flags() only fails when a flag needs a value and has none.
#pragma once

#include <string>
#include <vector>

#include "mesoflow/common/result.hpp"
#include "mesoflow/config/load.hpp"

namespace mesoflow::config {

struct ParsedFlags {
    std::vector<FlagSetting> settings;
    std::vector<std::string> config_files;
    bool help = false;
    std::vector<std::string> rest;
};

Result<ParsedFlags> parse_flags(const std::vector<std::string>& args);

// The "Configuration" block of `--help`: one entry per key with its flag,
// description, default, environment variable and airflow.cfg key.
std::string flags_help();

}  // namespace mesoflow::config
