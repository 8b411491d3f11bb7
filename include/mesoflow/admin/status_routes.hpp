// StatusRoutes: the status page's routes, for AdminSources::page.
//   GET /status              the framework, the queues, recent tasks; query
//                            state=, key= (a prefix), queue=, limit= (default
//                            50, at most 500)
//   GET /status/task?key=K   one task: its columns, why it waits, its history
// A bad query answers 400, an unknown key 404, each with a page saying why.
//
// The database is read through a TaskStore of its own (application name
// "mesoflow status page"), on the admin thread that /ready and /metrics
// share: its connection gives up after kPageConnectTimeout, and each
// statement after kPageStatementTimeout. A database that does not answer
// gives a page that says so, never an exception. Not thread-safe: the admin
// thread alone calls serve().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mesoflow/admin/admin_server.hpp"

namespace mesoflow::store {
class TaskStore;
}

namespace mesoflow::admin {

inline constexpr std::chrono::seconds kPageConnectTimeout{2};
inline constexpr std::chrono::seconds kPageStatementTimeout{2};

class StatusRoutes {
  public:
    // state_json: the runtime's /state text. now_us: the wall clock.
    StatusRoutes(std::string dsn, std::function<std::string()> state_json,
                 std::function<std::int64_t()> now_us = {});
    ~StatusRoutes();
    StatusRoutes(const StatusRoutes&) = delete;
    StatusRoutes& operator=(const StatusRoutes&) = delete;

    // An answer for /status and /status/task, nullopt for any other path.
    std::optional<HttpAnswer> serve(std::string_view path, std::string_view query);

  private:
    HttpAnswer status(std::string_view query);
    HttpAnswer task(std::string_view query);

    std::unique_ptr<store::TaskStore> store_;
    std::function<std::string()> state_json_;
    std::function<std::int64_t()> now_us_;
};

}  // namespace mesoflow::admin
