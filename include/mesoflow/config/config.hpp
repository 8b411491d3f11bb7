// Config: every setting mesoflow's commands (run, submit, status, migrate)
// read, as plain values. A default-constructed Config holds the built-in
// production defaults; config::load() (load.hpp) layers files, environment
// and flags on top and validates every value, so code holding a Config may
// trust it. The defaults below are the only place defaults are written: the
// key table, `--help`, the README and the example file all show them by
// rendering Config{}.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mesoflow::config {

// The port a Mesos master listens on unless told otherwise.
inline constexpr std::uint16_t kDefaultMasterPort = 5050;
// The port a ZooKeeper server listens on unless told otherwise.
inline constexpr std::uint16_t kDefaultZooKeeperPort = 2181;
// The admin endpoint (/health, /ready, /metrics, /state) port.
inline constexpr std::uint16_t kDefaultAdminPort = 9731;

inline constexpr double kSecondsPerDay = 24.0 * 3600.0;

// One Mesos master: plain http unless an https:// URL was given.
struct MasterAddress {
    bool https = false;
    std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
    std::uint16_t port = kDefaultMasterPort;

    // "http://host:port" (IPv6 hosts in brackets).
    std::string url() const;
    bool operator==(const MasterAddress&) const = default;
};

// Masters found through ZooKeeper, as Mesos masters register there:
// zk://[user:password@]host:port[,host:port...]/path.
struct ZooKeeperUrl {
    std::string servers;      // "host:port,host:port", as the ZooKeeper client takes it
    std::string path;         // the masters' group, e.g. "/mesos"
    std::string credentials;  // "user:password" for digest authentication; empty: none

    // "zk://servers/path", the password masked.
    std::string display() const;
    bool operator==(const ZooKeeperUrl&) const = default;
};

// A listen address; an empty host means "disabled".
struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;

    bool enabled() const { return !host.empty(); }
    // "host:port" (IPv6 hosts in brackets), or "off".
    std::string to_string() const;
    bool operator==(const ListenAddress&) const = default;
};

// How a task with a container image is run on the agent. Airflow's
// docker_image_slave meant the Docker containerizer, hence the default.
enum class Containerizer { docker, mesos };

struct Config {
    // Mesos master and FrameworkInfo.
    // Required by `run`: the masters listed, or (master = zk://...) found in
    // ZooKeeper, when `masters` is empty.
    std::vector<MasterAddress> masters;
    std::optional<ZooKeeperUrl> master_zookeeper;
    std::string framework_name = "mesoflow";
    std::string framework_user;  // empty: the OS user mesoflow runs as
    std::vector<std::string> roles{"*"};
    // Who a task may ask to run as (run_as_user, role); a task asking for
    // anything else ends failed at its claim, unlaunched.
    std::vector<std::string> allowed_users;  // empty: framework_user only; "*": any user
    std::vector<std::string> allowed_roles;  // empty: roles; never a role outside roles
    // What a task's container may ask for (volumes, network, docker_parameters);
    // a task asking for anything else ends failed at its claim, unlaunched.
    std::vector<std::string> allowed_volume_paths;       // host path prefixes; empty: none
    std::vector<std::string> allowed_docker_parameters;  // parameter keys; empty: none
    std::vector<std::string> allowed_networks{"host", "bridge", "none", "user"};
    std::string principal;
    std::string secret;  // never logged; masked when rendered
    bool authenticate = false;
    bool checkpoint = true;
    // FrameworkInfo.failover_timeout, in seconds as Airflow passed it; 0
    // means the master tears the framework down as soon as mesoflow is gone.
    double failover_timeout_s = 7 * kSecondsPerDay;
    std::string hostname;
    std::string webui_url;
    bool gpu_resources = false;

    // The task queue.
    std::string database;  // libpq connection string; its password is masked when rendered
    bool migrate_on_start = false;

    // Defaults for tasks that do not state their own.
    double task_cpus = 1.0;
    double task_mem_mb = 256.0;
    double task_disk_mb = 0.0;
    std::string docker_image;  // empty: run the command on the agent's host
    Containerizer containerizer = Containerizer::docker;

    // Offers and reconciliation.
    double refuse_s = 5.0;          // decline filter while tasks are pending
    double idle_refuse_s = 3600.0;  // decline filter when nothing is pending
    double reconcile_interval_s = 900.0;
    double reconcile_backoff_min_s = 10.0;
    double reconcile_backoff_max_s = 600.0;
    double kill_grace_period_s = 30.0;
    // An unreachable attempt may still run: it is replaced only after this.
    double unreachable_grace_period_s = 600.0;
    // A claimed task no offer could hold for this long gets reason
    // "unplaceable" and the why on its row; after the timeout (0: never) it
    // ends failed.
    double unplaceable_after_s = 60.0;
    double unplaceable_timeout_s = 0.0;
    // A placed attempt not RUNNING after this is killed and retried; 0: never.
    double launch_timeout_s = 300.0;
    // A task without a timeout is not placed on an agent whose announced
    // maintenance starts within this.
    double maintenance_margin_s = 3600.0;

    // Batching and polling.
    int launch_window = 320;       // launches without a first update + updates not committed
    int launch_window_max = 5000;  // the most the window grows to on a slow allocation clock
    double commit_latency_target_s = 1.0;  // an update waiting longer halves the window
    int claim_batch = 1000;                // pending tasks claimed ahead of offers
    int update_batch = 256;                // status updates committed per transaction
    int update_connections = 2;            // database connections committing status updates
    double poll_interval_s = 5.0;          // queue polling when no NOTIFY arrives

    // Connection to the master.
    double heartbeat_watchdog_factor = 3.0;  // heartbeat intervals without an event
    // Leadership: a leader that does not renew within this loses it (the
    // database ends its lock session) and a standby takes over.
    double leader_lease_s = 15.0;
    double backoff_min_s = 0.5;
    double backoff_max_s = 30.0;
    std::string tls_ca_file;  // empty: the system trust store
    bool tls_verify = true;

    // Operations.
    ListenAddress admin_listen{"127.0.0.1", kDefaultAdminPort};
    std::string log_level = "info";  // debug, info, warn or error

    // Where each key's value came from ("file /etc/airflow/airflow.cfg:12
    // ([mesos] master)", "env MESOFLOW_DATABASE", "flag --master"); a key
    // missing here has its default.
    std::map<std::string, std::string> sources;
};

}  // namespace mesoflow::config
