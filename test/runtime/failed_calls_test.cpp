// Calls the master did not take, or whose fate is unknown, end to end: each
// failure gets its repair (scheduler/call_repair.hpp), against the fake
// master over real HTTP. Where a repair waits, the test drives the clock (in
// steps, until the repair shows: the failure may reach the runtime after the
// master recorded it).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"
#include "mesoflow/runtime/seams.hpp"
#include "mesoflow/scheduler/call_repair.hpp"

using namespace std::chrono_literals;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
using mesoflow::testing::quick_master;
namespace fake = mesoflow::fake;
namespace store = mesoflow::store;
namespace task = mesoflow::task;
using json = nlohmann::json;

namespace {

// A shell task retried at once, `max_attempts` in all.
store::NewTask retried_task(const std::string& key, const std::string& command,
                            int max_attempts = 1) {
    auto t = mesoflow::testing::shell_task(key, command);
    t.max_attempts = max_attempts;
    t.retry_backoff_s = 0;
    return t;
}

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

// RECONCILE calls the master took that name this task with an agent.
std::size_t reconciles_naming(Cluster& c, const std::string& mesos_task_id) {
    std::size_t n = 0;
    for (const auto& call : c.master().calls_of_type("RECONCILE")) {
        if (call.status != 202)
            continue;
        const auto body = json::parse(call.body);
        for (const auto& t : body["reconcile"].value("tasks", json::array())) {
            if (t["task_id"]["value"] == mesos_task_id && t.contains("agent_id") &&
                !t["agent_id"]["value"].get<std::string>().empty())
                ++n;
        }
    }
    return n;
}

std::vector<fake::RecordedCall> calls_answered(Cluster& c, const std::string& type, int status) {
    std::vector<fake::RecordedCall> out;
    for (auto& call : c.master().calls_of_type(type)) {
        if (call.status == status)
            out.push_back(std::move(call));
    }
    return out;
}

}  // namespace

TEST_CASE(
    "an ACCEPT whose answer never came is not sent again: its task is reconciled with its "
    "agent and runs once") {
    Cluster c(quick_master(2));
    // The master launches the task, then the connection dies before the answer.
    c.master().fail_calls("ACCEPT", 1, fake::CallFault{fake::CallFaultKind::drop_after});
    const auto id = c.submit(retried_task("answer-lost", "true", 3));
    const auto first = task::mesos_task_id(id, 1);
    c.start();
    REQUIRE(c.eventually([&] { return c.task("answer-lost").state == TaskState::finished; }));
    REQUIRE(c.master().wait_until([&] { return reconciles_naming(c, first) >= 1; }, 15s));
    CHECK(accepts_naming(c, first) == 1);
    CHECK(c.task("answer-lost").attempt == 1);
    CHECK(c.master().counters().tasks_launched == 1);
    CHECK(c.runtime().metrics().calls_failed.load() >= 1);
    c.stop();
}

TEST_CASE("a drop answering a repeated ACCEPT does not launch the running task again") {
    auto mc = quick_master(2);
    mc.task_rules = {fake::TaskRule{"sleep", "", "", fake::TaskBehavior{0ms, 0ms, 0, true}}};
    Cluster c(mc);
    // As a proxy resending it would: the second copy finds its offer used and
    // the master answers TASK_DROPPED (REASON_INVALID_OFFERS) for the task
    // the first copy launched.
    c.master().fail_calls("ACCEPT", 1, fake::CallFault{fake::CallFaultKind::repeat});
    const auto id = c.submit(retried_task("repeated", "sleep 1000", 3));
    const auto first = task::mesos_task_id(id, 1);
    c.start();
    REQUIRE(c.eventually([&] { return c.task("repeated").state == TaskState::running; }));
    REQUIRE(c.master().wait_until([&] { return reconciles_naming(c, first) >= 1; }, 15s));
    // The drop was recorded, settled nothing, and the master was asked.
    mesoflow::store::testing::Sql sql(c.dsn());
    REQUIRE(c.eventually([&] {
        return sql.count(
                   "SELECT count(*) FROM mesoflow.task_history WHERE mesos_state ="
                   " 'TASK_DROPPED' AND outcome = 'unsettled'") == 1;
    }));
    REQUIRE(c.master().finish_task(first));
    REQUIRE(c.eventually([&] { return c.task("repeated").state == TaskState::finished; }));
    CHECK(c.task("repeated").attempt == 1);
    CHECK(c.master().counters().tasks_launched == 1);
    CHECK(accepts_naming(c, task::mesos_task_id(id, 2)) == 0);
    c.stop();
}

TEST_CASE(
    "offers rescinded under three ACCEPTs in a row count no attempt: the task, dropped each "
    "time and unknown to the master, runs on the fourth") {
    Cluster c(quick_master(2));
    // Each ACCEPT meets its offers just rescinded: the master drops its task
    // (REASON_INVALID_OFFERS) and, asked, does not know it.
    c.master().fail_calls("ACCEPT", 3, fake::CallFault{fake::CallFaultKind::rescind_first});
    const auto id = c.submit(retried_task("raced", "true", 1));
    c.start();
    REQUIRE(c.eventually([&] { return task::is_terminal(c.task("raced").state); }));
    const auto row = c.task("raced");
    CHECK(row.state == TaskState::finished);
    CHECK(row.attempt == 4);
    CHECK(c.master().counters().tasks_launched == 1);
    mesoflow::store::testing::Sql sql(c.dsn());
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE task_id = " +
                    std::to_string(id) + " AND outcome = 'unsettled'") == 3);
    CHECK(sql.count("SELECT unlaunched_attempts FROM mesoflow.tasks WHERE id = " +
                    std::to_string(id)) == 3);
    c.stop();
}

TEST_CASE(
    "an ACCEPT refused with 503 launched nothing: its task, unknown to the master, runs "
    "again without the attempt counted") {
    Cluster c(quick_master(2));
    c.master().fail_calls("ACCEPT", 1, fake::CallFault{fake::CallFaultKind::status, 503});
    const auto id = c.submit(retried_task("refused", "true", 1));
    c.start();
    REQUIRE(c.eventually([&] { return c.task("refused").state == TaskState::finished; }));
    CHECK(reconciles_naming(c, task::mesos_task_id(id, 1)) >= 1);
    // One attempt allowed, and it is the second that ran: the first never counted.
    CHECK(c.task("refused").attempt == 2);
    mesoflow::store::testing::Sql sql(c.dsn());
    CHECK(sql.count("SELECT unlaunched_attempts FROM mesoflow.tasks WHERE id = " +
                    std::to_string(id)) == 1);
    CHECK(c.master().counters().tasks_launched == 1);
    c.stop();
}

TEST_CASE("a REVIVE answered 503 goes again once its back-off is over, and the work runs") {
    Cluster c(quick_master(2));
    mesoflow::runtime::ManualTime clock;
    c.seams().time = &clock;
    c.config().poll_interval_s = 600;  // no poll comes to the rescue
    c.start();
    REQUIRE(
        c.master().wait_until([&] { return !c.master().calls_of_type("SUPPRESS").empty(); }, 15s));
    c.master().fail_calls("REVIVE", 1);
    c.submit(retried_task("revived", "true"));
    REQUIRE(c.master().wait_until([&] { return !calls_answered(c, "REVIVE", 503).empty(); }, 15s));
    // The clock stands still: the back-off is not over, nothing more goes.
    std::this_thread::sleep_for(300ms);
    CHECK(c.master().calls_of_type("REVIVE").size() == 1);
    CHECK(c.task("revived").state != TaskState::finished);
    REQUIRE(c.eventually(
        [&] {
            clock.advance(mesoflow::scheduler::kCallRetryMin);
            return !calls_answered(c, "REVIVE", 202).empty();
        },
        15s));
    REQUIRE(c.eventually([&] { return c.task("revived").state == TaskState::finished; }));
    c.stop();
}

TEST_CASE("a SUPPRESS answered 503 goes again once its back-off is over") {
    Cluster c(quick_master(2));
    mesoflow::runtime::ManualTime clock;
    c.seams().time = &clock;
    c.master().fail_calls("SUPPRESS", 1);
    c.start();
    REQUIRE(
        c.master().wait_until([&] { return !calls_answered(c, "SUPPRESS", 503).empty(); }, 15s));
    auto suppressed = [&] {
        const auto frameworks = c.master().frameworks();
        return !frameworks.empty() && !frameworks.front().suppressed_roles.empty();
    };
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(suppressed());
    REQUIRE(c.eventually(
        [&] {
            clock.advance(mesoflow::scheduler::kCallRetryMin);
            return suppressed();
        },
        15s));
    CHECK(calls_answered(c, "SUPPRESS", 202).size() == 1);
    c.stop();
}

TEST_CASE("a DECLINE answered 503 goes again once its back-off is over, and the offer goes back") {
    Cluster c(quick_master(1));
    mesoflow::runtime::ManualTime clock;
    c.seams().time = &clock;
    c.master().fail_calls("DECLINE", 1);
    c.start();
    REQUIRE(c.master().wait_until([&] { return !calls_answered(c, "DECLINE", 503).empty(); }, 15s));
    const auto refused = json::parse(calls_answered(c, "DECLINE", 503).front().body);
    const std::string offer = refused["decline"]["offer_ids"][0]["value"];
    auto outstanding = [&] {
        for (const auto& o : c.master().offers()) {
            if (o.id == offer)
                return true;
        }
        return false;
    };
    std::this_thread::sleep_for(300ms);
    CHECK(outstanding());
    REQUIRE(c.eventually(
        [&] {
            clock.advance(mesoflow::scheduler::kCallRetryMin);
            return !outstanding();
        },
        15s));
    bool declined_again = false;
    for (const auto& call : calls_answered(c, "DECLINE", 202)) {
        if (json::parse(call.body)["decline"]["offer_ids"][0]["value"] == offer)
            declined_again = true;
    }
    CHECK(declined_again);
    c.stop();
}

TEST_CASE("an ACKNOWLEDGE answered 503 goes again, before the agent would redeliver") {
    auto mc = quick_master(1);
    // The agent would redeliver an unacknowledged update only after a minute.
    mc.update_retry_min = 60s;
    mc.update_retry_max = 60s;
    mc.task_rules = {fake::TaskRule{"sleep", "", "", fake::TaskBehavior{0ms, 0ms, 0, true}}};
    Cluster c(mc);
    mesoflow::runtime::ManualTime clock;
    c.seams().time = &clock;
    c.master().fail_calls("ACKNOWLEDGE", 1);
    const auto id = c.submit(retried_task("acked", "sleep 1000"));
    const auto mesos_id = task::mesos_task_id(id, 1);
    c.start();
    REQUIRE(
        c.master().wait_until([&] { return !calls_answered(c, "ACKNOWLEDGE", 503).empty(); }, 15s));
    // Every update of the task is acknowledged: nothing waits at the agent.
    REQUIRE(c.eventually(
        [&] {
            clock.advance(mesoflow::scheduler::kCallRetryMin);
            const auto t = c.master().task(mesos_id);
            return t && t->last_sent_state == "TASK_RUNNING" && t->pending_updates == 0;
        },
        15s));
    CHECK(c.master().counters().updates_redelivered == 0);
    REQUIRE(c.master().finish_task(mesos_id));
    REQUIRE(c.eventually([&] { return c.task("acked").state == TaskState::finished; }));
    c.stop();
}
