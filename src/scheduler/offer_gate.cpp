#include "mesoflow/scheduler/offer_gate.hpp"

#include "mesoflow/scheduler/calls.hpp"

namespace mesoflow::scheduler {

void OfferGate::on_subscribed(TimePoint) {
    suppressed_ = false;
}

std::optional<mesos::Call> OfferGate::on_pending(std::int64_t pending, TimePoint now) {
    if (pending > 0)
        return suppressed_ ? revive(now) : std::nullopt;
    if (suppressed_)
        return std::nullopt;
    suppressed_ = true;
    return make_suppress({});
}

std::optional<mesos::Call> OfferGate::on_new_work(TimePoint now) {
    return suppressed_ ? revive(now) : std::nullopt;
}

std::optional<mesos::Call> OfferGate::revive(TimePoint now) {
    if (last_revive_ && now - *last_revive_ < kMinReviveInterval)
        return std::nullopt;
    last_revive_ = now;
    suppressed_ = false;
    return make_revive({});
}

}  // namespace mesoflow::scheduler
