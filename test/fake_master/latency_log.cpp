#include "latency_log.hpp"

#include <algorithm>

namespace mesoflow::fake {

void LatencyLog::add(std::chrono::steady_clock::duration elapsed) {
    if (samples_us_.size() >= kMaxSamples)
        return;
    samples_us_.push_back(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
}

nlohmann::json LatencyLog::summary() const {
    nlohmann::json out = {
        {"count", samples_us_.size()}, {"p50_ms", 0.0}, {"p99_ms", 0.0}, {"max_ms", 0.0}};
    if (samples_us_.empty())
        return out;
    std::vector<std::int64_t> sorted = samples_us_;
    std::sort(sorted.begin(), sorted.end());
    // Nearest rank: the smallest sample with at least p of them at or below it.
    auto rank = [&](double p) {
        const auto n = static_cast<double>(sorted.size());
        auto i = static_cast<std::size_t>(p * n + 0.999999);
        i = std::clamp<std::size_t>(i, 1, sorted.size());
        return static_cast<double>(sorted[i - 1]) / 1000.0;
    };
    out["p50_ms"] = rank(0.50);
    out["p99_ms"] = rank(0.99);
    out["max_ms"] = static_cast<double>(sorted.back()) / 1000.0;
    return out;
}

}  // namespace mesoflow::fake
