// The status page as an operator sees it: headless Chromium (Debian's
// chromium package) loads /status and a task's page from the real
// `mesoflow run`, against the fake master and a real PostgreSQL, and the
// test reads the DOM Chromium rendered. A screenshot of /status stays under
// the build folder (MESOFLOW_TEST_OUTPUT_DIR/status-page.png). And the page
// against a database that never answers: /ready, on the same admin thread,
// waits no longer than the page's connect timeout.
#include <httplib.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../store/store_fixture.hpp"
#include "cluster.hpp"
#include "mesoflow/admin/admin_server.hpp"
#include "mesoflow/admin/status_page.hpp"
#include "mesoflow/admin/status_routes.hpp"
#include "pg_proxy.hpp"
#include "process.hpp"
#include "run_checks.hpp"
#include "temp_postgres.hpp"

using namespace std::chrono_literals;
using mesoflow::store::testing::Sql;
using mesoflow::task::TaskState;
using mesoflow::testing::ChildProcess;
using mesoflow::testing::Cluster;
using mesoflow::testing::shell_task;
using mesoflow::testing::sleep_runs_until_killed;
using mesoflow::testing::SpawnOptions;

namespace {

const std::string kScriptKey = "<script>alert(1)</script>";
const std::string kEscapedScriptKey = "&lt;script&gt;alert(1)&lt;/script&gt;";

// Debian's chromium, on PATH or where the package puts it; "" when missing.
std::string find_chromium() {
    std::vector<std::string> candidates;
    if (const char* path = ::getenv("PATH")) {
        std::string rest = path;
        while (!rest.empty()) {
            const auto colon = rest.find(':');
            candidates.push_back(rest.substr(0, colon) + "/chromium");
            rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
        }
    }
    candidates.push_back("/usr/bin/chromium");
    for (const auto& c : candidates) {
        if (::access(c.c_str(), X_OK) == 0)
            return c;
    }
    return "";
}

std::string temp_dir() {
    char dir[] = "/tmp/mesoflow-chromium-XXXXXX";
    if (::mkdtemp(dir) == nullptr)
        throw std::runtime_error("mkdtemp failed");
    return dir;
}

// Runs headless Chromium on `url` with `action` (--dump-dom or
// --screenshot=...); returns what it printed on stdout. Its stderr goes to
// a log beside it, shown when it fails.
std::string chromium(const std::string& binary, const std::string& url, const std::string& action,
                     const std::string& work_dir) {
    const std::string out = work_dir + "/stdout";
    const std::string err = work_dir + "/stderr";
    const std::string profile = work_dir + "/profile";
    SpawnOptions o;
    o.argv = {"/bin/sh",
              "-c",
              "exec \"$0\" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
              "--no-first-run --user-data-dir=\"$1\" --window-size=1280,1400 \"$2\" \"$3\" "
              ">\"$4\" 2>\"$5\"",
              binary,
              profile,
              action,
              url,
              out,
              err};
    o.death_signal = SIGKILL;
    auto child = ChildProcess::spawn(o);
    auto status = child.wait_for(90s);
    if (!status)
        status = child.stop(SIGKILL, 1s);
    INFO("chromium " << action << " " << url << " stderr:\n" << mesoflow::testing::read_file(err));
    REQUIRE(WIFEXITED(*status));
    REQUIRE(WEXITSTATUS(*status) == 0);
    return mesoflow::testing::read_file(out);
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

httplib::Result admin_get(int port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(10, 0);
    return client.Get(path.c_str());
}

}  // namespace

TEST_CASE("headless Chromium renders the status page and a task's page from mesoflow run") {
    const auto started = std::chrono::steady_clock::now();
    const std::string browser = find_chromium();
    if (browser.empty()) {
        FAIL(
            "chromium is not installed: run deploy/install-deps.sh (it installs Debian's "
            "chromium and fonts-dejavu-core)");
    }

    Cluster c(sleep_runs_until_killed(3));
    Sql sql(c.dsn());
    // capped: weight 3, at most 2 running; its tasks sleep until killed, so
    // 2 run and 3 wait at the cap. batch: no row, tasks that finish and one
    // that runs (a queue shows while it has unfinished tasks).
    sql.exec("INSERT INTO mesoflow.queues (name, weight, max_running) VALUES ('capped', 3, 2)");
    for (int i = 1; i <= 5; ++i) {
        auto t = shell_task("capped-" + std::to_string(i), "sleep 600");
        t.queue = "capped";
        c.submit(t);
    }
    for (int i = 1; i <= 3; ++i) {
        auto t = shell_task("batch-" + std::to_string(i), "true");
        t.queue = "batch";
        c.submit(t);
    }
    auto long_batch = shell_task("batch-long", "sleep 600");
    long_batch.queue = "batch";
    c.submit(long_batch);
    auto script = shell_task(kScriptKey, "echo '<b>\"quoted\"</b>' && true");
    script.queue = "batch";
    c.submit(script);

    const int port = mesoflow::testing::free_loopback_port();
    const std::string log_path =
        std::string(MESOFLOW_TEST_OUTPUT_DIR) + "/status-page-mesoflow.log";
    ::unlink(log_path.c_str());
    INFO("mesoflow's log: " << log_path);
    auto run = mesoflow::testing::start_mesoflow(
        c, log_path, {"MESOFLOW_ADMIN_LISTEN=127.0.0.1:" + std::to_string(port)});

    REQUIRE(c.eventually(
        [&] {
            return c.count_in(TaskState::running) == 3 && c.count_in(TaskState::finished) == 4 &&
                   sql.count(
                       "SELECT count(*) FROM mesoflow.pending_reasons WHERE queue = "
                       "'capped' AND reason = 'queue_at_max_running'") == 3;
        },
        90s));
    std::string framework_id;
    REQUIRE(c.eventually(
        [&] {
            auto r = admin_get(port, "/state");
            if (!r || r->status != 200)
                return false;
            const auto j = nlohmann::json::parse(r->body, nullptr, false);
            if (!j.is_object() || !j.value("subscribed", false) || !j["framework_id"].is_string())
                return false;
            framework_id = j["framework_id"].get<std::string>();
            return !framework_id.empty();
        },
        30s));

    const std::string work = temp_dir();
    const std::string base = "http://127.0.0.1:" + std::to_string(port);

    // The overview.
    const auto dom = chromium(browser, base + "/status", "--dump-dom", work);
    INFO("DOM of /status:\n" << dom);
    CHECK_THAT(dom, Catch::Contains("<h1>mesoflow status</h1>") &&
                        Catch::Contains("<code id=\"framework-id\">" + framework_id + "</code>"));
    CHECK_THAT(dom, Catch::Contains("from the configured list") &&
                        Catch::Contains("<span class=\"ok\">since <time>"));
    // capped: 2 running against max_running 2, 3 waiting at the cap, its
    // weight 3 of 4, 1 of the 1.5 cpus placed; batch: 1 running, no cap.
    CHECK_THAT(dom, Catch::Contains("<tr data-queue=\"capped\">") &&
                        Catch::Contains("<td class=\"n\">2 / 2</td>") &&
                        Catch::Contains("<td class=\"n\">3 (75%)</td>") &&
                        Catch::Contains("<td class=\"n\">67%</td>") &&
                        Catch::Contains("queue_at_max_running (3)"));
    CHECK_THAT(dom, Catch::Contains("<tr data-queue=\"batch\">") &&
                        Catch::Contains("<td class=\"n\">1 / no cap</td>"));
    // The key is text: escaped in the DOM, with no script element of its
    // own (the only one is the page's reload).
    CHECK_THAT(dom, Catch::Contains(kEscapedScriptKey) && !Catch::Contains(kScriptKey));
    CHECK(occurrences(dom, "<script") == 1);
    CHECK_THAT(dom, Catch::Contains("location.reload()"));
    CHECK(occurrences(dom, "<td class=\"state-finished\">finished</td>") == 4);
    CHECK(occurrences(dom, "<td class=\"state-running\">running</td>") == 3);

    // The filters: capped's running tasks only.
    const auto filtered =
        chromium(browser, base + "/status?queue=capped&state=running", "--dump-dom", work);
    INFO("DOM of the filtered /status:\n" << filtered);
    CHECK(occurrences(filtered, "<td class=\"state-running\">running</td>") == 2);
    CHECK_THAT(filtered, !Catch::Contains("state-finished") && !Catch::Contains("state-pending") &&
                             Catch::Contains("name=\"queue\" value=\"capped\""));

    // The task with the hostile key: its page, reached by its %-encoded link.
    const auto task_dom =
        chromium(browser, base + "/status/task?key=" + mesoflow::admin::url_encode(kScriptKey),
                 "--dump-dom", work);
    INFO("DOM of the task's page:\n" << task_dom);
    CHECK_THAT(task_dom, Catch::Contains("<span class=\"mono\" id=\"task-key\">" +
                                         kEscapedScriptKey + "</span>") &&
                             !Catch::Contains(kScriptKey));
    CHECK(occurrences(task_dom, "<script") == 1);
    CHECK_THAT(task_dom, Catch::Contains("&lt;b&gt;&quot;quoted&quot;&lt;/b&gt;") ||
                             Catch::Contains("&lt;b&gt;\"quoted\"&lt;/b&gt;"));
    CHECK_THAT(task_dom, Catch::Contains("<table id=\"history\">") &&
                             Catch::Contains("TASK_FINISHED") && Catch::Contains("launch") &&
                             Catch::Contains("<table id=\"attempts\">"));

    // A task waiting at its queue's cap says why.
    const std::string waiting_key = sql.one(
        "SELECT key FROM mesoflow.pending_reasons WHERE queue = 'capped'"
        " AND reason = 'queue_at_max_running' ORDER BY id LIMIT 1");
    const auto waiting_dom =
        chromium(browser, base + "/status/task?key=" + waiting_key, "--dump-dom", work);
    INFO("DOM of " << waiting_key << "'s page:\n" << waiting_dom);
    CHECK_THAT(waiting_dom, Catch::Contains("<span id=\"pending-reason\">queue_at_max_running"));

    // An unknown key is a 404 page.
    const auto missing = admin_get(port, "/status/task?key=nope");
    REQUIRE(missing);
    CHECK(missing->status == 404);

    // The screenshot, kept under the build folder.
    const std::string png = std::string(MESOFLOW_TEST_OUTPUT_DIR) + "/status-page.png";
    ::unlink(png.c_str());
    chromium(browser, base + "/status", "--screenshot=" + png, work);
    struct stat st {};
    REQUIRE(::stat(png.c_str(), &st) == 0);
    CHECK(st.st_size > 10000);
    std::cout << "status page screenshot: " << png << "\n";

    run.signal(SIGTERM);
    CHECK(run.wait_for(30s));
    std::error_code ignored;
    std::filesystem::remove_all(work, ignored);
    std::cout << "status page browser test took "
              << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                  started)
                     .count()
              << " s\n";
}

TEST_CASE("a database that never answers costs /status and /ready at most the connect timeout") {
    // The proxy relays every connection but the status page's, which it
    // accepts and never answers; the DSN asks for no connect timeout.
    mesoflow::testing::PgProxy proxy(mesoflow::testing::TempPostgres::shared().port(),
                                     "mesoflow status page");
    mesoflow::testing::ReleaseHeld release(proxy);
    const std::string dsn = "host=127.0.0.1 port=" + std::to_string(proxy.port()) +
                            " dbname=postgres sslmode=disable connect_timeout=0";
    auto routes = std::make_shared<mesoflow::admin::StatusRoutes>(
        dsn, [] { return std::string(R"({"framework_id":"fw-unanswered"})"); });
    mesoflow::Metrics metrics;
    mesoflow::admin::AdminSources sources;
    sources.metrics = &metrics;
    sources.ready = [] { return true; };
    sources.state_json = [] { return std::string("{}"); };
    sources.page = [routes](std::string_view path, std::string_view query) {
        return routes->serve(path, query);
    };
    auto server = mesoflow::admin::AdminServer::start("127.0.0.1", 0, std::move(sources));
    REQUIRE(server);
    const int port = (*server)->port();

    std::string status_body;
    int status_code = 0;
    std::chrono::steady_clock::duration status_took{};
    std::thread page([&] {
        const auto t0 = std::chrono::steady_clock::now();
        if (auto r = admin_get(port, "/status")) {
            status_code = r->status;
            status_body = r->body;
        }
        status_took = std::chrono::steady_clock::now() - t0;
    });
    // The page's connection is held unanswered; /ready waits behind it.
    const auto held_by = std::chrono::steady_clock::now() + 10s;
    while (proxy.held() == 0 && std::chrono::steady_clock::now() < held_by)
        std::this_thread::sleep_for(10ms);
    CHECK(proxy.held() == 1);
    const auto t0 = std::chrono::steady_clock::now();
    auto ready = admin_get(port, "/ready");
    const auto ready_took = std::chrono::steady_clock::now() - t0;
    page.join();
    REQUIRE(ready);
    CHECK(ready->status == 200);
    CHECK(ready_took < 4s);
    CHECK(status_code == 200);
    CHECK(status_took < 4s);
    CHECK_THAT(status_body,
               Catch::Contains("The database did not answer") && Catch::Contains("fw-unanswered"));
}
