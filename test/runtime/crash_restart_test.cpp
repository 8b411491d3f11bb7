// mesoflow killed with SIGKILL while tasks run, then started again: the real
// `mesoflow run` binary as a child process, the in-process fake master and a
// real PostgreSQL. Nothing in the process survives a SIGKILL, so whatever the
// second run knows comes from the database and from reconciliation.
#include <sys/wait.h>
#include <csignal>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cluster.hpp"
#include "process.hpp"

using namespace std::chrono_literals;
using mesoflow::task::TaskState;
using mesoflow::testing::ChildProcess;
using mesoflow::testing::Cluster;
using mesoflow::testing::quick_master;
using mesoflow::testing::SpawnOptions;
namespace store = mesoflow::store;
namespace task = mesoflow::task;

namespace {

// `mesoflow run` against the cluster's master and database, configured only
// through the environment (MESOFLOW_CONFIG names no file, so nothing on the
// machine is read), with the same short intervals as the in-process runtime.
ChildProcess start_mesoflow(Cluster& c, const std::string& log_path) {
    SpawnOptions o;
    o.argv = {MESOFLOW_BINARY, "run"};
    o.extra_env = {
        "MESOFLOW_CONFIG=/dev/null",          "MESOFLOW_MASTER=" + c.master().address(),
        "MESOFLOW_DATABASE=" + c.dsn(),       "MESOFLOW_FRAMEWORK_USER=nobody",
        "MESOFLOW_FAILOVER_TIMEOUT=3600",     "MESOFLOW_REFUSE_SECONDS=0.2",
        "MESOFLOW_IDLE_REFUSE_SECONDS=1",     "MESOFLOW_POLL_INTERVAL=0.2",
        "MESOFLOW_RECONCILE_BACKOFF_MIN=0.5", "MESOFLOW_RECONCILE_BACKOFF_MAX=2",
        "MESOFLOW_BACKOFF_MIN=0.05",          "MESOFLOW_BACKOFF_MAX=0.5",
        "MESOFLOW_ADMIN_LISTEN=off",
    };
    o.output_path = log_path;
    return ChildProcess::spawn(o);
}

// Mesos task id -> how many LAUNCH operations named it, over every ACCEPT
// the master received.
std::map<std::string, int> launches_by_task_id(Cluster& c) {
    std::map<std::string, int> out;
    for (const auto& call : c.master().calls_of_type("ACCEPT")) {
        const auto body = nlohmann::json::parse(call.body);
        for (const auto& op : body["accept"]["operations"]) {
            if (!op.contains("launch"))
                continue;
            for (const auto& t : op["launch"]["task_infos"])
                out[t["task_id"]["value"].get<std::string>()]++;
        }
    }
    return out;
}

std::set<std::string> subscribed_framework_ids(Cluster& c) {
    std::set<std::string> ids;
    for (const auto& call : c.master().calls_of_type("SUBSCRIBE")) {
        const auto body = nlohmann::json::parse(call.body);
        const auto& info = body["subscribe"]["framework_info"];
        if (info.contains("id"))
            ids.insert(info["id"]["value"].get<std::string>());
    }
    return ids;
}

}  // namespace

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
