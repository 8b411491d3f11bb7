#include "process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mesoflow::testing {

std::optional<UnprivilegedUser> unprivileged_user_if_root() {
    if (geteuid() != 0)
        return std::nullopt;
    const passwd* pw = getpwnam("nobody");
    if (pw == nullptr)
        throw std::runtime_error("running as root but there is no user 'nobody'");
    return UnprivilegedUser{pw->pw_uid, pw->pw_gid};
}

ChildProcess ChildProcess::spawn(const SpawnOptions& options) {
    if (options.argv.empty())
        throw std::runtime_error("spawn: empty argv");
    // Everything the child needs is built before fork: after fork only
    // async-signal-safe calls are allowed.
    std::vector<char*> argv;
    for (const auto& a : options.argv)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e)
        env_storage.emplace_back(*e);
    for (const auto& e : options.extra_env)
        env_storage.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_storage)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    int out_fd = -1;
    if (!options.output_path.empty()) {
        out_fd =
            ::open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out_fd < 0) {
            throw std::runtime_error("spawn: cannot open " + options.output_path + ": " +
                                     std::strerror(errno));
        }
        if (options.run_as) {
            if (fchown(out_fd, options.run_as->uid, options.run_as->gid) != 0) {
                // The child writes through the inherited descriptor; ownership is cosmetic.
            }
        }
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        if (out_fd >= 0) {
            dup2(out_fd, STDOUT_FILENO);
            dup2(out_fd, STDERR_FILENO);
        }
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        setpgid(0, 0);
        if (options.run_as) {
            if (setgroups(0, nullptr) != 0 || setgid(options.run_as->gid) != 0 ||
                setuid(options.run_as->uid) != 0) {
                _exit(126);
            }
        }
        // Set after the credential change, which would clear it.
        prctl(PR_SET_PDEATHSIG, options.death_signal);
        if (getppid() != parent)
            _exit(125);
        execve(argv[0], argv.data(), envp.data());
        execvpe(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    if (out_fd >= 0)
        ::close(out_fd);
    ChildProcess child;
    child.pid_ = pid;
    return child;
}

ChildProcess::~ChildProcess() {
    reap_or_kill();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), status_(other.status_) {
    other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        reap_or_kill();
        pid_ = other.pid_;
        status_ = other.status_;
        other.pid_ = -1;
    }
    return *this;
}

void ChildProcess::reap_or_kill() {
    if (pid_ > 0 && !status_)
        stop(SIGKILL, std::chrono::milliseconds(5000));
    pid_ = -1;
}

bool ChildProcess::running() {
    if (pid_ <= 0 || status_)
        return false;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = status;
        return false;
    }
    return true;
}

void ChildProcess::signal(int sig) const {
    if (pid_ > 0 && !status_)
        ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
}

int ChildProcess::stop(int sig, std::chrono::milliseconds grace) {
    if (pid_ <= 0)
        return -1;
    if (status_)
        return *status_;
    signal(sig);
    if (auto st = wait_for(grace))
        return *st;
    signal(SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    status_ = status;
    return status;
}

int run_program(const SpawnOptions& options, std::string* output) {
    SpawnOptions opts = options;
    char path[] = "/tmp/mesoflow-run-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0)
        throw std::runtime_error("mkstemp failed");
    ::close(fd);
    opts.output_path = path;
    ChildProcess child = ChildProcess::spawn(opts);
    auto status = child.wait_for(std::chrono::minutes(5));
    if (!status)
        status = child.stop(SIGKILL, std::chrono::seconds(1));
    if (output != nullptr) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        *output += ss.str();
    }
    ::unlink(path);
    if (WIFEXITED(*status))
        return WEXITSTATUS(*status);
    return 128 + (WIFSIGNALED(*status) ? WTERMSIG(*status) : 0);
}

int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void wait_until_ready(ChildProcess& server, const std::string& name, const std::string& log_path,
                      const std::function<bool()>& ready, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!server.running())
            throw std::runtime_error(name + " exited at start:\n" + read_file(log_path));
        if (ready())
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error(name + " not ready after " + std::to_string(timeout.count()) +
                             " s:\n" + read_file(log_path));
}

}  // namespace mesoflow::testing
