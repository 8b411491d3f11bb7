#include "mesoflow/scheduler/lease.hpp"

#include <algorithm>

namespace mesoflow::scheduler {

Lease::Lease(std::chrono::milliseconds length) : length_(length) {}

void Lease::renewed(TimePoint sent) {
    if (ended_)
        return;
    if (!last_sent_ || sent > *last_sent_)
        last_sent_ = sent;
}

void Lease::end() {
    ended_ = true;
    last_sent_.reset();
}

std::optional<Lease::TimePoint> Lease::valid_until() const {
    if (ended_ || !last_sent_)
        return std::nullopt;
    return *last_sent_ + length_ - length_ / 10;
}

bool Lease::valid(TimePoint now) const {
    const auto until = valid_until();
    return until && now < *until;
}

Lease::Duration Lease::remaining(TimePoint now) const {
    const auto until = valid_until();
    if (!until || now >= *until)
        return Duration::zero();
    return *until - now;
}

FailedOver on_failed_over(bool lease_valid) {
    return lease_valid ? FailedOver::impostor_stop : FailedOver::step_down;
}

std::string_view to_string(FailedOver f) {
    return f == FailedOver::impostor_stop ? "impostor_stop" : "step_down";
}

}  // namespace mesoflow::scheduler
