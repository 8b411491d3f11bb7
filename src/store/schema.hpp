// Reading and checking the schema version on an open connection: the
// migrator uses it, and every TaskStore (re)connection checks that the
// database has exactly the schema this binary was built with.
#pragma once

#include <libpq-fe.h>

#include "mesoflow/common/result.hpp"

namespace mesoflow::store {

// 0 when the database has no mesoflow.schema_version table.
Result<int> read_schema_version(PGconn* conn);
// Ok when the version equals latest_schema_version(); otherwise an Error
// telling the operator what to do.
Status require_current_schema(PGconn* conn);

}  // namespace mesoflow::store
