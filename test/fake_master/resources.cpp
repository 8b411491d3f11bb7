#include "resources.hpp"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace mesoflow::fake {

using nlohmann::json;

RangeSet::RangeSet(std::vector<PortRange> ranges) : ranges_(std::move(ranges)) {
    normalize();
}

void RangeSet::normalize() {
    std::sort(ranges_.begin(), ranges_.end(),
              [](const PortRange& a, const PortRange& b) { return a.begin < b.begin; });
    std::vector<PortRange> merged;
    for (const auto& r : ranges_) {
        if (r.begin > r.end)
            continue;
        if (!merged.empty() && r.begin <= merged.back().end + 1) {
            merged.back().end = std::max(merged.back().end, r.end);
        } else {
            merged.push_back(r);
        }
    }
    ranges_ = std::move(merged);
}

void RangeSet::add(const RangeSet& other) {
    if (other.empty())
        return;
    ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
    normalize();
}

void RangeSet::subtract(const RangeSet& other) {
    if (other.empty() || ranges_.empty())
        return;
    std::vector<PortRange> out;
    for (const auto& r : ranges_) {
        std::uint64_t cursor = r.begin;
        bool open = true;
        for (const auto& cut : other.ranges_) {
            if (cut.end < cursor || cut.begin > r.end)
                continue;
            if (cut.begin > cursor)
                out.push_back({cursor, cut.begin - 1});
            if (cut.end >= r.end) {
                open = false;
                break;
            }
            cursor = cut.end + 1;
        }
        if (open && cursor <= r.end)
            out.push_back({cursor, r.end});
    }
    ranges_ = std::move(out);
    normalize();
}

bool RangeSet::contains(const RangeSet& other) const {
    for (const auto& want : other.ranges_) {
        const bool covered =
            std::any_of(ranges_.begin(), ranges_.end(), [&](const PortRange& have) {
                return have.begin <= want.begin && want.end <= have.end;
            });
        if (!covered)
            return false;
    }
    return true;
}

std::uint64_t RangeSet::count() const {
    std::uint64_t n = 0;
    for (const auto& r : ranges_)
        n += r.end - r.begin + 1;
    return n;
}

std::string RangeSet::to_string() const {
    std::string out = "[";
    for (std::size_t i = 0; i < ranges_.size(); ++i) {
        if (i > 0)
            out += ", ";
        out += fmt::format("{}-{}", ranges_[i].begin, ranges_[i].end);
    }
    return out + "]";
}

std::int64_t Resources::to_milli(double value) {
    return std::llround(value * 1000.0);
}

Resources Resources::of(double cpus, double mem, double disk, double gpus, RangeSet ports) {
    Resources r;
    r.cpus_milli = to_milli(cpus);
    r.mem_milli = to_milli(mem);
    r.disk_milli = to_milli(disk);
    r.gpus_milli = to_milli(gpus);
    r.ports = std::move(ports);
    return r;
}

Resources& Resources::operator+=(const Resources& other) {
    cpus_milli += other.cpus_milli;
    mem_milli += other.mem_milli;
    disk_milli += other.disk_milli;
    gpus_milli += other.gpus_milli;
    ports.add(other.ports);
    return *this;
}

Resources& Resources::operator-=(const Resources& other) {
    cpus_milli = std::max<std::int64_t>(0, cpus_milli - other.cpus_milli);
    mem_milli = std::max<std::int64_t>(0, mem_milli - other.mem_milli);
    disk_milli = std::max<std::int64_t>(0, disk_milli - other.disk_milli);
    gpus_milli = std::max<std::int64_t>(0, gpus_milli - other.gpus_milli);
    ports.subtract(other.ports);
    return *this;
}

bool Resources::contains(const Resources& other) const {
    return cpus_milli >= other.cpus_milli && mem_milli >= other.mem_milli &&
           disk_milli >= other.disk_milli && gpus_milli >= other.gpus_milli &&
           ports.contains(other.ports);
}

bool Resources::empty() const {
    return cpus_milli == 0 && mem_milli == 0 && disk_milli == 0 && gpus_milli == 0 && ports.empty();
}

bool Resources::allocatable() const {
    return cpus_milli >= 10 || mem_milli >= 32000;
}

std::string Resources::to_string() const {
    std::string out;
    auto add = [&out](const std::string& part) {
        if (!out.empty())
            out += "; ";
        out += part;
    };
    if (cpus_milli > 0)
        add(fmt::format("cpus:{}", cpus()));
    if (mem_milli > 0)
        add(fmt::format("mem:{}", mem()));
    if (disk_milli > 0)
        add(fmt::format("disk:{}", disk()));
    if (gpus_milli > 0)
        add(fmt::format("gpus:{}", gpus()));
    if (!ports.empty())
        add("ports:" + ports.to_string());
    return out.empty() ? "{}" : out;
}

json Resources::to_json(const std::string* allocation_role, bool legacy_role) const {
    json out = json::array();
    auto decorate = [&](json r) {
        if (legacy_role)
            r["role"] = "*";
        if (allocation_role != nullptr)
            r["allocation_info"] = {{"role", *allocation_role}};
        out.push_back(std::move(r));
    };
    auto scalar = [&](const char* name, std::int64_t milli) {
        if (milli <= 0)
            return;
        decorate({{"name", name},
                  {"type", "SCALAR"},
                  {"scalar", {{"value", static_cast<double>(milli) / 1000.0}}}});
    };
    scalar("cpus", cpus_milli);
    scalar("mem", mem_milli);
    scalar("disk", disk_milli);
    scalar("gpus", gpus_milli);
    if (!ports.empty()) {
        json ranges = json::array();
        for (const auto& r : ports.ranges())
            ranges.push_back({{"begin", r.begin}, {"end", r.end}});
        decorate({{"name", "ports"}, {"type", "RANGES"}, {"ranges", {{"range", ranges}}}});
    }
    return out;
}

namespace {

std::int64_t* scalar_slot(Resources& r, const std::string& name) {
    if (name == "cpus")
        return &r.cpus_milli;
    if (name == "mem")
        return &r.mem_milli;
    if (name == "disk")
        return &r.disk_milli;
    if (name == "gpus")
        return &r.gpus_milli;
    return nullptr;
}

}  // namespace

TaskResources parse_task_resources(const json& resources, const std::string& offer_role) {
    TaskResources out;
    if (!resources.is_array())
        return out;
    for (const auto& r : resources) {
        const std::string name = r.value("name", "");
        const std::string type = r.value("type", "");
        if (name.empty()) {
            out.invalid = "Empty resource name";
            return out;
        }
        if (type == "SCALAR") {
            if (!r.contains("scalar") || r.contains("ranges") || r.contains("set")) {
                out.invalid = "Invalid scalar resource " + name;
                return out;
            }
            const double value = r["scalar"].value("value", 0.0);
            if (!std::isfinite(value) || value < 0) {
                out.invalid = fmt::format(
                    "Invalid scalar resource {}: value {} is not a "
                    "non-negative finite number",
                    name, value);
                return out;
            }
            if (name == "gpus" && std::floor(value) != value) {
                out.invalid = "The 'gpus' resource must be an unsigned integer";
                return out;
            }
        } else if (type == "RANGES") {
            if (!r.contains("ranges") || r.contains("scalar") || r.contains("set")) {
                out.invalid = "Invalid ranges resource " + name;
                return out;
            }
            for (const auto& range : r["ranges"].value("range", json::array())) {
                if (range.value("begin", std::uint64_t{0}) > range.value("end", std::uint64_t{0})) {
                    out.invalid = "Invalid ranges resource " + name + ": begin > end";
                    return out;
                }
            }
        } else if (type == "SET") {
            if (!r.contains("set") || r.contains("scalar") || r.contains("ranges")) {
                out.invalid = "Invalid set resource " + name;
                return out;
            }
        } else {
            out.invalid = "Unsupported resource type " + type + " for " + name;
            return out;
        }

        const bool reserved = (r.contains("role") && r["role"] != "*") ||
                              (r.contains("reservations") && !r["reservations"].empty()) ||
                              r.contains("reservation");
        if (reserved) {
            out.unavailable = "reserved resource " + name + " (agents offer only unreserved ones)";
        }
        if (r.contains("allocation_info") && r["allocation_info"].contains("role") &&
            r["allocation_info"]["role"] != offer_role) {
            out.unavailable = "resource " + name + " is allocated to role " +
                              r["allocation_info"]["role"].get<std::string>() + ", the offer to " +
                              offer_role;
        }

        if (std::int64_t* slot = scalar_slot(out.resources, name); slot != nullptr) {
            if (type != "SCALAR") {
                out.unavailable = name + " is offered as SCALAR";
                continue;
            }
            *slot += Resources::to_milli(r["scalar"].value("value", 0.0));
        } else if (name == "ports") {
            if (type != "RANGES") {
                out.unavailable = "ports are offered as RANGES";
                continue;
            }
            std::vector<PortRange> ranges;
            for (const auto& range : r["ranges"].value("range", json::array())) {
                ranges.push_back(
                    {range.value("begin", std::uint64_t{0}), range.value("end", std::uint64_t{0})});
            }
            out.resources.ports.add(RangeSet(std::move(ranges)));
        } else {
            const bool zero = type == "SCALAR" && r["scalar"].value("value", 0.0) == 0.0;
            if (!zero)
                out.unavailable = "resource " + name + " is not offered by any agent";
        }
    }
    return out;
}

}  // namespace mesoflow::fake
