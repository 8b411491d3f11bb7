// WaitingTracker: why each claimed attempt still waits for an offer, and
// when that is written on its row. Pure: the time is passed in.
//
// A claimed attempt waits because no offer came since it was claimed
// (`no_offers`: offers suppressed, no agent of its role, the master gives
// them to others), because the launch window was full when offers came
// (`launch_window_full`), or because offers came and none holds it
// (`unplaceable`: UnplaceableTracker owns that reason, its message and its
// timeout). One looked at and left out only because the round's other
// launches took the room is `claimed` (its turn comes). The reason goes on
// the row (mesoflow.pending_reasons reads it) once the attempt has waited
// `after`, and again when it changes, at most once per `after` for each
// attempt (reasons that flip from round to round cost one write a minute,
// not one a second): nothing is written for attempts that launch within
// `after`. With no offers at all for `after`, every claimed attempt waits
// for `no_offers`, whatever the last round said.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mesoflow::scheduler {

enum class Waiting : std::uint8_t { claimed, no_offers, launch_window_full, unplaceable };

// The row's reason: NULL (`claimed`), "no_offers", "launch_window_full",
// "unplaceable".
std::string_view to_string(Waiting w);

struct WaitingNote {
    std::int64_t task_id = 0;
    int attempt = 0;
    Waiting why = Waiting::claimed;

    bool operator==(const WaitingNote&) const = default;
};

class WaitingTracker {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit WaitingTracker(std::chrono::microseconds after) : after_(after) {}

    // Claimed at `now`: no offer has been matched against it yet.
    void claimed(std::int64_t task_id, int attempt, TimePoint now);
    // A round of offers looked at it and did not place it: `fits` says an
    // offer as offered holds it (crowded); else it is unplaceable, and
    // `short_of_room` says for want of room (too large, not together) rather
    // than a role, a constraint or gpus; `passed_over` that a smaller task
    // was placed in the same round.
    void looked_at(std::int64_t task_id, bool fits, bool short_of_room = false,
                   bool passed_over = false);
    // Offers came and the launch window kept it from them (the round held
    // back, or the round's launches reached the window before its turn).
    void window_full(std::int64_t task_id);
    // A round of offers came (held, declined or matched).
    void offers_seen(TimePoint now) { last_offers_ = now; }
    // Placed, released, ended.
    void forget(std::int64_t task_id);
    // Keeps only the attempts of these tasks (the claimed window).
    template <typename Set>
    void retain(const Set& task_ids) {
        std::erase_if(entries_, [&](const auto& kv) { return !task_ids.contains(kv.first); });
    }
    void clear() { entries_.clear(); }

    // Attempts that waited `after` and whose reason is not on their row,
    // other than `unplaceable` (written by UnplaceableTracker), in task
    // order: each answered once until its reason changes (or
    // note_failed).
    std::vector<WaitingNote> due(TimePoint now);
    void note_failed(std::int64_t task_id, int attempt);

    std::optional<Waiting> why(std::int64_t task_id) const;
    // Attempts claimed at least `after` ago that the last round left out for
    // want of room (crowded, too large, not together) and that a smaller
    // task was placed ahead of at least once: candidates for an agent held
    // for them (agent_hold.hpp). Crowding does not restart their time, as it
    // does an unplaceable note's: that is how small tasks starve a large
    // one. Tasks of one size never qualify: none is passed over. In task
    // order.
    std::vector<WaitingNote> wanting_room(TimePoint now) const;
    std::size_t size() const { return entries_.size(); }

  private:
    struct Entry {
        int attempt = 0;
        TimePoint since;
        Waiting why = Waiting::no_offers;
        // What the row says: claimed (NULL) until a note is written.
        Waiting written = Waiting::claimed;
        std::optional<TimePoint> noted_at;
        bool wants_room = false;
        bool passed_over = false;
    };
    std::chrono::microseconds after_;
    std::optional<TimePoint> last_offers_;
    std::unordered_map<std::int64_t, Entry> entries_;
};

}  // namespace mesoflow::scheduler
