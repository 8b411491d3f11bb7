// The placement statement, shared by TaskStore::record_placements (on its
// own) and TaskStore::apply_updates (inside its transaction).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include <string>
#include <string_view>

#include "history_codes.hpp"
#include "mesoflow/common/result.hpp"
#include "mesoflow/store/task_store.hpp"
#include "pg.hpp"

namespace mesoflow::store {

class Database;

struct PlacementsWritten {
    int matched = 0;                // attempts recorded (task id and attempt matched)
    std::set<std::int64_t> locked;  // task ids whose rows another session held: not written
};

// SELECT mesoflow.fence(framework, epoch): first in a leader's claim or
// placement transaction (schemas/0007_leader_epoch.sql).
pg::Statement fence_statement(const Fence& fence);

// Runs `statement` (prepared under its name) behind the fence when there is
// one: BEGIN, mesoflow.fence, the statement and COMMIT in one round trip;
// without one, on its own. Its result.
Result<pg::ResultSet> exec_fenced(Database& db, const std::optional<Fence>& fence,
                                  pg::Statement statement);

// An INSERT of launch rows, written coded into mesoflow.task_events, from
// the rows of `source` (id, attempt, mesos_task_id, agent_id, agent_code,
// offer_id), each moved from `from_state` to launching.
std::string launch_history_sql(std::string_view source, std::string_view from_state);

// The statement that records `placements` (not empty), skipping rows another
// session holds locked; read its answer with read_placements_written.
pg::Statement placements_statement(const std::vector<LaunchRecord>& placements,
                                   const history::AgentCodes& codes);
PlacementsWritten read_placements_written(const PGresult* res);
// Runs it on its own.
Result<PlacementsWritten> write_placements(Database& db,
                                           const std::vector<LaunchRecord>& placements,
                                           const history::AgentCodes& codes);

}  // namespace mesoflow::store
