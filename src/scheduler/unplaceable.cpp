#include "mesoflow/scheduler/unplaceable.hpp"

#include <algorithm>

namespace mesoflow::scheduler {

void UnplaceableTracker::not_placed(std::int64_t task_id, int attempt, const Unplaced& why,
                                    TimePoint now) {
    if (why.why == UnplacedWhy::crowded) {
        entries_.erase(task_id);
        return;
    }
    auto [it, fresh] = entries_.try_emplace(task_id);
    Entry& e = it->second;
    if (fresh || e.attempt != attempt) {
        e = Entry{attempt, now, why, false};
        return;
    }
    e.why = why;
}

void UnplaceableTracker::forget(std::int64_t task_id) {
    entries_.erase(task_id);
}

UnplaceableDue UnplaceableTracker::due(TimePoint now) {
    UnplaceableDue out;
    const bool ends = limits_.timeout.count() > 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        const Entry& e = it->second;
        const auto waited = now - e.since;
        if (ends && waited >= limits_.timeout) {
            out.fail.push_back({it->first, e.attempt, e.why});
            it = entries_.erase(it);
            continue;
        }
        if (!e.noted && waited >= limits_.after) {
            out.note.push_back({it->first, e.attempt, e.why});
            it->second.noted = true;
        }
        ++it;
    }
    // Batches in task order: the statements lock rows in id order.
    auto by_id = [](const UnplacedAttempt& a, const UnplacedAttempt& b) {
        return a.task_id < b.task_id;
    };
    std::sort(out.note.begin(), out.note.end(), by_id);
    std::sort(out.fail.begin(), out.fail.end(), by_id);
    return out;
}

void UnplaceableTracker::note_failed(std::int64_t task_id, int attempt) {
    const auto it = entries_.find(task_id);
    if (it != entries_.end() && it->second.attempt == attempt)
        it->second.noted = false;
}

std::size_t UnplaceableTracker::noted() const {
    return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(),
                                                  [](const auto& kv) { return kv.second.noted; }));
}

}  // namespace mesoflow::scheduler
