// Every Call: the C++ value serializes to the fixture's JSON (compared as JSON
// values, so member order and 4 vs 4.0 do not matter), and the fixture parses
// back to the same value.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "fixture_files.hpp"
#include "mesos_codec/test_codec.hpp"

using namespace mesoflow::mesos;
using namespace mesoflow::mesos::testing;
using nlohmann::json;

namespace {

void check_call(const std::string& fixture, const Call& call) {
    INFO("fixture " << fixture);
    const std::string text = read_fixture("calls/" + fixture);
    const std::string written = to_json(call);
    INFO("written " << written);
    CHECK(json::parse(written) == json::parse(text));
    auto parsed = parse_call(text);
    if (!parsed)
        FAIL(parsed.error().message);
    CHECK(*parsed == call);
    CHECK(parsed->type() == call.type());
}

Resource scalar(const std::string& name, double value, std::optional<std::string> role = {}) {
    Resource r;
    r.name = name;
    r.type = ValueType::scalar;
    r.scalar = value;
    if (role)
        r.allocation_info = AllocationInfo{role};
    return r;
}

Call with_framework(Call::Body body) {
    Call call;
    call.framework_id = kFramework;
    call.body = std::move(body);
    return call;
}

FrameworkInfo example_framework() {
    FrameworkInfo info;
    info.user = "nobody";
    info.name = "example-framework";
    info.roles = {"web"};
    info.failover_timeout = 604800;
    info.checkpoint = true;
    return info;
}

Call accept_one(TaskInfo task) {
    OfferOperation op;
    op.body = OfferOperation::Launch{{std::move(task)}};
    Call::Accept accept;
    accept.offer_ids = {kOffer};
    accept.operations.push_back(std::move(op));
    return with_framework(std::move(accept));
}

}  // namespace

TEST_CASE("SUBSCRIBE of a new framework carries no framework id") {
    FrameworkInfo info = example_framework();
    info.capabilities = {FrameworkCapability::multi_role, FrameworkCapability::partition_aware,
                         FrameworkCapability::task_killing_state};
    info.principal = "example-principal";
    Call call;
    call.body = Call::Subscribe{info, {}};
    check_call("subscribe.json", call);
}

TEST_CASE("re-SUBSCRIBE carries the framework id twice and suppressed roles") {
    FrameworkInfo info = example_framework();
    info.id = kFramework;
    info.capabilities = {FrameworkCapability::multi_role};
    check_call("resubscribe.json", with_framework(Call::Subscribe{info, {"web"}}));
}

TEST_CASE("TEARDOWN has no sub-message") {
    check_call("teardown.json", with_framework(Call::Teardown{}));
}

TEST_CASE("ACCEPT with a LAUNCH of a shell command task and filters") {
    TaskInfo task;
    task.name = "web-1";
    task.task_id = "web-1";
    task.agent_id = kAgent;
    task.resources = {scalar("cpus", 0.5, "web"), scalar("mem", 128, "web")};
    task.command = CommandInfo{};
    task.command->value = "sleep 1000";
    Call call = accept_one(task);
    std::get<Call::Accept>(call.body).filters = Filters{5.0};
    check_call("accept_launch.json", call);
}

TEST_CASE("ACCEPT of a Docker containerizer task with ports, env, URIs, labels, kill policy") {
    TaskInfo task;
    task.name = "nginx-1";
    task.task_id = "nginx-1";
    task.agent_id = kAgent;
    Resource ports;
    ports.name = "ports";
    ports.type = ValueType::ranges;
    ports.ranges = {{31080, 31080}};
    task.resources = {scalar("cpus", 0.5), scalar("mem", 256), ports};
    CommandInfo command;
    command.shell = false;
    command.environment = {{"MODE", std::nullopt, "prod"}};
    CommandUri uri;
    uri.value = "https://example.com/conf.tgz";
    uri.executable = false;
    uri.cache = true;
    uri.output_file = "conf.tgz";
    command.uris = {uri};
    command.user = "www-data";
    task.command = command;
    ContainerInfo container;
    container.type = ContainerType::docker;
    DockerInfo docker;
    docker.image = "library/nginx:1.25";
    docker.network = DockerNetwork::bridge;
    docker.port_mappings = {{31080, 80, "tcp"}};
    docker.force_pull_image = false;
    docker.parameters = {{"label", "team=web"}};
    container.docker = docker;
    task.container = container;
    task.labels = {{"team", "web"}, {"flag", std::nullopt}};
    task.kill_policy = KillPolicy{30'000'000'000};
    check_call("accept_docker.json", accept_one(task));
}

TEST_CASE("ACCEPT of a Mesos containerizer task with a Docker image, argv and limits") {
    TaskInfo task;
    task.name = "alpine-1";
    task.task_id = "alpine-1";
    task.agent_id = kAgent;
    task.resources = {scalar("cpus", 0.1), scalar("mem", 64)};
    CommandInfo command;
    command.shell = false;
    command.value = "/bin/echo";
    command.arguments = {"echo", "hello", "world"};
    task.command = command;
    ContainerInfo container;
    container.type = ContainerType::mesos;
    Image image;
    image.type = ImageType::docker;
    image.docker_name = "library/alpine:3.19";
    container.mesos = MesosInfo{image};
    NetworkInfo net;
    net.name = "my-cni-net";
    container.network_infos = {net};
    task.container = container;
    task.limits = {{"cpus", std::numeric_limits<double>::infinity()}, {"mem", 512}};
    check_call("accept_mesos_image.json", accept_one(task));
}

TEST_CASE("DECLINE with a long filter") {
    check_call("decline.json", with_framework(Call::Decline{{kOffer}, Filters{3600}}));
}

TEST_CASE("ACCEPT_INVERSE_OFFERS and DECLINE_INVERSE_OFFERS") {
    check_call("accept_inverse_offers.json",
               with_framework(Call::AcceptInverseOffers{{kInverseOffer}, std::nullopt}));
    check_call("decline_inverse_offers.json",
               with_framework(Call::DeclineInverseOffers{{kInverseOffer}, Filters{60}}));
}

TEST_CASE("REVIVE of all roles and of named roles (the field is roles, not role)") {
    check_call("revive.json", with_framework(Call::Revive{}));
    check_call("revive_roles.json", with_framework(Call::Revive{{"web"}}));
}

TEST_CASE("SUPPRESS of named roles") {
    check_call("suppress.json", with_framework(Call::Suppress{{"web"}}));
}

TEST_CASE("KILL with an agent id and a kill policy") {
    check_call("kill.json",
               with_framework(Call::Kill{"web-1", kAgent, KillPolicy{30'000'000'000}}));
}

TEST_CASE("SHUTDOWN of an executor") {
    check_call("shutdown.json", with_framework(Call::Shutdown{"my-exec", kAgent}));
}

TEST_CASE("ACKNOWLEDGE echoes the base64 uuid byte for byte") {
    check_call("acknowledge.json",
               with_framework(Call::Acknowledge{kAgent, "web-1", "PxwqnntNTiqcH12Oa3oMQg=="}));
}

TEST_CASE("ACKNOWLEDGE_OPERATION_STATUS has a plain base64 uuid and an operation id object") {
    check_call("acknowledge_operation_status.json",
               with_framework(Call::AcknowledgeOperationStatus{
                   kAgent, "rp-1", "iks8LR4PSluMfW5fSjssHQ==", "reserve-1"}));
}

TEST_CASE("RECONCILE explicit (with and without agent) and implicit ({} sub-message)") {
    check_call("reconcile.json",
               with_framework(Call::Reconcile{{{"web-1", kAgent}, {"web-2", std::nullopt}}}));
    check_call("reconcile_implicit.json", with_framework(Call::Reconcile{}));
}

TEST_CASE("RECONCILE_OPERATIONS") {
    check_call("reconcile_operations.json",
               with_framework(Call::ReconcileOperations{{{"reserve-1", kAgent, std::nullopt}}}));
}

TEST_CASE("MESSAGE to an executor") {
    check_call("message.json",
               with_framework(Call::Message{kAgent, "my-exec", "aGVsbG8gZXhlY3V0b3I="}));
}

TEST_CASE("REQUEST nests its requests under request") {
    check_call("request.json", with_framework(Call::Request{{{kAgent, {scalar("cpus", 1)}}}}));
}

TEST_CASE("UPDATE_FRAMEWORK sends the whole FrameworkInfo") {
    FrameworkInfo info = example_framework();
    info.id = kFramework;
    info.roles = {"web", "batch"};
    info.capabilities = {FrameworkCapability::multi_role};
    info.principal = "example-principal";
    info.hostname = "sched.example.com";
    info.webui_url = "http://sched.example.com:8080";
    check_call("update_framework.json", with_framework(Call::UpdateFramework{info, {"batch"}}));
}

TEST_CASE("every call type survives call -> json -> call") {
    FrameworkInfo info = example_framework();
    info.labels = {{"k", "v"}};
    info.role = "legacy";
    std::vector<Call::Body> bodies = {
        Call::Subscribe{info, {"web"}},
        Call::Teardown{},
        Call::Accept{{"o1", "o2"}, {}, std::nullopt},
        Call::Decline{{"o1"}, Filters{0}},
        Call::AcceptInverseOffers{{"i1"}, Filters{1.5}},
        Call::DeclineInverseOffers{{"i1"}, std::nullopt},
        Call::Revive{{"a", "b"}},
        Call::Kill{"t", std::nullopt, KillPolicy{}},
        Call::Shutdown{"e", "a"},
        Call::Acknowledge{"a", "t", "PxwqnntNTiqcH12Oa3oMQg=="},
        Call::AcknowledgeOperationStatus{std::nullopt, std::nullopt,
                                         "iks8LR4PSluMfW5fSjssHQ==", "op"},
        Call::Reconcile{{{"t", std::nullopt}}},
        Call::ReconcileOperations{{{"op", "a", "rp"}}},
        Call::Message{"a", "e", ""},
        Call::Request{{{std::nullopt, {}}}},
        Call::Suppress{},
        Call::UpdateFramework{info, {}},
    };
    REQUIRE(bodies.size() == std::variant_size_v<Call::Body>);
    for (auto& body : bodies) {
        Call call = with_framework(std::move(body));
        const std::string text = to_json(call);
        INFO(text);
        auto back = parse_call(text);
        if (!back)
            FAIL(back.error().message);
        CHECK(*back == call);
    }
}

TEST_CASE("a TaskInfo with every modelled field survives a round trip") {
    TaskInfo task;
    task.name = "all \"quoted\" \\ and \n newline \u00e9\u4e2d\U0001F600";
    task.task_id = "mf-1-1";
    task.agent_id = kAgent;
    Resource set;
    set.name = "gpus_set";
    set.type = ValueType::set;
    set.set = {"a", "b"};
    Resource legacy = scalar("mem", 1.125);
    legacy.role = "web";
    legacy.reservation = ReservationInfo{std::nullopt, std::nullopt, "p", {{"k", "v"}}};
    legacy.revocable = true;
    legacy.shared = true;
    task.resources = {set, legacy};
    ExecutorInfo executor;
    executor.executor_id = "exec";
    executor.type = ExecutorType::custom;
    executor.command = CommandInfo{};
    executor.command->uris = {CommandUri{"http://x/y", true, false, false, "out"}};
    executor.name = "custom";
    executor.data = "AAEC";
    executor.labels = {{"l", "1"}};
    executor.shutdown_grace_period_ns = 5;
    ContainerInfo container;
    container.type = ContainerType::mesos;
    Volume v;
    v.mode = VolumeMode::ro;
    v.container_path = "/data";
    v.host_path = "/srv/data";
    Image appc;
    appc.type = ImageType::appc;
    appc.appc_name = "coreos.com/etcd";
    appc.cached = false;
    v.image = appc;
    container.volumes = {v};
    container.hostname = "box";
    NetworkInfo net;
    net.ip_addresses = {{NetworkProtocol::ipv6, "::1"}, {std::nullopt, "10.0.0.1"}};
    net.groups = {"g"};
    net.labels = {{"n", "1"}};
    net.port_mappings = {{1, 2, std::nullopt}};
    container.network_infos = {net};
    executor.container = container;
    task.executor = executor;
    task.data = "aGk=";
    task.max_completion_time_ns = 1'000'000'000;
    task.limits = {{"we\"ird", -std::numeric_limits<double>::infinity()}};
    const std::string text = to_json(task);
    INFO(text);
    auto back = parse_task_info(text);
    if (!back)
        FAIL(back.error().message);
    CHECK(*back == task);
}

TEST_CASE("64-bit integers are written and read back exactly") {
    TaskInfo task;
    task.name = "n";
    task.task_id = "t";
    task.agent_id = "a";
    Resource ports;
    ports.name = "ports";
    ports.type = ValueType::ranges;
    ports.ranges = {{0, 18446744073709551615ull}, {9007199254740993ull, 9007199254740993ull}};
    task.resources = {ports};
    task.max_completion_time_ns = 9223372036854775807LL;
    task.kill_policy = KillPolicy{-9223372036854775807LL - 1};
    const std::string text = to_json(task);
    CHECK(text.find("18446744073709551615") != std::string::npos);
    CHECK(text.find("9007199254740993") != std::string::npos);
    auto back = parse_task_info(text);
    if (!back)
        FAIL(back.error().message);
    CHECK(*back == task);
}

TEST_CASE("doubles are written in the shortest exact form, integral ones with .0") {
    Call call = with_framework(Call::Decline{{"o"}, Filters{0.1}});
    CHECK(to_json(call).find("\"refuse_seconds\":0.1}") != std::string::npos);
    std::get<Call::Decline>(call.body).filters = Filters{3600};
    CHECK(to_json(call).find("\"refuse_seconds\":3600.0}") != std::string::npos);
    for (double d : {1e-300, 1.7976931348623157e308, 0.30000000000000004, 1724440000.123456}) {
        std::get<Call::Decline>(call.body).filters = Filters{d};
        auto back = parse_call(to_json(call));
        REQUIRE(back.ok());
        CHECK(std::get<Call::Decline>(back->body).filters->refuse_seconds == d);
    }
}

TEST_CASE("a call without a type, or with an unknown type, is an error naming type") {
    auto none = parse_call(R"({"framework_id":{"value":"f"}})");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().message == "type: missing required field");
    auto unknown = parse_call(R"({"type":"FOO","foo":{}})");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message == "type: unknown call type \"FOO\"");
}

TEST_CASE("a call whose required sub-message is absent is an error; REVIVE, SUPPRESS need none") {
    auto kill = parse_call(R"({"framework_id":{"value":"f"},"type":"KILL"})");
    REQUIRE_FALSE(kill.ok());
    CHECK(kill.error().message == "kill: missing required field");
    auto reconcile = parse_call(R"({"framework_id":{"value":"f"},"type":"RECONCILE"})");
    REQUIRE_FALSE(reconcile.ok());
    CHECK(reconcile.error().message == "reconcile: missing required field");
    auto revive = parse_call(R"({"framework_id":{"value":"f"},"type":"REVIVE"})");
    REQUIRE(revive.ok());
    CHECK(std::get<Call::Revive>(revive->body).roles.empty());
    auto suppress = parse_call(R"({"type":"SUPPRESS","suppress":null})");
    REQUIRE(suppress.ok());
    CHECK_FALSE(suppress->framework_id.has_value());
}

TEST_CASE("a REVIVE with the documented but wrong 'role' key revives all roles") {
    auto revive =
        parse_call(R"({"framework_id":{"value":"f"},"type":"REVIVE","revive":{"role":"web"}})");
    REQUIRE(revive.ok());
    CHECK(std::get<Call::Revive>(revive->body).roles.empty());
}

TEST_CASE("malformed calls name the offending field") {
    struct Case {
        const char* json;
        const char* error;
    };
    const Case cases[] = {
        {R"({"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"}}})",
         "acknowledge.uuid: missing required field"},
        {R"({"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"not base64!"}})",
         "acknowledge.uuid: expected base64, got an invalid string"},
        {R"({"type":"ACCEPT","accept":{"offer_ids":[{"value":"o"},{"valu":"o"}]}})",
         "accept.offer_ids[1].value: missing required field"},
        {R"({"type":"ACCEPT","accept":{"operations":[{"launch":{}}]}})",
         "accept.operations[0].type: missing required field"},
        {R"({"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH"}]}})",
         "accept.operations[0].launch: missing required field"},
        {R"({"type":"ACCEPT","accept":{"operations":[{"type":"RESERVE","reserve":{}}]}})",
         "accept.operations[0].type: unsupported operation type \"RESERVE\" (LAUNCH only)"},
        {R"({"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"n","task_id":{"value":"t"}}]}}]}})",
         "accept.operations[0].launch.task_infos[0].agent_id: missing required field"},
        {R"({"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"n","task_id":{"value":"t"},"agent_id":{"value":"a"},"command":{"shell":"yes"}}]}}]}})",
         "accept.operations[0].launch.task_infos[0].command.shell: expected boolean, got string"},
        {R"({"type":"DECLINE","decline":{"filters":{"refuse_seconds":"soon"}}})",
         "decline.filters.refuse_seconds: expected number, got string"},
        {R"({"type":"KILL","kill":{"task_id":"t"}})", "kill.task_id: expected object, got string"},
        {R"({"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":1.5}}}})",
         "kill.kill_policy.grace_period.nanoseconds: expected integer, got number"},
        {R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u"}}})",
         "subscribe.framework_info.name: missing required field"},
        {R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","roles":"web"}}})",
         "subscribe.framework_info.roles: expected array, got string"},
        {R"([])", "call: expected object, got array"},
        {R"({"type":7})", "type: expected string, got number"},
    };
    for (const auto& c : cases) {
        INFO(c.json);
        auto result = parse_call(c.json);
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().message == c.error);
    }
}
