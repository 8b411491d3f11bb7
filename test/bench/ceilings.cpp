// The two ceilings mesoflow's throughput is divided by.
//
// (1) The database: the statements mesoflow's event loop sends, in the
// batches it sends them (config defaults: claim_batch windows for
// fetch_pending and record_launches, update_batch status updates per
// apply_updates), one connection, one after the other as mesoflow's database
// thread does, with no Mesos in the loop. Every batch is full, which mesoflow
// never quite manages, so this bounds it from above.
//
// (2) The fake master, the same binary and flags mesoflow ran against,
// driven by mesoflow-fake-master-bench: a minimal client that only accepts
// offers and acknowledges updates.
#include <fmt/core.h>

#include <csignal>
#include <stdexcept>

#include "bench.hpp"
#include "mesoflow/config/config.hpp"
#include "mesoflow/store/migrations.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kStopGrace{5000};

// What the fake master sends for a zero-duration command task, in order.
constexpr store::MesosTaskState kUpdateStates[] = {store::MesosTaskState::starting,
                                                   store::MesosTaskState::running,
                                                   store::MesosTaskState::finished};

template <typename T>
T value_or_throw(Result<T> r, const char* what) {
    if (!r)
        throw std::runtime_error(std::string(what) + ": " + r.error().message);
    return std::move(*r);
}

store::StatusUpdate update_for(const store::LaunchRecord& l, store::MesosTaskState state,
                               std::size_t serial) {
    store::StatusUpdate u;
    u.mesos_task_id = l.mesos_task_id;
    u.state = state;
    u.source = "SOURCE_EXECUTOR";
    u.agent_id = l.agent_id;
    u.timestamp = 1.7e9;
    u.uuid = fmt::format("dXVpZC{:010}", serial);
    return u;
}

}  // namespace

json database_ceiling(testing::TempPostgres& pg, const Options& o) {
    const config::Config defaults;
    const std::string dsn = pg.create_database();
    value_or_throw(store::migrate(dsn), "migrate");
    fill_queue(dsn, o.tasks, o);
    store::TaskStore store(dsn, "mesoflow-bench");
    if (auto st = store.connect(); !st.ok())
        throw std::runtime_error("connect: " + st.error().message);

    std::size_t done = 0;
    std::size_t statements = 0;
    std::size_t serial = 0;
    const auto start = Clock::now();
    while (done < o.tasks) {
        auto pending = value_or_throw(store.fetch_pending(defaults.claim_batch), "fetch_pending");
        ++statements;
        if (pending.empty())
            throw std::runtime_error("database ceiling: the queue ran dry early");
        std::vector<store::LaunchRecord> launches;
        launches.reserve(pending.size());
        for (const auto& t : pending) {
            const int attempt = t.attempt + 1;
            launches.push_back({t.id, attempt, store::mesos_task_id(t.id, attempt),
                                fmt::format("agent-{}", t.id % o.agents),
                                fmt::format("agent-{}.fake", t.id % o.agents), "offer-bench"});
        }
        value_or_throw(store.record_launches(launches), "record_launches");
        ++statements;
        for (const auto state : kUpdateStates) {
            const auto batch = static_cast<std::size_t>(defaults.update_batch);
            for (std::size_t i = 0; i < launches.size(); i += batch) {
                std::vector<store::StatusUpdate> updates;
                for (std::size_t k = i; k < std::min(launches.size(), i + batch); ++k)
                    updates.push_back(update_for(launches[k], state, serial++));
                value_or_throw(store.apply_updates(updates), "apply_updates");
                ++statements;
            }
        }
        done += pending.size();
    }
    const double seconds = seconds_since(start);
    json f;
    f["tasks_per_s"] = static_cast<double>(done) / seconds;
    f["wall_s"] = seconds;
    f["statements"] = statements;
    f["claim_batch"] = defaults.claim_batch;
    f["update_batch"] = defaults.update_batch;
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
    master.process.stop(SIGTERM, kStopGrace);
    if (code != 0)
        throw std::runtime_error("mesoflow-fake-master-bench failed: " + output);
    const json figures = json::parse(read_text(json_path));
    json f;
    f["tasks_per_s"] = figures.at("tasks_per_s");
    f["wall_s"] = figures.at("wall_s");
    return f;
}

}  // namespace mesoflow::bench
