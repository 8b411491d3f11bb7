// Typed values of the Mesos v1 scheduler API (include/mesos/v1/mesos.proto and
// scheduler.proto): every Call mesoflow can send and every Event a master can
// deliver, with the messages they carry. Plain data only: no JSON library, no
// I/O. codec.hpp converts them to and from Mesos' JSON; resources.hpp does
// arithmetic on Resource vectors.
//
// Conventions:
// - Ids (FrameworkID, OfferID, AgentID, TaskID, ExecutorID, OperationID, ...)
//   are the plain strings of their `value` field.
// - Optional proto fields are std::optional (or an empty vector for repeated
//   fields); fields with an explicit proto default are plain members set to it.
// - `bytes` fields (TaskStatus.uuid, data, ...) hold the base64 text exactly as
//   it travels, so an ACKNOWLEDGE echoes the uuid byte for byte; base64.hpp
//   decodes it when the bytes themselves matter.
// - Durations and times are integer nanoseconds (DurationInfo / TimeInfo).
// - Every enum has to_string (the Mesos name) and parse_<enum> (nullopt for a
//   name this version does not know).
// Fields and alternatives are never renamed; what mesoflow neither sends nor
// reads may be left out (the offer operations other than LAUNCH are).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mesoflow::mesos {

// ---------------------------------------------------------------- enums

enum class ValueType { scalar, ranges, set, text };

enum class FrameworkCapability {
    unknown,
    revocable_resources,
    task_killing_state,
    gpu_resources,
    shared_resources,
    partition_aware,
    multi_role,
    reservation_refinement,
    region_aware,
};

enum class MasterCapability { unknown, agent_update, agent_draining, quota_v2 };

enum class ReservationType { unknown, static_, dynamic };

enum class DiskSourceType { unknown, path, mount, block, raw };

enum class TaskState {
    staging,
    starting,
    running,
    killing,
    finished,
    failed,
    killed,
    error,
    lost,
    dropped,
    unreachable,
    gone,
    gone_by_operator,
    unknown,  // TASK_UNKNOWN: the master does not know the task
};

enum class TaskSource { master, agent, executor };

enum class TaskReason {
    command_executor_failed,
    container_launch_failed,
    container_limitation,
    container_limitation_disk,
    container_limitation_memory,
    container_preempted,
    container_update_failed,
    max_completion_time_reached,
    executor_registration_timeout,
    executor_reregistration_timeout,
    executor_terminated,
    executor_unregistered,
    framework_removed,
    gc_error,
    invalid_frameworkid,
    invalid_offers,
    io_switchboard_exited,
    master_disconnected,
    reconciliation,
    resources_unknown,
    agent_disconnected,
    agent_draining,
    agent_removed,
    agent_removed_by_operator,
    agent_reregistered,
    agent_restarted,
    agent_unknown,
    task_killed_during_launch,
    task_check_status_updated,
    task_health_check_status_updated,
    task_group_invalid,
    task_group_unauthorized,
    task_invalid,
    task_unauthorized,
    task_unknown,
};

enum class OperationState {
    unsupported,
    pending,
    finished,
    failed,
    error,
    dropped,
    unreachable,
    gone_by_operator,
    recovering,
    unknown,
};

enum class ExecutorType { unknown, default_, custom };

enum class ContainerType { docker, mesos };

enum class DockerNetwork { host, bridge, none, user };

enum class ImageType { appc, docker };

enum class VolumeMode { rw, ro };

enum class EnvironmentVariableType { unknown, value, secret };

enum class NetworkProtocol { ipv4, ipv6 };

enum class CallType {
    unknown,
    subscribe,
    teardown,
    accept,
    decline,
    accept_inverse_offers,
    decline_inverse_offers,
    revive,
    kill,
    shutdown,
    acknowledge,
    acknowledge_operation_status,
    reconcile,
    reconcile_operations,
    message,
    request,
    suppress,
    update_framework,
};

enum class EventType {
    unknown,
    subscribed,
    offers,
    inverse_offers,
    rescind,
    rescind_inverse_offer,
    update,
    update_operation_status,
    message,
    failure,
    error,
    heartbeat,
};

// The Mesos spelling ("SCALAR", "TASK_RUNNING", "REASON_RECONCILIATION", ...).
std::string_view to_string(ValueType v);
std::string_view to_string(FrameworkCapability v);
std::string_view to_string(MasterCapability v);
std::string_view to_string(ReservationType v);
std::string_view to_string(DiskSourceType v);
std::string_view to_string(TaskState v);
std::string_view to_string(TaskSource v);
std::string_view to_string(TaskReason v);
std::string_view to_string(OperationState v);
std::string_view to_string(ExecutorType v);
std::string_view to_string(ContainerType v);
std::string_view to_string(DockerNetwork v);
std::string_view to_string(ImageType v);
std::string_view to_string(VolumeMode v);
std::string_view to_string(EnvironmentVariableType v);
std::string_view to_string(NetworkProtocol v);
std::string_view to_string(CallType v);
std::string_view to_string(EventType v);

// Inverse of to_string; nullopt for a name that is not one of the enum's.
std::optional<ValueType> parse_value_type(std::string_view s);
std::optional<FrameworkCapability> parse_framework_capability(std::string_view s);
std::optional<MasterCapability> parse_master_capability(std::string_view s);
std::optional<ReservationType> parse_reservation_type(std::string_view s);
std::optional<DiskSourceType> parse_disk_source_type(std::string_view s);
std::optional<TaskState> parse_task_state(std::string_view s);
std::optional<TaskSource> parse_task_source(std::string_view s);
std::optional<TaskReason> parse_task_reason(std::string_view s);
std::optional<OperationState> parse_operation_state(std::string_view s);
std::optional<ExecutorType> parse_executor_type(std::string_view s);
std::optional<ContainerType> parse_container_type(std::string_view s);
std::optional<DockerNetwork> parse_docker_network(std::string_view s);
std::optional<ImageType> parse_image_type(std::string_view s);
std::optional<VolumeMode> parse_volume_mode(std::string_view s);
std::optional<EnvironmentVariableType> parse_environment_variable_type(std::string_view s);
std::optional<NetworkProtocol> parse_network_protocol(std::string_view s);
std::optional<CallType> parse_call_type(std::string_view s);
std::optional<EventType> parse_event_type(std::string_view s);

// ---------------------------------------------------------------- small messages

struct Label {
    std::string key;
    std::optional<std::string> value;
    bool operator==(const Label&) const = default;
};
// Labels travel as {"labels": [{"key": ..., "value": ...}]}.
using Labels = std::vector<Label>;

struct Parameter {
    std::string key;
    std::string value;
    bool operator==(const Parameter&) const = default;
};

// Value.Range: inclusive on both ends.
struct Range {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    bool operator==(const Range&) const = default;
};

struct Address {
    std::optional<std::string> hostname;
    std::optional<std::string> ip;
    std::int32_t port = 0;
    bool operator==(const Address&) const = default;
};

struct Url {
    std::string scheme;
    Address address;
    std::optional<std::string> path;
    std::vector<Parameter> query;
    std::optional<std::string> fragment;
    bool operator==(const Url&) const = default;
};

struct Unavailability {
    std::int64_t start_ns = 0;                // start.nanoseconds since the epoch
    std::optional<std::int64_t> duration_ns;  // duration.nanoseconds; absent = forever
    bool operator==(const Unavailability&) const = default;
};

// DomainInfo.fault_domain.{region,zone}.name
struct DomainInfo {
    std::string region;
    std::string zone;
    bool operator==(const DomainInfo&) const = default;
};

struct Filters {
    double refuse_seconds = 5.0;  // the proto default
    bool operator==(const Filters&) const = default;
};

struct KillPolicy {
    std::optional<std::int64_t> grace_period_ns;
    bool operator==(const KillPolicy&) const = default;
};

// ---------------------------------------------------------------- resources

struct AllocationInfo {
    std::optional<std::string> role;
    bool operator==(const AllocationInfo&) const = default;
};

struct ReservationInfo {
    std::optional<ReservationType> type;
    std::optional<std::string> role;
    std::optional<std::string> principal;
    Labels labels;
    bool operator==(const ReservationInfo&) const = default;
};

// Resource.DiskInfo, enough for persistent volumes and PATH/MOUNT disks.
struct DiskInfo {
    struct Persistence {
        std::string id;
        std::optional<std::string> principal;
        bool operator==(const Persistence&) const = default;
    };
    struct Volume {
        VolumeMode mode = VolumeMode::rw;
        std::string container_path;
        std::optional<std::string> host_path;
        bool operator==(const Volume&) const = default;
    };
    struct Source {
        DiskSourceType type = DiskSourceType::unknown;
        std::optional<std::string> root;  // path.root or mount.root, by type
        std::optional<std::string> vendor;
        std::optional<std::string> id;
        std::optional<std::string> profile;
        bool operator==(const Source&) const = default;
    };
    std::optional<Persistence> persistence;
    std::optional<Volume> volume;
    std::optional<Source> source;
    bool operator==(const DiskInfo&) const = default;
};

struct Resource {
    std::string name;
    ValueType type = ValueType::scalar;
    double scalar = 0;                           // meaningful when type == scalar
    std::vector<Range> ranges;                   // meaningful when type == ranges
    std::vector<std::string> set;                // meaningful when type == set
    std::optional<std::string> role;             // legacy (pre-refinement) format: "*" or a role
    std::optional<ReservationInfo> reservation;  // legacy format dynamic reservation
    std::vector<ReservationInfo> reservations;   // refinement format; later entries refine
    std::optional<AllocationInfo> allocation_info;
    std::optional<std::string> provider_id;
    std::optional<DiskInfo> disk;
    bool revocable = false;  // "revocable": {}
    bool shared = false;     // "shared": {}
    bool operator==(const Resource&) const = default;
};

struct Attribute {
    std::string name;
    ValueType type = ValueType::text;
    double scalar = 0;
    std::vector<Range> ranges;
    std::vector<std::string> set;
    std::string text;
    bool operator==(const Attribute&) const = default;
};

// ---------------------------------------------------------------- framework and master

struct FrameworkInfo {
    std::string user;
    std::string name;
    std::optional<std::string> id;
    double failover_timeout = 0;  // seconds
    bool checkpoint = false;
    std::optional<std::string> role;  // deprecated; only for non-MULTI_ROLE frameworks
    std::vector<std::string> roles;
    std::optional<std::string> hostname;
    std::optional<std::string> principal;
    std::optional<std::string> webui_url;
    std::vector<FrameworkCapability> capabilities;
    Labels labels;
    bool operator==(const FrameworkInfo&) const = default;
};

struct MasterInfo {
    std::string id;
    std::uint32_t ip = 0;  // network byte order read natively; prefer address.ip
    std::uint32_t port = 5050;
    std::optional<std::string> pid;
    std::optional<std::string> hostname;
    std::optional<std::string> version;
    std::optional<Address> address;
    std::optional<DomainInfo> domain;
    std::vector<MasterCapability> capabilities;
    bool operator==(const MasterInfo&) const = default;
};

// ---------------------------------------------------------------- offers

struct Offer {
    std::string id;
    std::string framework_id;
    std::string agent_id;
    std::string hostname;
    std::optional<Url> url;
    std::optional<DomainInfo> domain;
    std::vector<Resource> resources;
    std::vector<Attribute> attributes;
    std::vector<std::string> executor_ids;
    std::optional<Unavailability> unavailability;
    std::optional<AllocationInfo> allocation_info;
    bool operator==(const Offer&) const = default;
};

struct InverseOffer {
    std::string id;
    std::optional<Url> url;
    std::string framework_id;
    std::optional<std::string> agent_id;
    Unavailability unavailability;
    std::vector<Resource> resources;  // empty: the whole agent
    bool operator==(const InverseOffer&) const = default;
};

// ---------------------------------------------------------------- tasks

struct CommandUri {
    std::string value;
    std::optional<bool> executable;
    bool extract = true;  // the proto default
    std::optional<bool> cache;
    std::optional<std::string> output_file;
    bool operator==(const CommandUri&) const = default;
};

struct EnvironmentVariable {
    std::string name;
    std::optional<EnvironmentVariableType> type;
    std::optional<std::string> value;
    bool operator==(const EnvironmentVariable&) const = default;
};

struct CommandInfo {
    std::vector<CommandUri> uris;
    std::vector<EnvironmentVariable> environment;  // environment.variables
    bool shell = true;                             // true: /bin/sh -c value; false: exec value argv
    std::optional<std::string> value;
    std::vector<std::string> arguments;  // argv when shell is false
    std::optional<std::string> user;
    bool operator==(const CommandInfo&) const = default;
};

struct PortMapping {
    std::uint32_t host_port = 0;
    std::uint32_t container_port = 0;
    std::optional<std::string> protocol;
    bool operator==(const PortMapping&) const = default;
};

struct Image {
    ImageType type = ImageType::docker;
    std::optional<std::string> docker_name;  // docker.name
    std::optional<std::string> appc_name;    // appc.name
    bool cached = true;                      // the proto default
    bool operator==(const Image&) const = default;
};

struct Volume {
    VolumeMode mode = VolumeMode::rw;
    std::string container_path;
    std::optional<std::string> host_path;
    std::optional<Image> image;
    bool operator==(const Volume&) const = default;
};

struct NetworkInfo {
    struct IpAddress {
        std::optional<NetworkProtocol> protocol;
        std::optional<std::string> ip_address;
        bool operator==(const IpAddress&) const = default;
    };
    std::vector<IpAddress> ip_addresses;
    std::optional<std::string> name;
    std::vector<std::string> groups;
    Labels labels;
    std::vector<PortMapping> port_mappings;
    bool operator==(const NetworkInfo&) const = default;
};

struct DockerInfo {
    std::string image;
    DockerNetwork network = DockerNetwork::host;  // the proto default
    std::vector<PortMapping> port_mappings;
    bool privileged = false;
    std::vector<Parameter> parameters;
    std::optional<bool> force_pull_image;
    bool operator==(const DockerInfo&) const = default;
};

struct MesosInfo {
    std::optional<Image> image;  // absent: the host filesystem
    bool operator==(const MesosInfo&) const = default;
};

struct ContainerInfo {
    ContainerType type = ContainerType::mesos;
    std::vector<Volume> volumes;
    std::optional<std::string> hostname;
    std::optional<DockerInfo> docker;
    std::optional<MesosInfo> mesos;
    std::vector<NetworkInfo> network_infos;
    bool operator==(const ContainerInfo&) const = default;
};

struct ExecutorInfo {
    std::optional<ExecutorType> type;
    std::string executor_id;
    std::optional<std::string> framework_id;
    std::optional<CommandInfo> command;
    std::optional<ContainerInfo> container;
    std::vector<Resource> resources;
    std::optional<std::string> name;
    std::optional<std::string> data;  // base64
    Labels labels;
    std::optional<std::int64_t> shutdown_grace_period_ns;
    bool operator==(const ExecutorInfo&) const = default;
};

struct TaskInfo {
    std::string name;
    std::string task_id;
    std::string agent_id;
    std::vector<Resource> resources;
    std::optional<ExecutorInfo> executor;
    std::optional<CommandInfo> command;
    std::optional<ContainerInfo> container;
    std::optional<KillPolicy> kill_policy;
    std::optional<std::string> data;  // base64
    Labels labels;
    std::optional<std::int64_t> max_completion_time_ns;
    // map<string, Value.Scalar>; JSON {"cpus": {"value": 2.0}}; +inf = unlimited.
    std::vector<std::pair<std::string, double>> limits;
    bool operator==(const TaskInfo&) const = default;
};

struct TaskStatus {
    std::string task_id;
    TaskState state = TaskState::staging;
    std::optional<std::string> message;
    std::optional<TaskSource> source;
    std::optional<TaskReason> reason;
    std::optional<std::string> data;  // base64
    std::optional<std::string> agent_id;
    std::optional<std::string> executor_id;
    std::optional<double> timestamp;  // seconds since the epoch
    std::optional<std::string> uuid;  // base64 exactly as received; absent: do not acknowledge
    std::optional<bool> healthy;
    std::optional<std::int64_t> unreachable_time_ns;
    std::optional<std::string> container_status_json;  // raw JSON object, kept verbatim
    Labels labels;
    bool operator==(const TaskStatus&) const = default;
};

struct OperationStatus {
    std::optional<std::string> operation_id;
    OperationState state = OperationState::unsupported;
    std::optional<std::string> message;
    std::vector<Resource> converted_resources;
    std::optional<std::string> uuid;  // uuid.value, base64 exactly as received
    std::optional<std::string> agent_id;
    std::optional<std::string> resource_provider_id;
    bool operator==(const OperationStatus&) const = default;
};

// Offer.Operation: one step of an ACCEPT, always a LAUNCH ("type": "LAUNCH"),
// the only operation mesoflow sends. Mesos' others (LAUNCH_GROUP, RESERVE,
// UNRESERVE, CREATE, DESTROY, GROW_VOLUME, SHRINK_VOLUME, CREATE_DISK,
// DESTROY_DISK) are not modelled.
struct OfferOperation {
    struct Launch {
        std::vector<TaskInfo> task_infos;
        bool operator==(const Launch&) const = default;
    };

    std::optional<std::string> id;  // asks for operation feedback; Mesos refuses it on LAUNCH
    Launch body;

    bool operator==(const OfferOperation&) const = default;
};

// ---------------------------------------------------------------- calls

struct Call {
    struct Subscribe {
        FrameworkInfo framework_info;
        std::vector<std::string> suppressed_roles;
        bool operator==(const Subscribe&) const = default;
    };
    struct Teardown {
        bool operator==(const Teardown&) const = default;
    };
    struct Accept {
        std::vector<std::string> offer_ids;
        std::vector<OfferOperation> operations;
        std::optional<Filters> filters;
        bool operator==(const Accept&) const = default;
    };
    struct Decline {
        std::vector<std::string> offer_ids;
        std::optional<Filters> filters;
        bool operator==(const Decline&) const = default;
    };
    struct AcceptInverseOffers {
        std::vector<std::string> inverse_offer_ids;
        std::optional<Filters> filters;
        bool operator==(const AcceptInverseOffers&) const = default;
    };
    struct DeclineInverseOffers {
        std::vector<std::string> inverse_offer_ids;
        std::optional<Filters> filters;
        bool operator==(const DeclineInverseOffers&) const = default;
    };
    struct Revive {
        std::vector<std::string> roles;  // empty: every subscribed role
        bool operator==(const Revive&) const = default;
    };
    struct Kill {
        std::string task_id;
        std::optional<std::string> agent_id;
        std::optional<KillPolicy> kill_policy;
        bool operator==(const Kill&) const = default;
    };
    struct Shutdown {
        std::string executor_id;
        std::string agent_id;
        bool operator==(const Shutdown&) const = default;
    };
    struct Acknowledge {
        std::string agent_id;
        std::string task_id;
        std::string uuid;  // base64, exactly TaskStatus.uuid
        bool operator==(const Acknowledge&) const = default;
    };
    struct AcknowledgeOperationStatus {
        std::optional<std::string> agent_id;
        std::optional<std::string> resource_provider_id;
        std::string uuid;  // base64, exactly OperationStatus.uuid
        std::string operation_id;
        bool operator==(const AcknowledgeOperationStatus&) const = default;
    };
    struct Reconcile {
        struct Task {
            std::string task_id;
            std::optional<std::string> agent_id;
            bool operator==(const Task&) const = default;
        };
        std::vector<Task> tasks;  // empty: implicit reconciliation of every task
        bool operator==(const Reconcile&) const = default;
    };
    struct ReconcileOperations {
        struct Operation {
            std::string operation_id;
            std::optional<std::string> agent_id;
            std::optional<std::string> resource_provider_id;
            bool operator==(const Operation&) const = default;
        };
        std::vector<Operation> operations;
        bool operator==(const ReconcileOperations&) const = default;
    };
    struct Message {
        std::string agent_id;
        std::string executor_id;
        std::string data;  // base64
        bool operator==(const Message&) const = default;
    };
    struct Request {
        struct Item {  // mesos.v1.Request
            std::optional<std::string> agent_id;
            std::vector<Resource> resources;
            bool operator==(const Item&) const = default;
        };
        std::vector<Item> requests;
        bool operator==(const Request&) const = default;
    };
    struct Suppress {
        std::vector<std::string> roles;  // empty: every subscribed role
        bool operator==(const Suppress&) const = default;
    };
    struct UpdateFramework {
        FrameworkInfo framework_info;
        std::vector<std::string> suppressed_roles;
        bool operator==(const UpdateFramework&) const = default;
    };
    using Body = std::variant<Subscribe, Teardown, Accept, Decline, AcceptInverseOffers,
                              DeclineInverseOffers, Revive, Kill, Shutdown, Acknowledge,
                              AcknowledgeOperationStatus, Reconcile, ReconcileOperations, Message,
                              Request, Suppress, UpdateFramework>;

    std::optional<std::string> framework_id;  // every call but the first SUBSCRIBE
    Body body;

    CallType type() const;
    bool operator==(const Call&) const = default;
};

// ---------------------------------------------------------------- events

struct Event {
    struct Subscribed {
        std::string framework_id;
        std::optional<double> heartbeat_interval_seconds;
        std::optional<MasterInfo> master_info;
        bool operator==(const Subscribed&) const = default;
    };
    struct Offers {
        std::vector<Offer> offers;
        bool operator==(const Offers&) const = default;
    };
    struct InverseOffers {
        std::vector<InverseOffer> inverse_offers;
        bool operator==(const InverseOffers&) const = default;
    };
    struct Rescind {
        std::string offer_id;
        bool operator==(const Rescind&) const = default;
    };
    struct RescindInverseOffer {
        std::string inverse_offer_id;
        bool operator==(const RescindInverseOffer&) const = default;
    };
    struct Update {
        TaskStatus status;
        bool operator==(const Update&) const = default;
    };
    struct UpdateOperationStatus {
        OperationStatus status;
        bool operator==(const UpdateOperationStatus&) const = default;
    };
    struct Message {
        std::string agent_id;
        std::string executor_id;
        std::string data;  // base64
        bool operator==(const Message&) const = default;
    };
    // An agent was removed (agent_id only) or an executor exited.
    struct Failure {
        std::optional<std::string> agent_id;
        std::optional<std::string> executor_id;
        std::optional<std::int32_t> status;  // raw waitpid status
        bool operator==(const Failure&) const = default;
    };
    struct Error {
        std::string message;
        bool operator==(const Error&) const = default;
    };
    struct Heartbeat {
        bool operator==(const Heartbeat&) const = default;
    };
    // An event type this version does not know (or no type at all): to log and skip.
    struct Unknown {
        std::string type;
        bool operator==(const Unknown&) const = default;
    };
    using Body =
        std::variant<Subscribed, Offers, InverseOffers, Rescind, RescindInverseOffer, Update,
                     UpdateOperationStatus, Message, Failure, Error, Heartbeat, Unknown>;

    Body body;

    EventType type() const;
    bool operator==(const Event&) const = default;
};

using UnknownEvent = Event::Unknown;

}  // namespace mesoflow::mesos
