#include "mesoflow/admin/status_page.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mesoflow/common/text.hpp"
#include "mesoflow/store/what_runs.hpp"

namespace mesoflow::admin {
namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::size_t kTopReasons = 3;

// The code point of the valid UTF-8 sequence of `len` bytes at text[i].
char32_t decode(std::string_view text, std::size_t i, std::size_t len) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    switch (len) {
        case 1:
            return byte(0);
        case 2:
            return ((byte(0) & 0x1FU) << 6) | (byte(1) & 0x3FU);
        case 3:
            return ((byte(0) & 0x0FU) << 12) | ((byte(1) & 0x3FU) << 6) | (byte(2) & 0x3FU);
        default:
            return ((byte(0) & 0x07U) << 18) | ((byte(1) & 0x3FU) << 12) |
                   ((byte(2) & 0x3FU) << 6) | (byte(3) & 0x3FU);
    }
}

bool reorders_text(char32_t c) {
    return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069);
}

std::string h(std::string_view text) {
    return html_escape(text);
}

std::string format_time_utc(std::int64_t us) {
    const std::time_t secs = static_cast<std::time_t>(us / kMicrosPerSecond);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    return std::string(stamp) + "Z";
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

// A time with how long ago it was, e.g. "2026-01-02 03:04:05Z (5m ago)".
std::string when(std::int64_t now_us, std::int64_t us) {
    return fmt::format("<time>{}</time> ({} ago)", format_time_utc(us), format_age(now_us, us));
}

std::string when(std::int64_t now_us, const std::optional<std::int64_t>& us) {
    return us ? when(now_us, *us) : "-";
}

std::string or_dash(const std::string& text) {
    return text.empty() ? "-" : h(text);
}

std::string number(double v) {
    return fmt::format("{}", v);
}

std::string percent(double fraction) {
    return fmt::format("{:.0f}%", fraction * 100);
}

std::string task_link(const std::string& key) {
    return fmt::format("<a href=\"/status/task?key={}\">{}</a>", url_encode(key), h(key));
}

std::string queue_link(const std::string& queue) {
    return fmt::format("<a href=\"/status?queue={}\">{}</a>", url_encode(queue), h(queue));
}

constexpr std::string_view kStyle = R"(
body{font-family:"DejaVu Sans",sans-serif;font-size:14px;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .6em}h2{font-size:1.15em;margin:1.4em 0 .5em}
table{border-collapse:collapse;margin:.3em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{width:12em}code,.mono{font-family:"DejaVu Sans Mono",monospace;word-break:break-all}
.bad{color:#a00;font-weight:bold}.ok{color:#070}.muted{color:#777}
form{margin:.5em 0}form input,form select{margin-right:.6em}
nav{margin-bottom:1em}nav a{margin-right:1em}
)";

// Reloads the page (with its query) every 5 s where JavaScript runs.
constexpr std::string_view kRefresh =
    "<script>setTimeout(function(){location.reload();},5000);</script>";

std::string page(std::string_view title, const std::string& body, bool refresh) {
    return fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>{}</title><style>{}</style></head><body>"
        "<nav><a href=\"/status\">status</a><a href=\"/state\">/state</a>"
        "<a href=\"/metrics\">/metrics</a></nav>\n{}{}</body></html>\n",
        h(title), kStyle, body, refresh ? kRefresh : "");
}

std::string yes_no(bool value) {
    return value ? "yes" : "no";
}

std::string framework_section(const std::optional<FrameworkView>& framework, std::int64_t now_us) {
    std::string out = "<h2>Framework</h2>\n";
    if (!framework)
        return out + "<p class=\"bad\">The runtime's state could not be read.</p>\n";
    const auto& f = *framework;
    const auto row = [&](std::string_view name, const std::string& value_html) {
        out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", name, value_html);
    };
    out += "<table class=\"kv\" id=\"framework\">\n";
    row("framework id", "<code id=\"framework-id\">" + or_dash(f.framework_id) + "</code>");
    row("name", or_dash(f.framework_name));
    row("leader instance",
        or_dash(f.leader) +
            (f.leader_since_us ? " since " + when(now_us, f.leader_since_us) : std::string()));
    row("this instance", or_dash(f.identity) + " (" + h(f.role) + ")");
    std::string found = h(f.master_detection);
    if (f.master_detection == "zookeeper" && !f.zookeeper.empty())
        found += " " + h(f.zookeeper);
    else if (f.master_detection == "list")
        found = "from the configured list";
    row("master", or_dash(f.master) + " <span class=\"muted\">(" + found + ")</span>");
    row("subscribed",
        f.subscribed ? "<span class=\"ok\">since " + when(now_us, f.subscribed_since_us) + "</span>"
                     : "<span class=\"bad\">no</span>");
    row("offers suppressed", yes_no(f.suppressed));
    row("offers held", std::to_string(f.offers_held));
    row("database", f.database_up ? "<span class=\"ok\">up</span>"
                                  : "<span class=\"bad\">not reachable</span>");
    out += "</table>\n";
    return out;
}

std::string queues_section(const StatusData& data) {
    std::string out = "<h2>Queues</h2>\n";
    if (data.queues.empty()) {
        return out + (data.database_error.empty() ? "<p>No queues yet.</p>\n"
                                                  : "<p class=\"muted\">Not read.</p>\n");
    }
    std::map<std::string, std::vector<const store::ReasonCount*>> reasons;
    for (const auto& r : data.reasons)
        reasons[r.queue].push_back(&r);
    const auto shares = queue_shares(data.queues);
    out +=
        "<table id=\"queues\"><tr><th>queue</th><th>pending</th><th>backoff</th>"
        "<th>claimed</th><th>launched</th><th>running</th><th>killing</th>"
        "<th>active / max_running</th><th>cpus</th><th>mem MB</th>"
        "<th>share of placed</th><th>weight (share)</th><th>top pending reasons</th></tr>\n";
    for (std::size_t i = 0; i < data.queues.size(); ++i) {
        const auto& q = data.queues[i];
        const auto& name = q.settings.name;
        auto& rs = reasons[name];
        std::stable_sort(rs.begin(), rs.end(),
                         [](const auto* a, const auto* b) { return a->tasks > b->tasks; });
        std::string top;
        for (std::size_t k = 0; k < rs.size() && k < kTopReasons; ++k) {
            top +=
                fmt::format("{}{} ({})", top.empty() ? "" : ", ", h(rs[k]->reason), rs[k]->tasks);
        }
        const std::string cap = q.settings.max_running ? std::to_string(*q.settings.max_running)
                                                       : std::string("no cap");
        out += fmt::format(
            "<tr data-queue=\"{}\"><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
            "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
            "<td class=\"n\">{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td>"
            "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({})</td>"
            "<td>{}</td></tr>\n",
            h(name), queue_link(name), q.configured ? "" : " <span class=\"muted\">(no row)</span>",
            fmt::format("{}{}", q.pending, q.capped ? "+" : ""),
            fmt::format("{}{}", q.backoff, q.capped ? "+" : ""), q.claimed, q.launched, q.running,
            q.killing, q.active(), cap, number(q.cpus), number(q.mem_mb), percent(shares[i].placed),
            number(q.settings.weight), percent(shares[i].weight), top.empty() ? "-" : top);
    }
    out += "</table>\n";
    return out;
}

std::string filter_form(const StatusQuery& query) {
    std::string states;
    for (const auto s : query.states)
        states += (states.empty() ? "" : ",") + std::string(task::to_string(s));
    return fmt::format(
        "<form method=\"get\" action=\"/status\">"
        "<label>state <input name=\"state\" value=\"{}\" size=\"18\" "
        "placeholder=\"e.g. running,failed\"></label>"
        "<label>key prefix <input name=\"key\" value=\"{}\" size=\"18\"></label>"
        "<label>queue <input name=\"queue\" value=\"{}\" size=\"12\"></label>"
        "<label>limit <input name=\"limit\" value=\"{}\" size=\"4\"></label>"
        "<button type=\"submit\">filter</button> <a href=\"/status\">clear</a></form>\n",
        h(states), h(query.key_prefix), h(query.queue), query.limit);
}

std::string tasks_section(const StatusData& data, const StatusQuery& query, std::int64_t now_us) {
    std::string out = "<h2>Recent tasks</h2>\n" + filter_form(query);
    if (!data.database_error.empty())
        return out + "<p class=\"muted\">Not read.</p>\n";
    if (data.tasks.empty())
        return out + "<p>No task matches.</p>\n";
    out +=
        "<table id=\"tasks\"><tr><th>id</th><th>key</th><th>queue</th><th>state</th>"
        "<th>attempt</th><th>host</th><th>exit</th><th>updated</th><th>message</th></tr>\n";
    for (const auto& t : data.tasks) {
        out += fmt::format(
            "<tr><td class=\"n\">{}</td><td class=\"mono\">{}</td><td>{}</td>"
            "<td class=\"state-{}\">{}</td><td class=\"n\">{}/{}</td><td>{}</td>"
            "<td class=\"n\">{}</td><td>{} ago</td><td>{}</td></tr>\n",
            t.id, task_link(t.key), h(t.queue), task::to_string(t.state), task::to_string(t.state),
            t.attempt, t.max_attempts, or_dash(t.hostname),
            t.exit_status ? std::to_string(*t.exit_status) : "-",
            format_age(now_us, t.updated_at_us), or_dash(t.message));
    }
    out += "</table>\n";
    if (static_cast<int>(data.tasks.size()) >= query.limit)
        out += fmt::format("<p class=\"muted\">The newest {} shown.</p>\n", query.limit);
    return out;
}

std::string database_notice(const std::string& error) {
    if (error.empty())
        return "";
    return "<p class=\"bad\" id=\"database-error\">The database did not answer: " + h(error) +
           "</p>\n";
}

Result<int> parse_limit(std::string_view text) {
    int value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value < 1 ||
        value > kMaxTaskLimit) {
        return Error{fmt::format("limit must be a whole number from 1 to {}, not \"{}\"",
                                 kMaxTaskLimit, escape_controls(text))};
    }
    return value;
}

// Each name=value pair of a query string, decoded.
Result<std::vector<std::pair<std::string, std::string>>> query_pairs(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (part.empty())
            continue;
        const auto eq = part.find('=');
        auto name = url_decode(part.substr(0, eq));
        auto value =
            url_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
        if (!name)
            return name.error();
        if (!value)
            return value.error();
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t len = utf8_sequence_length(text, i);
        if (len == 0) {
            out += "&#xFFFD;";
            ++i;
            continue;
        }
        const char32_t c = decode(text, i, len);
        if (len == 1) {
            switch (c) {
                case '&':
                    out += "&amp;";
                    break;
                case '<':
                    out += "&lt;";
                    break;
                case '>':
                    out += "&gt;";
                    break;
                case '"':
                    out += "&quot;";
                    break;
                case '\'':
                    out += "&#39;";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    if (c < 0x20 || c == 0x7F)
                        out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
                    else
                        out += static_cast<char>(c);
            }
        } else if ((c >= 0x80 && c <= 0x9F) || reorders_text(c)) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    return out;
}

std::string url_encode(std::string_view text) {
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out += ch;
        } else {
            out += fmt::format("%{:02X}", static_cast<unsigned>(c));
        }
    }
    return out;
}

Result<std::string> url_decode(std::string_view text) {
    const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%') {
            const int hi = i + 2 < text.size() ? hex(text[i + 1]) : -1;
            const int lo = i + 2 < text.size() ? hex(text[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return Error{"a malformed %-escape in the query"};
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

Result<FrameworkView> parse_framework(std::string_view json) {
    const auto j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return Error{"the runtime's state is not a JSON object"};
    FrameworkView f;
    const auto text = [](const nlohmann::json& o, const char* key) -> std::string {
        const auto it = o.find(key);
        return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const auto integer = [](const nlohmann::json& o,
                            const char* key) -> std::optional<std::int64_t> {
        const auto it = o.find(key);
        if (it != o.end() && it->is_number_integer())
            return it->get<std::int64_t>();
        return std::nullopt;
    };
    const auto flag = [](const nlohmann::json& o, const char* key) {
        const auto it = o.find(key);
        return it != o.end() && it->is_boolean() && it->get<bool>();
    };
    f.framework_id = text(j, "framework_id");
    f.framework_name = text(j, "framework_name");
    f.identity = text(j, "identity");
    f.master = text(j, "master");
    f.master_detection = text(j, "master_detection");
    if (const auto zk = j.find("zookeeper"); zk != j.end() && zk->is_object())
        f.zookeeper = text(*zk, "url");
    if (const auto l = j.find("leadership"); l != j.end() && l->is_object()) {
        f.role = text(*l, "role");
        f.leader = text(*l, "leader");
        f.leader_since_us = integer(*l, "leader_since_us");
    }
    f.subscribed = flag(j, "subscribed");
    f.subscribed_since_us = integer(j, "subscribed_since_us");
    f.suppressed = flag(j, "suppressed");
    f.database_up = flag(j, "database_up");
    f.offers_held = integer(j, "offers_held").value_or(0);
    return f;
}

Result<std::optional<std::string>> query_value(std::string_view query, std::string_view name) {
    auto pairs = query_pairs(query);
    if (!pairs)
        return pairs.error();
    for (auto& [n, v] : *pairs) {
        if (n == name)
            return std::optional<std::string>(std::move(v));
    }
    return std::optional<std::string>();
}

Result<StatusQuery> parse_status_query(std::string_view query) {
    auto pairs = query_pairs(query);
    if (!pairs)
        return pairs.error();
    StatusQuery out;
    for (const auto& [name, value] : *pairs) {
        if (name == "state") {
            std::string_view rest = value;
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                const auto word = rest.substr(0, comma);
                rest =
                    comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
                if (word.empty())
                    continue;
                const auto state = task::parse_task_state(word);
                if (!state) {
                    return Error{fmt::format("unknown task state \"{}\"", escape_controls(word))};
                }
                if (std::find(out.states.begin(), out.states.end(), *state) == out.states.end())
                    out.states.push_back(*state);
            }
        } else if (name == "key") {
            out.key_prefix = value;
        } else if (name == "queue") {
            out.queue = value;
        } else if (name == "limit") {
            if (value.empty())
                continue;
            auto limit = parse_limit(value);
            if (!limit)
                return limit.error();
            out.limit = *limit;
        } else {
            return Error{fmt::format("unknown query parameter \"{}\" (state, key, queue, limit)",
                                     escape_controls(name))};
        }
    }
    return out;
}

std::vector<QueueShare> queue_shares(const std::vector<store::QueueSummary>& queues) {
    double cpus = 0, mem = 0, disk = 0, gpus = 0, weights = 0;
    for (const auto& q : queues) {
        cpus += q.cpus;
        mem += q.mem_mb;
        disk += q.disk_mb;
        gpus += q.gpus;
        weights += q.settings.weight;
    }
    const auto part = [](double used, double total) { return total > 0 ? used / total : 0.0; };
    std::vector<QueueShare> out;
    for (const auto& q : queues) {
        QueueShare s;
        s.placed = std::max(
            {part(q.cpus, cpus), part(q.mem_mb, mem), part(q.disk_mb, disk), part(q.gpus, gpus)});
        s.weight = part(q.settings.weight, weights);
        out.push_back(s);
    }
    return out;
}

std::string render_status_page(const StatusData& data, const StatusQuery& query,
                               std::int64_t now_us) {
    std::string body =
        fmt::format("<h1>mesoflow status</h1>\n<p class=\"muted\">Read-only; as of {}.</p>\n",
                    format_time_utc(now_us));
    body += database_notice(data.database_error);
    body += framework_section(data.framework, now_us);
    body += queues_section(data);
    body += tasks_section(data, query, now_us);
    return page("mesoflow status", body, true);
}

std::string render_task_page(const TaskPageData& data, std::int64_t now_us) {
    const auto& t = data.task;
    std::string body =
        fmt::format("<h1>Task <span class=\"mono\" id=\"task-key\">{}</span></h1>\n", h(t.key));
    body += database_notice(data.database_error);
    std::string rows;
    const auto row = [&](std::string_view name, const std::string& value_html) {
        rows += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", name, value_html);
    };
    row("id", std::to_string(t.id));
    row("queue", queue_link(t.queue));
    row("state", std::string(task::to_string(t.state)) +
                     (t.kill_requested ? " (kill requested)" : "") +
                     (t.timed_out ? " (timed out)" : ""));
    if (data.pending) {
        row("waits because",
            "<span id=\"pending-reason\">" + h(data.pending->reason) + "</span>" +
                (data.pending->detail.empty() ? "" : ": " + h(data.pending->detail)));
    }
    row("attempt", fmt::format("{} of {}", t.attempt, t.max_attempts));
    row("priority", std::to_string(t.priority));
    row("runs", "<code>" + or_dash(store::what_runs(t)) + "</code>");
    row("resources",
        fmt::format("cpus {}, mem {} MB, disk {} MB, gpus {}, ports {}", number(t.cpus),
                    number(t.mem_mb), number(t.disk_mb), number(t.gpus), t.ports));
    row("timeout", t.timeout_s ? number(*t.timeout_s) + " s" : "-");
    row("mesos task id", "<code>" + or_dash(t.mesos_task_id) + "</code>");
    row("agent", or_dash(t.agent_id) + (t.hostname.empty() ? "" : " on " + h(t.hostname)));
    row("exit status", t.exit_status ? std::to_string(*t.exit_status) : "-");
    row("healthy", t.healthy ? yes_no(*t.healthy) : "-");
    row("reason", or_dash(t.reason));
    row("source", or_dash(t.source));
    row("message", or_dash(t.message));
    row("created", when(now_us, t.created_at_us));
    row("updated", when(now_us, t.updated_at_us));
    row("not before", t.not_before_us > 0 ? when(now_us, t.not_before_us) : "-");
    row("launched", when(now_us, t.launched_at_us));
    row("started", when(now_us, t.started_at_us));
    row("finished", when(now_us, t.finished_at_us));
    body += "<table class=\"kv\" id=\"task\">\n" + rows + "</table>\n";

    // Each attempt: when it launched, where, and the last state heard.
    struct Attempt {
        int number = 0;
        std::optional<std::int64_t> launched_us;
        std::string mesos_task_id;
        std::string agent_id;
        std::string last_state;
    };
    std::vector<Attempt> attempts;
    for (const auto& e : data.history) {
        if (!e.attempt)
            continue;
        auto it = std::find_if(attempts.begin(), attempts.end(),
                               [&](const Attempt& a) { return a.number == *e.attempt; });
        if (it == attempts.end()) {
            attempts.push_back(Attempt{*e.attempt, std::nullopt, "", "", ""});
            it = attempts.end() - 1;
        }
        if (e.kind == "launch" && !it->launched_us)
            it->launched_us = e.recorded_at_us;
        if (!e.mesos_task_id.empty())
            it->mesos_task_id = e.mesos_task_id;
        if (!e.agent_id.empty())
            it->agent_id = e.agent_id;
        if (!e.to_state.empty())
            it->last_state = e.to_state;
    }
    body += "<h2>Attempts</h2>\n";
    if (attempts.empty()) {
        body += "<p>None launched yet.</p>\n";
    } else {
        body +=
            "<table id=\"attempts\"><tr><th>attempt</th><th>launched</th><th>mesos task id</th>"
            "<th>agent</th><th>last state</th></tr>\n";
        for (const auto& a : attempts) {
            body += fmt::format(
                "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td>"
                "<td>{}</td></tr>\n",
                a.number, when(now_us, a.launched_us), or_dash(a.mesos_task_id),
                or_dash(a.agent_id), or_dash(a.last_state));
        }
        body += "</table>\n";
    }

    body += "<h2>History</h2>\n";
    if (data.history.empty()) {
        body += "<p>Nothing recorded yet.</p>\n";
    } else {
        body +=
            "<table id=\"history\"><tr><th>recorded</th><th>kind</th><th>attempt</th>"
            "<th>mesos state</th><th>outcome</th><th>from → to</th><th>reason</th>"
            "<th>message</th><th>agent</th></tr>\n";
        for (const auto& e : data.history) {
            const std::string change = e.from_state.empty() && e.to_state.empty()
                                           ? "-"
                                           : or_dash(e.from_state) + " → " + or_dash(e.to_state);
            body += fmt::format(
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                when(now_us, e.recorded_at_us), h(e.kind),
                e.attempt ? std::to_string(*e.attempt) : "-", or_dash(e.mesos_state),
                or_dash(e.outcome), change, or_dash(e.reason), or_dash(e.message),
                or_dash(e.agent_id));
        }
        body += "</table>\n";
    }
    return page("mesoflow task " + t.key, body, true);
}

std::string render_message_page(std::string_view title, std::string_view message) {
    return page(title, fmt::format("<h1>{}</h1>\n<p id=\"message\">{}</p>\n", h(title), h(message)),
                false);
}

}  // namespace mesoflow::admin
