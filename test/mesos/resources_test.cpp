#include "mesoflow/mesos/resources.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace mesoflow::mesos;

namespace {

Resource scalar(const std::string& name, double value, std::optional<std::string> alloc = {}) {
    Resource r;
    r.name = name;
    r.type = ValueType::scalar;
    r.scalar = value;
    if (alloc)
        r.allocation_info = AllocationInfo{alloc};
    return r;
}

Resource ports(std::vector<Range> ranges, std::optional<std::string> alloc = {}) {
    Resource r;
    r.name = "ports";
    r.type = ValueType::ranges;
    r.ranges = std::move(ranges);
    if (alloc)
        r.allocation_info = AllocationInfo{alloc};
    return r;
}

Resource set(const std::string& name, std::vector<std::string> items) {
    Resource r;
    r.name = name;
    r.type = ValueType::set;
    r.set = std::move(items);
    return r;
}

Resource reserved(Resource r, const std::string& role) {
    r.reservations = {ReservationInfo{ReservationType::dynamic, role, "p", {}}};
    return r;
}

Resource volume(const std::string& id, double mb) {
    Resource r = scalar("disk", mb);
    r.disk = DiskInfo{};
    r.disk->persistence = DiskInfo::Persistence{id, std::nullopt};
    r.disk->volume = DiskInfo::Volume{VolumeMode::rw, "data", std::nullopt};
    return r;
}

Resource mount_disk(double mb) {
    Resource r = scalar("disk", mb);
    r.disk = DiskInfo{};
    r.disk->source = DiskInfo::Source{DiskSourceType::mount, "/mnt/d1", std::nullopt, std::nullopt,
                                      std::nullopt};
    return r;
}

std::vector<Resource> offer() {
    return {scalar("cpus", 4, "web"), scalar("mem", 1024, "web"), scalar("disk", 2048, "web"),
            ports({{31000, 31009}, {32000, 32000}}, "web")};
}

}  // namespace

TEST_CASE("scalars are compared and summed in thousandths, as Mesos does") {
    CHECK(to_milli(0.1) == 100);
    CHECK(to_milli(0.0005) == 1);
    CHECK(to_milli(0.0004) == 0);
    CHECK(to_milli(-0.0015) == -2);
    CHECK(scalar_equal(0.1 + 0.2, 0.3));
    CHECK(scalar_equal(1.0001, 1.0));
    CHECK_FALSE(scalar_equal(1.001, 1.0));
    CHECK(scalar_less_equal(0.30000000000000004, 0.3));
    CHECK(to_milli(std::numeric_limits<double>::infinity()) == INT64_MAX);
    CHECK(to_milli(std::nan("")) == 0);

    std::vector<Resource> rs;
    for (int i = 0; i < 10; ++i)
        add(rs, scalar("cpus", 0.1));
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].scalar == 1.0);
    CHECK(scalar_sum(rs, "cpus") == 1.0);
    for (int i = 0; i < 10; ++i)
        REQUIRE(subtract(rs, scalar("cpus", 0.1)));
    CHECK(rs.empty());
}

TEST_CASE("resources combine only when name, type, role, reservations and allocation match") {
    const Resource base = scalar("cpus", 1, "web");
    Resource other_role = base;
    other_role.role = "batch";
    Resource star_role = base;
    star_role.role = "*";
    Resource other_alloc = scalar("cpus", 1, "batch");
    Resource no_alloc = scalar("cpus", 1);
    Resource refined = reserved(base, "web");
    Resource legacy_dynamic = base;
    legacy_dynamic.reservation = ReservationInfo{std::nullopt, std::nullopt, "p", {}};
    Resource revocable = base;
    revocable.revocable = true;
    Resource provider = base;
    provider.provider_id = "rp";
    Resource other_name = scalar("gpus", 1, "web");

    CHECK(combinable(base, base));
    CHECK(combinable(base, star_role));  // an unset legacy role is "*"
    for (const Resource* r : {&other_role, &other_alloc, &no_alloc, &refined, &legacy_dynamic,
                              &revocable, &provider, &other_name}) {
        CHECK_FALSE(combinable(base, *r));
        std::vector<Resource> rs{base};
        add(rs, *r);
        CHECK(rs.size() == 2);
        CHECK_FALSE(contains(std::vector<Resource>{base}, *r));
    }
}

TEST_CASE("add, subtract and contains on a whole offer") {
    std::vector<Resource> left = offer();
    const std::vector<Resource> task = {scalar("cpus", 1.5, "web"), scalar("mem", 512, "web"),
                                        ports({{31000, 31001}}, "web")};
    CHECK(contains(left, task));
    REQUIRE(subtract(left, task));
    CHECK(scalar_sum(left, "cpus") == 2.5);
    CHECK(scalar_sum(left, "mem") == 512);
    CHECK(range_count(left, "ports") == 9);
    CHECK_FALSE(subtract(left, task));  // its ports are gone
    const std::vector<Resource> task2 = {scalar("cpus", 1.5, "web"), scalar("mem", 512, "web"),
                                         ports({{31002, 31003}}, "web")};
    REQUIRE(subtract(left, task2));
    CHECK(scalar_sum(left, "mem") == 0);
    CHECK(scalar_sum(left, "cpus") == 1.0);
    for (const auto& r : left)
        CHECK(r.name != "mem");  // emptied entries are removed

    CHECK_FALSE(contains(left, task));
    const auto before = left;
    CHECK_FALSE(subtract(left, task));
    CHECK(left == before);  // a failed subtract changes nothing

    add(left, task);
    add(left, task2);
    CHECK(scalar_sum(left, "cpus") == 4);
    CHECK(scalar_sum(left, "mem") == 1024);
    CHECK(range_count(left, "ports") == 11);
    CHECK(contains(left, offer()));
    CHECK(contains(offer(), left));
}

TEST_CASE("contains takes wants one after another, so two wants cannot share a port") {
    const std::vector<Resource> have = {ports({{31000, 31001}}), scalar("cpus", 1)};
    CHECK(contains(have, std::vector<Resource>{ports({{31000, 31000}}), ports({{31001, 31001}})}));
    CHECK_FALSE(
        contains(have, std::vector<Resource>{ports({{31000, 31000}}), ports({{31000, 31000}})}));
    CHECK(contains(have, std::vector<Resource>{scalar("cpus", 0.5), scalar("cpus", 0.5)}));
    CHECK_FALSE(contains(have, std::vector<Resource>{scalar("cpus", 0.5), scalar("cpus", 0.501)}));
    std::vector<Resource> copy = have;
    CHECK_FALSE(
        subtract(copy, std::vector<Resource>{ports({{31000, 31000}}), ports({{31000, 31000}})}));
    CHECK(copy == have);
}

TEST_CASE("reserved resources are only taken by wants with the same reservation") {
    const std::vector<Resource> have = {reserved(scalar("cpus", 2, "web"), "web"),
                                        scalar("cpus", 1, "web")};
    CHECK(contains(have, reserved(scalar("cpus", 2, "web"), "web")));
    CHECK_FALSE(contains(have, scalar("cpus", 2, "web")));
    CHECK(scalar_sum(have, "cpus") == 3);
}

TEST_CASE("sets add as unions and subtract item by item") {
    std::vector<Resource> rs{set("gpus_ids", {"a", "b"})};
    add(rs, set("gpus_ids", {"b", "c"}));
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].set == std::vector<std::string>{"a", "b", "c"});
    CHECK(contains(rs, set("gpus_ids", {"c", "a"})));
    CHECK_FALSE(contains(rs, set("gpus_ids", {"d"})));
    REQUIRE(subtract(rs, set("gpus_ids", {"a", "b"})));
    CHECK(rs[0].set == std::vector<std::string>{"c"});
    REQUIRE(subtract(rs, set("gpus_ids", {"c"})));
    CHECK(rs.empty());
}

TEST_CASE("persistent volumes and mount disks are indivisible") {
    std::vector<Resource> rs;
    add(rs, volume("v1", 100));
    add(rs, volume("v1", 100));
    CHECK(rs.size() == 2);  // two volumes never merge
    add(rs, mount_disk(500));
    CHECK(is_indivisible(rs[2]));
    CHECK_FALSE(contains(rs, mount_disk(100)));  // a mount disk is taken whole
    CHECK(contains(rs, mount_disk(500)));
    CHECK(contains(rs, std::vector<Resource>{volume("v1", 100), volume("v1", 100)}));
    CHECK_FALSE(contains(
        rs, std::vector<Resource>{volume("v1", 100), volume("v1", 100), volume("v1", 100)}));
    CHECK_FALSE(contains(rs, volume("v1", 50)));
    REQUIRE(subtract(rs, mount_disk(500)));
    REQUIRE(subtract(rs, volume("v1", 100)));
    CHECK(rs.size() == 1);
    CHECK_FALSE(is_indivisible(scalar("disk", 1)));
}

TEST_CASE("empty resources are ignored by add and always contained") {
    std::vector<Resource> rs;
    add(rs, scalar("cpus", 0));
    add(rs, scalar("cpus", 0.0004));
    add(rs, ports({}));
    add(rs, ports({{5, 4}}));
    add(rs, set("s", {}));
    CHECK(rs.empty());
    CHECK(contains(rs, scalar("cpus", 0)));
    CHECK(subtract(rs, ports({})));
}

TEST_CASE("range normalization sorts, merges overlapping and adjacent ranges, drops bad ones") {
    struct Case {
        std::vector<Range> in;
        std::vector<Range> out;
    };
    const Case cases[] = {
        {{}, {}},
        {{{5, 4}}, {}},
        {{{3, 4}, {1, 2}}, {{1, 4}}},
        {{{1, 5}, {2, 3}}, {{1, 5}}},
        {{{1, 2}, {4, 5}}, {{1, 2}, {4, 5}}},
        {{{10, 20}, {0, 0}, {15, 30}, {31, 31}}, {{0, 0}, {10, 31}}},
        {{{0, UINT64_MAX}, {5, 6}}, {{0, UINT64_MAX}}},
        {{{UINT64_MAX, UINT64_MAX}, {UINT64_MAX - 1, UINT64_MAX - 1}},
         {{UINT64_MAX - 1, UINT64_MAX}}},
    };
    for (const auto& c : cases) {
        auto r = c.in;
        normalize(r);
        CHECK(r == c.out);
    }
}

TEST_CASE("range containment, union and difference") {
    const std::vector<Range> have = {{31000, 31009}, {31010, 31020}, {32000, 32000}};
    CHECK(ranges_contain(have, {{31005, 31015}}));  // spans two adjacent ranges
    CHECK(ranges_contain(have, {{32000, 32000}, {31000, 31000}}));
    CHECK(ranges_contain(have, {}));
    CHECK_FALSE(ranges_contain(have, {{31020, 31021}}));
    CHECK_FALSE(ranges_contain(have, {{0, 0}}));
    CHECK_FALSE(ranges_contain({}, {{1, 1}}));

    struct Case {
        std::vector<Range> have;
        std::vector<Range> sub;
        std::vector<Range> out;
    };
    const Case cases[] = {
        {{{1, 10}}, {{1, 10}}, {}},
        {{{1, 10}}, {{3, 4}}, {{1, 2}, {5, 10}}},
        {{{1, 10}}, {{1, 1}}, {{2, 10}}},
        {{{1, 10}}, {{10, 12}}, {{1, 9}}},
        {{{1, 10}, {20, 30}}, {{5, 25}}, {{1, 4}, {26, 30}}},
        {{{1, 10}}, {{3, 4}, {6, 7}}, {{1, 2}, {5, 5}, {8, 10}}},
        {{{1, 10}}, {{11, 20}}, {{1, 10}}},
        {{{0, UINT64_MAX}}, {{0, 0}, {UINT64_MAX, UINT64_MAX}}, {{1, UINT64_MAX - 1}}},
    };
    for (const auto& c : cases) {
        auto r = c.have;
        ranges_subtract(r, c.sub);
        CHECK(r == c.out);
    }
    std::vector<Range> u = {{1, 2}};
    ranges_add(u, {{3, 3}, {10, 12}, {11, 15}});
    CHECK(u == std::vector<Range>{{1, 3}, {10, 15}});
    CHECK(count(u) == 9);
}

TEST_CASE("choosing N ports takes the lowest values across ranges") {
    struct Case {
        std::vector<Range> offered;
        std::uint64_t n;
        std::optional<std::vector<Range>> chosen;
    };
    const Case cases[] = {
        {{{31000, 32000}}, 1, std::vector<Range>{{31000, 31000}}},
        {{{31000, 32000}}, 3, std::vector<Range>{{31000, 31002}}},
        {{{32000, 32001}, {31000, 31000}}, 2, std::vector<Range>{{31000, 31000}, {32000, 32000}}},
        {{{31000, 31000}, {31001, 31001}}, 2, std::vector<Range>{{31000, 31001}}},
        {{{31000, 31002}}, 3, std::vector<Range>{{31000, 31002}}},
        {{{31000, 31002}}, 4, std::nullopt},
        {{}, 1, std::nullopt},
        {{}, 0, std::vector<Range>{}},
        {{{5, 1}}, 1, std::nullopt},
        {{{0, UINT64_MAX}}, 2, std::vector<Range>{{0, 1}}},
    };
    for (const auto& c : cases) {
        INFO("n=" << c.n);
        CHECK(choose_ports(c.offered, c.n) == c.chosen);
    }
}

TEST_CASE("choosing ports from resources keeps each part's role and allocation") {
    Resource reserved_ports = reserved(ports({{31000, 31001}}, "web"), "web");
    const std::vector<Resource> offered = {scalar("cpus", 1, "web"), reserved_ports,
                                           ports({{40000, 40100}}, "web")};
    auto three = choose_ports(offered, 3);
    REQUIRE(three);
    REQUIRE(three->size() == 2);
    CHECK((*three)[0].ranges == std::vector<Range>{{31000, 31001}});
    CHECK((*three)[0].reservations == reserved_ports.reservations);
    CHECK((*three)[1].ranges == std::vector<Range>{{40000, 40000}});
    CHECK((*three)[1].reservations.empty());
    CHECK((*three)[1].allocation_info == AllocationInfo{"web"});
    CHECK(contains(offered, *three));
    CHECK_FALSE(choose_ports(offered, 104));
    CHECK(choose_ports(offered, 103));
    CHECK(choose_ports(offered, 0)->empty());
    CHECK_FALSE(choose_ports(offered, 1, "other_ports"));
}

TEST_CASE("random add/subtract sequences keep the totals exact") {
    std::mt19937 rng(1234);
    std::vector<Resource> pool;
    std::int64_t cpus = 0;
    std::uint64_t port_count = 0;
    std::vector<std::vector<Resource>> taken;
    for (int step = 0; step < 2000; ++step) {
        if (taken.empty() || rng() % 2 == 0) {
            const std::uint64_t base = 1000 + (rng() % 500) * 10;
            std::vector<Resource> grant = {scalar("cpus", (rng() % 2000) / 1000.0, "r"),
                                           ports({{base, base + rng() % 5}}, "r")};
            bool overlaps = false;
            for (std::uint64_t p = grant[1].ranges[0].begin; p <= grant[1].ranges[0].end; ++p)
                overlaps = overlaps || contains(pool, ports({{p, p}}, "r"));
            if (overlaps)
                continue;  // keep ports disjoint so the count stays exact
            cpus += to_milli(grant[0].scalar);
            port_count += count(grant[1].ranges);
            add(pool, grant);
            taken.push_back(grant);
        } else {
            const std::size_t i = rng() % taken.size();
            REQUIRE(subtract(pool, taken[i]));
            cpus -= to_milli(taken[i][0].scalar);
            port_count -= count(taken[i][1].ranges);
            taken.erase(taken.begin() + static_cast<std::ptrdiff_t>(i));
        }
        REQUIRE(scalar_sum_milli(pool, "cpus") == cpus);
        REQUIRE(range_count(pool, "ports") == port_count);
    }
}
