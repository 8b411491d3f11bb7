// FirstFitTree: finds the first slot, in slot order, whose remaining amounts
// cover a request in every dimension. A segment tree keeps, per node, the
// largest remaining amount of each dimension below it, so whole runs of full
// agents are skipped at once; a node can only be pruned, never wrongly taken,
// because a leaf is checked exactly. Typical cost O(log n) per query and per
// update; the worst case (many agents rich in one dimension and poor in
// another) degrades towards a linear scan, never worse.
// Internal to the scheduler module.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "amounts.hpp"

namespace mesoflow::scheduler {

class FirstFitTree {
  public:
    FirstFitTree() = default;
    explicit FirstFitTree(std::span<const Amounts> leaves);

    // The first leaf that covers `need`, or nullopt.
    std::optional<std::size_t> first_fit(const Amounts& need) const;
    // Sets a leaf's remaining amounts (they only go down while matching).
    void update(std::size_t leaf, const Amounts& left);
    std::size_t size() const { return count_; }

  private:
    std::optional<std::size_t> descend(std::size_t node, const Amounts& need) const;

    std::size_t count_ = 0;
    std::size_t width_ = 0;       // leaves in the tree: a power of two >= count_
    std::vector<Amounts> nodes_;  // 1-based heap layout; leaves at [width_, width_ + count_)
};

}  // namespace mesoflow::scheduler
