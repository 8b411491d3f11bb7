// Master: the state and behaviour of the fake Mesos master. It lives on the
// Reactor's thread and is touched only there (FakeMaster hands work over).
// Its parts are split by concern:
//   scheduler_endpoint.cpp  HTTP checks in the real master's order, dispatch
//   subscription.cpp        SUBSCRIBE, failover, disconnection, teardown, heartbeats
//   allocation.cpp          offers, filters, SUPPRESS/REVIVE, DECLINE, RESCIND
//   accept.cpp              ACCEPT: offer and task validation, launches
//   tasks.cpp               task lifecycle, KILL, SHUTDOWN
//   status_updates.cpp      the agent's status update stream: uuids, retries, ACKs
//   reconciliation.cpp      RECONCILE (explicit and implicit)
//   faults.cpp              faults and agent loss
//   control_endpoint.cpp    /fake/state, /fake/latency and /fake/control/<fault>
//   local_tasks.cpp         local mode: real processes
// Events are JSON, RecordIO-framed with mesoflow's encoder.
#pragma once

#include <nlohmann/json.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fake_master.hpp"
#include "http_server.hpp"
#include "latency_log.hpp"
#include "reactor.hpp"
#include "resources.hpp"

namespace mesoflow::fake {

using nlohmann::json;

struct Capabilities {
    bool multi_role = false;
    bool partition_aware = false;
    bool task_killing_state = false;
    bool gpu_resources = false;
    bool reservation_refinement = false;
    bool region_aware = false;
};

struct Filter {
    Clock::time_point expires;
    Resources refused;
};

struct Task;

struct Agent {
    std::size_t index = 0;
    std::string id;
    std::string hostname;
    AgentSpec spec;
    Resources total;
    Resources used;
    Resources offered;
    bool lost = false;
    std::int64_t lost_at_ns = 0;  // unreachable_time
    // Lost behind a network partition: its tasks run on, unheard of.
    bool partitioned = false;
    json attributes = json::array();
    std::unordered_set<Task*> tasks;

    Resources available() const {
        Resources free = total;
        free -= used;
        free -= offered;
        return free;
    }
};

struct Offer {
    std::string id;
    std::string framework_id;
    std::size_t agent = 0;
    std::string role;
    Resources resources;
    Clock::time_point sent_at{};  // when its OFFERS event went out (latency views)
};

struct PendingUpdate {
    std::uint64_t seq = 0;
    std::string uuid;  // 16 raw bytes
    std::string state;
    std::string record;  // the UPDATE event, RecordIO-framed
    std::chrono::milliseconds backoff{0};
    bool sent = false;
    Clock::time_point first_sent{};  // first delivery (update -> ACK latency)
};

struct Task {
    std::uint64_t serial = 0;  // distinguishes a reused task id
    std::string framework_id;
    std::string id;
    std::string name;
    std::string agent_id;
    std::size_t agent = 0;
    std::string executor_id;
    Resources resources;
    bool resources_released = false;
    std::string state = "TASK_STAGING";
    std::string forwarded_state;  // latest state the agent forwarded (status_update_state)
    std::string last_sent_state;
    std::deque<PendingUpdate> updates;
    Reactor::TimerId lifecycle_timer = 0;
    TaskBehavior behavior;
    bool kill_requested = false;
    std::optional<std::chrono::milliseconds> kill_grace;

    std::string command;  // CommandInfo.value
    bool shell = true;
    std::vector<std::string> arguments;
    std::vector<std::pair<std::string, std::string>> environment;
    std::string container_type;  // "", "DOCKER" or "MESOS"
    std::string container_image;
    json labels = json::array();

    // Local mode.
    int pid = -1;
    int pidfd = -1;
    std::string sandbox;
    Reactor::TimerId sigkill_timer = 0;
};

struct Framework {
    std::string id;
    json info;  // FrameworkInfo as last subscribed (principal filled in)
    std::string name;
    std::string user;
    bool checkpoint = false;
    std::optional<std::string> principal;
    std::vector<std::string> roles;
    std::set<std::string> suppressed;
    Capabilities caps;
    double failover_timeout = 0;

    std::shared_ptr<EventStream> stream;
    std::string stream_id;
    std::uint64_t connection_generation = 0;
    bool recovered = false;  // known after a master failover, not re-subscribed
    Reactor::TimerId heartbeat_timer = 0;
    Reactor::TimerId failover_timer = 0;

    std::unordered_map<std::string, std::unique_ptr<Task>> tasks;
    std::unordered_map<std::string, std::int64_t> unreachable_tasks;  // id -> unreachable_time
    std::unordered_set<std::string> offers;
    std::map<std::pair<std::size_t, std::string>, std::vector<Filter>> filters;

    bool connected() const { return stream != nullptr; }
};

struct Faults {
    bool silent = false;
    std::optional<Clock::time_point> unavailable_until;
    int unavailable_requests = 0;
    std::string unavailable_body;
    std::string redirect_to;
    std::chrono::milliseconds update_delay{0};
    int drop_updates = 0;
    struct CallFaults {
        int count = 0;
        CallFault fault;
    };
    std::map<std::string, CallFaults> calls;  // by call type
};

class LocalTasks;

class Master {
  public:
    Master(Reactor& reactor, FakeMasterConfig config);
    ~Master();

    // Called once the server listens; starts the allocation timer.
    void start(int port);
    void shutdown();
    HttpReply handle(HttpRequest& request);
    // Called after every piece of work that may have changed state.
    void set_change_listener(std::function<void()> listener) { on_change_ = std::move(listener); }
    // Closes every HTTP connection (a master process dying takes them all).
    void set_connection_dropper(std::function<void()> dropper) {
        drop_connections_ = std::move(dropper);
    }

    // ---- faults (faults.cpp) ------------------------------------------
    void drop_streams();
    void set_silent(bool silent);
    void answer_unavailable_for(std::chrono::milliseconds duration, std::string body);
    void answer_unavailable_requests(int count, std::string body);
    void redirect_to(std::string host_port);
    void fail_over();
    void inject_stream_bytes(const std::string& bytes);
    void rescind_all_offers();
    bool lose_agent(const std::string& agent);
    void rescind_offers_of(const Agent& agent);
    bool partition_agent(const std::string& agent_id_or_hostname);
    bool heal_agent(const std::string& agent_id_or_hostname);
    bool restore_agent(const std::string& agent);
    void delay_status_updates(std::chrono::milliseconds delay);
    void drop_status_updates(int count);
    void fail_calls(std::string type, int count, CallFault fault);
    std::size_t release_held_calls();
    std::size_t held_calls() const { return held_calls_.size(); }
    void clear_faults();

    void set_task_rules(std::vector<TaskRule> rules, TaskBehavior default_task);
    bool finish_task(const std::string& task_id, int exit_code);
    void set_heartbeat_interval(std::chrono::milliseconds interval);
    void set_allocation_interval(std::chrono::milliseconds interval);

    // ---- inspection (control_endpoint.cpp) -----------------------------
    std::vector<RecordedCall> calls() const;
    std::vector<RecordedAck> acks() const { return {acks_.begin(), acks_.end()}; }
    Counters counters() const { return counters_; }
    std::vector<TaskView> task_views() const;
    std::vector<AgentView> agent_views() const;
    std::vector<FrameworkView> framework_views() const;
    std::vector<OfferView> offer_views() const;
    json state() const;
    // GET /fake/latency: offer -> ACCEPT, offer -> DECLINE, update -> ACK.
    json latency() const;
    const std::string& master_id() const { return master_id_; }
    // MasterInfo as in SUBSCRIBED and, as the JSON a master writes, in its
    // ZooKeeper node (subscription.cpp).
    json master_info() const;
    const FakeMasterConfig& config() const { return config_; }

    // Used by LocalTasks.
    Reactor& reactor() { return reactor_; }
    void task_exited(const std::string& framework_id, const std::string& task_id,
                     std::uint64_t serial, const std::string& state, const std::string& message,
                     const std::string& reason, const std::string& data);

  private:
    friend class LocalTasks;

    // scheduler_endpoint.cpp
    HttpReply handle_scheduler(HttpRequest& request);
    HttpReply scheduler_call(HttpRequest& request, RecordedCall& record);
    HttpReply dispatch(Framework& framework, json& call, const std::string& type);
    HttpReply handle_redirect_endpoint(const HttpRequest& request);
    HttpReply handle_version_endpoint() const;
    HttpReply handle_control(HttpRequest& request);
    void record(RecordedCall record);

    // subscription.cpp
    HttpReply subscribe(json& call, const std::optional<std::string>& principal);
    void start_subscription(json call, std::string stream_id, std::shared_ptr<EventStream> stream);
    std::optional<std::string> validate_framework_info(const json& info) const;
    void apply_framework_info(Framework& framework, const json& info, const json& suppressed_roles);
    void connect(Framework& framework, std::shared_ptr<EventStream> stream,
                 const std::string& stream_id);
    void on_stream_closed(const std::string& framework_id, std::uint64_t generation);
    void disconnect(Framework& framework);
    void schedule_heartbeat(Framework& framework);
    void remove_framework(Framework& framework);
    HttpReply update_framework(Framework& framework, const json& call);

    // events
    void send(Framework& framework, const std::string& record);
    void send_event(Framework& framework, const json& event);

    // allocation.cpp
    void request_allocation();
    void allocate();
    void schedule_allocation_timer();
    bool filtered(Framework& framework, std::size_t agent, const std::string& role,
                  const Resources& available, Clock::time_point now);
    void recover(Offer& offer, const Resources& unused, std::optional<double> refuse_seconds);
    void remove_offer(const std::string& offer_id, bool rescind);
    void decline(Framework& framework, const json& call);
    void revive(Framework& framework, const json& call);
    void suppress(Framework& framework, const json& call);
    double refuse_seconds(const json& filters) const;
    json offer_json(const Framework& framework, const Offer& offer) const;

    // accept.cpp
    void accept(Framework& framework, const json& call);
    std::optional<std::string> validate_offers(Framework& framework, const json& offer_ids);
    std::optional<std::string> validate_task(Framework& framework, const Agent& agent,
                                             const json& task, const Resources& available,
                                             const std::string& role, Resources& consumed);
    void drop_operation(Framework& framework, const json& operation, const std::string& message);

    // tasks.cpp
    Task& launch_task(Framework& framework, Agent& agent, const json& task_info,
                      const Resources& resources, const std::string& executor_id);
    TaskBehavior behavior_for(const Task& task) const;
    void start_task(Task& task);
    void transition(Task& task, const std::string& state, const std::string& source,
                    const std::string& message = "", const std::string& reason = "",
                    const std::string& data = "");
    void release_resources(Task& task);
    void kill(Framework& framework, const json& call);
    void kill_task(Task& task, std::optional<std::chrono::milliseconds> grace);
    void shutdown_executor(Framework& framework, const json& call);
    void remove_task(Task& task);
    Task* find_task(const std::string& framework_id, const std::string& task_id);
    void schedule_task_timer(Task& task, std::chrono::milliseconds delay,
                             std::function<void(Task&)> action);
    void exit_task(Task& task, int exit_code);
    bool behind_partition(const Task& task) const;
    std::string reported_state(const Task& task) const;

    // status_updates.cpp
    void enqueue_update(Task& task, const std::string& state, const std::string& source,
                        const std::string& message, const std::string& reason,
                        const std::string& data);
    void deliver_front(Task& task);
    void send_front(Task& task);
    void schedule_retry(Clock::time_point due);
    void run_retries();
    void acknowledge(Framework& framework, const json& call, std::uint64_t seq);
    void send_master_update(Framework& framework, json status);

    // reconciliation.cpp
    void reconcile(Framework& framework, const json& call);
    void reconcile_operations(Framework& framework, const json& call);
    json reconciliation_status(Framework& framework, const std::string& task_id,
                               const std::optional<std::string>& agent_id, bool& answer);

    Agent* find_agent(const std::string& id_or_hostname);
    Agent* agent_by_id(const std::string& id);
    Framework* find_framework(const std::string& id);
    void changed() {
        if (on_change_)
            on_change_();
    }
    // Wraps a timer callback so that waiting tests wake after it ran.
    std::function<void()> notifying(std::function<void()> fn);
    std::int64_t now_ns() const;
    double now_seconds() const;

    Reactor& reactor_;
    FakeMasterConfig config_;
    std::unique_ptr<LocalTasks> local_;
    std::function<void()> on_change_;
    std::function<void()> drop_connections_;
    int port_ = 0;
    std::string advertised_host_;
    std::string master_id_;
    std::string id_prefix_;  // the first master's id: agent ids keep it across failovers
    std::uint64_t next_framework_ = 0;
    std::uint64_t next_offer_ = 1;
    std::uint64_t next_task_serial_ = 1;
    std::uint64_t next_update_seq_ = 1;
    std::uint64_t next_call_seq_ = 1;
    std::vector<Agent> agents_;
    std::unordered_map<std::uint64_t, Task*> tasks_by_serial_;
    // Redelivery of status updates: one small entry per update in flight,
    // behind one reactor timer (a hundred thousand tasks in flight must not
    // mean a hundred thousand timers).
    struct RetryEntry {
        Clock::time_point due;
        std::uint64_t task_serial;
        std::uint64_t update_seq;
        bool operator>(const RetryEntry& o) const { return due > o.due; }
    };
    std::priority_queue<RetryEntry, std::vector<RetryEntry>, std::greater<RetryEntry>> retries_;
    Reactor::TimerId retry_timer_ = 0;
    Clock::time_point retry_armed_for_ = Clock::time_point::max();
    std::map<std::string, std::unique_ptr<Framework>> frameworks_;
    std::deque<std::string> completed_frameworks_;
    std::unordered_map<std::string, Offer> offers_;
    std::size_t allocation_cursor_ = 0;
    bool allocation_requested_ = false;
    Reactor::TimerId allocation_timer_ = 0;
    Faults faults_;
    // Calls a `hold` fault answered and keeps back, in the order they came.
    struct HeldCall {
        std::string framework_id;
        std::string type;
        json call;
    };
    std::vector<HeldCall> held_calls_;
    std::deque<RecordedCall> calls_;
    std::deque<RecordedAck> acks_;
    Counters counters_;
    LatencyLog offer_to_accept_;
    LatencyLog offer_to_decline_;
    LatencyLog update_to_ack_;
    bool shut_down_ = false;
};

// "{ a, b }" as stout's stringify prints a set.
std::string stringify_set(const std::set<std::string>& values);
// Role name rules of src/common/roles.cpp; nullopt when valid.
std::optional<std::string> validate_role(const std::string& role);
// ID rules of src/common/validation.cpp validateID; nullopt when valid.
std::optional<std::string> validate_id(const std::string& id);
bool is_terminal_state(const std::string& state);
std::string id_value(const json& message, const char* field);

}  // namespace mesoflow::fake
