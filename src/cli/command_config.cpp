// mesoflow config: the effective configuration, each key with its value and
// where it came from; secrets masked (config/render.hpp).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/invocation.hpp"
#include "mesoflow/config/render.hpp"

namespace mesoflow::cli {
namespace {

const CommandSpec kSpec{
    .name = "config",
    .usage =
        "usage: mesoflow config [CONFIGURATION FLAGS]\n"
        "\n"
        "Prints the configuration `mesoflow run` would use with the same files,\n"
        "environment and flags: every key, its value and its source (default, a file\n"
        "and line, an environment variable or a flag). Secrets are shown as ****, and\n"
        "the password inside the database connection string is masked. Exits 2 with\n"
        "the key, its source and the reason when a value is invalid.\n",
    .full_config_help = true,
};

}  // namespace

int command_config(const Args& args) {
    auto parsed = parse_invocation(kSpec, args);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto loaded = load_config(std::get<Invocation>(parsed), {});
    if (!loaded)
        return kExitUsage;
    if (loaded->files_read.empty()) {
        std::puts("# no config file read: defaults, environment and flags only");
    } else {
        for (const auto& file : loaded->files_read)
            std::printf("# read %s\n", file.c_str());
    }
    std::fputs(config::render_effective(loaded->config).c_str(), stdout);
    return kExitOk;
}

}  // namespace mesoflow::cli
