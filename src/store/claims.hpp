// The placement statement, shared by TaskStore::record_placements (on its
// own) and TaskStore::apply_updates (inside its transaction).
#pragma once

#include <vector>

#include "mesoflow/common/result.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::store {

class Database;

// Returns how many attempts matched (task id and attempt).
Result<int> write_placements(Database& db, const std::vector<LaunchRecord>& placements);

}  // namespace mesoflow::store
