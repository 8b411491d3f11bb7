#include "terminal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

extern char** environ;

namespace mesoflow::testing {
namespace {

constexpr auto kTimeout = std::chrono::seconds(20);

// Reads what is there within `ms`; false at EOF (the child closed the terminal).
bool read_some(int fd, std::string& out, int ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0)
        return true;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
        return false;  // EIO once the slave side is closed
    out.append(buf, static_cast<std::size_t>(n));
    return true;
}

}  // namespace

CliResult mesoflow_on_terminal(const std::vector<std::string>& args,
                               const std::vector<std::string>& env, const std::string& prompt,
                               const std::string& input) {
    std::vector<std::string> argv_storage{MESOFLOW_BINARY};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e)
        env_storage.emplace_back(*e);
    env_storage.push_back("MESOFLOW_CONFIG=" + empty_config_file());
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_storage)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    int master = -1;
    int slave = -1;
    if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0)
        throw std::runtime_error("openpty failed");
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::setsid();
        ::ioctl(slave, TIOCSCTTY, 0);
        ::dup2(slave, 0);
        ::dup2(slave, 1);
        ::dup2(slave, 2);
        ::close(master);
        ::close(slave);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(slave);
    CliResult result;
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    bool open = true;
    while (open && result.output.find(prompt) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
        open = read_some(master, result.output, 100);
    }
    if (open && result.output.find(prompt) != std::string::npos) {
        const std::string line = input + "\n";
        if (::write(master, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            throw std::runtime_error("write to terminal failed");
    }
    while (open && std::chrono::steady_clock::now() < deadline)
        open = read_some(master, result.output, 100);
    ::close(master);
    int status = 0;
    if (open)
        ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

}  // namespace mesoflow::testing
