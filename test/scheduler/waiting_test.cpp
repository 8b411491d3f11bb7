// Why a claimed attempt waits, and when that reaches its row.
#include "mesoflow/scheduler/waiting.hpp"

#include <catch2/catch.hpp>

#include <set>

using mesoflow::scheduler::Waiting;
using mesoflow::scheduler::WaitingNote;
using mesoflow::scheduler::WaitingTracker;
using std::chrono::seconds;

namespace {
WaitingTracker::TimePoint at(int s) {
    return WaitingTracker::TimePoint(seconds(s));
}
}  // namespace

TEST_CASE("a claimed attempt's reason reaches its row after it waited, then at most once a wait") {
    WaitingTracker w(seconds(30));
    w.claimed(7, 1, at(0));
    w.offers_seen(at(0));
    CHECK(w.why(7) == Waiting::no_offers);
    // Not before it waited 30 s: attempts that launch soon cost no write.
    w.offers_seen(at(29));
    CHECK(w.due(at(29)).empty());
    CHECK(w.due(at(30)) == std::vector<WaitingNote>{{7, 1, Waiting::no_offers}});
    // Once.
    CHECK(w.due(at(31)).empty());
    // Offers came, the window was full: written, but not before 30 s after
    // the last note (reasons that flip from round to round cost little).
    w.window_full(7);
    w.offers_seen(at(32));
    CHECK(w.due(at(32)).empty());
    w.offers_seen(at(59));
    CHECK(w.due(at(60)) == std::vector<WaitingNote>{{7, 1, Waiting::launch_window_full}});
    // Looked at, crowded out by the round's other launches: `claimed` again
    // (the row's reason cleared), a wait later.
    w.looked_at(7, true);
    w.offers_seen(at(89));
    CHECK(w.due(at(89)).empty());
    CHECK(w.due(at(90)) == std::vector<WaitingNote>{{7, 1, Waiting::claimed}});
    // Unplaceable: the other tracker writes it; nothing here.
    w.looked_at(7, false);
    w.offers_seen(at(120));
    CHECK(w.due(at(120)).empty());
    // ... and back to crowded: the row's `unplaceable` is cleared.
    w.looked_at(7, true);
    w.offers_seen(at(121));
    CHECK(w.due(at(121)) == std::vector<WaitingNote>{{7, 1, Waiting::claimed}});
    // No offers at all for a wait: no_offers, whatever the last round said.
    CHECK(w.due(at(151)) == std::vector<WaitingNote>{{7, 1, Waiting::no_offers}});
    w.forget(7);
    CHECK(w.due(at(999)).empty());
    CHECK_FALSE(w.why(7));
}

TEST_CASE("waiting notes come in task order, and a failed note is due again") {
    WaitingTracker w(seconds(10));
    for (const std::int64_t id : {9, 3, 5})
        w.claimed(id, 2, at(0));
    w.offers_seen(at(9));
    w.window_full(5);
    const auto due = w.due(at(10));
    REQUIRE(due.size() == 3);
    CHECK(due[0] == WaitingNote{3, 2, Waiting::no_offers});
    CHECK(due[1] == WaitingNote{5, 2, Waiting::launch_window_full});
    CHECK(due[2] == WaitingNote{9, 2, Waiting::no_offers});
    w.note_failed(5, 2);
    w.note_failed(9, 1);  // another attempt: ignored
    CHECK(w.due(at(11)) == std::vector<WaitingNote>{{5, 2, Waiting::launch_window_full}});
    // A new claim of the task starts its time again.
    w.claimed(3, 3, at(20));
    w.offers_seen(at(29));
    CHECK(w.due(at(25)).empty());
    CHECK(w.due(at(30)) == std::vector<WaitingNote>{{3, 3, Waiting::no_offers}});
    // Only the claimed window's attempts are kept.
    w.retain(std::set<std::int64_t>{3});
    CHECK(w.size() == 1);
}
