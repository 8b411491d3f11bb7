#include "mesoflow/scheduler/calls.hpp"

#include <stdexcept>

namespace mesoflow::scheduler {
namespace {

mesos::Call with_framework(const std::string& framework_id, mesos::Call::Body body) {
    mesos::Call c;
    c.framework_id = framework_id;
    c.body = std::move(body);
    return c;
}

}  // namespace

mesos::Call make_subscribe(const FrameworkOptions& o,
                           const std::optional<std::string>& framework_id,
                           std::vector<std::string> suppressed_roles) {
    mesos::FrameworkInfo fi;
    fi.user = o.user;
    fi.name = o.name;
    fi.id = framework_id;
    fi.roles = o.roles;
    fi.checkpoint = o.checkpoint;
    fi.failover_timeout = o.failover_timeout_s;
    if (!o.hostname.empty())
        fi.hostname = o.hostname;
    if (!o.webui_url.empty())
        fi.webui_url = o.webui_url;
    if (!o.principal.empty())
        fi.principal = o.principal;
    fi.capabilities = {mesos::FrameworkCapability::multi_role,
                       mesos::FrameworkCapability::partition_aware,
                       mesos::FrameworkCapability::task_killing_state};
    if (o.gpu_resources)
        fi.capabilities.push_back(mesos::FrameworkCapability::gpu_resources);
    mesos::Call c;
    c.framework_id = framework_id;
    c.body = mesos::Call::Subscribe{std::move(fi), std::move(suppressed_roles)};
    return c;
}

mesos::Call make_accept(const std::string& framework_id, const AgentPlan& plan,
                        std::vector<mesos::TaskInfo> tasks, double refuse_seconds) {
    return make_accept(framework_id, plan.offer_ids, std::move(tasks), refuse_seconds);
}

mesos::Call make_accept(const std::string& framework_id, std::vector<std::string> offer_ids,
                        std::vector<mesos::TaskInfo> tasks, double refuse_seconds) {
    mesos::OfferOperation op;
    op.body = mesos::OfferOperation::Launch{std::move(tasks)};
    mesos::Call::Accept a;
    a.offer_ids = std::move(offer_ids);
    a.operations.push_back(std::move(op));
    a.filters = mesos::Filters{refuse_seconds};
    return with_framework(framework_id, std::move(a));
}

mesos::Call make_decline(const std::string& framework_id, std::vector<std::string> offer_ids,
                         double refuse_seconds) {
    return with_framework(
        framework_id, mesos::Call::Decline{std::move(offer_ids), mesos::Filters{refuse_seconds}});
}

mesos::Call make_acknowledge(const std::string& framework_id, const mesos::TaskStatus& status) {
    if (!status.uuid)
        throw std::invalid_argument("make_acknowledge: update of " + status.task_id +
                                    " carries no uuid and must not be acknowledged");
    return with_framework(framework_id, mesos::Call::Acknowledge{status.agent_id.value_or(""),
                                                                 status.task_id, *status.uuid});
}

mesos::Call make_kill(const std::string& framework_id, const std::string& task_id,
                      const std::optional<std::string>& agent_id) {
    return with_framework(framework_id, mesos::Call::Kill{task_id, agent_id, std::nullopt});
}

mesos::Call make_reconcile(const std::string& framework_id,
                           std::vector<mesos::Call::Reconcile::Task> tasks) {
    return with_framework(framework_id, mesos::Call::Reconcile{std::move(tasks)});
}

mesos::Call make_revive(std::vector<std::string> roles) {
    mesos::Call c;
    c.body = mesos::Call::Revive{std::move(roles)};
    return c;
}

mesos::Call make_suppress(std::vector<std::string> roles) {
    mesos::Call c;
    c.body = mesos::Call::Suppress{std::move(roles)};
    return c;
}

mesos::Call make_teardown(const std::string& framework_id) {
    return with_framework(framework_id, mesos::Call::Teardown{});
}

}  // namespace mesoflow::scheduler
