// Runs the built `mesoflow` binary (MESOFLOW_BINARY, from CMake) as a
// subprocess, the way an operator's shell does, with a configuration that
// cannot pick up files from the machine: MESOFLOW_CONFIG names an empty file
// unless the test passes its own.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "process.hpp"

namespace mesoflow::testing {

struct CliResult {
    int code = -1;
    std::string output;  // stdout and stderr together
};

// A file that lives as long as the object.
class TempFile {
  public:
    explicit TempFile(const std::string& content = "") {
        char path[] = "/tmp/mesoflow-cli-test-XXXXXX";
        const int fd = mkstemp(path);
        if (fd >= 0)
            ::close(fd);
        path_ = path;
        std::ofstream(path_) << content;
    }
    ~TempFile() { ::unlink(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

inline const std::string& empty_config_file() {
    static TempFile file("# no settings\n");
    return file.path();
}

inline CliResult mesoflow_cli(std::vector<std::string> args, std::vector<std::string> env = {}) {
    SpawnOptions options;
    options.argv = {MESOFLOW_BINARY};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.extra_env = {"MESOFLOW_CONFIG=" + empty_config_file()};
    options.extra_env.insert(options.extra_env.end(), env.begin(), env.end());
    CliResult result;
    result.code = run_program(options, &result.output);
    return result;
}

// Shorthand for commands against one database.
inline CliResult mesoflow_db(const std::string& dsn, std::vector<std::string> args) {
    return mesoflow_cli(std::move(args), {"MESOFLOW_DATABASE=" + dsn});
}

}  // namespace mesoflow::testing
