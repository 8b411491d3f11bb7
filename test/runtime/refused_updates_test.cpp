// A status update the database refuses for good (a trigger, a constraint)
// must not stall the updates behind it, and must never be acknowledged.
#include <catch2/catch.hpp>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"

using namespace std::chrono_literals;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
using mesoflow::testing::quick_master;
namespace task = mesoflow::task;

TEST_CASE(
    "an update the database refuses for good is quarantined unacknowledged; the updates "
    "behind it commit") {
    auto mc = quick_master(3);
    mc.default_task.run_time = 20ms;
    Cluster c(mc);
    // One lane: without quarantine, the refused batch would block every
    // task's updates behind it.
    c.config().update_connections = 1;
    const auto poison = c.submit_many(1, "poison-", "true").front();
    const auto poison_id = task::mesos_task_id(poison, 1);
    mesoflow::store::testing::Sql sql(c.dsn());
    sql.exec(
        "CREATE FUNCTION public.refuse_running() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'refused by the operator''s policy'; END $$");
    sql.exec(
        "CREATE TRIGGER refuse_running BEFORE INSERT ON mesoflow.task_history"
        " FOR EACH ROW WHEN (NEW.mesos_task_id = '" +
        poison_id +
        "' AND NEW.mesos_state = 'TASK_RUNNING')"
        " EXECUTE FUNCTION public.refuse_running()");
    c.submit_many(30, "healthy-", "true");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) >= 30; }, 60s));
    CHECK(c.runtime().metrics().updates_quarantined.load() >= 1);
    CHECK(c.stop() == 0);
    // The refused update was never acknowledged; every acknowledgement that
    // went out was for a committed update.
    for (const auto& a : c.master().acks()) {
        INFO("ack " << a.task_id << " " << a.state);
        CHECK_FALSE((a.task_id == poison_id && a.state == "TASK_RUNNING"));
    }
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE mesos_task_id = '" +
                    poison_id + "' AND mesos_state = 'TASK_RUNNING'") == 0);
}
