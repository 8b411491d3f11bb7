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
// Leadership comes in terms: when this process loses it (its lease ran out,
// the lock's connection ended with a database restart or outage, a new
// leader's epoch fenced it, the master failed the framework over to a
// standby), it stops sending at once, drops everything the term knew, and
// starts again inside the same process: it takes the lock back when it is
// free (resubscribing with the same framework id, reconciling) or stands by.
//
// run() returns an exit code: kExitOk after SIGTERM/SIGINT or request_stop()
// (the framework stays registered, so its tasks keep running within
// failover_timeout), kExitFailure when it cannot work (database or master
// unusable at start, the database registered to another framework name),
// kExitFrameworkError when the master refuses or removes the framework, or a
// scheduler that is not a mesoflow leader took it over.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
    config::Config config_;
    std::string identity_;
    Seams seams_;
    Metrics metrics_;
    std::atomic<bool> stop_requested_{false};
    mutable std::mutex impl_mutex_;  // impl_ changes between terms; the admin thread reads
    std::unique_ptr<Impl> impl_;
    // Terms that ended, taken apart beside the next (their threads may wait
    // on a database that went away); joined when run() returns.
    std::vector<std::thread> reapers_;
};

}  // namespace mesoflow::runtime
