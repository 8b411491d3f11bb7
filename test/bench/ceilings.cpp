// The two ceilings mesoflow's throughput is divided by.
//
// (1) The database: the statements mesoflow sends, in batches of the sizes
// given (main.cpp runs it at the mean sizes mesoflow sent, and at the
// config's largest: claim_pending of claim_batch, then place_attempts of
// the claimed attempts as the placements before their ACCEPTs, and
// update_batch status updates per apply_updates), on the connections
// mesoflow's database threads use (claims on one, placements on one, status
// updates on update_connections lanes, a task's id picking its lane), with
// no Mesos in the loop. Every update batch
// is full and no thread ever waits for the network, which mesoflow never
// quite manages, so this bounds it from above.
//
// (2) The fake master, the same binary and flags mesoflow ran against,
// driven by mesoflow-fake-master-bench: a minimal client that only accepts
// offers and acknowledges updates.
#include <fmt/core.h>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "bench.hpp"
#include "mesoflow/config/config.hpp"
#include "mesoflow/store/migrations.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kStopGrace{5000};

// What the fake master sends for a zero-duration command task, in order.
constexpr task::MesosTaskState kUpdateStates[] = {
    task::MesosTaskState::starting, task::MesosTaskState::running, task::MesosTaskState::finished};

template <typename T>
T value_or_throw(Result<T> r, const char* what) {
    if (!r)
        throw std::runtime_error(std::string(what) + ": " + r.error().message);
    return std::move(*r);
}

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

task::StatusUpdate update_for(const store::LaunchRecord& l, task::MesosTaskState state,
                              std::size_t serial) {
    task::StatusUpdate u;
    u.mesos_task_id = l.mesos_task_id;
    u.state = state;
    u.source = "SOURCE_EXECUTOR";
    u.agent_id = l.agent_id;
    u.timestamp = 1.7e9;
    u.uuid = fmt::format("dXVpZC{:010}", serial);
    return u;
}

}  // namespace

json database_ceiling(testing::TempPostgres& pg, const Options& o, std::size_t claim_size,
                      std::size_t update_size) {
    const config::Config defaults;
    const std::string dsn = pg.create_database();
    value_or_throw(store::migrate(dsn), "migrate");
    fill_queue(dsn, o.tasks, o);

    // Per update lane (a task's id picks it, as in mesoflow): launched
    // attempts with the index of the update each waits for next (their
    // placements were written before, as mesoflow's are before ACCEPT).
    struct Lane {
        std::deque<std::pair<store::LaunchRecord, std::size_t>> waiting;
    };
    const auto lane_count = static_cast<std::size_t>(std::max(1, defaults.update_connections));
    std::vector<Lane> lanes(lane_count);
    std::mutex mutex;
    std::condition_variable more;
    bool launching_done = false;
    std::string failure;
    std::size_t rounds = 0;
    std::size_t update_statements = 0;
    std::size_t finished = 0;
    double claim_ms = 0;
    double place_ms = 0;
    double apply_ms = 0;
    auto fail = [&](const std::string& why) {
        std::lock_guard lock(mutex);
        if (failure.empty())
            failure = why;
        launching_done = true;
        more.notify_all();
    };

    const auto start = Clock::now();
    // mesoflow's "db" thread: claims.
    std::thread launcher([&] {
        try {
            store::TaskStore store(dsn, "mesoflow-bench");
            store::TaskStore placer(dsn, "mesoflow-bench-placements");
            std::size_t launched = 0;
            while (launched < o.tasks) {
                const auto round_start = Clock::now();
                auto pending = value_or_throw(store.claim_pending(static_cast<int>(claim_size)),
                                              "claim_pending");
                const auto fetched = Clock::now();
                if (pending.empty())
                    throw std::runtime_error("database ceiling: the queue ran dry early");
                std::vector<store::LaunchRecord> records;
                records.reserve(pending.size());
                for (const auto& t : pending) {
                    const int attempt = t.attempt + 1;
                    const auto agent = static_cast<std::size_t>(t.id) % o.agents;
                    records.push_back(
                        store::LaunchRecord{t.id, attempt, task::mesos_task_id(t.id, attempt),
                                            fmt::format("agent-{}", agent),
                                            fmt::format("agent-{}.fake", agent), "offer-bench"});
                }
                value_or_throw(placer.place_attempts(records), "place_attempts");
                const auto placed = Clock::now();
                std::lock_guard lock(mutex);
                ++rounds;
                claim_ms += ms_between(round_start, fetched);
                place_ms += ms_between(fetched, placed);
                launched += pending.size();
                for (auto& l : records) {
                    Lane& lane = lanes[static_cast<std::size_t>(l.task_id) % lane_count];
                    lane.waiting.emplace_back(std::move(l), 0);
                }
                more.notify_all();
            }
        } catch (const std::exception& e) {
            fail(e.what());
            return;
        }
        std::lock_guard lock(mutex);
        launching_done = true;
        more.notify_all();
    });

    // mesoflow's "db-updates-N" threads: full batches, oldest first.
    auto run_lane = [&](std::size_t index) {
        try {
            store::TaskStore store(dsn, fmt::format("mesoflow-bench-updates-{}", index + 1));
            Lane& lane = lanes[index];
            std::size_t serial = index * 1'000'000'000;
            const std::size_t batch_size = std::max<std::size_t>(1, update_size);
            while (true) {
                std::vector<std::pair<store::LaunchRecord, std::size_t>> batch;
                {
                    std::unique_lock lock(mutex);
                    more.wait(lock, [&] { return !lane.waiting.empty() || launching_done; });
                    if (lane.waiting.empty() || !failure.empty())
                        return;  // every task of this lane is done, or something failed
                    while (!lane.waiting.empty() && batch.size() < batch_size) {
                        batch.push_back(std::move(lane.waiting.front()));
                        lane.waiting.pop_front();
                    }
                }
                std::vector<task::StatusUpdate> updates;
                updates.reserve(batch.size());
                for (const auto& [launch, stage] : batch)
                    updates.push_back(update_for(launch, kUpdateStates[stage], serial++));
                const auto applying = Clock::now();
                value_or_throw(store.apply_updates(updates), "apply_updates");
                const double took = ms_between(applying, Clock::now());
                std::lock_guard lock(mutex);
                apply_ms += took;
                ++update_statements;
                for (auto& [launch, stage] : batch) {
                    if (++stage == std::size(kUpdateStates))
                        ++finished;
                    else
                        lane.waiting.emplace_back(std::move(launch), stage);
                }
            }
        } catch (const std::exception& e) {
            fail(e.what());
        }
    };
    std::vector<std::thread> updaters;
    for (std::size_t i = 0; i < lane_count; ++i)
        updaters.emplace_back(run_lane, i);
    for (auto& t : updaters)
        t.join();
    const double seconds = seconds_since(start);
    launcher.join();
    if (!failure.empty())
        throw std::runtime_error(failure);
    if (finished != o.tasks)
        throw std::runtime_error(
            fmt::format("database ceiling: {} of {} tasks finished", finished, o.tasks));
    json f;
    f["tasks_per_s"] = static_cast<double>(finished) / seconds;
    f["wall_s"] = seconds;
    f["statements"] = rounds + update_statements;
    f["claim_pending_ms"] = claim_ms / static_cast<double>(std::max<std::size_t>(rounds, 1));
    f["place_attempts_ms"] = place_ms / static_cast<double>(std::max<std::size_t>(rounds, 1));
    f["apply_updates_ms"] =
        apply_ms / static_cast<double>(std::max<std::size_t>(update_statements, 1));
    f["claim_batch"] = claim_size;
    f["update_batch"] = update_size;
    f["update_connections"] = defaults.update_connections;
    return f;
}

json master_ceiling(const Options& o) {
    RunningMaster master = start_fake_master(o, o.work_dir + "/ceiling-fake-master.log");
    const std::string json_path = o.work_dir + "/ceiling-client.json";
    testing::SpawnOptions client;
    client.argv = {o.fake_master_bench_binary,
                   "--master",
                   fmt::format("127.0.0.1:{}", master.port),
                   "--tasks",
                   std::to_string(o.tasks),
                   "--task-cpus",
                   fmt::format("{}", o.task_cpus),
                   "--task-mem",
                   fmt::format("{}", o.task_mem_mb),
                   "--json",
                   json_path,
                   "--timeout",
                   fmt::format("{}", o.timeout_s)};
    std::string output;
    const int code = testing::run_program(client, &output);
    if (code != 0) {
        master.process.stop(SIGTERM, kStopGrace);
        throw std::runtime_error("mesoflow-fake-master-bench failed: " + output);
    }
    // The master's own share of the latencies: a client that answers at once.
    const json latency = json::parse(http_get(master.port, "/fake/latency"));
    master.process.stop(SIGTERM, kStopGrace);
    const json figures = json::parse(read_text(json_path));
    json f;
    copy_latency(latency.at("offer_to_accept"), "decision", f);
    copy_latency(latency.at("update_to_ack"), "ack", f);
    f["tasks_per_s"] = figures.at("tasks_per_s");
    f["wall_s"] = figures.at("wall_s");
    return f;
}

}  // namespace mesoflow::bench
