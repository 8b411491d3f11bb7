// Two `mesoflow run` instances (the real binary, as child processes) against
// one in-process fake master and one real PostgreSQL: one leads, the other
// stands by on the leader lock. The leader is killed with SIGKILL, or frozen
// with SIGSTOP past its lease and then woken with SIGCONT. Each case measures
// the takeover (from the signal to the standby's SUBSCRIBE reaching the
// master) and checks that no task was launched twice, that every task
// finished, that every acknowledged update was committed first, and that a
// frozen leader, once woken, steps down without a single call to the master.
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "cluster.hpp"
#include "process.hpp"
#include "run_checks.hpp"

using namespace std::chrono_literals;
using mesoflow::task::TaskState;
using mesoflow::testing::ChildProcess;
using mesoflow::testing::Cluster;
using mesoflow::testing::free_loopback_port;
using mesoflow::testing::launches_by_task_id;
using mesoflow::testing::quick_master;
using mesoflow::testing::read_file;
using mesoflow::testing::require_every_ack_committed;
using mesoflow::testing::start_mesoflow;
using mesoflow::testing::subscribed_framework_ids;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Short, so a frozen leader loses the lock within a test's patience.
constexpr auto kLease = 3s;
// The takeover bound: the lease, the standby's 1 s retry, and room to spare.
constexpr auto kTakeoverBound = kLease + 5s;
constexpr int kFirstBatch = 60;    // queued before the leader starts
constexpr int kSecondBatch = 240;  // queued once the standby stands by
constexpr int kTasks = kFirstBatch + kSecondBatch;

// One `mesoflow run` child with its own admin port and log file.
struct Instance {
    std::string name;
    std::string log_path;
    int admin_port = 0;
    ChildProcess process;
};

Instance start_instance(Cluster& c, const std::string& test, const std::string& name) {
    Instance i;
    i.name = name;
    // One file per case and instance, replaced by each run.
    i.log_path =
        std::string(MESOFLOW_TEST_LOG_DIR) + "/leader-failover-" + test + "-" + name + ".log";
    ::unlink(i.log_path.c_str());
    i.admin_port = free_loopback_port();
    const auto lease_s = std::chrono::duration_cast<std::chrono::seconds>(kLease).count();
    i.process = start_mesoflow(c, i.log_path,
                               {"MESOFLOW_ADMIN_LISTEN=127.0.0.1:" + std::to_string(i.admin_port),
                                "MESOFLOW_LEADER_LEASE=" + std::to_string(lease_s)});
    return i;
}

// GET on the instance's admin endpoint. Never called on a stopped process
// (it would not answer); the timeouts only bound a slow one.
httplib::Result admin_get(const Instance& i, const std::string& path) {
    httplib::Client client("127.0.0.1", i.admin_port);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    return client.Get(path.c_str());
}

// The instance's GET /state, or null when it does not answer (yet).
nlohmann::json state_of(const Instance& i) {
    auto r = admin_get(i, "/state");
    if (!r || r->status != 200)
        return nullptr;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

// /state's leadership object, or null.
nlohmann::json leadership_of(const Instance& i) {
    auto s = state_of(i);
    if (!s.is_object() || !s.contains("leadership") || !s["leadership"].is_object())
        return nullptr;
    return s["leadership"];
}

std::string role_of(const Instance& i) {
    const auto l = leadership_of(i);
    if (!l.is_object() || !l.contains("role") || !l["role"].is_string())
        return "";
    return l["role"].get<std::string>();
}

int ready_status(const Instance& i) {
    auto r = admin_get(i, "/ready");
    return r ? r->status : 0;
}

// A Prometheus sample without labels from GET /metrics ("name value"); -1
// when there is none.
double metric_of(const Instance& i, const std::string& name) {
    auto r = admin_get(i, "/metrics");
    if (!r || r->status != 200)
        return -1;
    std::istringstream in(r->body);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name + " ", 0) == 0)
            return std::stod(line.substr(name.size() + 1));
    }
    return -1;
}

// Waits (generously) until the instance's /state says `role`; false when the
// process exits first or the time is up.
bool wait_role(Instance& i, const std::string& role,
               std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
        if (!i.process.running())
            return false;
        if (role_of(i) == role)
            return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

// The receipt time of the first SUBSCRIBE the master took (answered 200)
// after `t`.
std::optional<SteadyClock::time_point> first_subscribe_after(Cluster& c,
                                                             SteadyClock::time_point t) {
    std::optional<SteadyClock::time_point> first;
    for (const auto& call : c.master().calls_of_type("SUBSCRIBE")) {
        if (call.time > t && call.status == 200 && (!first || call.time < *first))
            first = call.time;
    }
    return first;
}

// The framework id the first SUBSCRIBE after `t` carried ("" for none).
std::string subscribe_framework_id_after(Cluster& c, SteadyClock::time_point t) {
    for (const auto& call : c.master().calls_of_type("SUBSCRIBE")) {
        if (call.time <= t || call.status != 200)
            continue;
        const auto body = nlohmann::json::parse(call.body);
        const auto& info = body["subscribe"]["framework_info"];
        return info.contains("id") ? info["id"]["value"].get<std::string>() : "";
    }
    return "";
}

// Every stream id the master's calls carried so far, and the one the
// framework's current subscription has.
std::set<std::string> stream_ids_so_far(Cluster& c) {
    std::set<std::string> ids;
    for (const auto& call : c.master().calls()) {
        if (call.stream_id)
            ids.insert(*call.stream_id);
    }
    for (const auto& f : c.master().frameworks()) {
        if (!f.stream_id.empty())
            ids.insert(f.stream_id);
    }
    return ids;
}

long long ms_between(SteadyClock::time_point from, SteadyClock::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// Master settings for both cases: 2 agents of 1 cpu run 20 tasks of 0.1 cpu
// at once, each for 100 ms, so the queue drains in waves and a signal finds
// tasks done, running and queued.
mesoflow::fake::FakeMasterConfig failover_master() {
    auto mc = quick_master(0);
    mesoflow::fake::AgentSpec small;
    small.cpus = 1;
    mc.agents = mesoflow::fake::uniform_agents(2, small);
    mc.default_task.run_time = 100ms;
    return mc;
}

// Starts A, waits until it leads and some tasks finished, starts B and waits
// until it stands by with A recorded as the leader, then queues the second
// batch and waits until some of it ran and more is running.
void lead_and_stand_by(Cluster& c, Instance& a, Instance& b, const std::string& prefix) {
    REQUIRE(wait_role(a, "leader"));
    REQUIRE(c.eventually([&] { return c.count_terminal() >= 10; }, 60s));
    b = start_instance(c, prefix, "b");
    REQUIRE(wait_role(b, "standby"));
    const auto la = leadership_of(a);
    const auto lb = leadership_of(b);
    INFO("A: " << la.dump() << " B: " << lb.dump());
    REQUIRE(la.is_object());
    REQUIRE(lb.is_object());
    CHECK(la["identity"].get<std::string>().ends_with(":" + std::to_string(a.process.pid())));
    CHECK(lb["identity"].get<std::string>().ends_with(":" + std::to_string(b.process.pid())));
    CHECK(la["leader"] == la["identity"]);
    CHECK(lb["leader"] == la["identity"]);
    CHECK(la["terms"] == 1);
    CHECK(lb["terms"] == 0);
    // Ready may blink on a loaded machine (a missed heartbeat resubscribes).
    CHECK(c.eventually([&] { return ready_status(a) == 200; }, 60s));
    CHECK(ready_status(b) != 200);
    c.submit_many(kSecondBatch, prefix + "-2-", "true");
    REQUIRE(c.eventually(
        [&] {
            return c.count_terminal() >= kFirstBatch + 20 && c.count_in(TaskState::running) > 0;
        },
        60s));
}

// What both cases check once every task ended: each finished, each Mesos
// task id was launched once over both instances, each task ran on an attempt
// the master saw launched, every update was acknowledged and every
// acknowledgement was for a committed update, and one framework throughout.
void check_tasks_and_framework(Cluster& c, const std::string& prefix,
                               const std::string& framework_id) {
    CHECK(c.count_in(TaskState::finished) == kTasks);
    const auto launches = launches_by_task_id(c);
    for (const auto& [task_id, n] : launches) {
        INFO("task " << task_id);
        CHECK(n == 1);
    }
    for (int batch = 1; batch <= 2; ++batch) {
        const int n = batch == 1 ? kFirstBatch : kSecondBatch;
        for (int i = 0; i < n; ++i) {
            const auto key = prefix + "-" + std::to_string(batch) + "-" + std::to_string(i);
            const auto row = c.task(key);
            INFO("task " << key);
            CHECK(launches.count(row.mesos_task_id) == 1);
        }
    }
    // Every update was acknowledged (none left for the agent to redeliver),
    // each only once its state was committed.
    CHECK(c.master().wait_until(
        [&] {
            for (const auto& t : c.master().tasks()) {
                if (t.pending_updates > 0)
                    return false;
            }
            return true;
        },
        60s));
    require_every_ack_committed(c);
    CHECK(c.master().frameworks().size() == 1);
    CHECK(c.master().frameworks().front().id == framework_id);
    CHECK(subscribed_framework_ids(c) == std::set<std::string>{framework_id});
}

// The reason= of the instance's first event=leadership_lost line ("" for none).
std::string lost_reason(const Instance& i) {
    const auto text = read_file(i.log_path);
    const auto at = text.find("event=leadership_lost");
    if (at == std::string::npos)
        return "";
    const auto line = text.substr(at, text.find('\n', at) - at);
    const auto r = line.find(" reason=");
    return r == std::string::npos ? "" : line.substr(r + 8, line.find(' ', r + 8) - r - 8);
}

// The instance's log has a line with `first`, and a later one with `then`.
bool log_has_in_order(const Instance& i, const std::string& first, const std::string& then) {
    const auto text = read_file(i.log_path);
    const auto at = text.find(first);
    return at != std::string::npos && text.find(then, at + first.size()) != std::string::npos;
}

// How many lines of the instance's log since byte `from` hold `event`.
int events_since(const Instance& i, std::size_t from, const std::string& event) {
    const auto text = read_file(i.log_path);
    int n = 0;
    for (auto at = text.find(event, std::min(from, text.size())); at != std::string::npos;
         at = text.find(event, at + event.size())) {
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("leader failover: the leader killed with SIGKILL and the standby takes over") {
    Cluster c(failover_master());
    c.submit_many(kFirstBatch, "kill-1-", "true");
    Instance a = start_instance(c, "kill", "a");
    Instance b;
    INFO("logs: " << a.log_path << " (B: the same with -b)");
    lead_and_stand_by(c, a, b, "kill");
    const auto a_leadership = leadership_of(a);
    REQUIRE(c.master().frameworks().size() == 1);
    const auto framework_id = c.master().frameworks().front().id;

    const auto killed_at = SteadyClock::now();
    a.process.signal(SIGKILL);
    const auto killed = a.process.wait_for(10s);
    REQUIRE(killed);
    CHECK(WIFSIGNALED(*killed));
    const auto done_at_kill = c.count_terminal();
    CHECK(done_at_kill < kTasks);

    // The lock goes with A's connection: B takes it at its next retry.
    REQUIRE(c.master().wait_until([&] { return first_subscribe_after(c, killed_at).has_value(); },
                                  kLease + 60s));
    const auto takeover_ms = ms_between(killed_at, *first_subscribe_after(c, killed_at));
    std::cout << "takeover_ms sigkill=" << takeover_ms
              << " lease_ms=" << std::chrono::milliseconds(kLease).count() << std::endl;
    WARN("takeover_ms sigkill=" << takeover_ms);
    CHECK(std::chrono::milliseconds(takeover_ms) < kTakeoverBound);
    CHECK(subscribe_framework_id_after(c, killed_at) == framework_id);
    REQUIRE(wait_role(b, "leader"));

    REQUIRE(c.eventually([&] { return c.count_terminal() == kTasks; }, 120s));
    check_tasks_and_framework(c, "kill", framework_id);

    const auto lb = leadership_of(b);
    INFO("A before the kill: " << a_leadership.dump() << " B: " << lb.dump());
    REQUIRE(lb.is_object());
    CHECK(lb["role"] == "leader");
    CHECK(lb["leader"] == lb["identity"]);
    CHECK(lb["terms"] == 1);
    CHECK(lb["lost"] == 0);
    CHECK(lb["epoch"].get<long long>() > a_leadership["epoch"].get<long long>());
    CHECK(c.eventually([&] { return ready_status(b) == 200; }, 60s));
    CHECK(metric_of(b, "mesoflow_leader") == 1.0);
    CHECK(metric_of(b, "mesoflow_leadership_terms_total") == 1.0);
    CHECK(log_has_in_order(b, "event=standby", "event=leading"));

    const int status = b.process.stop(SIGTERM, 30s);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(c.master().frameworks().size() == 1);
}

TEST_CASE(
    "leader failover: the leader frozen with SIGSTOP past its lease loses it and once woken "
    "with SIGCONT steps down without a call to the master") {
    Cluster c(failover_master());
    c.submit_many(kFirstBatch, "stop-1-", "true");
    Instance a = start_instance(c, "stop", "a");
    Instance b;
    INFO("logs: " << a.log_path << " (B: the same with -b)");
    lead_and_stand_by(c, a, b, "stop");
    const auto a_leadership = leadership_of(a);
    REQUIRE(c.master().frameworks().size() == 1);
    const auto framework_id = c.master().frameworks().front().id;

    // Frozen: A renews nothing and answers nothing; PostgreSQL ends its lock
    // connection once the lease is over, and B takes the lock.
    const auto a_streams = stream_ids_so_far(c);
    REQUIRE_FALSE(a_streams.empty());
    const auto stopped_at = SteadyClock::now();
    a.process.signal(SIGSTOP);
    REQUIRE(c.master().wait_until([&] { return first_subscribe_after(c, stopped_at).has_value(); },
                                  kLease + 60s));
    const auto takeover_ms = ms_between(stopped_at, *first_subscribe_after(c, stopped_at));
    std::cout << "takeover_ms sigstop=" << takeover_ms
              << " lease_ms=" << std::chrono::milliseconds(kLease).count() << std::endl;
    WARN("takeover_ms sigstop=" << takeover_ms
                                << " lease_ms=" << std::chrono::milliseconds(kLease).count());
    CHECK(std::chrono::milliseconds(takeover_ms) < kTakeoverBound);
    CHECK(subscribe_framework_id_after(c, stopped_at) == framework_id);
    REQUIRE(wait_role(b, "leader"));
    REQUIRE(c.eventually([&] { return ready_status(b) == 200; }, 60s));
    const auto b_stream = c.master().frameworks().front().stream_id;
    CHECK(a_streams.count(b_stream) == 0);

    // Woken: A finds its lease over and steps down before any call.
    const auto a_log_at_resume = read_file(a.log_path).size();
    const auto b_log_at_resume = read_file(b.log_path).size();
    const auto resumed_at = SteadyClock::now();
    a.process.signal(SIGCONT);
    REQUIRE(wait_role(a, "standby"));
    // And stays so, up: watched for a few seconds (no timing is asserted).
    bool stayed_standby = true;
    const auto watch_until = SteadyClock::now() + 5s;
    while (SteadyClock::now() < watch_until) {
        REQUIRE(a.process.running());
        stayed_standby = stayed_standby && role_of(a) == "standby";
        std::this_thread::sleep_for(100ms);
    }
    CHECK(stayed_standby);
    REQUIRE(c.eventually([&] { return c.count_terminal() == kTasks; }, 120s));
    // A is still up, standing by, with B recorded as the leader.
    CHECK(a.process.running());
    const auto la = leadership_of(a);
    const auto lb = leadership_of(b);
    INFO("A before: " << a_leadership.dump() << " A after: " << la.dump() << " B: " << lb.dump());
    REQUIRE(la.is_object());
    REQUIRE(lb.is_object());
    CHECK(la["role"] == "standby");
    CHECK(la["terms"] == 1);
    CHECK(la["leader"] == lb["identity"]);
    CHECK(lb["role"] == "leader");
    CHECK(lb["leader"] == lb["identity"]);
    CHECK(lb["terms"] == 1);
    CHECK(lb["epoch"].get<long long>() > a_leadership["epoch"].get<long long>());
    CHECK(la["lost"] == 1);
    CHECK(lb["lost"] == 0);
    CHECK(ready_status(a) != 200);
    CHECK(c.eventually([&] { return ready_status(b) == 200; }, 60s));
    CHECK(metric_of(a, "mesoflow_leader") == 0.0);
    CHECK(metric_of(b, "mesoflow_leader") == 1.0);
    CHECK(metric_of(a, "mesoflow_standby") == 1.0);
    CHECK(metric_of(b, "mesoflow_standby") == 0.0);
    CHECK(metric_of(a, "mesoflow_leadership_lost_total") == 1.0);
    CHECK(metric_of(a, "mesoflow_leadership_terms_total") == 1.0);
    CHECK(metric_of(b, "mesoflow_leadership_terms_total") == 1.0);
    const auto why = lost_reason(a);
    std::cout << "leadership_lost sigstop reason=" << why << std::endl;
    WARN("A's leadership_lost reason=" << why);
    CHECK(log_has_in_order(a, "event=leading", "event=leadership_lost"));
    CHECK(log_has_in_order(a, "event=leadership_lost", "event=standby"));
    CHECK(log_has_in_order(b, "event=standby", "event=leading"));

    // Not one call from A since it woke: none on its streams, and no
    // SUBSCRIBE. A SUBSCRIBE names no stream, and B subscribes again when its
    // heartbeat watchdog fires (a slow machine): A's log shows no attempt,
    // and each SUBSCRIBE the master took since is one B's log opened.
    // (B's log is read after the calls: it may have opened more since.)
    int opened = 0;
    int refused = 0;
    for (const auto& call : c.master().calls()) {
        if (call.time <= resumed_at)
            continue;
        INFO("call " << call.type << " seq " << call.seq << " stream "
                     << call.stream_id.value_or("none") << " " << ms_between(resumed_at, call.time)
                     << " ms after SIGCONT");
        if (call.type == "SUBSCRIBE") {
            ++(call.status == 200 ? opened : refused);
            continue;
        }
        CHECK((call.stream_id && a_streams.count(*call.stream_id) == 0));
    }
    for (const auto* event : {"event=stream_open", "event=subscribe_failed",
                              "event=subscribe_refused", "event=subscribed"}) {
        INFO(event);
        CHECK(events_since(a, a_log_at_resume, event) == 0);
    }
    CHECK(events_since(b, b_log_at_resume, "event=stream_open") >= opened);
    CHECK(events_since(b, b_log_at_resume, "event=subscribe_failed") +
              events_since(b, b_log_at_resume, "event=subscribe_refused") >=
          refused);
    // The calls since end on B's stream.
    CHECK(c.master().frameworks().front().stream_id != "");
    CHECK(a_streams.count(c.master().frameworks().front().stream_id) == 0);

    check_tasks_and_framework(c, "stop", framework_id);

    for (auto* i : {&a, &b}) {
        INFO("instance " << i->name);
        const int status = i->process.stop(SIGTERM, 30s);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    CHECK(c.master().frameworks().size() == 1);
}
