// ChildProcess: a program the tests start and own (PostgreSQL, the fake
// master binary, mesoflow itself). The child dies with the test process
// (PR_SET_PDEATHSIG), so a crashed test leaves no server behind; the
// destructor kills and reaps it. When the tests run as root, `run_as` drops
// the child to an unprivileged user first (PostgreSQL refuses to run as root).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mesoflow::testing {

struct UnprivilegedUser {
    uid_t uid;
    gid_t gid;
};

// The user the tests drop to when running as root ("nobody"), or nullopt when
// the tests already run unprivileged.
std::optional<UnprivilegedUser> unprivileged_user_if_root();

struct SpawnOptions {
    std::vector<std::string> argv;
    std::vector<std::string> extra_env;  // "KEY=value", added to the test's environment
    std::optional<UnprivilegedUser> run_as;
    std::string output_path;  // stdout and stderr appended here; empty keeps the test's
    int death_signal = 9;     // sent to the child when the test process dies
};

class ChildProcess {
  public:
    ChildProcess() = default;
    static ChildProcess spawn(const SpawnOptions& options);  // throws std::runtime_error
    ~ChildProcess();
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    void signal(int sig) const;
    // Waits for the child to exit; returns its wait status, or nullopt on timeout.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    // Sends `sig`, waits up to `grace`, then SIGKILL. Returns the wait status.
    int stop(int sig, std::chrono::milliseconds grace);

  private:
    void reap_or_kill();
    pid_t pid_ = -1;
    std::optional<int> status_;
};

// Runs a program to completion (as `run_as` when set); returns its exit code
// and appends its output to `output`.
int run_program(const SpawnOptions& options, std::string* output = nullptr);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

// The whole of a text file ("" when it cannot be read).
std::string read_file(const std::string& path);

// Polls `ready` every 20 ms until it holds; throws std::runtime_error with
// the server's log when `server` exits first or `timeout` passes. `name`
// names the server in the message.
void wait_until_ready(ChildProcess& server, const std::string& name, const std::string& log_path,
                      const std::function<bool()>& ready, std::chrono::seconds timeout);

}  // namespace mesoflow::testing
