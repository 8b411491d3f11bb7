#include <fmt/format.h>

#include "mesoflow/common/log.hpp"
#include "mesoflow/store/migrations.hpp"
#include "pg.hpp"
#include "schema.hpp"

namespace mesoflow::store {
namespace {

// pg_advisory_xact_lock key of the migrator ("mesoflow" as ASCII, hex).
constexpr std::int64_t kMigrationLockKey = 0x6d65736f666c6f77;

Status newer_schema_refused(int found) {
    return Error{fmt::format(
        "the database's mesoflow schema is at version {}, newer than this mesoflow binary knows "
        "(version {}); upgrade mesoflow (a newer version migrated this database) or point it at "
        "another database",
        found, latest_schema_version())};
}

struct Rollback {
    PGconn* conn;
    bool done = false;
    ~Rollback() {
        if (!done && !pg::is_broken(conn)) {
            auto ignored = pg::exec(conn, "ROLLBACK");
            (void)ignored;
        }
    }
};

}  // namespace

int latest_schema_version() {
    return embedded_migrations().back().version;
}

Result<int> read_schema_version(PGconn* conn) {
    auto res = pg::exec(conn,
                        "SELECT CASE WHEN to_regclass('mesoflow.schema_version') IS NULL THEN -1 "
                        "ELSE 0 END");
    if (!res)
        return res.error();
    if (pg::to_int(res->get(), 0, 0) < 0)
        return 0;
    auto version = pg::exec(conn, "SELECT coalesce(max(version), 0) FROM mesoflow.schema_version");
    if (!version)
        return version.error();
    return pg::to_int(version->get(), 0, 0);
}

Status require_current_schema(PGconn* conn) {
    auto version = read_schema_version(conn);
    if (!version)
        return version.error();
    const int latest = latest_schema_version();
    if (*version == latest)
        return {};
    if (*version > latest)
        return newer_schema_refused(*version);
    if (*version == 0) {
        return Error{"the database has no mesoflow schema; run `mesoflow migrate --database DSN`"};
    }
    return Error{fmt::format(
        "the database's mesoflow schema is at version {}, this binary needs version {}; run "
        "`mesoflow migrate --database DSN`",
        *version, latest)};
}

Result<int> schema_version(const std::string& dsn) {
    auto conn = pg::connect(dsn, pg::SessionDefaults{"mesoflow-migrate", 0});
    if (!conn)
        return conn.error();
    return read_schema_version(conn->get());
}

Result<MigrationReport> migrate(const std::string& dsn) {
    auto connected = pg::connect(dsn, pg::SessionDefaults{"mesoflow-migrate", 0});
    if (!connected)
        return connected.error();
    PGconn* conn = connected->get();

    if (auto begun = pg::exec(conn, "BEGIN"); !begun)
        return begun.error();
    Rollback guard{conn};
    // Concurrent migrators wait here; each one reads the version only after
    // the previous one committed.
    if (auto locked =
            pg::exec(conn, "SELECT pg_advisory_xact_lock($1)", pg::Params().add(kMigrationLockKey));
        !locked) {
        return locked.error();
    }
    // A role without CREATE on the database can still migrate a schema a
    // database owner created for it.
    auto bootstrap = pg::exec_script(conn,
                                     "DO $$ BEGIN "
                                     "IF to_regnamespace('mesoflow') IS NULL THEN "
                                     "CREATE SCHEMA mesoflow; END IF; END $$;"
                                     "CREATE TABLE IF NOT EXISTS mesoflow.schema_version ("
                                     " version integer PRIMARY KEY,"
                                     " name text NOT NULL,"
                                     " applied_at timestamptz NOT NULL DEFAULT now())");
    if (!bootstrap)
        return Error{"cannot create the mesoflow schema: " + bootstrap.error().message,
                     bootstrap.error().kind};
    auto found = read_schema_version(conn);
    if (!found)
        return found.error();

    MigrationReport report;
    report.from_version = *found;
    report.to_version = *found;
    if (*found > latest_schema_version())
        return newer_schema_refused(*found).error();

    for (const Migration& m : embedded_migrations()) {
        if (m.version <= *found)
            continue;
        if (auto applied = pg::exec_script(conn, m.sql); !applied) {
            return Error{fmt::format("migration {} failed: {}", m.name, applied.error().message),
                         applied.error().kind};
        }
        if (auto recorded = pg::exec(
                conn, "INSERT INTO mesoflow.schema_version (version, name) VALUES ($1, $2)",
                pg::Params().add(m.version).add(m.name));
            !recorded) {
            return recorded.error();
        }
        report.applied.emplace_back(m.name);
        report.to_version = m.version;
    }
    if (auto committed = pg::exec(conn, "COMMIT"); !committed) {
        return Error{"migration commit failed: " + committed.error().message,
                     committed.error().kind};
    }
    guard.done = true;
    for (const auto& name : report.applied)
        log::info("schema_migrated", "migration={}", name);
    return report;
}

}  // namespace mesoflow::store
