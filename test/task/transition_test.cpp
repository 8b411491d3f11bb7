// The status-update rules as a pure function: tables of (row, update) ->
// outcome, without a database.
#include <catch2/catch.hpp>

#include "mesoflow/task/status_update.hpp"
#include "mesoflow/task/transition.hpp"

using namespace mesoflow::task;
using S = MesosTaskState;

namespace {

TaskSnapshot live(TaskState state, int attempt = 1, int max_attempts = 3) {
    TaskSnapshot row;
    row.state = state;
    row.attempt = attempt;
    row.max_attempts = max_attempts;
    row.retry_backoff_s = 10;
    return row;
}

}  // namespace

TEST_CASE("alive updates move a live attempt forward and never back") {
    struct Case {
        TaskState from;
        S update;
        UpdateOutcome outcome;
        TaskState to;
    };
    const Case cases[] = {
        {TaskState::launching, S::staging, UpdateOutcome::applied, TaskState::staging},
        {TaskState::launching, S::running, UpdateOutcome::applied, TaskState::running},
        {TaskState::staging, S::starting, UpdateOutcome::applied, TaskState::starting},
        {TaskState::running, S::killing, UpdateOutcome::applied, TaskState::killing},
        {TaskState::running, S::staging, UpdateOutcome::stale, TaskState::running},
        {TaskState::running, S::starting, UpdateOutcome::stale, TaskState::running},
        {TaskState::killing, S::running, UpdateOutcome::stale, TaskState::killing},
        {TaskState::running, S::running, UpdateOutcome::duplicate, TaskState::running},
        {TaskState::staging, S::staging, UpdateOutcome::duplicate, TaskState::staging},
    };
    for (const auto& c : cases) {
        CAPTURE(to_string(c.from), to_string(c.update));
        const auto t = decide(live(c.from), 1, c.update, std::nullopt);
        CHECK(t.outcome == c.outcome);
        CHECK(t.to == c.to);
        CHECK_FALSE(t.finishes);
    }
}

TEST_CASE("the first TASK_RUNNING of an attempt starts its clock") {
    CHECK(decide(live(TaskState::staging), 1, S::running, std::nullopt).starts);
    CHECK_FALSE(decide(live(TaskState::staging), 1, S::killing, std::nullopt).starts);
    CHECK_FALSE(decide(live(TaskState::running), 1, S::killing, std::nullopt).starts);
}

TEST_CASE("a health change of a running task is applied, the same health again is a duplicate") {
    auto row = live(TaskState::running);
    row.healthy = true;
    CHECK(decide(row, 1, S::running, false).outcome == UpdateOutcome::applied);
    CHECK(decide(row, 1, S::running, true).outcome == UpdateOutcome::duplicate);
    CHECK(decide(row, 1, S::running, std::nullopt).outcome == UpdateOutcome::duplicate);
}

TEST_CASE("terminal updates end the attempt as Mesos says when no retry applies") {
    struct Case {
        S update;
        TaskState to;
    };
    const Case cases[] = {{S::finished, TaskState::finished},
                          {S::failed, TaskState::failed},
                          {S::killed, TaskState::killed},
                          {S::error, TaskState::error}};
    for (const auto& c : cases) {
        CAPTURE(to_string(c.update));
        const auto t = decide(live(TaskState::running), 1, c.update, std::nullopt);
        CHECK(t.outcome == UpdateOutcome::applied);
        CHECK(t.to == c.to);
        CHECK(t.finishes);
        CHECK_FALSE(t.retry_in_s);
    }
}

TEST_CASE(
    "every state that says the attempt is gone sends the task back to pending while "
    "attempts remain") {
    for (const S state : {S::lost, S::dropped, S::gone, S::gone_by_operator}) {
        CAPTURE(to_string(state));
        CHECK(is_lost(state));
        const auto retried = decide(live(TaskState::running, 1, 3), 1, state, std::nullopt);
        CHECK(retried.outcome == UpdateOutcome::applied);
        CHECK(retried.to == TaskState::pending);
        REQUIRE(retried.retry_in_s);
        CHECK(*retried.retry_in_s == Approx(10));
        CHECK_FALSE(retried.finishes);

        const auto last = decide(live(TaskState::running, 3, 3), 3, state, std::nullopt);
        CHECK(last.to == TaskState::lost);
        CHECK(last.finishes);
        CHECK_FALSE(last.retry_in_s);
    }
}

TEST_CASE("retry back-off doubles per attempt and is capped") {
    CHECK(retry_delay_s(10, 1) == Approx(10));
    CHECK(retry_delay_s(10, 2) == Approx(20));
    CHECK(retry_delay_s(10, 3) == Approx(40));
    CHECK(retry_delay_s(0, 5) == Approx(0));
    CHECK(retry_delay_s(10, 1000) == Approx(kMaxRetryBackoffSeconds));
    const auto t = decide(live(TaskState::staging, 2, 3), 2, S::gone, std::nullopt);
    REQUIRE(t.retry_in_s);
    CHECK(*t.retry_in_s == Approx(20));
}

TEST_CASE("TASK_FAILED is retried only when the task asks for it") {
    auto row = live(TaskState::running, 1, 3);
    CHECK(decide(row, 1, S::failed, std::nullopt).to == TaskState::failed);
    row.retry_on_failure = true;
    CHECK(decide(row, 1, S::failed, std::nullopt).to == TaskState::pending);
    row.attempt = 3;
    CHECK(decide(row, 3, S::failed, std::nullopt).to == TaskState::failed);
}

TEST_CASE("a timed-out task killed by mesoflow ends failed with reason timeout, never retried") {
    auto row = live(TaskState::killing);
    row.timed_out = true;
    row.retry_on_failure = true;
    for (const S state : {S::killed, S::failed}) {
        const auto t = decide(row, 1, state, std::nullopt);
        CHECK(t.to == TaskState::failed);
        REQUIRE(t.reason);
        CHECK(*t.reason == "timeout");
    }
    CHECK(decide(row, 1, S::finished, std::nullopt).to == TaskState::finished);
    CHECK(decide(row, 1, S::lost, std::nullopt).to == TaskState::lost);
}

TEST_CASE("an attempt killed for its launch timeout is a lost attempt: counted, retried") {
    struct Case {
        TaskState from;
        int attempt;
        bool kill_requested;
        S update;
        TaskState to;
        const char* reason;  // "" : none of mesoflow's own
    };
    const Case cases[] = {
        // Attempts left: back to pending, counted (its back-off grows).
        {TaskState::staging, 1, false, S::killed, TaskState::pending, "launch_timeout"},
        {TaskState::launching, 1, false, S::killed, TaskState::pending, "launch_timeout"},
        {TaskState::starting, 2, false, S::killed, TaskState::pending, "launch_timeout"},
        // It reached RUNNING meanwhile: the kill still ends it as late.
        {TaskState::running, 1, false, S::killed, TaskState::pending, "launch_timeout"},
        // The last attempt: lost, not failed or killed.
        {TaskState::staging, 3, false, S::killed, TaskState::lost, "launch_timeout"},
        // Lost on the way: the retry policy as for any lost attempt.
        {TaskState::staging, 1, false, S::lost, TaskState::pending, ""},
        // What Mesos says otherwise stands.
        {TaskState::staging, 1, false, S::failed, TaskState::failed, ""},
        {TaskState::running, 1, false, S::finished, TaskState::finished, ""},
        // A kill the producer asked for wins.
        {TaskState::staging, 1, true, S::killed, TaskState::killed, ""},
    };
    for (const auto& c : cases) {
        INFO(to_string(c.from) << " attempt " << c.attempt << " <- " << to_string(c.update));
        auto row = live(c.from, c.attempt, 3);
        row.launch_timed_out = true;
        row.kill_requested = c.kill_requested;
        const auto t = decide(row, c.attempt, c.update, std::nullopt);
        CHECK(t.outcome == UpdateOutcome::applied);
        CHECK(t.to == c.to);
        CHECK_FALSE(t.unlaunched);
        CHECK(t.reason.value_or("") == c.reason);
        if (c.to == TaskState::pending) {
            REQUIRE(t.retry_in_s);
            CHECK(*t.retry_in_s == retry_delay_s(row.retry_backoff_s, c.attempt));
        }
    }
    // Without the mark, a kill is the end of the task.
    CHECK(decide(live(TaskState::staging), 1, S::killed, std::nullopt).to == TaskState::killed);
}

TEST_CASE("a task whose kill was requested is not retried and a lost attempt counts as killed") {
    auto row = live(TaskState::running);
    row.kill_requested = true;
    row.retry_on_failure = true;
    CHECK(decide(row, 1, S::lost, std::nullopt).to == TaskState::killed);
    CHECK(decide(row, 1, S::failed, std::nullopt).to == TaskState::failed);
}

TEST_CASE("once an attempt is over, redeliveries are duplicates and anything else is stale") {
    auto row = live(TaskState::finished);
    row.last_mesos_state = S::finished;
    CHECK(decide(row, 1, S::finished, std::nullopt).outcome == UpdateOutcome::duplicate);
    CHECK(decide(row, 1, S::failed, std::nullopt).outcome == UpdateOutcome::stale);
    CHECK(decide(row, 1, S::running, std::nullopt).outcome == UpdateOutcome::stale_attempt_alive);

    auto retrying = live(TaskState::pending);
    retrying.last_mesos_state = S::lost;
    CHECK(decide(retrying, 1, S::lost, std::nullopt).outcome == UpdateOutcome::duplicate);
    CHECK(decide(retrying, 1, S::gone, std::nullopt).outcome == UpdateOutcome::stale);
    const auto back = decide(retrying, 1, S::running, std::nullopt);
    CHECK(back.outcome == UpdateOutcome::stale_attempt_alive);
    CHECK(back.to == TaskState::pending);
}

TEST_CASE("updates about another attempt never touch the row") {
    const auto row = live(TaskState::running, 2);
    CHECK(decide(row, 1, S::running, std::nullopt).outcome == UpdateOutcome::stale_attempt_alive);
    CHECK(decide(row, 1, S::failed, std::nullopt).outcome == UpdateOutcome::stale);
    CHECK(decide(row, 3, S::running, std::nullopt).outcome == UpdateOutcome::unknown_task);
    for (const int attempt : {1, 3}) {
        CHECK(decide(row, attempt, S::finished, std::nullopt).to == TaskState::running);
    }
}

TEST_CASE("advancing the row makes the same update a duplicate") {
    auto row = live(TaskState::launching);
    for (const S state : {S::staging, S::running, S::finished}) {
        const auto t = decide(row, 1, state, std::nullopt);
        REQUIRE(t.outcome == UpdateOutcome::applied);
        advance(row, t, state, std::nullopt);
        CHECK(decide(row, 1, state, std::nullopt).outcome == UpdateOutcome::duplicate);
    }
    CHECK(row.state == TaskState::finished);
}

TEST_CASE("Mesos state names round-trip and unknown names are refused") {
    for (int i = 0; i <= static_cast<int>(S::unknown); ++i) {
        const auto state = static_cast<S>(i);
        CHECK(parse_mesos_task_state(to_string(state)) == state);
    }
    CHECK_FALSE(parse_mesos_task_state("TASK_BOGUS"));
    CHECK_FALSE(parse_mesos_task_state("running"));
}

TEST_CASE("exit status is read from the executors' messages") {
    CHECK(exit_status_from_message("Command exited with status 3") == 3);
    CHECK(exit_status_from_message("Container exited with status 137") == 137);
    CHECK_FALSE(exit_status_from_message("Command terminated with signal Killed"));
    CHECK_FALSE(exit_status_from_message("exited with status x"));
    CHECK_FALSE(exit_status_from_message(""));
}

TEST_CASE("a claimed attempt the master does not know goes back to pending uncounted") {
    auto row = live(TaskState::launching, 1, 1);
    row.placed = false;
    const auto t = decide(row, 1, S::unknown, std::nullopt, "REASON_RECONCILIATION");
    CHECK(t.outcome == UpdateOutcome::applied);
    CHECK(t.to == TaskState::pending);
    CHECK(t.unlaunched);
    REQUIRE(t.retry_in_s);
    CHECK(*t.retry_in_s == 0.0);
    advance(row, t, S::unknown, std::nullopt);
    CHECK(row.unlaunched_attempts == 1);

    // The next attempt of a max_attempts = 1 task still gets its one real try.
    auto next = live(TaskState::running, 2, 1);
    next.unlaunched_attempts = 1;
    const auto failed = decide(next, 2, S::lost, std::nullopt, "REASON_AGENT_REMOVED");
    CHECK(failed.to == TaskState::lost);
    next.max_attempts = 2;
    CHECK(decide(next, 2, S::lost, std::nullopt).to == TaskState::pending);
}

TEST_CASE("only reconciliation's answer about an unplaced claim skips the retry policy") {
    auto unplaced = live(TaskState::launching, 1, 1);
    unplaced.placed = false;
    CHECK(decide(unplaced, 1, S::lost, std::nullopt, "REASON_AGENT_REMOVED").to == TaskState::lost);
    unplaced.kill_requested = true;
    CHECK(decide(unplaced, 1, S::unknown, std::nullopt, "REASON_RECONCILIATION").to ==
          TaskState::killed);
}

TEST_CASE("an attempt out of reach keeps its row until its grace period is over") {
    struct Case {
        const char* what;
        TaskState state;
        S update;
        const char* reason;
        bool placed;
    };
    for (const auto& c : {
             Case{"partitioned agent", TaskState::running, S::unreachable, "REASON_AGENT_REMOVED",
                  true},
             Case{"failed-over master, agent not back", TaskState::running, S::unknown,
                  "REASON_RECONCILIATION", true},
             Case{"placed launch, agent not back", TaskState::launching, S::unknown,
                  "REASON_RECONCILIATION", true},
             Case{"staging on a partitioned agent", TaskState::staging, S::unreachable, "", true},
         }) {
        CAPTURE(c.what);
        auto row = live(c.state, 1, 1);
        row.placed = c.placed;
        const auto marked = decide(row, 1, c.update, std::nullopt, c.reason);
        CHECK(marked.outcome == UpdateOutcome::applied);
        CHECK(marked.to == c.state);
        CHECK(marked.unreachable);
        CHECK_FALSE(marked.retry_in_s);
        CHECK_FALSE(marked.finishes);
        CHECK_FALSE(marked.unlaunched);
        advance(row, marked, c.update, std::nullopt);
        CHECK(row.unreachable);

        // Reconciliation says so again: nothing changes.
        CHECK(decide(row, 1, c.update, std::nullopt, c.reason).outcome == UpdateOutcome::duplicate);

        // The grace period ends with the agent still away: the retry policy
        // (one attempt: lost; more: pending with back-off).
        const auto expired = decide(row, 1, S::lost, std::nullopt, kUnreachableExpiredReason);
        CHECK(expired.outcome == UpdateOutcome::applied);
        CHECK(expired.to == TaskState::lost);
        CHECK_FALSE(expired.unreachable);
        auto more = row;
        more.max_attempts = 3;
        CHECK(decide(more, 1, S::lost, std::nullopt, kUnreachableExpiredReason).to ==
              TaskState::pending);
    }
}

TEST_CASE("an unreachable attempt that reports itself alive is reachable again") {
    auto row = live(TaskState::running, 1, 1);
    row.unreachable = true;
    row.last_mesos_state = S::unreachable;
    const auto back = decide(row, 1, S::running, std::nullopt, "REASON_AGENT_REREGISTERED");
    CHECK(back.outcome == UpdateOutcome::applied);
    CHECK(back.to == TaskState::running);
    CHECK_FALSE(back.unreachable);
    advance(row, back, S::running, std::nullopt);
    CHECK_FALSE(row.unreachable);
    // The grace period's end then finds it back: nothing happens.
    const auto late = decide(row, 1, S::lost, std::nullopt, kUnreachableExpiredReason);
    CHECK(late.outcome == UpdateOutcome::stale);
    CHECK(late.to == TaskState::running);
    // A real TASK_LOST is still the retry policy's.
    CHECK(decide(row, 1, S::lost, std::nullopt, "REASON_AGENT_REMOVED").to == TaskState::lost);
}

TEST_CASE("an unreachable attempt of a task asked to stop ends at once") {
    auto killed = live(TaskState::running, 1, 3);
    killed.kill_requested = true;
    CHECK(decide(killed, 1, S::unreachable, std::nullopt).to == TaskState::killed);
    auto timed_out = live(TaskState::running, 1, 3);
    timed_out.timed_out = true;
    CHECK(decide(timed_out, 1, S::unreachable, std::nullopt).to == TaskState::lost);
}

TEST_CASE("a drop answering an invalid offer settles nothing: the attempt may run") {
    struct Case {
        TaskState from;
        S update;
        bool kill_requested;
    };
    const Case cases[] = {
        {TaskState::launching, S::dropped, false}, {TaskState::launching, S::lost, false},
        {TaskState::staging, S::dropped, false},   {TaskState::running, S::dropped, false},
        {TaskState::launching, S::dropped, true},
    };
    for (const auto& c : cases) {
        INFO(to_string(c.from) << " <- " << to_string(c.update) << " kill " << c.kill_requested);
        auto row = live(c.from, 1, 3);
        row.kill_requested = c.kill_requested;
        const auto t = decide(row, 1, c.update, std::nullopt, "REASON_INVALID_OFFERS");
        CHECK(t.outcome == UpdateOutcome::unsettled);
        CHECK(t.to == c.from);
        CHECK_FALSE(t.retry_in_s);
        CHECK_FALSE(t.finishes);
    }
    // About an older attempt, or one already over, it is stale as ever.
    CHECK(
        decide(live(TaskState::launching, 2), 1, S::dropped, std::nullopt, "REASON_INVALID_OFFERS")
            .outcome == UpdateOutcome::stale);
    CHECK(decide(live(TaskState::pending, 1), 1, S::dropped, std::nullopt, "REASON_INVALID_OFFERS")
              .outcome == UpdateOutcome::stale);
    // Reconciliation's answer then decides: alive, it runs on; unknown, the
    // retry policy (the attempt went to Mesos).
    CHECK(decide(live(TaskState::launching), 1, S::staging, std::nullopt, "REASON_RECONCILIATION")
              .to == TaskState::staging);
    const auto gone =
        decide(live(TaskState::launching), 1, S::gone, std::nullopt, "REASON_RECONCILIATION");
    CHECK(gone.to == TaskState::pending);
    CHECK_FALSE(gone.unlaunched);
}

TEST_CASE("an attempt whose ACCEPT the master never took, unknown to it, goes back uncounted") {
    for (const auto state : {S::gone, S::unknown, S::lost, S::dropped}) {
        INFO(to_string(state));
        auto row = live(TaskState::launching, 1, 1);  // placed: where it was to go is recorded
        const auto t = decide(row, 1, state, std::nullopt, "REASON_RECONCILIATION", true);
        CHECK(t.outcome == UpdateOutcome::applied);
        CHECK(t.to == TaskState::pending);
        CHECK(t.unlaunched);
        REQUIRE(t.retry_in_s);
        CHECK(*t.retry_in_s == 0.0);
    }
    // Only reconciliation's answer: any other loss follows the retry policy.
    CHECK(decide(live(TaskState::launching, 1, 1), 1, S::gone, std::nullopt, "REASON_AGENT_REMOVED",
                 true)
              .to == TaskState::lost);
    // Known to the master after all: it runs on.
    CHECK(decide(live(TaskState::launching, 1, 1), 1, S::running, std::nullopt,
                 "REASON_RECONCILIATION", true)
              .to == TaskState::running);
    // Without the runtime's word, a placed attempt's loss is counted.
    CHECK(
        decide(live(TaskState::launching, 1, 1), 1, S::gone, std::nullopt, "REASON_RECONCILIATION")
            .to == TaskState::lost);
}
