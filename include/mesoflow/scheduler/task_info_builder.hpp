// Builds the Mesos TaskInfo of one planned launch from the queued task. Pure.
//
// name: the task key, cut to kMaxTaskNameBytes at a UTF-8 character boundary.
// resources: PlannedLaunch::resources() (so the offers the launch was planned
// from must still live).
// command:
// - a shell string runs as `/bin/sh -c value` (shell: true), also inside an image;
// - an argv runs without a shell: value = argv[0], arguments = argv (argv[0]
//   included, as execvp wants it); in a Docker-containerizer image there is no
//   way to replace the ENTRYPOINT, so the argv goes to `docker run IMAGE argv...`
//   (shell: false, no value, arguments = argv): it replaces the image's CMD,
//   exactly as `docker run` does;
// - an image with no command runs the image's own ENTRYPOINT/CMD (shell: false,
//   no value), which both containerizers allow (docs/docker-containerizer.md,
//   docs/isolators/docker-runtime.md).
// environment, URIs and user (the task's, else TaskDefaults::user, else the
// framework's) go into the CommandInfo. A task given ports also finds them in
// PORT0..PORTn-1 and PORTS ("31000,31001"), unless it sets those names itself.
// container: an image with containerizer `mesos` -> ContainerInfo MESOS with a
// Docker image (force_pull -> cached: false); with `docker` or none -> ContainerInfo
// DOCKER, force_pull_image (Airflow's docker_image_slave), the task's Docker
// parameters (DockerInfo.parameters) and its network (HOST when none is asked
// for, else HOST, BRIDGE, NONE or USER). Either: the task's volumes
// (ContainerInfo.volumes: container_path, host_path, mode RO or RW), and a
// user network named in network_infos (CNI for MESOS, a Docker network for
// DOCKER). Which of these a task may ask for is the launch policy's call, at
// its claim, before it ever reaches here.
// labels: the task's own, then mesoflow.key, mesoflow.task_id, mesoflow.attempt,
// so an operator finds the task and attempt in the Mesos UI; task labels named
// mesoflow.* are dropped so those three can be trusted.
// kill_policy: TaskDefaults::kill_grace_period_s when positive.
#pragma once

#include <cstddef>
#include <string>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/scheduler/offer_matcher.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::scheduler {

// Mesos shows task names in its UI; very long keys are cut to this.
inline constexpr std::size_t kMaxTaskNameBytes = 200;

struct TaskDefaults {
    std::string user;                // for tasks that name none; empty: the framework's user
    double kill_grace_period_s = 0;  // 0: the executor's default
};

mesos::TaskInfo build_task_info(const task::TaskSpec& spec, const PlannedLaunch& launch,
                                const std::string& agent_id, const TaskDefaults& defaults);

// `text` cut to at most `max_bytes` without splitting a UTF-8 character.
std::string truncate_utf8(const std::string& text, std::size_t max_bytes);

}  // namespace mesoflow::scheduler
