// The SQL migrations of the `mesoflow` schema and the migrator that applies
// them. The migrations are schemas/NNNN_name.sql, embedded into the binary at
// build time, so a deployed mesoflow needs no files on disk.
//
// migrate() takes a transaction-scoped advisory lock, so concurrent migrators
// queue up and the later ones find nothing to do; all missing migrations apply
// in one transaction (all or none) and are recorded in mesoflow.schema_version.
// A database whose schema is newer than this binary is refused untouched.
// Failures (connection, SQL, version) come back as Error values.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/common/result.hpp"

namespace mesoflow::store {

struct Migration {
    int version;            // 1, 2, 3... from the file name
    std::string_view name;  // "0001_initial"
    std::string_view sql;
};

// In version order, without gaps (the build checks this).
std::span<const Migration> embedded_migrations();
int latest_schema_version();

struct MigrationReport {
    int from_version = 0;
    int to_version = 0;
    std::vector<std::string> applied;  // names, in order; empty when already current
};

// Brings the database at `dsn` (libpq keyword string or URI) to the latest version.
Result<MigrationReport> migrate(const std::string& dsn);

// The version recorded in the database; 0 when mesoflow was never migrated there.
Result<int> schema_version(const std::string& dsn);

}  // namespace mesoflow::store
