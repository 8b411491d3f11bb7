// FakeMaster: an in-process Mesos master speaking the v1 scheduler HTTP API
// (POST /api/v1/scheduler and /master/api/v1/scheduler) on loopback, strict
// where the real master is strict (status codes, bodies and their order of
// checks; see docs/scheduler-http-api.md and src/master/http.cpp in the Mesos
// sources, apache/mesos), with simulated agents, offers, filters, task
// lifecycles, reliable status updates, reconciliation and the faults a real
// cluster throws, all under test control.
//
// Ownership and threads: the FakeMaster owns one event-loop thread that runs
// the HTTP server and all master state. Every public method is thread-safe:
// it hands its work to that thread and waits for it. Views returned are
// copies. The constructor throws std::runtime_error when it cannot listen or
// cannot register in ZooKeeper (zk_url); zk_register() throws when
// ZooKeeper fails; nothing else throws. The destructor ends the ZooKeeper
// session, closes every connection and, in local mode, kills the task
// processes it started.
// The binary mesoflow-fake-master wraps this class (see README.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mesoflow::fake {

struct AgentSpec {
    std::string hostname;  // empty: "agent-<index>.fake"
    double cpus = 8;
    double mem = 32768;   // MB
    double disk = 65536;  // MB
    double gpus = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ports = {{31000, 32000}};
    // Agent attributes, as `--attributes=rack:r1;level:2`: values that parse
    // as numbers are SCALAR attributes, the others TEXT.
    std::vector<std::pair<std::string, std::string>> attributes;
    // Scheduled maintenance: the agent's offers carry `unavailability` with
    // this start (nanoseconds since the epoch) and, if set, duration.
    std::optional<std::int64_t> unavailable_from_ns;
    std::optional<std::int64_t> unavailable_for_ns;
};

// `count` agents like `base`, named agent-0.fake, agent-1.fake, ...
std::vector<AgentSpec> uniform_agents(std::size_t count, const AgentSpec& base = {});

// What a simulated task does once launched.
struct TaskBehavior {
    std::chrono::milliseconds start_delay{0};  // STAGING until STARTING
    std::chrono::milliseconds run_time{1000};  // RUNNING until it exits
    int exit_code = 0;                         // 0 -> FINISHED, else FAILED
    bool runs_until_killed = false;
};

// The first rule whose every non-empty matcher matches decides a task's
// behaviour; tasks no rule matches get FakeMasterConfig::default_task.
struct TaskRule {
    std::string command_contains;  // substring of CommandInfo.value + arguments
    std::string label;             // "key" (present) or "key=value"
    std::string task_id_prefix;
    TaskBehavior behavior;
};

struct Credential {
    std::string principal;
    std::string secret;
};

// Local mode has no container engine; tasks with a ContainerInfo are not run.
enum class ContainerTaskPolicy {
    finish,  // STARTING, RUNNING, FINISHED with a message saying nothing ran
    fail,    // TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED
};

struct FakeMasterConfig {
    std::string host = "127.0.0.1";
    int port = 0;  // 0: any free port
    // MasterInfo.hostname and the host in 307 Location headers of *other*
    // masters pointing here; defaults to `host`.
    std::string advertised_hostname;
    std::vector<AgentSpec> agents = uniform_agents(3);

    std::chrono::milliseconds allocation_interval{1000};  // Mesos default 1 s
    std::chrono::milliseconds heartbeat_interval{15000};  // Mesos: always 15 s
    // Status update redelivery: first retry after min, doubling up to max
    // (the agent's STATUS_UPDATE_RETRY_INTERVAL_MIN/MAX).
    std::chrono::milliseconds update_retry_min{10000};
    std::chrono::milliseconds update_retry_max{600000};
    double default_refuse_seconds = 5.0;

    // Non-empty: every scheduler request needs HTTP Basic credentials.
    std::vector<Credential> credentials;

    TaskBehavior default_task;
    std::vector<TaskRule> task_rules;
    bool send_task_starting = true;  // the command executor sends TASK_STARTING
    // Simulated tasks: time between TASK_KILLING and TASK_KILLED.
    std::chrono::milliseconds kill_delay{0};

    // Local mode: run each command task as a real process in a sandbox.
    bool local = false;
    std::string sandbox_root;  // empty: a fresh directory under $TMPDIR
    ContainerTaskPolicy container_tasks = ContainerTaskPolicy::finish;
    // SIGTERM, then SIGKILL after this (or the task's kill_policy grace period).
    std::chrono::milliseconds local_kill_grace{3000};

    std::size_t max_recorded_calls = 0;  // 0: keep every call
    bool record_bodies = true;
    // GET /fake/state and POST /fake/control/<fault> on the same port.
    bool control_endpoint = true;
    std::string version = "1.11.0";
    std::size_t max_completed_frameworks = 50;

    // Non-empty: "zk://host:port[,host:port...]/path" (no credentials); the
    // master registers there at start, as a real master does (zk_register()).
    // Empty: no ZooKeeper at all.
    std::string zk_url;
    // Also how long a registration waits for a session before it fails.
    std::chrono::milliseconds zk_session_timeout{10000};
};

// One request received on a scheduler endpoint, with what was answered.
struct RecordedCall {
    std::uint64_t seq = 0;
    std::chrono::steady_clock::time_point time;
    std::string method;
    std::string path;
    std::string type;  // the Call's type once parsed; empty if it never parsed
    std::string framework_id;
    std::optional<std::string> stream_id;  // Mesos-Stream-Id header
    std::optional<std::string> content_type;
    std::optional<std::string> accept;
    bool has_authorization = false;
    std::string body;  // the request body (empty unless record_bodies)
    int status = 0;    // what the fake master answered
    std::string response_body;
};

struct RecordedAck {
    std::uint64_t seq = 0;  // position among all calls
    std::string framework_id;
    std::string agent_id;
    std::string task_id;
    std::string uuid;      // base64, as sent
    bool matched = false;  // acknowledged the update in flight for that task
    std::string state;     // the acknowledged update's state, when matched
};

struct TaskView {
    std::string framework_id;
    std::string task_id;
    std::string agent_id;
    std::string hostname;
    std::string state;            // latest state at the agent
    std::string last_sent_state;  // latest state sent to the scheduler
    std::size_t pending_updates = 0;
    bool unreachable = false;
    std::string command;
    std::map<std::string, std::string> environment;
    std::string container_image;  // empty for plain command tasks
    std::string sandbox;          // local mode
};

struct AgentView {
    std::string id;
    std::string hostname;
    bool lost = false;
    double cpus = 0, mem = 0, disk = 0, gpus = 0;  // totals
    double used_cpus = 0, used_mem = 0;
    double offered_cpus = 0, offered_mem = 0;
    std::size_t tasks = 0;
};

struct FrameworkView {
    std::string id;
    std::string name;
    std::string principal;
    bool connected = false;
    bool recovered = false;  // known after a master failover, not re-subscribed
    std::string stream_id;
    std::vector<std::string> roles;
    std::vector<std::string> suppressed_roles;
    std::vector<std::string> capabilities;
    double failover_timeout = 0;
    std::size_t offers = 0;
    std::size_t tasks = 0;
};

struct OfferView {
    std::string id;
    std::string framework_id;
    std::string agent_id;
    std::string role;
    double cpus = 0, mem = 0, disk = 0, gpus = 0;
};

struct Counters {
    std::uint64_t calls = 0;
    std::uint64_t calls_rejected = 0;  // answered with a status >= 300
    std::map<std::string, std::uint64_t> calls_by_type;
    std::uint64_t subscriptions = 0;  // SUBSCRIBED events sent
    std::uint64_t refused_subscriptions = 0;
    std::uint64_t heartbeats = 0;
    std::uint64_t events = 0;
    std::uint64_t offers_sent = 0;
    std::uint64_t cpus_milli_offered = 0;  // the cpus of every offer sent, in thousandths
    std::uint64_t offer_events = 0;
    std::uint64_t offers_rescinded = 0;
    std::uint64_t offers_declined = 0;
    std::uint64_t offers_accepted = 0;
    std::uint64_t tasks_launched = 0;
    std::uint64_t tasks_finished = 0;
    std::uint64_t tasks_failed = 0;
    std::uint64_t tasks_killed = 0;
    std::uint64_t tasks_error = 0;
    std::uint64_t tasks_lost_or_dropped = 0;
    std::uint64_t updates_sent = 0;         // reliable updates, first sends
    std::uint64_t updates_redelivered = 0;  // reliable updates, resends
    std::uint64_t master_updates_sent = 0;  // uuid-less updates
    std::uint64_t acks = 0;
    std::uint64_t acks_unmatched = 0;
    std::uint64_t streams_dropped = 0;
};

// What befalls the next calls of one type (FakeMaster::fail_calls).
enum class CallFaultKind {
    status,       // answered with `status` and `body`; not carried out
    drop_before,  // the connection closes before the call is carried out: no answer
    drop_after,   // carried out, then the connection closes before the answer
    repeat,       // carried out twice (as a proxy resending it would), answered once
    // The call's offers are rescinded just before it is carried out (an
    // offer-rescind race): an ACCEPT finds them gone and its tasks are
    // dropped (REASON_INVALID_OFFERS).
    rescind_first,
    // Answered 202 at once, as a real master answers a call before it has
    // processed it, and carried out only at release_held_calls(): until
    // then the master knows nothing of it (an ACCEPT's tasks are unknown to
    // RECONCILE, its offers stay outstanding).
    hold,
};

struct CallFault {
    CallFaultKind kind = CallFaultKind::status;
    int status = 503;
    std::string body = "Master has not finished recovery";
};

class FakeMaster {
  public:
    explicit FakeMaster(FakeMasterConfig config = {});
    ~FakeMaster();
    FakeMaster(const FakeMaster&) = delete;
    FakeMaster& operator=(const FakeMaster&) = delete;

    int port() const;
    std::string host() const;
    std::string address() const;  // "127.0.0.1:5050"
    std::string url() const;      // "http://127.0.0.1:5050/api/v1/scheduler"
    std::string master_id() const;

    // ---- faults --------------------------------------------------------
    // Closes every subscription connection at once (no terminating chunk);
    // the frameworks become disconnected, as if the network broke.
    void drop_streams();
    // Silent: no event (heartbeats included) leaves; connections stay open
    // and events queue up. Not silent: the queue flows again.
    void set_silent(bool silent);
    // Answer scheduler requests with 503 for a while or for the next `count`
    // requests. The body says why (default: the master is recovering).
    void answer_unavailable_for(std::chrono::milliseconds duration,
                                std::string body = "Master has not finished recovery");
    void answer_unavailable_requests(int count,
                                     std::string body = "Master has not finished recovery");
    // Answer every scheduler request with 307 and
    // `Location: //<host:port>/master/api/v1/scheduler` (a scheme given,
    // "http://host:port", makes it an absolute URL); empty stops it.
    void redirect_to(std::string host_port);
    // Simulated master failover: every stream is cut, offers vanish, a new
    // master id; frameworks are known but unsubscribed (calls get 403) until
    // they SUBSCRIBE again; tasks and unacknowledged updates survive.
    void fail_over();
    // Write bytes into every open stream, as an HTTP chunk of their own: a
    // record whose payload is not JSON, a length prefix far beyond any sane
    // limit, a non-digit prefix, or anything else (nothing for no bytes).
    void inject_malformed_record();
    void inject_oversized_length();
    void inject_bad_length_prefix();
    void inject_stream_bytes(std::string bytes);
    void rescind_all_offers();
    // The agent becomes unreachable: its tasks go TASK_UNREACHABLE
    // (PARTITION_AWARE) or TASK_LOST, a FAILURE event follows, its offers are
    // rescinded. restore_agent brings it back empty.
    bool lose_agent(const std::string& agent_id_or_hostname);
    bool restore_agent(const std::string& agent_id_or_hostname);
    // A network partition (Mesos >= 1.5 with PARTITION_AWARE): the agent's
    // tasks go TASK_UNREACHABLE but run on; reconciliation says
    // TASK_UNREACHABLE, kills and the tasks' own updates wait. heal_agent
    // ends it: the tasks are known again, their held updates flow, and
    // reconciliation reports their states.
    bool partition_agent(const std::string& agent_id_or_hostname);
    bool heal_agent(const std::string& agent_id_or_hostname);
    // Every reliable status update is held back this long before it is sent.
    void delay_status_updates(std::chrono::milliseconds delay);
    // The next `count` sends of reliable updates are lost on the way; the
    // agent redelivers them after the retry interval.
    void drop_status_updates(int count);
    // The next `count` scheduler calls of `type` ("REVIVE", "ACCEPT", ...)
    // that would be carried out meet `fault` instead.
    void fail_calls(std::string type, int count, CallFault fault = {});
    // Carries out the calls a `hold` fault kept back, in the order they came
    // (a call whose framework is gone is dropped); returns how many it
    // carried out.
    std::size_t release_held_calls();
    // Calls a `hold` fault keeps back now.
    std::size_t held_calls() const;
    // Ends every fault above that is still in force; calls held are carried out.
    void clear_faults();

    // ---- ZooKeeper -----------------------------------------------------
    // Registers this master under config.zk_url as a real Mesos master does:
    // in a ZooKeeper session of its own, an ephemeral sequential node
    // <path>/json.info_<10-digit sequence> holding master_info as JSON (id,
    // ip, port, pid, hostname, version, address, capabilities; as in
    // SUBSCRIBED). Detectors take the lowest sequence as the leader. A
    // registration held before is withdrawn first, so the new node sorts last
    // (a restarted master; after fail_over() it carries the new master id).
    // Returns the node's path, e.g. "/mesos/json.info_0000000003". Throws
    // std::runtime_error when zk_url is empty or ZooKeeper fails.
    std::string zk_register();
    // Ends the session, so the node goes at once, as when a master stops or
    // its session expires; a no-op when not registered. HTTP service goes on.
    void zk_withdraw();
    // The registered node's path; empty when not registered.
    std::string zk_node() const;

    // ---- task control --------------------------------------------------
    void set_task_rules(std::vector<TaskRule> rules, TaskBehavior default_task);
    // Makes a running task exit now with this code (simulated tasks).
    bool finish_task(const std::string& task_id, int exit_code = 0);
    void set_heartbeat_interval(std::chrono::milliseconds interval);
    void set_allocation_interval(std::chrono::milliseconds interval);

    // ---- inspection ----------------------------------------------------
    std::vector<RecordedCall> calls() const;
    std::vector<RecordedCall> calls_of_type(const std::string& type) const;
    std::vector<RecordedAck> acks() const;
    Counters counters() const;
    std::vector<TaskView> tasks() const;
    std::optional<TaskView> task(const std::string& task_id) const;
    std::vector<AgentView> agents() const;
    std::vector<FrameworkView> frameworks() const;
    std::vector<OfferView> offers() const;
    // The same JSON as GET /fake/state.
    std::string state_json() const;
    // Polls `predicate` (on the caller's thread) until it holds or the timeout
    // passes; wakes on every change of master state, not on a blind sleep.
    bool wait_until(const std::function<bool()>& predicate,
                    std::chrono::milliseconds timeout) const;

    struct Impl;

  private:
    void shut_down();
    std::unique_ptr<Impl> impl_;
};

}  // namespace mesoflow::fake
