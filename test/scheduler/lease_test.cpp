// The lease: valid from the renewal sent last, less a tenth, until it ends;
// and what the master's "failed over" means inside and outside it.
#include "mesoflow/scheduler/lease.hpp"

#include <catch2/catch.hpp>

using mesoflow::scheduler::FailedOver;
using mesoflow::scheduler::Lease;
using mesoflow::scheduler::on_failed_over;
using std::chrono::milliseconds;

namespace {
Lease::TimePoint at(int ms) {
    return Lease::TimePoint(milliseconds(ms));
}
}  // namespace

TEST_CASE("a lease is valid from its renewal sent last until the lease less a tenth") {
    struct Row {
        std::vector<int> renewals_sent;  // in the order their answers came
        int now;
        bool valid;
        int remaining;  // ms
    };
    // A 10 s lease: valid until sent + 9 s.
    const std::vector<Row> rows = {
        {{}, 0, false, 0},                  // never taken
        {{0}, 0, true, 9000},               // taken now
        {{0}, 8999, true, 1},               // the last millisecond
        {{0}, 9000, false, 0},              // over: the server may end it at 10 s
        {{0, 2500}, 11000, true, 500},      // renewed: counts from the renewal's sending
        {{0, 2500, 5000}, 13999, true, 1},  // each renewal moves it on
        {{5000, 2500}, 13000, true, 1000},  // an older renewal answered late changes nothing
        {{0}, 60000, false, 0},             // frozen for a minute
    };
    for (const auto& r : rows) {
        Lease lease(milliseconds(10000));
        for (int s : r.renewals_sent)
            lease.renewed(at(s));
        INFO("now " << r.now << " renewals " << r.renewals_sent.size());
        CHECK(lease.valid(at(r.now)) == r.valid);
        CHECK(lease.remaining(at(r.now)) == milliseconds(r.remaining));
    }
}

TEST_CASE("an ended lease is never valid again, whatever renewal answers later") {
    Lease lease(milliseconds(10000));
    lease.renewed(at(0));
    REQUIRE(lease.valid(at(1)));
    lease.end();
    CHECK_FALSE(lease.valid(at(1)));
    CHECK_FALSE(lease.valid_until().has_value());
    lease.renewed(at(2));
    CHECK_FALSE(lease.valid(at(3)));
}

TEST_CASE("a lease is renewed every quarter of its length") {
    CHECK(Lease(milliseconds(15000)).renew_every() == milliseconds(3750));
    CHECK(Lease(milliseconds(1000)).renew_every() == milliseconds(250));
}

TEST_CASE("failed over inside a valid lease is an impostor, outside it a standby took over") {
    CHECK(on_failed_over(true) == FailedOver::impostor_stop);
    CHECK(on_failed_over(false) == FailedOver::step_down);
}
