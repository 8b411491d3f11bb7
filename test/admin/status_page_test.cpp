// The status page's HTML: the escaper, the query, the shares, and what the
// pages show for plain values (no database, no server); and the routes
// against a database that does not answer.
#include "mesoflow/admin/status_page.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "mesoflow/admin/status_routes.hpp"
#include "process.hpp"

using mesoflow::admin::html_escape;
using mesoflow::admin::parse_status_query;
using mesoflow::admin::url_decode;
using mesoflow::admin::url_encode;
using mesoflow::task::TaskState;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000'000;  // 2027-01-15 08:00:00Z

mesoflow::store::QueueSummary queue(const std::string& name, double weight,
                                    std::optional<int> max_running, double cpus, double mem) {
    mesoflow::store::QueueSummary q;
    q.settings.name = name;
    q.settings.weight = weight;
    q.settings.max_running = max_running;
    q.configured = true;
    q.cpus = cpus;
    q.mem_mb = mem;
    return q;
}

mesoflow::store::TaskRow task_row(std::int64_t id, const std::string& key, TaskState state) {
    mesoflow::store::TaskRow t;
    t.id = id;
    t.key = key;
    t.state = state;
    t.attempt = 1;
    t.max_attempts = 3;
    t.queue = "default";
    t.created_at_us = kNow - 60'000'000;
    t.updated_at_us = kNow - 5'000'000;
    return t;
}

}  // namespace

TEST_CASE("html_escape: markup, quotes, controls and bad UTF-8") {
    struct Case {
        std::string in;
        std::string out;
    };
    const std::vector<Case> cases = {
        {"plain-key_1.0", "plain-key_1.0"},
        {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"a&b", "a&amp;b"},
        {"say \"hi\" it's", "say &quot;hi&quot; it&#39;s"},
        {"line\nnext\r\tx", "line\\nnext\\r\\tx"},
        {std::string("nul\0end", 7), "nul\\x00end"},
        {"\x1b[31mred", "\\x1b[31mred"},
        {"del\x7f", "del\\x7f"},
        {"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"},
        {"bad\xff\xfe", "bad&#xFFFD;&#xFFFD;"},
        {"cut\xe2\x82", "cut&#xFFFD;&#xFFFD;"},
        {"c1\xc2\x85", "c1\\u0085"},
        {"rtl\xe2\x80\xae", "rtl\\u202e"},
        {"", ""},
    };
    for (const auto& c : cases) {
        INFO(c.in);
        CHECK(html_escape(c.in) == c.out);
    }
}

TEST_CASE("url_encode keeps only unreserved bytes, url_decode reverses it") {
    struct Case {
        std::string in;
        std::string out;
    };
    const std::vector<Case> cases = {
        {"abc-1.2_x~", "abc-1.2_x~"},          {"a b&c=d", "a%20b%26c%3Dd"},
        {"<script>\"'", "%3Cscript%3E%22%27"}, {"caf\xc3\xa9", "caf%C3%A9"},
        {"#?/%+", "%23%3F%2F%25%2B"},
    };
    for (const auto& c : cases) {
        INFO(c.in);
        CHECK(url_encode(c.in) == c.out);
        const auto back = url_decode(c.out);
        REQUIRE(back);
        CHECK(*back == c.in);
    }
    CHECK(*url_decode("a+b") == "a b");
    CHECK_FALSE(url_decode("%"));
    CHECK_FALSE(url_decode("%4"));
    CHECK_FALSE(url_decode("%zz"));
}

TEST_CASE("the status query: states, key prefix, queue, limit, and what is refused") {
    auto q =
        parse_status_query("state=running,failed&state=pending&key=etl%2F&queue=heavy&limit=7");
    REQUIRE(q);
    CHECK(q->states ==
          std::vector<TaskState>{TaskState::running, TaskState::failed, TaskState::pending});
    CHECK(q->key_prefix == "etl/");
    CHECK(q->queue == "heavy");
    CHECK(q->limit == 7);

    auto empty = parse_status_query("");
    REQUIRE(empty);
    CHECK(empty->limit == 50);
    CHECK(empty->states.empty());
    // A submitted empty form keeps the defaults.
    auto blank = parse_status_query("state=&key=&queue=&limit=");
    REQUIRE(blank);
    CHECK(blank->limit == 50);

    struct Bad {
        std::string query;
        std::string says;
    };
    const std::vector<Bad> bad = {
        {"limit=0", "limit must be a whole number from 1 to 500"},
        {"limit=501", "limit must be a whole number from 1 to 500"},
        {"limit=ten", "limit must be a whole number from 1 to 500"},
        {"state=sleeping", "unknown task state \"sleeping\""},
        {"colour=red", "unknown query parameter \"colour\""},
        {"key=%zz", "malformed"},
    };
    for (const auto& b : bad) {
        INFO(b.query);
        auto r = parse_status_query(b.query);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains(b.says));
    }
}

TEST_CASE("a queue's share is its dominant share of what is placed, next to its weight's share") {
    const std::vector<mesoflow::store::QueueSummary> queues = {
        queue("heavy", 3, std::nullopt, 3, 100),  // cpus 3/4, mem 100/400
        queue("light", 1, 2, 1, 300),             // cpus 1/4, mem 300/400
    };
    const auto shares = mesoflow::admin::queue_shares(queues);
    REQUIRE(shares.size() == 2);
    CHECK(shares[0].placed == Approx(0.75));
    CHECK(shares[1].placed == Approx(0.75));
    CHECK(shares[0].weight == Approx(0.75));
    CHECK(shares[1].weight == Approx(0.25));
    const auto idle = mesoflow::admin::queue_shares({queue("idle", 1, std::nullopt, 0, 0)});
    CHECK(idle[0].placed == 0);
    CHECK(idle[0].weight == 1);
}

TEST_CASE("the framework is read from the runtime's state JSON") {
    auto f = mesoflow::admin::parse_framework(
        R"({"framework_id":"fw-7","framework_name":"mesoflow","identity":"host:1","master":"m:5050",)"
        R"("master_detection":"zookeeper","zookeeper":{"url":"zk://z:2181/mesos"},)"
        R"("leadership":{"role":"leader","leader":"host:1","leader_since_us":5},)"
        R"("subscribed":true,"subscribed_since_us":6,"suppressed":true,"database_up":true,)"
        R"("offers_held":2})");
    REQUIRE(f);
    CHECK(f->framework_id == "fw-7");
    CHECK(f->leader == "host:1");
    CHECK(f->leader_since_us == 5);
    CHECK(f->zookeeper == "zk://z:2181/mesos");
    CHECK(f->subscribed_since_us == 6);
    CHECK(f->suppressed);
    CHECK(f->offers_held == 2);
    CHECK_FALSE(mesoflow::admin::parse_framework("not json"));
}

TEST_CASE("the status page shows the framework, the queues and the tasks, escaped") {
    mesoflow::admin::StatusData data;
    mesoflow::admin::FrameworkView f;
    f.framework_id = "fw-1234";
    f.leader = "host-a:42";
    f.master = "127.0.0.1:5050";
    f.master_detection = "list";
    f.subscribed = true;
    f.subscribed_since_us = kNow - 300'000'000;
    f.suppressed = false;
    f.database_up = true;
    data.framework = f;
    auto heavy = queue("heavy", 3, 4, 2, 128);
    heavy.running = 4;
    heavy.pending = 9;
    data.queues = {heavy, queue("light<b>", 1, std::nullopt, 0, 0)};
    data.reasons = {{"heavy", "in_line", 2}, {"heavy", "queue_at_max_running", 7}};
    auto t = task_row(17, "<script>alert(1)</script>", TaskState::running);
    t.message = "quote \" and \x1b control";
    t.hostname = "agent'1";
    data.tasks = {t, task_row(16, "etl/a b", TaskState::finished)};
    const auto html = mesoflow::admin::render_status_page(data, {}, kNow);

    CHECK_THAT(html, Catch::Contains("fw-1234") && Catch::Contains("host-a:42") &&
                         Catch::Contains("127.0.0.1:5050") &&
                         Catch::Contains("from the configured list") &&
                         Catch::Contains("since <time>2027-01-15 07:55:00Z</time> (5m ago)"));
    // Queues: depth, the cap, shares and the top reason first.
    CHECK_THAT(html, Catch::Contains("<td class=\"n\">4 / 4</td>") &&
                         Catch::Contains("<td class=\"n\">3 (75%)</td>") &&
                         Catch::Contains("queue_at_max_running (7), in_line (2)") &&
                         Catch::Contains("light&lt;b&gt;") && !Catch::Contains("light<b>"));
    // The key, the message and the hostname are text, in links %-encoded.
    CHECK_THAT(html,
               Catch::Contains("&lt;script&gt;alert(1)&lt;/script&gt;") &&
                   !Catch::Contains("<script>alert") &&
                   Catch::Contains("/status/task?key=%3Cscript%3Ealert%281%29%3C%2Fscript%3E") &&
                   Catch::Contains("quote &quot; and \\x1b control") &&
                   Catch::Contains("agent&#39;1") &&
                   Catch::Contains("/status/task?key=etl%2Fa%20b"));
    // The one script is the reload; the page needs no other asset.
    CHECK_THAT(html, Catch::Contains("location.reload()") && !Catch::Contains(" src=") &&
                         !Catch::Contains("<link"));
}

TEST_CASE("a queue counted only up to the cap shows its pending counts as lower bounds") {
    mesoflow::admin::StatusData data;
    auto deep = queue("deep", 1, std::nullopt, 0, 0);
    deep.pending = 99990;
    deep.backoff = 10;
    deep.capped = true;
    auto shallow = queue("shallow", 1, std::nullopt, 0, 0);
    shallow.pending = 7;
    data.queues = {deep, shallow};
    const auto html = mesoflow::admin::render_status_page(data, {}, kNow);
    CHECK_THAT(html, Catch::Contains("<td class=\"n\">99990+</td><td class=\"n\">10+</td>") &&
                         Catch::Contains("<td class=\"n\">7</td><td class=\"n\">0</td>"));
}

TEST_CASE("the status page says when the database did not answer") {
    mesoflow::admin::StatusData data;
    data.database_error = "cannot connect to PostgreSQL: <refused>";
    const auto html = mesoflow::admin::render_status_page(data, {}, kNow);
    CHECK_THAT(html, Catch::Contains("The database did not answer: cannot connect to PostgreSQL: "
                                     "&lt;refused&gt;"));
    CHECK_THAT(html, Catch::Contains("The runtime's state could not be read."));
}

TEST_CASE("the filter form keeps the query, escaped") {
    mesoflow::admin::StatusQuery q;
    q.states = {TaskState::running, TaskState::failed};
    q.key_prefix = "\"><script>";
    q.queue = "heavy";
    q.limit = 20;
    const auto html = mesoflow::admin::render_status_page({}, q, kNow);
    CHECK_THAT(html, Catch::Contains("name=\"state\" value=\"running,failed\"") &&
                         Catch::Contains("name=\"key\" value=\"&quot;&gt;&lt;script&gt;\"") &&
                         Catch::Contains("name=\"limit\" value=\"20\""));
}

TEST_CASE("a task's page shows its columns, why it waits, its attempts and its history") {
    mesoflow::admin::TaskPageData data;
    data.task = task_row(5, "k\"ey\n1", TaskState::pending);
    data.task.argv = {"echo", "<b>bold</b>"};
    data.task.attempt = 2;
    data.pending = mesoflow::store::PendingReason{"retry_backoff", "until <later>"};
    mesoflow::store::HistoryEntry launch;
    launch.id = 1;
    launch.recorded_at_us = kNow - 50'000'000;
    launch.kind = "launch";
    launch.attempt = 1;
    launch.mesos_task_id = "5-1";
    launch.agent_id = "agent-<1>";
    launch.from_state = "pending";
    launch.to_state = "launching";
    auto failed = launch;
    failed.id = 2;
    failed.kind = "update";
    failed.mesos_state = "TASK_FAILED";
    failed.outcome = "applied";
    failed.from_state = "running";
    failed.to_state = "failed";
    failed.message = "exit 1 & <stderr>";
    data.history = {launch, failed};
    const auto html = mesoflow::admin::render_task_page(data, kNow);
    CHECK_THAT(html, Catch::Contains("k&quot;ey\\n1") &&
                         Catch::Contains("<code>echo &#39;&lt;b&gt;bold&lt;/b&gt;&#39;</code>") &&
                         Catch::Contains("retry_backoff</span>: until &lt;later&gt;") &&
                         Catch::Contains("2 of 3"));
    CHECK_THAT(html, Catch::Contains("TASK_FAILED") && Catch::Contains("running → failed") &&
                         Catch::Contains("exit 1 &amp; &lt;stderr&gt;") &&
                         Catch::Contains("agent-&lt;1&gt;") && !Catch::Contains("<stderr>"));
    // The attempts table: attempt 1 ended failed.
    CHECK_THAT(html, Catch::Contains("<td class=\"n\">1</td><td><time>2027-01-15 07:59:10Z</time> "
                                     "(50s ago)</td><td class=\"mono\">5-1</td>"));
}

TEST_CASE("the routes answer 400 for a bad query and say when the database does not answer") {
    // Nothing listens on this port: every read fails at once.
    const int port = mesoflow::testing::free_loopback_port();
    mesoflow::admin::StatusRoutes routes(
        "host=127.0.0.1 port=" + std::to_string(port) + " dbname=none user=none",
        [] { return std::string(R"({"framework_id":"fw-9"})"); }, [] { return kNow; });
    CHECK_FALSE(routes.serve("/other", ""));
    const auto started = std::chrono::steady_clock::now();
    auto page = routes.serve("/status", "");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->content_type == "text/html; charset=utf-8");
    CHECK_THAT(page->body,
               Catch::Contains("The database did not answer") && Catch::Contains("fw-9"));
    auto task = routes.serve("/status/task", "key=x");
    REQUIRE(task);
    CHECK(task->status == 503);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));

    auto bad = routes.serve("/status", "limit=1000");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK_THAT(bad->body, Catch::Contains("limit must be a whole number from 1 to 500"));
    auto nokey = routes.serve("/status/task", "");
    REQUIRE(nokey);
    CHECK(nokey->status == 400);
}
