#include "local_tasks.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <vector>

#include "master.hpp"
#include "mesoflow/common/log.hpp"

extern char** environ;

namespace mesoflow::fake {

namespace {

// How much of a task's output travels back in its terminal status update.
constexpr std::size_t kOutputTailBytes = 4096;
constexpr std::size_t kMessageTailLines = 10;
// Without pidfd support, exits are polled this often.
constexpr std::chrono::milliseconds kExitPollInterval{50};

std::string read_tail(const std::string& path, std::size_t bytes) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in)
        return "";
    const auto size = static_cast<std::size_t>(in.tellg());
    const std::size_t start = size > bytes ? size - bytes : 0;
    in.seekg(static_cast<std::streamoff>(start));
    std::string out(size - start, '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    return out;
}

std::string last_lines(const std::string& text, std::size_t count) {
    std::size_t end = text.size();
    while (end > 0 && text[end - 1] == '\n')
        --end;
    std::size_t pos = end;
    for (std::size_t n = 0; n < count && pos > 0; ++n) {
        const auto nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) {
            pos = 0;
            break;
        }
        pos = nl;
        if (n + 1 == count)
            ++pos;
    }
    if (pos < end && text[pos] == '\n')
        ++pos;
    return text.substr(pos, end - pos);
}

std::string make_sandbox_root(std::string root) {
    if (!root.empty()) {
        std::filesystem::create_directories(root);
        return root;
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/mesoflow-fake-master-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("cannot create a sandbox root: " +
                                 std::string(std::strerror(errno)));
    }
    return pattern;
}

int open_pidfd(pid_t pid) {
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

}  // namespace

LocalTasks::LocalTasks(Master& master, std::string sandbox_root, ContainerTaskPolicy containers)
    : master_(master), root_(make_sandbox_root(std::move(sandbox_root))), containers_(containers) {
    log::info("fake_master_local_mode", "sandbox_root={}", log::quote(root_));
}

LocalTasks::~LocalTasks() {
    for (auto& [serial, p] : processes_) {
        ::kill(-p.pid, SIGKILL);
        int status = 0;
        while (waitpid(p.pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (p.pidfd >= 0)
            ::close(p.pidfd);
    }
}

void LocalTasks::run_container_task(Task& task) {
    const std::string what = fmt::format(
        "local mode runs no containers: the {} image '{}' was not run",
        task.container_type == "DOCKER" ? "Docker" : "Mesos containerizer", task.container_image);
    log::info("fake_master_container_task_not_run", "task={} image={}", task.id,
              log::quote(task.container_image));
    if (containers_ == ContainerTaskPolicy::fail) {
        master_.transition(task, "TASK_FAILED", "SOURCE_AGENT", what,
                           "REASON_CONTAINER_LAUNCH_FAILED");
        return;
    }
    if (master_.config().send_task_starting) {
        master_.transition(task, "TASK_STARTING", "SOURCE_EXECUTOR");
    }
    master_.transition(task, "TASK_RUNNING", "SOURCE_EXECUTOR");
    master_.transition(task, "TASK_FINISHED", "SOURCE_EXECUTOR", what);
}

void LocalTasks::launch(Task& task) {
    if (!task.container_type.empty()) {
        run_container_task(task);
        return;
    }
    const std::string sandbox =
        fmt::format("{}/{}/{}-{}", root_, task.framework_id, task.id, task.serial);
    std::error_code ec;
    std::filesystem::create_directories(sandbox, ec);
    if (ec) {
        master_.transition(task, "TASK_FAILED", "SOURCE_AGENT",
                           "Failed to create the sandbox " + sandbox + ": " + ec.message(),
                           "REASON_CONTAINER_LAUNCH_FAILED");
        return;
    }
    task.sandbox = sandbox;

    std::vector<std::string> args;
    std::string program;
    if (task.shell) {
        program = "/bin/sh";
        args = {"sh", "-c", task.command};
    } else {
        program = task.command;
        args = task.arguments.empty() ? std::vector<std::string>{task.command} : task.arguments;
    }
    std::map<std::string, std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq != std::string::npos)
            env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    env["MESOS_SANDBOX"] = sandbox;
    env["MESOS_TASK_ID"] = task.id;
    env["MESOS_FRAMEWORK_ID"] = task.framework_id;
    env["MESOS_AGENT_ID"] = task.agent_id;
    env["MESOS_EXECUTOR_ID"] = task.executor_id;
    for (const auto& [k, v] : task.environment)
        env[k] = v;
    std::vector<std::string> env_storage;
    env_storage.reserve(env.size());
    for (const auto& [k, v] : env)
        env_storage.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_storage)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string out_path = sandbox + "/stdout";
    const std::string err_path = sandbox + "/stderr";
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addchdir_np(&actions, sandbox.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    const int rc = program.empty() ? ENOENT
                                   : posix_spawnp(&pid, program.c_str(), &actions, &attr,
                                                  argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        master_.transition(task, "TASK_FAILED", "SOURCE_AGENT",
                           fmt::format("Failed to launch '{}': {}", program, std::strerror(rc)),
                           "REASON_CONTAINER_LAUNCH_FAILED");
        return;
    }
    task.pid = pid;
    Process p;
    p.pid = pid;
    p.pidfd = open_pidfd(pid);
    p.framework_id = task.framework_id;
    p.task_id = task.id;
    p.sandbox = sandbox;
    processes_[task.serial] = p;
    log::info("fake_master_process_started", "task={} pid={} sandbox={}", task.id, pid,
              log::quote(sandbox));
    if (master_.config().send_task_starting) {
        master_.transition(task, "TASK_STARTING", "SOURCE_EXECUTOR");
    }
    master_.transition(task, "TASK_RUNNING", "SOURCE_EXECUTOR");
    watch(task.serial);
}

void LocalTasks::watch(std::uint64_t serial) {
    const auto it = processes_.find(serial);
    if (it == processes_.end())
        return;
    auto on_exit = master_.notifying([this, serial] { reap(serial); });
    if (it->second.pidfd >= 0) {
        master_.reactor().when_readable(it->second.pidfd, std::move(on_exit));
    } else {
        master_.reactor().after(kExitPollInterval, std::move(on_exit));
    }
}

void LocalTasks::reap(std::uint64_t serial) {
    const auto it = processes_.find(serial);
    if (it == processes_.end())
        return;
    int status = 0;
    const pid_t r = waitpid(it->second.pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) {
        watch(serial);
        return;
    }
    Process p = std::move(it->second);
    processes_.erase(it);
    if (p.pidfd >= 0)
        ::close(p.pidfd);
    if (p.forgotten)
        return;

    std::string state;
    std::string message;
    if (r < 0) {
        state = "TASK_FAILED";
        message = std::string("Lost track of the command: ") + std::strerror(errno);
    } else if (WIFSIGNALED(status)) {
        state = p.kill_requested ? "TASK_KILLED" : "TASK_FAILED";
        message = fmt::format("Command terminated with signal {}", strsignal(WTERMSIG(status)));
    } else {
        const int code = WEXITSTATUS(status);
        state = p.kill_requested ? "TASK_KILLED" : (code == 0 ? "TASK_FINISHED" : "TASK_FAILED");
        message = fmt::format("Command exited with status {}", code);
    }
    const std::string out = read_tail(p.sandbox + "/stdout", kOutputTailBytes);
    const std::string err = read_tail(p.sandbox + "/stderr", kOutputTailBytes);
    const std::string tail = last_lines(err.empty() ? out : err, kMessageTailLines);
    if (!tail.empty())
        message += "\n" + tail;
    log::info("fake_master_process_exited", "task={} pid={} state={}", p.task_id, p.pid, state);
    master_.task_exited(p.framework_id, p.task_id, serial, state, message, "", out);
}

void LocalTasks::terminate(Task& task, std::chrono::milliseconds grace) {
    const auto it = processes_.find(task.serial);
    if (it == processes_.end())
        return;
    it->second.kill_requested = true;
    ::kill(-it->second.pid, SIGTERM);
    master_.reactor().after(grace, master_.notifying([this, serial = task.serial] {
        const auto p = processes_.find(serial);
        if (p != processes_.end())
            ::kill(-p->second.pid, SIGKILL);
    }));
}

void LocalTasks::forget(Task& task) {
    const auto it = processes_.find(task.serial);
    if (it == processes_.end())
        return;
    it->second.forgotten = true;
    ::kill(-it->second.pid, SIGKILL);
    task.pid = -1;
}

}  // namespace mesoflow::fake
