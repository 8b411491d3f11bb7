#include "first_fit_tree.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace mesoflow::scheduler;

namespace {

std::optional<std::size_t> linear_first_fit(const std::vector<Amounts>& leaves,
                                            const Amounts& need) {
    for (std::size_t i = 0; i < leaves.size(); ++i) {
        if (covers(leaves[i], need))
            return i;
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("the first-fit tree finds what a linear scan finds, through updates") {
    std::mt19937 rng(7);
    for (std::size_t n : {0u, 1u, 2u, 3u, 5u, 64u, 100u}) {
        std::vector<Amounts> leaves(n);
        for (auto& l : leaves) {
            for (auto& v : l)
                v = static_cast<std::int64_t>(rng() % 10);
        }
        FirstFitTree tree(leaves);
        CHECK(tree.size() == n);
        for (int q = 0; q < 300; ++q) {
            Amounts need;
            for (auto& v : need)
                v = static_cast<std::int64_t>(rng() % 8);
            INFO("n=" << n << " query " << q);
            const auto expected = linear_first_fit(leaves, need);
            REQUIRE(tree.first_fit(need) == expected);
            if (expected) {
                for (std::size_t d = 0; d < kDimensions; ++d)
                    leaves[*expected][d] -= need[d];
                tree.update(*expected, leaves[*expected]);
            }
        }
    }
}

TEST_CASE("a request of nothing fits the first leaf; an empty tree fits nothing") {
    FirstFitTree empty;
    CHECK_FALSE(empty.first_fit(Amounts{}));
    std::vector<Amounts> leaves = {Amounts{}, Amounts{1, 1, 1, 1, 1}};
    FirstFitTree tree(leaves);
    CHECK(tree.first_fit(Amounts{}) == 0u);
    CHECK(tree.first_fit(Amounts{1, 0, 0, 0, 0}) == 1u);
    CHECK_FALSE(tree.first_fit(Amounts{2, 0, 0, 0, 0}));
}
