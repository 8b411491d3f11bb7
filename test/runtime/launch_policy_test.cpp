// Which users and roles the configuration lets tasks ask for: a table.
#include <catch2/catch.hpp>

#include "mesoflow/runtime/launch_policy.hpp"

using mesoflow::config::Config;
using mesoflow::runtime::launch_policy_of;
using Names = std::vector<std::string>;

TEST_CASE("the launch policy: framework_user and roles unless the operator allows more") {
    struct Case {
        Names allowed_users;
        Names roles;
        Names allowed_roles;
        std::optional<Names> users;  // nullopt: any
        Names expected_roles;
    };
    const Case cases[] = {
        {{}, {"*"}, {}, Names{"mesoflow"}, {"*"}},
        {{"etl", "airflow"}, {"*"}, {}, Names{"etl", "airflow"}, {"*"}},
        {{"etl", "*"}, {"*"}, {}, std::nullopt, {"*"}},
        {{}, {"batch", "prod"}, {}, Names{"mesoflow"}, {"batch", "prod"}},
        {{}, {"batch", "prod"}, {"batch"}, Names{"mesoflow"}, {"batch"}},
        // A role outside roles is never offered, so never allowed.
        {{}, {"batch"}, {"batch", "prod", "*"}, Names{"mesoflow"}, {"batch"}},
    };
    for (const auto& c : cases) {
        Config config;
        config.framework_user = "mesoflow";
        config.allowed_users = c.allowed_users;
        config.roles = c.roles;
        config.allowed_roles = c.allowed_roles;
        const auto policy = launch_policy_of(config);
        CAPTURE(c.allowed_users, c.roles, c.allowed_roles);
        CHECK(policy.users == c.users);
        REQUIRE(policy.roles.has_value());
        CHECK(*policy.roles == c.expected_roles);
    }
}
