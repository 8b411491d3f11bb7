// A tiny run of mesoflow-bench, so the benchmark cannot rot: it runs to the
// end, every task finishes, and the JSON holds the figures the issue names.
// Timing is not asserted (the machine is shared; the bench reports targets).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "process.hpp"

namespace {

constexpr int kTasks = 300;
constexpr int kAgents = 10;

}  // namespace

TEST_CASE("a tiny benchmark run finishes every task and writes the figures as flat JSON") {
    const std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                            "/mesoflow-bench-smoke-" + std::to_string(::getpid());
    const std::string json_path = dir + "/figures.json";
    mesoflow::testing::SpawnOptions run;
    run.argv = {BENCH_BINARY,
                "--tasks",
                std::to_string(kTasks),
                "--agents",
                std::to_string(kAgents),
                "--work-dir",
                dir,
                "--json",
                json_path,
                "--timeout",
                "60",
                "--clock-tasks",
                "600",
                "--clock-interval",
                "200"};
    std::string output;
    const int status = mesoflow::testing::run_program(run, &output);
    INFO(output);
    REQUIRE(status == 0);
    CHECK(output.find("mesoflow / lower ceiling") != std::string::npos);

    std::ifstream in(json_path);
    std::stringstream text;
    text << in.rdbuf();
    const auto f = nlohmann::json::parse(text.str());
    for (const char* key : {"tasks_per_s",
                            "ceiling_ratio",
                            "decision_p99_ms",
                            "ack_p99_ms",
                            "peak_rss_mb",
                            "match_ms",
                            "peak_rss_small_mb",
                            "cpu_s_per_1000_tasks",
                            "db_ceiling_tasks_per_s",
                            "master_ceiling_tasks_per_s",
                            "db_full_batches_tasks_per_s",
                            "mean_update_batch",
                            "mean_claim_batch",
                            "bulk_submit_per_s",
                            "clock_tasks_per_s",
                            "clock_tasks_per_allocation",
                            "clock_tasks_per_round_p50",
                            "clock_offered_cpus_used",
                            "clock_launch_window_last",
                            "small_db_wal_bytes_per_task",
                            "retention_db_wal_bytes_per_task",
                            "retention_tasks_per_s"}) {
        INFO(key);
        REQUIRE(f.contains(key));
        CHECK(f.at(key).is_number());
        CHECK(f.at(key).get<double>() > 0);
    }
    // Flat: no figure is an object or an array.
    for (const auto& [key, value] : f.items()) {
        INFO(key);
        CHECK(value.is_primitive());
    }
    CHECK(f.at("tasks") == kTasks);
    CHECK(f.at("agents") == kAgents);
    CHECK(f.at("finished") == kTasks);
    // mesoflow run stopped cleanly on SIGTERM (wait status 0: exit code 0).
    CHECK(f.at("exit_status") == 0);
    // Every task launched once: an ACCEPT per used offer, an ACK per update.
    CHECK(f.at("decision_count").get<int>() > 0);
    CHECK(f.at("ack_count").get<int>() >= 3 * kTasks);
    // mesoflow's own view and the master's count the same ACCEPTed offers
    // and the same acknowledgements; its own times lie inside the master's.
    CHECK(f.at("decision_count") == f.at("master_decision_count"));
    CHECK(f.at("ack_count") == f.at("master_ack_count"));
    CHECK(f.at("commit_count") == f.at("ack_count"));
    // Ceiling 1 sent the batches mesoflow sent, and again the largest.
    CHECK(f.at("update_batch").get<double>() ==
          Approx(f.at("mean_update_batch").get<double>()).margin(0.5));
    CHECK(f.at("full_update_batch") == 256);
    CHECK(f.at("decision_p50_ms").get<double>() <= f.at("master_decision_max_ms").get<double>());
    CHECK(f.at("commit_p50_ms").get<double>() <= f.at("ack_max_ms").get<double>());
    CHECK(f.at("match_small_launches") == 10000);
    CHECK(f.at("match_large_launches") == 8000);
    std::filesystem::remove_all(dir);
}
