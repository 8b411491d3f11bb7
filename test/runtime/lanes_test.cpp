// The update lanes under what an outside session or the network can do to
// them: a row lock held open, redelivered updates while a lane cannot commit,
// a lane stuck for good, a LISTEN connection that cannot be opened.
#include <httplib.h>
#include <catch2/catch.hpp>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"
#include "mesoflow/admin/admin_server.hpp"
#include "mesoflow/scheduler/commit_reactions.hpp"
#include "pg_proxy.hpp"
#include "temp_postgres.hpp"

using namespace std::chrono_literals;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
using mesoflow::testing::quick_master;
using mesoflow::testing::shell_task;
using mesoflow::testing::sleep_runs_until_killed;
namespace fake = mesoflow::fake;
namespace store = mesoflow::store;
namespace task = mesoflow::task;

namespace {

bool acked(Cluster& c, const std::string& task_id, const std::string& state) {
    for (const auto& a : c.master().acks()) {
        if (a.task_id == task_id && a.state == state)
            return true;
    }
    return false;
}

}  // namespace

TEST_CASE(
    "a task row held by another session delays only that task's update, and the rest of "
    "its lane commits and is acknowledged while the lock is held") {
    Cluster c(sleep_runs_until_killed());
    // One lane: every task's updates share it with the held task's.
    c.config().update_connections = 1;
    const auto held = c.submit(shell_task("held", "sleep 1000"));
    const auto held_task = task::mesos_task_id(held, 1);
    c.start();
    REQUIRE(c.eventually([&] { return c.task("held").state == TaskState::running; }));
    // An outside session leaves an UPDATE of the row open in its transaction.
    store::testing::Sql holder(c.dsn());
    holder.exec("BEGIN");
    holder.exec("UPDATE mesoflow.tasks SET priority = priority WHERE id = " + std::to_string(held));
    const auto received = c.runtime().metrics().updates_received.load();
    REQUIRE(c.master().finish_task(held_task));
    REQUIRE(c.eventually([&] { return c.runtime().metrics().updates_received.load() > received; }));
    // Everything else on the lane commits, and is acknowledged, while the
    // lock is still held (the timeout only bounds a failure).
    c.submit_many(10, "free-", "true");
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 10; }, 60s));
    CHECK(c.task("held").state == TaskState::running);
    CHECK_FALSE(acked(c, held_task, "TASK_FINISHED"));
    CHECK(c.runtime().metrics().updates_row_locked.load() >= 1);
    // Once the lock is released, the held task's update commits, then its
    // acknowledgement goes.
    holder.exec("ROLLBACK");
    REQUIRE(c.eventually([&] { return c.task("held").state == TaskState::finished; }, 60s));
    REQUIRE(c.master().wait_until([&] { return acked(c, held_task, "TASK_FINISHED"); }, 60s));
    CHECK(c.stop() == 0);
}

TEST_CASE(
    "redeliveries of an update the lane holds and cannot commit yet are held once, and "
    "it is acknowledged once it commits") {
    Cluster c(sleep_runs_until_killed());
    c.config().update_connections = 1;
    const auto id = c.submit(shell_task("redelivered", "sleep 1000"));
    const auto task_id = task::mesos_task_id(id, 1);
    c.start();
    REQUIRE(c.eventually([&] { return c.task("redelivered").state == TaskState::running; }));
    // Another session holds the history table: the lane's next batch waits
    // for it, and the master redelivers the unacknowledged update meanwhile.
    store::testing::Sql holder(c.dsn());
    holder.exec("BEGIN");
    holder.exec("LOCK TABLE mesoflow.task_history IN SHARE MODE");
    const auto received = c.runtime().metrics().updates_received.load();
    REQUIRE(c.master().finish_task(task_id));
    // The update and two redeliveries of it have arrived...
    REQUIRE(c.eventually(
        [&] { return c.runtime().metrics().updates_received.load() >= received + 3; }, 60s));
    // ...and the lane holds it once.
    CHECK(c.runtime().metrics().updates_waiting.load() == 1);
    holder.exec("ROLLBACK");
    REQUIRE(c.eventually([&] { return c.task("redelivered").state == TaskState::finished; }));
    REQUIRE(c.master().wait_until([&] { return acked(c, task_id, "TASK_FINISHED"); }, 60s));
    CHECK(c.runtime().metrics().updates_waiting.load() == 0);
    CHECK(c.stop() == 0);
}

namespace {

httplib::Result get(int port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    return client.Get(path.c_str());
}

}  // namespace

TEST_CASE(
    "a lane that cannot commit for kLaneStuckAfter makes /ready say not ready, with the "
    "reason, and counts in the metrics; a commit clears it") {
    // Declared first: the runtime reads it until it stops.
    mesoflow::runtime::ManualTime clock;
    Cluster c(sleep_runs_until_killed());
    c.seams().time = &clock;
    c.config().update_connections = 2;
    const auto id = c.submit(shell_task("stuck", "sleep 1000"));
    c.start();
    mesoflow::admin::AdminSources sources;
    sources.metrics = &c.runtime().metrics();
    sources.ready = [&] { return c.runtime().ready(); };
    sources.state_json = [&] { return c.runtime().state_json(); };
    auto admin = mesoflow::admin::AdminServer::start("127.0.0.1", 0, sources);
    REQUIRE(admin.ok());
    const int port = (*admin)->port();
    auto ready_status = [&] {
        auto res = get(port, "/ready");
        return res ? res->status : -1;
    };
    REQUIRE(c.eventually([&] { return c.task("stuck").state == TaskState::running; }));
    REQUIRE(c.eventually([&] { return ready_status() == 200; }));
    // The lane's next batch waits on a table another session holds: the
    // database answers everything else, so nothing but the lane shows it.
    store::testing::Sql holder(c.dsn());
    holder.exec("BEGIN");
    holder.exec("LOCK TABLE mesoflow.task_history IN SHARE MODE");
    REQUIRE(c.master().finish_task(task::mesos_task_id(id, 1)));
    REQUIRE(c.eventually([&] {
        return holder.count(
                   "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                   "'mesoflow-updates-%' AND wait_event_type = 'Lock'") == 1;
    }));
    // While the clock stands short of the bound, still ready.
    clock.advance(mesoflow::scheduler::kLaneStuckAfter - 1s);
    REQUIRE(c.eventually([&] {
        return c.runtime().metrics().update_lane_stall_us.load() >=
               std::chrono::microseconds(mesoflow::scheduler::kLaneStuckAfter - 1s).count();
    }));
    CHECK(ready_status() == 200);
    // Past it: not ready, with the reason; the metrics say so.
    clock.advance(2s);
    REQUIRE(c.eventually([&] { return ready_status() == 503; }));
    auto res = get(port, "/ready");
    REQUIRE(res);
    CHECK_THAT(res->body, Catch::Contains("1 update lane not committing for"));
    auto metrics = get(port, "/metrics");
    REQUIRE(metrics);
    CHECK_THAT(metrics->body, Catch::Contains("mesoflow_update_lanes_stuck 1\n"));
    CHECK_THAT(metrics->body, Catch::Contains("mesoflow_update_lane_stalled_seconds 3"));
    // Once it commits, ready again.
    holder.exec("ROLLBACK");
    REQUIRE(c.eventually([&] { return ready_status() == 200; }));
    metrics = get(port, "/metrics");
    REQUIRE(metrics);
    CHECK_THAT(metrics->body, Catch::Contains("mesoflow_update_lanes_stuck 0\n"));
    (*admin)->stop();
    CHECK(c.stop() == 0);
}

TEST_CASE(
    "the event loop keeps serving (tasks launch, commit and are acknowledged) while the LISTEN "
    "connection cannot be opened because the server never answers it") {
    Cluster c(quick_master());
    // Every connection goes through a proxy that answers all but the
    // listener's; no connect timeout, so an attempt waits as long as the
    // proxy holds it.
    mesoflow::testing::PgProxy proxy(mesoflow::testing::TempPostgres::shared().port(),
                                     "mesoflow-listener");
    mesoflow::testing::ReleaseHeld release(proxy);
    c.config().database = c.dsn() + " host=127.0.0.1 port=" + std::to_string(proxy.port()) +
                          " sslmode=disable connect_timeout=0";
    c.start();
    REQUIRE(c.eventually([&] { return proxy.held() == 1; }));
    // Polling finds the work; offers, launches, commits and acknowledgements
    // all run on the event loop.
    const auto acks_before = c.master().acks().size();
    c.submit_many(5, "unheard-", "true");
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 5; }, 60s));
    CHECK(c.master().acks().size() > acks_before);
    // The listener's attempt was still unanswered all along.
    CHECK(proxy.held() == 1);
    proxy.release_held();
    CHECK(c.stop() == 0);
}
