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
        {"unsettled (a drop answering an invalid offer) before any word of the attempt: "
         "reconciled, and unknown to the master it never ran",
         update(S::dropped, false),
         result(UpdateOutcome::unsettled, TaskState::launching),
         {false, false, false, UpdateLog::ignored, true, false, true},
         false},
        {"unsettled once the attempt was heard of: reconciled, its fate the master's answer",
         update(S::dropped, false),
         result(UpdateOutcome::unsettled, TaskState::running),
         {false, false, false, UpdateLog::ignored, true, false, false},
         false},
        {"row locked by another session: kept back, not acknowledged, nothing else",
         update(S::finished),
         result(UpdateOutcome::row_locked),
         {false, false, false, UpdateLog::none, false, true},
         false},
        {"row locked, alive: not killed, only kept back",
         update(S::running),
         result(UpdateOutcome::row_locked),
         {false, false, false, UpdateLog::none, false, true},
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
        // An attempt that ended (or went back to pending) frees room in a
        // queue held at its max_running: exactly the updates that stop
        // kill re-sends.
        CHECK(reaction.ended == row.expected.forget_kill);
        CHECK(reaction.applied + reaction.ignored + reaction.kept == 1);
        CHECK(reaction.applied == (row.r.outcome == UpdateOutcome::applied ? 1u : 0u));
        CHECK(reaction.kept == (row.r.outcome == UpdateOutcome::row_locked ? 1u : 0u));
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

TEST_CASE(
    "updates and placements skipped for a locked row are kept back and retried with a "
    "back-off of their own; a retry already armed takes later ones along") {
    using scheduler::LockedRetry;
    struct Row {
        const char* why;
        std::size_t kept;
        bool still_kept;
        std::chrono::milliseconds backoff;
        LockedRetry expected;
    };
    const std::vector<Row> rows = {
        {"nothing skipped, nothing kept: the back-off starts over",
         0,
         false,
         1600ms,
         {false, 0ms, 100ms}},
        {"nothing skipped while others are kept: the back-off stays",
         0,
         true,
         1600ms,
         {false, 0ms, 1600ms}},
        {"first skip: retry after the minimum, doubled next time",
         3,
         false,
         100ms,
         {true, 100ms, 200ms}},
        {"skipped again on the retry: wait longer", 1, false, 800ms, {true, 800ms, 1600ms}},
        {"the back-off stops at its maximum", 1, false, 5000ms, {true, 5000ms, 5000ms}},
        {"skipped while a retry is armed: it goes with that retry",
         2,
         true,
         400ms,
         {false, 0ms, 400ms}},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        CHECK(scheduler::on_rows_locked(row.kept, row.still_kept, row.backoff) == row.expected);
    }
}

TEST_CASE("a batch with a locked row acknowledges the rest and keeps back only that row's") {
    auto other = update(MesosTaskState::finished);
    other.mesos_task_id = "mf-2-1";
    const std::vector<task::StatusUpdate> batch = {update(MesosTaskState::running), other,
                                                   update(MesosTaskState::finished)};
    const std::vector<task::UpdateResult> results = {
        result(UpdateOutcome::row_locked), result(UpdateOutcome::applied, TaskState::finished),
        result(UpdateOutcome::row_locked)};
    const auto reaction = scheduler::react_to_commit(batch, results);
    REQUIRE(reaction.updates.size() == 3);
    CHECK(reaction.kept == 2);
    CHECK(reaction.applied == 1);
    CHECK((reaction.updates[0].keep && !reaction.updates[0].acknowledge));
    CHECK((!reaction.updates[1].keep && reaction.updates[1].acknowledge));
    CHECK((reaction.updates[2].keep && !reaction.updates[2].acknowledge));
}

TEST_CASE("a lane is stuck once it has had work and no commit for kLaneStuckAfter") {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point t0{};
    struct Row {
        const char* why;
        std::optional<Clock::time_point> waiting_since;
        Clock::time_point now;
        bool stuck;
    };
    const std::vector<Row> rows = {
        {"no work: never stuck", std::nullopt, t0 + 1h, false},
        {"work just came", t0, t0, false},
        {"a moment short of the bound", t0, t0 + scheduler::kLaneStuckAfter - 1ms, false},
        {"at the bound", t0, t0 + scheduler::kLaneStuckAfter, true},
        {"long past it", t0, t0 + 10min, true},
    };
    for (const auto& row : rows) {
        INFO(row.why);
        CHECK(scheduler::lane_stuck(row.waiting_since, row.now) == row.stuck);
    }
}
