// One task of `mesoflow submit --from FILE` as a JSON object, to the
// store::NewTask `mesoflow submit` builds from its options. The fields are
// the queue table's columns (README "The queue table"), and the options'
// names where they differ (shell, user, attempts, retry_backoff, timeout);
// a field left out or null takes the queue's defaults as the option's does.
// The table judges the values; this judges their JSON types, and refuses
// unknown fields and text with NUL characters, which PostgreSQL cannot hold.
#pragma once

#include <string_view>

#include "mesoflow/common/result.hpp"
#include "mesoflow/store/new_task.hpp"

namespace mesoflow::cli {

// The task, or an Error saying which field is wrong and why.
Result<store::NewTask> task_from_json(std::string_view text);

}  // namespace mesoflow::cli
