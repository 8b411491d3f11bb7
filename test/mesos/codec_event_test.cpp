// Every Event: the fixtures (shapes from the Mesos docs and protos) parse to the
// expected values and serialize back to the same JSON; malformed events are
// errors naming the field; unknown things are tolerated the way Mesos does.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "fixture_files.hpp"
#include "mesoflow/mesos/base64.hpp"
#include "mesos_codec/test_codec.hpp"

using namespace mesoflow::mesos;
using namespace mesoflow::mesos::testing;
using nlohmann::json;

namespace {

// Parses the fixture, checks that writing it back gives the same JSON value.
Event parse_fixture(const std::string& name) {
    INFO("fixture " << name);
    const std::string text = read_fixture("events/" + name);
    auto event = parse_event(text);
    if (!event)
        FAIL(event.error().message);
    const std::string written = to_json(*event);
    INFO("written " << written);
    CHECK(json::parse(written) == json::parse(text));
    auto again = parse_event(written);
    REQUIRE(again.ok());
    CHECK(*again == *event);
    return *event;
}

template <typename T>
const T& body(const Event& e) {
    REQUIRE(std::holds_alternative<T>(e.body));
    return std::get<T>(e.body);
}

std::string error_of(std::string_view text) {
    auto event = parse_event(text);
    if (event.ok())
        return "(parsed as " + std::string(to_string(event->type())) + ")";
    return event.error().message;
}

}  // namespace

TEST_CASE("SUBSCRIBED carries the framework id, heartbeat interval and master info") {
    const Event e = parse_fixture("subscribed.json");
    CHECK(e.type() == EventType::subscribed);
    const auto& s = body<Event::Subscribed>(e);
    CHECK(s.framework_id == kFramework);
    CHECK(s.heartbeat_interval_seconds == 15.0);
    REQUIRE(s.master_info);
    CHECK(s.master_info->id == kMaster);
    CHECK(s.master_info->ip == 184549386u);
    CHECK(s.master_info->port == 5050u);
    CHECK(s.master_info->pid == "master@10.0.0.11:5050");
    REQUIRE(s.master_info->address);
    CHECK(s.master_info->address->ip == "10.0.0.11");
    CHECK(s.master_info->capabilities ==
          std::vector<MasterCapability>{MasterCapability::agent_update,
                                        MasterCapability::agent_draining,
                                        MasterCapability::quota_v2});
}

TEST_CASE("HEARTBEAT has no body") {
    const Event e = parse_fixture("heartbeat.json");
    CHECK(e.type() == EventType::heartbeat);
    CHECK(to_json(e) == R"({"type":"HEARTBEAT"})");
}

TEST_CASE("OFFERS is nested offers.offers and carries resources, attributes, allocation") {
    const Event e = parse_fixture("offers.json");
    const auto& offers = body<Event::Offers>(e).offers;
    REQUIRE(offers.size() == 1);
    const Offer& o = offers[0];
    CHECK(o.id == kOffer);
    CHECK(o.framework_id == kFramework);
    CHECK(o.agent_id == kAgent);
    CHECK(o.hostname == "a1.example.com");
    REQUIRE(o.url);
    CHECK(o.url->address.port == 5051);
    CHECK(o.url->path == "/slave(1)");
    REQUIRE(o.resources.size() == 4);
    CHECK(o.resources[0].name == "cpus");
    CHECK(o.resources[0].scalar == 4.0);
    CHECK(o.resources[0].role == "*");
    CHECK(o.resources[0].allocation_info == AllocationInfo{"web"});
    CHECK(o.resources[1].scalar == 7936.0);
    CHECK(o.resources[3].type == ValueType::ranges);
    CHECK(o.resources[3].ranges == std::vector<Range>{{31000, 32000}});
    REQUIRE(o.attributes.size() == 1);
    CHECK(o.attributes[0].type == ValueType::text);
    CHECK(o.attributes[0].text == "r1");
    CHECK(o.executor_ids == std::vector<std::string>{"my-exec"});
    CHECK(o.allocation_info == AllocationInfo{"web"});
}

TEST_CASE("INVERSE_OFFERS carries the unavailability in nanoseconds") {
    const Event e = parse_fixture("inverse_offers.json");
    const auto& io = body<Event::InverseOffers>(e).inverse_offers;
    REQUIRE(io.size() == 1);
    CHECK(io[0].id == kInverseOffer);
    CHECK(io[0].agent_id == kAgent);
    CHECK(io[0].unavailability.start_ns == 1724500000000000000LL);
    CHECK(io[0].unavailability.duration_ns == 3600000000000LL);
    CHECK(io[0].resources.empty());
}

TEST_CASE("RESCIND and RESCIND_INVERSE_OFFER name the offer") {
    CHECK(body<Event::Rescind>(parse_fixture("rescind.json")).offer_id == kOffer);
    CHECK(body<Event::RescindInverseOffer>(parse_fixture("rescind_inverse_offer.json"))
              .inverse_offer_id == kInverseOffer);
}

TEST_CASE("a reliable UPDATE keeps its uuid text and container status verbatim") {
    const Event e = parse_fixture("update_reliable.json");
    const TaskStatus& s = body<Event::Update>(e).status;
    CHECK(s.task_id == "web-1");
    CHECK(s.state == TaskState::running);
    CHECK(s.source == TaskSource::executor);
    CHECK_FALSE(s.reason.has_value());
    CHECK(s.agent_id == kAgent);
    CHECK(s.executor_id == "web-1");
    CHECK(s.timestamp == 1724440000.123456);
    CHECK(s.uuid == "PxwqnntNTiqcH12Oa3oMQg==");
    CHECK(is_valid_uuid_base64(*s.uuid));
    REQUIRE(s.container_status_json);
    CHECK(json::parse(
              *s.container_status_json)["network_infos"][0]["ip_addresses"][0]["ip_address"] ==
          "10.0.0.21");
}

TEST_CASE("a master-generated UPDATE has a reason and no uuid") {
    const Event e = parse_fixture("update_master.json");
    const TaskStatus& s = body<Event::Update>(e).status;
    CHECK(s.state == TaskState::lost);
    CHECK(s.source == TaskSource::master);
    CHECK(s.reason == TaskReason::reconciliation);
    CHECK(s.message == "Reconciliation: Task is unknown");
    CHECK_FALSE(s.uuid.has_value());
}

TEST_CASE("UPDATE_OPERATION_STATUS has its uuid inside {\"value\"}") {
    const Event e = parse_fixture("update_operation_status.json");
    const OperationStatus& s = body<Event::UpdateOperationStatus>(e).status;
    CHECK(s.operation_id == "reserve-1");
    CHECK(s.state == OperationState::finished);
    CHECK(s.uuid == "iks8LR4PSluMfW5fSjssHQ==");
    REQUIRE(s.converted_resources.size() == 1);
    REQUIRE(s.converted_resources[0].reservations.size() == 1);
    CHECK(s.converted_resources[0].reservations[0].type == ReservationType::dynamic);
    CHECK(s.converted_resources[0].reservations[0].principal == "example-principal");
}

TEST_CASE("MESSAGE carries base64 data") {
    const Event e = parse_fixture("message.json");
    const auto& m = body<Event::Message>(e);
    CHECK(m.executor_id == "my-exec");
    CHECK(base64_decode(m.data) == "hello executor");
}

TEST_CASE("FAILURE of an agent and of an executor") {
    const Event agent_event = parse_fixture("failure_agent.json");
    const auto& agent = body<Event::Failure>(agent_event);
    CHECK(agent.agent_id == kAgent);
    CHECK_FALSE(agent.executor_id.has_value());
    CHECK_FALSE(agent.status.has_value());
    const Event exec_event = parse_fixture("failure_executor.json");
    const auto& exec = body<Event::Failure>(exec_event);
    CHECK(exec.executor_id == "my-exec");
    CHECK(exec.status == 256);
}

TEST_CASE("ERROR carries error.message") {
    CHECK(body<Event::Error>(parse_fixture("error.json")).message == "Framework failed over");
}

TEST_CASE("every task state, source and reason parses inside an UPDATE") {
    for (int i = 0; i <= static_cast<int>(TaskReason::task_unknown); ++i) {
        const auto reason = static_cast<TaskReason>(i);
        const auto state = static_cast<TaskState>(i % (static_cast<int>(TaskState::unknown) + 1));
        const auto source = static_cast<TaskSource>(i % 3);
        const std::string text =
            R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":")" +
            std::string(to_string(state)) + R"(","source":")" + std::string(to_string(source)) +
            R"(","reason":")" + std::string(to_string(reason)) + R"("}}})";
        auto e = parse_event(text);
        REQUIRE(e.ok());
        const TaskStatus& s = std::get<Event::Update>(e->body).status;
        CHECK(s.state == state);
        CHECK(s.source == source);
        CHECK(s.reason == reason);
    }
}

TEST_CASE("an unknown or missing event type is an Unknown event, not an error") {
    auto future = parse_event(R"({"type":"SOMETHING_NEW","something_new":{"x":1}})");
    REQUIRE(future.ok());
    CHECK(future->type() == EventType::unknown);
    CHECK(std::get<UnknownEvent>(future->body).type == "SOMETHING_NEW");
    auto none = parse_event(R"({"offers":{"offers":[]}})");
    REQUIRE(none.ok());
    CHECK(std::get<UnknownEvent>(none->body).type.empty());
    auto unknown_name = parse_event(R"({"type":"UNKNOWN"})");
    REQUIRE(unknown_name.ok());
    CHECK(unknown_name->type() == EventType::unknown);
}

TEST_CASE("unknown fields are ignored at every level, camelCase names too") {
    auto e = parse_event(R"({"type":"OFFERS","extra":[1,{"a":null}],"offers":{"more":true,"offers":[
        {"id":{"value":"o","x":1},"framework_id":{"value":"f"},"agent_id":{"value":"a"},
         "hostname":"h","frameworkId":{"value":"ignored"},"domain":{"fault_domain":{"region":{"name":"r"},"zone":{"name":"z"}},"other":1},
         "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1,"unit":"cores"},"future":{"deep":[[]]}}]}]}})");
    if (!e)
        FAIL(e.error().message);
    const Offer& o = std::get<Event::Offers>(e->body).offers.at(0);
    CHECK(o.framework_id == "f");
    CHECK(o.domain == DomainInfo{"r", "z"});
    CHECK(o.resources.at(0).scalar == 1.0);
}

TEST_CASE("null means not set") {
    auto e = parse_event(
        R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_FAILED","uuid":null,"reason":null,"message":null}}})");
    REQUIRE(e.ok());
    const TaskStatus& s = std::get<Event::Update>(e->body).status;
    CHECK_FALSE(s.uuid.has_value());
    CHECK_FALSE(s.reason.has_value());
    CHECK_FALSE(s.message.has_value());
}

TEST_CASE("unknown names in optional enums leave them unset; capabilities become unknown") {
    auto e = parse_event(
        R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_FAILED","source":"SOURCE_MOON","reason":"REASON_COSMIC_RAY"}}})");
    REQUIRE(e.ok());
    const TaskStatus& s = std::get<Event::Update>(e->body).status;
    CHECK_FALSE(s.source.has_value());
    CHECK_FALSE(s.reason.has_value());
    auto sub = parse_event(
        R"({"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"master_info":{"id":"m","ip":1,"port":5050,"capabilities":[{"type":"TIME_TRAVEL"},{}]}}})");
    REQUIRE(sub.ok());
    CHECK(std::get<Event::Subscribed>(sub->body).master_info->capabilities ==
          std::vector<MasterCapability>{MasterCapability::unknown, MasterCapability::unknown});
}

TEST_CASE("integers accept numeric strings and integral doubles, as Mesos does") {
    auto e = parse_event(
        R"({"type":"INVERSE_OFFERS","inverse_offers":{"inverse_offers":[{"id":{"value":"i"},"framework_id":{"value":"f"},
            "unavailability":{"start":{"nanoseconds":"-9223372036854775808"},"duration":{"nanoseconds":3.6e12}}}]}})");
    if (!e)
        FAIL(e.error().message);
    const auto& u = std::get<Event::InverseOffers>(e->body).inverse_offers.at(0).unavailability;
    CHECK(u.start_ns == INT64_MIN);
    CHECK(u.duration_ns == 3600000000000LL);
}

TEST_CASE("doubles accept numeric strings and Infinity") {
    auto e = parse_event(
        R"({"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":"15.5"}})");
    REQUIRE(e.ok());
    CHECK(std::get<Event::Subscribed>(e->body).heartbeat_interval_seconds == 15.5);
    auto inf = parse_event(
        R"({"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":"Infinity"}})");
    REQUIRE(inf.ok());
    CHECK(std::isinf(*std::get<Event::Subscribed>(inf->body).heartbeat_interval_seconds));
}

TEST_CASE("an UPDATE whose timestamp no double holds keeps its state, without a time") {
    for (const char* time : {"1e400", "-1e400", "\"1e400\""}) {
        INFO(time);
        auto e = parse_event(
            std::string(R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},)") +
            R"("state":"TASK_FAILED","message":"m","timestamp":)" + time + "}}}");
        REQUIRE(e.ok());
        const auto& s = std::get<Event::Update>(e->body).status;
        CHECK(s.task_id == "t");
        CHECK(s.state == TaskState::failed);
        CHECK(s.message == "m");
        CHECK_FALSE(s.timestamp.has_value());
    }
    // Elsewhere a number out of range is still an error naming the field.
    CHECK(
        error_of(
            R"({"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":1e400}})") ==
        "subscribed.heartbeat_interval_seconds: number out of range");
}

TEST_CASE("escaped strings decode, including surrogate pairs, and are re-escaped on output") {
    auto e = parse_event(
        R"({"type":"ERROR","error":{"message":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00\u0001"}})");
    REQUIRE(e.ok());
    const std::string& m = std::get<Event::Error>(e->body).message;
    CHECK(m == "a\"b\\c/d\n\t\u00e9\U0001F600\x01");
    auto back = parse_event(to_json(*e));
    REQUIRE(back.ok());
    CHECK(*back == *e);
}

TEST_CASE("a malformed value deep in an OFFERS event is an error with its full path") {
    std::string offers;
    for (int i = 0; i < 4; ++i) {
        const char* value = i == 3 ? R"("four")" : R"("4")";
        offers +=
            std::string(i ? "," : "") +
            R"({"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h",
                      "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":)" +
            value + "}}]}";
    }
    CHECK(error_of(R"({"type":"OFFERS","offers":{"offers":[)" + offers + "]}}") ==
          "offers.offers[3].resources[0].scalar.value: expected number, got string");
}

TEST_CASE("malformed events are errors naming the field") {
    struct Case {
        const char* json;
        const char* error;
    };
    const Case cases[] = {
        {R"({"type":"OFFERS"})", "offers: missing required field"},
        {R"({"type":"OFFERS","offers":[]})", "offers: expected object, got array"},
        {R"({"type":"OFFERS","offers":{"offers":{}}})",
         "offers.offers: expected array, got object"},
        {R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"}}]}})",
         "offers.offers[0].hostname: missing required field"},
        {R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h","resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":-1,"end":2}]}}]}]}})",
         "offers.offers[0].resources[0].ranges.range[0].begin: integer out of range"},
        {R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h","resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":18446744073709551616}]}}]}]}})",
         "offers.offers[0].resources[0].ranges.range[0].end: integer out of range"},
        {R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h","resources":[{"name":"cpus","type":"SCALAR"}]}]}})",
         "offers.offers[0].resources[0].scalar: missing required field"},
        {R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h","resources":[{"name":"cpus","type":"FRACTAL","scalar":{"value":1}}]}]}})",
         "offers.offers[0].resources[0].type: unknown value \"FRACTAL\""},
        {R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h","attributes":[{"name":"rack","type":"TEXT"}]}]}})",
         "offers.offers[0].attributes[0].text: missing required field"},
        {R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":7},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h"}]}})",
         "offers.offers[0].id.value: expected string, got number"},
        {R"({"type":"UPDATE","update":{}})", "update.status: missing required field"},
        {R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"}}}})",
         "update.status.state: missing required field"},
        {R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_EXPLODED"}}})",
         "update.status.state: unknown value \"TASK_EXPLODED\""},
        {R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"%%%"}}})",
         "update.status.uuid: expected base64, got an invalid string"},
        {R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","timestamp":true}}})",
         "update.status.timestamp: expected number, got boolean"},
        {R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","healthy":1}}})",
         "update.status.healthy: expected boolean, got number"},
        {R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","container_status":[]}}})",
         "update.status.container_status: expected object, got array"},
        {R"({"type":"UPDATE_OPERATION_STATUS","update_operation_status":{"status":{"state":"OPERATION_FINISHED","uuid":"iks8LR4PSluMfW5fSjssHQ=="}}})",
         "update_operation_status.status.uuid: expected object, got string"},
        {R"({"type":"SUBSCRIBED","subscribed":{}})",
         "subscribed.framework_id: missing required field"},
        {R"({"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"master_info":{"id":"m","ip":4294967296,"port":5050}}})",
         "subscribed.master_info.ip: integer out of range"},
        {R"({"type":"RESCIND","rescind":{"offer_id":{}}})",
         "rescind.offer_id.value: missing required field"},
        {R"({"type":"MESSAGE","message":{"agent_id":{"value":"a"},"executor_id":{"value":"e"}}})",
         "message.data: missing required field"},
        {R"({"type":"FAILURE","failure":{"status":2147483648}})",
         "failure.status: integer out of range"},
        {R"({"type":"ERROR","error":{"msg":"x"}})", "error.message: missing required field"},
        {R"({"type":"ERROR","message":"documented but wrong"})", "error: missing required field"},
        {R"({"type":["OFFERS"]})", "type: expected string, got array"},
        {R"([1,2])", "event: expected object, got array"},
        {R"("HEARTBEAT")", "event: expected object, got string"},
        {R"(null)", "event: expected object, got null"},
    };
    for (const auto& c : cases) {
        INFO(c.json);
        CHECK(error_of(c.json) == c.error);
    }
}

TEST_CASE("text that is not JSON is an error naming the byte offset") {
    struct Case {
        std::string text;
        const char* error;
    };
    const Case cases[] = {
        {"", "invalid JSON at byte 0: unexpected end of input, expected a value"},
        {R"({"type":"HEARTBEAT")", "invalid JSON at byte 19: unterminated object"},
        {R"({"type":"HEART)", "invalid JSON at byte 14: unterminated string"},
        {R"({"type":"HEARTBEAT"}x)",
         "invalid JSON at byte 20: unexpected text after the JSON value"},
        {R"({"type":"HEARTBEAT",})", "invalid JSON at byte 20: expected a member name"},
        {R"({type:"HEARTBEAT"})", "invalid JSON at byte 1: expected a member name"},
        {R"({"a":[1,2})", "invalid JSON at byte 9: expected ',' or ']'"},
        {R"({"a":01})", "invalid JSON at byte 6: expected ',' or '}'"},
        {R"({"a":1.})", "invalid JSON at byte 7: invalid number: expected a digit after '.'"},
        {R"({"a":-})", "invalid JSON at byte 6: invalid number: expected a digit"},
        {R"({"a":1e})", "invalid JSON at byte 7: invalid number: expected a digit in the exponent"},
        {R"({"a":tru})", "invalid JSON at byte 5: invalid literal"},
        {R"({"a":"\x"})", "invalid JSON at byte 8: invalid escape in string"},
        {R"({"a":"\u12G4"})", "invalid JSON at byte 11: invalid \\u escape"},
        {R"({"a":"\ud800"})", "invalid JSON at byte 12: unpaired high surrogate in \\u escape"},
        {R"({"a":"\udc00"})", "invalid JSON at byte 12: unpaired low surrogate in \\u escape"},
        {std::string("{\"a\":\"\x01\"}"), "invalid JSON at byte 6: control character in string"},
        {std::string("{\"a\":\"\xc3\x28\"}"), "invalid JSON at byte 6: invalid UTF-8 in string"},
        {std::string("{\"a\":\"\xed\xa0\x80\"}"),
         "invalid JSON at byte 6: invalid UTF-8 in string"},
        {std::string("{\"a\":\"\xc0\xaf\"}"), "invalid JSON at byte 6: invalid UTF-8 in string"},
        {std::string("{\"a\":\"\xe2\x82"), "invalid JSON at byte 6: truncated UTF-8 in string"},
        {std::string(200, '[') + std::string(200, ']'),
         "invalid JSON at byte 128: nesting too deep"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        CHECK(error_of(c.text) == c.error);
    }
}

TEST_CASE("every prefix of every event fixture is rejected without crashing") {
    for (const char* name : {"offers.json", "update_reliable.json", "subscribed.json"}) {
        const std::string text = read_fixture(std::string("events/") + name);
        const std::string compact = json::parse(text).dump();
        for (std::size_t n = 0; n < compact.size(); ++n) {
            INFO(compact.substr(0, n));
            CHECK_FALSE(parse_event(compact.substr(0, n)).ok());
        }
        CHECK(parse_event(compact).ok());
    }
}

TEST_CASE("every event type survives event -> json -> event") {
    TaskStatus status;
    status.task_id = "t";
    status.state = TaskState::unreachable;
    status.source = TaskSource::master;
    status.reason = TaskReason::agent_removed;
    status.data = "AAE=";
    status.agent_id = "a";
    status.executor_id = "e";
    status.timestamp = 1724440000.123456;
    status.uuid = base64_encode(uuid_v4_bytes(0x0123456789abcdefULL, 0xfedcba9876543210ULL));
    status.healthy = false;
    status.unreachable_time_ns = 1724440000123456789LL;
    status.container_status_json = R"({"executor_pid":42})";
    status.labels = {{"k", "v"}};
    OperationStatus op;
    op.state = OperationState::error;
    op.message = "bad";
    op.resource_provider_id = "rp";
    MasterInfo master;
    master.id = "m";
    master.ip = 4294967295u;
    master.domain = DomainInfo{"eu", "eu-1"};
    Offer offer;
    offer.id = "o";
    offer.framework_id = "f";
    offer.agent_id = "a";
    offer.hostname = "h";
    offer.unavailability = Unavailability{5, std::nullopt};
    Attribute scalar_attr;
    scalar_attr.name = "weight";
    scalar_attr.type = ValueType::scalar;
    scalar_attr.scalar = 1.5;
    Attribute ranges_attr;
    ranges_attr.name = "slots";
    ranges_attr.type = ValueType::ranges;
    ranges_attr.ranges = {{1, 3}};
    Attribute set_attr;
    set_attr.name = "zones";
    set_attr.type = ValueType::set;
    set_attr.set = {"a"};
    offer.attributes = {scalar_attr, ranges_attr, set_attr};
    InverseOffer inverse;
    inverse.id = "i";
    inverse.framework_id = "f";
    inverse.url =
        Url{"http", Address{std::nullopt, "10.0.0.1", 5051}, std::nullopt, {{"q", "1"}}, "frag"};
    std::vector<Event::Body> bodies = {
        Event::Subscribed{"f", 15.0, master},
        Event::Offers{{offer, offer}},
        Event::InverseOffers{{inverse}},
        Event::Rescind{"o"},
        Event::RescindInverseOffer{"i"},
        Event::Update{status},
        Event::UpdateOperationStatus{op},
        Event::Message{"a", "e", "aGk="},
        Event::Failure{std::nullopt, "e", -1},
        Event::Error{"bye"},
        Event::Heartbeat{},
        Event::Unknown{"NEW_THING"},
    };
    REQUIRE(bodies.size() == std::variant_size_v<Event::Body>);
    for (auto& b : bodies) {
        const Event event{std::move(b)};
        const std::string text = to_json(event);
        INFO(text);
        auto back = parse_event(text);
        if (!back)
            FAIL(back.error().message);
        CHECK(*back == event);
    }
}

TEST_CASE("a MasterInfo as stored in ZooKeeper parses and round-trips") {
    const std::string text =
        R"({"address":{"hostname":"m1","ip":"10.0.0.11","port":5050},"hostname":"m1","id":"x","ip":184549386,"pid":"master@10.0.0.11:5050","port":5050,"version":"1.11.0"})";
    auto master = parse_master_info(text);
    REQUIRE(master.ok());
    CHECK(master->pid == "master@10.0.0.11:5050");
    CHECK(json::parse(to_json(*master)) == json::parse(text));
    CHECK(parse_master_info(R"({"id":"x","ip":1})").error().message ==
          "port: missing required field");
}
