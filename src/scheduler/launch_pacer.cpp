#include "mesoflow/scheduler/launch_pacer.hpp"

#include <algorithm>

namespace mesoflow::scheduler {

LaunchPacer::LaunchPacer(PacerOptions options) : options_(options) {
    floor_ = static_cast<std::size_t>(std::max(1, options_.launch_window));
    ceiling_ = std::max(floor_, static_cast<std::size_t>(std::max(1, options_.launch_window_max)));
    window_ = floor_;
    latency_target_ = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(std::max(0.0, options_.commit_latency_target_s)));
}

WindowChange LaunchPacer::round_done(std::size_t room_at_start, bool limited, TimePoint now) {
    WindowChange c{window_, window_};
    const bool slow_offers = !last_launch_ || now - *last_launch_ >= kSlowOffersAfter;
    slow_rounds_ = slow_offers ? slow_rounds_ + 1 : 0;
    if (limited && slow_rounds_ >= kSlowRoundsToGrow && room_at_start * 4 >= window_ * 3)
        window_ = std::min(ceiling_, window_ * 2);
    grew_ = window_ > c.from;
    c.to = window_;
    return c;
}

WindowChange LaunchPacer::halve(std::optional<TimePoint>& last, Clock::duration every,
                                TimePoint now) {
    WindowChange c{window_, window_};
    if (window_ == floor_ || (last && now - *last < every))
        return c;
    last = now;
    window_ = std::max(floor_, window_ / 2);
    grew_ = false;
    c.to = window_;
    return c;
}

WindowChange LaunchPacer::acknowledged(Clock::duration wait, TimePoint now) {
    if (wait <= latency_target_)
        return WindowChange{window_, window_};
    return halve(last_halved_, latency_target_, now);
}

WindowChange LaunchPacer::full(TimePoint now) {
    return halve(last_full_halved_, kWindowShrinkEvery, now);
}

void LaunchPacer::launched(const std::string& mesos_task_id, TimePoint now) {
    awaiting_.emplace(mesos_task_id, now);
    last_launch_ = now;
}

void LaunchPacer::expire(TimePoint now) {
    const auto cutoff = now - kLaunchWindowExpiry;
    std::erase_if(awaiting_, [&](const auto& kv) { return kv.second < cutoff; });
}

std::size_t LaunchPacer::room(std::size_t updates_waiting) const {
    const auto used = awaiting_.size() + updates_waiting;
    return used >= window_ ? 0 : window_ - used;
}

std::optional<int> LaunchPacer::claim_size(const PacerInputs& in) const {
    if (in.claim_running || in.claims_exhausted)
        return std::nullopt;
    // Two windows: a round that launches a whole window leaves one claimed
    // for the next offers while the claim that refills it runs.
    const int batch = std::max(options_.claim_batch, static_cast<int>(2 * window_));
    const int room = batch - static_cast<int>(in.claimed);
    if (room < std::max(1, batch / 4))
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
    // Commits before launches, at the window's floor: a grown window means
    // offers come seconds apart, and offers held for a commit past the
    // hold limit go back until the next allocation (at 1 s, 5,000 tasks
    // launched in some seconds and none in the next); the window's room
    // alone bounds the work then.
    const bool full_batch_waiting =
        window_ == floor_ &&
        in.fullest_lane_queue >= static_cast<std::size_t>(std::max(1, options_.update_batch));
    d.window_full = window_room == 0;
    if ((window_room == 0 && in.updates_waiting > 0) || full_batch_waiting) {
        d.action = OfferAction::hold;  // until a commit answers
        return d;
    }
    if (window_room == 0) {
        // Full of launches the master has not reported on yet.
        d.action = OfferAction::decline;
        d.refuse_s = soon(std::min(options_.refuse_s, kBackpressureRefuseS));
        return d;
    }
    d.action = OfferAction::match;
    d.room = std::min(in.claimed, window_room);
    return d;
}

double LaunchPacer::soon(double refuse_s) const {
    // A filter outlasts the master's next allocation however short it is;
    // once the window has grown (allocations far enough apart for the
    // database to drain between them) that costs a whole interval.
    return window_ > floor_ ? 0.0 : refuse_s;
}

double LaunchPacer::stale_hold_refuse() const {
    return soon(std::min(kReserveRefuseS, options_.refuse_s));
}

std::pair<double, double> LaunchPacer::want_next_round(double claimed_cpus, double claimed_mem,
                                                       std::size_t claimed_left, double task_cpus,
                                                       double task_mem) const {
    // While the window grows, offers for its most: each round only sees
    // the offers the last one kept close (those declined with refuse_s stay
    // away for seconds), so offers for a window alone left every round
    // using all it was offered and never learning it could launch more.
    // At its floor, never grown: the attempts claimed alone, as a fixed
    // window wants.
    const auto next = grew_ ? ceiling_ : (window_ > floor_ ? window_ : 0);
    const auto more = next > claimed_left ? static_cast<double>(next - claimed_left) : 0.0;
    return {claimed_cpus + more * task_cpus, claimed_mem + more * task_mem};
}

UnusedAnswer LaunchPacer::answer_unused(const std::vector<UnusedOffer>& unused, double want_cpus,
                                        double want_mem, bool window_limited,
                                        bool more_after) const {
    UnusedAnswer a;
    a.later_refuse_s = refuse_for_unused(more_after);
    a.later_idle = !more_after && !unused.empty();
    a.soon_refuse_s = soon(std::min(kReserveRefuseS, a.later_refuse_s));
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
