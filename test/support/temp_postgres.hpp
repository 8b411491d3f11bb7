// TempPostgres: a throwaway PostgreSQL server for tests. initdb into a fresh
// temp dir (as user "nobody" when the tests run as root), trust auth, a unix
// socket in that dir and a free loopback port. Stopped and deleted by the
// destructor, and killed with the test process if that crashes. Nothing here
// touches a PostgreSQL that may already run on the machine.
//
// TempPostgres::shared() starts one server per test process on first use;
// each test takes its own database from create_database().
#pragma once

#include <optional>
#include <string>

#include "process.hpp"

namespace mesoflow::testing {

class TempPostgres {
  public:
    TempPostgres();  // initdb + start; throws std::runtime_error with the server's output
    ~TempPostgres();
    TempPostgres(const TempPostgres&) = delete;
    TempPostgres& operator=(const TempPostgres&) = delete;

    static TempPostgres& shared();

    // libpq keyword/value connection string for a database on this server.
    std::string dsn(const std::string& database = "postgres") const;
    // Same, as a postgresql:// URI over TCP.
    std::string uri(const std::string& database = "postgres") const;
    // Creates an empty database with a unique name and returns its dsn.
    std::string create_database();

    void stop();     // fast shutdown; data is kept
    void start();    // starts again on the same port and socket
    void restart();  // stop + start
    // Terminates every other backend connected to `database` (a dropped connection
    // as a client sees it, without stopping the server).
    void kill_connections(const std::string& database);
    // Runs one SQL statement as superuser on `database`; throws on failure.
    void exec(const std::string& database, const std::string& sql) const;

    int port() const { return port_; }
    const std::string& socket_dir() const { return dir_; }
    const std::string& log_path() const { return log_path_; }

  private:
    void wait_ready();
    std::string dir_;
    std::string data_dir_;
    std::string log_path_;
    std::string bin_dir_;
    int port_ = 0;
    int db_counter_ = 0;
    std::optional<UnprivilegedUser> run_as_;
    ChildProcess server_;
};

// Directory holding initdb and postgres (PostgreSQL 15 on Debian 12), or
// $MESOFLOW_PG_BIN when set.
std::string postgres_bin_dir();

}  // namespace mesoflow::testing
