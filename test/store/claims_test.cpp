// claim_pending, record_placements, release_claims and the never-launched
// path, against a real PostgreSQL.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <map>

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

TEST_CASE("a claim reads env, labels and constraints exactly, numbers too large for a double too") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, env, labels, constraints) VALUES"
        " ('big', 'true', '{\"KEEP\": \"yes\", \"N\": 1e400, \"R\": 0.10}',"
        " '{\"team\": \"etl\", \"n\": 1e400}',"
        " '[[\"hostname\", \"EQUALS\", \"no-such-host\"], [\"x\", \"EQUALS\", 1e400]]')");
    const std::string huge = "1" + std::string(400, '0');  // as jsonb stores 1e400
    auto claimed = store.claim_pending(10);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 1);
    const auto& spec = claimed->at(0);
    CHECK(spec.unreadable.empty());
    using Pairs = std::vector<std::pair<std::string, std::string>>;
    CHECK(spec.env == Pairs{{"KEEP", "yes"}, {"N", huge}, {"R", "0.10"}});
    CHECK(spec.labels == Pairs{{"n", huge}, {"team", "etl"}});
    REQUIRE(spec.constraints.size() == 2);
    CHECK(spec.constraints[0].value == "no-such-host");
    CHECK(spec.constraints[1].attribute == "x");
    CHECK(spec.constraints[1].value == huge);
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

TEST_CASE(
    "after a claim or placement whose outcome is unknown, what no ACCEPT named is given back") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command) VALUES ('orphan', 'x'), ('held', 'x'),"
        " ('unsent', 'x'), ('sent', 'x'), ('started', 'x'), ('kill', 'x'), ('other_offer', 'x')");
    auto claimed = store.claim_pending(10);
    REQUIRE(claimed->size() == 7);
    std::map<std::string, TaskSpec> by_key;
    for (const auto& spec : *claimed)
        by_key[spec.key] = spec;
    std::vector<LaunchRecord> placed;
    for (const auto* key : {"unsent", "sent", "started", "other_offer"})
        placed.push_back(placement_of(by_key[key], std::string("A-") + key));
    REQUIRE(store.place_attempts(placed).value().placed.size() == 4);
    const auto started = by_key["started"].id;
    REQUIRE(store.apply_updates({update_of(started, 1, MesosTaskState::starting)}).ok());
    sql.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE key = 'kill'");
    // The caller still holds 'held'; the placements of 'unsent' and 'started'
    // were never sent, and 'other_offer' is named with an offer it was not
    // placed on.
    LaunchRecord wrong_offer = placed[3];
    wrong_offer.offer_id = "offer-elsewhere";
    auto back =
        store.release_unknown_claims({by_key["held"].id}, {placed[0], placed[2], wrong_offer});
    REQUIRE(back.ok());
    CHECK(back->size() == 3);
    const auto row = [&](const char* key) {
        return sql.one(
            "SELECT state || ' ' || attempt || ' ' || coalesce(agent_id, '-') || ' ' ||"
            " coalesce(offer_id, '-') || ' ' || coalesce(mesos_task_id, '-') FROM mesoflow.tasks"
            " WHERE key = '" +
            std::string(key) + "'");
    };
    CHECK(row("orphan") == "pending 0 - - -");
    CHECK(row("unsent") == "pending 0 - - -");
    CHECK(row("kill") == "killed 0 - - -");
    CHECK(row("held").starts_with("launching 1 - -"));
    CHECK(row("sent").starts_with("launching 1 A-sent offer-A-sent"));
    CHECK(row("other_offer").starts_with("launching 1 A-other_offer offer-A-other_offer"));
    CHECK(row("started").starts_with("starting 1 "));
    // Given back, they are claimed again at the same attempt.
    auto again = store.claim_pending(10);
    REQUIRE(again->size() == 2);
    CHECK(again->at(0).attempt == 0);
    CHECK(again->at(1).attempt == 0);
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
    // Since schema 9 the timeout's bound is a rule of the tasks_check_values trigger.
    sql.exec("ALTER TABLE mesoflow.tasks DISABLE TRIGGER tasks_check_values");
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
    // One launch row for each attempt placed, none for the others.
    CHECK(sql.one("SELECT string_agg(t.key, ',' ORDER BY t.key) FROM mesoflow.task_history h"
                  " JOIN mesoflow.tasks t ON t.id = h.task_id WHERE h.kind = 'launch'") ==
          "go,held");
}

TEST_CASE("a placement whose text holds a NUL byte is refused for good and writes nothing") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('one', 'x'), ('two', 'x')");
    auto claimed = store.claim_pending(10);
    REQUIRE(claimed->size() == 2);
    auto good = placement_of(claimed->at(0), "A1");
    auto bad = placement_of(claimed->at(1), "A1");
    bad.offer_id = std::string("offer\0-1", 9);
    auto placed = store.place_attempts({good, bad});
    REQUIRE_FALSE(placed.ok());
    CHECK(placed.error().kind == mesoflow::ErrorKind::permanent);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE agent_id IS NOT NULL") == 0);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history") == 0);
    // Alone, the good one is placed (the runtime places a refused batch one
    // by one, and quarantines only the record refused alone).
    REQUIRE(store.place_attempts({good})->placed.size() == 1);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'launch'") == 1);
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

TEST_CASE("a claim takes from each queue by weighted turns, each queue in its own order") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.queues (name, weight) VALUES ('a', 3)");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, priority)"
        " SELECT 'a-' || i, 'x', 'a', 0 FROM generate_series(1, 100) i");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, priority)"
        " SELECT 'b-' || i, 'x', 'b', i FROM generate_series(1, 100) i");
    auto window = store.claim_window(40, {});
    REQUIRE(window.ok());
    REQUIRE(window->tasks.size() == 40);
    int a = 0, b = 0, best_b = 0;
    for (const auto& t : window->tasks) {
        (t.queue == "a" ? a : b)++;
        if (t.queue == "b")
            best_b = std::max(best_b, t.priority);
    }
    CHECK(a == 30);
    CHECK(b == 10);
    // Queue b's ten are its highest priorities.
    CHECK(best_b == 100);
    CHECK(sql.count("SELECT min(priority) FROM mesoflow.tasks WHERE queue = 'b'"
                    " AND state = 'launching'") == 91);
    // Both queues hold more: the claim says so.
    CHECK(window->more_due);
    CHECK_FALSE(window->queue_at_cap);

    // A queue with nothing due leaves its turns to the others.
    sql.exec(
        "UPDATE mesoflow.tasks SET not_before = now() + interval '1 hour'"
        " WHERE queue = 'b' AND state = 'pending'");
    window = store.claim_window(40, {});
    REQUIRE(window.ok());
    CHECK(window->tasks.size() == 40);
    CHECK(std::all_of(window->tasks.begin(), window->tasks.end(),
                      [](const auto& t) { return t.queue == "a"; }));
}

TEST_CASE("max_running caps a queue's claimed and launched tasks exactly, and 0 pauses it") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.queues (name, max_running) VALUES ('capped', 5)");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue)"
        " SELECT 'c-' || i, 'x', 'capped' FROM generate_series(1, 20) i");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command)"
        " SELECT 'd-' || i, 'x' FROM generate_series(1, 20) i");
    // Two of the queue's tasks already run (as after a restart).
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'running', attempt = 1,"
        " mesos_task_id = 'mf-' || id || '-1', agent_id = 'S1'"
        " WHERE key IN ('c-1', 'c-2')");
    auto window = store.claim_window(100, {});
    REQUIRE(window.ok());
    const auto capped = std::count_if(window->tasks.begin(), window->tasks.end(),
                                      [](const auto& t) { return t.queue == "capped"; });
    CHECK(capped == 3);
    CHECK(window->tasks.size() == 23);
    CHECK(window->queue_at_cap);
    CHECK_FALSE(window->more_due);
    // At the cap: nothing more, and the queue's pending rows are not counted
    // as launchable (no REVIVE for them).
    window = store.claim_window(100, {});
    REQUIRE(window.ok());
    CHECK(window->tasks.empty());
    CHECK(window->queue_at_cap);
    CHECK(store.pending_count().value() == 0);

    // One ends: exactly one more.
    sql.exec("UPDATE mesoflow.tasks SET state = 'finished' WHERE key = 'c-1'");
    CHECK(store.pending_count().value() == 15);
    window = store.claim_window(100, {});
    REQUIRE(window.ok());
    CHECK(window->tasks.size() == 1);
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE queue = 'capped'"
                    " AND state IN ('launching', 'running')") == 5);

    // 0 pauses the queue; NULL lifts the cap.
    sql.exec("UPDATE mesoflow.queues SET max_running = 0");
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'finished' WHERE queue = 'capped'"
        " AND state <> 'pending'");
    CHECK(store.claim_window(100, {})->tasks.empty());
    sql.exec("UPDATE mesoflow.queues SET max_running = NULL");
    CHECK(store.claim_window(100, {})->tasks.size() == 14);
}

TEST_CASE("queue usage counts placed attempts only, by queue, with the settings") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.queues (name, weight, max_running) VALUES ('idle', 2, 7)");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, cpus, mem) VALUES"
        " ('p', 'x', 'q', 2, 100), ('c', 'x', 'q', 3, 100), ('r', 'x', 'q', 4, 100)");
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'launching', attempt = 1,"
        " mesos_task_id = 'mf-' || id || '-1' WHERE key = 'c'");
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'running', attempt = 1,"
        " mesos_task_id = 'mf-' || id || '-1', agent_id = 'S1' WHERE key = 'r'");
    auto usage = store.queue_usage();
    REQUIRE(usage.ok());
    REQUIRE(usage->size() == 2);
    CHECK(usage->at(0).queue == "idle");
    CHECK(usage->at(0).weight == 2);
    CHECK(usage->at(0).max_running == 7);
    CHECK(usage->at(0).active == 0);
    CHECK(usage->at(1).queue == "q");
    CHECK(usage->at(1).active == 1);
    CHECK(usage->at(1).cpus == 4);
    CHECK(usage->at(1).mem_mb == 100);

    auto summaries = store.queue_summaries();
    REQUIRE(summaries.ok());
    REQUIRE(summaries->size() == 2);
    const auto& q = summaries->at(1);
    CHECK(q.settings.name == "q");
    CHECK_FALSE(q.configured);
    CHECK(q.pending == 1);
    CHECK(q.claimed == 1);
    CHECK(q.running == 1);
    CHECK(q.cpus == 7);
}

TEST_CASE("every task not launched yet has a reason: back-off, its queue's cap, in line, claimed") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.queues (name, max_running) VALUES ('capped', 1)");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, not_before) VALUES"
        " ('later', 'x', 'default', now() + interval '1 hour'),"
        " ('capped-1', 'x', 'capped', now()), ('capped-2', 'x', 'capped', now()),"
        " ('free', 'x', 'default', now())");
    // One claim: capped-1 and free become claimed; capped-2 waits for the cap.
    auto window = store.claim_window(10, {});
    REQUIRE(window.ok());
    REQUIRE(window->tasks.size() == 2);
    auto reason_of = [&](const std::string& key) {
        return sql.one(
            "SELECT reason || ': ' || detail FROM mesoflow.pending_reasons"
            " WHERE key = '" +
            key + "'");
    };
    CHECK_THAT(reason_of("later"), Catch::StartsWith("retry_backoff: retry back-off: not before "));
    CHECK(reason_of("capped-2") ==
          "queue_at_max_running: its queue runs 1 tasks, its max_running is 1");
    CHECK_THAT(reason_of("free"), Catch::StartsWith("claimed: "));
    // mesoflow writes why a claimed task waits; the view shows it.
    const auto free_id = sql.count("SELECT id FROM mesoflow.tasks WHERE key = 'free'");
    auto written = store.note_waiting({WaitingNote{free_id, 1, "no_offers", "no offer came"}});
    REQUIRE(written.ok());
    CHECK(*written == std::vector<std::int64_t>{free_id});
    CHECK(reason_of("free") == "no_offers: no offer came");
    // The counts (taken by groups, from the indexes) are the view's, grouped.
    auto counted = [&] {
        auto counts = store.pending_reason_counts();
        REQUIRE(counts.ok());
        std::map<std::string, std::int64_t> by;
        for (const auto& c : *counts)
            by[c.queue + "/" + c.reason] = c.tasks;
        return by;
    };
    auto viewed = [&] {
        std::map<std::string, std::int64_t> by;
        const auto text = sql.one(
            "SELECT coalesce(string_agg(queue || '/' || reason || '=' || n, ','"
            " ORDER BY queue, reason), '') FROM (SELECT queue, reason, count(*) AS n"
            " FROM mesoflow.pending_reasons GROUP BY 1, 2) g");
        std::size_t at = 0;
        while (at < text.size()) {
            auto end = text.find(',', at);
            if (end == std::string::npos)
                end = text.size();
            const auto item = text.substr(at, end - at);
            const auto eq = item.rfind('=');
            by[item.substr(0, eq)] = std::stoll(item.substr(eq + 1));
            at = end + 1;
        }
        return by;
    };
    CHECK(counted() == std::map<std::string, std::int64_t>{{"capped/claimed", 1},
                                                           {"capped/queue_at_max_running", 1},
                                                           {"default/no_offers", 1},
                                                           {"default/retry_backoff", 1}});
    CHECK(counted() == viewed());
    // The same reason again writes nothing; NULL clears it.
    CHECK(store.note_waiting({WaitingNote{free_id, 1, "no_offers", "no offer came"}})->empty());
    CHECK(store.note_waiting({WaitingNote{free_id, 1, std::nullopt, std::nullopt}})->size() == 1);
    CHECK_THAT(reason_of("free"), Catch::StartsWith("claimed: "));
    // A placed task has no reason: it is not in the view.
    sql.exec("UPDATE mesoflow.tasks SET agent_id = 'S1' WHERE key = 'free'");
    CHECK(reason_of("free").empty());
    sql.exec(
        "UPDATE mesoflow.tasks SET state = 'pending', attempt = 0, mesos_task_id = NULL"
        " WHERE key = 'capped-1'");
    CHECK(reason_of("capped-2") ==
          "in_line: in line in its queue: claimed as the tasks ahead"
          " of it launch");

    auto counts = store.pending_reason_counts();
    REQUIRE(counts.ok());
    std::map<std::string, std::int64_t> by;
    for (const auto& c : *counts)
        by[c.queue + "/" + c.reason] = c.tasks;
    CHECK(by ==
          std::map<std::string, std::int64_t>{{"capped/in_line", 2}, {"default/retry_backoff", 1}});
    CHECK(counted() == viewed());
    auto one = store.pending_reason(sql.count("SELECT id FROM mesoflow.tasks WHERE key = 'later'"));
    REQUIRE(one.ok());
    REQUIRE(one->has_value());
    CHECK((*one)->reason == "retry_backoff");
}

TEST_CASE("rows another session holds are skipped and the next ones claimed, in every queue") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command)"
        " SELECT 'q-' || i, 'x' FROM generate_series(1, 100) i");
    // A producer's open transaction holds the first 30 rows.
    Sql other(dsn);
    other.exec("BEGIN");
    other.exec(
        "SELECT id FROM mesoflow.tasks WHERE key IN (SELECT 'q-' || i FROM"
        " generate_series(1, 30) i) FOR UPDATE");
    auto window = store.claim_window(20, {});
    REQUIRE(window.ok());
    CHECK(window->tasks.size() == 20);
    CHECK(std::none_of(window->tasks.begin(), window->tasks.end(),
                       [](const auto& t) { return std::stoi(t.key.substr(2)) <= 30; }));
    other.exec("ROLLBACK");
}

TEST_CASE(
    "a claim writes each row as it is when written: one a producer gives a user not allowed "
    "after the claim read it is not claimed (the next claim refuses it), nor one it kills") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    auto store = store_waiting_for_held_rows(dsn, "changed-claim-test");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, run_as_user, priority) VALUES"
        " ('becomes-root', 'x', 'etl', 3), ('killed', 'x', 'etl', 2), ('same', 'x', 'etl', 1)");
    // Another session holds two rows, so the claim's write waits for them
    // after the claim has read them.
    Sql other(dsn);
    other.exec("BEGIN");
    other.exec("SELECT 1 FROM mesoflow.tasks WHERE key IN ('becomes-root', 'killed') FOR UPDATE");
    LaunchPolicy policy;
    policy.users = std::vector<std::string>{"etl"};
    auto pending = std::async(std::launch::async, [&] { return store.claim_window(10, policy); });
    wait_until_lock_wait(sql, "changed-claim-test", pending);
    other.exec("UPDATE mesoflow.tasks SET run_as_user = 'root' WHERE key = 'becomes-root'");
    other.exec("UPDATE mesoflow.tasks SET kill_requested = true WHERE key = 'killed'");
    other.exec("COMMIT");
    auto window = pending.get();
    REQUIRE(window.ok());
    REQUIRE(window->tasks.size() == 1);
    CHECK(window->tasks[0].key == "same");
    // Not claimed: the row the claim read was allowed, the row it would
    // write is not. The next claim reads it as it is, and refuses it.
    CHECK(window->refused.empty());
    CHECK(sql.one("SELECT string_agg(key || ' ' || state || ' ' || attempt, ', ' ORDER BY key)"
                  " FROM mesoflow.tasks") ==
          "becomes-root pending 0, killed killed 0, same launching 1");
    auto next = store.claim_window(10, policy);
    REQUIRE(next.ok());
    CHECK(next->tasks.empty());
    REQUIRE(next->refused.size() == 1);
    CHECK(next->refused[0].key == "becomes-root");
    CHECK(next->refused[0].reason == "user_not_allowed");
}

TEST_CASE(
    "a claim does not take a row a producer moves, after the claim read it, into a queue at its "
    "max_running") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    auto store = store_waiting_for_held_rows(dsn, "moved-claim-test");
    sql.exec("INSERT INTO mesoflow.queues (name, max_running) VALUES ('capped', 1)");
    sql.exec("INSERT INTO mesoflow.tasks (key, command, queue) VALUES ('runs', 'x', 'capped')");
    REQUIRE(store.claim_pending(1)->size() == 1);
    sql.exec("INSERT INTO mesoflow.tasks (key, command) VALUES ('moves', 'x')");
    Sql other(dsn);
    other.exec("BEGIN");
    other.exec("SELECT 1 FROM mesoflow.tasks WHERE key = 'moves' FOR UPDATE");
    auto pending = std::async(std::launch::async, [&] { return store.claim_window(10, {}); });
    wait_until_lock_wait(sql, "moved-claim-test", pending);
    other.exec("UPDATE mesoflow.tasks SET queue = 'capped' WHERE key = 'moves'");
    other.exec("COMMIT");
    auto window = pending.get();
    REQUIRE(window.ok());
    CHECK(window->tasks.empty());
    CHECK(sql.one("SELECT state || ' ' || queue FROM mesoflow.tasks WHERE key = 'moves'") ==
          "pending capped");
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE queue = 'capped'"
                    " AND phase = 'live'") == 1);
    // Its queue at its cap, the next claim leaves it waiting too.
    CHECK(store.claim_window(10, {})->tasks.empty());
}

TEST_CASE("the claim's turns follow what each queue holds: one far below its share goes first") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    // Equal weights; tasks of 1 cpu; a cluster of 100 cpus of which queue a
    // holds 60 and queue b none.
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, cpus, mem)"
        " SELECT q || '-' || i, 'x', q, 1, 64 FROM generate_series(1, 100) i,"
        " (VALUES ('a'), ('b')) v(q)");
    ClaimShares shares;
    shares.capacity_cpus = 100;
    shares.capacity_mem_mb = 1e6;
    shares.used = {{"a", 0.6}, {"b", 0.0}};
    auto window = store.claim_window(80, {}, shares);
    REQUIRE(window.ok());
    REQUIRE(window->tasks.size() == 80);
    const auto b = std::count_if(window->tasks.begin(), window->tasks.end(),
                                 [](const auto& t) { return t.queue == "b"; });
    // b catches up to a's 60 (60 turns alone), then they alternate: 70 and 10.
    CHECK(b == 70);
    // Large tasks count by their size: a queue of 10-cpu tasks gets a tenth
    // as many as one of 1-cpu tasks.
    sql.exec("DELETE FROM mesoflow.tasks");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, cpus, mem)"
        " SELECT 'big-' || i, 'x', 'big', 10, 64 FROM generate_series(1, 50) i");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, cpus, mem)"
        " SELECT 'small-' || i, 'x', 'small', 1, 64 FROM generate_series(1, 200) i");
    shares.used.clear();
    window = store.claim_window(110, {}, shares);
    REQUIRE(window.ok());
    const auto big = std::count_if(window->tasks.begin(), window->tasks.end(),
                                   [](const auto& t) { return t.queue == "big"; });
    CHECK(big == 10);
}

TEST_CASE("a launched task cannot change queue; an empty image opts out of the queue's image") {
    const std::string dsn = migrated_database();
    TaskStore store(dsn);
    Sql sql(dsn);
    sql.exec("INSERT INTO mesoflow.queues (name, image) VALUES ('img', 'busybox')");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue) VALUES"
        " ('in-image', 'true', 'img'), ('on-host', 'true', 'img')");
    sql.exec("UPDATE mesoflow.tasks SET image = image WHERE false");
    CHECK(sql.one("SELECT image FROM mesoflow.tasks WHERE key = 'in-image'") == "busybox");
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, queue, image) VALUES"
        " ('host-2', 'true', 'img', '')");
    CHECK(sql.one("SELECT coalesce(image, 'NULL') FROM mesoflow.tasks WHERE key = 'host-2'") ==
          "NULL");
    // Pending: it may move. Claimed: it may not.
    sql.exec("UPDATE mesoflow.tasks SET queue = 'other' WHERE key = 'on-host'");
    REQUIRE(store.claim_window(10, {})->tasks.size() == 3);
    CHECK_THAT(sql.error_of("UPDATE mesoflow.tasks SET queue = 'img' WHERE key = 'on-host'"),
               Catch::Contains("queue_changes_only_while_pending"));
    // Producers may not call the trigger function themselves.
    CHECK(sql.one("SELECT has_function_privilege('public', 'mesoflow.apply_queue_defaults()',"
                  " 'EXECUTE')") == "f");
}
