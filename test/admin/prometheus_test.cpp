#include "mesoflow/admin/prometheus.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <regex>
#include <sstream>

#include "prometheus_format.hpp"

namespace mesoflow::testing {

PrometheusPage parse_prometheus(const std::string& page) {
    PrometheusPage out;
    static const std::regex help_re(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+))");
    static const std::regex type_re(
        R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram))");
    static const std::regex sample_re(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (\S+))");
    std::istringstream in(page);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::smatch m;
        const auto fail = [&](const std::string& why) {
            if (out.error.empty())
                out.error = "line " + std::to_string(number) + ": " + why + ": " + line;
        };
        if (std::regex_match(line, m, help_re)) {
            out.help[m[1]] = m[2];
        } else if (std::regex_match(line, m, type_re)) {
            if (out.types.count(m[1]) != 0)
                fail("metric declared twice");
            if (out.help.count(m[1]) == 0)
                fail("TYPE without HELP");
            out.types[m[1]] = m[2];
        } else if (std::regex_match(line, m, sample_re)) {
            const std::string name = m[1];
            const auto type_of = [&](const std::string& n) {
                const auto it = out.types.find(n);
                return it == out.types.end() ? std::string() : it->second;
            };
            std::string family = name;
            for (const std::string suffix : {"_sum", "_count", "_bucket"}) {
                if (!type_of(name).empty() || !name.ends_with(suffix))
                    continue;
                const std::string base = name.substr(0, name.size() - suffix.size());
                if ((suffix != "_bucket" && type_of(base) == "summary") ||
                    type_of(base) == "histogram")
                    family = base;
            }
            if (name.ends_with("_bucket") && family != name &&
                std::string(m[2]).find("le=\"") == std::string::npos)
                fail("histogram bucket without le");
            if (type_of(family).empty())
                fail("sample without TYPE");
            if (type_of(family) == "counter" && !family.ends_with("_total"))
                fail("counter not named _total");
            char* end = nullptr;
            const std::string value = m[3];
            const double v = std::strtod(value.c_str(), &end);
            if (end != value.c_str() + value.size())
                fail("value is not a number");
            const std::string id = std::string(m[1]) + std::string(m[2]);
            if (out.samples.count(id) != 0)
                fail("sample repeated");
            out.samples[id] = v;
        } else {
            fail("not a HELP, TYPE or sample line");
        }
    }
    return out;
}

}  // namespace mesoflow::testing

namespace {

using mesoflow::Metrics;
using mesoflow::admin::render_prometheus;
using mesoflow::testing::parse_prometheus;

}  // namespace

TEST_CASE("the metrics page is well-formed Prometheus text with every sample declared") {
    Metrics m;
    const auto page = parse_prometheus(render_prometheus(m, "1.2.3"));
    INFO(page.error);
    CHECK(page.error.empty());
    CHECK(page.samples.size() > 30);
    for (const auto& [name, type] : page.types)
        CHECK(name.rfind("mesoflow_", 0) == 0);
}

TEST_CASE("metrics pages show each counter and gauge with its current value") {
    Metrics m;
    m.offers_received = 17;
    m.offers_declined = 5;
    m.tasks_launched = 12;
    m.updates_received = 40;
    m.acks_sent = 39;
    m.disconnects = 2;
    m.subscribed = 1;
    m.queue_pending = 7;
    m.db_batches = 4;
    m.db_time_us = 2'500'000;
    m.loop_lag_us_total = 1500;
    m.loop_lag_samples = 3;
    m.loop_lag_us_max = 900;
    m.tasks_by_state[static_cast<std::size_t>(mesoflow::task::TaskState::running)] = 3;
    m.tasks_by_state[static_cast<std::size_t>(mesoflow::task::TaskState::finished)] = 9;

    const auto page = parse_prometheus(render_prometheus(m, "1.2.3"));
    REQUIRE(page.error.empty());
    const auto& s = page.samples;
    CHECK(s.at("mesoflow_offers_received_total") == 17);
    CHECK(s.at("mesoflow_offers_declined_total") == 5);
    CHECK(s.at("mesoflow_tasks_launched_total") == 12);
    CHECK(s.at("mesoflow_status_updates_received_total") == 40);
    CHECK(s.at("mesoflow_acknowledgements_sent_total") == 39);
    CHECK(s.at("mesoflow_disconnects_total") == 2);
    CHECK(s.at("mesoflow_subscribed") == 1);
    CHECK(s.at("mesoflow_queue_pending") == 7);
    CHECK(s.at("mesoflow_db_batch_seconds_sum") == Approx(2.5));
    CHECK(s.at("mesoflow_db_batch_seconds_count") == 4);
    CHECK(s.at("mesoflow_event_loop_lag_seconds_sum") == Approx(0.0015));
    CHECK(s.at("mesoflow_event_loop_lag_seconds_count") == 3);
    CHECK(s.at("mesoflow_event_loop_lag_max_seconds") == Approx(0.0009));
    CHECK(s.at("mesoflow_tasks{state=\"running\"}") == 3);
    CHECK(s.at("mesoflow_tasks{state=\"finished\"}") == 9);
    CHECK(s.at("mesoflow_tasks{state=\"pending\"}") == 0);
    CHECK(s.at("mesoflow_build_info{version=\"1.2.3\"}") == 1);
    CHECK(page.types.at("mesoflow_tasks") == "gauge");
    CHECK(page.types.at("mesoflow_offers_received_total") == "counter");
}

TEST_CASE("every task state has its own labelled sample") {
    const auto page = parse_prometheus(render_prometheus(Metrics{}, "x"));
    for (const char* state : {"pending", "launching", "staging", "starting", "running", "killing",
                              "finished", "failed", "killed", "lost", "error"}) {
        INFO(state);
        CHECK(page.samples.count(std::string("mesoflow_tasks{state=\"") + state + "\"}") == 1);
    }
}

TEST_CASE("the queue depth is absent until the runtime has looked at the queue") {
    Metrics m;
    const auto before = parse_prometheus(render_prometheus(m, "x"));
    CHECK(before.samples.count("mesoflow_queue_pending") == 0);
    CHECK(before.types.count("mesoflow_queue_pending") == 1);
    m.queue_pending = 0;
    CHECK(parse_prometheus(render_prometheus(m, "x")).samples.at("mesoflow_queue_pending") == 0);
}

TEST_CASE("queues: weights, caps, what they hold and their pending tasks by reason") {
    Metrics m;
    CHECK(parse_prometheus(render_prometheus(m, "x")).types.count("mesoflow_pending_tasks") == 0);
    m.set_queues({
        {"default", 3, std::nullopt, 12, 6, 3072, 0, {{"in_line", 40}, {"retry_backoff", 2}}},
        // A producer's queue name: escaped as a label value.
        {"gpu \"a\"\\", 1, 4, 4, 16, 65536, 4, {{"queue_at_max_running", 7}}},
    });
    const auto page = parse_prometheus(render_prometheus(m, "x"));
    INFO(page.error);
    REQUIRE(page.error.empty());
    const auto& s = page.samples;
    CHECK(s.at("mesoflow_queue_weight{queue=\"default\"}") == 3);
    CHECK(s.count("mesoflow_queue_max_running{queue=\"default\"}") == 0);
    CHECK(s.at("mesoflow_queue_max_running{queue=\"gpu \\\"a\\\"\\\\\"}") == 4);
    CHECK(s.at("mesoflow_queue_tasks_placed{queue=\"default\"}") == 12);
    CHECK(s.at("mesoflow_queue_cpus{queue=\"default\"}") == 6);
    CHECK(s.at("mesoflow_queue_mem_bytes{queue=\"default\"}") == 3072.0 * 1024 * 1024);
    CHECK(s.at("mesoflow_pending_tasks{queue=\"default\",reason=\"in_line\"}") == 40);
    CHECK(s.at("mesoflow_pending_tasks{queue=\"default\",reason=\"retry_backoff\"}") == 2);
    CHECK(s.at("mesoflow_pending_tasks{queue=\"gpu "
               "\\\"a\\\"\\\\\",reason=\"queue_at_max_running\"}") == 7);
}

TEST_CASE("a version with quotes cannot break the label syntax") {
    const auto page = parse_prometheus(render_prometheus(Metrics{}, "1.0 \"dev\"\\"));
    INFO(page.error);
    CHECK(page.error.empty());
    CHECK(page.samples.count("mesoflow_build_info{version=\"1.0 \\\"dev\\\"\\\\\"}") == 1);
}

TEST_CASE("latency histograms: cumulative buckets in seconds, +Inf equal to the count") {
    Metrics m;
    m.update_to_ack.record_us(300);           // 0.3 ms
    m.update_to_ack.record_us(4'000);         // 4 ms
    m.update_to_ack.record_us(4'900);         // 4.9 ms
    m.update_to_ack.record_us(70'000);        // 70 ms
    m.offer_to_accept.record_us(20'000'000);  // 20 s: only in +Inf
    const auto page = parse_prometheus(render_prometheus(m, "1.2.3"));
    INFO(page.error);
    REQUIRE(page.error.empty());
    const auto& s = page.samples;
    CHECK(page.types.at("mesoflow_status_update_ack_seconds") == "histogram");
    CHECK(s.at("mesoflow_status_update_ack_seconds_bucket{le=\"0.0005\"}") == 1);
    CHECK(s.at("mesoflow_status_update_ack_seconds_bucket{le=\"0.0025\"}") == 1);
    CHECK(s.at("mesoflow_status_update_ack_seconds_bucket{le=\"0.005\"}") == 3);
    CHECK(s.at("mesoflow_status_update_ack_seconds_bucket{le=\"0.05\"}") == 3);
    CHECK(s.at("mesoflow_status_update_ack_seconds_bucket{le=\"0.1\"}") == 4);
    CHECK(s.at("mesoflow_status_update_ack_seconds_bucket{le=\"+Inf\"}") == 4);
    CHECK(s.at("mesoflow_status_update_ack_seconds_count") == 4);
    CHECK(s.at("mesoflow_status_update_ack_seconds_sum") == Approx(0.0792));
    CHECK(s.at("mesoflow_offer_decision_seconds_bucket{le=\"10\"}") == 0);
    CHECK(s.at("mesoflow_offer_decision_seconds_bucket{le=\"+Inf\"}") == 1);
    CHECK(s.at("mesoflow_offer_decline_seconds_count") == 0);
    CHECK(s.at("mesoflow_status_update_commit_seconds_count") == 0);
}
