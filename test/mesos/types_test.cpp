#include <catch2/catch.hpp>

#include "mesoflow/mesos/types.hpp"

using namespace mesoflow::mesos;

TEST_CASE("every task state, source and reason round-trips through its Mesos name") {
    for (int i = 0; i <= static_cast<int>(TaskState::unknown); ++i) {
        const auto s = static_cast<TaskState>(i);
        CHECK(parse_task_state(to_string(s)) == s);
    }
    for (int i = 0; i <= static_cast<int>(TaskSource::executor); ++i) {
        const auto s = static_cast<TaskSource>(i);
        CHECK(parse_task_source(to_string(s)) == s);
    }
    for (int i = 0; i <= static_cast<int>(TaskReason::task_unknown); ++i) {
        const auto r = static_cast<TaskReason>(i);
        CHECK(to_string(r).substr(0, 7) == "REASON_");
        CHECK(parse_task_reason(to_string(r)) == r);
    }
    CHECK(to_string(TaskState::gone_by_operator) == "TASK_GONE_BY_OPERATOR");
    CHECK(to_string(TaskReason::agent_removed_by_operator) == "REASON_AGENT_REMOVED_BY_OPERATOR");
    CHECK(to_string(ReservationType::static_) == "STATIC");
    CHECK(to_string(NetworkProtocol::ipv6) == "IPv6");
}

TEST_CASE("unknown enum names parse to nothing") {
    CHECK_FALSE(parse_task_state("TASK_EXPLODED").has_value());
    CHECK_FALSE(parse_task_reason("").has_value());
    CHECK_FALSE(parse_event_type("task_running").has_value());
    CHECK_FALSE(parse_framework_capability("multi_role").has_value());
}

TEST_CASE("call, event and operation bodies report their type") {
    Call call;
    call.framework_id = "fw";
    call.body = Call::Kill{};
    CHECK(call.type() == CallType::kill);
    call.body = Call::UpdateFramework{};
    CHECK(call.type() == CallType::update_framework);
    CHECK(to_string(call.type()) == "UPDATE_FRAMEWORK");

    Event event{Event::Heartbeat{}};
    CHECK(event.type() == EventType::heartbeat);
    event.body = UnknownEvent{"FUTURE"};
    CHECK(event.type() == EventType::unknown);
    event.body = Event::Subscribed{};
    CHECK(event.type() == EventType::subscribed);
}
