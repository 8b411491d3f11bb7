// How every subcommand reads its command line: configuration flags (any
// config key, --config; see config/flags.hpp) and the command's own options,
// positional arguments and, for `submit`, everything after "--". An own
// option that shares its name with a config key (`submit --containerizer`)
// belongs to the command.
//
// parse_invocation() prints `--help` or a usage error itself and then returns
// the exit code instead of an Invocation; load_config() prints a
// configuration error and returns nullopt (the caller exits kExitUsage).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "cli/commands.hpp"
#include "mesoflow/common/result.hpp"
#include "mesoflow/config/config.hpp"
#include "mesoflow/config/flags.hpp"
#include "mesoflow/config/load.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::cli {

struct OptionSpec {
    std::string_view name;  // without the dashes: "cpus", "retry-on-failure"
    bool takes_value = true;
};

struct CommandSpec {
    std::string_view name = {};   // "submit"
    std::string_view usage = {};  // the help text, up to the configuration part
    std::vector<OptionSpec> options = {};
    std::string_view positional_name = "ARGUMENT";  // for "missing KEY"
    std::size_t min_positional = 0;
    std::size_t max_positional = 0;
    bool takes_command = false;     // accepts "-- PROGRAM ARGS..."
    bool full_config_help = false;  // --help lists every configuration key
    // Log info lines (the daemon). One-shot commands log warnings and errors
    // only, unless log_level is configured.
    bool logs_info = false;
};

struct Invocation {
    const CommandSpec* spec = nullptr;
    config::ParsedFlags flags;  // configuration flags only
    std::vector<std::pair<std::string, std::string>>
        options;  // own options in order; "" for switches
    std::vector<std::string> positional;
    std::vector<std::string> command;  // after "--"
    bool has_command = false;

    bool has(std::string_view name) const;
    // The last value given for `name`.
    std::optional<std::string> value(std::string_view name) const;
    std::vector<std::string> values(std::string_view name) const;
};

std::variant<Invocation, int> parse_invocation(const CommandSpec& spec, const Args& args);

// Loads the configuration (files, environment, flags), checks the keys the
// command needs and applies log_level.
std::optional<config::LoadedConfig> load_config(const Invocation& invocation,
                                                const std::vector<std::string_view>& required_keys);

// Option values: a finite number / a whole number, or an Error naming the option.
Result<double> number_option(std::string_view name, const std::string& text);
Result<int> integer_option(std::string_view name, const std::string& text);
// --constraint ATTRIBUTE:OP[:VALUE] (OP in any case).
Result<task::Constraint> constraint_option(const std::string& text);

// "mesoflow <command>: <message>" on stderr; returns `code`.
int fail(const Invocation& invocation, int code, std::string_view message);
// The same plus "(see mesoflow <command> --help)"; returns kExitUsage.
int usage_error(const CommandSpec& spec, std::string_view message);

}  // namespace mesoflow::cli
