#include "mesoflow/scheduler/task_info_builder.hpp"

#include <cmath>

namespace mesoflow::scheduler {

mesos::TaskInfo build_task_info(const store::TaskSpec& spec, const PlannedLaunch& launch,
                                const std::string& agent_id, const TaskDefaults& defaults) {
    mesos::TaskInfo t;
    t.name = spec.key.size() > kMaxTaskNameBytes ? spec.key.substr(0, kMaxTaskNameBytes) : spec.key;
    t.task_id = launch.mesos_task_id;
    t.agent_id = agent_id;
    t.resources = launch.resources;

    mesos::CommandInfo cmd;
    if (spec.shell_command && !spec.shell_command->empty()) {
        cmd.shell = true;
        cmd.value = *spec.shell_command;
    } else if (!spec.argv.empty()) {
        cmd.shell = false;
        cmd.value = spec.argv.front();
        cmd.arguments = spec.argv;
    } else {
        cmd.shell = false;  // the image's entrypoint
    }
    for (const auto& [name, value] : spec.env) {
        mesos::EnvironmentVariable v;
        v.name = name;
        v.value = value;
        cmd.environment.push_back(std::move(v));
    }
    for (const auto& uri : spec.uris) {
        mesos::CommandUri u;
        u.value = uri;
        cmd.uris.push_back(std::move(u));
    }
    const std::string& user = spec.user.empty() ? defaults.user : spec.user;
    if (!user.empty())
        cmd.user = user;
    t.command = std::move(cmd);

    if (!spec.image.empty()) {
        mesos::ContainerInfo c;
        if (spec.containerizer == store::Containerizer::mesos) {
            c.type = mesos::ContainerType::mesos;
            mesos::Image image;
            image.type = mesos::ImageType::docker;
            image.docker_name = spec.image;
            image.cached = !spec.force_pull;
            c.mesos = mesos::MesosInfo{image};
        } else {
            c.type = mesos::ContainerType::docker;
            mesos::DockerInfo d;
            d.image = spec.image;
            d.network = mesos::DockerNetwork::host;
            if (spec.force_pull)
                d.force_pull_image = true;
            c.docker = std::move(d);
        }
        t.container = std::move(c);
    }

    for (const auto& [key, value] : spec.labels)
        t.labels.push_back({key, value});
    t.labels.push_back({"mesoflow.key", spec.key});
    t.labels.push_back({"mesoflow.task_id", std::to_string(spec.id)});
    t.labels.push_back({"mesoflow.attempt", std::to_string(launch.attempt)});

    if (defaults.kill_grace_period_s > 0) {
        mesos::KillPolicy k;
        k.grace_period_ns =
            static_cast<std::int64_t>(std::llround(defaults.kill_grace_period_s * 1e9));
        t.kill_policy = k;
    }
    return t;
}

}  // namespace mesoflow::scheduler
