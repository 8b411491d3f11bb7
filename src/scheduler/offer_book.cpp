#include "mesoflow/scheduler/offer_book.hpp"

#include <algorithm>
#include <iterator>

namespace mesoflow::scheduler {

void OfferBook::add(std::vector<mesos::Offer> offers, TimePoint now, std::int64_t wall_us) {
    for (auto& offer : offers) {
        arrivals_[offer.id] = Arrival{now, wall_us};
        held_.push_back(std::move(offer));
    }
}

bool OfferBook::rescind(const std::string& offer_id) {
    arrivals_.erase(offer_id);
    return std::erase_if(held_, [&](const mesos::Offer& o) { return o.id == offer_id; }) > 0;
}

std::vector<mesos::Offer> OfferBook::take_all() {
    std::vector<mesos::Offer> out = std::move(held_);
    held_.clear();
    return out;
}

OfferBook::TimePoint OfferBook::due(const mesos::Offer& offer, TimePoint now) const {
    const auto it = arrivals_.find(offer.id);
    return (it == arrivals_.end() ? now : it->second.at) + hold_max_;
}

std::vector<std::string> OfferBook::take_stale(TimePoint now) {
    std::vector<std::string> stale;
    std::vector<mesos::Offer> keep;
    for (auto& offer : held_) {
        if (due(offer, now) <= now) {
            stale.push_back(offer.id);
        } else {
            keep.push_back(std::move(offer));
        }
    }
    held_ = std::move(keep);
    return stale;
}

std::optional<OfferBook::TimePoint> OfferBook::deadline() const {
    std::optional<TimePoint> next;
    for (const auto& offer : held_) {
        const auto it = arrivals_.find(offer.id);
        if (it == arrivals_.end())
            continue;
        const auto d = it->second.at + hold_max_;
        next = next ? std::min(*next, d) : d;
    }
    return next;
}

std::vector<OfferBook::Arrival> OfferBook::answered(const std::vector<std::string>& offer_ids) {
    std::vector<Arrival> out;
    out.reserve(offer_ids.size());
    for (const auto& id : offer_ids) {
        if (auto it = arrivals_.find(id); it != arrivals_.end()) {
            out.push_back(it->second);
            arrivals_.erase(it);
        }
    }
    return out;
}

void OfferBook::clear() {
    held_.clear();
    arrivals_.clear();
}

}  // namespace mesoflow::scheduler
