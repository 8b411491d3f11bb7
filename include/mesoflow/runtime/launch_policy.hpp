// Which users, roles, host paths, networks and Docker parameters the
// operator lets tasks ask for, from the configuration: what the runtime's
// claims refuse the rest by. The judging is pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/config/config.hpp"
#include "mesoflow/store/task_store.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::runtime {

// Users: allowed_users, or framework_user alone when that is empty; "*" in
// allowed_users allows any. Roles: allowed_roles (roles when empty), only
// those also in roles, since the framework is offered no other. Volumes,
// networks and Docker parameters: container_refusal under
// container_allowance_of(config); constraint patterns: constraint_refusal.
// `config.framework_user` is the resolved user (`mesoflow run` fills it in).
store::LaunchPolicy launch_policy_of(const config::Config& config);

// What a task's container may ask for. A volume, a Docker parameter or a
// network is a way to root on the agent (a volume of / or of
// /var/run/docker.sock, --privileged, --cap-add, --pid=host, ...), so
// nothing is allowed but what the operator lists.
struct ContainerAllowance {
    std::vector<std::string> volume_paths;       // host path prefixes, normalised
    std::vector<std::string> docker_parameters;  // parameter keys
    std::vector<std::string> networks;           // host, bridge, none, user
};

// allowed_volume_paths (normalised; one that does not normalise allows
// nothing), allowed_docker_parameters, allowed_networks.
ContainerAllowance container_allowance_of(const config::Config& config);

// The network `spec` is judged as: its network mode, except a user network
// named host, bridge or none, which Docker joins as that mode (--net=host),
// and one named default, Docker's bridge.
std::string judged_network(const task::TaskSpec& spec);

// `path` made canonical: absolute, single slashes, no "." component, no
// trailing slash ("/" stays "/"). nullopt when it is not absolute or has a
// ".." component (refused rather than resolved: the check is on text, and
// text is all a claim has).
std::optional<std::string> normalize_host_path(std::string_view path);

// Whether normalised `path` is `prefix` or lies under it, by whole
// components: /data holds /data and /data/x, not /database.
bool path_within(std::string_view path, std::string_view prefix);

// Why `spec` may not launch under `allowed` (reason volume_not_allowed,
// network_not_allowed or docker_parameter_not_allowed; the message names
// the first refused host path, network or parameter key, escaped and
// quoted), or nullopt when it may. A task with no volumes, no network and no
// Docker parameters is never refused here, unless a column of its row could
// not be read (`spec.unreadable`): reason invalid_task, the message naming
// the column and why, since it would launch with less than its row holds;
// or by constraint_refusal, which it also applies.
std::optional<store::ClaimRefusal> container_refusal(const task::TaskSpec& spec,
                                                     const ContainerAllowance& allowed);

// Why `spec`'s LIKE / UNLIKE constraints may not be matched
// (scheduler::pattern_problem: too many, too long, or a pattern that does not
// compile within its memory), reason invalid_task, the message naming the
// constraint (its position, attribute, op and pattern, escaped and quoted)
// and why; nullopt when they may. Compiles the patterns: the claim calls it
// on the database thread, so the event loop never compiles a pattern a task
// could not launch with.
std::optional<store::ClaimRefusal> constraint_refusal(const task::TaskSpec& spec);

}  // namespace mesoflow::runtime
