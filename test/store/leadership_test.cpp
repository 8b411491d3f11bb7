// Leadership against a real PostgreSQL: the lease the server enforces, the
// epoch each leadership takes, and the fence that keeps a leader that lost
// either from claiming or placing anything.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "mesoflow/store/leader_lock.hpp"
#include "store_fixture.hpp"

using namespace mesoflow::store;
using namespace mesoflow::store::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::milliseconds kLongLease{15000};

// Tries for the lock until it leads (the server frees a lock a moment after
// its session ends) or `within` passes.
std::optional<LeaderClaim> take_within(LeaderLock& lock, std::chrono::milliseconds within) {
    const auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
        auto claim = lock.try_acquire();
        if (claim && claim->leading)
            return *claim;
        std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("each leadership takes the next epoch, recorded with who leads and since when") {
    const std::string dsn = migrated_database();
    LeaderLock a(dsn, "mesoflow", "host-a:1", kLongLease);
    LeaderLock b(dsn, "mesoflow", "host-b:2", kLongLease);
    const auto first = a.try_acquire().value();
    REQUIRE(first.leading);
    CHECK(first.epoch == 1);
    CHECK(first.leader_since_us.has_value());
    CHECK(first.lease_enforced_by_server);  // the tests' server is 14 or later
    a.release();
    const auto second = take_within(b, 10s);
    REQUIRE(second);
    CHECK(second->epoch == 2);
    const auto record = TaskStore(dsn).load_framework("mesoflow").value();
    REQUIRE(record);
    CHECK(record->leader == "host-b:2");
    CHECK(record->leader_epoch == 2);
    // Taking it again while held changes nothing.
    CHECK(b.try_acquire().value().epoch == 2);
}

TEST_CASE("the server ends a leader's lock once it stops renewing for its lease, not before") {
    const std::string dsn = migrated_database();
    LeaderLock a(dsn, "mesoflow", "host-a:1", 2s);
    LeaderLock b(dsn, "mesoflow", "host-b:2", 2s);
    REQUIRE(a.try_acquire().value().leading);
    // Renewed every 100 ms for twice the lease: held throughout.
    const auto renewing_until = std::chrono::steady_clock::now() + 4s;
    auto last_renewal = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < renewing_until) {
        last_renewal = std::chrono::steady_clock::now();
        REQUIRE(a.renew().value());
        CHECK_FALSE(b.try_acquire().value().leading);
        std::this_thread::sleep_for(100ms);
    }
    // Then silent, as a frozen process is: its connection stays open, but
    // the server ends the idle session and the lock passes on, never sooner
    // than the lease after the last renewal was sent.
    const auto taken = take_within(b, 30s);
    REQUIRE(taken);
    CHECK(std::chrono::steady_clock::now() - last_renewal >= 2s);
    CHECK(taken->epoch == 2);
    // The old leader learns it at its next renewal.
    CHECK_FALSE(a.renew().value());
    CHECK_FALSE(a.held());
}

TEST_CASE("a fenced store claims and places nothing once its leader's lock session ended") {
    const std::string dsn = migrated_database();
    LeaderLock a(dsn, "mesoflow", "host-a:1", kLongLease);
    REQUIRE(a.try_acquire().value().leading);
    TaskStore store(dsn);
    store.set_fence(Fence{"mesoflow", a.epoch(), a.backend_pid()});
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) VALUES ('t1', 'x'), ('t2', 'x'), ('t3', 'x')");
    auto first = store.claim_pending(1);
    REQUIRE(first.ok());
    REQUIRE(first->size() == 1);
    // The lock's session ends (killed, or idle past the lease); nobody has
    // taken leadership yet, but this leader is done.
    const std::string pid = std::to_string(a.backend_pid());
    sql.exec("SELECT pg_terminate_backend(" + pid + ")");
    // pg_terminate_backend only signals: wait until the session is gone.
    for (int i = 0; i < 500; ++i) {
        if (sql.one("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) == "0")
            break;
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(sql.one("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) == "0");
    auto refused = store.claim_pending(10);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().fenced());
    CHECK_THAT(refused.error().message, Catch::Contains("no longer held by its session"));
    auto placed = store.place_attempts({launch_of(first->at(0).id, 1)});
    REQUIRE_FALSE(placed.ok());
    CHECK(placed.error().fenced());
    CHECK(sql.one("SELECT count(*) FROM mesoflow.tasks WHERE state = 'pending'") == "2");
    CHECK(sql.one("SELECT coalesce(agent_id, '-') FROM mesoflow.tasks WHERE key = 't1'") == "-");
}

TEST_CASE("a fenced store claims and places nothing once another leader took the next epoch") {
    const std::string dsn = migrated_database();
    LeaderLock a(dsn, "mesoflow", "host-a:1", kLongLease);
    LeaderLock b(dsn, "mesoflow", "host-b:2", kLongLease);
    REQUIRE(a.try_acquire().value().leading);
    TaskStore store(dsn);
    const Fence old{"mesoflow", a.epoch(), a.backend_pid()};
    store.set_fence(old);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('t1', 'x'), ('t2', 'x')");
    auto first = store.claim_pending(1);
    REQUIRE((first.ok() && first->size() == 1));
    a.release();
    REQUIRE(take_within(b, 10s));
    auto refused = store.claim_pending(10);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().fenced());
    CHECK_THAT(refused.error().message, Catch::Contains("moved on (epoch 2 now, this leader's 1)"));
    CHECK(store.place_attempts({launch_of(first->at(0).id, 1)}).error().fenced());
    CHECK(store.release_unknown_claims({}, {}).error().fenced());
    CHECK(sql.one("SELECT count(*) FROM mesoflow.tasks WHERE state = 'pending'") == "1");
    // The new leader's own fence lets it work.
    store.set_fence(Fence{"mesoflow", b.epoch(), b.backend_pid()});
    auto own = store.claim_pending(10);
    REQUIRE(own.ok());
    CHECK(own->size() == 1);
}

TEST_CASE("a new leader's epoch waits for the old leader's claim still in its transaction") {
    const std::string dsn = migrated_database();
    LeaderLock a(dsn, "mesoflow", "host-a:1", kLongLease);
    LeaderLock b(dsn, "mesoflow", "host-b:2", kLongLease);
    REQUIRE(a.try_acquire().value().leading);
    // The old leader's claim, fenced and not yet committed (as one frozen
    // between its statements would be, until the server's idle limit).
    Sql old_claim(dsn);
    old_claim.exec("BEGIN");
    old_claim.exec("SELECT mesoflow.fence('mesoflow', " + std::to_string(a.epoch()) + ", " +
                   std::to_string(a.backend_pid()) + ")");
    a.release();
    std::atomic<bool> taken{false};
    std::int64_t epoch = 0;
    std::thread standby([&] {
        if (auto claim = take_within(b, 60s)) {
            epoch = claim->epoch;
            taken = true;
        }
    });
    // However long it is given, the bump cannot pass the open transaction.
    std::this_thread::sleep_for(500ms);
    CHECK_FALSE(taken.load());
    old_claim.exec("COMMIT");
    standby.join();
    CHECK(taken.load());
    CHECK(epoch == 2);
}

TEST_CASE("a fenced store cannot write its framework id over the next leader's") {
    const std::string dsn = migrated_database();
    LeaderLock a(dsn, "mesoflow", "host-a:1", kLongLease);
    LeaderLock b(dsn, "mesoflow", "host-b:2", kLongLease);
    REQUIRE(a.try_acquire().value().leading);
    TaskStore old_leader(dsn);
    old_leader.set_fence(Fence{"mesoflow", a.epoch(), a.backend_pid()});
    REQUIRE(old_leader.save_framework_id("mesoflow", "F1", "host-a:1").ok());
    CHECK(a.still_leads());
    a.release();
    REQUIRE(take_within(b, 10s));
    CHECK_FALSE(a.still_leads());
    TaskStore new_leader(dsn);
    new_leader.set_fence(Fence{"mesoflow", b.epoch(), b.backend_pid()});
    REQUIRE(new_leader.save_framework_id("mesoflow", "F2", "host-b:2").ok());
    // The old leader wakes with its save still queued: refused, F2 stays.
    auto late = old_leader.save_framework_id("mesoflow", "F1", "host-a:1");
    REQUIRE_FALSE(late.ok());
    CHECK(late.error().fenced());
    CHECK(old_leader.forget_framework_id("mesoflow").error().fenced());
    CHECK(TaskStore(dsn).load_framework_id("mesoflow").value() == std::optional<std::string>("F2"));
    CHECK(b.still_leads());
}

TEST_CASE("a placement whose ACCEPT never left is taken back to pending, and only that one") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('a', 'x'), ('b', 'x'), ('c', 'x')");
    auto claimed = store.claim_pending(3);
    REQUIRE((claimed.ok() && claimed->size() == 3));
    std::vector<LaunchRecord> records;
    for (const auto& t : *claimed)
        records.push_back(launch_of(t.id, 1, "O-" + t.key));
    REQUIRE(store.place_attempts(records).ok());
    // b's first status update came meanwhile (it did launch); c's offer
    // differs from the one asked to take back.
    sql.exec("UPDATE mesoflow.tasks SET last_mesos_state = 'TASK_STARTING' WHERE key = 'b'");
    std::vector<LaunchRecord> back = records;
    back[2].offer_id = "another-offer";
    auto undone = store.unplace(back);
    REQUIRE(undone.ok());
    REQUIRE(undone->size() == 1);
    CHECK(sql.one("SELECT key FROM mesoflow.tasks WHERE id = " + std::to_string(undone->at(0))) ==
          "a");
    CHECK(sql.one("SELECT state || ' ' || attempt || ' ' || coalesce(agent_id, '-') || ' ' ||"
                  " coalesce(offer_id, '-') FROM mesoflow.tasks WHERE key = 'a'") ==
          "pending 0 - -");
    CHECK(sql.one("SELECT coalesce(agent_id, '-') FROM mesoflow.tasks WHERE key = 'b'") == "A1");
    CHECK(sql.one("SELECT coalesce(agent_id, '-') FROM mesoflow.tasks WHERE key = 'c'") == "A1");
}
