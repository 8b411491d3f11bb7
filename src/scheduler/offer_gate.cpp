#include "mesoflow/scheduler/offer_gate.hpp"

#include "mesoflow/scheduler/calls.hpp"

#include <algorithm>

namespace mesoflow::scheduler {

void OfferGate::on_subscribed(TimePoint) {
    suppressed_ = false;
    revive_waiting_ = false;
    retry_.reset();
    retry_backoff_ = kCallRetryMin;
}

std::optional<mesos::Call> OfferGate::on_pending(std::int64_t pending, TimePoint now) {
    if (pending > 0)
        return revive(now);
    revive_waiting_ = false;
    if (suppressed_)
        return std::nullopt;
    suppressed_ = true;
    retry_.reset();  // this call supersedes a failed one
    return make_suppress({});
}

std::optional<mesos::Call> OfferGate::on_new_work(TimePoint now) {
    return revive(now);
}

std::optional<mesos::Call> OfferGate::tick(TimePoint now) {
    if (retry_ && now >= retry_at_) {
        const auto type = *retry_;
        retry_.reset();
        if (type == mesos::CallType::suppress)
            return make_suppress({});
        // The REVIVE did not take: offers may still be suppressed or
        // filtered, whatever the gate believed since.
        last_revive_ = now;
        revive_waiting_ = false;
        return make_revive({});
    }
    return revive_waiting_ ? revive(now) : std::nullopt;
}

std::optional<OfferGate::TimePoint> OfferGate::deadline() const {
    std::optional<TimePoint> due;
    if (revive_waiting_ && last_revive_)
        due = *last_revive_ + options_.min_revive_interval;
    if (retry_ && (!due || retry_at_ < *due))
        due = retry_at_;
    return due;
}

void OfferGate::on_call_failed(mesos::CallType type, TimePoint now) {
    // Only the gate's last word is repaired: a REVIVE while offers are meant
    // to flow, a SUPPRESS while they are meant to be suppressed.
    const bool meant = (type == mesos::CallType::revive && !suppressed_) ||
                       (type == mesos::CallType::suppress && suppressed_);
    if (!meant)
        return;
    retry_ = type;
    retry_at_ = now + retry_backoff_;
    retry_backoff_ = std::min(retry_backoff_ * 2, kCallRetryMax);
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
    retry_.reset();  // this call supersedes a failed one
    return make_revive({});
}

}  // namespace mesoflow::scheduler
