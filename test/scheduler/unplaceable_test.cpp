#include "mesoflow/scheduler/unplaceable.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace mesoflow::scheduler;
using namespace std::chrono_literals;

namespace {

UnplaceableTracker::TimePoint at(std::chrono::seconds s) {
    return UnplaceableTracker::TimePoint(s);
}

Unplaced why(UnplacedWhy w) {
    Unplaced u;
    u.why = w;
    return u;
}

std::vector<std::int64_t> ids(const std::vector<UnplacedAttempt>& v) {
    std::vector<std::int64_t> out;
    for (const auto& a : v)
        out.push_back(a.task_id);
    return out;
}

// One step of a table: an event at a time, then what due() answers then.
struct Step {
    std::int64_t second;
    enum { not_placed, crowded, forget, new_attempt, note_failed, none } event;
    std::int64_t task;
    std::vector<std::int64_t> note;
    std::vector<std::int64_t> fail;
};

void run(UnplaceableLimits limits, const std::vector<Step>& steps) {
    UnplaceableTracker tracker(limits);
    for (const auto& s : steps) {
        INFO("at second " << s.second << ", task " << s.task);
        const auto now = at(std::chrono::seconds(s.second));
        switch (s.event) {
            case Step::not_placed:
                tracker.not_placed(s.task, 1, why(UnplacedWhy::too_large), now);
                break;
            case Step::crowded:
                tracker.not_placed(s.task, 1, why(UnplacedWhy::crowded), now);
                break;
            case Step::forget:
                tracker.forget(s.task);
                break;
            case Step::new_attempt:
                tracker.not_placed(s.task, 2, why(UnplacedWhy::role_not_offered), now);
                break;
            case Step::note_failed:
                tracker.note_failed(s.task, 1);
                break;
            case Step::none:
                break;
        }
        const auto due = tracker.due(now);
        CHECK(ids(due.note) == s.note);
        CHECK(ids(due.fail) == s.fail);
    }
}

}  // namespace

TEST_CASE("an attempt unplaced for `after` is noted once; never ended without a timeout") {
    run({300s, 0s}, {
                        {0, Step::not_placed, 7, {}, {}},
                        {10, Step::not_placed, 8, {}, {}},
                        {299, Step::not_placed, 7, {}, {}},  // the time runs from the first
                        {300, Step::none, 0, {7}, {}},
                        {309, Step::not_placed, 7, {}, {}},  // noted once
                        {310, Step::none, 0, {8}, {}},
                        {100000, Step::none, 0, {}, {}},  // timeout 0: never ends
                    });
}

TEST_CASE("placed, released or crowded forgets: the time starts again") {
    run({300s, 0s}, {
                        {0, Step::not_placed, 7, {}, {}},
                        {0, Step::not_placed, 8, {}, {}},
                        {0, Step::not_placed, 9, {}, {}},
                        {200, Step::forget, 7, {}, {}},
                        {200, Step::crowded, 8, {}, {}},     // fits an offer: not unplaceable
                        {250, Step::not_placed, 8, {}, {}},  // from 250 again
                        {300, Step::none, 0, {9}, {}},
                        {549, Step::none, 0, {}, {}},
                        {550, Step::none, 0, {8}, {}},
                        {10000, Step::none, 0, {}, {}},  // 7 never comes
                    });
}

TEST_CASE("a new attempt of the task starts its own time") {
    run({300s, 0s}, {
                        {0, Step::not_placed, 7, {}, {}},
                        {200, Step::new_attempt, 7, {}, {}},
                        {300, Step::none, 0, {}, {}},
                        {500, Step::none, 0, {7}, {}},
                    });
}

TEST_CASE("with a timeout the attempt ends once and is forgotten; ending wins over noting") {
    run({300s, 3600s}, {
                           {0, Step::not_placed, 7, {}, {}},
                           {100, Step::not_placed, 8, {}, {}},
                           {300, Step::none, 0, {7}, {}},
                           {3599, Step::none, 0, {8}, {}},
                           {3600, Step::none, 0, {}, {7}},
                           {3700, Step::none, 0, {}, {8}},
                           {9000, Step::none, 0, {}, {}},
                       });
    // A timeout shorter than `after`: ends without a note first.
    run({300s, 60s}, {
                         {0, Step::not_placed, 7, {}, {}},
                         {60, Step::none, 0, {}, {7}},
                     });
}

TEST_CASE("a note that did not reach the row comes again; batches are in task order") {
    run({300s, 0s}, {
                        {0, Step::not_placed, 9, {}, {}},
                        {0, Step::not_placed, 3, {}, {}},
                        {0, Step::not_placed, 5, {}, {}},
                        {300, Step::none, 0, {3, 5, 9}, {}},
                        {301, Step::note_failed, 5, {5}, {}},
                        {302, Step::none, 0, {}, {}},
                    });
}

TEST_CASE("the tracker keeps the latest reason") {
    UnplaceableTracker tracker({300s, 0s});
    tracker.not_placed(1, 1, why(UnplacedWhy::too_large), at(0s));
    tracker.not_placed(1, 1, why(UnplacedWhy::role_not_offered), at(10s));
    const auto due = tracker.due(at(300s));
    REQUIRE(due.note.size() == 1);
    CHECK(due.note[0].why.why == UnplacedWhy::role_not_offered);
    CHECK(tracker.size() == 1);
    CHECK(tracker.noted() == 1);
}
