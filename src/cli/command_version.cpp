// mesoflow version: the binary's version and the schema version it expects.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/invocation.hpp"
#include "mesoflow/store/migrations.hpp"

namespace mesoflow::cli {
namespace {

const CommandSpec kSpec{
    .name = "version",
    .usage =
        "usage: mesoflow version\n"
        "\n"
        "Prints mesoflow's version and the database schema version it works with.\n",
};

}  // namespace

int command_version(const Args& args) {
    auto parsed = parse_invocation(kSpec, args);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    std::printf("mesoflow %s (schema %d)\n", MESOFLOW_VERSION, store::latest_schema_version());
    return kExitOk;
}

}  // namespace mesoflow::cli
