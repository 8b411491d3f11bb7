#include "mesoflow/mesos/resources.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mesoflow::mesos {
namespace {

constexpr std::uint64_t kMaxValue = std::numeric_limits<std::uint64_t>::max();

std::string_view role_of(const Resource& r) {
    // An unset legacy role means "*" (the proto default).
    return r.role ? std::string_view(*r.role) : std::string_view("*");
}

bool valid(const Range& r) {
    return r.begin <= r.end;
}

// The have-range holding `value`, or nullptr.
const Range* holding(const std::vector<Range>& have, std::uint64_t value) {
    for (const Range& h : have) {
        if (valid(h) && h.begin <= value && value <= h.end)
            return &h;
    }
    return nullptr;
}

bool ranges_overlap(const std::vector<Range>& a, const std::vector<Range>& b) {
    for (const Range& x : a) {
        for (const Range& y : b) {
            if (valid(x) && valid(y) && x.begin <= y.end && y.begin <= x.end)
                return true;
        }
    }
    return false;
}

bool set_has(const std::vector<std::string>& set, const std::string& item) {
    return std::find(set.begin(), set.end(), item) != set.end();
}

bool sets_overlap(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    for (const auto& item : a) {
        if (set_has(b, item))
            return true;
    }
    return false;
}

// The entry of `have` that `want` would be taken from, or nullptr.
const Resource* source_for(const std::vector<Resource>& have, const Resource& want) {
    const bool whole = is_indivisible(want);
    for (const Resource& h : have) {
        if (whole ? h == want : (combinable(h, want) && !is_indivisible(h)))
            return &h;
    }
    return nullptr;
}

std::vector<Resource>::iterator source_for(std::vector<Resource>& have, const Resource& want) {
    const Resource* found = source_for(static_cast<const std::vector<Resource>&>(have), want);
    return found == nullptr ? have.end() : have.begin() + (found - have.data());
}

// Whether `group` (wants that all take from `source`) fits in it when taken
// one after the other, as Mesos' contains() checks.
bool group_fits(const Resource& source, const std::vector<Resource>& want, std::size_t first) {
    const Resource& lead = want[first];
    switch (lead.type) {
        case ValueType::scalar: {
            std::int64_t need = 0;
            for (std::size_t i = first; i < want.size(); ++i) {
                if (combinable(want[i], lead) && !is_empty(want[i]))
                    need += to_milli(want[i].scalar);
            }
            return need <= to_milli(source.scalar);
        }
        case ValueType::ranges:
            for (std::size_t i = first; i < want.size(); ++i) {
                if (!combinable(want[i], lead) || is_empty(want[i]))
                    continue;
                if (!ranges_contain(source.ranges, want[i].ranges))
                    return false;
                for (std::size_t j = first; j < i; ++j) {
                    if (combinable(want[j], lead) && ranges_overlap(want[j].ranges, want[i].ranges))
                        return false;
                }
            }
            return true;
        case ValueType::set:
            for (std::size_t i = first; i < want.size(); ++i) {
                if (!combinable(want[i], lead) || is_empty(want[i]))
                    continue;
                for (const auto& item : want[i].set) {
                    if (!set_has(source.set, item))
                        return false;
                }
                for (std::size_t j = first; j < i; ++j) {
                    if (combinable(want[j], lead) && sets_overlap(want[j].set, want[i].set))
                        return false;
                }
            }
            return true;
        case ValueType::text:
            return false;
    }
    return false;
}

}  // namespace

std::int64_t to_milli(double value) {
    const double scaled = value * kScalarResolution;
    if (std::isnan(scaled))
        return 0;
    // Beyond what int64 holds: saturate rather than overflow.
    if (scaled >= 9.2e18)
        return std::numeric_limits<std::int64_t>::max();
    if (scaled <= -9.2e18)
        return std::numeric_limits<std::int64_t>::min();
    return std::llround(scaled);
}

double from_milli(std::int64_t milli) {
    return static_cast<double>(milli) / kScalarResolution;
}

bool scalar_equal(double a, double b) {
    return to_milli(a) == to_milli(b);
}

bool scalar_less_equal(double a, double b) {
    return to_milli(a) <= to_milli(b);
}

bool combinable(const Resource& a, const Resource& b) {
    return a.type == b.type && a.revocable == b.revocable && a.shared == b.shared &&
           a.name == b.name && role_of(a) == role_of(b) && a.allocation_info == b.allocation_info &&
           a.reservations == b.reservations && a.reservation == b.reservation &&
           a.provider_id == b.provider_id && a.disk == b.disk;
}

bool is_indivisible(const Resource& r) {
    if (!r.disk)
        return false;
    if (r.disk->persistence)
        return true;
    if (!r.disk->source)
        return false;
    const DiskSourceType t = r.disk->source->type;
    return t == DiskSourceType::mount || t == DiskSourceType::block || t == DiskSourceType::raw;
}

bool is_empty(const Resource& r) {
    switch (r.type) {
        case ValueType::scalar:
            return to_milli(r.scalar) <= 0;
        case ValueType::ranges:
            return std::none_of(r.ranges.begin(), r.ranges.end(), valid);
        case ValueType::set:
            return r.set.empty();
        case ValueType::text:
            return false;
    }
    return true;
}

void add(std::vector<Resource>& into, const Resource& r) {
    if (is_empty(r))
        return;
    if (!is_indivisible(r) && r.type != ValueType::text) {
        for (Resource& e : into) {
            if (!combinable(e, r) || is_indivisible(e))
                continue;
            switch (r.type) {
                case ValueType::scalar:
                    e.scalar = from_milli(to_milli(e.scalar) + to_milli(r.scalar));
                    break;
                case ValueType::ranges:
                    ranges_add(e.ranges, r.ranges);
                    break;
                case ValueType::set:
                    for (const auto& item : r.set) {
                        if (!set_has(e.set, item))
                            e.set.push_back(item);
                    }
                    break;
                case ValueType::text:
                    break;
            }
            return;
        }
    }
    into.push_back(r);
    Resource& added = into.back();
    if (added.type == ValueType::scalar)
        added.scalar = from_milli(to_milli(added.scalar));
    if (added.type == ValueType::ranges)
        normalize(added.ranges);
}

void add(std::vector<Resource>& into, const std::vector<Resource>& rs) {
    for (const Resource& r : rs)
        add(into, r);
}

bool contains(const std::vector<Resource>& have, const Resource& want) {
    if (is_empty(want))
        return true;
    const Resource* source = source_for(have, want);
    if (source == nullptr)
        return false;
    if (is_indivisible(want))
        return true;
    switch (want.type) {
        case ValueType::scalar:
            return to_milli(want.scalar) <= to_milli(source->scalar);
        case ValueType::ranges:
            return ranges_contain(source->ranges, want.ranges);
        case ValueType::set:
            return std::all_of(want.set.begin(), want.set.end(),
                               [&](const std::string& item) { return set_has(source->set, item); });
        case ValueType::text:
            return false;
    }
    return false;
}

bool contains(const std::vector<Resource>& have, const std::vector<Resource>& want) {
    for (std::size_t i = 0; i < want.size(); ++i) {
        const Resource& w = want[i];
        if (is_empty(w))
            continue;
        if (is_indivisible(w)) {
            // Each indivisible want needs its own identical entry.
            const auto needed = std::count(want.begin(), want.end(), w);
            if (std::count(have.begin(), have.end(), w) < needed)
                return false;
            continue;
        }
        // Each group of combinable wants is checked once, at its first member.
        bool seen = false;
        for (std::size_t j = 0; j < i && !seen; ++j)
            seen = !is_indivisible(want[j]) && combinable(want[j], w);
        if (seen)
            continue;
        const Resource* source = source_for(have, w);
        if (source == nullptr || !group_fits(*source, want, i))
            return false;
    }
    return true;
}

bool subtract(std::vector<Resource>& from, const Resource& r) {
    if (!contains(from, r))
        return false;
    if (is_empty(r))
        return true;
    const auto it = source_for(from, r);
    if (is_indivisible(r)) {
        from.erase(it);
        return true;
    }
    switch (r.type) {
        case ValueType::scalar:
            it->scalar = from_milli(to_milli(it->scalar) - to_milli(r.scalar));
            break;
        case ValueType::ranges:
            ranges_subtract(it->ranges, r.ranges);
            break;
        case ValueType::set:
            it->set.erase(
                std::remove_if(it->set.begin(), it->set.end(),
                               [&](const std::string& item) { return set_has(r.set, item); }),
                it->set.end());
            break;
        case ValueType::text:
            break;
    }
    if (is_empty(*it))
        from.erase(it);
    return true;
}

bool subtract(std::vector<Resource>& from, const std::vector<Resource>& rs) {
    if (!contains(from, rs))
        return false;
    for (const Resource& r : rs) {
        // Cannot fail: contains() checked the wants taken one after another.
        [[maybe_unused]] const bool ok = subtract(from, r);
    }
    return true;
}

std::int64_t scalar_sum_milli(const std::vector<Resource>& rs, std::string_view name) {
    std::int64_t sum = 0;
    for (const Resource& r : rs) {
        if (r.type == ValueType::scalar && r.name == name)
            sum += to_milli(r.scalar);
    }
    return sum;
}

double scalar_sum(const std::vector<Resource>& rs, std::string_view name) {
    return from_milli(scalar_sum_milli(rs, name));
}

std::uint64_t range_count(const std::vector<Resource>& rs, std::string_view name) {
    std::uint64_t n = 0;
    for (const Resource& r : rs) {
        if (r.type == ValueType::ranges && r.name == name)
            n += count(r.ranges);
    }
    return n;
}

void normalize(std::vector<Range>& ranges) {
    ranges.erase(
        std::remove_if(ranges.begin(), ranges.end(), [](const Range& r) { return !valid(r); }),
        ranges.end());
    if (ranges.size() < 2)
        return;
    std::sort(ranges.begin(), ranges.end(),
              [](const Range& a, const Range& b) { return a.begin < b.begin; });
    std::size_t out = 0;
    for (std::size_t i = 1; i < ranges.size(); ++i) {
        Range& last = ranges[out];
        const Range& next = ranges[i];
        // Adjacent ranges merge too: [1,2] and [3,4] are [1,4].
        if (last.end == kMaxValue || next.begin <= last.end + 1) {
            last.end = std::max(last.end, next.end);
        } else {
            ranges[++out] = next;
        }
    }
    ranges.resize(out + 1);
}

std::uint64_t count(const std::vector<Range>& ranges) {
    std::uint64_t n = 0;
    for (const Range& r : ranges) {
        if (valid(r))
            n +=
                r.end - r.begin + 1;  // a full [0, max] range wraps to 0; no port range is that big
    }
    return n;
}

bool ranges_contain(const std::vector<Range>& have, const std::vector<Range>& want) {
    for (const Range& w : want) {
        if (!valid(w))
            continue;
        std::uint64_t next = w.begin;
        for (;;) {
            const Range* h = holding(have, next);
            if (h == nullptr)
                return false;
            if (h->end >= w.end)
                break;
            next = h->end + 1;
        }
    }
    return true;
}

void ranges_add(std::vector<Range>& have, const std::vector<Range>& add) {
    have.insert(have.end(), add.begin(), add.end());
    normalize(have);
}

void ranges_subtract(std::vector<Range>& have, const std::vector<Range>& sub) {
    normalize(have);
    for (const Range& s : sub) {
        if (!valid(s))
            continue;
        for (std::size_t i = 0; i < have.size();) {
            Range& h = have[i];
            if (h.end < s.begin || s.end < h.begin) {
                ++i;
                continue;
            }
            const bool keep_left = h.begin < s.begin;
            const bool keep_right = h.end > s.end;
            if (keep_left && keep_right) {
                const Range right{s.end + 1, h.end};
                h.end = s.begin - 1;
                have.insert(have.begin() + static_cast<std::ptrdiff_t>(i) + 1, right);
                i += 2;
            } else if (keep_left) {
                h.end = s.begin - 1;
                ++i;
            } else if (keep_right) {
                h.begin = s.end + 1;
                ++i;
            } else {
                have.erase(have.begin() + static_cast<std::ptrdiff_t>(i));
            }
        }
    }
}

std::optional<std::vector<Range>> choose_ports(const std::vector<Range>& offered,
                                               std::uint64_t count) {
    std::vector<Range> pool = offered;
    normalize(pool);
    std::vector<Range> chosen;
    std::uint64_t left = count;
    for (const Range& r : pool) {
        if (left == 0)
            break;
        const std::uint64_t size = r.end - r.begin;  // values minus one, cannot overflow
        if (size >= left - 1) {
            chosen.push_back({r.begin, r.begin + (left - 1)});
            left = 0;
        } else {
            chosen.push_back(r);
            left -= size + 1;
        }
    }
    if (left > 0)
        return std::nullopt;
    return chosen;
}

std::optional<std::vector<Resource>> choose_ports(const std::vector<Resource>& offered,
                                                  std::uint64_t count, std::string_view name) {
    std::vector<Resource> chosen;
    std::uint64_t left = count;
    for (const Resource& r : offered) {
        if (left == 0)
            break;
        if (r.type != ValueType::ranges || r.name != name)
            continue;
        std::vector<Range> pool = r.ranges;
        normalize(pool);
        const std::uint64_t available = mesos::count(pool);
        const std::uint64_t take = std::min(left, available);
        if (take == 0)
            continue;
        auto picked = choose_ports(pool, take);
        Resource part = r;
        part.ranges = std::move(*picked);
        chosen.push_back(std::move(part));
        left -= take;
    }
    if (left > 0)
        return std::nullopt;
    return chosen;
}

}  // namespace mesoflow::mesos
