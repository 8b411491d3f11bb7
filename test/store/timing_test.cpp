// Batch timings against the throwaway server, printed for the record (run
// the binary, or ctest -V). Timing is never asserted: the machine is shared.
// What is asserted is that each batch did its whole job.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>

#include "store_fixture.hpp"

using namespace mesoflow::store;
using namespace mesoflow::task;
using namespace mesoflow::store::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kQueueDepth = 100000;
constexpr int kBatch = 1000;
constexpr int kRepeats = 5;
constexpr int kSingles = 200;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

std::vector<StatusUpdate> updates(const std::vector<TaskSpec>& tasks, MesosTaskState state) {
    std::vector<StatusUpdate> out;
    for (const auto& t : tasks)
        out.push_back(update_of(t.id, 1, state));
    return out;
}

}  // namespace

TEST_CASE("batch timings: fetch_pending, record_launches and apply_updates of 1000") {
    const std::string dsn = migrated_database();
    Sql sql(dsn);
    sql.exec(
        "INSERT INTO mesoflow.tasks (key, command, env, priority) SELECT 'bench-' || g,"
        " 'echo ' || g, '{\"A\": \"1\"}', g % 3 FROM generate_series(1, " +
        std::to_string(kQueueDepth) + ") g");
    sql.exec("ANALYZE mesoflow.tasks");
    TaskStore store(dsn);
    REQUIRE(store.connect().ok());

    std::vector<double> fetch_ms;
    std::vector<TaskSpec> window;
    for (int i = 0; i < kRepeats; ++i) {
        const auto start = Clock::now();
        auto fetched = store.fetch_pending(kBatch);
        fetch_ms.push_back(ms_since(start));
        REQUIRE(fetched.ok());
        window = std::move(*fetched);
    }
    REQUIRE(window.size() == kBatch);

    std::vector<LaunchRecord> launches;
    for (const auto& t : window)
        launches.push_back(launch_of(t.id, t.attempt + 1, "offer-bench"));
    auto start = Clock::now();
    auto claimed = store.record_launches(launches);
    const double launch_ms = ms_since(start);
    REQUIRE(claimed.ok());
    REQUIRE(std::count(claimed->begin(), claimed->end(), true) == kBatch);

    start = Clock::now();
    auto running = store.apply_updates(updates(window, MesosTaskState::running));
    const double running_ms = ms_since(start);
    REQUIRE(running.ok());
    start = Clock::now();
    auto finished = store.apply_updates(updates(window, MesosTaskState::finished));
    const double finished_ms = ms_since(start);
    REQUIRE(finished.ok());
    start = Clock::now();
    auto replayed = store.apply_updates(updates(window, MesosTaskState::finished));
    const double replay_ms = ms_since(start);
    REQUIRE(replayed.ok());
    for (const auto& r : finished->updates)
        REQUIRE(r.outcome == UpdateOutcome::applied);
    for (const auto& r : replayed->updates)
        REQUIRE(r.outcome == UpdateOutcome::duplicate);

    // One task at a time, as under light load: launch, then RUNNING.
    std::vector<double> single_launch_ms, single_update_ms;
    auto singles = store.fetch_pending(kSingles).value();
    for (const auto& t : singles) {
        start = Clock::now();
        REQUIRE(store.record_launches({launch_of(t.id, 1, "offer-single")})->at(0));
        single_launch_ms.push_back(ms_since(start));
        start = Clock::now();
        REQUIRE(store.apply_updates({update_of(t.id, 1, MesosTaskState::running)}).ok());
        single_update_ms.push_back(ms_since(start));
    }

    std::printf("\nmesoflow store batch timings (queue depth %d pending, %d per batch)\n",
                kQueueDepth, kBatch);
    std::printf("  fetch_pending(%d)            %8.2f ms (median of %d)\n", kBatch,
                median(fetch_ms), kRepeats);
    std::printf("  record_launches of %d        %8.2f ms\n", kBatch, launch_ms);
    std::printf("  apply_updates of %d RUNNING  %8.2f ms\n", kBatch, running_ms);
    std::printf("  apply_updates of %d FINISHED %8.2f ms\n", kBatch, finished_ms);
    std::printf("  apply_updates of %d replayed %8.2f ms (all duplicates)\n", kBatch, replay_ms);
    std::printf("  record_launches of 1         %8.2f ms p50, %.2f ms p99 (%d calls)\n",
                median(single_launch_ms), percentile(single_launch_ms, 0.99), kSingles);
    std::printf("  apply_updates of 1           %8.2f ms p50, %.2f ms p99 (%d calls)\n\n",
                median(single_update_ms), percentile(single_update_ms, 0.99), kSingles);
    std::fflush(stdout);
}
