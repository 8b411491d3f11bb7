// What a commit causes, and what a failed commit causes: tables of (update,
// result) -> reaction. Nothing is acknowledged that the result does not show
// committed.
#include "mesoflow/scheduler/commit_reactions.hpp"

#include <catch2/catch.hpp>

using namespace mesoflow;
using namespace std::chrono_literals;
using scheduler::CommitFailure;
using scheduler::CommitFailureAction;
using scheduler::UpdateLog;
using scheduler::UpdateReaction;
using task::MesosTaskState;
using task::TaskState;
using task::UpdateOutcome;

namespace {

task::StatusUpdate update(MesosTaskState state, bool uuid = true) {
    task::StatusUpdate u;
    u.mesos_task_id = "mf-1-1";
    u.state = state;
    u.agent_id = "A1";
    if (uuid)
        u.uuid = "dXVpZA==";
    return u;
}

task::UpdateResult result(UpdateOutcome outcome, std::optional<TaskState> state = {},
                          std::optional<double> retry_in_s = {}) {
    task::UpdateResult r;
    r.outcome = outcome;
    r.task_state = state;
    r.retry_in_s = retry_in_s;
    return r;
}

}  // namespace

TEST_CASE("each committed update gets its acknowledgement, kill or log as its result says") {
    struct Row {
        const char* why;
        task::StatusUpdate u;
        task::UpdateResult r;
        UpdateReaction expected;
        bool repoll;
    };
    using S = MesosTaskState;
    const std::vector<Row> rows = {
        {"running applied: ack, quiet",
         update(S::running),
         result(UpdateOutcome::applied, TaskState::running),
         {true, false, false, UpdateLog::quiet, false},
         false},
        {"finished applied: ack, stop re-sending kills, logged",
         update(S::finished),
         result(UpdateOutcome::applied, TaskState::finished),
         {true, false, true, UpdateLog::state, false},
         false},
        {"lost and retried: ack, forget kills, look at the queue",
         update(S::lost),
         result(UpdateOutcome::applied, TaskState::pending, 10.0),
         {true, false, true, UpdateLog::state, false},
         true},
        {"a redelivery: ack again, nothing else",
         update(S::running),
         result(UpdateOutcome::duplicate, TaskState::running),
         {true, false, false, UpdateLog::none, false},
         false},
        {"an update without uuid is not acknowledged",
         update(S::running, false),
         result(UpdateOutcome::applied, TaskState::running),
         {false, false, false, UpdateLog::quiet, false},
         false},
        {"stale: ack, logged as ignored",
         update(S::starting),
         result(UpdateOutcome::stale, TaskState::running),
         {true, false, false, UpdateLog::ignored, false},
         false},
        {"an old attempt alive: killed",
         update(S::running),
         result(UpdateOutcome::stale_attempt_alive),
         {true, true, false, UpdateLog::ignored, false},
         false},
        {"unknown and alive: killed",
         update(S::staging),
         result(UpdateOutcome::unknown_task),
         {true, true, false, UpdateLog::ignored, false},
         false},
        {"unknown and killing: no second kill",
         update(S::killing),
         result(UpdateOutcome::unknown_task),
         {true, false, false, UpdateLog::ignored, false},
         false},
        {"unknown and over: nothing to kill",
         update(S::finished),
         result(UpdateOutcome::unknown_task),
         {true, false, false, UpdateLog::ignored, false},
         false},
        {"unsettled (a drop answering an invalid offer): the attempt is reconciled",
         update(S::dropped, false),
         result(UpdateOutcome::unsettled, TaskState::launching),
         {false, false, false, UpdateLog::ignored, true},
         false},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        const std::vector<task::StatusUpdate> batch = {row.u};
        const std::vector<task::UpdateResult> results = {row.r};
        const auto reaction = scheduler::react_to_commit(batch, results);
        REQUIRE(reaction.updates.size() == 1);
        CHECK(reaction.updates[0] == row.expected);
        CHECK(reaction.repoll == row.repoll);
        CHECK(reaction.applied + reaction.ignored == 1);
        CHECK(reaction.applied == (row.r.outcome == UpdateOutcome::applied ? 1u : 0u));
    }
}

TEST_CASE("a result list shorter than the batch acknowledges nothing it does not cover") {
    const std::vector<task::StatusUpdate> batch = {update(MesosTaskState::running),
                                                   update(MesosTaskState::finished)};
    const std::vector<task::UpdateResult> results = {
        result(UpdateOutcome::applied, TaskState::running)};
    const auto reaction = scheduler::react_to_commit(batch, results);
    REQUIRE(reaction.updates.size() == 2);
    CHECK(reaction.updates[0].acknowledge);
    CHECK_FALSE(reaction.updates[1].acknowledge);
}

TEST_CASE(
    "a failed commit is retried with back-off, split when refused for good, and one "
    "refused item is quarantined") {
    struct Row {
        const char* why;
        bool permanent;
        std::size_t items;
        std::chrono::milliseconds backoff;
        CommitFailure expected;
    };
    const std::vector<Row> rows = {
        {"transient: retry after the back-off, doubled next time",
         false,
         50,
         100ms,
         {CommitFailureAction::retry, 100ms, 200ms}},
        {"transient: the back-off stops at its maximum",
         false,
         50,
         4000ms,
         {CommitFailureAction::retry, 4000ms, 5000ms}},
        {"transient at the maximum stays there",
         false,
         1,
         5000ms,
         {CommitFailureAction::retry, 5000ms, 5000ms}},
        {"a transient failure of one item is retried, never dropped",
         false,
         1,
         100ms,
         {CommitFailureAction::retry, 100ms, 200ms}},
        {"permanent, many items: one by one, at once",
         true,
         50,
         400ms,
         {CommitFailureAction::one_by_one, 0ms, 400ms}},
        {"permanent, one item: quarantined",
         true,
         1,
         100ms,
         {CommitFailureAction::quarantine, 0ms, 100ms}},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        CHECK(scheduler::on_commit_failed(row.permanent, row.items, row.backoff) == row.expected);
    }
}
