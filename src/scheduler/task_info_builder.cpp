#include "mesoflow/scheduler/task_info_builder.hpp"

#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace mesoflow::scheduler {
namespace {

constexpr std::string_view kLabelPrefix = "mesoflow.";

bool runs_in_docker(const task::TaskSpec& spec) {
    return !spec.image.empty() && spec.containerizer != task::Containerizer::mesos;
}

// PORT0..PORTn-1 and PORTS for the ports the task was given (the names
// Marathon made usual), unless the task sets the same names itself.
void add_port_environment(const std::vector<mesos::Resource>& resources, const task::TaskSpec& spec,
                          mesos::CommandInfo& cmd) {
    std::vector<std::uint64_t> ports;
    for (const auto& r : resources) {
        if (r.type != mesos::ValueType::ranges || r.name != "ports")
            continue;
        for (const auto& range : r.ranges) {
            for (auto port = range.begin; port <= range.end; ++port)
                ports.push_back(port);
        }
    }
    if (ports.empty())
        return;
    auto set = [&](std::string name, std::string value) {
        for (const auto& [own, unused] : spec.env) {
            if (own == name)
                return;
        }
        mesos::EnvironmentVariable v;
        v.name = std::move(name);
        v.value = std::move(value);
        cmd.environment.push_back(std::move(v));
    };
    std::string all;
    for (std::size_t i = 0; i < ports.size(); ++i) {
        set("PORT" + std::to_string(i), std::to_string(ports[i]));
        all += (i > 0 ? "," : "") + std::to_string(ports[i]);
    }
    set("PORTS", all);
}

mesos::CommandInfo command_of(const task::TaskSpec& spec, const TaskDefaults& defaults) {
    mesos::CommandInfo cmd;
    if (spec.shell_command && !spec.shell_command->empty()) {
        cmd.shell = true;
        cmd.value = *spec.shell_command;
    } else if (!spec.argv.empty()) {
        cmd.shell = false;
        if (!runs_in_docker(spec))
            cmd.value = spec.argv.front();
        cmd.arguments = spec.argv;
    } else {
        cmd.shell = false;  // the image's ENTRYPOINT/CMD
    }
    cmd.environment.reserve(spec.env.size());
    for (const auto& [name, value] : spec.env) {
        mesos::EnvironmentVariable v;
        v.name = name;
        v.value = value;
        cmd.environment.push_back(std::move(v));
    }
    cmd.uris.reserve(spec.uris.size());
    for (const auto& uri : spec.uris) {
        mesos::CommandUri u;
        u.value = uri;
        cmd.uris.push_back(std::move(u));
    }
    const std::string& user = spec.user.empty() ? defaults.user : spec.user;
    if (!user.empty())
        cmd.user = user;
    return cmd;
}

mesos::DockerNetwork docker_network(task::NetworkMode mode) {
    switch (mode) {
        case task::NetworkMode::unset:
        case task::NetworkMode::host:
            break;
        case task::NetworkMode::bridge:
            return mesos::DockerNetwork::bridge;
        case task::NetworkMode::none:
            return mesos::DockerNetwork::none;
        case task::NetworkMode::user:
            return mesos::DockerNetwork::user;
    }
    return mesos::DockerNetwork::host;
}

// Host paths mounted into the container, as both containerizers read them.
std::vector<mesos::Volume> volumes_of(const task::TaskSpec& spec) {
    std::vector<mesos::Volume> out;
    out.reserve(spec.volumes.size());
    for (const auto& v : spec.volumes) {
        mesos::Volume volume;
        volume.mode = v.read_only ? mesos::VolumeMode::ro : mesos::VolumeMode::rw;
        volume.container_path = v.container_path;
        volume.host_path = v.host_path;
        out.push_back(std::move(volume));
    }
    return out;
}

mesos::ContainerInfo container_of(const task::TaskSpec& spec) {
    mesos::ContainerInfo c;
    c.volumes = volumes_of(spec);
    // A user network is named in NetworkInfo.name: a CNI network for the
    // Mesos containerizer, a Docker network (with DockerInfo.network USER)
    // for Docker. Host is either's default and needs nothing; bridge and
    // none are Docker's own (the queue table refuses them otherwise).
    if (spec.network == task::NetworkMode::user) {
        mesos::NetworkInfo network;
        network.name = spec.network_name;
        c.network_infos.push_back(std::move(network));
    }
    if (runs_in_docker(spec)) {
        c.type = mesos::ContainerType::docker;
        mesos::DockerInfo d;
        d.image = spec.image;
        d.network = docker_network(spec.network);
        d.force_pull_image = spec.force_pull;
        d.parameters.reserve(spec.docker_parameters.size());
        for (const auto& [key, value] : spec.docker_parameters)
            d.parameters.push_back(mesos::Parameter{key, value});
        c.docker = std::move(d);
    } else {
        c.type = mesos::ContainerType::mesos;
        mesos::Image image;
        image.type = mesos::ImageType::docker;
        image.docker_name = spec.image;
        image.cached = !spec.force_pull;
        c.mesos = mesos::MesosInfo{std::move(image)};
    }
    return c;
}

}  // namespace

std::string truncate_utf8(const std::string& text, std::size_t max_bytes) {
    if (text.size() <= max_bytes)
        return text;
    std::size_t end = max_bytes;
    // Back off continuation bytes (10xxxxxx) to the start of the cut character.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;
    return text.substr(0, end);
}

mesos::TaskInfo build_task_info(const task::TaskSpec& spec, const PlannedLaunch& launch,
                                const std::string& agent_id, const TaskDefaults& defaults) {
    mesos::TaskInfo t;
    t.name = truncate_utf8(spec.key, kMaxTaskNameBytes);
    t.task_id = launch.mesos_task_id;
    t.agent_id = agent_id;
    t.resources = launch.resources();
    t.command = command_of(spec, defaults);
    add_port_environment(t.resources, spec, *t.command);
    if (!spec.image.empty())
        t.container = container_of(spec);

    t.labels.reserve(spec.labels.size() + 3);
    for (const auto& [key, value] : spec.labels) {
        if (!key.starts_with(kLabelPrefix))
            t.labels.push_back({key, value});
    }
    t.labels.push_back({"mesoflow.key", spec.key});
    t.labels.push_back({"mesoflow.task_id", std::to_string(spec.id)});
    t.labels.push_back({"mesoflow.attempt", std::to_string(launch.attempt)});

    if (defaults.kill_grace_period_s > 0) {
        mesos::KillPolicy k;
        k.grace_period_ns = std::llround(defaults.kill_grace_period_s * 1e9);
        t.kill_policy = k;
    }
    return t;
}

}  // namespace mesoflow::scheduler
