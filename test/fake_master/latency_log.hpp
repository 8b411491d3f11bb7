// LatencyLog: how long the scheduler took to answer the master, as the
// master sees it (an offer sent -> its ACCEPT or DECLINE arrived; a status
// update sent -> its ACKNOWLEDGE arrived). Samples are microseconds, kept up
// to a fixed cap so a demo master left running does not grow without bound;
// summary() gives count, p50, p99 and max in milliseconds. Lives on the
// reactor thread like the rest of Master.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

namespace mesoflow::fake {

class LatencyLog {
  public:
    // A benchmark run of 100,000 tasks sends 300,000 updates; more than that
    // is a long-running demo, where the first million samples say enough.
    static constexpr std::size_t kMaxSamples = 1 << 20;

    void add(std::chrono::steady_clock::duration elapsed);
    // {"count": n, "p50_ms": .., "p99_ms": .., "max_ms": ..}; zeros when empty.
    nlohmann::json summary() const;
    void clear() { samples_us_.clear(); }
    std::size_t size() const { return samples_us_.size(); }

  private:
    std::vector<std::int64_t> samples_us_;
};

}  // namespace mesoflow::fake
