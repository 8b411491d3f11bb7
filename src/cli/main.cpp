// mesoflow: runs tasks queued in PostgreSQL on Apache Mesos through the v1
// HTTP scheduler API. This file only picks the subcommand; each lives in
// command_<name>.cpp.
#include <algorithm>
#include <cstdio>
#include <string_view>

#include "cli/commands.hpp"

namespace {

using mesoflow::cli::Args;

constexpr const char* kUsage = R"(usage: mesoflow COMMAND [OPTIONS]

mesoflow runs tasks queued in PostgreSQL on an Apache Mesos cluster.

Commands:
  run        run the scheduler (the daemon; systemd starts this)
  migrate    create or upgrade the mesoflow schema in the database
  submit     queue a task
  status     list tasks, or show one task with its history
  kill       kill a task
  queue      list the queues, set or delete a queue's settings
  teardown   tear the framework down on the Mesos master (kills all its tasks)
  config     show the effective configuration and where each value came from
  version    print the version

`mesoflow COMMAND --help` describes a command and its options.

Exit codes:
  0  success
  1  failure: the database, the master or the network did not cooperate
  2  usage or configuration error
  3  framework error: the master refused or removed the framework
  4  not found: no such task or queue, or no framework to tear down
)";

struct Command {
    std::string_view name;
    int (*run)(const Args&);
};

constexpr Command kCommands[] = {
    {"run", mesoflow::cli::command_run},           {"migrate", mesoflow::cli::command_migrate},
    {"submit", mesoflow::cli::command_submit},     {"status", mesoflow::cli::command_status},
    {"kill", mesoflow::cli::command_kill},         {"queue", mesoflow::cli::command_queue},
    {"teardown", mesoflow::cli::command_teardown}, {"config", mesoflow::cli::command_config},
    {"version", mesoflow::cli::command_version},
};

}  // namespace

int main(int argc, char** argv) {
    const std::string_view name = argc >= 2 ? argv[1] : "";
    const Args args(argv + std::min(argc, 2), argv + argc);
    if (name == "--help" || name == "-h" || name == "help") {
        if (!args.empty()) {
            for (const auto& command : kCommands) {
                if (command.name == args.front())
                    return command.run({"--help"});
            }
        }
        std::fputs(kUsage, stdout);
        return mesoflow::cli::kExitOk;
    }
    if (name == "--version")
        return mesoflow::cli::command_version({});
    for (const auto& command : kCommands) {
        if (command.name == name)
            return command.run(args);
    }
    if (name.empty()) {
        std::fputs(kUsage, stderr);
    } else {
        std::fprintf(stderr, "mesoflow: unknown command '%.*s' (see mesoflow --help)\n",
                     static_cast<int>(name.size()), name.data());
    }
    return mesoflow::cli::kExitUsage;
}
