// Builders of the scheduler Calls mesoflow sends (in the Mesos sources:
// include/mesos/v1/scheduler/scheduler.proto, docs/scheduler-http-api.md). Pure.
// Every call but the first SUBSCRIBE carries the framework id; a re-SUBSCRIBE
// carries it in both framework_id and framework_info.id, as the master
// requires. REVIVE and SUPPRESS are built without it (the OfferGate makes
// them before it is known); the sender sets it.
//
// Capabilities: MULTI_ROLE, PARTITION_AWARE, TASK_KILLING_STATE, and
// GPU_RESOURCES when asked. Not RESERVATION_REFINEMENT: offers then come in
// the pre-refinement format (role + reservation), which the matcher copies
// back verbatim; refined (hierarchical) reservations are simply not offered.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/scheduler/offer_matcher.hpp"

namespace mesoflow::scheduler {

struct FrameworkOptions {
    std::string user;
    std::string name;
    std::vector<std::string> roles;
    std::string hostname;   // empty: not sent (the master uses the peer's)
    std::string webui_url;  // empty: not sent
    bool checkpoint = true;
    double failover_timeout_s = 0;
    std::string principal;  // empty: not sent
    bool gpu_resources = false;
};

// framework_id: the stored id of an earlier subscription, if any.
mesos::Call make_subscribe(const FrameworkOptions& options,
                           const std::optional<std::string>& framework_id,
                           std::vector<std::string> suppressed_roles);
// One LAUNCH of `tasks` on all of the plan's offers; what the tasks leave
// unused is declined with refuse_seconds.
mesos::Call make_accept(const std::string& framework_id, const AgentPlan& plan,
                        std::vector<mesos::TaskInfo> tasks, double refuse_seconds);
mesos::Call make_accept(const std::string& framework_id, std::vector<std::string> offer_ids,
                        std::vector<mesos::TaskInfo> tasks, double refuse_seconds);
mesos::Call make_decline(const std::string& framework_id, std::vector<std::string> offer_ids,
                         double refuse_seconds);
// Precondition: status.uuid is set (updates without one, such as every
// SOURCE_MASTER update, must not be acknowledged); throws
// std::invalid_argument otherwise. agent_id, task_id and uuid are copied verbatim.
mesos::Call make_acknowledge(const std::string& framework_id, const mesos::TaskStatus& status);
mesos::Call make_kill(const std::string& framework_id, const std::string& task_id,
                      const std::optional<std::string>& agent_id);
// An empty list asks for implicit reconciliation of every task.
mesos::Call make_reconcile(const std::string& framework_id,
                           std::vector<mesos::Call::Reconcile::Task> tasks);
// Empty roles: every subscribed role.
mesos::Call make_revive(std::vector<std::string> roles);
mesos::Call make_suppress(std::vector<std::string> roles);
mesos::Call make_teardown(const std::string& framework_id);

}  // namespace mesoflow::scheduler
