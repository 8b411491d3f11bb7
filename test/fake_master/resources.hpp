// Resources: the quantities one simulated agent has, offers, or a task asks
// for: cpus, mem, disk, gpus (Mesos scalars, kept as integer thousandths as
// Mesos does, so sums never drift) and port ranges. Pure values; arithmetic
// never fails (subtraction clamps at zero, callers check contains() first).
// parse_task_resources reads a task's `resources` array (normalised by
// CallSchema) the way the master validates and matches it against an offer.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mesoflow::fake {

struct PortRange {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;  // inclusive
    bool operator==(const PortRange&) const = default;
};

// Sorted, non-overlapping, non-adjacent ranges.
class RangeSet {
  public:
    RangeSet() = default;
    explicit RangeSet(std::vector<PortRange> ranges);

    void add(const RangeSet& other);
    void subtract(const RangeSet& other);
    bool contains(const RangeSet& other) const;
    bool empty() const { return ranges_.empty(); }
    std::uint64_t count() const;
    const std::vector<PortRange>& ranges() const { return ranges_; }
    std::string to_string() const;
    bool operator==(const RangeSet&) const = default;

  private:
    void normalize();
    std::vector<PortRange> ranges_;
};

struct Resources {
    std::int64_t cpus_milli = 0;
    std::int64_t mem_milli = 0;
    std::int64_t disk_milli = 0;
    std::int64_t gpus_milli = 0;
    RangeSet ports;

    static std::int64_t to_milli(double value);
    static Resources of(double cpus, double mem, double disk, double gpus, RangeSet ports);
    double cpus() const { return static_cast<double>(cpus_milli) / 1000.0; }
    double mem() const { return static_cast<double>(mem_milli) / 1000.0; }
    double disk() const { return static_cast<double>(disk_milli) / 1000.0; }
    double gpus() const { return static_cast<double>(gpus_milli) / 1000.0; }

    Resources& operator+=(const Resources& other);
    Resources& operator-=(const Resources& other);
    bool contains(const Resources& other) const;
    bool empty() const;
    bool operator==(const Resources&) const = default;
    // Mesos' min_allocatable_resources default: "cpus:0.01|mem:32".
    bool allocatable() const;
    std::string to_string() const;
    // Offer format: one Resource per non-empty kind, unreserved. `role` is set
    // for frameworks without RESERVATION_REFINEMENT ("*"), allocation_info
    // for MULTI_ROLE frameworks.
    nlohmann::json to_json(const std::string* allocation_role, bool legacy_role) const;
};

struct TaskResources {
    Resources resources;
    // Set when the resources are malformed ("Task uses invalid resources: ...").
    std::optional<std::string> invalid;
    // Set when something asked for cannot be in any offer of this fake
    // (reserved resources, another role, an unknown resource name): the
    // task then over-asks like a task asking for too much.
    std::optional<std::string> unavailable;
};

TaskResources parse_task_resources(const nlohmann::json& resources, const std::string& offer_role);

}  // namespace mesoflow::fake
