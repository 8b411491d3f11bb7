// Helpers for the store's tests: a fresh migrated database per test, plain
// SQL on a separate connection (to look at rows the way a producer or an
// operator would), and shorthands for tasks, launches and status updates.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mesoflow/store/migrations.hpp"
#include "mesoflow/store/task_store.hpp"
#include "temp_postgres.hpp"

namespace mesoflow::store::testing {

using mesoflow::testing::TempPostgres;
using namespace mesoflow::task;

// "host=... dbname=NAME" -> NAME
inline std::string database_name(const std::string& dsn) {
    return dsn.substr(dsn.rfind('=') + 1);
}

// The producer grants README "Airflow" documents (README.md at
// `readme_path`), for `role`.
inline std::string readme_producer_grants(const std::string& readme_path, const std::string& role) {
    std::ifstream in(readme_path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string readme = text.str();
    const std::string executor = "airflow_executor";
    const auto from = readme.find("GRANT USAGE ON SCHEMA mesoflow TO " + executor + ";");
    if (from == std::string::npos)
        throw std::runtime_error("no producer grants in " + readme_path);
    std::string grants = readme.substr(from, readme.find("```", from) - from);
    for (auto at = grants.find(executor); at != std::string::npos; at = grants.find(executor, at))
        grants.replace(at, executor.size(), role);
    return grants;
}

// A new database with the mesoflow schema.
inline std::string migrated_database() {
    const std::string dsn = TempPostgres::shared().create_database();
    auto report = migrate(dsn);
    if (!report)
        throw std::runtime_error("migrate failed: " + report.error().message);
    return dsn;
}

// A plain connection for looking at and poking the tables.
class Sql {
  public:
    explicit Sql(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str()), &PQfinish) {
        if (PQstatus(conn_.get()) != CONNECTION_OK) {
            throw std::runtime_error(std::string("connect: ") + PQerrorMessage(conn_.get()));
        }
    }
    // Runs a statement; throws with the server's message when it fails.
    void exec(const std::string& sql) {
        std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn_.get(), sql.c_str()),
                                                          &PQclear);
        const auto st = PQresultStatus(res.get());
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            throw std::runtime_error(PQerrorMessage(conn_.get()));
        }
    }
    // The first column of the first row, "" for NULL or no row.
    std::string one(const std::string& sql) {
        std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn_.get(), sql.c_str()),
                                                          &PQclear);
        if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
            throw std::runtime_error(sql + ": " + PQerrorMessage(conn_.get()));
        }
        if (PQntuples(res.get()) == 0)
            return "";
        return PQgetvalue(res.get(), 0, 0);
    }
    std::int64_t count(const std::string& sql) { return std::stoll(one(sql)); }
    // The error message of a statement expected to fail ("" when it succeeded).
    std::string error_of(const std::string& sql) {
        std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn_.get(), sql.c_str()),
                                                          &PQclear);
        const auto st = PQresultStatus(res.get());
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            return "";
        return PQerrorMessage(conn_.get());
    }
    PGconn* raw() { return conn_.get(); }

  private:
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
};

inline NewTask shell_task(std::string key, std::string command = "true") {
    NewTask t;
    t.key = std::move(key);
    t.command = std::move(command);
    return t;
}

inline LaunchRecord launch_of(std::int64_t task_id, int attempt, std::string offer = "O1",
                              std::string agent = "A1") {
    LaunchRecord l;
    l.task_id = task_id;
    l.attempt = attempt;
    l.mesos_task_id = mesos_task_id(task_id, attempt);
    l.agent_id = std::move(agent);
    l.hostname = "agent-1.example";
    l.offer_id = std::move(offer);
    return l;
}

inline StatusUpdate update_of(std::int64_t task_id, int attempt, MesosTaskState state,
                              std::string uuid = "dXVpZA==") {
    StatusUpdate u;
    u.mesos_task_id = mesos_task_id(task_id, attempt);
    u.state = state;
    u.source = "SOURCE_EXECUTOR";
    u.agent_id = "A1";
    u.uuid = std::move(uuid);
    u.timestamp = 1700000000.5;
    return u;
}

// Queues a task and launches its next attempt; returns the task id.
inline std::int64_t queued_and_launched(TaskStore& store, const NewTask& task) {
    auto id = store.insert_task(task);
    if (!id)
        throw std::runtime_error(id.error().message);
    auto claimed = store.record_launches({launch_of(*id, 1)});
    if (!claimed || !claimed->at(0))
        throw std::runtime_error("launch not claimed");
    return *id;
}

// A store whose wait for a row another session holds (update_lock_wait)
// outlasts a test's steps (a bound, not a pace), under a name the test can
// find in pg_stat_activity.
inline TaskStore store_waiting_for_held_rows(const std::string& dsn,
                                             const std::string& application) {
    SessionLimits limits;
    limits.update_lock_wait = std::chrono::seconds(60);
    return TaskStore(dsn, application, {}, limits);
}

// Returns once the session named `application` waits for a lock (its
// statement has read its rows and waits to write one); throws if `running`
// ends first.
template <typename T>
void wait_until_lock_wait(Sql& sql, const std::string& application, std::future<T>& running) {
    while (sql.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                     application + "' AND wait_event_type = 'Lock'") == 0) {
        if (running.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready)
            throw std::runtime_error(application + " ended before it waited for a lock");
    }
}

inline std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace mesoflow::store::testing
