#include "mesoflow/scheduler/offer_gate.hpp"

#include "mesoflow/scheduler/calls.hpp"

namespace mesoflow::scheduler {

void OfferGate::on_subscribed(TimePoint) {
    suppressed_ = false;
    revive_waiting_ = false;
}

std::optional<mesos::Call> OfferGate::on_pending(std::int64_t pending, TimePoint now) {
    if (pending > 0)
        return revive(now);
    revive_waiting_ = false;
    if (suppressed_)
        return std::nullopt;
    suppressed_ = true;
    return make_suppress({});
}

std::optional<mesos::Call> OfferGate::on_new_work(TimePoint now) {
    return revive(now);
}

std::optional<mesos::Call> OfferGate::tick(TimePoint now) {
    return revive_waiting_ ? revive(now) : std::nullopt;
}

std::optional<OfferGate::TimePoint> OfferGate::deadline() const {
    if (!revive_waiting_ || !last_revive_)
        return std::nullopt;
    return *last_revive_ + options_.min_revive_interval;
}

double OfferGate::refuse_seconds_for_unused(bool more_pending) {
    if (more_pending)
        return options_.refuse_seconds;
    idle_filters_ = true;
    return options_.idle_refuse_seconds;
}

std::optional<mesos::Call> OfferGate::revive(TimePoint now) {
    if (!suppressed_ && !idle_filters_) {
        revive_waiting_ = false;
        return std::nullopt;  // offers flow and no long filter holds any back
    }
    if (last_revive_ && now - *last_revive_ < options_.min_revive_interval) {
        revive_waiting_ = true;
        return std::nullopt;
    }
    last_revive_ = now;
    suppressed_ = false;
    idle_filters_ = false;
    revive_waiting_ = false;
    return make_revive({});
}

}  // namespace mesoflow::scheduler
