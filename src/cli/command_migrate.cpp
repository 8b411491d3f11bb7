// mesoflow migrate: creates or upgrades the mesoflow schema (store/migrations.hpp).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/invocation.hpp"
#include "mesoflow/store/migrations.hpp"

namespace mesoflow::cli {
namespace {

const CommandSpec kSpec{
    .name = "migrate",
    .usage =
        "usage: mesoflow migrate [--database DSN]\n"
        "\n"
        "Creates or upgrades the mesoflow schema in the PostgreSQL database. Safe to run\n"
        "again (nothing to do) and from several places at once (one applies, the others\n"
        "wait). A database migrated by a newer mesoflow is left untouched.\n"
        "\n"
        "  --database DSN  libpq connection string or postgresql:// URI\n"
        "                  (also MESOFLOW_DATABASE, [mesoflow] database)\n",
};

}  // namespace

int command_migrate(const Args& args) {
    auto parsed = parse_invocation(kSpec, args);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto& inv = std::get<Invocation>(parsed);
    const auto loaded = load_config(inv, {"database"});
    if (!loaded)
        return kExitUsage;
    auto report = store::migrate(loaded->config.database);
    if (!report)
        return fail(inv, kExitFailure, report.error().message);
    if (report->applied.empty()) {
        std::printf("schema already at version %d; nothing to do\n", report->to_version);
    } else {
        for (const auto& name : report->applied)
            std::printf("applied %s\n", name.c_str());
        std::printf("schema now at version %d (was %d)\n", report->to_version,
                    report->from_version);
    }
    return kExitOk;
}

}  // namespace mesoflow::cli
