// The database goes away: between calls, in the middle of a batch, for a
// while. A failed call changes nothing that was not committed, reports an
// Error (so nothing gets acknowledged), and the next call reconnects.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "mesoflow/store/leader_lock.hpp"
#include "mesoflow/store/task_listener.hpp"
#include "store_fixture.hpp"

using namespace mesoflow::store;
using namespace mesoflow::task;
using namespace mesoflow::store::testing;
using S = MesosTaskState;

namespace {

constexpr int kBatch = 200;

// A database with kBatch tasks, each launched (attempt 1).
struct LaunchedBatch {
    std::string dsn = migrated_database();
    std::vector<std::int64_t> ids;

    LaunchedBatch() {
        Sql sql(dsn);
        sql.exec(
            "INSERT INTO mesoflow.tasks (key, command) SELECT 'f-' || g, 'true'"
            " FROM generate_series(1, " +
            std::to_string(kBatch) + ") g");
        TaskStore store(dsn);
        std::vector<LaunchRecord> launches;
        const auto pending = store.fetch_pending(kBatch).value();
        for (const auto& t : pending) {
            ids.push_back(t.id);
            launches.push_back(launch_of(t.id, 1));
        }
        const auto claimed = store.record_launches(launches).value();
        REQUIRE(std::count(claimed.begin(), claimed.end(), true) == kBatch);
    }

    std::vector<StatusUpdate> updates(S state) const {
        std::vector<StatusUpdate> out;
        for (const auto id : ids)
            out.push_back(update_of(id, 1, state));
        return out;
    }
};

// Holds an exclusive lock on the history table from another session, so a
// batch that reaches its history write stops there, half-way, until the
// lock goes away.
class HistoryBlocker {
  public:
    explicit HistoryBlocker(const std::string& dsn) : sql_(dsn) {
        sql_.exec("BEGIN");
        sql_.exec("LOCK TABLE mesoflow.task_history IN EXCLUSIVE MODE");
    }

  private:
    Sql sql_;
};

void wait_until_blocked(const std::string& dsn) {
    Sql observer(TempPostgres::shared().dsn());
    const std::string query = "SELECT count(*) FROM pg_stat_activity WHERE datname = '" +
                              database_name(dsn) +
                              "' AND application_name = 'mesoflow' AND wait_event_type = 'Lock'";
    for (int i = 0; i < 500; ++i) {
        if (observer.count(query) > 0)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the batch never blocked on the history lock");
}

template <typename T>
T retry_until_ok(const std::function<mesoflow::Result<T>()>& call) {
    for (int i = 0; i < 200; ++i) {
        auto r = call();
        if (r.ok())
            return std::move(r).value();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("the store never came back");
    return T{};
}

}  // namespace

TEST_CASE(
    "a connection killed between calls fails the next batch cleanly; the one after reconnects") {
    LaunchedBatch db;
    TaskStore store(db.dsn);
    REQUIRE(store.connect().ok());
    TempPostgres::shared().kill_connections(database_name(db.dsn));

    auto failed = store.apply_updates(db.updates(S::running));
    REQUIRE_FALSE(failed.ok());
    Sql sql(db.dsn);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'launching'") == kBatch);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'update'") == 0);

    auto applied = store.apply_updates(db.updates(S::running));
    REQUIRE(applied.ok());
    for (const auto& r : applied->updates)
        CHECK(r.outcome == UpdateOutcome::applied);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'running'") == kBatch);
}

TEST_CASE("a database restart in the middle of apply_updates leaves nothing half-applied") {
    LaunchedBatch db;
    TaskStore store(db.dsn);
    REQUIRE(store.connect().ok());
    auto blocker = std::make_unique<HistoryBlocker>(db.dsn);
    // The batch locks its rows and updates them, then waits on the history.
    auto batch = std::async(std::launch::async,
                            [&] { return store.apply_updates(db.updates(S::finished)); });
    wait_until_blocked(db.dsn);
    TempPostgres::shared().restart();
    auto failed = batch.get();
    REQUIRE_FALSE(failed.ok());
    blocker.reset();

    Sql sql(db.dsn);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'launching'") == kBatch);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE finished_at IS NOT NULL") == 0);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'update'") == 0);

    // The runtime did not acknowledge; Mesos redelivers; the retry applies once.
    auto retried = store.apply_updates(db.updates(S::finished));
    REQUIRE(retried.ok());
    for (const auto& r : retried->updates)
        CHECK(r.outcome == UpdateOutcome::applied);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'finished'") == kBatch);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'update'") == kBatch);
}

TEST_CASE("connections killed in the middle of record_launches leave every task pending") {
    const std::string dsn = migrated_database();
    Sql setup(dsn);
    setup.exec(
        "INSERT INTO mesoflow.tasks (key, command) SELECT 'l-' || g, 'true'"
        " FROM generate_series(1, " +
        std::to_string(kBatch) + ") g");
    TaskStore store(dsn);
    std::vector<LaunchRecord> launches;
    const auto pending = store.fetch_pending(kBatch).value();
    for (const auto& t : pending)
        launches.push_back(launch_of(t.id, 1));

    auto blocker = std::make_unique<HistoryBlocker>(dsn);
    auto batch = std::async(std::launch::async, [&] { return store.record_launches(launches); });
    wait_until_blocked(dsn);
    TempPostgres::shared().kill_connections(database_name(dsn));
    REQUIRE_FALSE(batch.get().ok());
    blocker.reset();

    Sql sql(dsn);
    CHECK(
        sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'pending' AND attempt = 0") ==
        kBatch);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history") == 0);
    auto claimed = store.record_launches(launches);
    REQUIRE(claimed.ok());
    CHECK(std::count(claimed->begin(), claimed->end(), true) == kBatch);
}

TEST_CASE("while the server is down calls fail fast with back-off, and succeed once it is back") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    REQUIRE(store.insert_task(shell_task("survivor")).ok());
    auto& pg = TempPostgres::shared();
    pg.stop();
    REQUIRE_FALSE(store.pending_count().ok());  // the connection is found dead
    REQUIRE_FALSE(store.pending_count().ok());  // a reconnect attempt fails
    const auto started = std::chrono::steady_clock::now();
    auto waiting = store.pending_count();
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(waiting.ok());
    CHECK_THAT(waiting.error().message, Catch::Contains("next attempt in"));
    CHECK(took < std::chrono::milliseconds(50));
    pg.start();
    CHECK(retry_until_ok<std::int64_t>([&] { return store.pending_count(); }) == 1);
    CHECK(store.connected());
}

TEST_CASE("after a restart the listener reconnects and the leader learns it lost the lock") {
    const std::string dsn = migrated_database();
    TaskListener listener(dsn);
    LeaderLock leader(dsn, "mesoflow", "host-a:1", std::chrono::seconds(15));
    REQUIRE(listener.connect().ok());
    REQUIRE(listener.drain().ok());
    REQUIRE(leader.try_acquire().value().leading);

    TempPostgres::shared().restart();
    CHECK_FALSE(leader.renew().value());
    CHECK_FALSE(leader.held());
    bool lost = false;
    for (int i = 0; i < 20 && !lost; ++i) {
        lost = !listener.drain().ok();
        if (!lost)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(lost);
    REQUIRE(listener.connect().ok());
    CHECK(listener.drain()->pending);
    CHECK(leader.try_acquire().value().leading);
}

TEST_CASE("a connection lost while a claim's refusals are judged leaves every task pending") {
    const std::string dsn = migrated_database();
    Sql(dsn).exec(
        "INSERT INTO mesoflow.tasks (key, image, volumes) SELECT 'c-' || g, 'busybox',"
        " CASE WHEN g = 1 THEN '[{\"host_path\": \"/etc\", \"container_path\": \"/x\"}]'::jsonb"
        " END FROM generate_series(1, 10) g");
    TaskStore store(dsn);
    REQUIRE(store.connect().ok());
    bool cut = false;
    LaunchPolicy policy;
    policy.refuse = [&](const TaskSpec& spec) -> std::optional<ClaimRefusal> {
        if (!cut) {  // between the claim's round trips
            cut = true;
            TempPostgres::shared().kill_connections(database_name(dsn));
        }
        if (!spec.volumes.empty())
            return ClaimRefusal{"volume_not_allowed", "refused"};
        return std::nullopt;
    };
    REQUIRE_FALSE(store.claim_window(10, policy).ok());
    Sql sql(dsn);  // connected after the cut
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'pending' AND attempt = 0"
                    " AND mesos_task_id IS NULL") == 10);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history") == 0);

    const auto window =
        retry_until_ok<ClaimedWindow>([&] { return store.claim_window(10, policy); });
    CHECK(window.tasks.size() == 9);
    REQUIRE(window.refused.size() == 1);
    CHECK(window.refused[0].key == "c-1");
    CHECK(sql.one("SELECT state || ' ' || attempt FROM mesoflow.tasks WHERE key = 'c-1'") ==
          "failed 0");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE state = 'launching'") == 9);
}
