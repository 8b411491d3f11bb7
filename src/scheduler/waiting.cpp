#include "mesoflow/scheduler/waiting.hpp"

#include <algorithm>

namespace mesoflow::scheduler {

std::string_view to_string(Waiting w) {
    switch (w) {
        case Waiting::claimed:
            return "claimed";
        case Waiting::no_offers:
            return "no_offers";
        case Waiting::launch_window_full:
            return "launch_window_full";
        case Waiting::unplaceable:
            return "unplaceable";
    }
    return "claimed";
}

void WaitingTracker::claimed(std::int64_t task_id, int attempt, TimePoint now) {
    entries_[task_id] =
        Entry{attempt, now, Waiting::no_offers, Waiting::claimed, std::nullopt, false, false};
}

void WaitingTracker::looked_at(std::int64_t task_id, bool fits, bool short_of_room,
                               bool passed_over) {
    const auto it = entries_.find(task_id);
    if (it == entries_.end())
        return;
    it->second.why = fits ? Waiting::claimed : Waiting::unplaceable;
    it->second.wants_room = fits || short_of_room;
    it->second.passed_over = it->second.passed_over || passed_over;
}

std::vector<WaitingNote> WaitingTracker::wanting_room(TimePoint now) const {
    std::vector<WaitingNote> out;
    for (const auto& [id, e] : entries_) {
        if (e.wants_room && e.passed_over && now - e.since >= after_)
            out.push_back({id, e.attempt, e.why});
    }
    std::sort(out.begin(), out.end(),
              [](const WaitingNote& a, const WaitingNote& b) { return a.task_id < b.task_id; });
    return out;
}

void WaitingTracker::window_full(std::int64_t task_id) {
    const auto it = entries_.find(task_id);
    if (it != entries_.end())
        it->second.why = Waiting::launch_window_full;
}

void WaitingTracker::forget(std::int64_t task_id) {
    entries_.erase(task_id);
}

std::vector<WaitingNote> WaitingTracker::due(TimePoint now) {
    std::vector<WaitingNote> out;
    const bool no_offers = !last_offers_ || now - *last_offers_ >= after_;
    for (auto& [id, e] : entries_) {
        if (now - e.since < after_)
            continue;
        if (no_offers && e.why != Waiting::unplaceable)
            e.why = Waiting::no_offers;
        // UnplaceableTracker writes `unplaceable`; the row then says so.
        if (e.why == Waiting::unplaceable) {
            e.written = Waiting::unplaceable;
            continue;
        }
        if (e.why == e.written || (e.noted_at && now - *e.noted_at < after_))
            continue;
        out.push_back({id, e.attempt, e.why});
        e.written = e.why;
        e.noted_at = now;
    }
    std::sort(out.begin(), out.end(),
              [](const WaitingNote& a, const WaitingNote& b) { return a.task_id < b.task_id; });
    return out;
}

void WaitingTracker::note_failed(std::int64_t task_id, int attempt) {
    const auto it = entries_.find(task_id);
    if (it != entries_.end() && it->second.attempt == attempt) {
        it->second.written = Waiting::unplaceable;  // differs from any reason due() writes
        it->second.noted_at.reset();
    }
}

std::optional<Waiting> WaitingTracker::why(std::int64_t task_id) const {
    const auto it = entries_.find(task_id);
    if (it == entries_.end())
        return std::nullopt;
    return it->second.why;
}

}  // namespace mesoflow::scheduler
