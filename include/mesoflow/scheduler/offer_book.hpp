// OfferBook: the offers mesoflow holds unanswered, when each arrived, and
// when a held offer must go back. Pure; time is passed in.
//
// An offer is held only while a commit or a claim it waits for is on its
// way, and at most hold_max (kOfferHoldMax): past that take_stale() hands it
// back to be declined with the short filter, and the master offers it again
// at its next allocation. Holding longer kept resources from the rest of the
// cluster and was most of the decision time over 5 ms (held 6-27 ms for a
// commit while the launch window was full).
//
// take_all() takes the held offers out for a matching round; their arrival
// times stay until answered() reports them answered (ACCEPT or DECLINE), so
// the decision latency is measured from the moment each was read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mesoflow/mesos/types.hpp"

namespace mesoflow::scheduler {

// 3 ms put decision p99 at 3.0-5.1 ms with launch_window 320; 2 ms at
// 2.9-3.0 ms, at the same throughput.
inline constexpr std::chrono::milliseconds kOfferHoldMax{2};

class OfferBook {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // When an offer was read off the stream, on the steady and the wall clock.
    struct Arrival {
        TimePoint at{};
        std::int64_t wall_us = 0;
    };

    explicit OfferBook(std::chrono::milliseconds hold_max = kOfferHoldMax) : hold_max_(hold_max) {}

    void add(std::vector<mesos::Offer> offers, TimePoint now, std::int64_t wall_us);
    // The master took an offer back: forgotten, held or not. True if it was held.
    bool rescind(const std::string& offer_id);
    // Every held offer, in arrival order, out of the book for a matching round.
    std::vector<mesos::Offer> take_all();
    // The ids of the held offers that arrived hold_max ago or more, out of
    // the book; the rest stay held.
    std::vector<std::string> take_stale(TimePoint now);
    // When the next held offer goes stale; nullopt: nothing held.
    std::optional<TimePoint> deadline() const;
    // The arrivals of offers just answered, in the order given (ids not in
    // the book are skipped); they are forgotten.
    std::vector<Arrival> answered(const std::vector<std::string>& offer_ids);
    // The subscription is gone: its offers with it.
    void clear();

    std::size_t held() const { return held_.size(); }
    bool empty() const { return held_.empty(); }

  private:
    TimePoint due(const mesos::Offer& offer, TimePoint now) const;

    std::chrono::milliseconds hold_max_;
    std::vector<mesos::Offer> held_;
    std::unordered_map<std::string, Arrival> arrivals_;  // unanswered, held or in a round
};

}  // namespace mesoflow::scheduler
