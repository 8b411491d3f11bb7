// Lease: whether this process may still act as the framework's leader, and
// what to do when leadership is in question. Pure: every time is passed in
// (the runtime passes the real steady clock: the server ends a lease in real
// time, whatever clock a test drives the rest with).
//
// The server ends the lock's session once it has been idle for the lease
// (store/leader_lock.hpp), counting from when it answered the last renewal,
// which is after the renewal was sent. So "sent + lease" is a time before
// which the server cannot have ended it; the lease is held valid until that
// time less a tenth of the lease (clock-rate differences, scheduling), and
// renewed every quarter of it. Nothing is sent to the master, and no claim or
// placement starts, outside a valid lease.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace mesoflow::scheduler {

class Lease {
  public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;
    using Duration = Clock::duration;

    explicit Lease(std::chrono::milliseconds length);

    // The lock was taken (or renewed) by a statement sent at `sent`. A
    // renewal sent before a later one already counted changes nothing.
    void renewed(TimePoint sent);
    // Leadership ended: never valid again.
    void end();

    bool valid(TimePoint now) const;
    // When the lease stops being valid (nullopt: it never started or ended).
    std::optional<TimePoint> valid_until() const;
    // The time left at `now` (zero when not valid).
    Duration remaining(TimePoint now) const;
    // How often a renewal is sent.
    Duration renew_every() const { return length_ / 4; }
    std::chrono::milliseconds length() const { return length_; }

  private:
    std::chrono::milliseconds length_;
    std::optional<TimePoint> last_sent_;
    bool ended_ = false;
};

// The master's ERROR "Framework failed over": another scheduler subscribed
// with this framework id. Inside a valid lease nobody could have taken the
// leader lock, so it is not a mesoflow that took over: stop and ask for an
// operator (exit 3). Outside it, a standby took leadership as it should:
// step down and stand by.
enum class FailedOver { impostor_stop, step_down };
FailedOver on_failed_over(bool lease_valid);

std::string_view to_string(FailedOver f);

}  // namespace mesoflow::scheduler
