// A subscription's reconciliation raced with its own launches, on purpose
// and in a set order: the page of live attempts is read while an ACCEPT of
// the same subscription is on its way (answered 202, not yet carried out by
// the master). Asked about those tasks, the master, which has not heard of
// them, would answer that they are gone, and they would launch a second
// time; the page leaves launches in flight alone (LaunchPacer::in_flight).
//
// How the order is forced: the runtime's database thread runs its jobs one at
// a time, and its poll reads mesoflow.queues. A transaction of the test holds
// that table locked, so the poll waits and the page, asked for by the next
// SUBSCRIBED, waits behind it, while placements (their own connection and
// thread, which never read mesoflow.queues) and ACCEPTs go on.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"
#include "mesoflow/task/task.hpp"

using namespace std::chrono_literals;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
using mesoflow::testing::quick_master;
namespace fake = mesoflow::fake;
namespace store = mesoflow::store;
namespace task = mesoflow::task;
using json = nlohmann::json;

namespace {

// ACCEPT calls the master received that launch this Mesos task id.
std::size_t accepts_naming(Cluster& c, const std::string& mesos_task_id) {
    std::size_t n = 0;
    for (const auto& call : c.master().calls_of_type("ACCEPT")) {
        const auto body = json::parse(call.body);
        for (const auto& op : body["accept"]["operations"]) {
            for (const auto& t : op["launch"]["task_infos"]) {
                if (t["task_id"]["value"] == mesos_task_id)
                    ++n;
            }
        }
    }
    return n;
}

// RECONCILE calls the master received that name this Mesos task id.
std::size_t reconciles_naming(Cluster& c, const std::string& mesos_task_id) {
    std::size_t n = 0;
    for (const auto& call : c.master().calls_of_type("RECONCILE")) {
        const auto body = json::parse(call.body);
        for (const auto& t : body["reconcile"].value("tasks", json::array())) {
            if (t["task_id"]["value"] == mesos_task_id)
                ++n;
        }
    }
    return n;
}

}  // namespace

TEST_CASE(
    "reconciliation while an ACCEPT of the same subscription is held: its tasks are not asked "
    "about, and each launches once") {
    Cluster c(quick_master(1));
    // No offers at first: the tasks are claimed and wait in the runtime.
    REQUIRE(c.master().lose_agent("agent-0.fake"));
    constexpr std::int64_t kTasks = 3;
    std::vector<std::int64_t> ids;
    for (std::int64_t i = 0; i < kTasks; ++i) {
        auto t = mesoflow::testing::shell_task("raced-" + std::to_string(i), "true");
        t.max_attempts = 3;  // a lost attempt is retried: a second launch shows
        t.retry_backoff_s = 0;
        ids.push_back(c.submit(t));
    }
    c.start();
    REQUIRE(c.eventually([&] { return c.runtime().metrics().claims_held.load() == kTasks; }));

    // The database thread stops at its next poll, waiting for the lock.
    store::testing::Sql sql(c.dsn());
    store::testing::Sql lock(c.dsn());
    lock.exec("BEGIN");
    lock.exec("LOCK TABLE mesoflow.queues IN ACCESS EXCLUSIVE MODE");
    auto database_thread_waits = [&] {
        return sql.count(
                   "SELECT count(*) FROM pg_locks l JOIN pg_class r ON r.oid = l.relation"
                   " JOIN pg_stat_activity a ON a.pid = l.pid"
                   " WHERE r.relname = 'queues' AND NOT l.granted AND a.application_name ="
                   " 'mesoflow' AND l.database ="
                   " (SELECT oid FROM pg_database WHERE datname = current_database())") == 1;
    };
    REQUIRE(c.eventually(database_thread_waits));

    // A new subscription: its page of live attempts is asked for behind the
    // poll. Then offers: the claimed tasks launch, and the master holds
    // their ACCEPT.
    c.master().fail_calls("ACCEPT", 1, fake::CallFault{fake::CallFaultKind::hold});
    const auto subscriptions = c.runtime().metrics().subscriptions.load();
    c.master().drop_streams();
    REQUIRE(c.eventually(
        [&] { return c.runtime().metrics().subscriptions.load() == subscriptions + 1; }));
    REQUIRE(c.master().restore_agent("agent-0.fake"));
    REQUIRE(c.master().wait_until([&] { return c.master().held_calls() == 1; }, 30s));
    for (const auto id : ids)
        REQUIRE(accepts_naming(c, task::mesos_task_id(id, 1)) == 1);
    REQUIRE(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE attempt = 1 AND agent_id IS NOT"
                      " NULL AND state = 'launching'") == kTasks);
    // The page is still to be read.
    REQUIRE(database_thread_waits());

    // The page is read now, with the placed attempts on it, and answered:
    // a kill scan that started after it (the second to end from here) ran
    // behind it on the same thread, and its answer came after the page's.
    const auto scans = c.runtime().metrics().kill_scans.load();
    lock.exec("COMMIT");
    REQUIRE(c.eventually([&] { return c.runtime().metrics().kill_scans.load() >= scans + 2; }));
    // Whatever it asked has reached the master before the ACCEPT is carried out.
    const auto reconciles = c.runtime().metrics().reconcile_calls.load();
    REQUIRE(c.master().wait_until(
        [&] { return c.master().calls_of_type("RECONCILE").size() >= reconciles; }, 30s));
    for (const auto id : ids)
        CHECK(reconciles_naming(c, task::mesos_task_id(id, 1)) == 0);

    REQUIRE(c.master().release_held_calls() == 1);
    REQUIRE(c.eventually([&] { return c.count_terminal() == kTasks; }));
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto row = c.task("raced-" + std::to_string(i));
        CHECK(row.state == TaskState::finished);
        CHECK(row.attempt == 1);
        CHECK(accepts_naming(c, task::mesos_task_id(ids[i], 1)) == 1);
        CHECK(accepts_naming(c, task::mesos_task_id(ids[i], 2)) == 0);
    }
    CHECK(c.master().counters().tasks_launched == static_cast<std::uint64_t>(kTasks));
    c.stop();
}
