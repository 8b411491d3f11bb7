// claim_pending, record_placements, release_claims and the never-launched
// path, against a real PostgreSQL.
#include <catch2/catch.hpp>

#include "store_fixture.hpp"

using namespace mesoflow::store;
using namespace mesoflow::task;
using namespace mesoflow::store::testing;

namespace {

LaunchRecord placement_of(const TaskSpec& spec, const std::string& agent) {
    LaunchRecord p;
    p.task_id = spec.id;
    p.attempt = spec.attempt + 1;
    p.mesos_task_id = mesos_task_id(spec.id, p.attempt);
    p.agent_id = agent;
    p.hostname = agent + ".example";
    p.offer_id = "offer-" + agent;
    p.launched_at_us = now_us();
    return p;
}

}  // namespace

TEST_CASE("a claim takes the queue window in order, once, with the next attempt's id") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, priority) VALUES"
        " ('low', 'x', 0), ('high', 'x', 5), ('mid', 'x', 2), ('killed', 'x', 9)");
    sql.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE key = 'killed'");
    auto first = store.claim_pending(2);
    REQUIRE(first.ok());
    REQUIRE(first->size() == 2);
    CHECK(first->at(0).key == "high");
    CHECK(first->at(1).key == "mid");
    CHECK(first->at(0).attempt == 0);
    CHECK(sql.one("SELECT state || ' ' || mesos_task_id || ' ' || coalesce(agent_id, '-')"
                  " FROM mesoflow.tasks WHERE key = 'high'") ==
          "launching " + mesos_task_id(first->at(0).id, 1) + " -");
    auto second = store.claim_pending(10);
    REQUIRE(second.ok());
    REQUIRE(second->size() == 1);
    CHECK(second->at(0).key == "low");
    CHECK(store.claim_pending(10)->empty());
    CHECK(store.pending_count().value() == 0);
}

TEST_CASE("a placement records agent, host and offer without touching the state") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('a', 'x'), ('b', 'x')");
    auto claimed = store.claim_pending(10);
    REQUIRE(claimed->size() == 2);
    const auto a = claimed->at(0);
    const auto b = claimed->at(1);
    // b's first update commits before its placement: the placement keeps it.
    auto applied = store.apply_updates({update_of(b.id, 1, MesosTaskState::running)});
    REQUIRE(applied.ok());
    CHECK(store.record_placements({placement_of(a, "A1")}).value() == 1);
    auto together =
        store.apply_updates({update_of(a.id, 1, MesosTaskState::running)}, {placement_of(b, "A2")});
    REQUIRE(together.ok());
    CHECK(together->updates.at(0).outcome == UpdateOutcome::applied);
    CHECK(sql.one("SELECT state || ' ' || agent_id || ' ' || hostname || ' ' || offer_id"
                  " FROM mesoflow.tasks WHERE key = 'a'") == "running A1 A1.example offer-A1");
    CHECK(sql.one("SELECT state || ' ' || hostname || ' ' || (launched_at IS NOT NULL)"
                  " || ' ' || (started_at IS NOT NULL) FROM mesoflow.tasks WHERE key = 'b'") ==
          "running A2.example true true");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'launch'") == 2);
    // An attempt that is not the row's matches nothing.
    auto stale = placement_of(a, "A9");
    stale.attempt = 7;
    CHECK(store.record_placements({stale}).value() == 0);
}

TEST_CASE("released claims are pending again at the attempt before, or killed") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) VALUES ('keep', 'x'), ('kill', 'x'),"
        " ('placed', 'x')");
    auto claimed = store.claim_pending(10);
    REQUIRE(claimed->size() == 3);
    REQUIRE(store.record_placements({placement_of(claimed->at(2), "A1")}).value() == 1);
    sql.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE key = 'kill'");
    std::vector<ClaimRef> refs;
    for (const auto& s : *claimed)
        refs.push_back({s.id, s.attempt + 1});
    auto released = store.release_claims(refs);
    REQUIRE(released.ok());
    CHECK(released->size() == 2);  // the placed one is left alone
    CHECK(sql.one("SELECT state || ' ' || attempt || ' ' || coalesce(mesos_task_id, '-')"
                  " FROM mesoflow.tasks WHERE key = 'keep'") == "pending 0 -");
    CHECK(sql.one("SELECT state || ' ' || reason FROM mesoflow.tasks WHERE key = 'kill'") ==
          "killed killed_before_launch");
    CHECK(sql.one("SELECT state FROM mesoflow.tasks WHERE key = 'placed'") == "launching");
    auto again = store.claim_pending(10);
    REQUIRE(again->size() == 1);
    CHECK(again->at(0).key == "keep");
    CHECK(again->at(0).attempt == 0);
}

TEST_CASE("after a crash, an unplaced claim the master does not know runs again uncounted") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.tasks (key, command, max_attempts) VALUES ('t', 'x', 1)");
    auto claimed = store.claim_pending(1);
    REQUIRE(claimed->size() == 1);
    const auto id = claimed->at(0).id;
    auto answer = update_of(id, 1, MesosTaskState::unknown, "");
    answer.source = "SOURCE_MASTER";
    answer.reason = "REASON_RECONCILIATION";
    answer.agent_id.clear();
    auto r = store.apply_updates({answer});
    REQUIRE(r.ok());
    CHECK(r->updates.at(0).task_state == TaskState::pending);
    CHECK(sql.one("SELECT state || ' ' || attempt || ' ' || unlaunched_attempts || ' ' || reason"
                  " FROM mesoflow.tasks WHERE id = " +
                  std::to_string(id)) == "pending 1 1 never_launched");
    // Its one counted attempt is still to come.
    auto next = store.claim_pending(1);
    REQUIRE(next->size() == 1);
    REQUIRE(store.record_placements({placement_of(next->at(0), "A1")}).value() == 1);
    auto lost = update_of(id, 2, MesosTaskState::lost);
    CHECK(store.apply_updates({lost})->updates.at(0).task_state == TaskState::lost);
}
