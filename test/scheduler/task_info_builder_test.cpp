#include "mesoflow/scheduler/task_info_builder.hpp"

#include <catch2/catch.hpp>

#include "offers.hpp"

using namespace mesoflow;

namespace {

scheduler::PlannedLaunch launch_of(const store::TaskSpec& t) {
    scheduler::PlannedLaunch l;
    l.attempt = t.attempt + 1;
    l.mesos_task_id = store::mesos_task_id(t.id, l.attempt);
    l.resources = {mesoflow::testing::scalar("cpus", t.cpus)};
    return l;
}

std::optional<std::string> label(const mesos::TaskInfo& t, const std::string& key) {
    for (const auto& l : t.labels) {
        if (l.key == key)
            return l.value;
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("a shell command runs through the shell with its environment and user") {
    auto t = mesoflow::testing::task(7, 1, 64);
    t.shell_command = "echo $GREETING";
    t.env = {{"GREETING", "hello"}};
    t.uris = {"https://example.com/a.tgz"};
    t.labels = {{"team", "data"}};
    auto info = scheduler::build_task_info(t, launch_of(t), "S1", {"nobody", 0});
    CHECK(info.task_id == "mf-7-1");
    CHECK(info.agent_id == "S1");
    CHECK(info.name == "k7");
    REQUIRE(info.command);
    CHECK(info.command->shell);
    CHECK(info.command->value == "echo $GREETING");
    CHECK(info.command->user == "nobody");
    REQUIRE(info.command->environment.size() == 1);
    CHECK(info.command->environment[0].value == "hello");
    REQUIRE(info.command->uris.size() == 1);
    CHECK_FALSE(info.container);
    CHECK(label(info, "team") == "data");
    CHECK(label(info, "mesoflow.key") == "k7");
    CHECK(label(info, "mesoflow.task_id") == "7");
    CHECK(label(info, "mesoflow.attempt") == "1");
}

TEST_CASE("an argv runs without a shell") {
    auto t = mesoflow::testing::task(8, 1, 64);
    t.shell_command.reset();
    t.argv = {"airflow", "tasks", "run", "dag", "task"};
    t.user = "airflow";
    auto info = scheduler::build_task_info(t, launch_of(t), "S1", {"nobody", 0});
    CHECK_FALSE(info.command->shell);
    CHECK(info.command->value == "airflow");
    CHECK(info.command->arguments == t.argv);
    CHECK(info.command->user == "airflow");
}

TEST_CASE("an image runs in a Docker container or in the Mesos containerizer") {
    auto t = mesoflow::testing::task(9, 1, 64);
    t.image = "python:3.11";
    t.containerizer = store::Containerizer::docker;
    t.force_pull = true;
    auto docker = scheduler::build_task_info(t, launch_of(t), "S1", {});
    REQUIRE(docker.container);
    CHECK(docker.container->type == mesos::ContainerType::docker);
    CHECK(docker.container->docker->image == "python:3.11");
    CHECK(docker.container->docker->network == mesos::DockerNetwork::host);
    CHECK(docker.container->docker->force_pull_image == true);

    t.containerizer = store::Containerizer::mesos;
    auto ucr = scheduler::build_task_info(t, launch_of(t), "S1", {});
    REQUIRE(ucr.container);
    CHECK(ucr.container->type == mesos::ContainerType::mesos);
    CHECK(ucr.container->mesos->image->docker_name == "python:3.11");
    CHECK_FALSE(ucr.container->mesos->image->cached);

    t.containerizer = store::Containerizer::none;
    t.shell_command.reset();
    auto entry = scheduler::build_task_info(t, launch_of(t), "S1", {});
    CHECK(entry.container->type == mesos::ContainerType::docker);
    CHECK_FALSE(entry.command->shell);
    CHECK_FALSE(entry.command->value);
}

TEST_CASE("the kill grace period becomes the task's kill policy") {
    auto t = mesoflow::testing::task(10, 1, 64);
    auto info = scheduler::build_task_info(t, launch_of(t), "S1", {"", 2.5});
    REQUIRE(info.kill_policy);
    CHECK(info.kill_policy->grace_period_ns == 2'500'000'000);
}
