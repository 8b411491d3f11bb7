// Checks shared by the runtime tests that read what the fake master recorded
// (launches, subscriptions, acknowledgements), and start_mesoflow, which runs
// the real `mesoflow run` binary against a Cluster's master and database
// (in the test binaries built with MESOFLOW_BINARY).
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster.hpp"
#include "mesoflow/task/task.hpp"
#include "process.hpp"

namespace mesoflow::testing {

// Mesos task id -> how many LAUNCH operations named it, over every ACCEPT
// the master received (from any scheduler instance).
inline std::map<std::string, int> launches_by_task_id(Cluster& c) {
    std::map<std::string, int> out;
    for (const auto& call : c.master().calls_of_type("ACCEPT")) {
        const auto body = nlohmann::json::parse(call.body);
        for (const auto& op : body["accept"]["operations"]) {
            if (!op.contains("launch"))
                continue;
            for (const auto& t : op["launch"]["task_infos"])
                out[t["task_id"]["value"].get<std::string>()]++;
        }
    }
    return out;
}

// The framework ids the SUBSCRIBE calls the master received carried.
inline std::set<std::string> subscribed_framework_ids(Cluster& c) {
    std::set<std::string> ids;
    for (const auto& call : c.master().calls_of_type("SUBSCRIBE")) {
        const auto body = nlohmann::json::parse(call.body);
        const auto& info = body["subscribe"]["framework_info"];
        if (info.contains("id"))
            ids.insert(info["id"]["value"].get<std::string>());
    }
    return ids;
}

// Every acknowledgement the master received must be for an update whose
// state was already committed: its uuid is in the task history.
inline void require_every_ack_committed(Cluster& c) {
    for (const auto& a : c.master().acks()) {
        auto ids = task::parse_mesos_task_id(a.task_id);
        REQUIRE(ids);
        auto history = c.store().task_history(ids->first);
        REQUIRE(history);
        bool found = false;
        for (const auto& h : *history) {
            if (h.uuid == a.uuid)
                found = true;
        }
        INFO("ack for " << a.task_id << " uuid " << a.uuid);
        CHECK(found);
    }
}

#ifdef MESOFLOW_BINARY
// `mesoflow run` against the cluster's master and database, configured only
// through the environment (MESOFLOW_CONFIG names no file, so nothing on the
// machine is read), with the same short intervals as the in-process runtime.
// `env` ("KEY=value") adds keys or replaces these.
inline ChildProcess start_mesoflow(Cluster& c, const std::string& log_path,
                                   const std::vector<std::string>& env = {}) {
    std::vector<std::pair<std::string, std::string>> vars = {
        {"MESOFLOW_CONFIG", "/dev/null"},
        {"MESOFLOW_MASTER", c.master().address()},
        {"MESOFLOW_DATABASE", c.dsn()},
        {"MESOFLOW_FRAMEWORK_USER", "nobody"},
        {"MESOFLOW_FAILOVER_TIMEOUT", "3600"},
        {"MESOFLOW_REFUSE_SECONDS", "0.2"},
        {"MESOFLOW_IDLE_REFUSE_SECONDS", "1"},
        {"MESOFLOW_POLL_INTERVAL", "0.2"},
        {"MESOFLOW_RECONCILE_BACKOFF_MIN", "0.5"},
        {"MESOFLOW_RECONCILE_BACKOFF_MAX", "2"},
        {"MESOFLOW_BACKOFF_MIN", "0.05"},
        {"MESOFLOW_BACKOFF_MAX", "0.5"},
        {"MESOFLOW_ADMIN_LISTEN", "off"},
    };
    for (const auto& e : env) {
        const auto eq = e.find('=');
        const std::string key = e.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : e.substr(eq + 1);
        bool replaced = false;
        for (auto& [k, v] : vars) {
            if (k == key) {
                v = value;
                replaced = true;
            }
        }
        if (!replaced)
            vars.emplace_back(key, value);
    }
    SpawnOptions o;
    o.argv = {MESOFLOW_BINARY, "run"};
    for (const auto& [k, v] : vars)
        o.extra_env.push_back(k + "=" + v);
    o.output_path = log_path;
    return ChildProcess::spawn(o);
}
#endif

}  // namespace mesoflow::testing
