// mesoflow-fake-master-bench: how fast the fake master runs tasks when driven
// by a minimal client that only accepts offers and acknowledges updates (the
// "fake master ceiling" of mesoflow's benchmark). One thread, non-blocking
// sockets, requests pipelined on one call connection. By default it starts a
// FakeMaster in process; --master HOST:PORT drives a running binary instead.
//
//   mesoflow-fake-master-bench --tasks 100000 --agents 1000 [--json FILE]
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_master.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/mesos/recordio.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kHeapTrimThreshold = 256 * 1024 * 1024;
constexpr int kHeapTopPad = 64 * 1024 * 1024;

struct Options {
    std::size_t tasks = 100000;
    std::size_t agents = 1000;
    double agent_cpus = 8;
    double agent_mem = 32768;
    double task_cpus = 0.1;
    double task_mem = 32;
    std::chrono::milliseconds allocation_interval{20};
    bool send_starting = true;
    std::string master;  // empty: in process
    std::string json_path;
    double timeout_s = 600;
};

constexpr const char* kUsage = R"(usage: mesoflow-fake-master-bench [options]
  --tasks K                 zero-duration tasks to run (default 100000)
  --agents N                simulated agents (default 1000, in-process master only)
  --agent-cpus X --agent-mem MB   per agent (default 8, 32768)
  --task-cpus X --task-mem MB     per task (default 0.1, 32)
  --allocation-interval MS  offer cycle in ms (default 20)
  --no-task-starting        the master skips TASK_STARTING (two updates per task)
  --master HOST:PORT        drive a running mesoflow-fake-master instead
  --json FILE               also write the figures as flat JSON
  --timeout S               give up after S seconds (default 600)
)";

int connect_to(const std::string& host, int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
        throw std::runtime_error("not an IPv4 address: " + host);
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::runtime_error(fmt::format("cannot connect to {}:{}", host, port));
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

// A non-blocking socket with an output queue.
struct Socket {
    int fd = -1;
    std::string out;
    std::size_t sent = 0;  // bytes of `out` already written
    std::string in;
    bool closed = false;

    bool idle() const { return sent == out.size(); }
    void flush() {
        while (sent < out.size()) {
            const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    return;
                throw std::runtime_error("send failed");
            }
            sent += static_cast<std::size_t>(n);
        }
        out.clear();
        sent = 0;
    }
    void receive() {
        char buf[1 << 16];
        while (true) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n > 0) {
                in.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0)
                closed = true;
            return;
        }
    }
};

class Client {
  public:
    Client(const Options& o, std::string host, int port)
        : o_(o), host_(std::move(host)), port_(port) {}

    void run() {
        stream_.fd = connect_to(host_, port_);
        calls_.fd = connect_to(host_, port_);
        const std::string subscribe =
            R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"bench","name":"bench",)"
            R"("failover_timeout":600,"capabilities":[{"type":"PARTITION_AWARE"}]}}})";
        stream_.out = fmt::format(
            "POST /api/v1/scheduler HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            "Accept: application/json\r\nContent-Length: {}\r\n\r\n{}",
            subscribe.size(), subscribe);
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(o_.timeout_s));
        while (finished_ < o_.tasks) {
            if (Clock::now() > deadline)
                throw std::runtime_error("timed out");
            pollfd fds[2] = {
                {stream_.fd, static_cast<short>(POLLIN | (stream_.idle() ? 0 : POLLOUT)), 0},
                {calls_.fd, static_cast<short>(POLLIN | (calls_.idle() ? 0 : POLLOUT)), 0}};
            ::poll(fds, 2, 100);
            stream_.flush();
            calls_.flush();
            stream_.receive();
            calls_.receive();
            if (stream_.closed)
                throw std::runtime_error("the subscription stream closed");
            read_stream();
            read_responses();
            calls_.flush();
        }
        end_ = Clock::now();
    }

    void report(std::ostream& out, json& figures) const {
        const double seconds = std::chrono::duration<double>(end_ - start_).count();
        figures["tasks"] = finished_;
        figures["wall_s"] = seconds;
        figures["tasks_per_s"] = static_cast<double>(finished_) / seconds;
        figures["updates"] = updates_;
        figures["updates_per_s"] = static_cast<double>(updates_) / seconds;
        figures["calls"] = responses_;
        figures["calls_per_s"] = static_cast<double>(responses_) / seconds;
        figures["accept_calls"] = accepts_;
        figures["offers"] = offers_;
        out << fmt::format("tasks finished      {:>10}\n", finished_)
            << fmt::format(
                   "wall time           {:>10.3f} s (first ACCEPT to last terminal update)\n",
                   seconds)
            << fmt::format("tasks per second    {:>10.0f}\n", figures["tasks_per_s"].get<double>())
            << fmt::format("updates per second  {:>10.0f} ({} updates, each acknowledged)\n",
                           figures["updates_per_s"].get<double>(), updates_)
            << fmt::format("calls per second    {:>10.0f} ({} ACCEPT, {} offers)\n",
                           figures["calls_per_s"].get<double>(), accepts_, offers_);
    }

  private:
    void read_stream() {
        if (!head_seen_) {
            const auto end = stream_.in.find("\r\n\r\n");
            if (end == std::string::npos)
                return;
            const std::string head = stream_.in.substr(0, end);
            if (head.rfind("HTTP/1.1 200", 0) != 0)
                throw std::runtime_error("SUBSCRIBE: " + head);
            const auto id = head.find("Mesos-Stream-Id: ");
            stream_id_ = head.substr(id + 17, 36);
            stream_.in.erase(0, end + 4);
            head_seen_ = true;
        }
        // De-chunk what is complete, then decode records.
        std::size_t pos = 0;
        std::vector<std::string> records;
        while (true) {
            const auto nl = stream_.in.find("\r\n", pos);
            if (nl == std::string::npos)
                break;
            const std::size_t size = std::stoul(stream_.in.substr(pos, nl - pos), nullptr, 16);
            if (size == 0)
                throw std::runtime_error("the stream ended");
            if (stream_.in.size() < nl + 2 + size + 2)
                break;
            decoder_.feed(std::string_view(stream_.in).substr(nl + 2, size), records);
            pos = nl + 2 + size + 2;
        }
        stream_.in.erase(0, pos);
        if (decoder_.failed())
            throw std::runtime_error("RecordIO: " + decoder_.error());
        for (const auto& r : records)
            on_event(json::parse(r));
    }

    void on_event(const json& event) {
        const std::string& type = event["type"].get_ref<const std::string&>();
        if (type == "SUBSCRIBED") {
            framework_id_ = event["subscribed"]["framework_id"]["value"];
        } else if (type == "OFFERS") {
            for (const auto& offer : event["offers"]["offers"])
                on_offer(offer);
        } else if (type == "UPDATE") {
            const json& status = event["update"]["status"];
            ++updates_;
            if (status.contains("uuid")) {
                call(fmt::format(
                    R"({{"framework_id":{{"value":"{}"}},"type":"ACKNOWLEDGE","acknowledge":{{"agent_id":{{"value":"{}"}},"task_id":{{"value":"{}"}},"uuid":"{}"}}}})",
                    framework_id_, status["agent_id"]["value"].get_ref<const std::string&>(),
                    status["task_id"]["value"].get_ref<const std::string&>(),
                    status["uuid"].get_ref<const std::string&>()));
            }
            const std::string& state = status["state"].get_ref<const std::string&>();
            if (state != "TASK_STARTING" && state != "TASK_RUNNING")
                ++finished_;
        }
    }

    void on_offer(const json& offer) {
        ++offers_;
        double cpus = 0;
        double mem = 0;
        for (const auto& r : offer["resources"]) {
            if (r["name"] == "cpus")
                cpus = r["scalar"]["value"];
            if (r["name"] == "mem")
                mem = r["scalar"]["value"];
        }
        const auto fit = static_cast<std::size_t>(
            std::min(cpus / o_.task_cpus + 1e-9, mem / o_.task_mem + 1e-9));
        const std::size_t count = std::min(fit, o_.tasks - launched_);
        const std::string& agent = offer["agent_id"]["value"].get_ref<const std::string&>();
        std::string tasks;
        for (std::size_t i = 0; i < count; ++i) {
            if (i > 0)
                tasks += ',';
            tasks += fmt::format(
                R"({{"name":"b{0}","task_id":{{"value":"b{0}"}},"agent_id":{{"value":"{1}"}},"resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":{2}}}}},{{"name":"mem","type":"SCALAR","scalar":{{"value":{3}}}}}],"command":{{"value":"true"}}}})",
                launched_ + i, agent, o_.task_cpus, o_.task_mem);
        }
        launched_ += count;
        // Left-overs come back next cycle; with nothing left to launch, stay away.
        const double refuse = launched_ < o_.tasks ? 0 : 3600;
        if (count > 0 && !started_) {
            started_ = true;
            start_ = Clock::now();
        }
        ++accepts_;
        call(fmt::format(
            R"({{"framework_id":{{"value":"{}"}},"type":"ACCEPT","accept":{{"offer_ids":[{{"value":"{}"}}],"operations":[{{"type":"LAUNCH","launch":{{"task_infos":[{}]}}}}],"filters":{{"refuse_seconds":{}}}}}}})",
            framework_id_, offer["id"]["value"].get_ref<const std::string&>(), tasks, refuse));
    }

    void call(const std::string& body) {
        calls_.out += fmt::format(
            "POST /api/v1/scheduler HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            "Mesos-Stream-Id: {}\r\nContent-Length: {}\r\n\r\n",
            stream_id_, body.size());
        calls_.out += body;
    }

    void read_responses() {
        std::size_t pos = 0;
        while (true) {
            const auto end = calls_.in.find("\r\n\r\n", pos);
            if (end == std::string::npos)
                break;
            const std::string_view head(calls_.in.data() + pos, end - pos);
            const auto cl = head.find("Content-Length: ");
            const std::size_t length = cl == std::string_view::npos
                                           ? 0
                                           : std::stoul(std::string(head.substr(cl + 16, 12)));
            if (calls_.in.size() < end + 4 + length)
                break;
            if (head.substr(0, 12) != "HTTP/1.1 202") {
                throw std::runtime_error("call answered " + std::string(head.substr(0, 12)) + ": " +
                                         calls_.in.substr(end + 4, length));
            }
            ++responses_;
            pos = end + 4 + length;
        }
        calls_.in.erase(0, pos);
    }

    const Options& o_;
    std::string host_;
    int port_;
    Socket stream_;
    Socket calls_;
    bool head_seen_ = false;
    mesoflow::mesos::RecordIoDecoder decoder_;
    std::string stream_id_;
    std::string framework_id_;
    std::size_t launched_ = 0;
    std::size_t finished_ = 0;
    std::size_t updates_ = 0;
    std::size_t offers_ = 0;
    std::size_t accepts_ = 0;
    std::size_t responses_ = 0;
    bool started_ = false;
    Clock::time_point start_;
    Clock::time_point end_;
};

double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& f = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) {
                std::cerr << f << " needs a value\n";
                std::exit(2);
            }
            return args[++i];
        };
        if (f == "--help") {
            std::cout << kUsage;
            return 0;
        } else if (f == "--tasks") {
            o.tasks = std::stoul(value());
        } else if (f == "--agents") {
            o.agents = std::stoul(value());
        } else if (f == "--agent-cpus") {
            o.agent_cpus = std::stod(value());
        } else if (f == "--agent-mem") {
            o.agent_mem = std::stod(value());
        } else if (f == "--task-cpus") {
            o.task_cpus = std::stod(value());
        } else if (f == "--task-mem") {
            o.task_mem = std::stod(value());
        } else if (f == "--allocation-interval") {
            o.allocation_interval = std::chrono::milliseconds(std::stol(value()));
        } else if (f == "--no-task-starting") {
            o.send_starting = false;
        } else if (f == "--master") {
            o.master = value();
        } else if (f == "--json") {
            o.json_path = value();
        } else if (f == "--timeout") {
            o.timeout_s = std::stod(value());
        } else {
            std::cerr << "unknown option " << f << "\n" << kUsage;
            return 2;
        }
    }
    mesoflow::log::set_level(mesoflow::log::Level::warn);
    // Keep freed heap instead of returning it at once: the event loop
    // allocates and frees in bursts, and the kernel round trips show up.
    mallopt(M_TRIM_THRESHOLD, kHeapTrimThreshold);
    mallopt(M_TOP_PAD, kHeapTopPad);

    std::unique_ptr<mesoflow::fake::FakeMaster> master;
    std::string host = "127.0.0.1";
    int port = 0;
    if (o.master.empty()) {
        mesoflow::fake::FakeMasterConfig config;
        mesoflow::fake::AgentSpec agent;
        agent.cpus = o.agent_cpus;
        agent.mem = o.agent_mem;
        config.agents = mesoflow::fake::uniform_agents(o.agents, agent);
        config.allocation_interval = o.allocation_interval;
        config.default_task.run_time = std::chrono::milliseconds(0);
        config.send_task_starting = o.send_starting;
        config.max_recorded_calls = 1000;
        config.record_bodies = false;
        master = std::make_unique<mesoflow::fake::FakeMaster>(config);
        port = master->port();
    } else {
        const auto colon = o.master.rfind(':');
        host = o.master.substr(0, colon);
        port = std::stoi(o.master.substr(colon + 1));
    }

    const double cpu_before = cpu_seconds();
    const double client_before = thread_cpu_seconds();
    Client client(o, host, port);
    try {
        client.run();
    } catch (const std::exception& e) {
        std::cerr << "mesoflow-fake-master-bench: " << e.what() << "\n";
        return 1;
    }
    const double cpu = cpu_seconds() - cpu_before;
    const double client_cpu = thread_cpu_seconds() - client_before;
    // In process, everything but this thread is the master's event loop.
    const double master_cpu = cpu - client_cpu;
    json figures = {{"agents", o.agents},
                    {"task_cpus", o.task_cpus},
                    {"allocation_interval_ms", o.allocation_interval.count()},
                    {"task_starting", o.send_starting},
                    {"in_process", o.master.empty()},
                    {"cpu_s", cpu}};
    if (o.master.empty()) {
        figures["master_cpu_s"] = master_cpu;
        figures["master_capacity_tasks_per_s"] = static_cast<double>(o.tasks) / master_cpu;
    }
    std::cout << fmt::format(
        "fake master: {} agents, {} cpus each, tasks of {} cpus, zero "
        "duration, allocation every {} ms, {}\n",
        o.agents, o.agent_cpus, o.task_cpus, o.allocation_interval.count(),
        o.send_starting ? "STARTING+RUNNING+FINISHED" : "RUNNING+FINISHED");
    client.report(std::cout, figures);
    if (o.master.empty()) {
        std::cout << fmt::format("CPU master {:.3f} s, client {:.3f} s\n", master_cpu, client_cpu)
                  << fmt::format(
                         "master capacity     {:>10.0f} tasks per CPU second of its thread\n",
                         static_cast<double>(o.tasks) / master_cpu);
    }
    if (!o.json_path.empty())
        std::ofstream(o.json_path) << figures.dump(2) << "\n";
    return 0;
}
