// The halves of the Mesos JSON codec that mesoflow itself never uses (see
// include/mesoflow/mesos/codec.hpp for the mapping and its rules): reading
// Calls and writing Events, and single TaskInfos and MasterInfos (a MasterInfo
// as ZooKeeper stores it). For the codec's tests and round trips, the tests
// that look at the JSON mesoflow sends, the timing program and the fuzz
// target. Library mesoflow_test_codec; mesoflow and its modules never link it.
#pragma once

#include <string>
#include <string_view>

#include "mesoflow/common/result.hpp"
#include "mesoflow/mesos/codec.hpp"
#include "mesoflow/mesos/types.hpp"

namespace mesoflow::mesos {

std::string to_json(const Event& event);
Result<Call> parse_call(std::string_view json);

std::string to_json(const TaskInfo& task);
std::string to_json(const MasterInfo& master);
Result<TaskInfo> parse_task_info(std::string_view json);
Result<MasterInfo> parse_master_info(std::string_view json);

}  // namespace mesoflow::mesos
