// OfferGate: when to SUPPRESS and REVIVE offers, and which decline filter to
// use. Pure; time is passed in.
//
// With nothing pending, mesoflow suppresses offers so idle agents go to other
// frameworks; when work arrives it revives at once. REVIVE also clears the
// master's decline filters, so work arriving after offers were declined with
// the long idle filter revives too, even if not suppressed. Revives are spaced
// by at least min_revive_interval: a burst of NOTIFYs costs one REVIVE, not
// hundreds; a revive held back by the interval is not lost: tick() sends it
// once the interval is over (deadline() says when to call it).
//
// A SUPPRESS or REVIVE the master did not take (on_call_failed) goes again
// after a back-off (kCallRetryMin, doubling to kCallRetryMax) while it is
// still the gate's intent: a REVIVE answered 503 must not leave offers
// suppressed for good, and a SUPPRESS that failed after a later REVIVE is
// not sent again. tick() returns it once due; a call taken resets the
// back-off (on_call_taken).
//
// Calls come without framework id (the sender sets it); every returned call
// is assumed sent until on_call_failed says otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/scheduler/call_repair.hpp"

namespace mesoflow::scheduler {

inline constexpr std::chrono::milliseconds kMinReviveInterval{200};

struct OfferGateOptions {
    std::chrono::milliseconds min_revive_interval = kMinReviveInterval;
    double refuse_seconds = 5.0;          // unused resources while tasks remain pending
    double idle_refuse_seconds = 3600.0;  // unused resources when nothing is pending
};

class OfferGate {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit OfferGate(OfferGateOptions options = {}) : options_(options) {}

    // A new subscription starts unsuppressed (mesoflow subscribes without
    // suppressed roles); the next on_pending() decides.
    void on_subscribed(TimePoint now);
    // After every look at the queue: how many tasks could launch now.
    std::optional<mesos::Call> on_pending(std::int64_t pending, TimePoint now);
    // A producer queued work (NOTIFY); the count is not known yet.
    std::optional<mesos::Call> on_new_work(TimePoint now);
    // A REVIVE held back by the minimum interval, once it is over; a failed
    // call still meant, once its back-off is over.
    std::optional<mesos::Call> tick(TimePoint now);
    // When tick() will have a call to send; nullopt: nothing waits.
    std::optional<TimePoint> deadline() const;
    // A SUPPRESS or REVIVE of the gate's the master did not take.
    void on_call_failed(mesos::CallType type, TimePoint now);
    // A SUPPRESS or REVIVE the master took.
    void on_call_taken() { retry_backoff_ = kCallRetryMin; }

    // The refuse filter for offered resources left unused: short while more
    // work remains (agents come back quickly), long when idle (remembered:
    // the next work revives to clear it).
    double refuse_seconds_for_unused(bool more_pending);
    // Offers were declined (or left unused) with the long idle filter: the
    // next work must REVIVE to clear it, suppressed or not.
    void on_idle_filter() { idle_filters_ = true; }

    bool suppressed() const { return suppressed_; }

  private:
    std::optional<mesos::Call> revive(TimePoint now);

    OfferGateOptions options_;
    bool suppressed_ = false;
    bool idle_filters_ = false;  // long decline filters handed out since the last REVIVE
    bool revive_waiting_ = false;
    std::optional<TimePoint> last_revive_;
    // A failed call still meant, sent again at retry_at_.
    std::optional<mesos::CallType> retry_;
    TimePoint retry_at_{};
    std::chrono::milliseconds retry_backoff_ = kCallRetryMin;
};

}  // namespace mesoflow::scheduler
