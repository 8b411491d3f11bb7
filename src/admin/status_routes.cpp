#include "mesoflow/admin/status_routes.hpp"

#include <chrono>
#include <utility>

#include "mesoflow/admin/status_page.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::admin {
namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";

std::int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

HttpAnswer html(int status, std::string body) {
    return HttpAnswer{status, std::string(kHtml), std::move(body)};
}

void log_database_error(const Error& error) {
    log::warn("status_page_database", "error={}", log::quote(error.message));
}

}  // namespace

StatusRoutes::StatusRoutes(std::string dsn, std::function<std::string()> state_json,
                           std::function<std::int64_t()> now_us)
    : store_(std::make_unique<store::TaskStore>(
          std::move(dsn), "mesoflow status page", kPageStatementTimeout,
          store::SessionLimits{kPageConnectTimeout, kPageStatementTimeout})),
      state_json_(std::move(state_json)),
      now_us_(now_us ? std::move(now_us) : std::function<std::int64_t()>(wall_us)) {}

StatusRoutes::~StatusRoutes() = default;

std::optional<HttpAnswer> StatusRoutes::serve(std::string_view path, std::string_view query) {
    if (path == "/status" || path == "/status/")
        return status(query);
    if (path == "/status/task")
        return task(query);
    return std::nullopt;
}

HttpAnswer StatusRoutes::status(std::string_view query) {
    auto parsed = parse_status_query(query);
    if (!parsed)
        return html(400, render_message_page("Bad request", parsed.error().message));
    StatusData data;
    if (auto framework = parse_framework(state_json_()))
        data.framework = std::move(*framework);
    // One statement after another; the first failure ends the reading, so a
    // database that does not answer costs one timeout, not three.
    const auto failed = [&](const Error& error) {
        log_database_error(error);
        data.database_error = error.message;
        data.queues.clear();
        data.reasons.clear();
    };
    if (auto queues = store_->queue_summaries(); !queues) {
        failed(queues.error());
    } else {
        data.queues = std::move(*queues);
        if (auto reasons = store_->pending_reason_counts(data.queues); !reasons) {
            failed(reasons.error());
        } else {
            data.reasons = std::move(*reasons);
            store::TaskFilter filter;
            filter.states = parsed->states;
            filter.key_prefix = parsed->key_prefix;
            filter.queue = parsed->queue;
            filter.limit = parsed->limit;
            if (auto tasks = store_->list_tasks(filter); !tasks)
                failed(tasks.error());
            else
                data.tasks = std::move(*tasks);
        }
    }
    return html(200, render_status_page(data, *parsed, now_us_()));
}

HttpAnswer StatusRoutes::task(std::string_view query) {
    auto key = query_value(query, "key");
    if (!key)
        return html(400, render_message_page("Bad request", key.error().message));
    if (!*key || (*key)->empty())
        return html(400, render_message_page("Bad request", "name the task: /status/task?key=KEY"));
    auto found = store_->find_task(**key);
    if (!found) {
        log_database_error(found.error());
        return html(503,
                    render_message_page("The database did not answer",
                                        "The database did not answer: " + found.error().message));
    }
    if (!*found)
        return html(404, render_message_page("No such task", "No task has the key " + **key + "."));
    TaskPageData data;
    data.task = std::move(**found);
    if (auto history = store_->task_history(data.task.id); !history) {
        log_database_error(history.error());
        data.database_error = history.error().message;
    } else {
        data.history = std::move(*history);
        if (auto reason = store_->pending_reason(data.task.id); !reason) {
            log_database_error(reason.error());
            data.database_error = reason.error().message;
        } else {
            data.pending = std::move(*reason);
        }
    }
    return html(200, render_task_page(data, now_us_()));
}

}  // namespace mesoflow::admin
