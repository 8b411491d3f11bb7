// Which users, roles, host paths, networks and Docker parameters the
// configuration lets tasks ask for: tables.
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

TEST_CASE("host paths normalise, or are refused when relative or climbing with ..") {
    using mesoflow::runtime::normalize_host_path;
    const std::pair<const char*, std::optional<std::string>> cases[] = {
        {"/", "/"},
        {"//", "/"},
        {"/data", "/data"},
        {"/data/", "/data"},
        {"//data//x/./y/", "/data/x/y"},
        {"/./etc", "/etc"},
        {"/data/..", std::nullopt},
        {"/data/../etc", std::nullopt},
        {"/data/x/../../etc", std::nullopt},
        {"/..", std::nullopt},
        {"/data/..x", "/data/..x"},  // a name, not a climb
        {"data", std::nullopt},
        {"./data", std::nullopt},
        {"", std::nullopt},
    };
    for (const auto& [path, expected] : cases) {
        CAPTURE(path);
        CHECK(normalize_host_path(path) == expected);
    }
}

TEST_CASE("container options: only the operator's host paths, networks and parameter keys launch") {
    using mesoflow::runtime::container_allowance_of;
    using mesoflow::runtime::container_refusal;
    using mesoflow::task::NetworkMode;
    using mesoflow::task::TaskSpec;
    using mesoflow::task::Volume;
    Config config;
    CHECK(config.allowed_networks == Names{"host", "bridge", "none", "user"});
    CHECK(config.allowed_volume_paths.empty());
    CHECK(config.allowed_docker_parameters.empty());

    struct Case {
        std::string what;
        Names volume_paths;
        Names parameters;
        std::optional<Names> networks;  // nullopt: the default
        std::vector<std::string> host_paths;
        NetworkMode network;
        std::vector<std::string> keys;
        std::string reason;  // empty: launched
        std::string named;   // what the message quotes
    };
    const std::vector<Case> cases = {
        {"nothing asked, nothing allowed",
         {},
         {},
         std::nullopt,
         {},
         NetworkMode::unset,
         {},
         "",
         ""},
        {"no volume by default",
         {},
         {},
         std::nullopt,
         {"/data"},
         NetworkMode::unset,
         {},
         "volume_not_allowed",
         "'/data'"},
        {"the prefix itself",
         {"/data"},
         {},
         std::nullopt,
         {"/data"},
         NetworkMode::unset,
         {},
         "",
         ""},
        {"under the prefix",
         {"/data"},
         {},
         std::nullopt,
         {"/data/dags", "/data/logs/x"},
         NetworkMode::unset,
         {},
         "",
         ""},
        {"whole components only",
         {"/data"},
         {},
         std::nullopt,
         {"/database"},
         NetworkMode::unset,
         {},
         "volume_not_allowed",
         "'/database'"},
        {"a prefix written with a trailing slash",
         {"/data/"},
         {},
         std::nullopt,
         {"/data/x"},
         NetworkMode::unset,
         {},
         "",
         ""},
        {"normalised before judged",
         {"/data"},
         {},
         std::nullopt,
         {"//data/./x//"},
         NetworkMode::unset,
         {},
         "",
         ""},
        {".. never climbs out",
         {"/data"},
         {},
         std::nullopt,
         {"/data/../etc"},
         NetworkMode::unset,
         {},
         "volume_not_allowed",
         "'/data/../etc'"},
        {".. refused even when it would land inside",
         {"/data"},
         {},
         std::nullopt,
         {"/data/x/../y"},
         NetworkMode::unset,
         {},
         "volume_not_allowed",
         "'/data/x/../y'"},
        {"the root",
         {"/data"},
         {},
         std::nullopt,
         {"/"},
         NetworkMode::unset,
         {},
         "volume_not_allowed",
         "'/'"},
        {"the Docker socket",
         {"/data", "/var/lib/airflow"},
         {},
         std::nullopt,
         {"/var/run/docker.sock"},
         NetworkMode::unset,
         {},
         "volume_not_allowed",
         "'/var/run/docker.sock'"},
        {"/etc",
         {"/data"},
         {},
         std::nullopt,
         {"/data/x", "/etc"},
         NetworkMode::unset,
         {},
         "volume_not_allowed",
         "'/etc'"},
        {"a relative host path",
         {"/data"},
         {},
         std::nullopt,
         {"data"},
         NetworkMode::unset,
         {},
         "volume_not_allowed",
         "'data'"},
        {"an operator's / allows any",
         {"/"},
         {},
         std::nullopt,
         {"/etc"},
         NetworkMode::unset,
         {},
         "",
         ""},
        {"an operator's prefix with .. allows nothing",
         {"/data/../"},
         {},
         std::nullopt,
         {"/"},
         NetworkMode::unset,
         {},
         "volume_not_allowed",
         "'/'"},
        {"default networks: all four", {}, {}, std::nullopt, {}, NetworkMode::user, {}, "", ""},
        {"narrowed networks",
         {},
         {},
         Names{"bridge"},
         {},
         NetworkMode::host,
         {},
         "network_not_allowed",
         "'host'"},
        {"narrowed networks, one allowed",
         {},
         {},
         Names{"bridge"},
         {},
         NetworkMode::bridge,
         {},
         "",
         ""},
        {"no network asked is never refused", {}, {}, Names{}, {}, NetworkMode::unset, {}, "", ""},
        {"no parameter by default",
         {},
         {},
         std::nullopt,
         {},
         NetworkMode::unset,
         {"label"},
         "docker_parameter_not_allowed",
         "'label'"},
        {"allowed keys",
         {},
         {"label", "log-driver"},
         std::nullopt,
         {},
         NetworkMode::unset,
         {"label", "log-driver", "label"},
         "",
         ""},
        {"privileged",
         {},
         {"label"},
         std::nullopt,
         {},
         NetworkMode::unset,
         {"label", "privileged"},
         "docker_parameter_not_allowed",
         "'privileged'"},
        {"cap-add",
         {},
         {"label"},
         std::nullopt,
         {},
         NetworkMode::unset,
         {"cap-add"},
         "docker_parameter_not_allowed",
         "'cap-add'"},
        {"pid",
         {},
         {"label"},
         std::nullopt,
         {},
         NetworkMode::unset,
         {"pid"},
         "docker_parameter_not_allowed",
         "'pid'"},
        {"volume by the back door",
         {"/data"},
         {"label"},
         std::nullopt,
         {},
         NetworkMode::unset,
         {"volume"},
         "docker_parameter_not_allowed",
         "'volume'"},
        {"keys match exactly",
         {},
         {"label"},
         std::nullopt,
         {},
         NetworkMode::unset,
         {"labels"},
         "docker_parameter_not_allowed",
         "'labels'"},
        {"a refused volume is named before a refused parameter",
         {},
         {},
         std::nullopt,
         {"/etc"},
         NetworkMode::unset,
         {"privileged"},
         "volume_not_allowed",
         "'/etc'"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        Config cfg;
        cfg.allowed_volume_paths = c.volume_paths;
        cfg.allowed_docker_parameters = c.parameters;
        if (c.networks)
            cfg.allowed_networks = *c.networks;
        TaskSpec spec;
        spec.image = "busybox";
        for (const auto& host : c.host_paths)
            spec.volumes.push_back(Volume{host, "/mnt", true});
        spec.network = c.network;
        for (const auto& key : c.keys)
            spec.docker_parameters.emplace_back(key, "true");
        const auto refusal = container_refusal(spec, container_allowance_of(cfg));
        if (c.reason.empty()) {
            CHECK_FALSE(refusal);
            continue;
        }
        REQUIRE(refusal);
        CHECK(refusal->reason == c.reason);
        CHECK_THAT(refusal->message, Catch::Contains(c.named + " is not allowed"));
        CHECK_THAT(refusal->message, Catch::Contains("nothing was launched"));
    }

    // The policy the runtime claims under judges the same way.
    Config cfg;
    cfg.framework_user = "mesoflow";
    cfg.allowed_volume_paths = {"/data"};
    const auto policy = launch_policy_of(cfg);
    REQUIRE(policy.refuse);
    TaskSpec spec;
    spec.volumes = {Volume{"/data/x", "/x", false}};
    CHECK_FALSE(policy.refuse(spec));
    spec.volumes.push_back(Volume{"/var/run/docker.sock", "/var/run/docker.sock", false});
    REQUIRE(policy.refuse(spec));
    CHECK(policy.refuse(spec)->reason == "volume_not_allowed");
}

TEST_CASE("a refusal's message escapes and quotes what the producer wrote, and cuts it short") {
    using mesoflow::runtime::container_refusal;
    using mesoflow::runtime::ContainerAllowance;
    mesoflow::task::TaskSpec spec;
    spec.volumes = {{"/it's\n\x1b[31mred", "/x", true}};
    auto refusal = container_refusal(spec, ContainerAllowance{});
    REQUIRE(refusal);
    CHECK_THAT(refusal->message, Catch::StartsWith("volume host_path '/it''s\\n\\x1b[31mred' is"));
    spec.volumes = {{"/" + std::string(1000, 'x'), "/x", true}};
    refusal = container_refusal(spec, ContainerAllowance{});
    REQUIRE(refusal);
    CHECK(refusal->message.size() < 400);
    CHECK_THAT(refusal->message, Catch::Contains("...' is not allowed"));
}

TEST_CASE("a user network named host, bridge, none or default is judged as that network") {
    using mesoflow::runtime::container_refusal;
    using mesoflow::runtime::ContainerAllowance;
    using mesoflow::runtime::judged_network;
    using mesoflow::task::NetworkMode;
    mesoflow::task::TaskSpec spec;
    spec.image = "busybox";
    spec.network = NetworkMode::user;
    const std::pair<const char*, const char*> names[] = {
        {"host", "host"}, {"bridge", "bridge"}, {"none", "none"},   {"default", "bridge"},
        {"etl", "user"},  {"HOST", "user"},     {"hostile", "user"}};
    for (const auto& [name, judged] : names) {
        spec.network_name = name;
        CAPTURE(name);
        CHECK(judged_network(spec) == judged);
    }
    ContainerAllowance allowed;
    allowed.networks = {"bridge", "user"};
    spec.network_name = "host";
    auto refusal = container_refusal(spec, allowed);
    REQUIRE(refusal);
    CHECK(refusal->reason == "network_not_allowed");
    CHECK(refusal->message ==
          "network 'user' named 'host' (Docker's 'host') is not allowed: the operator allows the "
          "networks in allowed_networks; nothing was launched");
    spec.network_name = "none";
    CHECK(container_refusal(spec, allowed));
    for (const char* name : {"bridge", "default", "etl"}) {
        spec.network_name = name;
        CAPTURE(name);
        CHECK_FALSE(container_refusal(spec, allowed));
    }
    // A network mode not allowed is not let in by a name either.
    allowed.networks = {"host"};
    spec.network_name = "host";
    CHECK_FALSE(container_refusal(spec, allowed));
    spec.network_name = "etl";
    CHECK(container_refusal(spec, allowed));
}

TEST_CASE("a task whose row could not be read exactly is refused, naming the column") {
    using mesoflow::runtime::container_refusal;
    using mesoflow::runtime::ContainerAllowance;
    mesoflow::task::TaskSpec spec;
    spec.unreadable = "env: a string is not valid JSON text in UTF-8";
    const auto refusal = container_refusal(spec, ContainerAllowance{});
    REQUIRE(refusal);
    CHECK(refusal->reason == "invalid_task");
    CHECK(refusal->message ==
          "the row could not be read exactly (env: a string is not valid JSON text in UTF-8); "
          "nothing was launched");
}

TEST_CASE("constraints past the pattern bounds are refused as invalid_task, naming which and why") {
    using mesoflow::runtime::constraint_refusal;
    using mesoflow::runtime::container_allowance_of;
    using mesoflow::runtime::container_refusal;
    using Op = mesoflow::task::Constraint::Op;
    auto unlike = [](std::size_t n, const std::string& prefix) {
        std::vector<mesoflow::task::Constraint> out;
        for (std::size_t i = 0; i < n; ++i)
            out.push_back({"hostname", Op::unlike, prefix + std::to_string(i)});
        return out;
    };
    struct Case {
        std::string what;
        std::vector<mesoflow::task::Constraint> constraints;
        std::string named;  // empty: not refused
        std::string why;
    };
    const std::vector<Case> cases = {
        {"none", {}, "", ""},
        {"a few plain patterns",
         {{"rack", Op::equals, "r1"}, {"hostname", Op::like, "gpu-.*"}},
         "",
         ""},
        {"32 patterns", unlike(32, "x"), "", ""},
        {"1,400 patterns that do not compile", unlike(1400, "\\pL{500}|x"),
         "constraint 33 of 1400 ('hostname' UNLIKE '\\pL{500}|x32')",
         "at most 32 LIKE / UNLIKE constraints; this one has 1400"},
        {"a pattern needing more than 64 KiB",
         {{"rack", Op::equals, "r1"}, {"hostname", Op::unlike, "\\pL{500}"}},
         "constraint 2 of 2 ('hostname' UNLIKE '\\pL{500}')",
         "does not compile within 64 KiB (pattern too large - compile failed)"},
        {"a pattern that does not parse",
         {{"rack", Op::like, "r[0-9"}},
         "constraint 1 of 1 ('rack' LIKE 'r[0-9')",
         "does not compile (missing ]: [0-9)"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        mesoflow::task::TaskSpec spec;
        spec.constraints = c.constraints;
        const auto refusal = constraint_refusal(spec);
        // The policy the runtime claims under judges the same way.
        Config cfg;
        cfg.framework_user = "mesoflow";
        const auto by_policy = launch_policy_of(cfg).refuse(spec);
        CHECK(container_refusal(spec, container_allowance_of(cfg)).has_value() == !c.named.empty());
        if (c.named.empty()) {
            CHECK_FALSE(refusal);
            CHECK_FALSE(by_policy);
            continue;
        }
        REQUIRE(refusal);
        REQUIRE(by_policy);
        CHECK(refusal->reason == "invalid_task");
        CHECK(by_policy->message == refusal->message);
        CHECK_THAT(refusal->message, Catch::StartsWith(c.named + " is refused: "));
        CHECK_THAT(refusal->message, Catch::Contains(c.why));
        CHECK_THAT(refusal->message, Catch::EndsWith("; nothing was launched"));
    }
}
