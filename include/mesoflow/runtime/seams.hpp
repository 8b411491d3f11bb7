// The runtime's two seams: the time it reads and the way its calls leave.
// Production uses the real ones (SystemTime, and the master client as the
// call sink); a test can pass its own to drive time or to see every call the
// runtime decided to send.
//
// Every decision the runtime makes with time (offer hold deadlines, the
// launch window's expiry, suppress/revive spacing, reconciliation back-off,
// kill re-sends, execution timeouts) reads the TimeSource. Timers still wait
// real time: with a ManualTime, the runtime re-checks its deadlines when a
// timer fires, and a deadline passes only once the test advances the clock.
// Measurements stay on the real clock (event-loop lag, batch times, update
// latencies); the offer latencies start at an offer's arrival on the
// TimeSource, so they mean something only with SystemTime.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "mesoflow/transport/master_client.hpp"

namespace mesoflow::runtime {

class TimeSource {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;
    virtual ~TimeSource() = default;
    virtual TimePoint now() const = 0;
    // Microseconds since the epoch (timestamps written to the database).
    virtual std::int64_t wall_us() const = 0;
};

class SystemTime final : public TimeSource {
  public:
    TimePoint now() const override { return std::chrono::steady_clock::now(); }
    std::int64_t wall_us() const override {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
};

// A clock that moves only when told; safe to advance from another thread.
class ManualTime final : public TimeSource {
  public:
    ManualTime() : ManualTime(1'700'000'000'000'000) {}
    // Starts the wall clock at `wall_us` (e.g. now, to compare with the
    // database's own timestamps).
    explicit ManualTime(std::int64_t wall_us) : steady_us_(0), wall_us_(wall_us) {}
    TimePoint now() const override {
        return TimePoint(std::chrono::microseconds(steady_us_.load()));
    }
    std::int64_t wall_us() const override { return wall_us_.load(); }
    void advance(std::chrono::microseconds by) {
        steady_us_ += by.count();
        wall_us_ += by.count();
    }

  private:
    std::atomic<std::int64_t> steady_us_;
    std::atomic<std::int64_t> wall_us_;
};

// Where the runtime's calls go: the JSON body of one Call, and what to do
// with the master's answer. `answers_offer` marks ACCEPT and DECLINE, which
// the master client writes ahead of queued acknowledgements.
class CallSink {
  public:
    virtual ~CallSink() = default;
    virtual void send(std::string call_json, std::function<void(const transport::CallResult&)> done,
                      bool answers_offer) = 0;
};

struct Seams {
    const TimeSource* time = nullptr;  // nullptr: SystemTime
    // nullptr: the master client. A sink given here receives every call in
    // its place (the subscription still goes to the master).
    CallSink* calls = nullptr;
};

}  // namespace mesoflow::runtime
