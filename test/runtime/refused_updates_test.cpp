// A status update the database refuses for good (a trigger, a constraint)
// must not stall the updates behind it, and must never be acknowledged; text
// the database would refuse never reaches it.
#include <catch2/catch.hpp>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"
#include "mesoflow/runtime/status_conversion.hpp"
#include "mesoflow/task/text.hpp"

using namespace std::chrono_literals;
using namespace std::string_literals;
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
        "CREATE TRIGGER refuse_running BEFORE INSERT ON mesoflow.task_events"
        " FOR EACH ROW WHEN (NEW.task_id = " +
        std::to_string(poison) +
        " AND NEW.attempt = 1"
        " AND NEW.mesos_state = array_position(mesoflow.history_names(), 'TASK_RUNNING'))"
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

TEST_CASE(
    "a status update whose text holds NUL bytes, invalid UTF-8 or megabytes commits, "
    "cleaned") {
    Cluster c;
    const auto id = c.submit_many(1, "dirty-", "true").front();
    auto claimed = c.store().claim_pending(10);
    REQUIRE(claimed);
    REQUIRE(claimed->size() == 1);
    mesoflow::task::LaunchRecord placed{id,   1, task::mesos_task_id(id, 1), "A1", "agent-1",
                                        "O1", 0};
    mesoflow::mesos::TaskStatus status;
    status.task_id = task::mesos_task_id(id, 1);
    status.state = mesoflow::mesos::TaskState::failed;
    status.agent_id = "A1\xFF";
    status.uuid = "dXVpZA==";
    std::string message = "exited\0with \xC0\xAF status 1 "s;
    message += std::string(1 << 20, 'x');
    status.message = message;
    const auto update = mesoflow::runtime::to_store_update(status);
    auto applied = c.store().apply_updates({update}, {placed});
    REQUIRE(applied);
    REQUIRE(applied->updates.size() == 1);
    CHECK(applied->updates[0].outcome == task::UpdateOutcome::applied);
    auto history = c.store().task_history(id);
    REQUIRE(history);
    REQUIRE_FALSE(history->empty());
    const auto& last = history->back();
    CHECK(last.mesos_state == "TASK_FAILED");
    CHECK(last.message.starts_with("exited\xEF\xBF\xBDwith \xEF\xBF\xBD\xEF\xBF\xBD status 1 x"));
    CHECK(last.message.ends_with("[truncated]"));
    CHECK(last.message.size() <= task::kMaxMessageBytes);
}
