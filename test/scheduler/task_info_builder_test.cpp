#include "mesoflow/scheduler/task_info_builder.hpp"

#include <catch2/catch.hpp>

#include "offers.hpp"

using namespace mesoflow;

namespace {

// A launch planned from a real match, so its resources point into `offers`.
struct Planned {
    std::vector<mesos::Offer> offers;
    scheduler::MatchResult result;
    const scheduler::PlannedLaunch& launch() const { return result.plans.at(0).launches.at(0); }
};

Planned plan(const task::TaskSpec& t) {
    Planned p;
    p.offers = {mesoflow::testing::offer("o1", "S1", 8, 8192)};
    scheduler::OfferMatcher m;
    std::vector<task::TaskSpec> pending = {t};
    p.result = m.match(p.offers, pending, {});
    REQUIRE(p.result.launch_count() == 1);
    return p;
}

std::optional<std::string> label(const mesos::TaskInfo& t, const std::string& key) {
    std::optional<std::string> found;
    for (const auto& l : t.labels) {
        if (l.key == key) {
            REQUIRE_FALSE(found);  // each key once
            found = l.value;
        }
    }
    return found;
}

}  // namespace

TEST_CASE("a shell command runs through the shell with its environment, URIs and user") {
    auto t = mesoflow::testing::spec(7, 1, 64);
    t.shell_command = "echo $GREETING";
    t.env = {{"GREETING", "hello"}, {"B", "2"}};
    t.uris = {"https://example.com/a.tgz"};
    auto p = plan(t);
    auto info = scheduler::build_task_info(t, p.launch(), "S1", {"nobody", 0});
    CHECK(info.task_id == "mf-7-1");
    CHECK(info.agent_id == "S1");
    CHECK(info.name == "k7");
    REQUIRE(info.command);
    CHECK(info.command->shell);
    CHECK(info.command->value == "echo $GREETING");
    CHECK(info.command->arguments.empty());
    CHECK(info.command->user == "nobody");
    REQUIRE(info.command->environment.size() == 2);
    CHECK(info.command->environment[0].name == "GREETING");
    CHECK(info.command->environment[0].value == "hello");
    REQUIRE(info.command->uris.size() == 1);
    CHECK(info.command->uris[0].value == "https://example.com/a.tgz");
    CHECK_FALSE(info.container);
    CHECK_FALSE(info.kill_policy);
}

TEST_CASE("the task's resources are the planned ones, with the offer's allocation role") {
    auto t = mesoflow::testing::spec(7, 1.5, 640);
    t.ports = 2;
    auto p = plan(t);
    auto info = scheduler::build_task_info(t, p.launch(), "S1", {});
    CHECK(info.resources == p.launch().resources());
    REQUIRE(info.resources.size() == 3);
    CHECK(info.resources[0].name == "cpus");
    CHECK(info.resources[0].scalar == 1.5);
    CHECK(info.resources[1].scalar == 640);
    CHECK(info.resources[2].ranges == std::vector<mesos::Range>{{31000, 31001}});
    for (const auto& r : info.resources)
        CHECK(r.allocation_info->role == "web");
}

TEST_CASE("a task given ports finds them in PORT0.. and PORTS, unless it sets those itself") {
    auto t = mesoflow::testing::spec(7, 1, 64);
    t.ports = 3;
    t.env = {{"PORT1", "8080"}};
    auto p = plan(t);
    auto info = scheduler::build_task_info(t, p.launch(), "S1", {});
    std::vector<std::pair<std::string, std::string>> env;
    for (const auto& v : info.command->environment)
        env.emplace_back(v.name, v.value.value_or(""));
    CHECK(env == std::vector<std::pair<std::string, std::string>>{{"PORT1", "8080"},
                                                                  {"PORT0", "31000"},
                                                                  {"PORT2", "31002"},
                                                                  {"PORTS", "31000,31001,31002"}});
    auto none = mesoflow::testing::spec(8, 1, 64);
    auto q = plan(none);
    CHECK(scheduler::build_task_info(none, q.launch(), "S1", {}).command->environment.empty());
}

TEST_CASE("an argv runs without a shell, argv[0] as the program") {
    auto t = mesoflow::testing::spec(8, 1, 64);
    t.shell_command.reset();
    t.argv = {"airflow", "tasks", "run", "dag", "task"};
    t.user = "airflow";
    auto p = plan(t);
    auto info = scheduler::build_task_info(t, p.launch(), "S1", {"nobody", 0});
    CHECK_FALSE(info.command->shell);
    CHECK(info.command->value == "airflow");
    CHECK(info.command->arguments == t.argv);
    CHECK(info.command->user == "airflow");  // the task's user wins
}

TEST_CASE("no user anywhere leaves the command's user unset (the framework's applies)") {
    auto t = mesoflow::testing::spec(8, 1, 64);
    auto p = plan(t);
    CHECK_FALSE(scheduler::build_task_info(t, p.launch(), "S1", {}).command->user);
}

TEST_CASE("TaskInfo shapes for shells, argv and images on both containerizers") {
    using C = task::Containerizer;
    struct Case {
        std::string what;
        std::optional<std::string> shell;
        std::vector<std::string> argv;
        std::string image;
        C containerizer;
        bool force_pull;
        // expectations
        bool shell_flag;
        std::optional<std::string> value;
        std::vector<std::string> arguments;
        std::optional<mesos::ContainerType> container;
    };
    const std::vector<std::string> argv = {"python3", "job.py", "--x"};
    const std::vector<Case> cases = {
        {"shell, host", "echo hi", {}, "", C::none, false, true, "echo hi", {}, std::nullopt},
        {"argv, host", std::nullopt, argv, "", C::none, false, false, "python3", argv,
         std::nullopt},
        {"shell, docker",
         "echo hi",
         {},
         "py:3",
         C::docker,
         false,
         true,
         "echo hi",
         {},
         mesos::ContainerType::docker},
        {"argv, docker: docker run IMAGE argv", std::nullopt, argv, "py:3", C::docker, false, false,
         std::nullopt, argv, mesos::ContainerType::docker},
        {"entrypoint, docker",
         std::nullopt,
         {},
         "py:3",
         C::docker,
         true,
         false,
         std::nullopt,
         {},
         mesos::ContainerType::docker},
        {"image without containerizer runs in docker",
         std::nullopt,
         {},
         "py:3",
         C::none,
         false,
         false,
         std::nullopt,
         {},
         mesos::ContainerType::docker},
        {"shell, mesos",
         "echo hi",
         {},
         "py:3",
         C::mesos,
         false,
         true,
         "echo hi",
         {},
         mesos::ContainerType::mesos},
        {"argv, mesos", std::nullopt, argv, "py:3", C::mesos, false, false, "python3", argv,
         mesos::ContainerType::mesos},
        {"entrypoint, mesos",
         std::nullopt,
         {},
         "py:3",
         C::mesos,
         true,
         false,
         std::nullopt,
         {},
         mesos::ContainerType::mesos},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto t = mesoflow::testing::spec(9, 1, 64);
        t.shell_command = c.shell;
        t.argv = c.argv;
        t.image = c.image;
        t.containerizer = c.containerizer;
        t.force_pull = c.force_pull;
        auto p = plan(t);
        auto info = scheduler::build_task_info(t, p.launch(), "S1", {});
        REQUIRE(info.command);
        CHECK(info.command->shell == c.shell_flag);
        CHECK(info.command->value == c.value);
        CHECK(info.command->arguments == c.arguments);
        REQUIRE(info.container.has_value() == c.container.has_value());
        if (!c.container)
            continue;
        CHECK(info.container->type == *c.container);
        if (*c.container == mesos::ContainerType::docker) {
            REQUIRE(info.container->docker);
            CHECK_FALSE(info.container->mesos);
            CHECK(info.container->docker->image == c.image);
            CHECK(info.container->docker->network == mesos::DockerNetwork::host);
            CHECK(info.container->docker->force_pull_image == c.force_pull);
        } else {
            REQUIRE(info.container->mesos);
            CHECK_FALSE(info.container->docker);
            REQUIRE(info.container->mesos->image);
            CHECK(info.container->mesos->image->type == mesos::ImageType::docker);
            CHECK(info.container->mesos->image->docker_name == c.image);
            CHECK(info.container->mesos->image->cached == !c.force_pull);
        }
    }
}

TEST_CASE("labels carry the task's own labels and mesoflow's key, task id and attempt") {
    auto t = mesoflow::testing::spec(10, 1, 64);
    t.attempt = 1;
    t.labels = {{"team", "data"}, {"mesoflow.attempt", "99"}, {"mesoflow.other", "x"}};
    auto p = plan(t);
    auto info = scheduler::build_task_info(t, p.launch(), "S1", {});
    CHECK(info.task_id == "mf-10-2");
    CHECK(label(info, "team") == "data");
    CHECK(label(info, "mesoflow.key") == "k10");
    CHECK(label(info, "mesoflow.task_id") == "10");
    CHECK(label(info, "mesoflow.attempt") == "2");  // the task's own "99" is dropped
    CHECK_FALSE(label(info, "mesoflow.other"));
    CHECK(info.labels.size() == 4);
}

TEST_CASE("the kill grace period becomes the task's kill policy") {
    auto t = mesoflow::testing::spec(10, 1, 64);
    auto p = plan(t);
    auto info = scheduler::build_task_info(t, p.launch(), "S1", {"", 2.5});
    REQUIRE(info.kill_policy);
    CHECK(info.kill_policy->grace_period_ns == 2'500'000'000);
}

TEST_CASE("long task names are cut at a character boundary") {
    CHECK(scheduler::truncate_utf8("short", 10) == "short");
    CHECK(scheduler::truncate_utf8("abcdef", 3) == "abc");
    // "é" is two bytes: cutting after its first byte backs off before it.
    CHECK(scheduler::truncate_utf8("ab\xC3\xA9"
                                   "cd",
                                   3) == "ab");
    CHECK(scheduler::truncate_utf8("ab\xC3\xA9"
                                   "cd",
                                   4) == "ab\xC3\xA9");
    // A four-byte character cut anywhere inside is dropped whole.
    CHECK(scheduler::truncate_utf8("a\xF0\x9F\x98\x80", 4) == "a");

    auto t = mesoflow::testing::spec(11, 1, 64);
    t.key = std::string(scheduler::kMaxTaskNameBytes - 1, 'x') + "\xC3\xA9" + "tail";
    auto p = plan(t);
    auto info = scheduler::build_task_info(t, p.launch(), "S1", {});
    CHECK(info.name == std::string(scheduler::kMaxTaskNameBytes - 1, 'x'));
    CHECK(label(info, "mesoflow.key") == t.key);  // the label keeps the whole key
}

TEST_CASE(
    "volumes, networks and Docker parameters reach the ContainerInfo on both containerizers") {
    using C = task::Containerizer;
    using N = task::NetworkMode;
    using DN = mesos::DockerNetwork;
    const std::vector<task::Volume> volumes = {{"/srv/dags", "/opt/airflow/dags", true},
                                               {"/srv/logs", "/opt/airflow/logs", false}};
    const std::vector<std::pair<std::string, std::string>> parameters = {
        {"label", "team=etl"}, {"log-driver", "json-file"}};
    struct Case {
        std::string what;
        C containerizer;
        N network;
        std::string network_name;
        bool with_volumes;
        bool with_parameters;
        // expectations
        std::optional<DN> docker_network;             // Docker only
        std::vector<std::string> network_info_names;  // network_infos[].name
    };
    const std::vector<Case> cases = {
        {"docker, nothing asked: HOST as before",
         C::docker,
         N::unset,
         "",
         false,
         false,
         DN::host,
         {}},
        {"docker, host", C::docker, N::host, "", true, false, DN::host, {}},
        {"docker, bridge", C::docker, N::bridge, "", false, true, DN::bridge, {}},
        {"docker, none", C::none, N::none, "", true, true, DN::none, {}},
        {"docker, user network named in network_infos",
         C::docker,
         N::user,
         "airflow",
         true,
         true,
         DN::user,
         {"airflow"}},
        {"mesos, nothing asked", C::mesos, N::unset, "", false, false, std::nullopt, {}},
        {"mesos, host needs nothing", C::mesos, N::host, "", true, false, std::nullopt, {}},
        {"mesos, CNI network",
         C::mesos,
         N::user,
         "cni-etl",
         true,
         false,
         std::nullopt,
         {"cni-etl"}},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto t = mesoflow::testing::spec(9, 1, 64);
        t.shell_command = "true";
        t.image = "py:3";
        t.containerizer = c.containerizer;
        t.network = c.network;
        t.network_name = c.network_name;
        if (c.with_volumes)
            t.volumes = volumes;
        if (c.with_parameters)
            t.docker_parameters = parameters;
        auto p = plan(t);
        auto info = scheduler::build_task_info(t, p.launch(), "S1", {});
        REQUIRE(info.container);
        const auto& container = *info.container;
        if (c.with_volumes) {
            REQUIRE(container.volumes.size() == 2);
            CHECK(container.volumes[0].host_path == "/srv/dags");
            CHECK(container.volumes[0].container_path == "/opt/airflow/dags");
            CHECK(container.volumes[0].mode == mesos::VolumeMode::ro);
            CHECK_FALSE(container.volumes[0].image);
            CHECK(container.volumes[1].host_path == "/srv/logs");
            CHECK(container.volumes[1].mode == mesos::VolumeMode::rw);
        } else {
            CHECK(container.volumes.empty());
        }
        std::vector<std::string> names;
        for (const auto& n : container.network_infos)
            names.push_back(n.name.value_or("(unnamed)"));
        CHECK(names == c.network_info_names);
        if (c.docker_network) {
            REQUIRE(container.docker);
            CHECK(container.type == mesos::ContainerType::docker);
            CHECK(container.docker->network == *c.docker_network);
            CHECK_FALSE(container.docker->privileged);
            std::vector<std::pair<std::string, std::string>> got;
            for (const auto& param : container.docker->parameters)
                got.emplace_back(param.key, param.value);
            CHECK(got == (c.with_parameters ? parameters : decltype(parameters){}));
        } else {
            CHECK(container.type == mesos::ContainerType::mesos);
            CHECK_FALSE(container.docker);
        }
    }
}
