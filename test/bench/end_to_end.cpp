// mesoflow end to end: the daemon as deployed (`mesoflow migrate`, then
// `mesoflow run` as its own process), the fake master as its own process, the
// queue filled before mesoflow starts. Throughput is read from the rows
// mesoflow wrote (first launched_at to last finished_at), so the polling
// here does not blur it; latencies are the master's view (GET /fake/latency).
#include <fmt/core.h>

#include <algorithm>
#include <csignal>
#include <stdexcept>
#include <thread>

#include "bench.hpp"

namespace mesoflow::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kProgressPoll{200};
constexpr std::chrono::milliseconds kStopGrace{15000};
constexpr std::chrono::seconds kAckWait{30};

// Whether any task is still pending or launched: two probes of the partial
// indexes that stop at their first row, so polling costs the database next
// to nothing (a count over the table every 200 ms took a core for 10-20 ms
// each time, and showed up in the latencies measured). The indexes name
// phase from schema 9 on, state before (an older binary is measured too).
bool work_left(Sql& sql, bool by_phase) {
    static const char* const by_phase_sql =
        "SELECT EXISTS (SELECT 1 FROM mesoflow.tasks WHERE phase = 'pending')"
        " OR EXISTS (SELECT 1 FROM mesoflow.tasks WHERE phase = 'live')";
    static const char* const by_state_sql =
        "SELECT EXISTS (SELECT 1 FROM mesoflow.tasks WHERE state = 'pending')"
        " OR EXISTS (SELECT 1 FROM mesoflow.tasks WHERE state IN"
        " ('launching', 'staging', 'starting', 'running', 'killing'))";
    return sql.row(by_phase ? by_phase_sql : by_state_sql).at(0) == "t";
}

std::int64_t terminal_count(Sql& sql) {
    return std::stoll(sql.row("SELECT count(*) FROM mesoflow.tasks WHERE state IN"
                              " ('finished', 'failed', 'killed', 'lost', 'error')")
                          .at(0));
}

// Every agent update the master sent has been acknowledged (redeliveries
// carry the uuid of the first send; the master's own updates, answers to
// reconciliation, carry none and take no ACK).
bool all_updates_acknowledged(const json& counters) {
    const auto acks = counters.value("acks", 0LL) - counters.value("acks_unmatched", 0LL);
    return acks >= counters.value("updates_sent", 0LL);
}

}  // namespace

void delete_all_tasks_and_vacuum(const std::string& dsn) {
    Sql sql(dsn);
    sql.exec("DELETE FROM mesoflow.tasks");
    // Without a live row at its end, VACUUM would cut the freed pages off
    // the history instead of leaving them to be filled again.
    sql.exec("INSERT INTO mesoflow.task_history (task_id, attempt, kind) VALUES (0, 0, 'launch')");
    // The history's table: a view over task_events from schema 13 on.
    const bool coded =
        sql.row("SELECT to_regclass('mesoflow.task_events') IS NOT NULL").at(0) == "t";
    sql.exec(coded ? "VACUUM mesoflow.task_events" : "VACUUM mesoflow.task_history");
    sql.exec("VACUUM mesoflow.tasks");
}

json run_end_to_end(testing::TempPostgres& pg, const Options& o, std::size_t tasks,
                    const std::string& label, const std::string& existing_dsn) {
    const std::string dsn = existing_dsn.empty() ? migrated_database(pg, o) : existing_dsn;
    const std::string log_dir = o.work_dir + "/" + label;
    Sql sql(dsn);
    const DbCounters before_fill = read_db_counters(sql);
    fill_queue(dsn, tasks, o);
    const DbCounters filled = read_db_counters_settled(sql);
    // What an operator waits for with the whole queue pending: `mesoflow
    // status` (the summary), as its own process, the median of three.
    std::vector<double> status_ms;
    for (int i = 0; i < 3; ++i) {
        testing::SpawnOptions status;
        status.argv = {o.mesoflow_binary, "status"};
        status.extra_env = {"MESOFLOW_DATABASE=" + dsn};
        std::string status_output;
        const auto asked = Clock::now();
        if (testing::run_program(status, &status_output) != 0)
            throw std::runtime_error("mesoflow status failed: " + status_output);
        status_ms.push_back(seconds_since(asked) * 1000.0);
    }
    std::sort(status_ms.begin(), status_ms.end());

    RunningMaster master = start_fake_master(o, log_dir + "-fake-master.log");
    const int admin_port = testing::free_loopback_port();

    testing::SpawnOptions run;
    run.argv = {o.mesoflow_binary, "run"};
    run.extra_env = {"MESOFLOW_DATABASE=" + dsn,
                     fmt::format("MESOFLOW_MASTER=127.0.0.1:{}", master.port),
                     fmt::format("MESOFLOW_ADMIN_LISTEN=127.0.0.1:{}", admin_port),
                     "MESOFLOW_LOG_LEVEL=" + o.log_level};
    run.extra_env.insert(run.extra_env.end(), o.mesoflow_env.begin(), o.mesoflow_env.end());
    run.output_path = log_dir + "-mesoflow.log";
    run.death_signal = SIGTERM;
    auto mesoflow = testing::ChildProcess::spawn(run);
    const auto started = Clock::now();

    const bool by_phase = sql.row(
                                 "SELECT count(*) FROM information_schema.columns"
                                 " WHERE table_schema = 'mesoflow' AND table_name = 'tasks'"
                                 " AND column_name = 'phase'")
                              .at(0) == "1";
    while (work_left(sql, by_phase)) {
        if (!mesoflow.running())
            throw std::runtime_error("mesoflow run exited early; see " + run.output_path);
        if (!master.process.running())
            throw std::runtime_error("the fake master exited early");
        if (seconds_since(started) > o.timeout_s) {
            throw std::runtime_error(fmt::format("{}: {} of {} tasks terminal after {} s", label,
                                                 terminal_count(sql), tasks, o.timeout_s));
        }
        std::this_thread::sleep_for(kProgressPoll);
    }
    if (const auto done = terminal_count(sql); done != static_cast<std::int64_t>(tasks))
        throw std::runtime_error(
            fmt::format("{}: {} of {} tasks terminal, none left to run", label, done, tasks));
    // The last terminal row is committed before its ACKNOWLEDGE is sent:
    // wait until the master has an ACK for every update it sent, so the
    // latency figures hold every update (a slow build lags by a few calls).
    json master_state = json::parse(http_get(master.port, "/fake/state"));
    const auto ack_wait = Clock::now();
    while (!all_updates_acknowledged(master_state.at("counters"))) {
        if (seconds_since(ack_wait) > kAckWait.count())
            throw std::runtime_error(fmt::format(
                "{}: updates still unacknowledged {} s after the last terminal commit: {}", label,
                kAckWait.count(), master_state.at("counters").dump()));
        std::this_thread::sleep_for(kProgressPoll);
        master_state = json::parse(http_get(master.port, "/fake/state"));
    }
    // Read while the process lives: its counters vanish with it.
    const double cpu_s = process_cpu_seconds(mesoflow.pid());
    const double peak_rss_mb = process_peak_rss_mb(mesoflow.pid());
    const json latency = json::parse(http_get(master.port, "/fake/latency"));
    const json state = json::parse(http_get(admin_port, "/state"));
    const json& own = state.at("latency");
    const int stopped = mesoflow.stop(SIGTERM, kStopGrace);
    master.process.stop(SIGTERM, kStopGrace);
    const DbCounters ran = read_db_counters_settled(sql);

    const auto span = sql.row(
        "SELECT extract(epoch FROM max(finished_at) - min(launched_at)),"
        " count(*) FILTER (WHERE state = 'finished'), max(attempt) FROM mesoflow.tasks");
    const double span_s = std::stod(span.at(0));
    // A round of offers stamps its launches with one time: launches per
    // round, the median over rounds and the largest.
    const auto rounds = sql.row(
        "SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY n), 0), coalesce(max(n), 0)"
        " FROM (SELECT count(*) AS n FROM mesoflow.tasks WHERE launched_at IS NOT NULL"
        " GROUP BY launched_at) r");
    json f;
    f["dsn"] = dsn;
    f["tasks"] = tasks;
    f["tasks_per_round_p50"] = std::stod(rounds.at(0));
    f["tasks_per_round_max"] = std::stod(rounds.at(1));
    f["finished"] = std::stoll(span.at(1));
    f["max_attempt"] = std::stoll(span.at(2));
    f["span_s"] = span_s;
    f["tasks_per_s"] = static_cast<double>(tasks) / span_s;
    f["wall_s"] = seconds_since(started);
    f["cpu_s"] = cpu_s;
    f["cpu_s_per_1000_tasks"] = cpu_s / (static_cast<double>(tasks) / 1000.0);
    f["peak_rss_mb"] = peak_rss_mb;
    f["exit_status"] = stopped;
    f["status_ms"] = status_ms.at(1);
    // The database's side: the producer's insert, then mesoflow's run.
    add_db_cost(sql, before_fill, filled, tasks, "producer", f);
    add_db_cost(sql, filled, ran, tasks, "db", f);
    const auto& counters = master_state.at("counters");
    f["offers_sent"] = counters.value("offers_sent", 0);
    // Per allocation that offered anything (one OFFERS event each), and the
    // share of the cpus offered that tasks took.
    const auto offer_events = counters.value("offer_events", 0.0);
    const auto launched = counters.value("tasks_launched", 0.0);
    const auto cpus_offered = counters.value("cpus_offered", 0.0);
    f["offer_events"] = offer_events;
    f["tasks_per_allocation"] = offer_events > 0 ? launched / offer_events : 0.0;
    f["offered_cpus_used"] = cpus_offered > 0 ? launched * o.task_cpus / cpus_offered : 0.0;
    f["launch_window_last"] = state.value("launch_window", 0);
    f["offers_accepted"] = counters.value("offers_accepted", 0);
    f["offers_declined"] = counters.value("offers_declined", 0);
    f["updates_redelivered"] = counters.value("updates_redelivered", 0);
    // mesoflow's own view (the targets): read off the stream -> written on a socket.
    copy_latency(own.at("offer_to_accept"), "decision", f);
    copy_latency(own.at("offer_to_decline"), "decline", f);
    copy_latency(own.at("update_to_commit"), "commit", f);
    copy_latency(own.at("update_to_ack"), "ack", f);
    copy_latency(own.at("update_batch"), "update_batch", f);
    // The batches mesoflow sent, for ceiling 1 to send the same.
    const auto per = [](double total, double count) { return count > 0 ? total / count : 0.0; };
    f["mean_update_batch"] = per(own.at("update_to_commit").at("count").get<double>(),
                                 own.at("update_batch").at("count").get<double>());
    f["mean_claim_batch"] =
        per(state.at("tasks_claimed").get<double>(), state.at("claim_batches").get<double>());
    // The master's view adds its own sending and reading and the loopback.
    copy_latency(latency.at("offer_to_accept"), "master_decision", f);
    copy_latency(latency.at("offer_to_decline"), "master_decline", f);
    copy_latency(latency.at("update_to_ack"), "master_ack", f);
    return f;
}

}  // namespace mesoflow::bench
