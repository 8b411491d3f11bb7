// Bulk submit: `mesoflow submit --from FILE` of `lines` JSON lines (argv,
// cpus, mem: a typical small task) into a fresh database of the bench's
// PostgreSQL, timed around the whole command (start, parse, COPY, commit).
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include <fmt/core.h>

#include "bench.hpp"

namespace mesoflow::bench {

double bulk_submit_per_s(testing::TempPostgres& pg, const Options& o, std::size_t lines) {
    const std::string dsn = migrated_database(pg, o);
    std::string output;

    char path[] = "/tmp/mesoflow-bench-bulk-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0)
        throw std::runtime_error("cannot create a temporary file");
    ::close(fd);
    {
        std::ofstream out(path);
        for (std::size_t i = 0; i < lines; ++i) {
            out << fmt::format(
                R"({{"key": "bulk.{}", "argv": ["/usr/bin/env", "python3", "job.py", "{}"],)"
                R"( "cpus": 0.5, "mem": 128}})"
                "\n",
                i, i);
        }
        if (!out)
            throw std::runtime_error(std::string("cannot write ") + path);
    }
    testing::SpawnOptions submit;
    submit.argv = {o.mesoflow_binary, "submit", "--from", path};
    submit.extra_env = {"MESOFLOW_DATABASE=" + dsn};
    const auto start = std::chrono::steady_clock::now();
    const int code = testing::run_program(submit, &output);
    const double seconds = seconds_since(start);
    ::unlink(path);
    if (code != 0)
        throw std::runtime_error("mesoflow submit --from failed: " + output);
    Sql sql(dsn);
    const auto queued = std::stoll(sql.row("SELECT count(*) FROM mesoflow.tasks").at(0));
    if (queued != static_cast<long long>(lines))
        throw std::runtime_error(fmt::format("submit --from queued {} of {}", queued, lines));
    return static_cast<double>(lines) / seconds;
}

}  // namespace mesoflow::bench
