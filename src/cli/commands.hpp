// The subcommands of the `mesoflow` binary, one file each (command_<name>.cpp),
// and the exit codes they share. Each takes the arguments after its name and
// returns the process's exit code; messages go to stderr, results to stdout.
#pragma once

#include <string>
#include <vector>

namespace mesoflow::cli {

// Exit codes, documented in `mesoflow --help` and the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;         // could not do it: database, network, master down
inline constexpr int kExitUsage = 2;           // bad arguments or configuration
inline constexpr int kExitFrameworkError = 3;  // the master refused or removed the framework
inline constexpr int kExitNotFound = 4;        // no such task (or no framework to tear down)

using Args = std::vector<std::string>;

int command_run(const Args& args);
int command_migrate(const Args& args);
int command_submit(const Args& args);
int command_status(const Args& args);
int command_kill(const Args& args);
int command_queue(const Args& args);
int command_teardown(const Args& args);
int command_config(const Args& args);
int command_version(const Args& args);

}  // namespace mesoflow::cli
