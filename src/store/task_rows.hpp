// SELECT lists of the store's queries and the readers of their rows, kept
// side by side so a column list and its reader cannot drift apart.
#pragma once

#include <libpq-fe.h>

#include "mesoflow/store/task_store.hpp"
#include "mesoflow/store/task_view.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::store {

// Columns of mesoflow.tasks for launching a task (no table alias).
extern const char* const kTaskSpecColumns;
task::TaskSpec read_task_spec(const PGresult* res, int row);

extern const char* const kTaskRowColumns;
TaskRow read_task_row(const PGresult* res, int row);

extern const char* const kLiveAttemptColumns;
LiveAttempt read_live_attempt(const PGresult* res, int row);

extern const char* const kHistoryColumns;
HistoryEntry read_history_entry(const PGresult* res, int row);

}  // namespace mesoflow::store
