// Tasks no agent can hold, queued ahead of small ones: the small ones run;
// the big ones say why on their rows, and end when unplaceable_timeout is set.
#include <catch2/catch.hpp>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"

using namespace std::chrono_literals;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
namespace store = mesoflow::store;

namespace {

constexpr int kBig = 400;  // more than the launch window's room (320)
constexpr int kSmall = 20;

void submit_big_then_small(Cluster& c) {
    for (int i = 0; i < kBig; ++i) {
        store::NewTask t;
        t.key = "big" + std::to_string(i);
        t.command = "true";
        t.cpus = 64;  // the fake agents have 8
        t.mem_mb = 32;
        t.priority = 10;
        c.submit(t);
    }
    for (int i = 0; i < kSmall; ++i) {
        store::NewTask t;
        t.key = "small" + std::to_string(i);
        t.command = "true";
        t.cpus = 0.1;
        t.mem_mb = 32;
        c.submit(t);
    }
}

const char* const kBigNoted =
    "SELECT count(*) FROM mesoflow.tasks WHERE key LIKE 'big%' AND state = 'launching'"
    " AND reason = 'unplaceable' AND message LIKE 'needs cpus 64, largest offer 8, in the offers"
    " of _ agent%'";

}  // namespace

TEST_CASE(
    "tasks no agent can hold, ahead of small ones in priority, block none of them; their rows "
    "say why once unplaceable_after passes") {
    // Declared first: the runtime reads it until it stops.
    mesoflow::runtime::ManualTime clock;
    Cluster c;
    c.seams().time = &clock;
    c.config().unplaceable_after_s = 300;
    submit_big_then_small(c);
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == kSmall; }));
    store::testing::Sql sql(c.dsn());
    // The time has not passed: no reason yet, the big ones wait claimed.
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE reason = 'unplaceable'") == 0);
    CHECK(c.count_in(TaskState::launching) == kBig);
    clock.advance(300s);
    REQUIRE(c.eventually([&] { return sql.count(kBigNoted) == kBig; }));
    const auto row = c.task("big0");
    CHECK(row.state == TaskState::launching);
    CHECK(row.reason == "unplaceable");
    CHECK_THAT(row.message,
               Catch::Matches("needs cpus 64, largest offer 8, in the offers of [1-3] agents?"));
    CHECK(c.count_in(TaskState::failed) == 0);  // no unplaceable_timeout: they wait
}

TEST_CASE("with unplaceable_timeout set, tasks no agent can hold end failed, reason unplaceable") {
    mesoflow::runtime::ManualTime clock;
    Cluster c;
    c.seams().time = &clock;
    c.config().unplaceable_after_s = 300;
    c.config().unplaceable_timeout_s = 3600;
    submit_big_then_small(c);
    c.start();
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == kSmall; }));
    store::testing::Sql sql(c.dsn());
    clock.advance(300s);
    REQUIRE(c.eventually([&] { return sql.count(kBigNoted) == kBig; }));
    CHECK(c.count_in(TaskState::failed) == 0);
    clock.advance(3300s);
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::failed) == kBig; }));
    const auto row = c.task("big0");
    CHECK(row.reason == "unplaceable");
    CHECK_THAT(row.message,
               Catch::Matches("needs cpus 64, largest offer 8, in the offers of [1-3] agents?"));
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE key LIKE 'big%' AND attempt = 0") ==
          kBig);  // never reached Mesos: no attempt counted
    CHECK(sql.count("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'refused'"
                    " AND reason = 'unplaceable'") == kBig);
    CHECK(c.count_in(TaskState::launching) == 0);
}
