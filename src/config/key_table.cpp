#include "config/key_table.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "config/text.hpp"
#include "config/value_parsers.hpp"
#include "mesoflow/config/render.hpp"

namespace mesoflow::config {
namespace {

// Mesos caps a decline filter at 365 days; no mesoflow interval needs more.
constexpr double kMaxDurationS = 365 * kSecondsPerDay;
constexpr double kMaxLaunchWindow = 1'000'000;
constexpr double kMaxBatch = 100'000;
constexpr double kMaxUpdateConnections = 16;
constexpr double kMaxWatchdogFactor = 100;

constexpr Bounds kNonEmpty{1, false, 0};
constexpr Bounds kPositive{0, true, 0};
constexpr Bounds kNonNegative{0, false, 0};
constexpr Bounds kPositiveDuration{0, true, kMaxDurationS};
constexpr Bounds kAnyDuration{0, false, kMaxDurationS};

std::string_view type_label(Kind kind) {
    switch (kind) {
        case Kind::text:
            return "string";
        case Kind::secret:
            return "secret";
        case Kind::dsn:
            return "DSN (secret)";
        case Kind::boolean:
            return "bool";
        case Kind::integer:
            return "integer";
        case Kind::number:
            return "number";
        case Kind::duration:
            return "duration";
        case Kind::list:
            return "list";
        case Kind::masters:
            return "masters";
        case Kind::listen_address:
            return "host:port";
        case Kind::containerizer:
            return "containerizer";
        case Kind::log_level:
            return "log level";
    }
    return "string";
}

KeySpec row(std::string_view name, std::string_view airflow_key, Kind kind, Field field,
            std::string_view description, Bounds bounds = {}) {
    KeyInfo info{name, airflow_key, type_label(kind), description,
                 kind == Kind::secret || kind == Kind::dsn};
    return KeySpec{info, kind, field, bounds, false, {}, nullptr};
}

KeySpec with_items(KeySpec spec, Status (*item_check)(std::string_view)) {
    spec.item_check = item_check;
    return spec;
}

// An absolute host path with no ".." component (the launch policy refuses
// such a path in a task; as an allowed prefix it would be a mistake).
Status check_volume_path(std::string_view item) {
    if (item.empty() || item.front() != '/')
        return Error{fmt::format("\"{}\" is not an absolute path", std::string(item))};
    for (std::size_t at = 0; at <= item.size();) {
        const auto slash = std::min(item.find('/', at), item.size());
        if (item.substr(at, slash - at) == "..")
            return Error{fmt::format("\"{}\" has a .. component", std::string(item))};
        at = slash + 1;
    }
    return Status::success();
}

// A docker run option's name, as the queue table allows it in a key.
Status check_parameter_key(std::string_view item) {
    const bool ok = !item.empty() && item.size() <= 128 && item.front() != '-' &&
                    std::all_of(item.begin(), item.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                    });
    if (!ok) {
        return Error{fmt::format("\"{}\" is not a docker option name (lower case, digits, dashes)",
                                 std::string(item))};
    }
    return Status::success();
}

Status check_network(std::string_view item) {
    if (item == "host" || item == "bridge" || item == "none" || item == "user")
        return Status::success();
    return Error{
        fmt::format("\"{}\" is not a network: host, bridge, none or user", std::string(item))};
}

std::vector<KeySpec> build_table() {
    using C = Config;
    using K = Kind;
    std::vector<KeySpec> t = {
        // Mesos master and FrameworkInfo.
        row("master", "master", K::masters, &C::masters,
            "Mesos masters, comma-separated: host:port (port 5050 when left out) or "
            "http(s)://host:port; or zk://[user:password@]host:port[,host:port...]/path: the "
            "leading master as registered in ZooKeeper; file:///path reads either from a file."),
        row("framework_name", "framework_name", K::text, &C::framework_name,
            "Name the framework registers under; shown in the Mesos UI.", kNonEmpty),
        row("framework_user", "", K::text, &C::framework_user,
            "User the agents run tasks as (FrameworkInfo.user); empty: the user mesoflow runs "
            "as."),
        row("roles", "", K::list, &C::roles,
            "Roles the framework subscribes with (MULTI_ROLE), comma-separated.", kNonEmpty),
        row("allowed_users", "", K::list, &C::allowed_users,
            "Users a task may ask to run as (run_as_user), comma-separated; * allows any user; "
            "empty: framework_user only. A task asking for another user ends failed "
            "(user_not_allowed) without being launched."),
        row("allowed_roles", "", K::list, &C::allowed_roles,
            "Roles a task may ask for (role), comma-separated; empty: every role in roles, and "
            "a role not in roles is never allowed. A task asking for another role ends failed "
            "(role_not_allowed) without being launched."),
        with_items(row("allowed_volume_paths", "", K::list, &C::allowed_volume_paths,
                       "Host paths a task's volumes may mount, comma-separated absolute paths; "
                       "each allows itself and what lies under it, by whole components (/data "
                       "allows /data/x, not /database); empty: no volumes. A task asking for "
                       "another host path ends failed (volume_not_allowed) without being "
                       "launched."),
                   check_volume_path),
        with_items(row("allowed_docker_parameters", "", K::list, &C::allowed_docker_parameters,
                       "Docker parameter keys a task may ask for (docker_parameters), "
                       "comma-separated, e.g. label,log-opt; empty: none. Never list keys that "
                       "give a container the agent or its files (privileged, cap-add, device, "
                       "volume, mount, pid, ipc, security-opt, env-file, ...). A task asking "
                       "for another key ends failed (docker_parameter_not_allowed) without "
                       "being launched."),
                   check_parameter_key),
        with_items(row("allowed_networks", "", K::list, &C::allowed_networks,
                       "Networks a task may ask for (network): host, bridge, none, user, "
                       "comma-separated; empty: none. A task asking for another ends failed "
                       "(network_not_allowed) without being launched; a task that asks for none "
                       "gets the containerizer's default (host)."),
                   check_network),
        row("principal", "default_principal", K::text, &C::principal,
            "Principal the framework registers with; the user name of HTTP Basic authentication."),
        row("secret", "default_secret", K::secret, &C::secret,
            "Secret of HTTP Basic authentication; best given as secret_file or secret_cmd."),
        row("authenticate", "authenticate", K::boolean, &C::authenticate,
            "Authenticate to the master with principal and secret (both then required)."),
        row("checkpoint", "checkpoint", K::boolean, &C::checkpoint,
            "Ask agents to checkpoint the framework's tasks, so they survive an agent restart."),
        row("failover_timeout", "failover_timeout", K::duration, &C::failover_timeout_s,
            "Seconds the master keeps the framework and its tasks while mesoflow is away; 0 or "
            "empty: tear them down at once.",
            kAnyDuration),
        row("hostname", "", K::text, &C::hostname,
            "Hostname sent in FrameworkInfo; empty: the master records the connection's address."),
        row("webui_url", "", K::text, &C::webui_url,
            "Link shown for the framework in the Mesos UI."),
        row("gpu_resources", "", K::boolean, &C::gpu_resources,
            "Subscribe with the GPU_RESOURCES capability, so that GPU agents offer to mesoflow."),
        // The task queue.
        row("database", "", K::dsn, &C::database,
            "PostgreSQL connection string of the task queue (libpq key=value or postgresql:// "
            "URI); best given as database_file."),
        row("migrate_on_start", "", K::boolean, &C::migrate_on_start,
            "Apply pending schema migrations when `mesoflow run` starts (else run `mesoflow "
            "migrate`)."),
        // Task defaults.
        row("task_cpus", "task_cpu", K::number, &C::task_cpus,
            "CPUs of a task that does not ask for its own.", kPositive),
        row("task_mem", "task_memory", K::number, &C::task_mem_mb,
            "Memory in MB of a task that does not ask for its own.", kPositive),
        row("task_disk", "task_disk", K::number, &C::task_disk_mb,
            "Disk in MB of a task that does not ask for its own; 0 asks for none.", kNonNegative),
        row("docker_image", "docker_image_slave", K::text, &C::docker_image,
            "Container image of tasks that name none; empty: commands run on the agent's host."),
        row("containerizer", "", K::containerizer, &C::containerizer,
            "Containerizer of tasks with an image: docker (as Airflow) or mesos (the Mesos "
            "containerizer)."),
        // Offers and reconciliation.
        row("refuse_seconds", "", K::duration, &C::refuse_s,
            "How long a declined offer's resources stay refused while tasks are pending.",
            kAnyDuration),
        row("idle_refuse_seconds", "", K::duration, &C::idle_refuse_s,
            "How long a declined offer's resources stay refused when nothing is pending (new "
            "work revives offers at once).",
            kAnyDuration),
        row("reconcile_interval", "", K::duration, &C::reconcile_interval_s,
            "Interval of implicit reconciliation (the master reports every task of the "
            "framework).",
            Bounds{1, false, kMaxDurationS}),
        row("reconcile_backoff_min", "", K::duration, &C::reconcile_backoff_min_s,
            "First delay before explicit reconciliation asks again about unanswered tasks; "
            "doubles each time.",
            kPositiveDuration),
        row("reconcile_backoff_max", "", K::duration, &C::reconcile_backoff_max_s,
            "Longest delay between explicit reconciliation rounds.", kPositiveDuration),
        row("kill_grace_period", "", K::duration, &C::kill_grace_period_s,
            "Time a killed task gets between SIGTERM and SIGKILL (KillPolicy grace period).",
            kAnyDuration),
        row("unreachable_grace_period", "", K::duration, &C::unreachable_grace_period_s,
            "How long an attempt whose agent is out of reach (TASK_UNREACHABLE, or "
            "TASK_UNKNOWN once placed) keeps its row before mesoflow replaces it by the retry "
            "policy; if the agent comes back later, the old copy is killed. 0: at once.",
            kAnyDuration),
        row("unplaceable_after", "", K::duration, &C::unplaceable_after_s,
            "How long a claimed task waits before its row says why (reason and message, while it "
            "stays launching): 'unplaceable' when offers came and none could hold it (too large, "
            "a role not offered, a constraint no agent meets, gpus without gpu_resources), "
            "'no_offers' when none came, 'launch_window_full' when the launch window kept them "
            "from it. Written again when the reason changes. 0: at once.",
            kAnyDuration),
        row("unplaceable_timeout", "", K::duration, &C::unplaceable_timeout_s,
            "How long such a task waits before it ends failed, reason 'unplaceable', leaving "
            "the claimed window. 0: never (it waits for an offer that holds it).",
            kAnyDuration),
        row("launch_timeout", "", K::duration, &C::launch_timeout_s,
            "How long an attempt placed on an agent may take to reach TASK_RUNNING (staging, "
            "image pull, fetcher) before mesoflow kills it; its end then counts as a lost "
            "attempt and the retry policy decides. 0: no limit.",
            kAnyDuration),
        row("maintenance_margin", "", K::duration, &C::maintenance_margin_s,
            "An agent announcing maintenance (an offer's unavailability) gets no task that "
            "could still run when it starts: a task with timeout_s must be over by then, one "
            "without must start at least this long before it.",
            kAnyDuration),
        // Batching and polling.
        row("launch_window", "", K::integer, &C::launch_window,
            "The launch window at start and at least: launches without a first status update "
            "plus status updates not yet committed; launching pauses while it is full. It "
            "doubles after a round of offers it cut short with at most a quarter of it in use, "
            "the second round in a row to come 100 ms or more after a launch (a slow allocation "
            "interval), up to launch_window_max, and halves when offers find it full.",
            Bounds{1, false, kMaxLaunchWindow}),
        row("launch_window_max", "", K::integer, &C::launch_window_max,
            "The most the launch window grows to (a slow allocation interval, a fast "
            "database); at or below launch_window the window is fixed at launch_window.",
            Bounds{1, false, kMaxLaunchWindow}),
        row("commit_latency_target", "", K::duration, &C::commit_latency_target_s,
            "A status update that waits longer than this from its receipt to its "
            "acknowledgement (its commit included) halves the launch window (at most once per "
            "this long, never below launch_window).",
            kPositiveDuration),
        row("claim_batch", "", K::integer, &C::claim_batch,
            "Pending tasks claimed ahead of offers, at least (one query claims up to this many; "
            "twice the launch window when that is more).",
            Bounds{1, false, kMaxBatch}),
        row("update_batch", "", K::integer, &C::update_batch,
            "Most status updates committed in one transaction.", Bounds{1, false, kMaxBatch}),
        row("update_connections", "", K::integer, &C::update_connections,
            "Database connections committing status updates side by side (a task's updates "
            "always use the same one).",
            Bounds{1, false, kMaxUpdateConnections}),
        row("poll_interval", "", K::duration, &C::poll_interval_s,
            "Queue polling interval, the fallback when no NOTIFY arrives.", kPositiveDuration),
        // Connection to the master.
        row("heartbeat_watchdog_factor", "", K::number, &C::heartbeat_watchdog_factor,
            "Heartbeat intervals without any event after which the subscription is renewed.",
            Bounds{1, true, kMaxWatchdogFactor}),
        row("backoff_min", "", K::duration, &C::backoff_min_s,
            "First delay before reconnecting to the masters; doubles, with jitter, on each "
            "failure.",
            kPositiveDuration),
        row("backoff_max", "", K::duration, &C::backoff_max_s,
            "Longest delay between reconnection attempts.", kPositiveDuration),
        // Leadership.
        row("leader_lease", "", K::duration, &C::leader_lease_s,
            "How long a leader may go without renewing its leadership (frozen, cut off from "
            "the database) before PostgreSQL ends its lock session and a standby takes over; "
            "the leader stops sending anything to the master before then. Renewed every "
            "quarter of it. At least 1 s.",
            Bounds{1, false, 3600}),
        row("tls_ca_file", "", K::text, &C::tls_ca_file,
            "CA certificates (PEM) that https masters are verified against, by `run` and "
            "`teardown`; empty: the system trust store."),
        row("tls_verify", "", K::boolean, &C::tls_verify,
            "Verify the certificate and host name of https masters; false takes any "
            "certificate (warned about at start)."),
        // Operations.
        row("admin_listen", "", K::listen_address, &C::admin_listen,
            "Address of the admin endpoint (/health, /ready, /metrics, /state and the status "
            "page /status); off disables it."),
        row("log_level", "", K::log_level, &C::log_level,
            "Least severe level logged: debug, info, warn or error."),
    };
    for (auto& spec : t) {
        const std::string_view name = spec.info.name;
        spec.empty_is_zero = name == "failover_timeout";
        if (name == "master") {
            spec.airflow_note =
                "zk:// works as in Airflow; a list of masters too (leader redirects are followed)";
        } else if (name == "framework_name") {
            spec.airflow_note = "an empty name is an error (Airflow fell back to `Airflow`)";
        } else if (name == "task_cpus") {
            spec.airflow_note = "fractions allowed (Airflow read an integer)";
        } else if (name == "task_mem") {
            spec.airflow_note = "MB, fractions allowed (Airflow read an integer)";
        } else if (name == "failover_timeout") {
            spec.airflow_note =
                "seconds, as Airflow passed it (its comment said milliseconds); empty means 0; "
                "applies with checkpoint off too";
        } else if (name == "principal") {
            spec.airflow_note =
                "sent whenever set (without authentication Airflow always sent `Airflow`)";
        } else if (name == "authenticate") {
            spec.airflow_note = "needs principal and secret, as in Airflow; HTTP Basic";
        } else if (name == "docker_image") {
            spec.airflow_note = "Docker containerizer unless containerizer = mesos";
        } else if (name == "task_disk") {
            spec.airflow_note = "not in Airflow 1.10's executor; later Mesos providers' key";
        }
    }
    return t;
}

std::string format_bound(const KeySpec& spec, double v) {
    return spec.kind == Kind::duration ? fmt::format("{}s", v) : fmt::format("{}", v);
}

Status check_bounds(const KeySpec& spec, double v) {
    const Bounds& b = spec.bounds;
    if (b.min_exclusive ? v <= b.min : v < b.min) {
        return Error{fmt::format("{} must be {} {}", format_bound(spec, v),
                                 b.min_exclusive ? "greater than" : "at least",
                                 format_bound(spec, b.min))};
    }
    if (b.max > 0 && v > b.max) {
        return Error{
            fmt::format("{} must be at most {}", format_bound(spec, v), format_bound(spec, b.max))};
    }
    return Status::success();
}

template <typename T>
T& member(const KeySpec& spec, Config& config) {
    return config.*std::get<T Config::*>(spec.field);
}
template <typename T>
const T& member(const KeySpec& spec, const Config& config) {
    return config.*std::get<T Config::*>(spec.field);
}

template <typename T>
Status store(Result<T> parsed, T& into) {
    if (!parsed)
        return parsed.error();
    into = std::move(*parsed);
    return Status::success();
}

}  // namespace

std::optional<NameMatch> match_name(std::string_view name, bool airflow_names) {
    const auto lookup = [&](std::string_view n) {
        return airflow_names ? find_spec_by_airflow_key(n) : find_spec(n);
    };
    if (const KeySpec* spec = lookup(name))
        return NameMatch{spec, Form::value};
    if (name.ends_with("_file")) {
        if (const KeySpec* spec = lookup(name.substr(0, name.size() - 5))) {
            return NameMatch{spec, Form::file};
        }
    }
    if (name.ends_with("_cmd")) {
        const KeySpec* spec = lookup(name.substr(0, name.size() - 4));
        if (spec != nullptr && spec->info.secret)
            return NameMatch{spec, Form::cmd};
    }
    return std::nullopt;
}

const std::vector<KeySpec>& key_specs() {
    static const std::vector<KeySpec> table = build_table();
    return table;
}

const KeySpec* find_spec(std::string_view name) {
    for (const auto& spec : key_specs()) {
        if (spec.info.name == name)
            return &spec;
    }
    return nullptr;
}

const KeySpec* find_spec_by_airflow_key(std::string_view airflow_key) {
    for (const auto& spec : key_specs()) {
        if (!spec.info.airflow_key.empty() && spec.info.airflow_key == airflow_key)
            return &spec;
    }
    return nullptr;
}

Status assign(const KeySpec& spec, Config& config, std::string_view text) {
    switch (spec.kind) {
        case Kind::text:
        case Kind::secret:
            if (spec.bounds.min > 0 && trim(text).empty())
                return Error{"must not be empty"};
            // A secret is taken verbatim: a space may be part of it.
            member<std::string>(spec, config) =
                std::string(spec.kind == Kind::secret ? text : trim(text));
            return Status::success();
        case Kind::dsn: {
            auto ok = check_dsn(text);
            if (!ok)
                return ok;
            member<std::string>(spec, config) = std::string(trim(text));
            return Status::success();
        }
        case Kind::boolean:
            return store(parse_bool(text), member<bool>(spec, config));
        case Kind::integer: {
            auto v = parse_integer(text);
            if (!v)
                return v.error();
            auto ok = check_bounds(spec, static_cast<double>(*v));
            if (!ok)
                return ok;
            member<int>(spec, config) = static_cast<int>(*v);
            return Status::success();
        }
        case Kind::number:
        case Kind::duration: {
            if (spec.empty_is_zero && trim(text).empty()) {
                member<double>(spec, config) = 0;
                return Status::success();
            }
            auto v = spec.kind == Kind::number ? parse_number(text) : parse_duration(text);
            if (!v)
                return v.error();
            auto ok = check_bounds(spec, *v);
            if (!ok)
                return ok;
            member<double>(spec, config) = *v;
            return Status::success();
        }
        case Kind::list: {
            auto items = split_list(text, ',');
            if (spec.bounds.min > 0 && items.empty())
                return Error{"must not be empty"};
            if (spec.item_check) {
                for (const auto& item : items) {
                    if (auto ok = spec.item_check(item); !ok)
                        return ok;
                }
            }
            member<std::vector<std::string>>(spec, config) = std::move(items);
            return Status::success();
        }
        case Kind::masters: {
            // The one key of this kind, `master`: a list, or ZooKeeper's group.
            auto parsed = parse_masters(text);
            if (!parsed)
                return parsed.error();
            member<std::vector<MasterAddress>>(spec, config) = std::move(parsed->list);
            config.master_zookeeper = std::move(parsed->zookeeper);
            return Status::success();
        }
        case Kind::listen_address:
            return store(parse_listen_address(text), member<ListenAddress>(spec, config));
        case Kind::containerizer:
            return store(parse_containerizer(text), member<Containerizer>(spec, config));
        case Kind::log_level:
            return store(parse_log_level(text), member<std::string>(spec, config));
    }
    return Error{"unknown key type"};
}

std::string render_value(const KeySpec& spec, const Config& config, bool reveal_secrets) {
    switch (spec.kind) {
        case Kind::text:
        case Kind::log_level:
            return member<std::string>(spec, config);
        case Kind::secret: {
            const auto& v = member<std::string>(spec, config);
            return reveal_secrets || v.empty() ? v : "****";
        }
        case Kind::dsn: {
            const auto& v = member<std::string>(spec, config);
            return reveal_secrets ? v : mask_dsn(v);
        }
        case Kind::boolean:
            return member<bool>(spec, config) ? "true" : "false";
        case Kind::integer:
            return fmt::format("{}", member<int>(spec, config));
        case Kind::number:
        case Kind::duration:
            return fmt::format("{}", member<double>(spec, config));
        case Kind::list:
            return join(member<std::vector<std::string>>(spec, config), ",");
        case Kind::masters: {
            if (config.master_zookeeper)
                return config.master_zookeeper->display();
            std::vector<std::string> urls;
            for (const auto& m : member<std::vector<MasterAddress>>(spec, config)) {
                urls.push_back(m.url());
            }
            return join(urls, ",");
        }
        case Kind::listen_address:
            return member<ListenAddress>(spec, config).to_string();
        case Kind::containerizer:
            return containerizer_name(member<Containerizer>(spec, config));
    }
    return "";
}

}  // namespace mesoflow::config
