// TempZooKeeper: a throwaway standalone ZooKeeper server for tests. A JVM
// running ZooKeeperServerMain on a free loopback port (bound to 127.0.0.1
// only), its data in a fresh temp dir, run as user "nobody" when the tests run
// as root. Ready once it answers the "srvr" command as a serving server;
// stopped (killed) and its directory deleted by the destructor, and killed with
// the test process if that crashes. Nothing here touches a ZooKeeper that may
// already run on the machine.
//
// TempZooKeeper::shared() starts one server per test process on first use;
// tests keep apart by using their own znode paths.
#pragma once

#include <optional>
#include <string>

#include "process.hpp"

namespace mesoflow::testing {

class TempZooKeeper {
  public:
    TempZooKeeper();  // starts the server; throws std::runtime_error with its output
    ~TempZooKeeper();
    TempZooKeeper(const TempZooKeeper&) = delete;
    TempZooKeeper& operator=(const TempZooKeeper&) = delete;

    static TempZooKeeper& shared();

    // Kills the JVM (SIGKILL), as a crashed or unreachable server looks to
    // its clients; the data dir is kept. A no-op when stopped.
    void stop();
    // Starts the server again on the same port and data dir (sessions whose
    // timeout has not passed and their ephemeral nodes survive, as in a real
    // restart). Waits until it serves. A no-op when running.
    void start();
    void restart();  // stop + start
    bool running();

    int port() const { return port_; }
    // "127.0.0.1:PORT": the host list of a ZooKeeper client or of a zk:// URL.
    std::string connect_string() const;
    const std::string& data_dir() const { return data_dir_; }
    const std::string& log_path() const { return log_path_; }

  private:
    void wait_ready();
    std::string dir_;
    std::string data_dir_;
    std::string config_path_;
    std::string log_path_;
    std::string classpath_;
    int port_ = 0;
    std::optional<UnprivilegedUser> run_as_;
    ChildProcess server_;
};

// The JVM class path of the ZooKeeper server (Debian 12's zookeeper package),
// or $MESOFLOW_ZK_CLASSPATH when set.
std::string zookeeper_classpath();

// Whether a ZooKeeper server on 127.0.0.1:port answers "srvr" as one that
// serves requests.
bool zookeeper_serving(int port);

}  // namespace mesoflow::testing
