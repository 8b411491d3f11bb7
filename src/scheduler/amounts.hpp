// Amounts: what a task asks for or an agent has left, per dimension, as
// integers: milli-units for scalars (Mesos keeps three decimals, so this is
// exact) and a count for ports. Internal to the scheduler module.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace mesoflow::scheduler {

// The dimensions a task asks for, in this order.
enum Dimension : std::size_t { kCpus, kMem, kDisk, kGpus, kPorts, kDimensions };
using Amounts = std::array<std::int64_t, kDimensions>;

// Far above any real agent (about 10^15 MB of memory) and far from overflow
// when amounts are summed.
inline constexpr std::int64_t kMaxAmount = std::int64_t{1} << 60;

// A scalar in milli-units; negative, NaN and absurd values are clamped.
inline std::int64_t to_milli(double value) {
    if (!(value > 0))
        return 0;
    const double milli = std::round(value * 1000.0);
    return milli >= static_cast<double>(kMaxAmount) ? kMaxAmount : static_cast<std::int64_t>(milli);
}

inline double from_milli(std::int64_t milli) {
    return static_cast<double>(milli) / 1000.0;
}

// True when `have` is at least `need` in every dimension.
inline bool covers(const Amounts& have, const Amounts& need) {
    for (std::size_t d = 0; d < kDimensions; ++d) {
        if (have[d] < need[d])
            return false;
    }
    return true;
}

}  // namespace mesoflow::scheduler
