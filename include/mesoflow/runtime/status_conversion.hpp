// Converts a Mesos TaskStatus into the store's StatusUpdate. The store knows
// Mesos states by name only; this is the one place the two vocabularies meet.
#pragma once

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/task/status_update.hpp"

namespace mesoflow::runtime {

task::StatusUpdate to_store_update(const mesos::TaskStatus& status);

}  // namespace mesoflow::runtime
