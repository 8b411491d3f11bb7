// mesoflow killed with SIGKILL while tasks run, then started again: the real
// `mesoflow run` binary as a child process, the in-process fake master and a
// real PostgreSQL. Nothing in the process survives a SIGKILL, so whatever the
// second run knows comes from the database and from reconciliation.
#include <sys/wait.h>
#include <csignal>

#include <catch2/catch.hpp>
#include <set>

#include "cluster.hpp"
#include "process.hpp"
#include "run_checks.hpp"

using namespace std::chrono_literals;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
using mesoflow::testing::launches_by_task_id;
using mesoflow::testing::quick_master;
using mesoflow::testing::start_mesoflow;
using mesoflow::testing::subscribed_framework_ids;

TEST_CASE("mesoflow killed with SIGKILL while tasks run loses none and launches none twice") {
    constexpr int kTasks = 300;
    // 4 agents of 1 cpu run 40 tasks of 0.1 cpu at once: the queue drains
    // in waves, so the kill finds tasks done, running and queued.
    auto mc = quick_master(0);
    mesoflow::fake::AgentSpec small;
    small.cpus = 1;
    mc.agents = mesoflow::fake::uniform_agents(4, small);
    mc.default_task.run_time = 500ms;
    Cluster c(mc);
    c.submit_many(kTasks, "crash-", "true");
    const std::string log_path = "/tmp/mesoflow-crash-restart-" + std::to_string(::getpid());

    auto first = start_mesoflow(c, log_path + ".1.log");
    // Kill it mid-flight: some tasks done, others running or still queued.
    REQUIRE(c.eventually(
        [&] { return c.count_terminal() >= 30 && c.count_in(TaskState::running) > 0; }, 60s));
    first.signal(SIGKILL);
    const auto killed = first.wait_for(10s);
    REQUIRE(killed);
    CHECK(WIFSIGNALED(*killed));
    const auto done_at_kill = c.count_terminal();
    CHECK(done_at_kill < kTasks);

    REQUIRE(c.master().frameworks().size() == 1);
    const auto framework_id = c.master().frameworks().front().id;

    auto second = start_mesoflow(c, log_path + ".2.log");
    INFO("logs: " << log_path << ".1.log and .2.log");
    REQUIRE(c.eventually([&] { return c.count_terminal() == kTasks; }, 120s));
    CHECK(c.count_in(TaskState::finished) == kTasks);

    // Same framework: the second run re-attached with the stored id.
    CHECK(c.master().frameworks().size() == 1);
    CHECK(c.master().frameworks().front().id == framework_id);
    CHECK(subscribed_framework_ids(c) == std::set<std::string>{framework_id});
    auto stored = c.store().load_framework_id("mesoflow");
    REQUIRE(stored);
    REQUIRE(stored->has_value());
    CHECK(**stored == framework_id);

    // No attempt was launched twice, and every task ran on an attempt that
    // the master saw launched.
    const auto launches = launches_by_task_id(c);
    for (const auto& [task_id, n] : launches) {
        INFO("task " << task_id);
        CHECK(n == 1);
    }
    for (int i = 0; i < kTasks; ++i) {
        const auto row = c.task("crash-" + std::to_string(i));
        INFO("task crash-" << i);
        CHECK(launches.count(row.mesos_task_id) == 1);
    }

    // The second run stops cleanly, leaving the framework registered.
    const int status = second.stop(SIGTERM, 30s);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(c.master().frameworks().size() == 1);
    ::unlink((log_path + ".1.log").c_str());
    ::unlink((log_path + ".2.log").c_str());
}
