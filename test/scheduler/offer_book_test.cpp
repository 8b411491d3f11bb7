// The offer book: which held offers go back when, and the arrival of each
// offer answered. Time is driven by the test.
#include "mesoflow/scheduler/offer_book.hpp"

#include <catch2/catch.hpp>

using namespace mesoflow;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<mesos::Offer> offers(std::initializer_list<const char*> ids) {
    std::vector<mesos::Offer> out;
    for (const auto* id : ids) {
        mesos::Offer o;
        o.id = id;
        out.push_back(o);
    }
    return out;
}

}  // namespace

TEST_CASE("a held offer goes back once it waited the hold limit, not a microsecond before") {
    scheduler::OfferBook book;  // kOfferHoldMax: 2 ms
    const auto t0 = Clock::now();
    book.add(offers({"A", "B"}), t0, 1000);
    book.add(offers({"C"}), t0 + 1ms, 2000);
    CHECK(book.held() == 3);
    CHECK(book.deadline() == t0 + 2ms);
    struct Step {
        std::chrono::microseconds at;
        std::vector<std::string> stale;
        std::size_t held_after;
    };
    const std::vector<Step> steps = {
        {0us, {}, 3}, {1999us, {}, 3}, {2000us, {"A", "B"}, 1}, {2999us, {}, 1}, {3000us, {"C"}, 0},
    };
    for (const auto& s : steps) {
        INFO("at " << s.at.count() << " us");
        CHECK(book.take_stale(t0 + s.at) == s.stale);
        CHECK(book.held() == s.held_after);
    }
    CHECK_FALSE(book.deadline());
    // Their arrivals stay until answered, in the order asked.
    const auto arrivals = book.answered({"C", "A", "unknown"});
    REQUIRE(arrivals.size() == 2);
    CHECK(arrivals[0].at == t0 + 1ms);
    CHECK(arrivals[0].wall_us == 2000);
    CHECK(arrivals[1].at == t0);
    CHECK(book.answered({"A"}).empty());  // forgotten once answered
}

TEST_CASE("offers taken for a round leave the book; rescinded and cleared offers are forgotten") {
    scheduler::OfferBook book(5ms);
    const auto t0 = Clock::now();
    book.add(offers({"A", "B", "C"}), t0, 0);
    CHECK(book.rescind("B"));
    CHECK_FALSE(book.rescind("B"));
    CHECK(book.held() == 2);
    CHECK(book.deadline() == t0 + 5ms);
    const auto round = book.take_all();
    REQUIRE(round.size() == 2);
    CHECK(round[0].id == "A");
    CHECK(round[1].id == "C");
    CHECK(book.empty());
    CHECK_FALSE(book.deadline());
    CHECK(book.answered({"A", "B", "C"}).size() == 2);  // B was rescinded
    book.add(offers({"D"}), t0, 0);
    book.clear();
    CHECK(book.empty());
    CHECK(book.answered({"D"}).empty());
}
