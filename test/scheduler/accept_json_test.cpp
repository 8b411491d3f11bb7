// The JSON the master receives for a planned Docker-image launch: the shape
// of an ACCEPT with a LAUNCH (docs/scheduler-http-api.md in the Mesos sources)
// whose TaskInfo runs in the Docker containerizer, produced end to end by
// the matcher, the TaskInfo builder, the call builder and the codec.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "mesoflow/scheduler/calls.hpp"
#include "mesoflow/scheduler/task_info_builder.hpp"
#include "mesos_codec/test_codec.hpp"
#include "offers.hpp"

using namespace mesoflow;
using nlohmann::json;

TEST_CASE("a Docker-image launch is sent as one ACCEPT in the master's JSON shape") {
    const std::string fw = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-0000";
    const std::string agent = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-S0";
    std::vector<mesos::Offer> offers = {
        mesoflow::testing::offer("7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-O1", agent, 4, 7936)};
    auto t = mesoflow::testing::spec(42, 0.5, 256);
    t.key = "etl.load.2024-06-01";
    t.shell_command = "airflow tasks run etl load 2024-06-01";
    t.image = "registry.local/airflow:2.9";
    t.containerizer = task::Containerizer::docker;
    t.ports = 1;
    t.env = {{"MODE", "prod"}};
    t.user = "airflow";
    std::vector<task::TaskSpec> pending = {t};

    scheduler::OfferMatcher matcher;
    auto match = matcher.match(offers, pending, scheduler::MatchOptions{{"web"}});
    REQUIRE(match.plans.size() == 1);
    const auto& plan = match.plans[0];
    auto info = scheduler::build_task_info(t, plan.launches[0], plan.agent_id, {"nobody", 30});
    auto call = scheduler::make_accept(fw, plan, {info}, 5.0);

    const json expected = json::parse(R"({
      "framework_id": {"value": "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-0000"},
      "type": "ACCEPT",
      "accept": {
        "offer_ids": [{"value": "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-O1"}],
        "operations": [{
          "type": "LAUNCH",
          "launch": {"task_infos": [{
            "name": "etl.load.2024-06-01",
            "task_id": {"value": "mf-42-1"},
            "agent_id": {"value": "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-S0"},
            "resources": [
              {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}, "role": "*",
               "allocation_info": {"role": "web"}},
              {"name": "mem", "type": "SCALAR", "scalar": {"value": 256.0}, "role": "*",
               "allocation_info": {"role": "web"}},
              {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 31000}]},
               "role": "*", "allocation_info": {"role": "web"}}],
            "command": {
              "shell": true,
              "value": "airflow tasks run etl load 2024-06-01",
              "environment": {"variables": [{"name": "MODE", "value": "prod"},
                                            {"name": "PORT0", "value": "31000"},
                                            {"name": "PORTS", "value": "31000"}]},
              "user": "airflow"},
            "container": {
              "type": "DOCKER",
              "docker": {"image": "registry.local/airflow:2.9", "network": "HOST",
                         "privileged": false, "force_pull_image": false}},
            "labels": {"labels": [
              {"key": "mesoflow.key", "value": "etl.load.2024-06-01"},
              {"key": "mesoflow.task_id", "value": "42"},
              {"key": "mesoflow.attempt", "value": "1"}]},
            "kill_policy": {"grace_period": {"nanoseconds": 30000000000}}
          }]}
        }],
        "filters": {"refuse_seconds": 5.0}
      }
    })");
    const json actual = json::parse(mesos::to_json(call));
    INFO(actual.dump(2));
    CHECK(actual == expected);

    // And the codec reads back exactly what was built.
    auto parsed = mesos::parse_call(mesos::to_json(call));
    REQUIRE(parsed);
    CHECK(*parsed == call);
}

TEST_CASE("a Docker launch's volumes, user network and parameters in the master's JSON shape") {
    std::vector<mesos::Offer> offers = {mesoflow::testing::offer("O1", "S0", 4, 4096)};
    auto t = mesoflow::testing::spec(7, 1, 128);
    t.key = "etl.extract";
    t.shell_command = "airflow tasks run etl extract";
    t.image = "apache/airflow:2.9.0";
    t.volumes = {{"/srv/airflow/dags", "/opt/airflow/dags", true},
                 {"/srv/airflow/logs", "/opt/airflow/logs", false}};
    t.network = task::NetworkMode::user;
    t.network_name = "airflow";
    t.docker_parameters = {{"label", "team=etl"}};
    std::vector<task::TaskSpec> pending = {t};
    scheduler::OfferMatcher matcher;
    auto match = matcher.match(offers, pending, {});
    REQUIRE(match.plans.size() == 1);
    const auto& plan = match.plans[0];
    auto info = scheduler::build_task_info(t, plan.launches[0], plan.agent_id, {});
    auto call = scheduler::make_accept("F", plan, {info}, 5.0);

    const json actual = json::parse(mesos::to_json(call));
    const json container = actual.at("accept")
                               .at("operations")
                               .at(0)
                               .at("launch")
                               .at("task_infos")
                               .at(0)
                               .at("container");
    const json expected = json::parse(R"({
      "type": "DOCKER",
      "volumes": [
        {"mode": "RO", "container_path": "/opt/airflow/dags", "host_path": "/srv/airflow/dags"},
        {"mode": "RW", "container_path": "/opt/airflow/logs", "host_path": "/srv/airflow/logs"}],
      "docker": {"image": "apache/airflow:2.9.0", "network": "USER", "privileged": false,
                 "parameters": [{"key": "label", "value": "team=etl"}],
                 "force_pull_image": false},
      "network_infos": [{"name": "airflow"}]
    })");
    INFO(container.dump(2));
    CHECK(container == expected);
    auto parsed = mesos::parse_call(mesos::to_json(call));
    REQUIRE(parsed);
    CHECK(*parsed == call);
}
