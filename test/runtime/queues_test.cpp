// Queues end to end: weights share the cluster, max_running is a hard cap
// (also across a SIGKILL and a restart), and a queue at its cap or with a
// task no agent holds never holds back another.
#include <sys/wait.h>
#include <csignal>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"
#include "mesoflow/runtime/seams.hpp"
#include "process.hpp"
#include "run_checks.hpp"

using namespace std::chrono_literals;
using mesoflow::store::testing::Sql;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
using mesoflow::testing::quick_master;
using mesoflow::testing::require_every_ack_committed;
using mesoflow::testing::shell_task;
using mesoflow::testing::sleep_runs_until_killed;

namespace {

// Queues `count` tasks into `queue` in one statement.
void queue_tasks(Sql& sql, const std::string& queue, int count, const std::string& command) {
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, cpus, mem, queue)"
        " SELECT '" +
        queue + "-' || i, '" + command + "', 0.5, 64, '" + queue + "' FROM generate_series(1, " +
        std::to_string(count) + ") i");
}

// The task ids of the first `n` launches the master received, in order.
std::vector<std::int64_t> first_launches(Cluster& c, std::size_t n) {
    std::vector<std::int64_t> out;
    for (const auto& call : c.master().calls_of_type("ACCEPT")) {
        const auto body = nlohmann::json::parse(call.body);
        for (const auto& op : body["accept"]["operations"]) {
            if (!op.contains("launch"))
                continue;
            for (const auto& t : op["launch"]["task_infos"]) {
                const auto parsed =
                    mesoflow::task::parse_mesos_task_id(t["task_id"]["value"].get<std::string>());
                if (parsed && out.size() < n)
                    out.push_back(parsed->first);
            }
        }
    }
    return out;
}

std::size_t launches_of(Cluster& c, const std::string& key_prefix) {
    std::size_t n = 0;
    Sql sql(c.dsn());
    for (const auto& [task_id, count] : mesoflow::testing::launches_by_task_id(c)) {
        const auto parsed = mesoflow::task::parse_mesos_task_id(task_id);
        if (parsed &&
            sql.one("SELECT key FROM mesoflow.tasks WHERE id = " + std::to_string(parsed->first))
                .starts_with(key_prefix))
            n += static_cast<std::size_t>(count);
    }
    return n;
}

}  // namespace

TEST_CASE("two queues weighted 3 and 1 with a deep backlog get launches within 10% of 3:1") {
    // 8 agents of 4 cpus: 64 tasks of 0.5 cpu at once, far fewer than queued.
    auto mc = quick_master(8);
    mc.default_task.run_time = 20ms;
    Cluster c(mc);
    Sql sql(c.dsn());
    sql.exec("INSERT INTO mesoflow.queues (name, weight) VALUES ('heavy', 3), ('light', 1)");
    queue_tasks(sql, "heavy", 4000, "true");
    queue_tasks(sql, "light", 4000, "true");
    c.start();
    constexpr std::size_t kCounted = 3000;
    REQUIRE(c.eventually([&] { return first_launches(c, kCounted).size() == kCounted; }, 300s));
    const auto light_max = sql.count("SELECT max(id) FROM mesoflow.tasks WHERE queue = 'light'");
    const auto light_min = sql.count("SELECT min(id) FROM mesoflow.tasks WHERE queue = 'light'");
    std::size_t heavy = 0, light = 0;
    for (const auto id : first_launches(c, kCounted)) {
        if (id >= light_min && id <= light_max)
            ++light;
        else
            ++heavy;
    }
    INFO(heavy << " heavy and " << light << " light launches of the first " << kCounted);
    const double ratio = static_cast<double>(heavy) / static_cast<double>(light);
    CHECK(ratio >= 2.7);
    CHECK(ratio <= 3.3);
    CHECK(c.stop() == 0);
}

TEST_CASE("max_running is never exceeded, and a queue at its cap does not hold back others") {
    // Tasks that sleep run until killed: the capped queue's launches are
    // exactly the tasks it runs at once.
    Cluster c(sleep_runs_until_killed(4));
    Sql sql(c.dsn());
    sql.exec("INSERT INTO mesoflow.queues (name, max_running) VALUES ('capped', 3)");
    queue_tasks(sql, "capped", 20, "sleep 600");
    queue_tasks(sql, "free", 100, "true");
    c.start();
    // Every task of the other queue runs to the end while the capped one
    // holds three.
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 100; }, 120s));
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::running) == 3; }, 30s));
    CHECK(launches_of(c, "capped-") == 3);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE queue = 'capped'"
                    " AND state = 'pending'") == 17);

    // Two of them end: two more launch, and no more.
    sql.exec(
        "UPDATE mesoflow.tasks SET kill_requested = true WHERE queue = 'capped'"
        " AND state = 'running' AND id IN (SELECT id FROM mesoflow.tasks"
        " WHERE queue = 'capped' AND state = 'running' ORDER BY id LIMIT 2)");
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::killed) == 2; }, 60s));
    REQUIRE(c.eventually([&] { return launches_of(c, "capped-") == 5; }, 60s));
    // A new task of the free queue runs: anything launched after it was
    // claimed by then; the cap still holds.
    c.submit(shell_task("free-late", "true"));
    REQUIRE(c.eventually([&] { return c.task("free-late").state == TaskState::finished; }, 60s));
    CHECK(launches_of(c, "capped-") == 5);
    CHECK(c.count_in(TaskState::running) == 3);

    // Raising the cap lets more run; 0 pauses the queue (nothing new launches).
    sql.exec("UPDATE mesoflow.queues SET max_running = 0 WHERE name = 'capped'");
    sql.exec(
        "UPDATE mesoflow.tasks SET kill_requested = true WHERE queue = 'capped'"
        " AND state = 'running'");
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::killed) == 5; }, 60s));
    c.submit(shell_task("free-later", "true"));
    REQUIRE(c.eventually([&] { return c.task("free-later").state == TaskState::finished; }, 60s));
    CHECK(launches_of(c, "capped-") == 5);
    CHECK(c.stop() == 0);
    require_every_ack_committed(c);
}

TEST_CASE("max_running holds across a SIGKILL of mesoflow and a restart") {
    Cluster c(sleep_runs_until_killed(4));
    Sql sql(c.dsn());
    sql.exec("INSERT INTO mesoflow.queues (name, max_running) VALUES ('capped', 4)");
    queue_tasks(sql, "capped", 30, "sleep 600");
    const std::string log_path = "/tmp/mesoflow-queue-cap-" + std::to_string(::getpid());
    auto first = mesoflow::testing::start_mesoflow(c, log_path + ".1.log");
    INFO("logs: " << log_path << ".1.log and .2.log");
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::running) == 4; }, 60s));
    first.signal(SIGKILL);
    REQUIRE(first.wait_for(10s));

    auto second = mesoflow::testing::start_mesoflow(c, log_path + ".2.log");
    // The second run claims, launches and finishes new work of another
    // queue: by then it has read the capped queue too.
    queue_tasks(sql, "after", 20, "true");
    REQUIRE(c.eventually(
        [&] {
            return sql.count(
                       "SELECT count(*) FROM mesoflow.tasks WHERE queue = 'after'"
                       " AND state = 'finished'") == 20;
        },
        120s));
    CHECK(launches_of(c, "capped-") == 4);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE queue = 'capped'"
                    " AND state IN ('launching', 'staging', 'starting', 'running')") == 4);
    second.signal(SIGTERM);
    CHECK(second.wait_for(30s));
}

TEST_CASE("a claimed task no offer came for says no_offers once it waited, and metrics count it") {
    // Declared first: the runtime reads it until it stops.
    mesoflow::runtime::ManualTime clock;
    Cluster c(quick_master(0));  // no agents: no offers
    c.seams().time = &clock;
    c.config().unplaceable_after_s = 60;
    Sql sql(c.dsn());
    queue_tasks(sql, "etl", 3, "true");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::launching) == 3; }));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE reason IS NOT NULL") == 0);
    clock.advance(61s);
    REQUIRE(c.eventually([&] {
        return sql.count(
                   "SELECT count(*) FROM mesoflow.pending_reasons WHERE queue = 'etl'"
                   " AND reason = 'no_offers'") == 3;
    }));
    CHECK_THAT(c.task("etl-1").message, Catch::StartsWith("no offer came since it was claimed"));
    // /metrics: the tasks not launched by queue and reason, counted every 60 s.
    clock.advance(61s);
    REQUIRE(c.eventually([&] {
        for (const auto& q : c.runtime().metrics().queues()) {
            if (q.queue == "etl" &&
                q.pending_by_reason ==
                    std::vector<std::pair<std::string, std::int64_t>>{{"no_offers", 3}})
                return true;
        }
        return false;
    }));
    CHECK(c.stop() == 0);
}

TEST_CASE("a large task a stream of small ones keeps out gets an agent held and runs before them") {
    mesoflow::runtime::ManualTime clock;
    auto mc = quick_master(0);
    mesoflow::fake::AgentSpec four;
    four.cpus = 4;
    mc.agents = mesoflow::fake::uniform_agents(2, four);
    mc.default_task.run_time = 300ms;
    Cluster c(mc);
    c.seams().time = &clock;
    c.config().unplaceable_after_s = 60;
    Sql sql(c.dsn());
    // 300 small tasks ahead of the large one (priority), which needs a whole agent.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, cpus, mem, priority)"
        " SELECT 'small-' || i, 'true', 1, 64, 1 FROM generate_series(1, 300) i");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, cpus, mem, priority)"
        " VALUES ('large', 'true', 4, 64, 0)");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) >= 8; }));
    // It has waited past unplaceable_after: an agent is held for it.
    clock.advance(61s);
    REQUIRE(c.eventually([&] { return c.task("large").state == TaskState::finished; }, 120s));
    const auto large = c.task("large");
    REQUIRE(large.launched_at_us);
    // Most of the small ones launched after it: it did not wait for the stream to end.
    const auto after = sql.count(
        "SELECT count(*) FROM mesoflow.tasks WHERE key LIKE 'small-%' AND (launched_at IS NULL"
        " OR launched_at > (SELECT launched_at FROM mesoflow.tasks WHERE key = 'large'))");
    INFO(after << " small tasks launched after the large one");
    CHECK(after >= 100);
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 301; }, 120s));
    CHECK(c.master().counters().tasks_launched == 301);
    CHECK(c.stop() == 0);
}
