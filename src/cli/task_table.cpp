#include "cli/task_table.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <ctime>

#include "mesoflow/common/text.hpp"
#include "mesoflow/store/what_runs.hpp"

namespace mesoflow::cli {
namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;

using Row = std::vector<std::string>;

// Every cell is escaped (escape_controls) before it is measured: keys,
// commands, hostnames and messages come from producers and agents, and none
// of them may reach the operator's terminal as a control.
std::string table(std::vector<Row> rows) {
    for (auto& row : rows) {
        for (auto& cell : row)
            cell = escape_controls(cell);
    }
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (std::size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size())
                line += std::string(widths[i] - row[i].size() + 2, ' ');
        }
        out += line + '\n';
    }
    return out;
}

std::string one_line(std::string text, std::size_t width) {
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
    if (width > 3 && text.size() > width) {
        // Cut at a character boundary: half a character would show as bytes.
        std::size_t cut = width - 3;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
            --cut;
        text = text.substr(0, cut) + "...";
    }
    return text;
}

std::string or_dash(const std::string& text) {
    return text.empty() ? "-" : text;
}

// Volumes, network and Docker parameters, as `mesoflow submit` takes them.
std::string container_options(const store::TaskRow& t) {
    std::vector<std::string> parts;
    for (const auto& v : t.volumes) {
        parts.push_back(fmt::format("volume {}:{}:{}", v.host_path, v.container_path,
                                    v.read_only ? "ro" : "rw"));
    }
    if (t.network != task::NetworkMode::unset) {
        parts.push_back(t.network == task::NetworkMode::user
                            ? "network user:" + t.network_name
                            : "network " + std::string(task::to_string(t.network)));
    }
    for (const auto& [key, value] : t.docker_parameters)
        parts.push_back(fmt::format("docker --{}={}", key, value));
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : ", ") + p;
    return out;
}

std::string optional_time(const std::optional<std::int64_t>& us) {
    return us ? format_time_utc(*us) : "-";
}

std::string number(double v) {
    return fmt::format("{}", v);
}

}  // namespace

std::string format_time_utc(std::int64_t us) {
    const std::time_t secs = static_cast<std::time_t>(us / kMicrosPerSecond);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    return fmt::format("{}.{:03}Z", stamp, (us % kMicrosPerSecond) / 1000);
}

std::string format_age(std::int64_t now_us, std::int64_t then_us) {
    const std::int64_t s = std::max<std::int64_t>(0, (now_us - then_us) / kMicrosPerSecond);
    if (s < 120)
        return fmt::format("{}s", s);
    if (s < 120 * 60)
        return fmt::format("{}m", s / 60);
    if (s < 48 * 3600)
        return fmt::format("{}h", s / 3600);
    return fmt::format("{}d", s / 86400);
}

std::string render_task_table(const std::vector<store::TaskRow>& tasks, std::int64_t now_us) {
    std::vector<Row> rows{{"ID", "KEY", "STATE", "ATTEMPT", "HOST", "EXIT", "UPDATED", "MESSAGE"}};
    for (const auto& t : tasks) {
        std::string message = t.message;
        if (!t.reason.empty())
            message = message.empty() ? t.reason : t.reason + ": " + message;
        if (t.kill_requested && !task::is_terminal(t.state))
            message = message.empty() ? "kill requested" : "kill requested; " + message;
        rows.push_back(Row{std::to_string(t.id), t.key, std::string(task::to_string(t.state)),
                           fmt::format("{}/{}", t.attempt, t.max_attempts), or_dash(t.hostname),
                           t.exit_status ? std::to_string(*t.exit_status) : "-",
                           format_age(now_us, t.updated_at_us) + " ago",
                           or_dash(one_line(message, kListMessageWidth))});
    }
    return table(rows);
}

std::string render_task_detail(const store::TaskRow& t,
                               const std::vector<store::HistoryEntry>& history,
                               const std::optional<store::PendingReason>& waiting) {
    std::vector<Row> rows{
        {"key", t.key},
        {"id", std::to_string(t.id)},
        {"queue", t.queue},
        {"state", fmt::format("{} (attempt {} of {}){}", task::to_string(t.state), t.attempt,
                              t.max_attempts, t.timed_out ? ", timed out" : "")},
        {"runs", store::what_runs(t)},
        {"container", or_dash(container_options(t))},
        {"resources",
         fmt::format("cpus {}, mem {} MB, disk {} MB, gpus {}, ports {}", number(t.cpus),
                     number(t.mem_mb), number(t.disk_mb), number(t.gpus), t.ports)},
        {"priority", std::to_string(t.priority)},
        {"timeout", t.timeout_s ? number(*t.timeout_s) + " s" : "-"},
        {"kill requested", t.kill_requested ? "yes" : "no"},
        {"mesos task", or_dash(t.mesos_task_id)},
        {"agent",
         t.agent_id.empty() ? "-" : fmt::format("{} ({})", t.agent_id, or_dash(t.hostname))},
        {"exit status", t.exit_status ? std::to_string(*t.exit_status) : "-"},
        {"healthy", t.healthy ? (*t.healthy ? "yes" : "no") : "-"},
        {"message", or_dash(one_line(t.message, 0))},
        {"reason", or_dash(t.reason)},
        {"source", or_dash(t.source)},
        {"created", format_time_utc(t.created_at_us)},
        {"not before", format_time_utc(t.not_before_us)},
        {"launched", optional_time(t.launched_at_us)},
        {"started", optional_time(t.started_at_us)},
        {"finished", optional_time(t.finished_at_us)},
        {"updated", format_time_utc(t.updated_at_us)},
    };
    if (waiting) {
        rows.insert(rows.begin() + 4, Row{"waiting", fmt::format("{}: {}", waiting->reason,
                                                                 one_line(waiting->detail, 0))});
    }
    std::string out = table(rows);
    out += fmt::format("\nhistory ({} entries, oldest first):\n", history.size());
    if (history.empty())
        return out;
    std::vector<Row> h{{"TIME", "KIND", "ATTEMPT", "MESOS STATE", "OUTCOME", "CHANGE", "DETAIL"}};
    for (const auto& e : history) {
        std::string change;
        if (!e.from_state.empty() || !e.to_state.empty())
            change = fmt::format("{} -> {}", or_dash(e.from_state), or_dash(e.to_state));
        std::string detail;
        const auto add = [&](const std::string& label, const std::string& value) {
            if (value.empty())
                return;
            detail += (detail.empty() ? "" : " ") + label + value;
        };
        add("", e.reason);
        add("", e.message);
        add("source=", e.source);
        add("agent=", e.agent_id);
        add("", e.note);
        h.push_back(Row{format_time_utc(e.recorded_at_us), e.kind,
                        e.attempt ? std::to_string(*e.attempt) : "-", or_dash(e.mesos_state),
                        or_dash(e.outcome), or_dash(change), or_dash(one_line(detail, 0))});
    }
    return out + table(h);
}

std::string render_counts(std::vector<store::StateCount> counts) {
    std::sort(counts.begin(), counts.end(),
              [](const auto& a, const auto& b) { return a.state < b.state; });
    std::int64_t total = 0;
    bool estimated = false;
    std::string parts;
    for (const auto& c : counts) {
        if (c.count == 0)
            continue;
        total += c.count;
        estimated = estimated || c.estimated;
        parts += fmt::format("{}{}{} {}", parts.empty() ? "" : ", ", c.estimated ? "~" : "",
                             c.count, task::to_string(c.state));
    }
    if (total == 0)
        return "0 tasks in the queue";
    return fmt::format("{}{} task{} in the queue: {}{}", estimated ? "~" : "", total,
                       total == 1 ? "" : "s", parts,
                       estimated ? " (~: estimated from the table's statistics)" : "");
}

namespace {

std::string amount(double v) {
    return fmt::format("{:g}", v);
}

std::string optional_amount(const std::optional<double>& v) {
    return v ? amount(*v) : "-";
}

}  // namespace

std::string render_queue_table(const std::vector<store::QueueSummary>& queues,
                               const std::vector<store::ReasonCount>& reasons) {
    std::vector<Row> rows = {{"QUEUE", "WEIGHT", "MAX_RUNNING", "PENDING", "BACKOFF", "CLAIMED",
                              "LAUNCHED", "RUNNING", "CPUS", "MEM", "WAITING"}};
    for (const auto& q : queues) {
        // The reasons its tasks not launched yet wait for, most first.
        std::vector<std::pair<std::int64_t, std::string>> why;
        for (const auto& r : reasons) {
            if (r.queue == q.settings.name)
                why.emplace_back(-r.tasks, r.reason);
        }
        std::sort(why.begin(), why.end());
        // Counts of a queue past the count's cap are lower bounds: "+".
        const char* at_least = q.capped ? "+" : "";
        std::string waiting;
        for (const auto& [minus_n, reason] : why) {
            waiting += fmt::format("{}{} {}{}", waiting.empty() ? "" : ", ", reason, -minus_n,
                                   reason == "claimed" ? "" : at_least);
        }
        rows.push_back({one_line(q.settings.name, kListMessageWidth), amount(q.settings.weight),
                        q.settings.max_running ? std::to_string(*q.settings.max_running) : "-",
                        std::to_string(q.pending) + at_least, std::to_string(q.backoff) + at_least,
                        std::to_string(q.claimed), std::to_string(q.launched),
                        std::to_string(q.running + q.killing), amount(q.cpus), amount(q.mem_mb),
                        or_dash(waiting)});
    }
    return table(std::move(rows));
}

std::string render_queue_settings(const store::QueueSettings& q) {
    std::string constraints;
    if (q.constraints) {
        for (const auto& c : *q.constraints) {
            constraints += (constraints.empty() ? "" : ", ") + c.attribute + ":" +
                           std::string(task::to_string(c.op)) +
                           (c.value.empty() ? "" : ":" + c.value);
        }
    }
    return table({
        {"queue", q.name},
        {"weight", amount(q.weight)},
        {"max_running", q.max_running ? std::to_string(*q.max_running) : "- (no cap)"},
        {"default cpus", optional_amount(q.cpus)},
        {"default mem", optional_amount(q.mem_mb)},
        {"default disk", optional_amount(q.disk_mb)},
        {"default gpus", optional_amount(q.gpus)},
        {"default role", q.role.value_or("-")},
        {"default constraints", q.constraints ? or_dash(constraints) : "-"},
        {"default image", q.image.value_or("-")},
    });
}

}  // namespace mesoflow::cli
