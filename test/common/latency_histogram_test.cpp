#include "mesoflow/common/latency_histogram.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

using mesoflow::LatencyHistogram;

TEST_CASE("bucket edges: exact below 100 us, then two leading digits per decade") {
    CHECK(LatencyHistogram::bucket_of(0) == 0);
    CHECK(LatencyHistogram::bucket_of(99) == 99);
    CHECK(LatencyHistogram::bucket_of(100) == 100);
    CHECK(LatencyHistogram::bucket_of(109) == 100);
    CHECK(LatencyHistogram::bucket_of(110) == 101);
    CHECK(LatencyHistogram::bucket_of(999) == 189);
    CHECK(LatencyHistogram::bucket_of(1000) == 190);
    CHECK(LatencyHistogram::bucket_of(999'999'999) == LatencyHistogram::kBuckets - 2);
    CHECK(LatencyHistogram::bucket_of(1'000'000'000) == LatencyHistogram::kBuckets - 1);
    CHECK(LatencyHistogram::bucket_of(UINT64_MAX) == LatencyHistogram::kBuckets - 1);
    // Every value lies below its bucket's upper edge and at or above the one before.
    for (std::uint64_t v : {0ULL, 1ULL, 57ULL, 99ULL, 100ULL, 123ULL, 4999ULL, 5000ULL, 5001ULL,
                            123456ULL, 99'999'999ULL, 999'999'999ULL}) {
        const auto b = LatencyHistogram::bucket_of(v);
        INFO("value " << v << " bucket " << b);
        CHECK(v < LatencyHistogram::upper_edge(b));
        if (b > 0)
            CHECK(v >= LatencyHistogram::upper_edge(b - 1));
    }
    // The Prometheus ladder starts buckets exactly.
    for (const auto edge : mesoflow::kPrometheusBucketsUs) {
        INFO("edge " << edge);
        CHECK(LatencyHistogram::upper_edge(LatencyHistogram::bucket_of(edge) - 1) == edge);
    }
}

TEST_CASE("quantiles are within a bucket of the truth and never above the maximum") {
    LatencyHistogram h;
    CHECK(h.quantile_us(0.99) == 0);
    CHECK(h.count() == 0);
    // 1..10,000 us, once each: p50 = 5,000 us, p99 = 9,900 us.
    for (std::uint64_t v = 1; v <= 10000; ++v)
        h.record_us(v);
    CHECK(h.count() == 10000);
    CHECK(h.max_us() == 10000);
    CHECK(h.sum_us() == 10000ULL * 10001 / 2);
    const auto p50 = h.quantile_us(0.5);
    CHECK(p50 >= 5000);
    CHECK(p50 < 5100);
    const auto p99 = h.quantile_us(0.99);
    CHECK(p99 >= 9900);
    CHECK(p99 <= 10000);
    CHECK(h.quantile_us(1.0) == 10000);
    CHECK(h.quantile_us(0.0001) == 1);
}

TEST_CASE("a single slow value is the maximum and only moves the top quantiles") {
    LatencyHistogram h;
    for (int i = 0; i < 999; ++i)
        h.record(std::chrono::microseconds(800));
    h.record(std::chrono::milliseconds(250));
    CHECK(h.quantile_us(0.5) == 809);  // the bucket 800-809 us
    CHECK(h.quantile_us(0.99) == 809);
    CHECK(h.quantile_us(1.0) == 250000);
    CHECK(h.max_us() == 250000);
    // Negative durations (a clock read out of order) count as zero.
    h.record(std::chrono::microseconds(-5));
    CHECK(h.count() == 1001);
    CHECK(h.count_at_most(500) == 1);
}

TEST_CASE("cumulative counts at the Prometheus edges") {
    LatencyHistogram h;
    h.record_us(499);
    h.record_us(999);
    h.record_us(1000);
    h.record_us(2499);
    h.record_us(20'000'000);  // 20 s: above the ladder, only in +Inf
    CHECK(h.count_at_most(500) == 1);
    CHECK(h.count_at_most(1000) == 2);
    CHECK(h.count_at_most(2500) == 4);
    CHECK(h.count_at_most(10'000'000) == 4);
    CHECK(h.count() == 5);
}
