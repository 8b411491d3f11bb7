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

// Rows written before schema 3's checks existed (or by a role that may drop
// them) can hold times no conversion to microseconds accepts. Such a row must
// not stop the claims, polls and listings of every other row.
TEST_CASE("a row with an infinite time does not stop other rows being claimed, polled or listed") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "ALTER TABLE mesoflow.tasks DROP CONSTRAINT IF EXISTS created_at_must_be_finite,"
        " DROP CONSTRAINT IF EXISTS not_before_must_be_finite,"
        " DROP CONSTRAINT IF EXISTS timeout_must_be_at_most_3650_days");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, created_at) VALUES"
        " ('early', 'x', '-infinity'), ('late', 'x', 'infinity'), ('future', 'x', '5000-01-01')");
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('plain', 'x')");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, not_before) VALUES ('never', 'x', 'infinity')");

    // A running attempt whose timeout no interval can hold.
    sql.exec("INSERT INTO mesoflow.tasks (key, command, timeout_s) VALUES ('slow', 'x', 1e15)");
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'running', attempt = 1,"
        " mesos_task_id = 'mf-' || id || '-1', started_at = now() WHERE key = 'slow'");
    auto timed_out = store.timed_out_tasks(now_us(), 10);
    CHECK(timed_out.ok());
    CHECK((timed_out.ok() && timed_out->empty()));

    auto next = store.next_retry_at_us();
    CHECK(next.ok());
    CHECK((next.ok() && next->has_value() && **next > now_us()));

    auto claimed = store.claim_pending(10);
    REQUIRE(claimed.ok());
    std::vector<std::string> keys;
    for (const auto& spec : *claimed) {
        keys.push_back(spec.key);
        // A task is never newer than the claim that read it.
        CHECK(spec.created_at_us <= now_us());
    }
    CHECK(keys == std::vector<std::string>{"early", "plain", "future", "late"});

    TaskFilter all;
    all.limit = 10;
    auto listed = store.list_tasks(all);
    CHECK(listed.ok());
    CHECK((listed.ok() && listed->size() == 6));
}

TEST_CASE("a claim under a launch policy ends tasks asking for other users or roles, unlaunched") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, run_as_user, role, priority) VALUES"
        " ('plain', 'x', NULL, NULL, 0), ('as-root', 'x', 'root', NULL, 3),"
        " ('as-etl', 'x', 'etl', 'batch', 2), ('as-prod', 'x', '', 'prod', 1),"
        " ('blank', 'x', '', '', 0)");
    LaunchPolicy policy;
    policy.users = std::vector<std::string>{"etl", "nobody"};
    policy.roles = std::vector<std::string>{"batch"};
    auto window = store.claim_window(10, policy);
    REQUIRE(window.ok());
    std::vector<std::string> claimed, refused;
    for (const auto& t : window->tasks)
        claimed.push_back(t.key);
    for (const auto& t : window->refused)
        refused.push_back(t.key + " " + t.reason);
    CHECK(claimed == std::vector<std::string>{"as-etl", "plain", "blank"});
    CHECK(refused ==
          std::vector<std::string>{"as-root user_not_allowed", "as-prod role_not_allowed"});
    CHECK(window->tasks.at(0).attempt == 0);

    CHECK(sql.one("SELECT concat_ws(',', state, attempt, reason, mesos_task_id IS NULL,"
                  " finished_at IS NOT NULL) FROM mesoflow.tasks WHERE key = 'as-root'") ==
          "failed,0,user_not_allowed,t,t");
    CHECK_THAT(
        sql.one("SELECT message FROM mesoflow.tasks WHERE key = 'as-root'"),
        Catch::Contains("run_as_user 'root' is not allowed") && Catch::Contains("allowed_users"));
    CHECK_THAT(sql.one("SELECT message FROM mesoflow.tasks WHERE key = 'as-prod'"),
               Catch::Contains("role 'prod' is not allowed") && Catch::Contains("allowed_roles"));
    CHECK(sql.one("SELECT string_agg(kind || ' ' || from_state || '>' || to_state || ' '"
                  " || h.reason, '; ') FROM mesoflow.task_history h"
                  " JOIN mesoflow.tasks t ON t.id = h.task_id"
                  " WHERE t.key = 'as-root'") == "refused pending>failed user_not_allowed");
    CHECK(store.pending_count().value() == 0);

    // Without a policy (claim_pending) any user and role is claimed.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, run_as_user) VALUES ('later', 'x', 'root')");
    auto any = store.claim_pending(10);
    REQUIRE(any.ok());
    REQUIRE(any->size() == 1);
    CHECK(any->at(0).user == "root");
}

TEST_CASE(
    "a claim's refusals end those tasks failed in its own transaction; the rest are claimed") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, image, volumes, priority) VALUES"
        " ('ok', 'busybox', '[{\"host_path\": \"/data\", \"container_path\": \"/d\"}]', 2),"
        " ('bad', 'busybox', '[{\"host_path\": \"/etc\", \"container_path\": \"/d\"}]', 1),"
        " ('plain', 'busybox', NULL, 0)");
    // A refused task that ran before keeps its earlier attempt.
    sql.exec(
        "UPDATE mesoflow.tasks SET attempt = 1, mesos_task_id = 'mf-' || id || '-1'"
        " WHERE key = 'bad'");
    LaunchPolicy policy;
    std::vector<std::string> judged;
    policy.refuse = [&judged](const TaskSpec& spec) -> std::optional<ClaimRefusal> {
        judged.push_back(spec.key);
        for (const auto& v : spec.volumes) {
            if (v.host_path == "/etc")
                return ClaimRefusal{"volume_not_allowed", "volume host_path '/etc' is refused"};
        }
        return std::nullopt;
    };
    auto window = store.claim_window(10, policy);
    REQUIRE(window.ok());
    CHECK(judged == std::vector<std::string>{"ok", "bad", "plain"});
    std::vector<std::string> claimed;
    for (const auto& t : window->tasks)
        claimed.push_back(t.key);
    CHECK(claimed == std::vector<std::string>{"ok", "plain"});
    REQUIRE(window->refused.size() == 1);
    CHECK(window->refused[0].key == "bad");
    CHECK(window->refused[0].reason == "volume_not_allowed");
    CHECK(window->refused[0].message == "volume host_path '/etc' is refused");

    CHECK(sql.one("SELECT concat_ws(',', state, attempt, mesos_task_id = 'mf-' || id || '-1',"
                  " reason, message, finished_at IS NOT NULL) FROM mesoflow.tasks"
                  " WHERE key = 'bad'") ==
          "failed,1,t,volume_not_allowed,volume host_path '/etc' is refused,t");
    CHECK(sql.one("SELECT string_agg(concat_ws(' ', kind, h.attempt, from_state || '>' || to_state,"
                  " h.reason), '; ') FROM mesoflow.task_history h"
                  " JOIN mesoflow.tasks t ON t.id = h.task_id WHERE t.key = 'bad'") ==
          "refused 1 pending>failed volume_not_allowed");
    CHECK(sql.one("SELECT string_agg(state || ' ' || attempt, ',' ORDER BY key)"
                  " FROM mesoflow.tasks WHERE key <> 'bad'") == "launching 1,launching 1");
    CHECK(store.pending_count().value() == 0);
}

TEST_CASE("placements before ACCEPT: only attempts still launching, not killed, not held") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) VALUES ('go', 'x'), ('killed', 'x'),"
        " ('held', 'x'), ('stale', 'x')");
    auto claimed = store.claim_pending(10);
    REQUIRE(claimed->size() == 4);
    sql.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE key = 'killed'");
    Sql other(dsn);
    other.exec("BEGIN");
    other.exec("SELECT 1 FROM mesoflow.tasks WHERE key = 'held' FOR UPDATE");
    std::vector<LaunchRecord> records;
    for (const auto& spec : *claimed)
        records.push_back(placement_of(spec, "A1"));
    records[3].attempt = 7;  // 'stale': not the row's attempt
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('gone', 'x')");
    auto gone = store.claim_pending(1);
    REQUIRE(gone->size() == 1);
    records.push_back(placement_of(gone->front(), "A1"));
    sql.exec("DELETE FROM mesoflow.tasks WHERE key = 'gone'");
    auto placed = store.place_attempts(records);
    REQUIRE(placed.ok());
    CHECK(placed->placed == std::vector<std::int64_t>{claimed->at(0).id});
    // Killed, at another attempt or gone: never placeable. Held: maybe later.
    CHECK(placed->stale ==
          std::vector<std::int64_t>{claimed->at(1).id, claimed->at(3).id, gone->front().id});
    other.exec("COMMIT");
    CHECK(sql.one("SELECT state || ' ' || agent_id || ' ' || offer_id FROM mesoflow.tasks"
                  " WHERE key = 'go'") == "launching A1 offer-A1");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE agent_id IS NOT NULL") == 1);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'launch'") == 1);
    // Once free, the held row is placed like any other.
    auto later = store.place_attempts({records[2]});
    REQUIRE(later.ok());
    CHECK(later->placed == std::vector<std::int64_t>{claimed->at(2).id});
    CHECK(later->stale.empty());
    // Placed already: a second placement of the attempt is stale, not placed again.
    auto again = store.place_attempts({records[2]});
    REQUIRE(again.ok());
    CHECK(again->placed.empty());
    CHECK(again->stale == std::vector<std::int64_t>{claimed->at(2).id});
}

TEST_CASE(
    "unplaceable claims: the reason on rows still claimed, cleared by a placement; ended "
    "rows fail uncounted") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) VALUES ('big', 'x'), ('later', 'x'),"
        " ('placed', 'x'), ('kill', 'x')");
    auto claimed = store.claim_pending(10);
    REQUIRE(claimed->size() == 4);
    const auto& big = claimed->at(0);
    const auto& later = claimed->at(1);
    const auto& placed = claimed->at(2);
    const auto& kill = claimed->at(3);
    REQUIRE(store.record_placements({placement_of(placed, "A1")}).value() == 1);
    const std::string why = "needs cpus 64, largest offer 8";
    std::vector<UnplaceableNote> notes;
    for (const auto* s : {&big, &later, &placed})
        notes.push_back({s->id, s->attempt + 1, why});
    notes.push_back({kill.id, 7, why});  // not the row's attempt
    auto noted = store.note_unplaceable(notes);
    REQUIRE(noted.ok());
    CHECK(*noted == std::vector<std::int64_t>{big.id, later.id});  // the placed one is left alone
    CHECK(sql.one("SELECT state || ' ' || reason || ' ' || message FROM mesoflow.tasks"
                  " WHERE key = 'big'") == "launching unplaceable " + why);
    // A placement after all: the reason goes.
    REQUIRE(store.record_placements({placement_of(later, "A2")}).value() == 1);
    CHECK(sql.one("SELECT coalesce(reason, '-') || coalesce(message, '-') FROM mesoflow.tasks"
                  " WHERE key = 'later'") == "--");
    // Ending: only claimed, never placed, not kill-requested rows.
    sql.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE key = 'kill'");
    notes.back().attempt = kill.attempt + 1;
    auto ended = store.fail_unplaceable(notes);
    REQUIRE(ended.ok());
    CHECK(*ended == std::vector<std::int64_t>{big.id});
    CHECK(sql.one("SELECT state || ' ' || attempt || ' ' || coalesce(mesos_task_id, '-') || ' ' ||"
                  " reason || ' ' || message || ' ' || (finished_at IS NOT NULL)"
                  " FROM mesoflow.tasks WHERE key = 'big'") ==
          "failed 0 - unplaceable " + why + " true");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'refused'"
                    " AND reason = 'unplaceable'") == 1);
    CHECK(sql.one("SELECT state FROM mesoflow.tasks WHERE key = 'kill'") == "launching");
}
