// mesoflow-bench: mesoflow end to end on this machine, with the ceilings it
// is measured against, in one run. Each part returns flat figures (a JSON
// object of numbers) that main.cpp prints as a table and writes with --json.
//
//   end_to_end.cpp   a throwaway PostgreSQL, mesoflow-fake-master with N
//                    agents, K queued zero-duration tasks, `mesoflow run`
//                    until every task is committed terminal
//   ceilings.cpp     (1) the store's statements in mesoflow's batches with no
//                    Mesos in the loop; (2) mesoflow-fake-master driven by
//                    mesoflow-fake-master-bench (accepts and acks only)
//   match_timing.cpp the scheduling core alone: 1,000 offers x 10,000 tasks
//   bulk_submit.cpp  `mesoflow submit --from` of 200,000 JSON lines
//   support.cpp      queue filling, SQL, child processes, /proc readings
//
// Every part throws std::runtime_error when it cannot finish (a child died,
// a timeout passed); main reports that and exits non-zero.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_postgres.hpp"

namespace mesoflow::bench {

using nlohmann::json;

struct Options {
    std::size_t tasks = 100000;  // K
    std::size_t agents = 1000;   // N
    double agent_cpus = 8;
    double agent_mem_mb = 32768;
    double task_cpus = 0.1;
    double task_mem_mb = 32;
    // The fake master's offer cycle; mesoflow and the minimal client see the same.
    int allocation_interval_ms = 20;
    // The memory comparison run (default K / 10).
    std::size_t small_tasks = 0;
    // A run on a real master's clock: tasks, and the allocation interval.
    std::size_t clock_tasks = 60000;
    int clock_interval_ms = 1000;
    std::string log_level = "info";         // mesoflow's, as deployed
    std::vector<std::string> mesoflow_env;  // extra KEY=value for `mesoflow run`
    double timeout_s = 1200;                // per run
    std::string json_path;
    std::string work_dir;  // logs of the children; default a new temp dir
    bool skip_ceilings = false;
    bool skip_bulk_submit = false;
    std::string mesoflow_binary;
    std::string fake_master_binary;
    std::string fake_master_bench_binary;
};

// ------------------------------------------------------------ the parts
// One run of `mesoflow run` over `tasks` queued tasks; `label` names the logs.
// In a new database, or in `dsn`'s, already migrated and with no task left.
json run_end_to_end(testing::TempPostgres& pg, const Options& o, std::size_t tasks,
                    const std::string& label, const std::string& dsn = "");
// What a retention job leaves: every task of `dsn` deleted (and so its
// history), one history row kept at the end as newer tasks' would be, both
// tables vacuumed, so that the next run's rows fill the pages freed.
void delete_all_tasks_and_vacuum(const std::string& dsn);
// Batches of `claim_size` claims and `update_size` status updates.
json database_ceiling(testing::TempPostgres& pg, const Options& o, std::size_t claim_size,
                      std::size_t update_size);
json master_ceiling(const Options& o);
json match_timing();
// `mesoflow submit --from` of `lines` JSON lines into a fresh database: tasks/s.
double bulk_submit_per_s(testing::TempPostgres& pg, const Options& o, std::size_t lines);

// ------------------------------------------------------------- support
// A new database of `pg`, migrated by `mesoflow migrate` of the binary
// measured (an older one brings its own schema): its DSN.
std::string migrated_database(testing::TempPostgres& pg, const Options& o);
// Inserts `count` pending tasks (`command` true, the task size of `o`) in one
// statement, then ANALYZE.
void fill_queue(const std::string& dsn, std::size_t count, const Options& o);

// A plain libpq connection; every method throws with the server's message.
class Sql {
  public:
    explicit Sql(const std::string& dsn);
    ~Sql();
    Sql(const Sql&) = delete;
    Sql& operator=(const Sql&) = delete;
    void exec(const std::string& sql);
    // The first row's columns as text ("" for NULL).
    std::vector<std::string> row(const std::string& sql);

  private:
    struct pg_conn* conn_;
};

// The fake master binary on a free port, ready to serve.
struct RunningMaster {
    testing::ChildProcess process;
    int port = 0;
};
RunningMaster start_fake_master(const Options& o, const std::string& log_path);

// Waits until `path` contains `text`; throws when `child` dies or time runs out.
void wait_for_output(const std::string& path, const std::string& text, testing::ChildProcess& child,
                     std::chrono::milliseconds timeout);

// What the database server has done so far: WAL written (the insert
// position, exact), full-page images (pg_stat_wal), rows written to
// mesoflow's tables (pg_stat_user_tables) and the CPU of the server's
// processes (the postmaster, its live children and those it has reaped,
// from /proc). Differences of two readings are the cost of what ran between.
struct DbCounters {
    std::string wal_lsn;
    double wal_fpi = 0;
    double inserted = 0, updated = 0, hot_updated = 0, deleted = 0;
    double cpu_s = 0;
};
DbCounters read_db_counters(Sql& sql);
// After the backends that wrote have ended: waits until the table
// statistics stop moving (a backend flushes them as it exits), then reads.
DbCounters read_db_counters_settled(Sql& sql);
// Writes the cost per task between two readings as flat keys PREFIX_*.
void add_db_cost(Sql& sql, const DbCounters& before, const DbCounters& after, std::size_t tasks,
                 const std::string& prefix, json& to);

// user + system CPU seconds of a live process, from /proc/PID/stat.
double process_cpu_seconds(pid_t pid);
// Peak resident set (VmHWM) of a live process in MiB, from /proc/PID/status.
double process_peak_rss_mb(pid_t pid);

// GET `path` on 127.0.0.1:`port`; the body of a 200 answer, else throws.
std::string http_get(int port, const std::string& path);

// Copies one of GET /fake/latency's histograms as flat keys PREFIX_count,
// PREFIX_p50_ms, PREFIX_p99_ms and PREFIX_max_ms.
void copy_latency(const json& from, const std::string& prefix, json& to);

std::string read_text(const std::string& path);
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace mesoflow::bench
