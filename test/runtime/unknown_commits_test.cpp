// Database writes whose COMMIT went through and whose answer was lost, end to
// end, through a proxy that cuts the answer (pg_proxy.hpp): mesoflow cannot
// know the claim or placement committed, and gives back what no ACCEPT named.
// Nothing is left launching with no one to place it, and no attempt is
// charged for a launch that never reached Mesos.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"
#include "pg_proxy.hpp"

using namespace std::chrono_literals;
using mesoflow::store::testing::Sql;
using mesoflow::task::TaskState;
using mesoflow::testing::Cluster;
using mesoflow::testing::PgProxy;
using mesoflow::testing::TempPostgres;

namespace {

// Every connection of the runtime goes through `proxy`.
void through(Cluster& c, const PgProxy& proxy) {
    c.config().database =
        c.dsn() + " host=127.0.0.1 port=" + std::to_string(proxy.port()) + " sslmode=disable";
}

mesoflow::store::NewTask once(const std::string& key, const std::string& queue = "") {
    auto t = mesoflow::testing::shell_task(key, "true");
    t.max_attempts = 1;
    t.queue = queue;
    return t;
}

// The Mesos task ids the master was asked to launch, in order.
std::vector<std::string> launched(Cluster& c) {
    std::vector<std::string> ids;
    for (const auto& call : c.master().calls_of_type("ACCEPT")) {
        const auto body = nlohmann::json::parse(call.body);
        for (const auto& op : body["accept"]["operations"]) {
            if (op["type"] == "LAUNCH") {
                for (const auto& info : op["launch"]["task_infos"])
                    ids.push_back(info["task_id"]["value"].get<std::string>());
            }
        }
    }
    return ids;
}

}  // namespace

TEST_CASE(
    "a claim whose commit answer is lost leaves no task launching unheld: a queue capped at "
    "one runs all its tasks") {
    Cluster c;
    PgProxy proxy(TempPostgres::shared().port(), "no-application-is-held", "claim_window");
    through(c, proxy);
    Sql sql(c.dsn());
    sql.exec("INSERT INTO mesoflow.queues (name, max_running) VALUES ('one', 1)");
    for (const auto* key : {"a-1", "a-2", "a-3"})
        c.submit(once(key, "one"));
    c.start();
    REQUIRE(c.eventually([&] { return proxy.cuts() == 1; }));
    REQUIRE(c.eventually([&] { return c.count_in(TaskState::finished) == 3; }, 60s));
    // Each ran once, at its first attempt.
    CHECK(sql.count("SELECT count(*) FROM mesoflow.tasks WHERE attempt = 1") == 3);
    CHECK(launched(c).size() == 3);
    CHECK(c.stop() == 0);
}

TEST_CASE(
    "a placement whose commit answer is lost is given back and launched once, at the same "
    "attempt, not charged as lost") {
    Cluster c;
    PgProxy proxy(TempPostgres::shared().port(), "no-application-is-held", "place_attempts");
    through(c, proxy);
    // A launch timeout short enough that a placement left on its agent with
    // no ACCEPT would end the task lost within the test.
    c.config().launch_timeout_s = 3;
    const auto id = c.submit(once("placed-once"));
    c.start();
    REQUIRE(c.eventually([&] { return proxy.cuts() == 1; }));
    REQUIRE(c.eventually([&] { return c.task("placed-once").state == TaskState::finished; }, 60s));
    CHECK(c.task("placed-once").attempt == 1);
    const auto ids = launched(c);
    REQUIRE(ids.size() == 1);
    CHECK(ids[0] == "mf-" + std::to_string(id) + "-1");
    CHECK(c.stop() == 0);
}
