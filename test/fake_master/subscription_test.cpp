// SUBSCRIBE, heartbeats, scheduler failover, refusals, disconnection and
// TEARDOWN behave as in the real master (docs/scheduler-http-api.md and
// docs/high-availability-framework-guide.md in the Mesos sources).
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <cctype>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_master.hpp"
#include "test_client.hpp"

using namespace mesoflow::fake;
using namespace mesoflow::fake::testing;

namespace {

json subscribe_call(const json& info) {
    json call = {{"type", "SUBSCRIBE"}, {"subscribe", {{"framework_info", info}}}};
    if (info.contains("id"))
        call["framework_id"] = info["id"];
    return call;
}

// The SUBSCRIBE stream read chunk by chunk from the socket, as a client that
// expects one RecordIO record per HTTP chunk reads it.
class RawChunks {
  public:
    RawChunks(int port, const json& call) : connection_(port) {
        const std::string body = call.dump();
        connection_.send_raw(
            "POST /api/v1/scheduler HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body);
        while (buffer_.find("\r\n\r\n") == std::string::npos) {
            if (!fill())
                throw std::runtime_error("no response head");
        }
        const auto end = buffer_.find("\r\n\r\n");
        head_ = buffer_.substr(0, end);
        buffer_.erase(0, end + 4);
    }

    const std::string& head() const { return head_; }

    // The payload of the next chunk; nothing on timeout or end of stream.
    std::optional<std::string> next() {
        std::size_t line_end;
        while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
            if (!fill())
                return std::nullopt;
        }
        const std::size_t size = std::stoul(buffer_.substr(0, line_end), nullptr, 16);
        while (buffer_.size() < line_end + 2 + size + 2) {
            if (!fill())
                return std::nullopt;
        }
        std::string payload = buffer_.substr(line_end + 2, size);
        if (buffer_.compare(line_end + 2 + size, 2, "\r\n") != 0)
            throw std::runtime_error("chunk without its CRLF");
        buffer_.erase(0, line_end + 2 + size + 2);
        if (size == 0)
            return std::nullopt;
        return payload;
    }

  private:
    bool fill() {
        pollfd p{connection_.fd(), POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0)
            return false;
        char buf[65536];
        const ssize_t n = ::recv(connection_.fd(), buf, sizeof buf, 0);
        if (n <= 0)
            return false;
        buffer_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    Connection connection_;
    std::string head_;
    std::string buffer_;
};

// The event of a chunk that holds exactly one complete RecordIO record
// ("<length>\n<length bytes of JSON>"); nothing otherwise.
std::optional<json> single_record(const std::string& chunk) {
    const auto newline = chunk.find('\n');
    if (newline == std::string::npos || newline == 0)
        return std::nullopt;
    for (std::size_t i = 0; i < newline; ++i) {
        if (std::isdigit(static_cast<unsigned char>(chunk[i])) == 0)
            return std::nullopt;
    }
    if (std::stoul(chunk.substr(0, newline)) != chunk.size() - newline - 1)
        return std::nullopt;
    return json::parse(chunk.substr(newline + 1), nullptr, false);
}

}  // namespace

TEST_CASE(
    "each HTTP chunk of the SUBSCRIBE stream holds exactly one RecordIO record, even for "
    "events produced together") {
    FakeMaster master(quick_config(20));
    RawChunks stream(master.port(), subscribe_call(Scheduler::framework_info()));
    REQUIRE(stream.head().rfind("HTTP/1.1 200 ", 0) == 0);
    CHECK(stream.head().find("Transfer-Encoding: chunked") != std::string::npos);

    // SUBSCRIBED and the first HEARTBEAT are produced by the same piece of
    // work, and the first offers right after.
    std::vector<std::string> types;
    std::size_t offered = 0;
    while (offered < 20) {
        const auto chunk = stream.next();
        REQUIRE(chunk);
        const auto event = single_record(*chunk);
        INFO("chunk: " << *chunk);
        REQUIRE(event);
        REQUIRE_FALSE(event->is_discarded());
        types.push_back((*event)["type"]);
        if ((*event)["type"] == "OFFERS")
            offered += (*event)["offers"]["offers"].size();
    }
    REQUIRE(types.size() >= 3);
    CHECK(types[0] == "SUBSCRIBED");
    CHECK(types[1] == "HEARTBEAT");

    // One RESCIND per offer, all produced at once.
    master.rescind_all_offers();
    std::size_t rescinded = 0;
    while (rescinded < offered) {
        const auto chunk = stream.next();
        REQUIRE(chunk);
        const auto event = single_record(*chunk);
        INFO("chunk: " << *chunk);
        REQUIRE(event);
        REQUIRE_FALSE(event->is_discarded());
        if ((*event)["type"] == "RESCIND")
            ++rescinded;
    }
}

TEST_CASE(
    "SUBSCRIBE streams SUBSCRIBED with id, heartbeat interval and master info, then a "
    "HEARTBEAT") {
    FakeMaster master(quick_config());
    Subscription s(master.port(), subscribe_call(Scheduler::framework_info()));
    CHECK(s.head().status == 200);
    CHECK(s.head().header("transfer-encoding") == "chunked");
    CHECK(s.head().header("content-type") == "application/json");
    CHECK_FALSE(s.head().has("content-length"));
    CHECK(s.stream_id().size() == 36);

    const auto subscribed = s.next();
    REQUIRE(subscribed);
    CHECK((*subscribed)["type"] == "SUBSCRIBED");
    const json& body = (*subscribed)["subscribed"];
    const std::string id = body["framework_id"]["value"];
    CHECK(id == master.master_id() + "-0000");
    CHECK(body["heartbeat_interval_seconds"] == 0.2);
    CHECK(body["master_info"]["id"] == master.master_id());
    CHECK(body["master_info"]["port"] == master.port());
    CHECK(body["master_info"]["address"]["ip"] == "127.0.0.1");
    CHECK(body["master_info"]["pid"] == "master@" + master.address());

    const auto heartbeat = s.next();
    REQUIRE(heartbeat);
    CHECK(*heartbeat == json{{"type", "HEARTBEAT"}});
}

TEST_CASE("heartbeats keep coming at the configured interval") {
    FakeMasterConfig config = quick_config();
    config.heartbeat_interval = std::chrono::milliseconds(100);
    config.agents.clear();  // no offers in between
    FakeMaster master(config);
    Subscription s(master.port(), subscribe_call(Scheduler::framework_info()));
    REQUIRE(s.next_of("SUBSCRIBED"));
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i)
        REQUIRE(s.next_of("HEARTBEAT", std::chrono::milliseconds(1000)));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    // The first comes at once, three more after 100 ms each.
    CHECK(elapsed >= std::chrono::milliseconds(290));
    CHECK(elapsed < std::chrono::milliseconds(1500));
}

TEST_CASE("a refused SUBSCRIBE is a 200 stream with a single ERROR, then the stream ends") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info("bad-role", {"MULTI_ROLE"}, {"/test/test1"});
    Subscription s(master.port(), subscribe_call(info));
    CHECK(s.head().status == 200);
    const auto error = s.next();
    REQUIRE(error);
    CHECK((*error)["type"] == "ERROR");
    CHECK((*error)["error"]["message"] ==
          "'FrameworkInfo.roles' contains invalid role: Role '/test/test1' cannot start with a "
          "slash");
    REQUIRE(s.wait_closed());
    CHECK(s.ended_cleanly());
    CHECK(s.all_events().size() == 1);
    CHECK(master.frameworks().empty());
    CHECK(master.counters().refused_subscriptions == 1);
}

TEST_CASE("SUBSCRIBE is refused for role rules the real master enforces") {
    FakeMaster master(quick_config());
    auto refusal = [&](const json& call) {
        Subscription s(master.port(), call);
        auto e = s.next();
        return e && (*e)["type"] == "ERROR" ? (*e)["error"]["message"].get<std::string>() : "";
    };
    json roles_without_capability = Scheduler::framework_info();
    roles_without_capability["roles"] = {"a"};
    CHECK(refusal(subscribe_call(roles_without_capability)) ==
          "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable");
    json duplicate = Scheduler::framework_info("d", {"MULTI_ROLE"}, {"a", "a"});
    CHECK(refusal(subscribe_call(duplicate)) ==
          "'FrameworkInfo.roles' contains duplicate items: { a }");
    json suppressed = subscribe_call(Scheduler::framework_info("s", {"MULTI_ROLE"}, {"a"}));
    suppressed["subscribe"]["suppressed_roles"] = {"b"};
    CHECK(refusal(suppressed) == "Suppressed roles { b } are not contained in the set of roles");
}

TEST_CASE("re-subscribing with the same id fails the old stream over and keeps the id") {
    FakeMaster master(quick_config());
    Scheduler first(master.port(), Scheduler::framework_info());
    json info = Scheduler::framework_info();
    info["id"] = {{"value", first.framework_id()}};
    Subscription second(master.port(), subscribe_call(info));
    const auto subscribed = second.next();
    REQUIRE(subscribed);
    CHECK((*subscribed)["subscribed"]["framework_id"]["value"] == first.framework_id());
    CHECK(second.next_of("HEARTBEAT"));
    CHECK(second.stream_id() != first.stream_id());

    const auto error = first.stream().next_of("ERROR");
    REQUIRE(error);
    CHECK((*error)["error"]["message"] == "Framework failed over");
    REQUIRE(first.stream().wait_closed());
    CHECK(first.stream().ended_cleanly());
    REQUIRE(master.frameworks().size() == 1);
    CHECK(master.frameworks()[0].connected);
    CHECK(master.frameworks()[0].stream_id == second.stream_id());
}

TEST_CASE("a framework id the master never saw is accepted as a recovered framework") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info();
    info["id"] = {{"value", "from-an-earlier-master-0042"}};
    Scheduler s(master.port(), info);
    CHECK(s.framework_id() == "from-an-earlier-master-0042");
    CHECK(s.call("REVIVE").status == 202);
}

TEST_CASE("changing the principal on re-subscription is refused with an ERROR") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info();
    info["principal"] = "p1";
    Scheduler first(master.port(), info);
    info["id"] = {{"value", first.framework_id()}};
    info["principal"] = "p2";
    Subscription s(master.port(), subscribe_call(info));
    const auto error = s.next();
    REQUIRE(error);
    CHECK((*error)["error"]["message"] == "Changing framework's principal is not allowed.");
    // The first subscription is untouched.
    CHECK(first.call("REVIVE").status == 202);
}

TEST_CASE(
    "a closed subscription disconnects the framework at once; failover_timeout then removes "
    "it") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info();
    info["failover_timeout"] = 0.3;
    auto s = std::make_unique<Scheduler>(master.port(), info);
    const std::string id = s->framework_id();
    s->stream().close();
    REQUIRE(master.wait_until(
        [&] { return master.frameworks().size() == 1 && !master.frameworks()[0].connected; },
        std::chrono::milliseconds(1000)));
    REQUIRE(master.wait_until([&] { return master.frameworks().empty(); },
                              std::chrono::milliseconds(3000)));
    json again = Scheduler::framework_info();
    again["id"] = {{"value", id}};
    Subscription late(master.port(), subscribe_call(again));
    const auto error = late.next();
    REQUIRE(error);
    CHECK((*error)["error"]["message"] == "Framework has been removed");
}

TEST_CASE("re-subscribing within failover_timeout keeps the framework and its tasks") {
    FakeMaster master(quick_config(1));
    master.set_task_rules(
        {}, TaskBehavior{std::chrono::milliseconds(0), std::chrono::milliseconds(0), 0, true});
    json info = Scheduler::framework_info();
    auto s = std::make_unique<Scheduler>(master.port(), info);
    const auto offers = s->offers();
    REQUIRE(offers.size() == 1);
    REQUIRE(s->launch(offers[0], {Scheduler::command_task(offers[0], "t1", "sleep 100")}).status ==
            202);
    REQUIRE(s->update_for("t1"));
    const std::string id = s->framework_id();
    s.reset();
    REQUIRE(master.wait_until([&] { return !master.frameworks()[0].connected; },
                              std::chrono::milliseconds(1000)));
    info["id"] = {{"value", id}};
    Scheduler back(master.port(), info);
    CHECK(back.framework_id() == id);
    REQUIRE(master.task("t1"));
    CHECK(master.task("t1")->state == "TASK_RUNNING");
}

TEST_CASE("TEARDOWN ends the stream, kills the tasks and forgets the framework") {
    FakeMaster master(quick_config(1));
    master.set_task_rules(
        {}, TaskBehavior{std::chrono::milliseconds(0), std::chrono::milliseconds(0), 0, true});
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.launch(offers[0], {Scheduler::command_task(offers[0], "t1", "sleep 100")});
    REQUIRE(master.wait_until([&] { return master.tasks().size() == 1; },
                              std::chrono::milliseconds(1000)));
    CHECK(s.call("TEARDOWN").status == 202);
    REQUIRE(s.stream().wait_closed());
    CHECK(s.stream().ended_cleanly());
    CHECK(master.frameworks().empty());
    CHECK(master.tasks().empty());
    CHECK(master.agents()[0].used_cpus == 0);
    json info = Scheduler::framework_info();
    info["id"] = {{"value", s.framework_id()}};
    Subscription again(master.port(), subscribe_call(info));
    const auto error = again.next();
    REQUIRE(error);
    CHECK((*error)["error"]["message"] == "Framework has been removed");
}

TEST_CASE("UPDATE_FRAMEWORK changes roles and answers 200; immutable fields give 400") {
    FakeMaster master(quick_config());
    json info = Scheduler::framework_info("u", {"MULTI_ROLE"}, {"a"});
    Scheduler s(master.port(), info);
    info["id"] = {{"value", s.framework_id()}};
    info["roles"] = {"a", "b"};
    auto r = s.call("UPDATE_FRAMEWORK", {{"framework_info", info}, {"suppressed_roles", {"b"}}});
    CHECK(r.status == 200);
    CHECK(r.body.empty());
    const auto view = master.frameworks()[0];
    CHECK(view.roles == std::vector<std::string>{"a", "b"});
    CHECK(view.suppressed_roles == std::vector<std::string>{"b"});
    info["user"] = "root";
    r = s.call("UPDATE_FRAMEWORK", {{"framework_info", info}});
    CHECK(r.status == 400);
    CHECK(r.body ==
          "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; "
          "attempted to update from 'nobody' to 'root'");
}
