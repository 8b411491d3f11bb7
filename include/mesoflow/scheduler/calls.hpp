// Builders of the scheduler Calls mesoflow sends. Pure. Every call but the
// first SUBSCRIBE carries the framework id; a re-SUBSCRIBE carries it in both
// framework_id and framework_info.id, as the master requires.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mesoflow/mesos/types.hpp"

namespace mesoflow::scheduler {

struct FrameworkOptions {
    std::string user;
    std::string name;
    std::vector<std::string> roles;
    std::string hostname;
    std::string webui_url;
    bool checkpoint = true;
    double failover_timeout_s = 0;
    std::string principal;
    bool gpu_resources = false;
};

mesos::Call make_subscribe(const FrameworkOptions& options,
                           const std::optional<std::string>& framework_id,
                           std::vector<std::string> suppressed_roles);
mesos::Call make_accept(const std::string& framework_id, std::vector<std::string> offer_ids,
                        std::vector<mesos::TaskInfo> tasks, double refuse_seconds);
mesos::Call make_decline(const std::string& framework_id, std::vector<std::string> offer_ids,
                         double refuse_seconds);
// Only for a status that carries a uuid.
mesos::Call make_acknowledge(const std::string& framework_id, const mesos::TaskStatus& status);
mesos::Call make_kill(const std::string& framework_id, const std::string& task_id,
                      const std::optional<std::string>& agent_id);
// An empty list asks for implicit reconciliation of every task.
mesos::Call make_reconcile(const std::string& framework_id,
                           std::vector<mesos::Call::Reconcile::Task> tasks);
mesos::Call make_revive(std::vector<std::string> roles);
mesos::Call make_suppress(std::vector<std::string> roles);
mesos::Call make_teardown(const std::string& framework_id);

}  // namespace mesoflow::scheduler
