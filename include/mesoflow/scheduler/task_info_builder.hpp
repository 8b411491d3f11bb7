// Builds the Mesos TaskInfo of one planned launch from the queued task. Pure.
//
// Command: a shell string runs as `/bin/sh -c` (shell: true); an argv runs
// without a shell (shell: false, value = argv[0], arguments = argv). A task
// with an image and no command runs the image's entrypoint (shell: false, no
// value), which the Docker containerizer allows. Images: containerizer docker
// (or none) -> ContainerInfo DOCKER with HOST networking (Airflow's
// docker_image_slave); mesos -> ContainerInfo MESOS with a Docker image.
// Labels carry mesoflow.key, mesoflow.task_id and mesoflow.attempt so an
// operator finds the task and its attempt in the Mesos UI.
#pragma once

#include <string>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/scheduler/offer_matcher.hpp"
#include "mesoflow/store/task.hpp"

namespace mesoflow::scheduler {

// Mesos shows task names in its UI; very long keys are cut to this.
inline constexpr std::size_t kMaxTaskNameBytes = 200;

struct TaskDefaults {
    std::string user;                // used when the task names none; empty: the framework's
    double kill_grace_period_s = 0;  // 0: the executor's default
};

mesos::TaskInfo build_task_info(const store::TaskSpec& spec, const PlannedLaunch& launch,
                                const std::string& agent_id, const TaskDefaults& defaults);

}  // namespace mesoflow::scheduler
