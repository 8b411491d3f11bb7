// OfferGate: when to SUPPRESS and REVIVE offers. Pure; time is passed in.
//
// With nothing pending, mesoflow suppresses offers so idle agents go to
// other frameworks; when work arrives it revives at once. Revives are spaced
// by at least kMinReviveInterval: a burst of NOTIFYs costs one REVIVE, not
// hundreds (each REVIVE also clears the master's offer filters).
// The calls returned carry no framework id; the caller sets it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "mesoflow/mesos/types.hpp"

namespace mesoflow::scheduler {

inline constexpr std::chrono::milliseconds kMinReviveInterval{200};

class OfferGate {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // A new subscription starts unsuppressed (mesoflow subscribes without
    // suppressed roles), so the next look at the queue decides.
    void on_subscribed(TimePoint now);
    // After every look at the queue: how many tasks could launch now.
    std::optional<mesos::Call> on_pending(std::int64_t pending, TimePoint now);
    // A producer queued work (NOTIFY); the count is not known yet.
    std::optional<mesos::Call> on_new_work(TimePoint now);

    bool suppressed() const { return suppressed_; }

  private:
    std::optional<mesos::Call> revive(TimePoint now);
    bool suppressed_ = false;
    std::optional<TimePoint> last_revive_;
};

}  // namespace mesoflow::scheduler
