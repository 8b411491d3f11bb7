// The runtime end to end: a real PostgreSQL, the fake master over loopback
// HTTP, and mesoflow's Runtime between them. Each test pins one behaviour a
// production framework must have, most of them under a fault.
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"
#include "mesoflow/mesos/recordio.hpp"
#include "mesoflow/scheduler/offer_gate.hpp"
#include "run_checks.hpp"
#include "temp_postgres.hpp"
#include "test_client.hpp"

using namespace std::chrono_literals;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
using mesoflow::testing::quick_master;
using mesoflow::testing::require_every_ack_committed;
using mesoflow::testing::shell_task;
using mesoflow::testing::sleep_runs_until_killed;
namespace fake = mesoflow::fake;
namespace store = mesoflow::store;
namespace task = mesoflow::task;

namespace {

bool all_terminal(Cluster& c, std::int64_t n) {
    return c.count_terminal() == n;
}

// DECLINE calls the master received (from the `from`-th on) whose filter
// refuses for `seconds`.
std::size_t declines_refusing(Cluster& c, double seconds, std::size_t from = 0) {
    std::size_t n = 0;
    const auto declines = c.master().calls_of_type("DECLINE");
    for (std::size_t i = from; i < declines.size(); ++i) {
        const auto body = nlohmann::json::parse(declines[i].body);
        if (body["decline"]["filters"].value("refuse_seconds", -1.0) == Approx(seconds))
            ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("a thousand queued tasks all run to success, each launched once") {
    auto mc = quick_master(10);
    mc.default_task.run_time = 1ms;
    Cluster c(mc);
    c.submit_many(1000, "bulk-", "true");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 1000; }, 120s));
    CHECK(c.master().counters().tasks_launched == 1000);
    CHECK(c.count_in(TaskState::failed) == 0);
    CHECK(c.stop() == 0);
    const auto row = c.task("bulk-7");
    CHECK(row.attempt == 1);
    CHECK(row.mesos_task_id == task::mesos_task_id(row.id, 1));
    CHECK_FALSE(row.agent_id.empty());
    CHECK(row.finished_at_us.has_value());
    require_every_ack_committed(c);
}

TEST_CASE("a failing command ends failed with its exit status and is not retried") {
    auto mc = quick_master();
    mc.task_rules = {fake::TaskRule{"exit 3", "", "", fake::TaskBehavior{0ms, 20ms, 3, false}}};
    Cluster c(mc);
    c.submit(shell_task("fails", "exit 3"));
    c.start();
    REQUIRE(c.eventually([&] { return c.task("fails").state == TaskState::failed; }));
    const auto row = c.task("fails");
    CHECK(row.attempt == 1);
    CHECK(row.exit_status == 3);
    c.stop();
}

TEST_CASE("a kill request kills the running task") {
    Cluster c(sleep_runs_until_killed());
    c.submit(shell_task("victim", "sleep 1000"));
    c.start();
    REQUIRE(c.eventually([&] { return c.task("victim").state == TaskState::running; }));
    auto st = c.store().request_kill("victim");
    REQUIRE(st);
    REQUIRE(c.eventually([&] { return c.task("victim").state == TaskState::killed; }));
    CHECK(c.master().calls_of_type("KILL").size() >= 1);
    c.stop();
}

TEST_CASE("a task over its execution timeout is killed and ends failed with reason timeout") {
    Cluster c(sleep_runs_until_killed());
    auto t = shell_task("slow", "sleep 1000");
    t.timeout_s = 0.5;
    c.submit(t);
    c.start();
    REQUIRE(c.eventually([&] { return task::is_terminal(c.task("slow").state); }));
    const auto row = c.task("slow");
    CHECK(row.state == TaskState::failed);
    CHECK(row.timed_out);
    CHECK(row.reason == "timeout");
    c.stop();
}

TEST_CASE("tasks on a lost agent are retried on another agent with a new attempt") {
    auto mc = sleep_runs_until_killed(2);
    Cluster c(mc);
    // No grace: the agent is gone for good (the fake master forgets its tasks).
    c.config().unreachable_grace_period_s = 0;
    auto t = shell_task("survivor", "sleep 1000");
    t.retry_backoff_s = 0.1;
    c.submit(t);
    c.start();
    REQUIRE(c.eventually([&] { return c.task("survivor").state == TaskState::running; }));
    const auto first = c.task("survivor");
    REQUIRE(c.master().lose_agent(first.agent_id));
    REQUIRE(c.eventually([&] {
        auto r = c.task("survivor");
        return r.attempt == 2 && r.state == TaskState::running;
    }));
    const auto second = c.task("survivor");
    CHECK(second.agent_id != first.agent_id);
    CHECK(second.mesos_task_id == task::mesos_task_id(second.id, 2));
    c.stop();
}

TEST_CASE("a Docker image task is launched with a DOCKER ContainerInfo") {
    Cluster c;
    store::NewTask t;
    t.key = "in-docker";
    t.image = "python:3.11-slim";
    t.containerizer = task::Containerizer::docker;
    t.command = "python -c 'print(42)'";
    t.cpus = 0.5;
    t.mem_mb = 128;
    c.submit(t);
    c.start();
    REQUIRE(c.eventually([&] { return c.task("in-docker").state == TaskState::finished; }));
    const auto accepts = c.master().calls_of_type("ACCEPT");
    REQUIRE_FALSE(accepts.empty());
    const auto body = nlohmann::json::parse(accepts.front().body);
    const auto& task = body["accept"]["operations"][0]["launch"]["task_infos"][0];
    CHECK(task["container"]["type"] == "DOCKER");
    CHECK(task["container"]["docker"]["image"] == "python:3.11-slim");
    CHECK(task["command"]["value"] == "python -c 'print(42)'");
    CHECK(task["command"]["shell"] == true);
    bool has_key_label = false;
    for (const auto& l : task["labels"]["labels"]) {
        if (l["key"] == "mesoflow.key" && l["value"] == "in-docker")
            has_key_label = true;
    }
    CHECK(has_key_label);
    c.stop();
}

TEST_CASE("a Docker task's allowed volume, network and parameter reach the master's ACCEPT") {
    Cluster c;
    c.config().allowed_volume_paths = {"/srv/airflow"};
    c.config().allowed_docker_parameters = {"label"};
    c.config().allowed_networks = {"user"};
    store::NewTask t;
    t.key = "dag-in-docker";
    t.image = "apache/airflow:2.9.0";
    t.command = "airflow tasks run etl extract";
    t.cpus = 0.5;
    t.mem_mb = 128;
    t.volumes = {{"/srv/airflow/dags", "/opt/airflow/dags", true},
                 {"/srv/airflow/logs", "/opt/airflow/logs", false}};
    t.network = task::NetworkMode::user;
    t.network_name = "airflow";
    t.docker_parameters = {{"label", "team=etl"}};
    c.submit(t);
    c.start();
    REQUIRE(c.eventually([&] { return c.task("dag-in-docker").state == TaskState::finished; }));
    const auto accepts = c.master().calls_of_type("ACCEPT");
    REQUIRE_FALSE(accepts.empty());
    const auto body = nlohmann::json::parse(accepts.front().body);
    const auto& container = body["accept"]["operations"][0]["launch"]["task_infos"][0]["container"];
    INFO(container.dump());
    CHECK(container["type"] == "DOCKER");
    CHECK(container["volumes"] == nlohmann::json::parse(R"([
            {"mode": "RO", "container_path": "/opt/airflow/dags", "host_path": "/srv/airflow/dags"},
            {"mode": "RW", "container_path": "/opt/airflow/logs", "host_path": "/srv/airflow/logs"}
          ])"));
    CHECK(container["docker"]["network"] == "USER");
    CHECK(container["docker"]["parameters"] ==
          nlohmann::json::parse(R"([{"key": "label", "value": "team=etl"}])"));
    CHECK(container["network_infos"] == nlohmann::json::parse(R"([{"name": "airflow"}])"));
    c.stop();
}

TEST_CASE(
    "a task asking for a host path the operator does not allow is never launched and ends "
    "failed") {
    Cluster c;
    c.config().allowed_volume_paths = {"/srv/airflow"};
    store::NewTask bad;
    bad.key = "mounts-docker-sock";
    bad.image = "busybox";
    bad.command = "true";
    bad.volumes = {{"/srv/airflow/dags", "/dags", true},
                   {"/var/run/docker.sock", "/var/run/docker.sock", false}};
    bad.priority = 5;  // claimed first: the rest of the queue still runs after it
    const auto bad_id = c.submit(bad);
    store::NewTask good;
    good.key = "mounts-dags";
    good.image = "busybox";
    good.command = "true";
    good.volumes = {{"/srv/airflow/dags", "/dags", true}};
    c.submit(good);
    c.submit(shell_task("plain", "true"));
    c.start();
    REQUIRE(c.eventually([&] {
        return c.task("mounts-docker-sock").state == TaskState::failed &&
               c.task("mounts-dags").state == TaskState::finished &&
               c.task("plain").state == TaskState::finished;
    }));
    const auto row = c.task("mounts-docker-sock");
    CHECK(row.reason == "volume_not_allowed");
    CHECK_THAT(row.message,
               Catch::Contains("volume host_path '/var/run/docker.sock' is not allowed") &&
                   Catch::Contains("allowed_volume_paths"));
    CHECK(row.attempt == 0);
    CHECK(row.agent_id.empty());
    for (const auto& call : c.master().calls_of_type("ACCEPT")) {
        CHECK_THAT(call.body, !Catch::Contains(task::mesos_task_id(bad_id, 1)));
        CHECK_THAT(call.body, !Catch::Contains("docker.sock"));
    }
    c.stop();
}

TEST_CASE(
    "a task whose LIKE / UNLIKE patterns are past the bounds or do not compile is never launched "
    "and ends failed") {
    using Op = task::Constraint::Op;
    Cluster c;
    // One row of 1,400 patterns, none of which compiles within 64 KiB (59 KB
    // of constraints, under the table's 64 KiB): matched on the event loop,
    // each took 25 ms to fail to compile, at every round of offers. Schema 17
    // refuses such a row; this one was written before it, or past its rule.
    store::NewTask many = shell_task("many-patterns", "true");
    for (int i = 0; i < 1400; ++i)
        many.constraints.push_back({"hostname", Op::unlike, "\\pL{500}|x" + std::to_string(i)});
    many.priority = 5;  // claimed first: the rest of the queue still runs after it
    mesoflow::store::testing::Sql sql(c.dsn());
    sql.exec("ALTER TABLE mesoflow.tasks DISABLE TRIGGER tasks_check_constraints");
    const auto many_id = c.submit(many);
    sql.exec("ALTER TABLE mesoflow.tasks ENABLE TRIGGER tasks_check_constraints");
    // One pattern that does not compile: UNLIKE held for it everywhere.
    store::NewTask too_large = shell_task("too-large-pattern", "true");
    too_large.constraints = {{"hostname", Op::unlike, "\\pL{500}"}};
    too_large.priority = 5;
    const auto too_large_id = c.submit(too_large);
    store::NewTask fine = shell_task("fine-pattern", "true");
    fine.constraints = {{"hostname", Op::unlike, "nowhere-.*"}, {"hostname", Op::like, ".+"}};
    c.submit(fine);
    c.submit(shell_task("plain", "true"));
    c.start();
    REQUIRE(c.eventually([&] {
        return c.task("many-patterns").state == TaskState::failed &&
               c.task("too-large-pattern").state == TaskState::failed &&
               c.task("fine-pattern").state == TaskState::finished &&
               c.task("plain").state == TaskState::finished;
    }));
    const auto row = c.task("many-patterns");
    CHECK(row.reason == "invalid_task");
    CHECK_THAT(row.message,
               Catch::StartsWith("constraint 33 of 1400 ('hostname' UNLIKE '\\pL{500}|x32') is "
                                 "refused: one task may have at most 32 LIKE / UNLIKE "
                                 "constraints; this one has 1400"));
    CHECK(row.attempt == 0);
    CHECK(row.agent_id.empty());
    const auto large = c.task("too-large-pattern");
    CHECK(large.reason == "invalid_task");
    CHECK_THAT(large.message,
               Catch::Contains("constraint 1 of 1 ('hostname' UNLIKE '\\pL{500}')") &&
                   Catch::Contains("does not compile within 64 KiB"));
    CHECK(large.attempt == 0);
    for (const auto& call : c.master().calls_of_type("ACCEPT")) {
        CHECK_THAT(call.body, !Catch::Contains(task::mesos_task_id(many_id, 1)));
        CHECK_THAT(call.body, !Catch::Contains(task::mesos_task_id(too_large_id, 1)));
    }
    c.stop();
}

TEST_CASE("a redirect from a non-leading master is followed to the leader") {
    Cluster c;
    fake::FakeMaster standby(quick_master());
    standby.redirect_to(c.master().address());
    c.config().masters = {mesoflow::config::MasterAddress{
        false, standby.host(), static_cast<std::uint16_t>(standby.port())}};
    c.submit(shell_task("redirected", "true"));
    c.start();
    REQUIRE(c.eventually([&] { return c.task("redirected").state == TaskState::finished; }));
    CHECK(standby.counters().calls >= 1);
    CHECK(c.master().counters().subscriptions >= 1);
    c.stop();
}

TEST_CASE("a silent master is detected by the heartbeat watchdog and resubscribed") {
    Cluster c;
    c.start();
    REQUIRE(c.master().wait_until([&] { return c.master().counters().subscriptions == 1; }, 10s));
    const auto fw = c.master().frameworks().front().id;
    c.master().set_silent(true);
    // Three missed 200 ms heartbeats: the runtime drops the stream and subscribes again.
    REQUIRE(c.master().wait_until(
        [&] { return c.master().counters().calls_by_type["SUBSCRIBE"] >= 2; }, 10s));
    c.master().set_silent(false);
    REQUIRE(c.master().wait_until([&] { return c.master().counters().subscriptions >= 2; }, 10s));
    CHECK(c.master().frameworks().size() == 1);
    CHECK(c.master().frameworks().front().id == fw);
    c.submit(shell_task("after-silence", "true"));
    REQUIRE(c.eventually([&] { return c.task("after-silence").state == TaskState::finished; }));
    c.stop();
}

TEST_CASE("a dropped stream is resubscribed with the same framework id and work goes on") {
    auto mc = quick_master();
    mc.default_task.run_time = 300ms;
    Cluster c(mc);
    c.submit_many(20, "drop-", "true");
    c.start();
    REQUIRE(
        c.eventually([&] { return c.count_in(TaskState::running) > 0 || c.count_terminal() > 0; }));
    c.master().drop_streams();
    REQUIRE(c.eventually([&] { return all_terminal(c, 20); }, 60s));
    CHECK(c.count_in(TaskState::finished) == 20);
    CHECK(c.master().frameworks().size() == 1);
    CHECK(c.master().counters().subscriptions >= 2);
    c.stop();
}

TEST_CASE("after a master failover the framework re-subscribes and reconciles its tasks") {
    auto mc = quick_master();
    mc.task_rules = {fake::TaskRule{"sleep", "", "", fake::TaskBehavior{0ms, 1500ms, 0, false}}};
    Cluster c(mc);
    c.submit_many(5, "failover-", "sleep 1");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::running) == 5; }));
    const auto fw = c.master().frameworks().front().id;
    c.master().fail_over();
    REQUIRE(c.eventually([&] { return all_terminal(c, 5); }, 60s));
    CHECK(c.count_in(TaskState::finished) == 5);
    CHECK(c.master().frameworks().front().id == fw);
    CHECK_FALSE(c.master().calls_of_type("RECONCILE").empty());
    // Nothing was launched twice.
    CHECK(c.master().counters().tasks_launched == 5);
    c.stop();
}

TEST_CASE("a master answering 503 at start is retried until it subscribes") {
    Cluster c;
    c.master().answer_unavailable_requests(4);
    c.submit(shell_task("patient", "true"));
    c.start();
    REQUIRE(c.eventually([&] { return c.task("patient").state == TaskState::finished; }));
    CHECK(c.master().counters().calls_rejected >= 4);
    c.stop();
}

TEST_CASE("rescinded offers lose no task") {
    auto mc = quick_master();
    mc.default_task.run_time = 20ms;
    Cluster c(mc);
    c.submit_many(50, "rescind-", "true");
    c.start();
    for (int i = 0; i < 5; ++i) {
        c.master().rescind_all_offers();
        std::this_thread::sleep_for(30ms);
    }
    REQUIRE(c.eventually([&] { return all_terminal(c, 50); }, 60s));
    CHECK(c.count_in(TaskState::finished) == 50);
    c.stop();
}

TEST_CASE(
    "offers meeting a backlog of updates are held until the clock passes the hold limit, "
    "then go back with a short filter; nothing launches until the backlog commits") {
    Cluster c(sleep_runs_until_killed(5));
    mesoflow::runtime::ManualTime clock;
    c.seams().time = &clock;
    // One waiting update is a full batch.
    c.config().update_batch = 1;
    c.config().launch_window = 100000;
    for (int i = 0; i < 5; ++i)
        c.submit(shell_task("first-" + std::to_string(i), "sleep 1000"));
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::running) == 5; }));
    // Another session holds the history table: the next updates cannot
    // commit, so they wait, and the offers for the next tasks meet that
    // backlog. (A row lock would not do: its updates are skipped, kept
    // back, and the lane goes on.)
    mesoflow::store::testing::Sql producer(c.dsn());
    producer.exec("BEGIN");
    producer.exec("LOCK TABLE mesoflow.task_history IN SHARE MODE");
    for (int i = 1; i <= 5; ++i)
        REQUIRE(c.master().finish_task(task::mesos_task_id(i, 1)));
    REQUIRE(c.eventually([&] { return c.runtime().metrics().updates_waiting.load() >= 1; }));
    const auto declines_before = c.master().calls_of_type("DECLINE").size();
    c.submit_many(20, "later-", "true");
    auto short_declines = [&] { return declines_refusing(c, 0.02, declines_before); };
    // Offers are held while the clock stands still, however long that takes.
    REQUIRE(c.eventually([&] { return c.runtime().metrics().offers_held.load() >= 1; }));
    std::this_thread::sleep_for(200ms);
    CHECK(short_declines() == 0);
    CHECK(c.runtime().metrics().offers_held.load() >= 1);
    // Past the hold limit they go back with the 0.02 s filter, and come again.
    clock.advance(2ms);
    REQUIRE(c.master().wait_until([&] { return short_declines() >= 1; }, 15s));
    CHECK(c.master().counters().tasks_launched == 5);
    // The blocked commit fails (its connection is cut) and is retried; still
    // nothing launches until the table is free.
    producer.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name LIKE 'mesoflow-updates-%'");
    REQUIRE(c.eventually([&] { return c.runtime().metrics().db_errors.load() >= 1; }));
    CHECK(c.master().counters().tasks_launched == 5);
    CHECK(c.count_in(TaskState::finished) == 0);
    producer.exec("COMMIT");
    // Offers held again for the backlog go back only as the clock moves.
    REQUIRE(c.eventually(
        [&] {
            clock.advance(2ms);
            return c.count_in(TaskState::finished) == 25;
        },
        60s));
    CHECK(c.stop() == 0);
    CHECK(c.master().counters().tasks_launched == 25);
    require_every_ack_committed(c);
}

TEST_CASE("status updates commit on update_connections lanes, each task's updates in order") {
    Cluster c(quick_master(5));
    c.config().update_connections = 3;
    c.submit_many(60, "lane-", "true");
    c.start();
    REQUIRE(c.eventually([&] { return all_terminal(c, 60); }, 60s));
    CHECK(c.count_in(TaskState::finished) == 60);
    // Three connections of their own, named after their lanes.
    mesoflow::store::testing::Sql sql(c.dsn());
    CHECK(sql.count("SELECT count(DISTINCT application_name) FROM pg_stat_activity"
                    " WHERE application_name LIKE 'mesoflow-updates-%'") == 3);
    c.stop();
    // Every update applied, none stale or out of order: a task's updates
    // always went through the same lane.
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history"
                    " WHERE kind = 'update' AND outcome <> 'applied'") == 0);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history h JOIN mesoflow.task_history l"
                    " ON l.task_id = h.task_id AND l.kind = 'update' AND h.kind = 'update'"
                    " AND l.id > h.id AND h.mesos_state = 'TASK_FINISHED'") == 0);
    require_every_ack_committed(c);
}

TEST_CASE(
    "offers the launch window left unused come back soon: a short filter for enough of "
    "them, refuse_seconds for the rest") {
    auto mc = quick_master(10);
    mc.default_task.run_time = 20ms;
    Cluster c(mc);
    // Two launches at a time; a long refuse_seconds would strand the queue.
    c.config().launch_window = 2;
    c.config().refuse_s = 30;
    c.submit_many(40, "window-", "true");
    c.start();
    REQUIRE(c.eventually([&] { return all_terminal(c, 40); }, 30s));
    CHECK(c.count_in(TaskState::finished) == 40);
    CHECK(declines_refusing(c, 0.02) >= 1);
    CHECK(declines_refusing(c, 30) >= 1);
    c.stop();
}

TEST_CASE("malformed and oversized records drop the stream, and mesoflow resubscribes") {
    Cluster c;
    c.start();
    REQUIRE(c.master().wait_until([&] { return c.master().counters().subscriptions == 1; }, 10s));
    c.master().inject_malformed_record();
    c.master().inject_oversized_length();
    c.submit(shell_task("after-garbage", "true"));
    REQUIRE(c.eventually([&] { return c.task("after-garbage").state == TaskState::finished; }));
    CHECK(c.runtime().metrics().disconnects.load() >= 1);
    c.stop();
}

TEST_CASE("an unknown event type is logged and skipped") {
    Cluster c;
    c.start();
    REQUIRE(c.master().wait_until([&] { return c.master().counters().subscriptions == 1; }, 10s));
    c.master().inject_stream_bytes(
        mesoflow::mesos::encode_record(R"({"type":"SOMETHING_NEW","something_new":{"x":1}})"));
    c.submit(shell_task("after-unknown", "true"));
    REQUIRE(c.eventually([&] { return c.task("after-unknown").state == TaskState::finished; }));
    CHECK(c.runtime().metrics().disconnects.load() == 0);
    c.stop();
}

// PostgreSQL restarted, or down for `down`, while 200 tasks run: the lock
// goes with the server, so the leadership ends at once (nothing more is
// sent), and the same process takes it back when the database returns,
// resubscribes with the same framework id and reconciles. Every task ends
// finished, none launched twice, every acknowledgement after its commit.
void ride_out_database_outage(std::chrono::milliseconds down) {
    auto mc = quick_master(5);
    mc.default_task.run_time = 100ms;
    Cluster c(mc);
    c.config().leader_lease_s = 3;
    c.submit_many(200, "dbout-", "true");
    c.start();
    REQUIRE(c.eventually([&] { return c.count_terminal() >= 20; }, 60s));
    const auto lost_before = c.runtime().metrics().leadership_lost.load();
    if (down.count() == 0) {
        mesoflow::testing::TempPostgres::shared().restart();
        // The lock's connection ends with the server: noticed at once.
        REQUIRE(c.eventually(
            [&] { return c.runtime().metrics().leadership_lost.load() > lost_before; }, 30s));
    } else {
        mesoflow::testing::TempPostgres::shared().stop();
        // Leadership ends with the lock's connection: well within the outage.
        const auto until = std::chrono::steady_clock::now() + down;
        bool fenced = false;
        bool stream_closed = false;  // the master sees the scheduler gone
        while (std::chrono::steady_clock::now() < until) {
            fenced = fenced || c.runtime().metrics().leader.load() == 0;
            const auto frameworks = c.master().frameworks();
            stream_closed = stream_closed || (!frameworks.empty() && !frameworks.front().connected);
            CHECK(c.running());
            std::this_thread::sleep_for(100ms);
        }
        CHECK(fenced);
        CHECK(stream_closed);
        mesoflow::testing::TempPostgres::shared().start();
    }
    // The same process leads again and schedules: work queued after the
    // outage runs too.
    const auto& m = c.runtime().metrics();
    REQUIRE(
        c.eventually([&] { return m.leader.load() == 1 && m.leadership_terms.load() >= 2; }, 60s));
    // The test's own connection went with the server: the first use finds
    // that out, the next reconnects.
    (void)c.store().pending_count();
    c.submit_many(50, "after-dbout-", "true");
    REQUIRE(c.eventually([&] { return all_terminal(c, 250); }, 180s));
    CHECK(c.running());  // the process never stopped
    CHECK(c.count_in(TaskState::finished) == 250);
    CHECK(m.leadership_lost.load() > lost_before);
    // One framework throughout: every subscription named the first id.
    std::set<std::string> ids;
    for (const auto& f : c.master().frameworks())
        ids.insert(f.id);
    CHECK(ids.size() == 1);
    std::map<std::string, int> launches;
    for (const auto& call : c.master().calls_of_type("ACCEPT")) {
        const auto body = nlohmann::json::parse(call.body);
        for (const auto& op : body["accept"]["operations"]) {
            if (op.contains("launch")) {
                for (const auto& t : op["launch"]["task_infos"])
                    launches[t["task_id"]["value"].get<std::string>()]++;
            }
        }
    }
    // Each task launched once: one launch of one attempt (an attempt claimed
    // but never sent goes back under a new id, and that one alone launches).
    std::map<std::int64_t, int> per_task;
    for (const auto& [id, n] : launches) {
        INFO("task " << id);
        CHECK(n == 1);
        auto parsed = task::parse_mesos_task_id(id);
        REQUIRE(parsed);
        per_task[parsed->first] += n;
    }
    CHECK(per_task.size() == 250);
    for (const auto& [task_id, n] : per_task) {
        INFO("task row " << task_id);
        CHECK(n == 1);
    }
    require_every_ack_committed(c);
    CHECK(c.stop() == mesoflow::runtime::kExitOk);
}

TEST_CASE("a database restart mid-flight: the process stays up, nothing acknowledged early") {
    ride_out_database_outage(0ms);
}

TEST_CASE("the database down for 20 s under load: the process stays up and every task finishes") {
    ride_out_database_outage(20s);
}

TEST_CASE("with nothing pending the framework suppresses offers, and new work revives them") {
    Cluster c;
    c.start();
    REQUIRE(
        c.master().wait_until([&] { return !c.master().calls_of_type("SUPPRESS").empty(); }, 10s));
    c.submit(shell_task("wake-up", "true"));
    REQUIRE(c.master().wait_until([&] { return !c.master().calls_of_type("REVIVE").empty(); }, 5s));
    REQUIRE(c.eventually([&] { return c.task("wake-up").state == TaskState::finished; }));
    c.stop();
}

TEST_CASE(
    "nothing launches until a new framework id is committed, and its save is retried "
    "until it commits") {
    Cluster c(quick_master(2));
    mesoflow::store::testing::Sql sql(c.dsn());
    // The database refuses to store any framework id while the switch is on.
    sql.exec("CREATE TABLE public.refuse_save (refuse boolean NOT NULL)");
    sql.exec("INSERT INTO public.refuse_save VALUES (true)");
    sql.exec(
        "CREATE FUNCTION public.refuse_framework_id() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF NEW.framework_id IS NOT NULL AND (SELECT refuse FROM public.refuse_save) THEN"
        " RAISE EXCEPTION 'frameworks table refused by the test'; END IF; RETURN NEW; END $$");
    sql.exec(
        "CREATE TRIGGER refuse_framework_id BEFORE INSERT OR UPDATE ON mesoflow.frameworks"
        " FOR EACH ROW EXECUTE FUNCTION public.refuse_framework_id()");
    c.submit_many(5, "saved-", "true");
    c.start();
    REQUIRE(c.master().wait_until([&] { return !c.master().frameworks().empty(); }, 15s));
    REQUIRE(c.eventually([&] { return c.runtime().metrics().db_errors.load() >= 2; }));
    // Offers came and went; not one ACCEPT under the unsaved id.
    REQUIRE(c.master().wait_until([&] { return c.master().counters().offers_sent >= 2; }, 15s));
    CHECK(c.master().calls_of_type("ACCEPT").empty());
    CHECK(c.count_in(TaskState::finished) == 0);
    sql.exec("UPDATE public.refuse_save SET refuse = false");
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 5; }, 30s));
    auto stored = c.store().load_framework_id("mesoflow");
    REQUIRE(stored);
    REQUIRE(stored->has_value());
    CHECK(**stored == c.master().frameworks().front().id);
    c.stop();
}

TEST_CASE("the framework id is stored and reused by the next run") {
    Cluster c;
    c.start();
    REQUIRE(c.master().wait_until([&] { return c.master().counters().subscriptions == 1; }, 10s));
    const auto fw = c.master().frameworks().front().id;
    REQUIRE(c.eventually([&] {
        auto id = c.store().load_framework_id("mesoflow");
        return id && *id && **id == fw;
    }));
    CHECK(c.stop() == 0);
    c.start();
    REQUIRE(c.master().wait_until([&] { return c.master().counters().subscriptions == 2; }, 10s));
    CHECK(c.master().frameworks().size() == 1);
    CHECK(c.master().frameworks().front().id == fw);
    c.stop();
}

TEST_CASE(
    "mesoflow refuses a database registered to another framework name, and a renamed row "
    "keeps the framework id and its tasks") {
    Cluster c;
    c.submit(shell_task("survives-the-rename", "true"));
    c.start();
    REQUIRE(
        c.eventually([&] { return c.task("survives-the-rename").state == TaskState::finished; }));
    const auto fw = c.master().frameworks().front().id;
    REQUIRE(c.stop() == 0);

    // The operator renames framework_name only: under the new name mesoflow
    // would reconcile the first name's attempts, hear TASK_GONE and launch
    // them again. It stops at once, before the master hears of it.
    c.submit(shell_task("queued-meanwhile", "true"));
    c.config().framework_name = "renamed";
    c.start();
    auto code = c.wait_exit(15s);
    REQUIRE(code);
    CHECK(*code == mesoflow::runtime::kExitFailure);
    CHECK(c.master().counters().subscriptions == 1);
    CHECK(c.task("queued-meanwhile").state == TaskState::pending);

    // The rename the README gives: the framework keeps its id.
    mesoflow::store::testing::Sql sql(c.dsn());
    sql.exec("UPDATE mesoflow.frameworks SET name = 'renamed' WHERE name = 'mesoflow'");
    c.start();
    REQUIRE(c.eventually([&] { return c.task("queued-meanwhile").state == TaskState::finished; }));
    CHECK(c.master().frameworks().size() == 1);
    CHECK(c.master().frameworks().front().id == fw);
    c.stop();
}

TEST_CASE("a framework error from the master stops mesoflow with a non-zero exit") {
    Cluster c;
    c.start();
    REQUIRE(c.master().wait_until([&] { return c.master().counters().subscriptions == 1; }, 10s));
    c.master().inject_stream_bytes(mesoflow::mesos::encode_record(
        R"({"type":"ERROR","error":{"message":"Framework has been removed"}})"));
    auto code = c.wait_exit(10s);
    REQUIRE(code);
    CHECK(*code == mesoflow::runtime::kExitFrameworkError);
    auto id = c.store().load_framework_id("mesoflow");
    REQUIRE(id);
    CHECK_FALSE(id->has_value());
}

namespace {

// A master that wants HTTP Basic credentials, and mesoflow sending `secret`.
fake::FakeMasterConfig master_with_credentials() {
    auto mc = quick_master();
    mc.credentials = {fake::Credential{"mesoflow-principal", "s3cret"}};
    return mc;
}

void authenticate_with(Cluster& c, const std::string& secret) {
    c.config().authenticate = true;
    c.config().principal = "mesoflow-principal";
    c.config().secret = secret;
}

}  // namespace

TEST_CASE("with authentication on, every request carries Basic credentials and tasks run") {
    Cluster c(master_with_credentials());
    authenticate_with(c, "s3cret");
    c.submit(shell_task("authenticated", "true"));
    c.start();
    REQUIRE(c.eventually([&] { return c.task("authenticated").state == TaskState::finished; }));
    CHECK(c.stop() == 0);
    const auto calls = c.master().calls();
    REQUIRE_FALSE(calls.empty());
    for (const auto& call : calls) {
        INFO("call " << call.type << " answered " << call.status);
        CHECK(call.has_authorization);
        CHECK(call.status < 300);
    }
    CHECK(c.master().frameworks().front().principal == "mesoflow-principal");
}

TEST_CASE("wrong credentials stop mesoflow with a framework error and no task is launched") {
    Cluster c(master_with_credentials());
    authenticate_with(c, "wrong");
    c.submit(shell_task("never-runs", "true"));
    c.start();
    auto code = c.wait_exit(20s);
    REQUIRE(code);
    CHECK(*code == mesoflow::runtime::kExitFrameworkError);
    CHECK(c.master().counters().tasks_launched == 0);
    CHECK(c.task("never-runs").state == TaskState::pending);
}

TEST_CASE("another scheduler taking over the framework id stops mesoflow, tasks untouched") {
    Cluster c(sleep_runs_until_killed());
    c.submit(shell_task("keeps-running", "sleep 1000"));
    c.start();
    REQUIRE(c.eventually([&] { return c.task("keeps-running").state == TaskState::running; }));
    const auto fw = c.master().frameworks().front().id;
    auto info = fake::testing::Scheduler::framework_info("mesoflow");
    info["id"] = {{"value", fw}};
    info["failover_timeout"] = 3600;
    fake::testing::Scheduler usurper(c.master().port(), info);
    REQUIRE(usurper.framework_id() == fw);
    auto code = c.wait_exit(10s);
    REQUIRE(code);
    CHECK(*code == mesoflow::runtime::kExitFrameworkError);
    // The task belongs to the framework, which now has another scheduler.
    const auto task = c.master().task(c.task("keeps-running").mesos_task_id);
    REQUIRE(task);
    CHECK(task->state == "TASK_RUNNING");
    // The id stays stored: it is still this framework's, only leased elsewhere.
    auto id = c.store().load_framework_id("mesoflow");
    REQUIRE(id);
    REQUIRE(id->has_value());
    CHECK(**id == fw);
}

namespace {

// A call sink that keeps every call the runtime sends and answers 202.
class RecordingSink final : public mesoflow::runtime::CallSink {
  public:
    void send(std::string call_json,
              std::function<void(const mesoflow::transport::CallResult&)> done,
              bool answers_offer) override {
        {
            std::lock_guard lock(mutex_);
            calls_.push_back({nlohmann::json::parse(call_json), answers_offer});
        }
        mesoflow::transport::CallResult r;
        r.status = 202;
        if (done)
            done(r);
    }
    std::vector<std::pair<nlohmann::json, bool>> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::pair<nlohmann::json, bool>> calls_;
};

}  // namespace

TEST_CASE("a call sink given to the runtime receives every call in the master's place") {
    Cluster c(quick_master(2));
    RecordingSink sink;
    c.seams().calls = &sink;
    const auto id = c.submit(shell_task("sink-1", "true"));
    c.start();
    auto accepts = [&] {
        std::vector<nlohmann::json> out;
        for (const auto& [call, answers_offer] : sink.calls()) {
            if (call["type"] == "ACCEPT") {
                CHECK(answers_offer);
                out.push_back(call);
            }
        }
        return out;
    };
    // Offers answered only in the sink stay outstanding at the master: the
    // test takes them back so that it offers again, until one is accepted.
    REQUIRE(c.master().wait_until(
        [&] {
            if (!accepts().empty())
                return true;
            c.master().rescind_all_offers();
            return false;
        },
        15s));
    const auto accept = accepts().front();
    const auto& launch = accept["accept"]["operations"][0]["launch"]["task_infos"][0];
    CHECK(launch["task_id"]["value"] == task::mesos_task_id(id, 1));
    // The master saw the subscription, but not one call: nothing launched.
    CHECK(c.master().calls_of_type("ACCEPT").empty());
    CHECK(c.master().counters().tasks_launched == 0);
    c.stop();
}

TEST_CASE(
    "work queued right after the queue ran dry runs at once: offers declined with the "
    "idle filter are revived") {
    Cluster c(quick_master(2));
    c.config().poll_interval_s = 600;  // no poll comes to the rescue
    c.config().idle_refuse_s = 3600;
    c.submit(shell_task("dry-a", "true"));
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 1; }));
    // Every agent has been declined with the hour-long idle filter by now.
    REQUIRE(c.master().wait_until([&] { return declines_refusing(c, 3600) >= 2; }, 15s));
    c.submit(shell_task("dry-b", "true"));
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 2; }, 15s));
    CHECK(c.master().calls_of_type("REVIVE").size() >= 1);
    c.stop();
}

TEST_CASE(
    "a revive held back by its minimum interval goes out once the interval is over, not "
    "at the next poll") {
    // One agent: once its offer is declined for an hour, no offer is out.
    Cluster c(quick_master(1));
    mesoflow::runtime::ManualTime clock;
    c.seams().time = &clock;
    c.config().poll_interval_s = 600;  // no poll comes to the rescue
    c.config().idle_refuse_s = 3600;
    auto revives = [&] { return c.master().calls_of_type("REVIVE").size(); };
    auto idle_declines = [&] { return declines_refusing(c, 3600); };
    // No offer out, and none to come: suppressed at the master, or declined
    // for an hour since `declined` (an offer still out would run the next
    // task without a REVIVE, as it should). Which of the two depends on
    // whether the queue looked empty before or after the offer came.
    auto quiet_since = [&](std::size_t declined) {
        const bool quiet = !c.master().frameworks().front().suppressed_roles.empty() ||
                           idle_declines() >= declined + 1;
        return quiet && c.master().offers().empty();
    };
    c.submit(shell_task("gate-a", "true"));
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 1; }));
    REQUIRE(c.master().wait_until([&] { return quiet_since(0); }, 15s));
    // New work after the idle filter or the suppression revives at once...
    const auto declined = idle_declines();
    c.submit(shell_task("gate-b", "true"));
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 2; }));
    REQUIRE(revives() == 1);
    REQUIRE(c.master().wait_until([&] { return quiet_since(declined); }, 15s));
    REQUIRE(c.runtime().metrics().offers_held.load() == 0);
    // ...but not twice within the minimum interval: the clock stands still.
    c.submit(shell_task("gate-c", "true"));
    std::this_thread::sleep_for(300ms);
    CHECK(revives() == 1);
    CHECK(c.count_in(TaskState::finished) == 2);
    // Once the interval is over the held-back REVIVE goes, and the task runs.
    clock.advance(mesoflow::scheduler::kMinReviveInterval);
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 3; }, 15s));
    CHECK(revives() == 2);
    c.stop();
}

namespace {

std::int64_t wall_now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

TEST_CASE(
    "a partitioned agent keeps its task through the grace period; past it the task is "
    "replaced and the old copy is killed when the agent comes back") {
    // Time for the grace period is driven; the database's own now() marks
    // when the attempt went out of reach, so the clock starts at real time.
    mesoflow::runtime::ManualTime clock(wall_now_us());
    Cluster c(sleep_runs_until_killed(2));
    c.seams().time = &clock;
    c.config().reconcile_interval_s = 0.2;
    c.config().unreachable_grace_period_s = 600;
    auto t = shell_task("cut-off", "sleep 1000");
    t.max_attempts = 3;
    t.retry_backoff_s = 0;
    c.submit(t);
    c.start();
    REQUIRE(c.eventually([&] { return c.task("cut-off").state == TaskState::running; }));
    const auto first = c.task("cut-off");
    mesoflow::store::testing::Sql sql(c.dsn());
    const std::string marked =
        "SELECT count(*) FROM mesoflow.tasks WHERE key = 'cut-off' AND unreachable_since IS "
        "NOT NULL";
    auto scans_after = [&](std::uint64_t from) {
        return c.eventually([&] { return c.runtime().metrics().kill_scans >= from + 2; });
    };

    // A partition shorter than the grace period: marked, kept, and cleared
    // when reconciliation hears the task again.
    REQUIRE(c.master().partition_agent(first.agent_id));
    REQUIRE(c.eventually([&] { return sql.count(marked) == 1; }));
    clock.advance(std::chrono::seconds(599));
    REQUIRE(scans_after(c.runtime().metrics().kill_scans));
    CHECK(c.task("cut-off").attempt == 1);
    CHECK(c.task("cut-off").state == TaskState::running);
    REQUIRE(c.master().heal_agent(first.agent_id));
    REQUIRE(c.eventually([&] { return sql.count(marked) == 0; }));
    clock.advance(std::chrono::seconds(3600));
    REQUIRE(scans_after(c.runtime().metrics().kill_scans));
    CHECK(c.task("cut-off").attempt == 1);
    CHECK(c.runtime().metrics().unreachable_replaced == 0);

    // A longer one: replaced once the grace period is over, and the first
    // copy is killed when its agent comes back.
    REQUIRE(c.master().partition_agent(first.agent_id));
    REQUIRE(c.eventually([&] { return sql.count(marked) == 1; }));
    clock.advance(std::chrono::seconds(601));
    REQUIRE(c.eventually([&] {
        const auto now = c.task("cut-off");
        return now.attempt == 2 && now.state == TaskState::running;
    }));
    CHECK(c.task("cut-off").agent_id != first.agent_id);
    CHECK(c.runtime().metrics().unreachable_replaced == 1);
    REQUIRE(c.master().heal_agent(first.agent_id));
    REQUIRE(c.master().wait_until(
        [&] {
            // Gone once killed and acknowledged.
            const auto old = c.master().task(first.mesos_task_id);
            return !old || old->state == "TASK_KILLED";
        },
        15s));
    CHECK_FALSE(c.master().calls_of_type("KILL").empty());
    CHECK(c.task("cut-off").attempt == 2);
    CHECK(c.task("cut-off").state == TaskState::running);
    c.stop();
}

TEST_CASE(
    "an attempt placed and still staging past launch_timeout is killed and retried as a lost "
    "attempt; "
    "the last one ends lost") {
    // The database's own now() marks the placement, so the clock starts at
    // real time and only it moves the timeout.
    mesoflow::runtime::ManualTime clock(wall_now_us());
    auto mc = quick_master(2);
    // The image never pulls: the task stays in STAGING.
    mc.task_rules = {fake::TaskRule{"stuck", "", "", fake::TaskBehavior{24h, 0ms, 0, true}}};
    Cluster c(mc);
    c.seams().time = &clock;
    c.config().launch_timeout_s = 300;
    auto t = shell_task("stuck", "stuck-in-staging");
    t.max_attempts = 2;
    t.retry_backoff_s = 0;
    const auto id = c.submit(t);
    c.start();
    // Placed: the master sends nothing while the task stages.
    auto placed = [&](int attempt) {
        const auto row = c.task("stuck");
        return row.attempt == attempt && row.state == TaskState::launching && !row.agent_id.empty();
    };
    REQUIRE(c.eventually([&] { return placed(1); }));
    // Within its launch timeout nothing happens, however many scans pass.
    const auto scans = c.runtime().metrics().kill_scans.load();
    REQUIRE(c.eventually([&] { return c.runtime().metrics().kill_scans.load() >= scans + 2; }));
    CHECK(placed(1));
    CHECK(c.master().calls_of_type("KILL").empty());
    // Past it: killed, and the kill is a lost attempt, retried. The clock
    // keeps moving, as a real one would: a REVIVE held back by its minimum
    // interval goes once the interval is over.
    clock.advance(301s);
    REQUIRE(c.eventually([&] {
        clock.advance(100ms);
        return placed(2);
    }));
    CHECK(c.master().calls_of_type("KILL").size() >= 1);
    mesoflow::store::testing::Sql sql(c.dsn());
    CHECK(sql.count(
              "SELECT count(*) FROM mesoflow.task_history WHERE task_id = " + std::to_string(id) +
              " AND attempt = 1 AND outcome = 'applied' AND to_state = 'pending'"
              " AND mesos_state = 'TASK_KILLED'") == 1);
    // The second attempt is the last: it ends lost, not failed or killed.
    clock.advance(301s);
    REQUIRE(c.eventually([&] { return task::is_terminal(c.task("stuck").state); }));
    const auto row = c.task("stuck");
    CHECK(row.state == TaskState::lost);
    CHECK(row.reason == "launch_timeout");
    CHECK(row.attempt == 2);
    CHECK_FALSE(row.timed_out);
    CHECK(c.master().counters().tasks_launched == 2);
    c.stop();
}

TEST_CASE(
    "an agent announcing maintenance takes a task over before it starts, never one without a "
    "timeout within the margin") {
    auto mc = quick_master(1);
    // The only agent goes into maintenance ten minutes from now, for an hour.
    mc.agents[0].unavailable_from_ns = (wall_now_us() + 600'000'000) * 1000;
    mc.agents[0].unavailable_for_ns = 3'600'000'000'000;
    Cluster c(mc);
    c.config().maintenance_margin_s = 3600;
    c.config().refuse_s = 0.05;
    c.submit(shell_task("untimed", "true"));
    auto timed = shell_task("timed", "true");
    timed.timeout_s = 60;
    c.submit(timed);
    c.start();
    REQUIRE(c.eventually([&] { return c.task("timed").state == TaskState::finished; }));
    // Offers keep coming from the agent; the untimed task takes none of them.
    const auto offers = c.runtime().metrics().offers_received.load();
    REQUIRE(
        c.eventually([&] { return c.runtime().metrics().offers_received.load() >= offers + 3; }));
    CHECK(c.task("untimed").state == TaskState::launching);
    CHECK(c.task("untimed").agent_id.empty());
    CHECK(c.master().counters().tasks_launched == 1);
    c.stop();
}

TEST_CASE("a task asking to run as root, not an allowed user, is never launched and ends failed") {
    Cluster c;  // framework_user nobody; allowed_users left empty: nobody alone
    auto as_root = shell_task("as-root", "id");
    as_root.user = "root";
    const auto root_id = c.submit(as_root);
    auto as_nobody = shell_task("as-nobody", "id");
    as_nobody.user = "nobody";
    c.submit(as_nobody);
    auto other_role = shell_task("other-role", "id");
    other_role.role = "prod";
    c.submit(other_role);
    c.start();
    REQUIRE(c.eventually([&] {
        return c.task("as-nobody").state == TaskState::finished &&
               c.task("as-root").state == TaskState::failed &&
               c.task("other-role").state == TaskState::failed;
    }));
    const auto row = c.task("as-root");
    CHECK(row.reason == "user_not_allowed");
    CHECK_THAT(row.message, Catch::Contains("run_as_user 'root' is not allowed"));
    CHECK(row.attempt == 0);
    CHECK(c.task("other-role").reason == "role_not_allowed");
    for (const auto& call : c.master().calls_of_type("ACCEPT")) {
        CHECK_THAT(call.body, !Catch::Contains(task::mesos_task_id(root_id, 1)));
        CHECK_THAT(call.body, !Catch::Contains("\"root\""));
    }
    c.stop();
}

namespace {

// Looks at the database at the moment each ACCEPT is handed over, and
// answers 202: every attempt in it must already have its agent recorded.
class PlacementCheckingSink final : public mesoflow::runtime::CallSink {
  public:
    explicit PlacementCheckingSink(const std::string& dsn) : sql_(dsn) {}
    void send(std::string call_json,
              std::function<void(const mesoflow::transport::CallResult&)> done,
              bool /*answers_offer*/) override {
        const auto call = nlohmann::json::parse(call_json);
        if (call["type"] == "ACCEPT") {
            for (const auto& op : call["accept"]["operations"]) {
                for (const auto& info : op["launch"]["task_infos"]) {
                    const std::string id = info["task_id"]["value"];
                    const std::string agent = info["agent_id"]["value"];
                    const auto recorded = sql_.one(
                        "SELECT coalesce(agent_id, '') FROM mesoflow.tasks WHERE mesos_task_id = "
                        "'" +
                        id + "'");
                    std::lock_guard lock(mutex_);
                    ++launched_;
                    if (recorded != agent)
                        unrecorded_.push_back(id + " agent '" + recorded + "'");
                }
            }
        }
        mesoflow::transport::CallResult r;
        r.status = 202;
        if (done)
            done(r);
    }
    int launched() const {
        std::lock_guard lock(mutex_);
        return launched_;
    }
    std::vector<std::string> unrecorded() const {
        std::lock_guard lock(mutex_);
        return unrecorded_;
    }

  private:
    mesoflow::store::testing::Sql sql_;
    mutable std::mutex mutex_;
    int launched_ = 0;
    std::vector<std::string> unrecorded_;
};

}  // namespace

TEST_CASE("an attempt's agent is recorded before its ACCEPT leaves") {
    // A crash between the two must leave a launched attempt with its agent:
    // only an attempt with none provably never reached Mesos.
    Cluster c(quick_master(3));
    PlacementCheckingSink sink(c.dsn());
    c.seams().calls = &sink;
    c.submit_many(30, "placed-first-", "true");
    c.start();
    REQUIRE(c.master().wait_until(
        [&] {
            if (sink.launched() >= 30)
                return true;
            c.master().rescind_all_offers();  // answered only in the sink
            return false;
        },
        30s));
    CHECK(sink.unrecorded() == std::vector<std::string>{});
    mesoflow::store::testing::Sql sql(c.dsn());
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'launch'") == 30);
    c.stop();
}

TEST_CASE(
    "a claimed row deleted or ended by hand before any offer came is given up at placement, "
    "not placed again at every offer") {
    Cluster c(quick_master(1));
    // No agent yet: both tasks are claimed and wait for offers.
    REQUIRE(c.master().lose_agent("agent-0.fake"));
    c.submit(shell_task("deleted", "true"));
    c.submit(shell_task("ended", "true"));
    c.submit(shell_task("runs", "true"));
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::launching) == 3; }));
    mesoflow::store::testing::Sql operator_session(c.dsn());
    operator_session.exec("DELETE FROM mesoflow.tasks WHERE key = 'deleted'");
    operator_session.exec(
        "UPDATE mesoflow.tasks SET state = 'failed', finished_at = now() WHERE key = 'ended'");
    REQUIRE(c.master().restore_agent("agent-0.fake"));
    REQUIRE(c.eventually([&] { return c.task("runs").state == TaskState::finished; }));
    REQUIRE(c.eventually([&] { return c.runtime().metrics().claims_given_up.load() == 2; }));
    // Nothing is left to place: the offers stop meeting a claim.
    REQUIRE(c.eventually([&] { return c.runtime().metrics().claims_held.load() == 0; }));
    CHECK(c.task("ended").state == TaskState::failed);
    CHECK(c.runtime().metrics().tasks_launched.load() == 1);  // only 'runs' reached Mesos
    c.stop();
}

TEST_CASE(
    "a claimed task that waited through offer rounds it did not fit launches with its command, "
    "environment and image intact") {
    Cluster c(sleep_runs_until_killed(1));  // one agent, 8 cpus
    c.config().unplaceable_after_s = 0;     // the row says when a round left it unplaced
    c.submit(shell_task("occupies", "sleep 1000"));
    c.start();
    REQUIRE(c.eventually([&] { return c.task("occupies").state == TaskState::running; }));
    // Needs the whole agent: claimed, first in the window, left out of every
    // round while 'occupies' runs.
    auto waits = shell_task("waits", "sleep 2000 # waited");
    waits.cpus = 8;
    waits.env = {{"WAITED", "yes"}};
    c.submit(waits);
    mesoflow::store::testing::Sql sql(c.dsn());
    REQUIRE(c.eventually([&] {
        return sql.count(
                   "SELECT count(*) FROM mesoflow.tasks WHERE key = 'waits'"
                   " AND state = 'launching' AND reason = 'unplaceable'") == 1;
    }));
    const auto declined = c.runtime().metrics().offers_declined.load();
    REQUIRE(c.eventually([&] { return c.runtime().metrics().offers_declined.load() > declined; }));
    REQUIRE(c.store().request_kill("occupies"));
    REQUIRE(c.eventually([&] { return c.task("waits").state == TaskState::running; }));
    const auto id = c.task("waits").mesos_task_id;
    bool seen = false;
    for (const auto& t : c.master().tasks()) {
        if (t.task_id != id)
            continue;
        seen = true;
        CHECK(t.command == "sleep 2000 # waited");
        const auto env = t.environment.find("WAITED");
        CHECK(env != t.environment.end());
        CHECK((env != t.environment.end() && env->second == "yes"));
    }
    CHECK(seen);
    c.stop();
}

namespace {

// The most attempts one round of offers launched: a round stamps its
// launches with one launched_at.
std::int64_t most_launched_in_a_round(Cluster& c) {
    mesoflow::store::testing::Sql sql(c.dsn());
    return sql.count(
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM mesoflow.tasks"
        " WHERE launched_at IS NOT NULL GROUP BY launched_at) r");
}

}  // namespace

TEST_CASE(
    "on a slow allocation clock the launch window grows past launch_window, up to "
    "launch_window_max; fixed when they are equal") {
    auto mc = quick_master(10);
    // Offers every 500 ms: each allocation's work commits long before the next.
    mc.allocation_interval = 500ms;
    mc.default_task.run_time = 0ms;
    // Runs `tasks` with a window of 4 growing to at most `most`; the window
    // at the end and the most one round launched.
    const auto run = [&](int most, int tasks, const std::string& prefix) {
        Cluster c(mc);
        c.config().launch_window = 4;
        c.config().launch_window_max = most;
        c.config().claim_batch = 4;
        // Acknowledgements on a slow machine never halve it here.
        c.config().commit_latency_target_s = 600;
        c.submit_many(tasks, prefix, "true");
        c.start();
        REQUIRE(c.eventually([&] { return all_terminal(c, tasks); }, 60s));
        CHECK(c.count_in(TaskState::finished) == tasks);
        require_every_ack_committed(c);
        const auto window = c.runtime().metrics().launch_window.load();
        const auto most_in_a_round = most_launched_in_a_round(c);
        c.stop();
        return std::pair{window, most_in_a_round};
    };
    SECTION("adaptive") {
        // 4, 8, 16, 32, then 64 a round: never more than the most.
        CHECK(run(64, 300, "grow-") == std::pair<std::int64_t, std::int64_t>{64, 64});
    }
    SECTION("fixed") {
        const auto [window, most_in_a_round] = run(4, 24, "fixed-");
        CHECK(window == 4);
        CHECK(most_in_a_round <= 4);
    }
}
