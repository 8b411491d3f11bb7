// TaskRef: a Mesos task as reconciliation and kills name it. Plain value.
#pragma once

#include <string>

namespace mesoflow::scheduler {

struct TaskRef {
    std::string task_id;   // the Mesos task id, "mf-<id>-<attempt>"
    std::string agent_id;  // empty: unknown
    bool operator==(const TaskRef&) const = default;
};

}  // namespace mesoflow::scheduler
