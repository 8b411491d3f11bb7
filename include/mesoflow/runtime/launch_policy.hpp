// Which users and roles the operator lets tasks ask for, from the
// configuration: what the runtime's claims refuse the rest by.
#pragma once

#include "mesoflow/config/config.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::runtime {

// Users: allowed_users, or framework_user alone when that is empty; "*" in
// allowed_users allows any. Roles: allowed_roles (roles when empty), only
// those also in roles, since the framework is offered no other.
// `config.framework_user` is the resolved user (`mesoflow run` fills it in).
store::LaunchPolicy launch_policy_of(const config::Config& config);

}  // namespace mesoflow::runtime
