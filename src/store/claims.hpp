// The placement statement, shared by TaskStore::record_placements (on its
// own) and TaskStore::apply_updates (inside its transaction).
#pragma once

#include <vector>

#include "mesoflow/common/result.hpp"
#include "mesoflow/store/task_store.hpp"
#include "pg.hpp"

namespace mesoflow::store {

class Database;

// The statement that records `placements` (not empty); its one row is the
// count of attempts matched (task id and attempt).
pg::Statement placements_statement(const std::vector<LaunchRecord>& placements);
// Runs it on its own; returns how many attempts matched.
Result<int> write_placements(Database& db, const std::vector<LaunchRecord>& placements);

}  // namespace mesoflow::store
