#include "temp_postgres.hpp"

#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace mesoflow::testing {
namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(60);
constexpr auto kStopGrace = std::chrono::seconds(20);
const char* const kSuperuser = "mesoflow";

}  // namespace

std::string postgres_bin_dir() {
    if (const char* env = std::getenv("MESOFLOW_PG_BIN"); env != nullptr && *env != '\0') {
        return env;
    }
    for (const char* candidate : {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin",
                                  "/usr/lib/postgresql/17/bin"}) {
        if (fs::exists(fs::path(candidate) / "initdb"))
            return candidate;
    }
    throw std::runtime_error(
        "PostgreSQL server binaries not found (install package postgresql, or set "
        "MESOFLOW_PG_BIN)");
}

TempPostgres::TempPostgres() : bin_dir_(postgres_bin_dir()), run_as_(unprivileged_user_if_root()) {
    char tmpl[] = "/tmp/mesoflow-pg-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
        throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    data_dir_ = dir_ + "/data";
    log_path_ = dir_ + "/server.log";
    if (run_as_) {
        if (chown(dir_.c_str(), run_as_->uid, run_as_->gid) != 0) {
            throw std::runtime_error("cannot hand " + dir_ + " to the unprivileged user");
        }
    }
    std::string out;
    SpawnOptions init;
    init.argv = {
        bin_dir_ + "/initdb", "-D",       data_dir_, "-U", kSuperuser, "-A", "trust", "-E", "UTF8",
        "--no-locale",        "--no-sync"};
    init.run_as = run_as_;
    init.extra_env = {"LC_ALL=C", "TZ=UTC"};
    if (run_program(init, &out) != 0) {
        fs::remove_all(dir_);
        throw std::runtime_error("initdb failed:\n" + out);
    }
    port_ = free_loopback_port();
    start();
}

TempPostgres::~TempPostgres() {
    try {
        stop();
    } catch (...) {
        // A destructor must not throw; the directory is removed regardless.
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

TempPostgres& TempPostgres::shared() {
    static TempPostgres instance;
    return instance;
}

std::string TempPostgres::dsn(const std::string& database) const {
    return "host=" + dir_ + " port=" + std::to_string(port_) + " user=" + kSuperuser +
           " dbname=" + database;
}

std::string TempPostgres::uri(const std::string& database) const {
    return "postgresql://" + std::string(kSuperuser) + "@127.0.0.1:" + std::to_string(port_) + "/" +
           database;
}

void TempPostgres::start() {
    if (server_.running())
        return;
    SpawnOptions opts;
    opts.argv = {bin_dir_ + "/postgres",
                 "-D",
                 data_dir_,
                 "-p",
                 std::to_string(port_),
                 "-k",
                 dir_,
                 "-c",
                 "listen_addresses=127.0.0.1",
                 "-c",
                 "fsync=off",
                 "-c",
                 "wal_init_zero=off",
                 "-c",
                 "max_connections=200",
                 "-c",
                 "shared_buffers=64MB",
                 "-c",
                 "log_min_messages=warning"};
    opts.run_as = run_as_;
    opts.output_path = log_path_;
    opts.extra_env = {"LC_ALL=C", "TZ=UTC"};
    opts.death_signal = SIGQUIT;  // immediate shutdown if the test process dies
    server_ = ChildProcess::spawn(opts);
    wait_ready();
}

void TempPostgres::wait_ready() {
    const std::string conninfo = dsn("postgres");
    wait_until_ready(
        server_, "postgres", log_path_, [&] { return PQping(conninfo.c_str()) == PQPING_OK; },
        kReadyTimeout);
}

void TempPostgres::stop() {
    server_.stop(SIGINT, kStopGrace);
}

void TempPostgres::restart() {
    stop();
    start();
}

void TempPostgres::exec(const std::string& database, const std::string& sql) const {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(dsn(database).c_str()),
                                                      &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        throw std::runtime_error(std::string("connect: ") + PQerrorMessage(conn.get()));
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
    const auto st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        throw std::runtime_error("SQL failed: " + sql + ": " + PQerrorMessage(conn.get()));
    }
}

std::string TempPostgres::create_database() {
    const std::string name =
        "test_" + std::to_string(getpid()) + "_" + std::to_string(++db_counter_);
    exec("postgres", "CREATE DATABASE " + name);
    return dsn(name);
}

void TempPostgres::kill_connections(const std::string& database) {
    exec("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                         database + "' AND pid <> pg_backend_pid()");
}

}  // namespace mesoflow::testing
