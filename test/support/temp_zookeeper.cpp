#include "temp_zookeeper.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace mesoflow::testing {
namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(60);
constexpr auto kKillWait = std::chrono::seconds(10);
// The server's tick: sessions may ask for timeouts from 2 ticks (1 s) up to
// maxSessionTimeout below, so tests of session expiry stay short.
constexpr int kTickMs = 500;
constexpr int kMaxSessionTimeoutMs = 60000;

}  // namespace

std::string zookeeper_classpath() {
    if (const char* env = std::getenv("MESOFLOW_ZK_CLASSPATH"); env != nullptr && *env != '\0') {
        return env;
    }
    if (!fs::exists("/usr/share/java/zookeeper.jar")) {
        throw std::runtime_error(
            "ZooKeeper server not found (install package zookeeper, or set "
            "MESOFLOW_ZK_CLASSPATH)");
    }
    // The jars the server needs besides its own (Netty, SLF4J, ...) are in
    // the same directory.
    return "/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/*";
}

bool zookeeper_serving(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    timeval timeout{};
    timeout.tv_sec = 2;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    std::string reply;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::send(fd, "srvr", 4, MSG_NOSIGNAL) == 4) {
        char buf[1024];
        ssize_t n = 0;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
            reply.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    // A server that listens but has not loaded its data yet answers "This
    // ZooKeeper instance is not currently serving requests".
    return reply.find("Zookeeper version:") != std::string::npos;
}

TempZooKeeper::TempZooKeeper()
    : classpath_(zookeeper_classpath()), run_as_(unprivileged_user_if_root()) {
    char tmpl[] = "/tmp/mesoflow-zk-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
        throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    data_dir_ = dir_ + "/data";
    config_path_ = dir_ + "/zoo.cfg";
    log_path_ = dir_ + "/server.log";
    fs::create_directory(data_dir_);
    if (run_as_) {
        if (chown(dir_.c_str(), run_as_->uid, run_as_->gid) != 0 ||
            chown(data_dir_.c_str(), run_as_->uid, run_as_->gid) != 0) {
            fs::remove_all(dir_);
            throw std::runtime_error("cannot hand " + dir_ + " to the unprivileged user");
        }
    }
    port_ = free_loopback_port();
    {
        std::ofstream config(config_path_);
        config << "tickTime=" << kTickMs << "\n"
               << "dataDir=" << data_dir_ << "\n"
               << "clientPort=" << port_ << "\n"
               << "clientPortAddress=127.0.0.1\n"
               << "maxClientCnxns=0\n"
               << "maxSessionTimeout=" << kMaxSessionTimeoutMs << "\n";
    }
    try {
        start();
    } catch (...) {
        server_.stop(SIGKILL, kKillWait);
        fs::remove_all(dir_);
        throw;
    }
}

TempZooKeeper::~TempZooKeeper() {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

TempZooKeeper& TempZooKeeper::shared() {
    static TempZooKeeper instance;
    return instance;
}

std::string TempZooKeeper::connect_string() const {
    return "127.0.0.1:" + std::to_string(port_);
}

bool TempZooKeeper::running() {
    return server_.running();
}

void TempZooKeeper::start() {
    if (server_.running())
        return;
    SpawnOptions opts;
    opts.argv = {"java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                 "-XX:-UsePerfData",
                 // Without it the server also serves its admin console on
                 // port 8080, and exits when that port is taken.
                 "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=srvr",
                 "-Dzookeeper.forceSync=no", "-cp", classpath_,
                 "org.apache.zookeeper.server.ZooKeeperServerMain", config_path_};
    opts.run_as = run_as_;
    opts.output_path = log_path_;
    opts.death_signal = SIGKILL;
    server_ = ChildProcess::spawn(opts);
    wait_ready();
}

void TempZooKeeper::wait_ready() {
    wait_until_ready(
        server_, "zookeeper", log_path_, [&] { return zookeeper_serving(port_); }, kReadyTimeout);
}

void TempZooKeeper::stop() {
    server_.stop(SIGKILL, kKillWait);
}

void TempZooKeeper::restart() {
    stop();
    start();
}

}  // namespace mesoflow::testing
