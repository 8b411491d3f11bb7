// Arithmetic on vectors of Resource, the way Mesos does it
// (src/common/resources.cpp, src/common/values.cpp):
// - Two resources combine only when everything but their value matches:
//   name, type, legacy role, reservation(s), allocation_info, provider,
//   disk info, revocable and shared. Otherwise they stay separate entries.
// - Scalars are fixed-point with three decimals: values are rounded to
//   thousandths before any comparison or sum, so 0.1 + 0.2 == 0.3 here.
// - Ranges and sets behave as sets: adding merges, subtracting removes.
// - A persistent volume or a MOUNT/BLOCK/RAW disk is indivisible: it never
//   merges with another entry and can only be subtracted whole.
// - Entries that become empty (scalar 0, no ranges, no items) are removed.
// Functions work in place and allocate only when a vector must grow; none
// throws. `subtract` and `contains` treat a missing or too small entry as
// "not contained": subtract then returns false and leaves `from` unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "mesoflow/mesos/types.hpp"

namespace mesoflow::mesos {

// Mesos keeps three decimal digits of every scalar.
inline constexpr double kScalarResolution = 1000.0;

// v in thousandths, rounded to nearest (as Mesos' convertToFixed does).
std::int64_t to_milli(double value);
double from_milli(std::int64_t milli);
// Fixed-point comparisons of two scalars.
bool scalar_equal(double a, double b);
bool scalar_less_equal(double a, double b);

// True when a and b differ at most in their value (see the header comment).
bool combinable(const Resource& a, const Resource& b);

// True for a persistent volume or a MOUNT/BLOCK/RAW disk.
bool is_indivisible(const Resource& r);

// True when the resource holds nothing (scalar 0, no ranges, no set items).
bool is_empty(const Resource& r);

// into += r (or += each of rs).
void add(std::vector<Resource>& into, const Resource& r);
void add(std::vector<Resource>& into, const std::vector<Resource>& rs);

// from -= r (or -= each of rs). False, with `from` unchanged, when `from`
// does not contain it.
bool subtract(std::vector<Resource>& from, const Resource& r);
bool subtract(std::vector<Resource>& from, const std::vector<Resource>& rs);

// True when `have` contains every resource of `want` (want <= have).
// Allocation-free.
bool contains(const std::vector<Resource>& have, const Resource& want);
bool contains(const std::vector<Resource>& have, const std::vector<Resource>& want);

// Sums over every entry of that name, whatever its role or reservation.
double scalar_sum(const std::vector<Resource>& rs, std::string_view name);
std::int64_t scalar_sum_milli(const std::vector<Resource>& rs, std::string_view name);
std::uint64_t range_count(const std::vector<Resource>& rs, std::string_view name);

// ---------------------------------------------------------------- ranges

// Sorts and merges overlapping or adjacent ranges ([1,2]+[3,4] -> [1,4]);
// ranges with begin > end are dropped.
void normalize(std::vector<Range>& ranges);
// Number of values in normalized ranges.
std::uint64_t count(const std::vector<Range>& ranges);
// True when every value of `want` is in `have` (neither needs normalizing).
bool ranges_contain(const std::vector<Range>& have, const std::vector<Range>& want);
// have += add, have -= sub; results are normalized.
void ranges_add(std::vector<Range>& have, const std::vector<Range>& add);
void ranges_subtract(std::vector<Range>& have, const std::vector<Range>& sub);

// The `count` lowest values of `offered` as normalized ranges, or nullopt
// when `offered` has fewer values.
std::optional<std::vector<Range>> choose_ports(const std::vector<Range>& offered,
                                               std::uint64_t count);

// Chooses `count` values of the RANGES resources named `name` (lowest first,
// across entries in their order) and returns them as resources that keep the
// role, reservations and allocation_info of the entries they came from: what
// a TaskInfo must carry. nullopt when the entries hold fewer values.
std::optional<std::vector<Resource>> choose_ports(const std::vector<Resource>& offered,
                                                  std::uint64_t count,
                                                  std::string_view name = "ports");

}  // namespace mesoflow::mesos
