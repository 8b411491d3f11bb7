#include "mesoflow/scheduler/launch_pacer.hpp"

#include <algorithm>

namespace mesoflow::scheduler {

void LaunchPacer::launched(const std::string& mesos_task_id, TimePoint now) {
    awaiting_.emplace(mesos_task_id, now);
}

void LaunchPacer::expire(TimePoint now) {
    const auto cutoff = now - kLaunchWindowExpiry;
    std::erase_if(awaiting_, [&](const auto& kv) { return kv.second < cutoff; });
}

std::size_t LaunchPacer::room(std::size_t updates_waiting) const {
    const auto used = awaiting_.size() + updates_waiting;
    const auto window = static_cast<std::size_t>(std::max(0, options_.launch_window));
    return used >= window ? 0 : window - used;
}

std::optional<int> LaunchPacer::claim_size(const PacerInputs& in) const {
    if (in.claim_running || in.claims_exhausted)
        return std::nullopt;
    const int room = options_.claim_batch - static_cast<int>(in.claimed);
    if (room < std::max(1, options_.claim_batch / 4))
        return std::nullopt;
    return room;
}

OfferDecision LaunchPacer::on_offers(const PacerInputs& in) const {
    OfferDecision d;
    if (!in.framework_id_committed) {
        d.action = OfferAction::hold;  // until the framework id commits
        return d;
    }
    if (in.claimed == 0) {
        if (in.claim_running || !in.claims_exhausted) {
            d.action = OfferAction::hold;  // until the claim answers
            d.claim = true;
            return d;
        }
        d.action = OfferAction::decline;  // nothing to run
        d.refuse_s = options_.idle_refuse_s;
        d.idle_filter = true;
        return d;
    }
    const auto window_room = room(in.updates_waiting);
    const bool full_batch_waiting =
        in.fullest_lane_queue >= static_cast<std::size_t>(std::max(1, options_.update_batch));
    if ((window_room == 0 && in.updates_waiting > 0) || full_batch_waiting) {
        d.action = OfferAction::hold;  // until a commit answers
        return d;
    }
    if (window_room == 0) {
        // Full of launches the master has not reported on yet.
        d.action = OfferAction::decline;
        d.refuse_s = std::min(options_.refuse_s, kBackpressureRefuseS);
        return d;
    }
    d.action = OfferAction::match;
    d.room = std::min(in.claimed, window_room);
    return d;
}

double LaunchPacer::stale_hold_refuse() const {
    return std::min(kReserveRefuseS, options_.refuse_s);
}

UnusedAnswer LaunchPacer::answer_unused(const std::vector<UnusedOffer>& unused, double want_cpus,
                                        double want_mem, bool window_limited,
                                        bool more_after) const {
    UnusedAnswer a;
    a.later_refuse_s = refuse_for_unused(more_after);
    a.later_idle = !more_after && !unused.empty();
    a.soon_refuse_s = std::min(kReserveRefuseS, a.later_refuse_s);
    if (!window_limited) {
        want_cpus = 0;
        want_mem = 0;
    }
    for (const auto& o : unused) {
        if (want_cpus > 0 || want_mem > 0) {
            want_cpus -= o.cpus;
            want_mem -= o.mem_mb;
            a.soon.push_back(o.id);
        } else {
            a.later.push_back(o.id);
        }
    }
    return a;
}

}  // namespace mesoflow::scheduler
