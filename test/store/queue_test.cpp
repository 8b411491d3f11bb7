// The scheduler's side of the queue: the pending window, claiming launches
// (also against a second mesoflow and concurrent producers), a crash between
// the launch record and ACCEPT, kills, timeouts, reconciliation pages, the
// framework row, the leader lock and NOTIFY.
#include <poll.h>

#include <atomic>
#include <barrier>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>

#include "mesoflow/store/leader_lock.hpp"
#include "mesoflow/store/task_listener.hpp"
#include "store_fixture.hpp"

using namespace mesoflow::store;
using namespace mesoflow::task;
using namespace mesoflow::store::testing;

namespace {
constexpr std::chrono::milliseconds kLease{15000};
}  // namespace

TEST_CASE("fetch_pending returns a bounded window by priority, then age, then id") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, priority, created_at) VALUES"
        " ('old-low', 'x', 0, now() - interval '1 hour'),"
        " ('new-high', 'x', 5, now()),"
        " ('old-high', 'x', 5, now() - interval '1 hour'),"
        " ('new-low', 'x', 0, now()),"
        " ('later', 'x', 9, now()),"
        " ('killed', 'x', 9, now())");
    sql.exec(
        "UPDATE mesoflow.tasks SET not_before = now() + interval '1 hour' WHERE key = 'later'");
    sql.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE key = 'killed'");
    auto all = store.fetch_pending(100);
    REQUIRE(all.ok());
    std::vector<std::string> keys;
    for (const auto& t : *all)
        keys.push_back(t.key);
    CHECK(keys == std::vector<std::string>{"old-high", "new-high", "old-low", "new-low"});
    CHECK(store.fetch_pending(2)->size() == 2);
    CHECK(store.pending_count().value() == 4);
    // Every pending row, the one backing off too.
    CHECK(store.pending_look().value().total ==
          sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'pending'"));
    CHECK(store.pending_look().value().total >= 5);
    const auto retry_at = store.next_retry_at_us();
    REQUIRE(retry_at.ok());
    REQUIRE(retry_at->has_value());
    CHECK(**retry_at > now_us() + 3500LL * 1000000);
}

TEST_CASE("a fetched task carries everything needed to launch it") {
    TaskStore store(migrated_database());
    NewTask t;
    t.key = "full";
    t.argv = {"python3", "-c", "print('hi \"there\"')"};
    t.image = "python:3.11";
    t.force_pull = true;
    t.cpus = 0.5;
    t.mem_mb = 1024;
    t.disk_mb = 2048;
    t.gpus = 1;
    t.ports = 2;
    t.env = {{"A", "1"}, {"PATH", "/bin:/usr/bin"}};
    t.uris = {"https://example.com/a.tar.gz"};
    t.user = "airflow";
    t.labels = {{"dag", "etl"}};
    t.role = "batch";
    t.constraints = {{"hostname", Constraint::Op::like, "agent-.*"},
                     {"rack", Constraint::Op::exists, ""}};
    t.priority = 7;
    t.timeout_s = 30;
    REQUIRE(store.insert_task(t).ok());
    auto shell = shell_task("shell", "echo $HOME");
    shell.containerizer = Containerizer::none;
    REQUIRE(store.insert_task(shell).ok());

    auto fetched = store.fetch_pending(10);
    REQUIRE(fetched.ok());
    REQUIRE(fetched->size() == 2);
    const TaskSpec& s = fetched->at(0);
    CHECK(s.key == "full");
    CHECK(s.attempt == 0);
    CHECK_FALSE(s.shell_command);
    CHECK(s.argv == t.argv);
    CHECK(s.image == "python:3.11");
    CHECK(s.containerizer == Containerizer::docker);
    CHECK(s.force_pull);
    CHECK(s.cpus == 0.5);
    CHECK(s.mem_mb == 1024);
    CHECK(s.disk_mb == 2048);
    CHECK(s.gpus == 1);
    CHECK(s.ports == 2);
    CHECK(s.env == t.env);
    CHECK(s.uris == t.uris);
    CHECK(s.user == "airflow");
    CHECK(s.labels == t.labels);
    CHECK(s.role == "batch");
    REQUIRE(s.constraints.size() == 2);
    CHECK(s.constraints[0].op == Constraint::Op::like);
    CHECK(s.constraints[1].attribute == "rack");
    CHECK(s.priority == 7);
    CHECK(s.timeout_s == 30);
    CHECK(s.created_at_us > 0);
    const TaskSpec& sh = fetched->at(1);
    CHECK(sh.shell_command == "echo $HOME");
    CHECK(sh.containerizer == Containerizer::none);
    CHECK(sh.cpus == 1);
    CHECK(sh.mem_mb == 256);
}

TEST_CASE("volumes, network and Docker parameters come back from the queue as queued") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    NewTask docker;
    docker.key = "docker";
    docker.image = "apache/airflow:2.9.0";
    docker.volumes = {{"/srv/airflow/dags", "/opt/airflow/dags", true},
                      {"/srv/airflow/logs", "/opt/airflow/logs", false}};
    docker.network = NetworkMode::user;
    docker.network_name = "airflow";
    docker.docker_parameters = {{"label", "team=etl"}, {"log-driver", "json-file"}};
    REQUIRE(store.insert_task(docker).ok());
    NewTask mesos;
    mesos.key = "mesos";
    mesos.image = "busybox";
    mesos.containerizer = Containerizer::mesos;
    mesos.network = NetworkMode::host;
    REQUIRE(store.insert_task(mesos).ok());
    REQUIRE(store.insert_task(shell_task("plain")).ok());
    // A producer writing the column without "mode" gets a read-only mount.
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, image, volumes, created_at) VALUES ('no-mode', 'busybox',"
        " '[{\"host_path\": \"/data\", \"container_path\": \"/in\"}]', now() + interval '1 s')");
    CHECK(sql.one("SELECT volumes::text FROM mesoflow.tasks WHERE key = 'docker'") ==
          R"([{"mode": "RO", "host_path": "/srv/airflow/dags", "container_path": )"
          R"("/opt/airflow/dags"}, {"mode": "RW", "host_path": "/srv/airflow/logs", )"
          R"("container_path": "/opt/airflow/logs"}])");

    auto claimed = store.claim_pending(10);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 4);
    const TaskSpec& d = claimed->at(0);
    CHECK(d.key == "docker");
    CHECK(d.volumes == docker.volumes);
    CHECK(d.network == NetworkMode::user);
    CHECK(d.network_name == "airflow");
    CHECK(d.docker_parameters == docker.docker_parameters);
    const TaskSpec& m = claimed->at(1);
    CHECK(m.key == "mesos");
    CHECK(m.volumes.empty());
    CHECK(m.network == NetworkMode::host);
    CHECK(m.network_name.empty());
    CHECK(m.docker_parameters.empty());
    const TaskSpec& p = claimed->at(2);
    CHECK(p.key == "plain");
    CHECK(p.network == NetworkMode::unset);
    const TaskSpec& n = claimed->at(3);
    CHECK(n.key == "no-mode");
    CHECK(n.volumes == std::vector<Volume>{{"/data", "/in", true}});
}

TEST_CASE("a launch is recorded with its Mesos task id before ACCEPT, and only once") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    const auto id = store.insert_task(shell_task("t")).value();
    auto claimed = store.record_launches({launch_of(id, 1, "offer-1", "agent-7")});
    REQUIRE(claimed.ok());
    CHECK(claimed->at(0));
    CHECK(sql.one("SELECT concat_ws(',', state, attempt, mesos_task_id, agent_id, hostname,"
                  " offer_id, launched_at IS NOT NULL) FROM mesoflow.tasks") ==
          "launching,1,mf-" + std::to_string(id) + "-1,agent-7,agent-1.example,offer-1,t");
    CHECK(sql.one("SELECT kind || ',' || to_state || ',' || note FROM mesoflow.task_history") ==
          "launch,launching,offer offer-1");
    CHECK(store.fetch_pending(10)->empty());

    // Retrying the same batch (its commit was not seen) claims it again; a
    // different offer, or another attempt number, does not.
    CHECK(store.record_launches({launch_of(id, 1, "offer-1", "agent-7")})->at(0));
    CHECK_FALSE(store.record_launches({launch_of(id, 1, "offer-2")})->at(0));
    CHECK_FALSE(store.record_launches({launch_of(id, 2, "offer-2")})->at(0));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'launch'") == 1);

    auto bad = launch_of(id, 1);
    bad.mesos_task_id = "mf-x";
    CHECK_FALSE(store.record_launches({bad}).ok());
}

TEST_CASE("two mesoflow processes racing to launch the same tasks: exactly one wins each") {
    const std::string dsn = migrated_database();
    constexpr std::size_t kRegular = 300;  // plus one task both claim at once
    constexpr std::size_t kTasks = kRegular + 1;
    constexpr std::size_t kBatch = 10;
    constexpr std::size_t kRounds = kRegular / kBatch;
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) SELECT 'race-' || g, 'true'"
        " FROM generate_series(1, " +
        std::to_string(kTasks) + ") g");
    TaskStore a(dsn), b(dsn);
    const auto specs = a.fetch_pending(static_cast<int>(kTasks)).value();
    REQUIRE(specs.size() == kTasks);
    // Round r: both start together; a claims batch r from the front, b batch r
    // from the back. They meet in the middle, then each tries what the other
    // already holds. Every round also has both claim the same shared task at
    // the same moment.
    const auto shared = specs.back().id;
    std::barrier rounds(2);
    std::atomic<int> failures{0};
    auto run = [&](TaskStore& store, bool from_back, const std::string& offer,
                   std::vector<std::int64_t>& won) {
        for (std::size_t r = 0; r < kRounds; ++r) {
            std::vector<LaunchRecord> batch;
            for (std::size_t i = 0; i < kBatch; ++i) {
                const std::size_t k = r * kBatch + i;
                const auto& spec = specs[from_back ? kRegular - 1 - k : k];
                batch.push_back(launch_of(spec.id, 1, offer));
            }
            if (r == 0)
                batch.push_back(launch_of(shared, 1, offer));
            rounds.arrive_and_wait();
            auto claimed = store.record_launches(batch);
            if (!claimed) {
                ++failures;
                continue;
            }
            for (std::size_t j = 0; j < batch.size(); ++j) {
                if (claimed->at(j))
                    won.push_back(batch[j].task_id);
            }
        }
    };
    std::vector<std::int64_t> won_a, won_b;
    std::thread ta(run, std::ref(a), false, "offer-a", std::ref(won_a));
    std::thread tb(run, std::ref(b), true, "offer-b", std::ref(won_b));
    ta.join();
    tb.join();
    CHECK(failures == 0);
    std::set<std::int64_t> all(won_a.begin(), won_a.end());
    for (const auto id : won_b)
        CHECK(all.insert(id).second);
    CHECK(all.size() == kTasks);
    CHECK(won_a.size() + won_b.size() == kTasks);
    CHECK(won_a.size() >= kRegular / 2);
    CHECK(won_b.size() >= kRegular / 2);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'launching' AND attempt = 1"
                    " AND agent_id = 'A1' AND offer_id IN ('offer-a', 'offer-b')") == kTasks);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'launch'") == kTasks);
}

TEST_CASE("producers inserting while two schedulers claim: every task launched exactly once") {
    const std::string dsn = migrated_database();
    constexpr int kProducers = 4;
    constexpr int kPerProducer = 250;
    constexpr int kTotal = kProducers * kPerProducer;
    std::atomic<int> produced_done{0};
    // Catch's assertions are not thread-safe: threads count, the test checks.
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; ++p) {
        threads.emplace_back([&, p] {
            TaskStore producer(dsn, "test-producer");
            for (int i = 0; i < kPerProducer; ++i) {
                auto id = producer.insert_task(
                    shell_task("p" + std::to_string(p) + "-" + std::to_string(i)));
                if (!id)
                    ++failures;
            }
            ++produced_done;
        });
    }
    std::vector<std::vector<std::int64_t>> won(2);
    for (int s = 0; s < 2; ++s) {
        threads.emplace_back([&, s] {
            TaskStore scheduler(dsn, "test-scheduler");
            const std::string offer = "offer-" + std::to_string(s);
            for (;;) {
                const bool producers_done = produced_done == kProducers;
                auto pending = scheduler.fetch_pending(50);
                if (!pending) {
                    ++failures;
                    break;
                }
                if (pending->empty()) {
                    if (producers_done)
                        break;
                    std::this_thread::yield();
                    continue;
                }
                std::vector<LaunchRecord> batch;
                for (const auto& t : *pending)
                    batch.push_back(launch_of(t.id, t.attempt + 1, offer));
                auto claimed = scheduler.record_launches(batch);
                if (!claimed) {
                    ++failures;
                    break;
                }
                for (std::size_t i = 0; i < batch.size(); ++i) {
                    if (claimed->at(i))
                        won[static_cast<std::size_t>(s)].push_back(batch[i].task_id);
                }
            }
        });
    }
    for (auto& t : threads)
        t.join();
    CHECK(failures == 0);
    std::set<std::int64_t> ids(won[0].begin(), won[0].end());
    for (const auto id : won[1])
        CHECK(ids.insert(id).second);
    CHECK(ids.size() == kTotal);
    Sql sql(dsn);
    CHECK(sql.count(
              "SELECT count(*) FROM mesoflow.tasks WHERE state = 'launching' AND attempt = 1") ==
          kTotal);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'launch'") == kTotal);
}

TEST_CASE(
    "a crash between the launch record and ACCEPT: nothing relaunches the attempt until "
    "reconciliation reports it lost") {
    const std::string dsn = migrated_database();
    std::int64_t id = 0;
    {
        TaskStore before_crash(dsn);
        auto task = shell_task("crash");
        task.retry_backoff_s = 0;
        id = before_crash.insert_task(task).value();
        REQUIRE(before_crash.record_launches({launch_of(id, 1, "offer-1")})->at(0));
        // ACCEPT is never sent: the process dies here.
    }
    TaskStore restarted(dsn);
    CHECK(restarted.fetch_pending(10)->empty());
    CHECK(restarted.pending_count().value() == 0);
    CHECK_FALSE(restarted.record_launches({launch_of(id, 1, "offer-9")})->at(0));
    CHECK_FALSE(restarted.record_launches({launch_of(id, 2, "offer-9")})->at(0));

    auto live = restarted.active_attempts(0, 100);
    REQUIRE(live.ok());
    REQUIRE(live->size() == 1);
    CHECK(live->at(0).mesos_task_id == mesos_task_id(id, 1));
    CHECK(live->at(0).agent_id == "A1");
    CHECK(live->at(0).state == TaskState::launching);

    // Explicit reconciliation with the agent: while that agent has not
    // re-registered with a failed-over master, the answer is TASK_UNKNOWN,
    // which proves nothing: the attempt may run there. It stays.
    StatusUpdate unknown = update_of(id, 1, MesosTaskState::unknown, "");
    unknown.source = "SOURCE_MASTER";
    unknown.reason = "REASON_RECONCILIATION";
    unknown.message = "Reconciliation: Task is unknown";
    auto kept = restarted.apply_updates({unknown});
    REQUIRE(kept.ok());
    CHECK(kept->updates.at(0).outcome == UpdateOutcome::applied);
    CHECK(kept->updates.at(0).task_state == TaskState::launching);
    CHECK(restarted.fetch_pending(10)->empty());

    // The agent is back and does not know the task: TASK_GONE, the attempt
    // never ran and the task is pending again.
    StatusUpdate gone = unknown;
    gone.state = MesosTaskState::gone;
    gone.message = "Reconciliation: Task is unknown to the agent";
    auto applied = restarted.apply_updates({gone});
    REQUIRE(applied.ok());
    CHECK(applied->updates.at(0).outcome == UpdateOutcome::applied);
    CHECK(applied->updates.at(0).task_state == TaskState::pending);

    auto again = restarted.fetch_pending(10);
    REQUIRE(again->size() == 1);
    CHECK(again->at(0).attempt == 1);
    CHECK(restarted.record_launches({launch_of(id, 2, "offer-10")})->at(0));
    CHECK(restarted.active_attempts(0, 10)->at(0).mesos_task_id == mesos_task_id(id, 2));
}

TEST_CASE("kills: pending ones end in SQL, launched ones are listed with their agent") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    const auto waiting = store.insert_task(shell_task("waiting")).value();
    const auto running = queued_and_launched(store, shell_task("running"));
    REQUIRE(store.apply_updates({update_of(running, 1, MesosTaskState::running)}).ok());
    const auto done = queued_and_launched(store, shell_task("done"));
    REQUIRE(store.apply_updates({update_of(done, 1, MesosTaskState::finished)}).ok());

    CHECK(store.request_kill("waiting").value() == TaskState::killed);
    CHECK(store.request_kill("running").value() == TaskState::running);
    CHECK(store.request_kill("done").value() == TaskState::finished);

    auto kills = store.pending_kills(100);
    REQUIRE(kills.ok());
    REQUIRE(kills->size() == 1);
    CHECK(kills->at(0).task_id == running);
    CHECK(kills->at(0).mesos_task_id == mesos_task_id(running, 1));
    CHECK(kills->at(0).agent_id == "A1");
    CHECK(kills->at(0).kill_requested);

    auto killed = store.apply_updates({update_of(running, 1, MesosTaskState::killed)});
    REQUIRE(killed.ok());
    CHECK(killed->updates.at(0).task_state == TaskState::killed);
    CHECK(store.pending_kills(100)->empty());
    CHECK(store.find_task("waiting").value()->state == TaskState::killed);
    CHECK(store.find_task("done").value()->kill_requested == false);
    (void)waiting;
}

TEST_CASE("an execution timeout marks the task, lists it for a kill, and ends it failed") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    auto task = shell_task("slow", "sleep 1000");
    task.timeout_s = 60;
    task.retry_on_failure = true;
    const auto id = queued_and_launched(store, task);
    const auto quick = queued_and_launched(store, shell_task("no-timeout"));
    REQUIRE(store
                .apply_updates({update_of(id, 1, MesosTaskState::running),
                                update_of(quick, 1, MesosTaskState::running)})
                .ok());

    CHECK(store.timed_out_tasks(now_us(), 10)->empty());
    const auto later = now_us() + 61LL * 1000000;
    auto due = store.timed_out_tasks(later, 10);
    REQUIRE(due.ok());
    REQUIRE(due->size() == 1);
    CHECK(due->at(0).task_id == id);

    CHECK(store.mark_timed_out({id}).value() == std::vector<std::int64_t>{id});
    CHECK(store.mark_timed_out({id})->empty());
    CHECK(store.timed_out_tasks(later, 10)->empty());
    auto kills = store.pending_kills(10);
    REQUIRE(kills->size() == 1);
    CHECK(kills->at(0).timed_out);

    auto killed = store.apply_updates({update_of(id, 1, MesosTaskState::killed)});
    REQUIRE(killed.ok());
    CHECK(killed->updates.at(0).task_state == TaskState::failed);
    const auto row = store.find_task("slow").value().value();
    CHECK(row.state == TaskState::failed);
    CHECK(row.reason == "timeout");
    CHECK(row.timed_out);
    CHECK(row.finished_at_us);
}

TEST_CASE("active attempts come in pages by task id for reconciliation") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 7; ++i)
        ids.push_back(queued_and_launched(store, shell_task("a" + std::to_string(i))));
    REQUIRE(store.apply_updates({update_of(ids[3], 1, MesosTaskState::finished)}).ok());
    REQUIRE(store.insert_task(shell_task("still-pending")).ok());
    std::vector<std::int64_t> seen;
    std::int64_t cursor = 0;
    for (;;) {
        auto page = store.active_attempts(cursor, 3);
        REQUIRE(page.ok());
        if (page->empty())
            break;
        CHECK(page->size() <= 3);
        for (const auto& a : *page)
            seen.push_back(a.task_id);
        cursor = page->back().task_id;
    }
    std::vector<std::int64_t> expected = ids;
    expected.erase(expected.begin() + 3);
    CHECK(seen == expected);
    auto counts = store.counts_by_state();
    REQUIRE(counts.ok());
    std::map<TaskState, std::int64_t> by_state;
    for (const auto& c : *counts)
        by_state[c.state] = c.count;
    CHECK(by_state[TaskState::launching] == 6);
    CHECK(by_state[TaskState::finished] == 1);
    CHECK(by_state[TaskState::pending] == 1);
}

TEST_CASE("the framework id is stored, reused and forgotten; the leader is recorded") {
    TaskStore store(migrated_database());
    CHECK_FALSE(store.load_framework_id("mesoflow").value());
    REQUIRE(store.save_framework_id("mesoflow", "fw-1", "host-a:1").ok());
    CHECK(store.load_framework_id("mesoflow").value() == "fw-1");
    const auto first = store.load_framework("mesoflow").value().value();
    CHECK(first.leader == "host-a:1");
    REQUIRE(first.leader_since_us);

    REQUIRE(store.save_framework_id("mesoflow", "fw-1", "host-a:1").ok());
    CHECK(store.load_framework("mesoflow").value()->leader_since_us == first.leader_since_us);
    REQUIRE(store.save_framework_id("mesoflow", "fw-1", "host-b:2").ok());
    CHECK(store.load_framework("mesoflow").value()->leader == "host-b:2");

    CHECK_FALSE(store.load_framework_id("other").value());
    REQUIRE(store.forget_framework_id("mesoflow").ok());
    CHECK_FALSE(store.load_framework_id("mesoflow").value());
}

TEST_CASE(
    "only one mesoflow leads a framework; the lock passes on when the leader's connection ends") {
    const std::string dsn = migrated_database();
    LeaderLock a(dsn, "mesoflow", "host-a:1", kLease);
    LeaderLock b(dsn, "mesoflow", "host-b:2", kLease);
    LeaderLock other(dsn, "another-framework", "host-b:2", kLease);
    CHECK(a.try_acquire().value().leading);
    CHECK(a.held());
    CHECK(a.socket() >= 0);
    const auto standby = b.try_acquire().value();
    CHECK_FALSE(standby.leading);
    CHECK(standby.leader == "host-a:1");  // who leads, for operators
    CHECK_FALSE(b.held());
    // One database serves one framework name: a second name is refused,
    // with a permanent error that says whose database it is.
    auto refused = other.try_acquire();
    REQUIRE_FALSE(refused);
    CHECK(refused.error().permanent());
    CHECK_THAT(refused.error().message, Catch::Contains("belongs to framework 'mesoflow'") &&
                                            Catch::Contains("not 'another-framework'"));
    CHECK_FALSE(other.held());
    CHECK_FALSE(TaskStore(dsn).load_framework("another-framework").value());
    CHECK(a.renew().value());
    CHECK(TaskStore(dsn).load_framework("mesoflow").value()->leader == "host-a:1");

    // The leader's session dies (crash, network): the lock is gone with it.
    TempPostgres::shared().kill_connections(database_name(dsn));
    CHECK_FALSE(a.renew().value());
    CHECK_FALSE(a.held());
    CHECK(b.try_acquire().value().leading);
    CHECK(TaskStore(dsn).load_framework("mesoflow").value()->leader == "host-b:2");
    CHECK_FALSE(a.try_acquire().value().leading);
    // The server frees the lock when it has ended b's session, a moment
    // after b closed it: a standby polls.
    b.release();
    bool took_over = false;
    for (int i = 0; i < 100 && !took_over; ++i) {
        took_over = a.try_acquire().value().leading;
        if (!took_over)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(took_over);
}

namespace {

bool readable_within(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

TEST_CASE("NOTIFY wakes the listener when tasks are queued and when kills are requested") {
    const std::string dsn = migrated_database();
    TaskListener listener(dsn);
    REQUIRE(listener.connect().ok());
    REQUIRE(listener.socket() >= 0);
    // Whatever was sent before the connection existed is reported as missed.
    auto first = listener.drain();
    REQUIRE(first.ok());
    CHECK(first->pending);
    CHECK(first->kill);
    CHECK_FALSE(listener.drain()->any());

    TaskStore producer(dsn);
    REQUIRE(producer.insert_task(shell_task("wake-me")).ok());
    REQUIRE(readable_within(listener.socket(), 5000));
    auto woke = listener.drain();
    REQUIRE(woke.ok());
    CHECK(woke->pending);
    CHECK_FALSE(woke->kill);

    // A bulk insert sends one notification.
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) SELECT 'bulk-' || g, 'true'"
        " FROM generate_series(1, 500) g");
    REQUIRE(readable_within(listener.socket(), 5000));
    CHECK(listener.drain()->pending);
    CHECK_FALSE(readable_within(listener.socket(), 100));

    const auto id = producer.fetch_pending(1).value().at(0).id;
    REQUIRE(producer.record_launches({launch_of(id, 1)})->at(0));
    REQUIRE(producer.request_kill("wake-me").ok());
    REQUIRE(readable_within(listener.socket(), 5000));
    auto kill = listener.drain();
    CHECK(kill->kill);

    // A lost connection is reported (the server's goodbye and the close may
    // arrive as two wake-ups); reconnecting reports everything as missed.
    TempPostgres::shared().kill_connections(database_name(dsn));
    bool lost = false;
    for (int i = 0; i < 50 && !lost; ++i) {
        if (readable_within(listener.socket(), 100))
            lost = !listener.drain().ok();
    }
    CHECK(lost);
    CHECK_FALSE(listener.connected());
    CHECK(listener.socket() == -1);
    REQUIRE(listener.connect().ok());
    auto after = listener.drain();
    CHECK(after->pending);
    CHECK(after->kill);
}

TEST_CASE("counts by state: ended rows estimated past the limit once analyzed, the rest counted") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    // No analyze but ours: the estimate's input is what this test made.
    sql.exec("ALTER TABLE mesoflow.tasks SET (autovacuum_enabled = off)");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) SELECT 'c-' || g, 'true'"
        " FROM generate_series(1, 40) g");
    sql.exec("UPDATE mesoflow.tasks SET state = 'finished' WHERE id % 4 <> 0");  // 30
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'running', attempt = 1, mesos_task_id = 'mf-' || id"
        " || '-1' WHERE key IN ('c-4', 'c-8')");
    const auto by_state = [&](std::int64_t limit) {
        auto counts = store.counts_by_state(limit);
        REQUIRE(counts.ok());
        std::map<TaskState, std::pair<std::int64_t, bool>> out;
        for (const auto& c : *counts)
            out[c.state] = {c.count, c.estimated};
        return out;
    };
    using Counted = std::pair<std::int64_t, bool>;
    // Never analyzed: counted, however small the limit.
    auto counts = by_state(0);
    CHECK(counts[TaskState::finished] == Counted{30, false});
    CHECK(counts[TaskState::pending] == Counted{8, false});
    CHECK(counts[TaskState::running] == Counted{2, false});
    sql.exec("ANALYZE mesoflow.tasks");
    // Within the limit, which is the table's pages (what a count reads):
    // counted.
    counts = by_state(kExactEndedPagesUpTo);
    CHECK(counts[TaskState::finished] == Counted{30, false});
    const auto pages = std::stoll(
        sql.one("SELECT pg_relation_size('mesoflow.tasks') / current_setting('block_size')::int"));
    REQUIRE(pages > 1);
    CHECK(by_state(pages)[TaskState::finished] == Counted{30, false});
    // Past it: ended states estimated (a table this small is sampled whole,
    // so the estimate is the count), pending and live ones still counted.
    counts = by_state(pages - 1);
    CHECK(counts[TaskState::finished] == Counted{30, true});
    CHECK(counts[TaskState::pending] == Counted{8, false});
    CHECK(counts[TaskState::running] == Counted{2, false});
    // Rows that change after the analyze are counted where they are counted.
    sql.exec("UPDATE mesoflow.tasks SET state = 'finished' WHERE key = 'c-12'");
    counts = by_state(0);
    CHECK(counts[TaskState::pending] == Counted{7, false});
    // Truncated: the statistics stay, the row count is unknown: counted.
    sql.exec("TRUNCATE mesoflow.tasks CASCADE");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, state) SELECT 't-' || g, 'true', 'finished'"
        " FROM generate_series(1, 3) g");
    REQUIRE(sql.one("SELECT reltuples < 0 FROM pg_class WHERE oid = 'mesoflow.tasks'::regclass") ==
            "t");
    counts = by_state(0);
    CHECK(counts[TaskState::finished] == Counted{3, false});
}

TEST_CASE("counts by state without the pending count read no pending row and return none") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('p-1', 'true'), ('p-2', 'true')");
    auto with = store.counts_by_state();
    REQUIRE(with.ok());
    REQUIRE(with->size() == 1);
    CHECK(with->front().count == 2);
    auto without = store.counts_by_state(kExactEndedPagesUpTo, false);
    REQUIRE(without.ok());
    CHECK(without->empty());
}

TEST_CASE(
    "pending rows are read up to a cap per queue: past it the counts are lower bounds, the "
    "total an estimate, and a queue with nothing due among the rows read still counts as due") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("ALTER TABLE mesoflow.tasks SET (autovacuum_enabled = off)");
    // Queue big: 10 high-priority rows backing off ahead of 5 due ones;
    // queue small: 3 due.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, priority, not_before)"
        " SELECT 'b-' || g, 'true', 'big', 5, now() + interval '1 hour' + g * interval '1 s'"
        " FROM generate_series(1, 10) g");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue) SELECT 'd-' || g, 'true', 'big'"
        " FROM generate_series(1, 5) g");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue) SELECT 's-' || g, 'true', 'small'"
        " FROM generate_series(1, 3) g");
    sql.exec("ANALYZE mesoflow.tasks");

    // Under the cap: counted.
    const auto exact = store.pending_look(100).value();
    CHECK(exact.due == 8);
    CHECK(exact.total == 18);
    CHECK_FALSE(exact.total_estimated);
    auto queues = store.queue_summaries(100).value();
    REQUIRE(queues.size() == 2);
    CHECK(queues[0].settings.name == "big");
    CHECK((queues[0].pending == 5 && queues[0].backoff == 10 && !queues[0].capped));

    // Cap 10: big is read as far as its 10 rows backing off.
    const auto capped = store.pending_look(10).value();
    CHECK(capped.due == 3 + 1);  // small's 3, and big may hold due rows
    CHECK(capped.total_estimated);
    CHECK(capped.total == 18);  // the statistics' estimate (the table, sampled whole)
    REQUIRE(capped.next_retry_us.has_value());
    CHECK(*capped.next_retry_us > now_us() + 3500LL * 1000000);
    queues = store.queue_summaries(10).value();
    REQUIRE(queues.size() == 2);
    CHECK((queues[0].pending == 0 && queues[0].backoff == 10 && queues[0].capped));
    CHECK((queues[1].settings.name == "small" && queues[1].pending == 3 && !queues[1].capped));

    // Never analyzed since (or ever): never less than the rows read.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue) SELECT 'n-' || g, 'true', 'small'"
        " FROM generate_series(1, 40) g");
    const auto grown = store.pending_look(10).value();
    CHECK(grown.total_estimated);
    CHECK(grown.total >= 10 + 10);
}
