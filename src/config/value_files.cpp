#include "config/value_files.hpp"

#include <fmt/core.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "mesoflow/config/load.hpp"

namespace mesoflow::config {
namespace {

std::string without_trailing_space(std::string text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.pop_back();
    return text;
}

}  // namespace

Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error{fmt::format("cannot read {}: {}", path, std::strerror(errno))};
    std::string text;
    char buffer[8192];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        text.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_bytes) {
            return Error{fmt::format("{} is larger than {} bytes", path, max_bytes)};
        }
    }
    if (in.bad())
        return Error{fmt::format("cannot read {}: {}", path, std::strerror(errno))};
    return text;
}

Result<std::string> read_value_file(const std::string& path) {
    auto text = read_text_file(path, kMaxValueFileBytes);
    if (!text)
        return text.error();
    return without_trailing_space(std::move(*text));
}

Result<std::string> run_value_command(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return Error{fmt::format("cannot start /bin/sh: {}", std::strerror(errno))};
    }
    std::string out;
    char buffer[4096];
    bool too_large = false;
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
        if (out.size() + n > kMaxValueFileBytes) {
            too_large = true;
            continue;  // keep draining so the command is not killed by SIGPIPE mid-write
        }
        out.append(buffer, n);
    }
    const int status = ::pclose(pipe);
    if (status == -1)
        return Error{fmt::format("cannot wait for the command: {}", std::strerror(errno))};
    if (!WIFEXITED(status))
        return Error{"the command was killed by a signal"};
    if (WEXITSTATUS(status) != 0) {
        return Error{fmt::format("the command exited with status {}", WEXITSTATUS(status))};
    }
    if (too_large)
        return Error{fmt::format("the command printed more than {} bytes", kMaxValueFileBytes)};
    return without_trailing_space(std::move(out));
}

bool readable_by_others(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return false;
    return (st.st_mode & S_IROTH) != 0;
}

}  // namespace mesoflow::config
