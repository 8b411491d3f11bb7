#include "agent_capacity.hpp"

#include <algorithm>
#include <optional>

namespace mesoflow::scheduler {
namespace {

std::optional<Dimension> scalar_dimension(const std::string& name) {
    if (name == "cpus")
        return kCpus;
    if (name == "mem")
        return kMem;
    if (name == "disk")
        return kDisk;
    if (name == "gpus")
        return kGpus;
    return std::nullopt;
}

constexpr std::uint64_t kMaxPort = 65535;

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
    return std::min(kMaxAmount, a + std::min(b, kMaxAmount));
}

}  // namespace

bool is_reserved(const mesos::Resource& r) {
    if (!r.reservations.empty() || r.reservation)
        return true;
    return r.role && *r.role != "*";
}

AgentCapacity::AgentCapacity(const mesos::Offer& first, std::string_view role)
    : first_(&first), role_(role) {
    pools_.reserve(first.resources.size());
    add(first);
}

void AgentCapacity::add(const mesos::Offer& offer) {
    for (const auto& r : offer.resources) {
        if (r.revocable || r.shared || r.disk)
            continue;  // not for plain tasks: they could vanish, be shared, or must be taken whole
        if (r.type == mesos::ValueType::scalar) {
            const auto d = scalar_dimension(r.name);
            const std::int64_t amount = to_milli(r.scalar);
            if (!d || amount == 0)
                continue;
            pools_.push_back(Pool{&r, *d, is_reserved(r), amount, {}});
            left_[*d] = saturating_add(left_[*d], amount);
        } else if (r.type == mesos::ValueType::ranges && r.name == "ports") {
            Pool pool{&r, kPorts, is_reserved(r), 0, {}};
            for (auto range : r.ranges) {
                range.end = std::min(range.end, kMaxPort);  // no port lies above
                if (range.begin > range.end)
                    continue;
                pool.free.push_back(range);
                pool.left += static_cast<std::int64_t>(range.end - range.begin + 1);
            }
            if (pool.left == 0)
                continue;
            std::sort(
                pool.free.begin(), pool.free.end(),
                [](const mesos::Range& a, const mesos::Range& b) { return a.begin < b.begin; });
            left_[kPorts] = saturating_add(left_[kPorts], pool.left);
            pools_.push_back(std::move(pool));
        }
    }
}

void AgentCapacity::seal() {
    std::stable_partition(pools_.begin(), pools_.end(), [](const Pool& p) { return p.reserved; });
    offered_ = left_;
}

void AgentCapacity::take(const Amounts& need, std::vector<ResourceTake>& out) {
    for (std::size_t d = 0; d < kPorts; ++d) {
        if (need[d] > 0)
            take_scalar(static_cast<Dimension>(d), need[d], out);
    }
    if (need[kPorts] > 0)
        take_ports(need[kPorts], out);
}

void AgentCapacity::take_scalar(Dimension d, std::int64_t need, std::vector<ResourceTake>& out) {
    left_[d] -= need;
    for (auto& pool : pools_) {
        if (need == 0)
            break;
        if (pool.dimension != d || pool.left == 0)
            continue;
        const std::int64_t taken = std::min(pool.left, need);
        pool.left -= taken;
        need -= taken;
        out.push_back(ResourceTake{pool.offered, from_milli(taken), {}});
    }
}

void AgentCapacity::take_ports(std::int64_t need, std::vector<ResourceTake>& out) {
    left_[kPorts] -= need;
    for (auto& pool : pools_) {
        if (need == 0)
            break;
        if (pool.dimension != kPorts || pool.left == 0)
            continue;
        auto range = pool.free.begin();
        while (need > 0 && range != pool.free.end()) {
            const std::uint64_t available = range->end - range->begin + 1;
            const auto n = std::min<std::uint64_t>(available, static_cast<std::uint64_t>(need));
            out.push_back(ResourceTake{pool.offered, 0, {range->begin, range->begin + n - 1}});
            need -= static_cast<std::int64_t>(n);
            pool.left -= static_cast<std::int64_t>(n);
            if (n == available) {
                ++range;
            } else {
                range->begin += n;
            }
        }
        pool.free.erase(pool.free.begin(), range);
    }
}

}  // namespace mesoflow::scheduler
