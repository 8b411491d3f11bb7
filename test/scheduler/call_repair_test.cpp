// Which failure of which call gets which repair, as a table.
#include "mesoflow/scheduler/call_repair.hpp"

#include <catch2/catch.hpp>

using namespace mesoflow;
using namespace std::chrono_literals;
using mesos::CallType;
using scheduler::CallOutcome;
using scheduler::CallRepair;

TEST_CASE("a call's outcome: taken on 2xx, refused on any other answer, else by what was written") {
    struct Row {
        int status;
        bool written;
        CallOutcome expected;
    };
    const std::vector<Row> rows = {
        {202, true, CallOutcome::taken},   {200, true, CallOutcome::taken},
        {503, true, CallOutcome::refused}, {400, true, CallOutcome::refused},
        {404, true, CallOutcome::refused}, {307, true, CallOutcome::refused},
        {0, false, CallOutcome::not_sent}, {0, true, CallOutcome::unknown},
    };
    for (const auto& r : rows) {
        INFO("status " << r.status << " written " << r.written);
        CHECK(scheduler::classify_call(r.status, r.written) == r.expected);
    }
}

TEST_CASE("each failed call gets its repair") {
    struct Row {
        CallType type;
        CallOutcome outcome;
        CallRepair expected;
    };
    const std::vector<Row> rows = {
        // Taken: nothing to repair, whatever the call.
        {CallType::accept, CallOutcome::taken, CallRepair::none},
        {CallType::decline, CallOutcome::taken, CallRepair::none},
        {CallType::revive, CallOutcome::taken, CallRepair::none},
        // ACCEPT: never sent again. Refused or never written: it never
        // launched; written without an answer: it may have.
        {CallType::accept, CallOutcome::refused, CallRepair::reconcile_unlaunched},
        {CallType::accept, CallOutcome::not_sent, CallRepair::reconcile_unlaunched},
        {CallType::accept, CallOutcome::unknown, CallRepair::reconcile_in_doubt},
        // The gate's calls: the gate sends its intent again.
        {CallType::revive, CallOutcome::refused, CallRepair::gate},
        {CallType::revive, CallOutcome::unknown, CallRepair::gate},
        {CallType::suppress, CallOutcome::refused, CallRepair::gate},
        {CallType::suppress, CallOutcome::not_sent, CallRepair::gate},
        // Calls the master may take twice: the same call again.
        {CallType::decline, CallOutcome::refused, CallRepair::resend},
        {CallType::decline, CallOutcome::unknown, CallRepair::resend},
        {CallType::decline, CallOutcome::not_sent, CallRepair::resend},
        {CallType::acknowledge, CallOutcome::refused, CallRepair::resend},
        {CallType::acknowledge, CallOutcome::unknown, CallRepair::resend},
        {CallType::kill, CallOutcome::refused, CallRepair::resend},
        {CallType::reconcile, CallOutcome::not_sent, CallRepair::resend},
        {CallType::acknowledge_operation_status, CallOutcome::refused, CallRepair::resend},
        // Not mesoflow's to repeat.
        {CallType::teardown, CallOutcome::refused, CallRepair::none},
        {CallType::shutdown, CallOutcome::unknown, CallRepair::none},
    };
    for (const auto& r : rows) {
        INFO("call " << mesos::to_string(r.type) << " outcome " << static_cast<int>(r.outcome));
        CHECK(scheduler::on_call_failed(r.type, r.outcome).repair == r.expected);
    }
}

TEST_CASE("a resent call waits 100 ms, doubling up to 5 s") {
    using scheduler::kCallRetryMax;
    using scheduler::kCallRetryMin;
    auto backoff = kCallRetryMin;
    std::vector<std::chrono::milliseconds> waits;
    for (int i = 0; i < 8; ++i) {
        const auto f = scheduler::on_call_failed(CallType::decline, CallOutcome::refused, backoff);
        REQUIRE(f.repair == CallRepair::resend);
        waits.push_back(f.wait);
        backoff = f.next_backoff;
    }
    CHECK(waits == std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms, 1600ms,
                                                          3200ms, 5000ms, 5000ms});
    // A back-off out of range is brought back into it.
    CHECK(scheduler::on_call_failed(CallType::kill, CallOutcome::refused, 0ms).wait ==
          kCallRetryMin);
    CHECK(scheduler::on_call_failed(CallType::kill, CallOutcome::refused, 1h).wait ==
          kCallRetryMax);
}

TEST_CASE("only calls the master may take twice are safe to write again") {
    CHECK_FALSE(scheduler::resend_safe(CallType::accept));
    CHECK_FALSE(scheduler::resend_safe(CallType::teardown));
    CHECK_FALSE(scheduler::resend_safe(CallType::subscribe));
    CHECK_FALSE(scheduler::resend_safe(CallType::shutdown));
    for (const auto t :
         {CallType::decline, CallType::revive, CallType::suppress, CallType::kill,
          CallType::acknowledge, CallType::acknowledge_operation_status, CallType::reconcile}) {
        INFO(mesos::to_string(t));
        CHECK(scheduler::resend_safe(t));
    }
}
