// Realistic large messages for timing the codec: an OFFERS event from a
// thousand-agent cluster and an ACCEPT launching a batch of Docker tasks.
#pragma once

#include <string>

#include "mesoflow/mesos/types.hpp"

namespace mesoflow::mesos::testing {

inline Resource offered_scalar(const std::string& name, double value) {
    Resource r;
    r.name = name;
    r.type = ValueType::scalar;
    r.scalar = value;
    r.role = "*";
    r.allocation_info = AllocationInfo{"batch"};
    return r;
}

inline Event offers_event(int offers) {
    Event::Offers body;
    for (int i = 0; i < offers; ++i) {
        Offer o;
        const std::string n = std::to_string(i);
        o.id = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-O" + n;
        o.framework_id = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-0000";
        o.agent_id = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-S" + n;
        o.hostname = "agent-" + n + ".example.com";
        o.url =
            Url{"http",
                Address{o.hostname,
                        "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), 5051},
                "/slave(1)",
                {},
                std::nullopt};
        Resource ports;
        ports.name = "ports";
        ports.type = ValueType::ranges;
        ports.ranges = {{31000, 31999}, {33000, 34000}};
        ports.role = "*";
        ports.allocation_info = AllocationInfo{"batch"};
        o.resources = {offered_scalar("cpus", 16), offered_scalar("mem", 63488),
                       offered_scalar("disk", 400000), ports};
        Attribute rack;
        rack.name = "rack";
        rack.type = ValueType::text;
        rack.text = "r" + std::to_string(i % 40);
        o.attributes = {rack};
        o.allocation_info = AllocationInfo{"batch"};
        body.offers.push_back(std::move(o));
    }
    return Event{std::move(body)};
}

inline Call accept_call(int tasks) {
    Call::Accept accept;
    accept.offer_ids = {"7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-O17"};
    OfferOperation::Launch launch;
    for (int i = 0; i < tasks; ++i) {
        TaskInfo t;
        t.name = "airflow.example_dag.task_" + std::to_string(i);
        t.task_id = "mf-" + std::to_string(100000 + i) + "-1";
        t.agent_id = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-S17";
        Resource ports;
        ports.name = "ports";
        ports.type = ValueType::ranges;
        ports.ranges = {
            {static_cast<std::uint64_t>(31000 + i), static_cast<std::uint64_t>(31000 + i)}};
        ports.allocation_info = AllocationInfo{"batch"};
        t.resources = {offered_scalar("cpus", 0.25), offered_scalar("mem", 512), ports};
        CommandInfo c;
        c.value =
            "airflow tasks run example_dag task_" + std::to_string(i) + " 2024-08-23T00:00:00";
        c.environment = {{"AIRFLOW__CORE__EXECUTOR", std::nullopt, "LocalExecutor"},
                         {"MESOFLOW_TASK_ID", std::nullopt, std::to_string(100000 + i)}};
        c.user = "airflow";
        t.command = c;
        ContainerInfo container;
        container.type = ContainerType::docker;
        DockerInfo docker;
        docker.image = "apache/airflow:2.9.3";
        docker.network = DockerNetwork::bridge;
        docker.port_mappings = {{static_cast<std::uint32_t>(31000 + i), 8793, "tcp"}};
        docker.force_pull_image = false;
        container.docker = docker;
        t.container = container;
        t.labels = {{"mesoflow.task", std::to_string(100000 + i)}, {"dag", "example_dag"}};
        launch.task_infos.push_back(std::move(t));
    }
    OfferOperation op;
    op.body = std::move(launch);
    accept.operations.push_back(std::move(op));
    accept.filters = Filters{5};
    Call call;
    call.framework_id = "7c1e4a52-0d2b-4f38-9b6a-1e2f3a4b5c6d-0000";
    call.body = std::move(accept);
    return call;
}

}  // namespace mesoflow::mesos::testing
