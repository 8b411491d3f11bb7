// /state: a JSON snapshot for operators, read from the admin thread.

#include "runtime_impl.hpp"

#include <nlohmann/json.hpp>

namespace mesoflow::runtime {

std::string Runtime::Impl::state_json() const {
    nlohmann::json j;
    {
        std::lock_guard lock(snapshot_mutex);
        j["framework_id"] = snapshot_framework_id;
        j["master"] = snapshot_master;
        j["subscribed_since_us"] = snapshot_subscribed_since_us
                                       ? nlohmann::json(*snapshot_subscribed_since_us)
                                       : nlohmann::json();
        // How the master is found: the list, or ZooKeeper and what it says.
        if (cfg.master_zookeeper) {
            nlohmann::json zk = {{"url", cfg.master_zookeeper->display()}};
            if (snapshot_detection) {
                zk["state"] = std::string(discovery::state_name(snapshot_detection->state));
                if (snapshot_detection->leader) {
                    zk["leader"] = snapshot_detection->leader->to_string();
                    zk["member"] = snapshot_detection->member;
                }
                if (!snapshot_detection->error.empty())
                    zk["error"] = snapshot_detection->error;
            }
            j["master_detection"] = "zookeeper";
            j["zookeeper"] = zk;
        } else {
            j["master_detection"] = "list";
        }
        // Who leads (the database's record: this process while it leads),
        // since when, and this process's own standing.
        const bool leading = metrics.leader.load() == 1;
        nlohmann::json l;
        l["role"] = snapshot_role;
        l["identity"] = identity;
        l["leader"] = snapshot_leader.empty() ? nlohmann::json() : nlohmann::json(snapshot_leader);
        l["leader_since_us"] =
            snapshot_leader_since_us ? nlohmann::json(*snapshot_leader_since_us) : nlohmann::json();
        l["epoch"] = snapshot_epoch;
        l["terms"] = metrics.leadership_terms.load();
        l["lost"] = metrics.leadership_lost.load();
        l["lease_s"] = static_cast<double>(metrics.lease_ms.load()) / 1000.0;
        const auto until = metrics.lease_valid_until_us.load();
        l["lease_remaining_s"] =
            leading && until > 0
                ? static_cast<double>(std::max<std::int64_t>(0, until - time.wall_us())) / 1e6
                : 0.0;
        j["leadership"] = l;
    }
    j["framework_name"] = cfg.framework_name;
    j["identity"] = identity;
    j["leader"] = metrics.leader.load() == 1;
    j["subscribed"] = metrics.subscribed.load() == 1;
    j["database_up"] = metrics.database_up.load() == 1;
    j["suppressed"] = metrics.suppressed.load() == 1;
    j["queue_pending"] = metrics.queue_pending.load();
    j["offers_held"] = metrics.offers_held.load();
    j["claims_held"] = metrics.claims_held.load();
    j["launch_window"] = metrics.launch_window.load();
    j["tasks_claimed"] = metrics.tasks_claimed.load();
    j["claim_batches"] = metrics.claim_batches.load();
    j["updates_waiting"] = metrics.updates_waiting.load();
    nlohmann::json states = nlohmann::json::object();
    for (std::size_t i = 0; i < metrics.tasks_by_state.size(); ++i) {
        states[std::string(task::to_string(static_cast<task::TaskState>(i)))] =
            metrics.tasks_by_state[i].load();
    }
    j["tasks_by_state"] = states;
    // mesoflow's own latencies since it started, in milliseconds.
    nlohmann::json latency = nlohmann::json::object();
    for (const auto& view : kLatencyViews) {
        const LatencyHistogram& h = metrics.*view.histogram;
        const auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000.0; };
        latency[std::string(view.key)] = {{"count", h.count()},
                                          {"p50_ms", ms(h.quantile_us(0.5))},
                                          {"p99_ms", ms(h.quantile_us(0.99))},
                                          {"max_ms", ms(h.max_us())}};
    }
    j["latency"] = latency;
    return j.dump();
}

}  // namespace mesoflow::runtime
