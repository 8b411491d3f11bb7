#include "cluster.hpp"

#include <stdexcept>

#include "mesoflow/store/migrations.hpp"
#include "temp_postgres.hpp"

namespace mesoflow::testing {

using namespace std::chrono_literals;

fake::FakeMasterConfig quick_master(std::size_t agents) {
    fake::FakeMasterConfig c;
    c.agents = fake::uniform_agents(agents);
    c.allocation_interval = 50ms;
    c.heartbeat_interval = 200ms;
    c.update_retry_min = 500ms;
    c.update_retry_max = 2000ms;
    c.default_task.run_time = 50ms;
    return c;
}

fake::FakeMasterConfig sleep_runs_until_killed(std::size_t agents) {
    auto mc = quick_master(agents);
    mc.task_rules = {fake::TaskRule{"sleep", "", "", fake::TaskBehavior{0ms, 0ms, 0, true}}};
    return mc;
}

store::NewTask shell_task(const std::string& key, const std::string& command) {
    store::NewTask t;
    t.key = key;
    t.command = command;
    t.cpus = 0.5;
    t.mem_mb = 64;
    return t;
}

Cluster::Cluster(fake::FakeMasterConfig master_config)
    : dsn_(TempPostgres::shared().create_database()),
      master_(std::make_unique<fake::FakeMaster>(std::move(master_config))),
      store_(std::make_unique<store::TaskStore>(dsn_, "mesoflow-test")) {
    auto m = store::migrate(dsn_);
    if (!m)
        throw std::runtime_error("migrate: " + m.error().message);
    config_.masters = {
        config::MasterAddress{false, master_->host(), static_cast<std::uint16_t>(master_->port())}};
    config_.database = dsn_;
    config_.framework_user = "nobody";
    config_.failover_timeout_s = 3600;
    config_.refuse_s = 0.2;
    config_.idle_refuse_s = 1;
    config_.poll_interval_s = 0.2;
    config_.reconcile_backoff_min_s = 0.5;
    config_.reconcile_backoff_max_s = 2;
    config_.kill_grace_period_s = 1;
    config_.backoff_min_s = 0.05;
    config_.backoff_max_s = 0.5;
    config_.heartbeat_watchdog_factor = 3;
    config_.admin_listen = {};
}

Cluster::~Cluster() {
    if (thread_.joinable())
        stop();
}

void Cluster::start() {
    runtime_ =
        std::make_unique<runtime::Runtime>(config_, "test:" + std::to_string(::getpid()), seams_);
    exit_code_ = -1;
    thread_ = std::thread([this] { exit_code_ = runtime_->run(); });
}

int Cluster::stop() {
    if (!thread_.joinable())
        return exit_code_.load();
    runtime_->request_stop();
    thread_.join();
    return exit_code_.load();
}

std::optional<int> Cluster::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (exit_code_.load() == -1) {
        if (std::chrono::steady_clock::now() > deadline)
            return std::nullopt;
        std::this_thread::sleep_for(10ms);
    }
    thread_.join();
    return exit_code_.load();
}

std::int64_t Cluster::submit(const store::NewTask& task) {
    auto id = store_->insert_task(task);
    if (!id)
        throw std::runtime_error("insert_task: " + id.error().message);
    return *id;
}

std::vector<std::int64_t> Cluster::submit_many(int count, const std::string& key_prefix,
                                               const std::string& command) {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < count; ++i) {
        store::NewTask t;
        t.key = key_prefix + std::to_string(i);
        t.command = command;
        t.cpus = 0.1;
        t.mem_mb = 32;
        ids.push_back(submit(t));
    }
    return ids;
}

store::TaskRow Cluster::task(const std::string& key) {
    auto row = store_->find_task(key);
    if (!row || !*row)
        throw std::runtime_error("no task " + key);
    return **row;
}

std::int64_t Cluster::count_in(task::TaskState state) {
    auto counts = store_->counts_by_state();
    if (!counts)
        return -1;
    for (const auto& c : *counts) {
        if (c.state == state)
            return c.count;
    }
    return 0;
}

std::int64_t Cluster::count_terminal() {
    auto counts = store_->counts_by_state();
    if (!counts)
        return -1;
    std::int64_t n = 0;
    for (const auto& c : *counts) {
        if (task::is_terminal(c.state))
            n += c.count;
    }
    return n;
}

bool Cluster::eventually(const std::function<bool()>& predicate,
                         std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (predicate())
            return true;
        std::this_thread::sleep_for(20ms);
    }
    return predicate();
}

}  // namespace mesoflow::testing
