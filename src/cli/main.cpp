// mesoflow: runs tasks queued in PostgreSQL on Apache Mesos through the v1
// HTTP scheduler API.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "mesoflow/store/migrations.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: mesoflow version\n"
    "       mesoflow migrate [--database DSN]\n";

constexpr const char* kMigrateUsage =
    "usage: mesoflow migrate [--database DSN]\n"
    "\n"
    "Creates or upgrades the mesoflow schema in a PostgreSQL database. Safe to run again\n"
    "(nothing to do) and from several places at once (one applies, the others wait).\n"
    "\n"
    "  --database DSN  libpq connection string or postgresql:// URI\n"
    "                  (default: $MESOFLOW_DATABASE)\n";

int migrate_command(int argc, char** argv) {
    std::string dsn;
    if (const char* env = std::getenv("MESOFLOW_DATABASE"))
        dsn = env;
    for (int i = 2; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kMigrateUsage, stdout);
            return kExitOk;
        }
        if (arg == "--database" && i + 1 < argc) {
            dsn = argv[++i];
        } else if (arg.starts_with("--database=")) {
            dsn = arg.substr(std::strlen("--database="));
        } else {
            std::fprintf(stderr, "mesoflow migrate: unexpected argument '%s'\n%s", argv[i],
                         kMigrateUsage);
            return kExitUsage;
        }
    }
    if (dsn.empty()) {
        std::fprintf(stderr,
                     "mesoflow migrate: no database given; pass --database DSN or set "
                     "MESOFLOW_DATABASE\n");
        return kExitUsage;
    }
    auto report = mesoflow::store::migrate(dsn);
    if (!report) {
        std::fprintf(stderr, "mesoflow migrate: %s\n", report.error().message.c_str());
        return kExitFailure;
    }
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

}  // namespace

int main(int argc, char** argv) {
    const std::string_view command = argc >= 2 ? argv[1] : "";
    if (command == "version") {
        std::printf("mesoflow %s\n", MESOFLOW_VERSION);
        return kExitOk;
    }
    if (command == "migrate")
        return migrate_command(argc, argv);
    std::fputs(kUsage, stderr);
    return kExitUsage;
}
