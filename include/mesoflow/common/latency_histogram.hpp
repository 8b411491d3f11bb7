// LatencyHistogram: a fixed-size histogram of durations, cheap enough to
// record every offer answer and every acknowledgement. One thread records
// (the event loop); any thread may read (the admin endpoint): the buckets are
// relaxed atomics, so a read is exact per bucket, not a snapshot across them.
//
// Buckets are in whole microseconds: one per microsecond below 100 us, then
// 90 per decade (100-109 us, 110-119 us, ... 9.9-10 ms, 10-11 ms, ...) up to
// 1,000 s, and one above. A quantile is the upper edge of the bucket it
// falls in (at most 10% high, 1% at the top of a decade), never above the
// largest value recorded. Every edge of the Prometheus ladder
// (kPrometheusBucketsUs: 0.5, 1, 2.5, 5 ... ms) is a bucket edge, so the
// cumulative counts exported there are exact (for values below each edge).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mesoflow {

class LatencyHistogram {
  public:
    static constexpr std::size_t kBuckets = 100 + 7 * 90 + 1;

    void record(std::chrono::steady_clock::duration d);
    void record_us(std::uint64_t us);

    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
    std::uint64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }
    std::uint64_t max_us() const { return max_us_.load(std::memory_order_relaxed); }
    // The q-quantile (0 < q <= 1) in microseconds; 0 when nothing was recorded.
    std::uint64_t quantile_us(double q) const;
    // Values recorded that were at most `edge_us` (an edge of kPrometheusBucketsUs).
    std::uint64_t count_at_most(std::uint64_t edge_us) const;

    static std::size_t bucket_of(std::uint64_t us);
    // The first value past bucket `i` (its exclusive upper edge).
    static std::uint64_t upper_edge(std::size_t i);

  private:
    std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_us_{0};
    std::atomic<std::uint64_t> max_us_{0};
};

// The `le` ladder /metrics exports, in microseconds (0.5 ms to 10 s).
inline constexpr std::array<std::uint64_t, 14> kPrometheusBucketsUs = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

}  // namespace mesoflow
