// Offers per allocation cycle, filters, SUPPRESS/REVIVE per role, RESCIND
// (docs/scheduler-http-api.md "OFFERS" and src/master/master.cpp in the Mesos
// sources).
#include <catch2/catch.hpp>

#include <set>

#include "fake_master.hpp"
#include "test_client.hpp"

using namespace mesoflow::fake;
using namespace mesoflow::fake::testing;

namespace {

double scalar(const json& offer, const std::string& name) {
    for (const auto& r : offer["resources"]) {
        if (r["name"] == name)
            return r["scalar"]["value"].get<double>();
    }
    return 0;
}

bool offers_within(Scheduler& s, std::chrono::milliseconds timeout) {
    return !s.offers(timeout).empty();
}

TaskBehavior forever() {
    TaskBehavior b;
    b.runs_until_killed = true;
    return b;
}

}  // namespace

TEST_CASE("one OFFERS event carries an offer for every free agent") {
    FakeMasterConfig config = quick_config(3);
    config.agents[1].attributes = {{"rack", "r1"}, {"level", "2"}};
    FakeMaster master(config);
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 3);
    std::set<std::string> agents;
    for (const auto& o : offers) {
        agents.insert(o["agent_id"]["value"].get<std::string>());
        CHECK(o["framework_id"]["value"] == s.framework_id());
        CHECK(scalar(o, "cpus") == 8.0);
        CHECK(scalar(o, "mem") == 32768.0);
        CHECK(scalar(o, "disk") == 65536.0);
        CHECK(o["url"]["path"] == "/slave(1)");
        CHECK_FALSE(o.contains("allocation_info"));  // not MULTI_ROLE
        CHECK(o["resources"][0]["role"] == "*");     // not RESERVATION_REFINEMENT
        if (o["hostname"] == "agent-1.fake") {
            CHECK(o["attributes"] ==
                  json::parse(R"([{"name":"rack","type":"TEXT","text":{"value":"r1"}},)"
                              R"({"name":"level","type":"SCALAR","scalar":{"value":2.0}}])"));
        }
    }
    CHECK(agents.size() == 3);
    CHECK(master.offers().size() == 3);
    // Outstanding offers are not offered again.
    CHECK_FALSE(offers_within(s, std::chrono::milliseconds(200)));
}

TEST_CASE("a DECLINE filters the agent for refuse_seconds, then it is offered again") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    CHECK(s.call("DECLINE",
                 {{"offer_ids", {offers[0]["id"]}}, {"filters", {{"refuse_seconds", 0.6}}}})
              .status == 202);
    const auto declined = std::chrono::steady_clock::now();
    CHECK_FALSE(offers_within(s, std::chrono::milliseconds(400)));
    REQUIRE(offers_within(s, std::chrono::milliseconds(2000)));
    CHECK(std::chrono::steady_clock::now() - declined >= std::chrono::milliseconds(550));
    CHECK(master.counters().offers_declined == 1);
}

TEST_CASE("a DECLINE with refuse_seconds 0 is offered again at the next cycle") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.call("DECLINE", {{"offer_ids", {offers[0]["id"]}}, {"filters", {{"refuse_seconds", 0}}}});
    CHECK(offers_within(s, std::chrono::milliseconds(500)));
}

TEST_CASE("a DECLINE without filters uses the default of 5 seconds") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.call("DECLINE", {{"offer_ids", {offers[0]["id"]}}});
    CHECK_FALSE(offers_within(s, std::chrono::milliseconds(1000)));
    // REVIVE clears filters.
    s.call("REVIVE");
    CHECK(offers_within(s, std::chrono::milliseconds(1000)));
}

TEST_CASE("the unused part of an ACCEPT is filtered; resources freed by a task come back") {
    FakeMaster master(quick_config(1));
    master.set_task_rules({{"", "", "long", forever()}}, TaskBehavior{});
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.launch(offers[0], {Scheduler::command_task(offers[0], "long-1", "sleep 1", 2, 1024)},
             {{"refuse_seconds", 30}});
    // The remaining 6 cpus stay filtered for 30 s.
    CHECK_FALSE(offers_within(s, std::chrono::milliseconds(500)));
    REQUIRE(master.agents()[0].used_cpus == 2.0);
    // Ending the task frees 2 cpus: 8 free is more than the 6 refused.
    s.call("KILL", {{"task_id", {{"value", "long-1"}}}});
    offers = s.offers(std::chrono::milliseconds(2000));
    REQUIRE(offers.size() == 1);
    CHECK(scalar(offers[0], "cpus") == 8.0);
}

TEST_CASE("SUPPRESS stops offers and REVIVE brings them back") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info());
    auto offers = s.offers();
    REQUIRE(offers.size() == 1);
    s.call("SUPPRESS");
    s.call("DECLINE", {{"offer_ids", {offers[0]["id"]}}, {"filters", {{"refuse_seconds", 0}}}});
    CHECK_FALSE(offers_within(s, std::chrono::milliseconds(400)));
    CHECK(master.frameworks()[0].suppressed_roles == std::vector<std::string>{"*"});
    s.call("REVIVE");
    CHECK(offers_within(s, std::chrono::milliseconds(1000)));
}

TEST_CASE("SUPPRESS and REVIVE work per role and offers carry allocation_info") {
    FakeMaster master(quick_config(2));
    Scheduler s(master.port(), Scheduler::framework_info(
                                   "mr", {"MULTI_ROLE", "RESERVATION_REFINEMENT"}, {"a", "b"}));
    auto offers = s.offers();
    REQUIRE(offers.size() == 2);
    for (const auto& o : offers) {
        CHECK(o["allocation_info"]["role"] == "a");
        CHECK(o["resources"][0]["allocation_info"]["role"] == "a");
        CHECK_FALSE(o["resources"][0].contains("role"));
    }
    s.call("SUPPRESS", {{"roles", {"a"}}});
    json ids = json::array();
    for (const auto& o : offers)
        ids.push_back(o["id"]);
    s.call("DECLINE", {{"offer_ids", ids}, {"filters", {{"refuse_seconds", 0}}}});
    offers = s.offers(std::chrono::milliseconds(1000));
    REQUIRE(offers.size() == 2);
    for (const auto& o : offers)
        CHECK(o["allocation_info"]["role"] == "b");
    // A role the framework does not hold drops the whole call.
    s.call("SUPPRESS", {{"roles", {"b", "zzz"}}});
    CHECK(master.frameworks()[0].suppressed_roles == std::vector<std::string>{"a"});
}

TEST_CASE("a framework subscribing with every role suppressed gets no offers until REVIVE") {
    FakeMaster master(quick_config(1));
    Scheduler s(master.port(), Scheduler::framework_info("q", {"MULTI_ROLE"}, {"a"}), {},
                json::array({"a"}));
    CHECK_FALSE(offers_within(s, std::chrono::milliseconds(400)));
    s.call("REVIVE", {{"roles", {"a"}}});
    CHECK(offers_within(s, std::chrono::milliseconds(1000)));
}

TEST_CASE("agents with GPUs are offered only to GPU_RESOURCES frameworks") {
    FakeMasterConfig config = quick_config(2);
    config.agents[1].gpus = 2;
    FakeMaster master(config);
    {
        Scheduler plain(master.port(), Scheduler::framework_info("plain"));
        auto offers = plain.offers();
        REQUIRE(offers.size() == 1);
        CHECK(offers[0]["hostname"] == "agent-0.fake");
        CHECK(plain.call("TEARDOWN").status == 202);
    }
    Scheduler gpu(master.port(), Scheduler::framework_info("gpu", {"GPU_RESOURCES"}));
    std::set<std::string> hosts;
    for (int i = 0; i < 3 && hosts.size() < 2; ++i) {
        for (const auto& o : gpu.offers()) {
            hosts.insert(o["hostname"].get<std::string>());
            if (o["hostname"] == "agent-1.fake")
                CHECK(scalar(o, "gpus") == 2.0);
        }
    }
    CHECK(hosts.size() == 2);
}

TEST_CASE("rescinding offers sends RESCIND for each and frees the resources") {
    FakeMaster master(quick_config(2));
    Scheduler s(master.port(), Scheduler::framework_info());
    const auto offers = s.offers();
    REQUIRE(offers.size() == 2);
    master.rescind_all_offers();
    std::set<std::string> rescinded;
    for (int i = 0; i < 2; ++i) {
        auto e = s.stream().next_of("RESCIND");
        REQUIRE(e);
        rescinded.insert((*e)["rescind"]["offer_id"]["value"].get<std::string>());
    }
    CHECK(rescinded.count(offers[0]["id"]["value"]) == 1);
    CHECK(rescinded.count(offers[1]["id"]["value"]) == 1);
    CHECK(master.counters().offers_rescinded == 2);
    // The agents are offered again in a later cycle.
    CHECK(offers_within(s, std::chrono::milliseconds(1000)));
}
