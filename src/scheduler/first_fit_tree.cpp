#include "first_fit_tree.hpp"

#include <algorithm>

namespace mesoflow::scheduler {
namespace {

// Padding leaves: below any request, since requests are never negative.
constexpr Amounts kNothing = {-1, -1, -1, -1, -1};

Amounts pointwise_max(const Amounts& a, const Amounts& b) {
    Amounts m;
    for (std::size_t d = 0; d < kDimensions; ++d)
        m[d] = std::max(a[d], b[d]);
    return m;
}

}  // namespace

FirstFitTree::FirstFitTree(std::span<const Amounts> leaves) : count_(leaves.size()) {
    width_ = 1;
    while (width_ < count_)
        width_ *= 2;
    nodes_.assign(2 * width_, kNothing);
    std::copy(leaves.begin(), leaves.end(), nodes_.begin() + static_cast<std::ptrdiff_t>(width_));
    for (std::size_t i = width_ - 1; i >= 1; --i)
        nodes_[i] = pointwise_max(nodes_[2 * i], nodes_[2 * i + 1]);
}

std::optional<std::size_t> FirstFitTree::first_fit(const Amounts& need) const {
    if (count_ == 0)
        return std::nullopt;
    return descend(1, need);
}

std::optional<std::size_t> FirstFitTree::descend(std::size_t node, const Amounts& need) const {
    if (!covers(nodes_[node], need))
        return std::nullopt;
    if (node >= width_)
        return node - width_;
    if (auto left = descend(2 * node, need))
        return left;
    return descend(2 * node + 1, need);
}

void FirstFitTree::update(std::size_t leaf, const Amounts& left) {
    std::size_t i = width_ + leaf;
    nodes_[i] = left;
    for (i /= 2; i >= 1; i /= 2) {
        const Amounts m = pointwise_max(nodes_[2 * i], nodes_[2 * i + 1]);
        if (m == nodes_[i])
            break;  // nothing above changes either
        nodes_[i] = m;
    }
}

}  // namespace mesoflow::scheduler
