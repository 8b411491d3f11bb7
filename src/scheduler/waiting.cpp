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
    entries_[task_id] = Entry{attempt, now, Waiting::no_offers, Waiting::claimed};
}

void WaitingTracker::looked_at(std::int64_t task_id, bool fits) {
    const auto it = entries_.find(task_id);
    if (it != entries_.end())
        it->second.why = fits ? Waiting::claimed : Waiting::unplaceable;
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
    for (auto& [id, e] : entries_) {
        if (now - e.since < after_)
            continue;
        // UnplaceableTracker writes `unplaceable`; the row then says so.
        if (e.why == Waiting::unplaceable) {
            e.written = Waiting::unplaceable;
            continue;
        }
        if (e.why == e.written)
            continue;
        out.push_back({id, e.attempt, e.why});
        e.written = e.why;
    }
    std::sort(out.begin(), out.end(),
              [](const WaitingNote& a, const WaitingNote& b) { return a.task_id < b.task_id; });
    return out;
}

void WaitingTracker::note_failed(std::int64_t task_id, int attempt) {
    const auto it = entries_.find(task_id);
    if (it != entries_.end() && it->second.attempt == attempt)
        it->second.written = Waiting::unplaceable;  // differs from any reason due() writes
}

std::optional<Waiting> WaitingTracker::why(std::int64_t task_id) const {
    const auto it = entries_.find(task_id);
    if (it == entries_.end())
        return std::nullopt;
    return it->second.why;
}

}  // namespace mesoflow::scheduler
