#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench.hpp"

namespace mesoflow::bench {

namespace {

constexpr std::chrono::milliseconds kOutputPoll{20};
constexpr std::chrono::seconds kMasterStartTimeout{20};
constexpr std::size_t kHttpReadChunk = 64 * 1024;
constexpr std::chrono::milliseconds kStatsSettle{300};
constexpr int kStatsSettleTries = 40;

// Fields 4 (ppid) and 14 to 17 (utime, stime, cutime, cstime) of
// /proc/PID/stat, in clock ticks; false when the process is gone.
struct ProcStat {
    long ppid = 0;
    double own_ticks = 0;       // utime + stime
    double children_ticks = 0;  // cutime + cstime: children it has reaped
};

bool read_proc_stat(const std::string& path, ProcStat& out) {
    const std::string stat = read_text(path);
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        return false;
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 17 && in >> field; ++i) {
        if (i == 4)
            out.ppid = std::stol(field);
        if (i == 14 || i == 15)
            out.own_ticks += std::stod(field);
        if (i == 16 || i == 17)
            out.children_ticks += std::stod(field);
    }
    return true;
}

// The server's CPU so far: the postmaster's own and its reaped children's,
// and every live child's own.
double server_cpu_seconds(long postmaster) {
    ProcStat master;
    if (!read_proc_stat(fmt::format("/proc/{}/stat", postmaster), master))
        throw std::runtime_error("cannot read the postmaster's /proc/PID/stat");
    double ticks = master.own_ticks + master.children_ticks;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        ProcStat child;
        if (read_proc_stat(entry.path().string() + "/stat", child) && child.ppid == postmaster)
            ticks += child.own_ticks;
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

Sql::Sql(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string message = PQerrorMessage(conn_);
        PQfinish(conn_);
        throw std::runtime_error("connect: " + message);
    }
}

Sql::~Sql() {
    PQfinish(conn_);
}

void Sql::exec(const std::string& sql) {
    PGresult* res = PQexec(conn_, sql.c_str());
    const auto st = PQresultStatus(res);
    PQclear(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        throw std::runtime_error(sql.substr(0, 80) + ": " + PQerrorMessage(conn_));
}

std::vector<std::string> Sql::row(const std::string& sql) {
    PGresult* res = PQexec(conn_, sql.c_str());
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        throw std::runtime_error(sql.substr(0, 80) + ": " + PQerrorMessage(conn_));
    }
    std::vector<std::string> out;
    if (PQntuples(res) > 0) {
        for (int c = 0; c < PQnfields(res); ++c)
            out.emplace_back(PQgetvalue(res, 0, c));
    }
    PQclear(res);
    return out;
}

std::string migrated_database(testing::TempPostgres& pg, const Options& o) {
    const std::string dsn = pg.create_database();
    std::string output;
    testing::SpawnOptions migrate;
    migrate.argv = {o.mesoflow_binary, "migrate"};
    migrate.extra_env = {"MESOFLOW_DATABASE=" + dsn};
    if (testing::run_program(migrate, &output) != 0)
        throw std::runtime_error("mesoflow migrate failed: " + output);
    return dsn;
}

void fill_queue(const std::string& dsn, std::size_t count, const Options& o) {
    Sql sql(dsn);
    sql.exec(fmt::format(
        "INSERT INTO mesoflow.tasks (key, command, cpus, mem) SELECT 'bench-' || g, 'true', {}, {}"
        " FROM generate_series(1, {}) g",
        o.task_cpus, o.task_mem_mb, count));
    sql.exec("ANALYZE mesoflow.tasks");
}

RunningMaster start_fake_master(const Options& o, const std::string& log_path) {
    RunningMaster m;
    m.port = testing::free_loopback_port();
    testing::SpawnOptions so;
    so.argv = {o.fake_master_binary, "--listen", fmt::format("127.0.0.1:{}", m.port), "--agents",
               std::to_string(o.agents), "--cpus", fmt::format("{}", o.agent_cpus), "--mem",
               fmt::format("{}", o.agent_mem_mb), "--task-duration", "0", "--allocation-interval",
               fmt::format("{}ms", o.allocation_interval_ms),
               // Keeps the master lean: the benchmark reads counters, not calls.
               "--record-calls", "1", "--log-level", "warn"};
    so.output_path = log_path;
    m.process = testing::ChildProcess::spawn(so);
    wait_for_output(log_path, "listening on", m.process, kMasterStartTimeout);
    return m;
}

void wait_for_output(const std::string& path, const std::string& text, testing::ChildProcess& child,
                     std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_text(path).find(text) == std::string::npos) {
        if (!child.running())
            throw std::runtime_error("child exited before printing '" + text + "'; see " + path);
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("no '" + text + "' in " + path);
        std::this_thread::sleep_for(kOutputPoll);
    }
}

double process_cpu_seconds(pid_t pid) {
    const std::string stat = read_text(fmt::format("/proc/{}/stat", pid));
    // Fields after the command name, which is in parentheses and may hold spaces.
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        throw std::runtime_error("cannot read /proc/<pid>/stat");
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    double utime = 0;
    double stime = 0;
    // state is field 3; utime and stime are fields 14 and 15.
    for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14)
            utime = std::stod(field);
        if (i == 15)
            stime = std::stod(field);
    }
    return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

DbCounters read_db_counters(Sql& sql) {
    DbCounters c;
    const auto row = sql.row(
        "SELECT pg_current_wal_lsn(), (SELECT wal_fpi FROM pg_stat_wal),"
        " coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0),"
        " coalesce(sum(n_tup_hot_upd), 0), coalesce(sum(n_tup_del), 0), pg_backend_pid()"
        " FROM pg_stat_user_tables WHERE schemaname = 'mesoflow'");
    c.wal_lsn = row.at(0);
    c.wal_fpi = std::stod(row.at(1));
    c.inserted = std::stod(row.at(2));
    c.updated = std::stod(row.at(3));
    c.hot_updated = std::stod(row.at(4));
    c.deleted = std::stod(row.at(5));
    ProcStat backend;
    if (!read_proc_stat("/proc/" + row.at(6) + "/stat", backend))
        throw std::runtime_error("cannot read the backend's /proc/PID/stat");
    c.cpu_s = server_cpu_seconds(backend.ppid);
    return c;
}

DbCounters read_db_counters_settled(Sql& sql) {
    DbCounters last = read_db_counters(sql);
    for (int i = 0; i < kStatsSettleTries; ++i) {
        std::this_thread::sleep_for(kStatsSettle);
        sql.exec("SELECT pg_stat_clear_snapshot()");
        DbCounters now = read_db_counters(sql);
        const bool moved = now.inserted != last.inserted || now.updated != last.updated ||
                           now.deleted != last.deleted;
        last = std::move(now);
        if (!moved)
            break;
    }
    return last;
}

void add_db_cost(Sql& sql, const DbCounters& before, const DbCounters& after, std::size_t tasks,
                 const std::string& prefix, json& to) {
    const double n = static_cast<double>(tasks);
    const double wal = std::stod(
        sql.row(fmt::format("SELECT pg_wal_lsn_diff('{}', '{}')", after.wal_lsn, before.wal_lsn))
            .at(0));
    to[prefix + "_wal_bytes_per_task"] = wal / n;
    to[prefix + "_wal_fpi_per_task"] = (after.wal_fpi - before.wal_fpi) / n;
    to[prefix + "_rows_inserted_per_task"] = (after.inserted - before.inserted) / n;
    to[prefix + "_rows_updated_per_task"] = (after.updated - before.updated) / n;
    const double updated = after.updated - before.updated;
    to[prefix + "_hot_update_share"] =
        updated > 0 ? (after.hot_updated - before.hot_updated) / updated : 0.0;
    to[prefix + "_rows_deleted_per_task"] = (after.deleted - before.deleted) / n;
    to[prefix + "_cpu_ms_per_task"] = (after.cpu_s - before.cpu_s) * 1000.0 / n;
}

double process_peak_rss_mb(pid_t pid) {
    std::istringstream in(read_text(fmt::format("/proc/{}/status", pid)));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stod(line.substr(6)) / 1024.0;
    }
    throw std::runtime_error("no VmHWM in /proc/<pid>/status");
}

void copy_latency(const json& from, const std::string& prefix, json& to) {
    to[prefix + "_count"] = from.at("count");
    to[prefix + "_p50_ms"] = from.at("p50_ms");
    to[prefix + "_p99_ms"] = from.at("p99_ms");
    to[prefix + "_max_ms"] = from.at("max_ms");
}

std::string http_get(int port, const std::string& path) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error(fmt::format("cannot connect to 127.0.0.1:{}", port));
    }
    const std::string request =
        fmt::format("GET {} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n", path);
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string answer;
    std::string chunk(kHttpReadChunk, '\0');
    while (true) {
        const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
        if (n <= 0)
            break;
        answer.append(chunk.data(), static_cast<std::size_t>(n));
        // The fake master may keep the connection open; stop once the body is in.
        const auto head_end = answer.find("\r\n\r\n");
        const auto cl = answer.find("Content-Length: ");
        if (head_end != std::string::npos && cl != std::string::npos && cl < head_end) {
            const auto length = std::stoul(answer.substr(cl + 16));
            if (answer.size() >= head_end + 4 + length)
                break;
        }
    }
    ::close(fd);
    if (answer.rfind("HTTP/1.1 200", 0) != 0)
        throw std::runtime_error("GET " + path + ": " + answer.substr(0, 200));
    return answer.substr(answer.find("\r\n\r\n") + 4);
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace mesoflow::bench
