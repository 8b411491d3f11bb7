#include "mesoflow/scheduler/offer_matcher.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "offers.hpp"

using namespace mesoflow;
using mesoflow::testing::offer;
using mesoflow::testing::spec;

namespace {

double taken(const scheduler::PlannedLaunch& l, const std::string& name) {
    double sum = 0;
    for (const auto& r : l.resources()) {
        if (r.name == name)
            sum += r.scalar;
    }
    return sum;
}

// pending index -> agent id of every planned launch.
std::map<std::size_t, std::string> placements(const scheduler::MatchResult& r) {
    std::map<std::size_t, std::string> where;
    for (const auto& p : r.plans) {
        for (const auto& l : p.launches)
            where[l.index] = p.agent_id;
    }
    return where;
}

// A result together with the offers its launches point into.
struct Matched : scheduler::MatchResult {
    std::vector<mesos::Offer> offers;
};

Matched match(std::vector<mesos::Offer> offers, const std::vector<task::TaskSpec>& pending,
              const scheduler::MatchOptions& options = {}) {
    Matched m;
    m.offers = std::move(offers);
    scheduler::OfferMatcher matcher;
    static_cast<scheduler::MatchResult&>(m) = matcher.match(m.offers, pending, options);
    return m;
}

}  // namespace

TEST_CASE("several tasks are packed into one offer, in queue order") {
    auto r =
        match({offer("o1", "a1", 4, 4096)}, {spec(1, 1, 1024), spec(2, 2, 1024), spec(3, 2, 1024)});
    REQUIRE(r.plans.size() == 1);
    REQUIRE(r.plans[0].launches.size() == 2);  // 1 + 2 cpus; the third does not fit
    CHECK(r.plans[0].launches[0].index == 0);
    CHECK(r.plans[0].launches[1].index == 1);
    CHECK(taken(r.plans[0].launches[1], "cpus") == 2);
    CHECK(taken(r.plans[0].launches[1], "mem") == 1024);
    CHECK(r.plans[0].launches[0].mesos_task_id == "mf-1-1");
    CHECK(r.plans[0].launches[0].attempt == 1);
    CHECK(r.unused_offer_ids.empty());
    CHECK(r.launch_count() == 2);
}

TEST_CASE("a task that fits nowhere is skipped and a later smaller one still runs") {
    auto r = match({offer("o1", "a1", 2, 2048)}, {spec(1, 8, 1024), spec(2, 1, 512)});
    CHECK(placements(r) == std::map<std::size_t, std::string>{{1, "a1"}});
}

TEST_CASE("a task keeps its place in the queue: a later task never takes the room it needed") {
    // First fit by agent order would put task 2 on a2 first; queue order wins.
    auto r = match({offer("o1", "a1", 1, 4096), offer("o2", "a2", 4, 4096)},
                   {spec(1, 4, 10), spec(2, 1, 10), spec(3, 1, 10)});
    CHECK(placements(r) == std::map<std::size_t, std::string>{{0, "a2"}, {1, "a1"}});
}

TEST_CASE("each task goes to the first agent in offer order that has room") {
    auto r =
        match({offer("o1", "a1", 2, 4096), offer("o2", "a2", 8, 4096), offer("o3", "a3", 8, 4096)},
              {spec(1, 1, 10), spec(2, 3, 10), spec(3, 1, 10), spec(4, 6, 10), spec(5, 1, 10)});
    CHECK(placements(r) == std::map<std::size_t, std::string>{
                               {0, "a1"}, {1, "a2"}, {2, "a1"}, {3, "a3"}, {4, "a2"}});
    // Plans come in the order of their first launch.
    REQUIRE(r.plans.size() == 3);
    CHECK(r.plans[0].agent_id == "a1");
    CHECK(r.plans[1].agent_id == "a2");
    CHECK(r.plans[2].agent_id == "a3");
}

TEST_CASE("offers of one agent are merged into one plan, other agents get their own") {
    auto r =
        match({offer("o1", "a1", 1, 1024), offer("o2", "a1", 1, 1024), offer("o3", "a2", 4, 4096)},
              {spec(1, 2, 2048)});
    REQUIRE(r.plans.size() == 1);
    CHECK(r.plans[0].agent_id == "a1");
    CHECK(r.plans[0].hostname == "a1.example.com");
    CHECK(r.plans[0].offer_ids == std::vector<std::string>{"o1", "o2"});
    const auto resources = r.plans[0].launches[0].resources();
    CHECK(taken(r.plans[0].launches[0], "cpus") == 2);
    // One Resource per offered resource touched: 1 cpu from each offer.
    CHECK(std::count_if(resources.begin(), resources.end(),
                        [](const mesos::Resource& x) { return x.name == "cpus"; }) == 2);
    CHECK(r.unused_offer_ids == std::vector<std::string>{"o3"});
}

TEST_CASE("a merged plan lists all the agent's offers even if one offer alone was enough") {
    auto r = match({offer("o1", "a1", 4, 4096), offer("o2", "a1", 4, 4096)}, {spec(1, 1, 10)});
    REQUIRE(r.plans.size() == 1);
    CHECK(r.plans[0].offer_ids == std::vector<std::string>{"o1", "o2"});
    CHECK(r.unused_offer_ids.empty());
}

TEST_CASE("offers of one agent allocated to two roles become two plans") {
    auto t1 = spec(1, 1, 10);
    t1.role = "web";
    auto t2 = spec(2, 1, 10);
    t2.role = "batch";
    auto r =
        match({offer("o1", "a1", 1, 1024, "web"), offer("o2", "a1", 1, 1024, "batch")}, {t1, t2});
    REQUIRE(r.plans.size() == 2);
    CHECK(r.plans[0].role == "web");
    CHECK(r.plans[0].offer_ids == std::vector<std::string>{"o1"});
    CHECK(r.plans[1].role == "batch");
    CHECK(r.plans[1].offer_ids == std::vector<std::string>{"o2"});
}

TEST_CASE("unused offers are listed in offer order, including offers of foreign roles") {
    auto r = match({offer("o1", "a1", 1, 10, "other"), offer("o2", "a2", 1, 10),
                    offer("o3", "a3", 8, 4096), offer("o4", "a4", 1, 10)},
                   {spec(1, 4, 100)}, scheduler::MatchOptions{{"web"}});
    CHECK(placements(r) == std::map<std::size_t, std::string>{{0, "a3"}});
    CHECK(r.unused_offer_ids == std::vector<std::string>{"o1", "o2", "o4"});
}

TEST_CASE("no pending tasks leaves every offer unused; no offers plans nothing") {
    auto idle = match({offer("o1", "a1", 1, 10), offer("o2", "a2", 1, 10)}, {});
    CHECK(idle.plans.empty());
    CHECK(idle.unused_offer_ids == std::vector<std::string>{"o1", "o2"});
    auto none = match({}, {spec(1, 1, 1)});
    CHECK(none.plans.empty());
    CHECK(none.unused_offer_ids.empty());
}

TEST_CASE("ports are chosen from the offered ranges, lowest first, and never given twice") {
    auto t1 = spec(1, 1, 10);
    t1.ports = 3;
    auto t2 = spec(2, 1, 10);
    t2.ports = 8;  // only 7 left of 10
    auto t3 = spec(3, 1, 10);
    t3.ports = 2;
    auto r = match({offer("o1", "a1", 4, 4096)}, {t1, t2, t3});
    REQUIRE(r.plans.size() == 1);
    REQUIRE(r.plans[0].launches.size() == 2);
    const auto p1 = r.plans[0].launches[0].resources().back();
    CHECK(p1.name == "ports");
    CHECK(p1.ranges == std::vector<mesos::Range>{{31000, 31002}});
    const auto p3 = r.plans[0].launches[1].resources().back();
    CHECK(p3.ranges == std::vector<mesos::Range>{{31003, 31004}});
    CHECK(p3.allocation_info->role == "web");
}

TEST_CASE("ports spanning several offered ranges come back as one resource with several ranges") {
    auto o = offer("o1", "a1", 4, 4096);
    o.resources.back().ranges = {{32000, 32005}, {31000, 31001}, {40, 20}};  // unsorted, one empty
    auto t = spec(1, 1, 10);
    t.ports = 4;
    auto r = match({o}, {t});
    REQUIRE(r.plans.size() == 1);
    const auto resources = r.plans[0].launches[0].resources();
    REQUIRE(resources.back().name == "ports");
    CHECK(resources.back().ranges == std::vector<mesos::Range>{{31000, 31001}, {32000, 32001}});
    CHECK(std::count_if(resources.begin(), resources.end(),
                        [](const mesos::Resource& x) { return x.name == "ports"; }) == 1);
}

TEST_CASE("a task asking for more ports than offered does not fit") {
    auto t = spec(1, 1, 10);
    t.ports = 11;
    CHECK(match({offer("o1", "a1", 4, 4096)}, {t}).plans.empty());
}

TEST_CASE("a task with a role only goes to offers allocated to that role") {
    auto t = spec(1, 1, 10);
    t.role = "batch";
    auto r = match({offer("o1", "a1", 4, 4096, "web"), offer("o2", "a2", 4, 4096, "batch")}, {t});
    REQUIRE(r.plans.size() == 1);
    CHECK(r.plans[0].agent_id == "a2");
    CHECK(r.plans[0].role == "batch");
    CHECK(r.unused_offer_ids == std::vector<std::string>{"o1"});
}

TEST_CASE("a task without a role goes to offers of any of the framework's roles") {
    auto r = match({offer("o1", "a1", 1, 4096, "web"), offer("o2", "a2", 1, 4096, "batch"),
                    offer("o3", "a3", 8, 4096, "other")},
                   {spec(1, 1, 10), spec(2, 1, 10), spec(3, 1, 10)},
                   scheduler::MatchOptions{{"web", "batch"}});
    CHECK(placements(r) == std::map<std::size_t, std::string>{{0, "a1"}, {1, "a2"}});
    CHECK(r.unused_offer_ids == std::vector<std::string>{"o3"});
}

TEST_CASE("launch resources carry the offer's allocation_info and role") {
    auto r = match({offer("o1", "a1", 4, 4096, "batch")}, {spec(1, 1, 10)});
    REQUIRE(r.plans.size() == 1);
    for (const auto& res : r.plans[0].launches[0].resources()) {
        REQUIRE(res.allocation_info);
        CHECK(res.allocation_info->role == "batch");
        CHECK(res.role == "*");
    }
}

TEST_CASE("reserved resources are used before unreserved ones and keep their reservation") {
    auto o = offer("o1", "a1", 1, 4096);
    o.resources.push_back(mesoflow::testing::reserved("cpus", 1));  // listed after unreserved
    auto r = match({o}, {spec(1, 1.5, 10), spec(2, 0.5, 10)});
    REQUIRE(r.plans.size() == 1);
    REQUIRE(r.plans[0].launches.size() == 2);
    const auto first = r.plans[0].launches[0].resources();
    REQUIRE(first.size() >= 2);
    CHECK(first[0].name == "cpus");
    CHECK(first[0].role == "web");  // the reservation, spent first
    CHECK(first[0].scalar == 1);
    CHECK(first[1].name == "cpus");
    CHECK(first[1].role == "*");
    CHECK(first[1].scalar == 0.5);
    const auto second = r.plans[0].launches[1].resources();
    CHECK(second[0].role == "*");
    CHECK(second[0].scalar == 0.5);
}

TEST_CASE("dynamic reservations in either format count as reserved") {
    auto legacy = mesoflow::testing::scalar("mem", 100);
    legacy.role = "web";
    legacy.reservation = mesos::ReservationInfo{std::nullopt, std::nullopt, "ops", {}};
    auto refined = mesoflow::testing::scalar("cpus", 1);
    refined.role.reset();
    refined.reservations = {
        mesos::ReservationInfo{mesos::ReservationType::dynamic, "web", "ops", {}}};
    auto o = offer("o1", "a1", 4, 4096);
    o.resources.push_back(legacy);
    o.resources.push_back(refined);
    auto r = match({o}, {spec(1, 1, 100)});
    REQUIRE(r.plans.size() == 1);
    const auto res = r.plans[0].launches[0].resources();
    REQUIRE(res.size() == 2);
    CHECK(res[0].reservations == refined.reservations);
    CHECK(res[1].reservation == legacy.reservation);
}

TEST_CASE("fractional amounts are compared in Mesos' fixed point, not in floating point") {
    // 0.1 + 0.1 + 0.1 > 0.3 in doubles; Mesos keeps three decimals.
    auto r = match({offer("o1", "a1", 0.3, 0.3)},
                   {spec(1, 0.1, 0.1), spec(2, 0.1, 0.1), spec(3, 0.1, 0.1), spec(4, 0.001, 0)});
    CHECK(placements(r).size() == 3);
    CHECK(taken(r.plans[0].launches[2], "cpus") == 0.1);
}

TEST_CASE("disk and gpus are packed like cpus and mem") {
    auto o = offer("o1", "a1", 8, 8192);
    o.resources.push_back(mesoflow::testing::scalar("gpus", 1));
    auto gpu = spec(1, 1, 10);
    gpu.gpus = 1;
    auto gpu2 = spec(2, 1, 10);
    gpu2.gpus = 1;
    auto disk = spec(3, 1, 10);
    disk.disk_mb = 600;
    auto disk2 = spec(4, 1, 10);
    disk2.disk_mb = 600;  // 1000 offered
    auto r = match({o}, {gpu, gpu2, disk, disk2});
    CHECK(placements(r) == std::map<std::size_t, std::string>{{0, "a1"}, {2, "a1"}});
    CHECK(taken(r.plans[0].launches[0], "gpus") == 1);
    CHECK(taken(r.plans[0].launches[1], "disk") == 600);
    CHECK(taken(r.plans[0].launches[1], "gpus") == 0);  // nothing asked, nothing taken
}

TEST_CASE("revocable, shared and volume disk resources are never used") {
    auto o = offer("o1", "a1", 0, 4096);
    auto revocable = mesoflow::testing::scalar("cpus", 4);
    revocable.revocable = true;
    o.resources.push_back(revocable);
    auto volume = mesoflow::testing::scalar("disk", 5000);
    volume.disk = mesos::DiskInfo{};
    volume.disk->persistence = mesos::DiskInfo::Persistence{"v1", std::nullopt};
    o.resources.push_back(volume);
    auto needs_disk = spec(2, 0, 10);
    needs_disk.disk_mb = 2000;
    CHECK(match({o}, {spec(1, 1, 10), needs_disk}).plans.empty());
}

TEST_CASE("the next attempt gets its own Mesos task id") {
    auto t = spec(42, 1, 10);
    t.attempt = 2;
    auto r = match({offer("o1", "a1", 4, 4096)}, {t});
    REQUIRE(r.plans.size() == 1);
    CHECK(r.plans[0].launches[0].attempt == 3);
    CHECK(r.plans[0].launches[0].mesos_task_id == "mf-42-3");
}

TEST_CASE("placement constraints choose the agent") {
    auto a1 = offer("o1", "a1", 4, 4096);
    auto a2 = offer("o2", "a2", 4, 4096);
    a2.attributes = {mesoflow::testing::text_attribute("rack", "r2")};
    mesos::Attribute slots;
    slots.name = "slots";
    slots.type = mesos::ValueType::scalar;
    slots.scalar = 4;
    a1.attributes = {slots};
    using Op = task::Constraint::Op;
    struct Case {
        task::Constraint c;
        std::string agent;  // empty: no agent qualifies
    };
    const std::vector<Case> cases = {
        {{"rack", Op::equals, "r2"}, "a2"},
        {{"rack", Op::equals, "r9"}, ""},
        {{"rack", Op::not_equals, "r2"}, "a1"},  // absent counts as not equal
        {{"rack", Op::exists, ""}, "a2"},
        {{"rack", Op::like, "r[0-9]"}, "a2"},
        {{"rack", Op::like, "r"}, ""},  // a full match, not a search
        {{"rack", Op::unlike, "r2"}, "a1"},
        {{"slots", Op::equals, "4"}, "a1"},  // scalars as text
        {{"hostname", Op::equals, "a2.example.com"}, "a2"},
        {{"hostname", Op::like, "a2\\..*"}, "a2"},
        {{"hostname", Op::unlike, "a1.*"}, "a2"},
        {{"hostname", Op::not_equals, "a1.example.com"}, "a2"},
        {{"hostname", Op::like, "(unclosed"}, ""},  // a bad pattern matches nothing
    };
    for (const auto& c : cases) {
        INFO(c.c.attribute << " " << task::to_string(c.c.op) << " " << c.c.value);
        auto t = spec(1, 1, 10);
        t.constraints = {c.c};
        auto r = match({a1, a2}, {t});
        if (c.agent.empty()) {
            CHECK(r.plans.empty());
        } else {
            REQUIRE(r.plans.size() == 1);
            CHECK(r.plans[0].agent_id == c.agent);
        }
    }
}

TEST_CASE("all constraints of a task must hold") {
    auto a1 = offer("o1", "a1", 4, 4096);
    a1.attributes = {mesoflow::testing::text_attribute("rack", "r1"),
                     mesoflow::testing::text_attribute("zone", "z1")};
    auto a2 = offer("o2", "a2", 4, 4096);
    a2.attributes = {mesoflow::testing::text_attribute("rack", "r1"),
                     mesoflow::testing::text_attribute("zone", "z2")};
    auto t = spec(1, 1, 10);
    t.constraints = {{"rack", task::Constraint::Op::equals, "r1"},
                     {"zone", task::Constraint::Op::not_equals, "z1"}};
    auto r = match({a1, a2}, {t});
    CHECK(placements(r) == std::map<std::size_t, std::string>{{0, "a2"}});
}

TEST_CASE("tasks pinned to hosts each land on their host, and a full host turns later ones away") {
    std::vector<mesos::Offer> offers;
    for (int i = 0; i < 50; ++i) {
        offers.push_back(offer("o" + std::to_string(i), "a" + std::to_string(i), 2, 4096));
    }
    std::vector<task::TaskSpec> pending;
    for (int i = 0; i < 150; ++i) {
        auto t = spec(i + 1, 1, 10);
        t.constraints = {{"hostname", task::Constraint::Op::equals,
                          "a" + std::to_string(i % 50) + ".example.com"}};
        pending.push_back(t);
    }
    auto where = placements(match(offers, pending));
    CHECK(where.size() == 100);  // two per host; the third round finds each host full
    for (const auto& [index, agent] : where) {
        CHECK(agent == "a" + std::to_string(index % 50));
        CHECK(index < 100);
    }
}

TEST_CASE("constraints and roles combine") {
    auto web = offer("o1", "a1", 4, 4096, "web");
    web.attributes = {mesoflow::testing::text_attribute("rack", "r1")};
    auto batch = offer("o2", "a2", 4, 4096, "batch");
    batch.attributes = {mesoflow::testing::text_attribute("rack", "r1")};
    auto t = spec(1, 1, 10);
    t.role = "batch";
    t.constraints = {{"rack", task::Constraint::Op::equals, "r1"}};
    CHECK(placements(match({web, batch}, {t})) == std::map<std::size_t, std::string>{{0, "a2"}});
}

TEST_CASE("a matcher reused across calls starts each call from the offers it is given") {
    scheduler::OfferMatcher m;
    std::vector<mesos::Offer> offers = {offer("o1", "a1", 1, 4096)};
    auto t = spec(1, 1, 10);
    t.constraints = {{"hostname", task::Constraint::Op::like, "a1\\..*"}};
    std::vector<task::TaskSpec> pending = {t};
    CHECK(m.match(offers, pending, {}).launch_count() == 1);
    CHECK(m.match(offers, pending, {}).launch_count() == 1);
}

// A plain reference: the same rules, checked agent by agent. The matcher
// must agree with it exactly, whatever shortcuts it takes.
namespace {

std::int64_t milli(double v) {
    return v > 0 ? std::llround(v * 1000) : 0;
}

std::map<std::size_t, std::string> reference(const std::vector<mesos::Offer>& offers,
                                             const std::vector<task::TaskSpec>& pending) {
    struct Left {
        std::string agent;
        std::string role;
        std::string rack;
        std::int64_t cpus = 0, mem = 0, ports = 0;
    };
    std::vector<Left> agents;
    for (const auto& o : offers) {
        const std::string role = *o.allocation_info->role;
        auto it = std::find_if(agents.begin(), agents.end(), [&](const Left& l) {
            return l.agent == o.agent_id && l.role == role;
        });
        if (it == agents.end()) {
            agents.push_back({o.agent_id, role, o.attributes.empty() ? "" : o.attributes[0].text});
            it = agents.end() - 1;
        }
        for (const auto& r : o.resources) {
            if (r.name == "cpus")
                it->cpus += milli(r.scalar);
            if (r.name == "mem")
                it->mem += milli(r.scalar);
            if (r.name == "ports")
                it->ports += static_cast<std::int64_t>(r.ranges[0].end - r.ranges[0].begin + 1);
        }
    }
    std::map<std::size_t, std::string> where;
    for (std::size_t i = 0; i < pending.size(); ++i) {
        const auto& t = pending[i];
        for (auto& a : agents) {
            if (!t.role.empty() && t.role != a.role)
                continue;
            if (!t.constraints.empty() && a.rack != t.constraints[0].value)
                continue;
            if (a.cpus >= milli(t.cpus) && a.mem >= milli(t.mem_mb) && a.ports >= t.ports) {
                a.cpus -= milli(t.cpus);
                a.mem -= milli(t.mem_mb);
                a.ports -= t.ports;
                where[i] = a.agent;
                break;
            }
        }
    }
    return where;
}

}  // namespace

TEST_CASE("placements agree with a plain agent-by-agent first fit on random queues") {
    std::mt19937 rng(20240611);
    auto pick = [&](std::initializer_list<double> values) {
        std::uniform_int_distribution<std::size_t> d(0, values.size() - 1);
        return *(values.begin() + static_cast<std::ptrdiff_t>(d(rng)));
    };
    for (int round = 0; round < 40; ++round) {
        std::vector<mesos::Offer> offers;
        const int agents = 1 + static_cast<int>(rng() % 30);
        for (int a = 0; a < agents; ++a) {
            const std::string role = rng() % 3 == 0 ? "batch" : "web";
            auto o = offer("o" + std::to_string(a), "a" + std::to_string(rng() % 20),
                           pick({0.5, 1, 2, 4, 8}), pick({256, 1024, 4096, 16384}), role);
            const auto base = static_cast<std::uint64_t>(31000 + 10 * a);
            o.resources.back().ranges = {{base, base + 9}};  // an agent never offers a port twice
            o.attributes = {mesoflow::testing::text_attribute("rack", rng() % 2 ? "r1" : "r2")};
            // Offers of one agent share its attributes, as Mesos guarantees.
            for (const auto& earlier : offers) {
                if (earlier.agent_id == o.agent_id)
                    o.attributes = earlier.attributes;
            }
            offers.push_back(o);
        }
        std::vector<task::TaskSpec> pending;
        const int tasks = static_cast<int>(rng() % 200);
        for (int i = 0; i < tasks; ++i) {
            auto t = spec(i + 1, pick({0.1, 0.25, 0.5, 1, 2, 3}), pick({64, 128, 512, 2048, 8192}));
            t.ports = static_cast<int>(pick({0, 0, 1, 3}));
            if (rng() % 5 == 0)
                t.role = rng() % 2 ? "batch" : "web";
            if (rng() % 4 == 0)
                t.constraints = {{"rack", task::Constraint::Op::equals, rng() % 2 ? "r1" : "r2"}};
            pending.push_back(t);
        }
        INFO("round " << round);
        auto r = match(offers, pending);
        CHECK(placements(r) == reference(offers, pending));
        // Nothing offered is given twice: every port appears at most once per agent.
        for (const auto& p : r.plans) {
            std::set<std::uint64_t> used;
            for (const auto& l : p.launches) {
                for (const auto& res : l.resources()) {
                    for (const auto& range : res.ranges) {
                        for (auto port = range.begin; port <= range.end; ++port)
                            CHECK(used.insert(port).second);
                    }
                }
            }
        }
    }
}

TEST_CASE(
    "max_launches bounds the launches, not the tasks looked at: big tasks ahead block no one") {
    // 5 tasks no offer holds, then 3 small ones; room for 2 launches.
    std::vector<task::TaskSpec> pending;
    for (int i = 1; i <= 5; ++i)
        pending.push_back(spec(i, 64, 10));
    for (int i = 6; i <= 8; ++i)
        pending.push_back(spec(i, 1, 10));
    scheduler::MatchOptions options;
    options.max_launches = 2;
    auto r = match({offer("o1", "a1", 8, 4096)}, pending, options);
    // Priority order among those that fit: the first two small ones.
    CHECK(placements(r) == std::map<std::size_t, std::string>{{5, "a1"}, {6, "a1"}});
    CHECK(r.limited);
    REQUIRE(r.unplaced.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(r.unplaced[i].index == i);
        CHECK(r.unplaced[i].why == scheduler::UnplacedWhy::too_large);
    }
    options.max_launches = 10;
    auto all = match({offer("o1", "a1", 8, 4096)}, pending, options);
    CHECK(all.launch_count() == 3);
    CHECK_FALSE(all.limited);
}

TEST_CASE("the matcher says why a task was not placed") {
    using Why = scheduler::UnplacedWhy;
    using Op = task::Constraint::Op;
    auto with = [](task::TaskSpec t, auto change) {
        change(t);
        return t;
    };
    auto a1 = offer("o1", "a1", 8, 4096);
    a1.attributes = {mesoflow::testing::text_attribute("rack", "r1")};
    auto a2 = offer("o2", "a2", 2, 16384);
    a2.attributes = {mesoflow::testing::text_attribute("rack", "r2")};
    struct Case {
        std::string name;
        std::vector<task::TaskSpec> pending;  // the last one is the task asked about
        bool gpu_resources;
        Why why;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"too many cpus",
         {spec(1, 64, 10)},
         true,
         Why::too_large,
         "needs cpus 64, largest offer 8"},
        {"too much mem",
         {spec(1, 1, 20000.5)},
         true,
         Why::too_large,
         "needs mem 20000.5, largest offer 16384"},
        {"too many ports",
         {with(spec(1, 1, 10), [](auto& t) { t.ports = 11; })},
         true,
         Why::too_large,
         "needs ports 11, largest offer 10"},
        {"no gpus offered",
         {with(spec(1, 1, 10), [](auto& t) { t.gpus = 1; })},
         true,
         Why::too_large,
         "needs gpus 1, largest offer 0"},
        {"gpus without the capability",
         {with(spec(1, 1, 10), [](auto& t) { t.gpus = 1; })},
         false,
         Why::no_gpu_capability,
         "gpus asked, framework lacks GPU_RESOURCES"},
        {"cpus of one agent, mem of the other",
         {spec(1, 8, 16384)},
         true,
         Why::not_together,
         "no single offer holds cpus 8, mem 16384, disk 0, gpus 0 and 0 ports together"},
        {"a role nobody offers",
         {with(spec(1, 1, 10), [](auto& t) { t.role = "batch"; })},
         true,
         Why::role_not_offered,
         "role 'batch' not offered"},
        {"a constraint nobody meets",
         {with(spec(1, 1, 10),
               [](auto& t) {
                   t.constraints = {{"rack", Op::like, "r.*"}, {"hostname", Op::like, "db-.*"}};
               })},
         true,
         Why::constraint_unmet,
         "constraint hostname LIKE db-.* met by no offer"},
        {"constraints met apart, never together",
         {with(spec(1, 1, 10),
               [](auto& t) {
                   t.constraints = {{"rack", Op::equals, "r1"}, {"hostname", Op::like, "a2.*"}};
               })},
         true,
         Why::constraints_unmet,
         "constraints met together by no offer"},
        {"room taken by the task before",
         {spec(1, 8, 10), spec(2, 8, 10)},
         true,
         Why::crowded,
         "fits an offer; other launches took it first"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            scheduler::MatchOptions options;
            options.gpu_resources = c.gpu_resources;
            auto r = match({a1, a2}, c.pending, options);
            REQUIRE(r.unplaced.size() == 1);
            const auto& u = r.unplaced[0];
            CHECK(u.index == c.pending.size() - 1);
            CHECK(u.why == c.why);
            CHECK(scheduler::explain(u, c.pending.back()) == c.message);
        }
    }
}

TEST_CASE("an agent announcing maintenance gets only tasks that are over before it starts") {
    constexpr std::int64_t kNowUs = 1'700'000'000'000'000;
    constexpr std::int64_t kHourUs = 3'600'000'000;
    // Agent m's maintenance starts `start_in_us` after now and lasts
    // `duration_us` (0: forever); agent z announces none and comes second.
    auto offers = [&](std::int64_t start_in_us, std::int64_t duration_us) {
        auto m = offer("om", "m", 4, 4096);
        mesos::Unavailability u;
        u.start_ns = (kNowUs + start_in_us) * 1000;
        if (duration_us > 0)
            u.duration_ns = duration_us * 1000;
        m.unavailability = u;
        return std::vector<mesos::Offer>{m, offer("oz", "z", 4, 4096)};
    };
    auto with_timeout = [](std::optional<double> timeout_s) {
        auto t = spec(1, 1, 64);
        t.timeout_s = timeout_s;
        return t;
    };
    struct Case {
        const char* why;
        std::int64_t start_in_us, duration_us;
        std::optional<double> timeout_s;
        const char* agent;
    };
    const Case cases[] = {
        {"no timeout, maintenance within the margin: avoided", kHourUs / 2, 0, {}, "z"},
        {"no timeout, maintenance beyond the margin: taken", 2 * kHourUs, 0, {}, "m"},
        {"no timeout, maintenance just at the margin: taken", kHourUs, 0, {}, "m"},
        {"over before the start: taken", kHourUs / 2, 0, 600.0, "m"},
        {"not over before the start: avoided", kHourUs / 2, 0, 7200.0, "z"},
        {"maintenance under way: avoided", -kHourUs, 2 * kHourUs, 60.0, "z"},
        {"maintenance under way for good: avoided", -kHourUs, 0, 60.0, "z"},
        {"a window already over: taken", -2 * kHourUs, kHourUs, {}, "m"},
    };
    for (const auto& c : cases) {
        INFO(c.why);
        scheduler::MatchOptions options;
        options.now_us = kNowUs;
        options.maintenance_margin_s = 3600;
        const auto r =
            match(offers(c.start_in_us, c.duration_us), {with_timeout(c.timeout_s)}, options);
        const auto where = placements(r);
        REQUIRE(where.size() == 1);
        CHECK(where.at(0) == c.agent);
    }
    SECTION("tasks of different lengths share one round; the margin is a setting") {
        scheduler::MatchOptions options;
        options.now_us = kNowUs;
        options.maintenance_margin_s = 60;
        auto long_task = with_timeout(7200.0);
        auto short_task = with_timeout(60.0);
        short_task.id = 2;
        auto untimed = spec(3, 1, 64);
        auto another_long = with_timeout(7200.0);
        another_long.id = 4;
        const auto r =
            match(offers(kHourUs / 2, 0), {long_task, short_task, untimed, another_long}, options);
        const auto where = placements(r);
        REQUIRE(where.size() == 4);
        CHECK(where.at(0) == "z");
        CHECK(where.at(1) == "m");
        CHECK(where.at(2) == "m");
        CHECK(where.at(3) == "z");
    }
    SECTION("with only announcing agents, a task that would run into maintenance waits") {
        scheduler::MatchOptions options;
        options.now_us = kNowUs;
        auto only_m = offers(kHourUs / 2, 0);
        only_m.pop_back();
        const auto r = match(only_m, {spec(1, 1, 64)}, options);
        CHECK(r.plans.empty());
        CHECK(r.unused_offer_ids == std::vector<std::string>{"om"});
    }
}
