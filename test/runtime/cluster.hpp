// Cluster: everything a runtime integration test needs, all real: a fresh
// migrated database on the shared throwaway PostgreSQL, an in-process fake
// Mesos master on loopback, and a mesoflow Runtime on its own thread,
// configured with short intervals so faults show within a second or two.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fake_master/fake_master.hpp"
#include "mesoflow/config/config.hpp"
#include "mesoflow/runtime/runtime.hpp"
#include "mesoflow/store/new_task.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::testing {

// Fake master settings that keep tests quick: fast allocation, heartbeats
// and redelivery.
fake::FakeMasterConfig quick_master(std::size_t agents = 3);
// Simulated tasks whose command has "sleep" run until they are killed or
// finished by the test.
fake::FakeMasterConfig sleep_runs_until_killed(std::size_t agents = 3);
// A shell task of 0.5 cpus and 64 MB.
store::NewTask shell_task(const std::string& key, const std::string& command);

class Cluster {
  public:
    explicit Cluster(fake::FakeMasterConfig master_config = quick_master());
    ~Cluster();

    fake::FakeMaster& master() { return *master_; }
    store::TaskStore& store() { return *store_; }
    const std::string& dsn() const { return dsn_; }
    // The runtime's configuration; change it before start().
    config::Config& config() { return config_; }
    // The runtime's clock and call sink; the real ones unless set before start().
    runtime::Seams& seams() { return seams_; }

    void start();
    // Graceful stop (as SIGTERM); returns the runtime's exit code.
    int stop();
    // Waits for the runtime to exit on its own (e.g. after a framework error).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    runtime::Runtime& runtime() { return *runtime_; }
    bool running() const { return thread_.joinable() && exit_code_.load() == -1; }

    std::int64_t submit(const store::NewTask& task);
    std::vector<std::int64_t> submit_many(int count, const std::string& key_prefix,
                                          const std::string& command);
    store::TaskRow task(const std::string& key);
    std::int64_t count_in(task::TaskState state);
    std::int64_t count_terminal();
    // Polls the database until `predicate` holds.
    bool eventually(const std::function<bool()>& predicate,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

  private:
    std::string dsn_;
    config::Config config_;
    runtime::Seams seams_;
    std::unique_ptr<fake::FakeMaster> master_;
    std::unique_ptr<store::TaskStore> store_;
    std::unique_ptr<runtime::Runtime> runtime_;
    std::thread thread_;
    std::atomic<int> exit_code_{-1};
};

}  // namespace mesoflow::testing
