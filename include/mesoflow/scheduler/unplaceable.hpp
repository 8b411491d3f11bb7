// UnplaceableTracker: since when each claimed attempt has been looked at
// against offers and not placed, and why; when that becomes a reason on the
// row and when the task ends. Pure: the time is passed in.
//
// The runtime tells it every task a match looked at and did not place
// (not_placed, with the matcher's Unplaced reason) and every task that
// left the claimed window or fit an offer (forget). A task skipped because
// the round's other launches took the room (`crowded`) is not unplaceable:
// it is forgotten, and its time starts again. due() answers, once per
// attempt, the attempts unplaced for `after` (their row gets reason
// `unplaceable` and the why, while it stays launching), and, when `timeout`
// is set, those unplaced for `timeout` (the task ends; forgotten here).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "mesoflow/scheduler/offer_matcher.hpp"

namespace mesoflow::scheduler {

struct UnplaceableLimits {
    std::chrono::microseconds after{std::chrono::seconds(300)};
    std::chrono::microseconds timeout{0};  // zero: never ends a task
};

struct UnplacedAttempt {
    std::int64_t task_id = 0;
    int attempt = 0;  // the claimed attempt (TaskSpec::attempt + 1)
    Unplaced why;     // the latest reason (index: as of the last match)
};

struct UnplaceableDue {
    std::vector<UnplacedAttempt> note;  // past `after`: write the reason on the row
    std::vector<UnplacedAttempt> fail;  // past `timeout`: end the task
};

class UnplaceableTracker {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit UnplaceableTracker(UnplaceableLimits limits = {}) : limits_(limits) {}

    // A match looked at the attempt and did not place it. `crowded` forgets
    // it; a new attempt of the task starts its time again.
    void not_placed(std::int64_t task_id, int attempt, const Unplaced& why, TimePoint now);
    // Placed, released, ended: no longer tracked.
    void forget(std::int64_t task_id);
    void clear() { entries_.clear(); }

    // What is due at `now`. An attempt is in `note` once (until
    // note_failed); one in `fail` is forgotten.
    UnplaceableDue due(TimePoint now);
    // The reason did not reach the row: due() answers it again.
    void note_failed(std::int64_t task_id, int attempt);

    std::size_t size() const { return entries_.size(); }
    // Noted attempts still tracked (a gauge).
    std::size_t noted() const;

  private:
    struct Entry {
        int attempt = 0;
        TimePoint since;
        Unplaced why;
        bool noted = false;
    };
    UnplaceableLimits limits_;
    std::unordered_map<std::int64_t, Entry> entries_;
};

}  // namespace mesoflow::scheduler
