// The status page's HTML: pure functions from plain values (the store's rows,
// the framework as /state tells it, the time now) to a page. No external
// assets: inline CSS, and a small inline script that reloads the page every
// 5 s where JavaScript runs (the page works without it).
//
// Everything that comes from producers and agents (keys, commands, queue
// names, messages, hostnames, agent ids, reasons' details) goes through
// html_escape() into text and attributes, and through url_encode() into
// links. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/common/result.hpp"
#include "mesoflow/store/task_view.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::admin {

// Text for HTML, in an element or a quoted attribute: & < > " ' as entities;
// C0 controls and DEL spelled out visibly (\n, \r, \t, else \xNN), as are C1
// controls and the characters that reorder bidirectional text (\uNNNN);
// invalid UTF-8 as U+FFFD, one per bad byte. Other valid UTF-8 is kept.
std::string html_escape(std::string_view text);

// Percent-encoding for a query value: every byte but A-Z a-z 0-9 - . _ ~.
std::string url_encode(std::string_view text);
// The reverse, for a query string's names and values ('+' is a space).
// Malformed escapes ('%' without two hex digits) are an Error.
Result<std::string> url_decode(std::string_view text);

// The framework as /state tells it (Runtime::state_json()).
struct FrameworkView {
    std::string framework_id;
    std::string framework_name;
    std::string identity;  // this instance
    std::string role;      // starting, standby, leader, stepped_down
    std::string leader;    // the leading instance, as the database says
    std::optional<std::int64_t> leader_since_us;
    std::string master;
    std::string master_detection;  // list or zookeeper
    std::string zookeeper;         // the zk:// URL when found through ZooKeeper
    bool subscribed = false;
    std::optional<std::int64_t> subscribed_since_us;
    bool suppressed = false;
    bool database_up = false;
    std::int64_t offers_held = 0;
};

// Fields missing from `json` keep their defaults; text that is not JSON is
// an Error.
Result<FrameworkView> parse_framework(std::string_view json);

inline constexpr int kDefaultTaskLimit = 50;
inline constexpr int kMaxTaskLimit = 500;

// GET /status's query: state= (repeated, or comma-separated), key= (a
// prefix), queue=, limit= (1..kMaxTaskLimit).
struct StatusQuery {
    std::vector<task::TaskState> states;
    std::string key_prefix;
    std::string queue;
    int limit = kDefaultTaskLimit;
};

// Error: what is wrong with the query, for a 400 page.
Result<StatusQuery> parse_status_query(std::string_view query);
// The value of `name` in a query string (the first one), decoded.
Result<std::optional<std::string>> query_value(std::string_view query, std::string_view name);

// What GET /status shows. database_error: the database did not answer (the
// store's lists are then empty and the page says so).
struct StatusData {
    std::optional<FrameworkView> framework;  // none: /state could not be read
    std::vector<store::QueueSummary> queues;
    std::vector<store::ReasonCount> reasons;
    std::vector<store::TaskRow> tasks;
    std::string database_error;
};

// A queue's share of what is placed: its placed resources' dominant share
// of the total placed across `queues` (0 when nothing is placed), and its
// weight's share of the weights.
struct QueueShare {
    double placed = 0;
    double weight = 0;
};
std::vector<QueueShare> queue_shares(const std::vector<store::QueueSummary>& queues);

std::string render_status_page(const StatusData& data, const StatusQuery& query,
                               std::int64_t now_us);

struct TaskPageData {
    store::TaskRow task;
    std::vector<store::HistoryEntry> history;
    std::optional<store::PendingReason> pending;  // set when it has not launched yet
    std::string database_error;                   // history or reason not read
};
std::string render_task_page(const TaskPageData& data, std::int64_t now_us);

// A page with a title and one message (400, 404, the database down).
std::string render_message_page(std::string_view title, std::string_view message);

}  // namespace mesoflow::admin
