// mesoflow-fake-master: the fake Mesos master as a process, for the demo, the
// benchmark and manual runs. Prints one line once it listens (and, with --zk,
// is registered in ZooKeeper):
//   mesoflow-fake-master listening on 127.0.0.1:5050
// and runs until SIGINT or SIGTERM. Faults and state: README.md.
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "fake_master.hpp"
#include "mesoflow/common/log.hpp"
#include "zk_registration.hpp"

namespace {

using mesoflow::fake::AgentSpec;
using mesoflow::fake::ContainerTaskPolicy;
using mesoflow::fake::FakeMaster;
using mesoflow::fake::FakeMasterConfig;

// Keep freed heap instead of handing it back at once: under the benchmark's
// load the master frees and allocates JSON in bursts, and malloc, free and
// heap consolidation were over half of its CPU samples (the settings of
// mesoflow-fake-master-bench, whose in-process master already had them).
constexpr int kHeapTrimThreshold = 256 * 1024 * 1024;
constexpr int kHeapTopPad = 64 * 1024 * 1024;

constexpr const char* kUsage = R"(usage: mesoflow-fake-master [options]

A fake Apache Mesos master (v1 scheduler HTTP API) with simulated agents.

  --listen HOST:PORT          address to serve on (default 127.0.0.1:5050)
  --hostname NAME             hostname advertised in master_info (default: HOST)
  --agents N                  number of simulated agents (default 3)
  --cpus X --mem MB --disk MB --gpus N
                              resources of each agent (default 8, 32768, 65536, 0)
  --ports RANGES              port ranges of each agent (default 31000-32000)
  --attributes A              attributes of each agent, e.g. "zone:a;level:2"
  --racks N                   also give agent i the attribute rack:r<i mod N>
  --allocation-interval D     offer cycle (default 1s)
  --heartbeat-interval D      HEARTBEAT period (default 15s)
  --update-retry D            first status update redelivery (default 10s)
  --update-retry-max D        redelivery back-off cap (default 10m)
  --refuse-seconds S          default offer filter (default 5)
  --principal P --secret S    require HTTP Basic authentication
  --task-duration D           how long simulated tasks run (default 1s; 0 for none)
  --task-exit CODE            exit code of simulated tasks (default 0)
  --no-task-starting          skip TASK_STARTING (the command executor sends it)
  --kill-delay D              TASK_KILLING to TASK_KILLED for simulated tasks (default 0)
  --local                     run task commands as real processes in sandboxes
  --sandbox DIR               sandbox root in local mode (default: a new temp dir)
  --containers finish|fail    local mode: what to report for container tasks (default finish)
  --kill-grace D              local mode: SIGTERM to SIGKILL (default 3s)
  --record-calls N            calls kept for inspection (default 10000; 0 = all)
  --zk URL                    register in ZooKeeper as a Mesos master does, at
                              zk://host:port[,host:port]/path (an ephemeral node
                              <path>/json.info_<seq> holding MasterInfo as JSON)
  --log-level LEVEL           debug, info, warn or error (default info)
  --help                      this text

Durations: 250ms, 2s, 1.5s, 5m, 1h (a bare number means seconds).
Control endpoint: GET /fake/state, GET /fake/latency, POST /fake/control/<fault>
(see README.md).
)";

[[noreturn]] void usage_error(const std::string& message) {
    std::cerr << "mesoflow-fake-master: " << message << "\n(see --help)\n";
    std::exit(2);
}

std::chrono::milliseconds parse_duration(const std::string& flag, const std::string& text) {
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        usage_error(flag + ": not a duration: '" + text + "'");
    }
    const std::string unit = text.substr(used);
    double ms = 0;
    if (unit.empty() || unit == "s" || unit == "secs") {
        ms = value * 1000;
    } else if (unit == "ms") {
        ms = value;
    } else if (unit == "m" || unit == "mins") {
        ms = value * 60000;
    } else if (unit == "h") {
        ms = value * 3600000;
    } else {
        usage_error(flag + ": unknown unit in '" + text + "'");
    }
    if (ms < 0)
        usage_error(flag + ": must not be negative");
    return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

double parse_number(const std::string& flag, const std::string& text) {
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used != text.size())
            throw std::invalid_argument(text);
        return v;
    } catch (const std::exception&) {
        usage_error(flag + ": not a number: '" + text + "'");
    }
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> parse_ports(const std::string& text) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        const std::string part = text.substr(start, comma - start);
        const auto dash = part.find('-');
        try {
            const auto b = std::stoull(part.substr(0, dash));
            const auto e = dash == std::string::npos ? b : std::stoull(part.substr(dash + 1));
            if (e < b || e > 65535)
                throw std::out_of_range(part);
            out.emplace_back(b, e);
        } catch (const std::exception&) {
            usage_error("--ports: not a port range: '" + part + "'");
        }
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> parse_attributes(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto semi = text.find(';', start);
        const std::string part = text.substr(start, semi - start);
        const auto colon = part.find(':');
        if (colon == std::string::npos || colon == 0) {
            usage_error("--attributes: expected name:value, got '" + part + "'");
        }
        out.emplace_back(part.substr(0, colon), part.substr(colon + 1));
        if (semi == std::string::npos)
            break;
        start = semi + 1;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    FakeMasterConfig config;
    config.host = "127.0.0.1";
    config.port = 5050;
    config.max_recorded_calls = 10000;
    std::size_t agent_count = 3;
    std::size_t racks = 0;
    AgentSpec agent;
    std::optional<std::string> principal;
    std::optional<std::string> secret;

    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size())
                usage_error(flag + " needs a value");
            return args[++i];
        };
        if (flag == "--help" || flag == "-h") {
            std::cout << kUsage;
            return 0;
        } else if (flag == "--listen") {
            const std::string v = value();
            const auto colon = v.rfind(':');
            if (colon == std::string::npos)
                usage_error("--listen: expected HOST:PORT");
            config.host = v.substr(0, colon);
            config.port = static_cast<int>(parse_number(flag, v.substr(colon + 1)));
        } else if (flag == "--hostname") {
            config.advertised_hostname = value();
        } else if (flag == "--agents") {
            agent_count = static_cast<std::size_t>(parse_number(flag, value()));
        } else if (flag == "--cpus") {
            agent.cpus = parse_number(flag, value());
        } else if (flag == "--mem") {
            agent.mem = parse_number(flag, value());
        } else if (flag == "--disk") {
            agent.disk = parse_number(flag, value());
        } else if (flag == "--gpus") {
            agent.gpus = parse_number(flag, value());
        } else if (flag == "--ports") {
            agent.ports = parse_ports(value());
        } else if (flag == "--attributes") {
            agent.attributes = parse_attributes(value());
        } else if (flag == "--racks") {
            racks = static_cast<std::size_t>(parse_number(flag, value()));
        } else if (flag == "--allocation-interval") {
            config.allocation_interval = parse_duration(flag, value());
        } else if (flag == "--heartbeat-interval") {
            config.heartbeat_interval = parse_duration(flag, value());
        } else if (flag == "--update-retry") {
            config.update_retry_min = parse_duration(flag, value());
        } else if (flag == "--update-retry-max") {
            config.update_retry_max = parse_duration(flag, value());
        } else if (flag == "--refuse-seconds") {
            config.default_refuse_seconds = parse_number(flag, value());
        } else if (flag == "--principal") {
            principal = value();
        } else if (flag == "--secret") {
            secret = value();
        } else if (flag == "--task-duration") {
            config.default_task.run_time = parse_duration(flag, value());
        } else if (flag == "--task-exit") {
            config.default_task.exit_code = static_cast<int>(parse_number(flag, value()));
        } else if (flag == "--no-task-starting") {
            config.send_task_starting = false;
        } else if (flag == "--kill-delay") {
            config.kill_delay = parse_duration(flag, value());
        } else if (flag == "--local") {
            config.local = true;
        } else if (flag == "--sandbox") {
            config.sandbox_root = value();
        } else if (flag == "--containers") {
            const std::string v = value();
            if (v == "finish") {
                config.container_tasks = ContainerTaskPolicy::finish;
            } else if (v == "fail") {
                config.container_tasks = ContainerTaskPolicy::fail;
            } else {
                usage_error("--containers: expected finish or fail");
            }
        } else if (flag == "--kill-grace") {
            config.local_kill_grace = parse_duration(flag, value());
        } else if (flag == "--record-calls") {
            config.max_recorded_calls = static_cast<std::size_t>(parse_number(flag, value()));
        } else if (flag == "--zk") {
            config.zk_url = value();
            try {
                mesoflow::fake::parse_zk_url(config.zk_url);
            } catch (const std::invalid_argument& e) {
                usage_error(std::string("--zk: ") + e.what());
            }
        } else if (flag == "--log-level") {
            mesoflow::log::Level level{};
            if (!mesoflow::log::parse_level(value(), level))
                usage_error("--log-level: unknown");
            mesoflow::log::set_level(level);
        } else {
            usage_error("unknown option " + flag);
        }
    }
    if (principal.has_value() != secret.has_value()) {
        usage_error("--principal and --secret go together");
    }
    if (principal)
        config.credentials.push_back({*principal, *secret});
    config.agents = mesoflow::fake::uniform_agents(agent_count, agent);
    if (racks > 0) {
        for (std::size_t i = 0; i < config.agents.size(); ++i) {
            config.agents[i].attributes.emplace_back("rack", "r" + std::to_string(i % racks));
        }
    }

    mallopt(M_TRIM_THRESHOLD, kHeapTrimThreshold);
    mallopt(M_TOP_PAD, kHeapTopPad);

    // The signals are taken by sigwait below; threads inherit the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    try {
        FakeMaster master(config);
        std::printf("mesoflow-fake-master listening on %s\n", master.address().c_str());
        std::fflush(stdout);
        int sig = 0;
        sigwait(&signals, &sig);
        mesoflow::log::info("fake_master_stopping", "signal={}", sig);
    } catch (const std::exception& e) {
        std::cerr << "mesoflow-fake-master: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
