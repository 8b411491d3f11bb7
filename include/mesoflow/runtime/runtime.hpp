// Runtime: mesoflow's daemon (`mesoflow run`). It wires the transport, the
// pure scheduler core and the store together on one Boost.Asio event loop,
// and keeps the one order that makes mesoflow safe: commit, then call. A
// launch is recorded with its Mesos task id before ACCEPT is sent; a status
// update is committed before it is acknowledged.
//
// The runtime decides nothing itself: the scheduler core's policies (launch
// pacing, the offer book, commit reactions, the kill scan, the phase) decide
// from the counts, events and time it passes in, and it carries the
// decisions out. See src/README.md for the path of one task.
//
// Threads: the caller's thread runs the event loop (network, timers,
// signals); the "db" thread and the "db-updates-N" lanes run blocking store
// calls (DatabaseWorker). The
// admin endpoint, when enabled, reads metrics() and state_json() from its own
// thread; both are safe to call from any thread.
//
// run() returns an exit code: kExitOk after SIGTERM/SIGINT or request_stop()
// (the framework stays registered, so its tasks keep running within
// failover_timeout), kExitFailure when it cannot work (database or master
// unusable at start, the database registered to another framework name,
// leadership lost), kExitFrameworkError when the master
// refuses or removes the framework, or another mesoflow took it over.
#pragma once

#include <memory>
#include <string>

#include "mesoflow/config/config.hpp"
#include "mesoflow/metrics/metrics.hpp"
#include "mesoflow/runtime/seams.hpp"

namespace mesoflow::runtime {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitFrameworkError = 3;

class Runtime {
  public:
    // identity: who this process is, for operators (e.g. "host:pid");
    // seams: the real clock and the master client unless a test passes its own.
    Runtime(config::Config config, std::string identity, Seams seams = {});
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    int run();
    // Starts the same graceful stop as SIGTERM; safe from any thread.
    void request_stop();

    const Metrics& metrics() const;
    // Subscribed to a master, leading, and the database answered its last batch.
    bool ready() const;
    // A JSON snapshot for /state: framework id, master, counts, held offers.
    std::string state_json() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mesoflow::runtime
