#include "mesoflow/common/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace mesoflow {
namespace {

constexpr std::uint64_t kExact = 100;       // one bucket per microsecond below this
constexpr std::uint64_t kPerDecade = 90;    // 10..99 times a tenth of the decade
constexpr std::uint64_t kTop = 1000000000;  // 1,000 s: above it, one bucket
constexpr std::size_t kOverflow = LatencyHistogram::kBuckets - 1;

}  // namespace

std::size_t LatencyHistogram::bucket_of(std::uint64_t us) {
    if (us < kExact)
        return static_cast<std::size_t>(us);
    if (us >= kTop)
        return kOverflow;
    // us is in [10^d, 10^(d+1)) with d >= 2; its bucket is its two leading digits.
    std::uint64_t step = 10;  // 10^(d-1)
    std::size_t decade = 0;   // d - 2
    while (us >= step * 100) {
        step *= 10;
        ++decade;
    }
    const auto leading = us / step;  // 10..99
    return static_cast<std::size_t>(kExact + decade * kPerDecade + (leading - 10));
}

std::uint64_t LatencyHistogram::upper_edge(std::size_t i) {
    if (i < kExact)
        return i + 1;
    if (i >= kOverflow)
        return UINT64_MAX;
    const std::size_t k = i - kExact;
    std::uint64_t step = 10;
    for (std::size_t d = 0; d < k / kPerDecade; ++d)
        step *= 10;
    return (10 + k % kPerDecade + 1) * step;
}

void LatencyHistogram::record(std::chrono::steady_clock::duration d) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    record_us(us < 0 ? 0 : static_cast<std::uint64_t>(us));
}

void LatencyHistogram::record_us(std::uint64_t us) {
    constexpr auto relaxed = std::memory_order_relaxed;
    buckets_[bucket_of(us)].fetch_add(1, relaxed);
    count_.fetch_add(1, relaxed);
    sum_us_.fetch_add(us, relaxed);
    auto seen = max_us_.load(relaxed);
    while (us > seen && !max_us_.compare_exchange_weak(seen, us, relaxed)) {
    }
}

std::uint64_t LatencyHistogram::quantile_us(double q) const {
    constexpr auto relaxed = std::memory_order_relaxed;
    std::uint64_t total = 0;
    for (const auto& b : buckets_)
        total += b.load(relaxed);
    if (total == 0)
        return 0;
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(
               std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(total))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += buckets_[i].load(relaxed);
        if (seen >= rank)
            return std::min(upper_edge(i) - 1, max_us());
    }
    return max_us();
}

std::uint64_t LatencyHistogram::count_at_most(std::uint64_t edge_us) const {
    // Every edge of the ladder starts a bucket: the buckets below it hold
    // exactly the values under it (a value equal to it, rare in whole
    // microseconds, falls above).
    const std::size_t end = bucket_of(edge_us);
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < end; ++i)
        n += buckets_[i].load(std::memory_order_relaxed);
    return n;
}

}  // namespace mesoflow
