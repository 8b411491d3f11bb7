// LocalTasks: local mode's agent. Each launched command task runs as a real
// process (`/bin/sh -c value`, or `value` with `arguments` when shell is
// false) in its own sandbox directory under the sandbox root, with the task's
// environment over the fake master's own plus MESOS_SANDBOX, MESOS_TASK_ID,
// MESOS_FRAMEWORK_ID, MESOS_AGENT_ID and MESOS_EXECUTOR_ID; stdout and stderr
// go to files in the sandbox. Its exit is seen through a pidfd on the
// reactor, and reported as TASK_FINISHED / TASK_FAILED with the exit status
// and the tail of its output (TASK_KILLED if a kill was asked for).
// Tasks with a ContainerInfo are not run (no container engine here): they
// finish or fail at once per ContainerTaskPolicy, with a message saying so.
// Owns its processes: forget() and the destructor kill them (SIGKILL to the
// process group) and reap them. Loop thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "fake_master.hpp"

namespace mesoflow::fake {

class Master;
struct Task;

class LocalTasks {
  public:
    LocalTasks(Master& master, std::string sandbox_root, ContainerTaskPolicy containers);
    ~LocalTasks();
    LocalTasks(const LocalTasks&) = delete;
    LocalTasks& operator=(const LocalTasks&) = delete;

    const std::string& sandbox_root() const { return root_; }
    void launch(Task& task);
    // SIGTERM to the task's process group, SIGKILL after `grace`.
    void terminate(Task& task, std::chrono::milliseconds grace);
    // The task is gone from the master: kill its process, report nothing.
    void forget(Task& task);

  private:
    struct Process {
        pid_t pid = -1;
        int pidfd = -1;
        std::string framework_id;
        std::string task_id;
        std::string sandbox;
        bool kill_requested = false;
        bool forgotten = false;
    };

    void watch(std::uint64_t serial);
    void reap(std::uint64_t serial);
    void run_container_task(Task& task);

    Master& master_;
    std::string root_;
    ContainerTaskPolicy containers_;
    std::unordered_map<std::uint64_t, Process> processes_;  // by task serial
};

}  // namespace mesoflow::fake
