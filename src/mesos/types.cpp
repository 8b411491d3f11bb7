// Enum spellings of the Mesos protos and the type tags of Call, Event and
// Offer.Operation. Each table lists an enum's values in declaration order, so
// to_string indexes it directly and parse scans it (the tables are short).
#include "mesoflow/mesos/types.hpp"

#include <array>
#include <cstddef>
#include <type_traits>

namespace mesoflow::mesos {
namespace {

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, E value) {
    const auto i = static_cast<std::size_t>(value);
    return i < N ? names[i] : std::string_view{"UNKNOWN"};
}

template <typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::string_view, N>& names, std::string_view s) {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == s)
            return static_cast<E>(i);
    }
    return std::nullopt;
}

constexpr std::array<std::string_view, 4> kValueTypes{"SCALAR", "RANGES", "SET", "TEXT"};
constexpr std::array<std::string_view, 9> kFrameworkCapabilities{
    "UNKNOWN",       "REVOCABLE_RESOURCES",    "TASK_KILLING_STATE",
    "GPU_RESOURCES", "SHARED_RESOURCES",       "PARTITION_AWARE",
    "MULTI_ROLE",    "RESERVATION_REFINEMENT", "REGION_AWARE"};
constexpr std::array<std::string_view, 4> kMasterCapabilities{"UNKNOWN", "AGENT_UPDATE",
                                                              "AGENT_DRAINING", "QUOTA_V2"};
constexpr std::array<std::string_view, 3> kReservationTypes{"UNKNOWN", "STATIC", "DYNAMIC"};
constexpr std::array<std::string_view, 5> kDiskSourceTypes{"UNKNOWN", "PATH", "MOUNT", "BLOCK",
                                                           "RAW"};
constexpr std::array<std::string_view, 14> kTaskStates{
    "TASK_STAGING",          "TASK_STARTING",    "TASK_RUNNING",
    "TASK_KILLING",          "TASK_FINISHED",    "TASK_FAILED",
    "TASK_KILLED",           "TASK_ERROR",       "TASK_LOST",
    "TASK_DROPPED",          "TASK_UNREACHABLE", "TASK_GONE",
    "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"};
constexpr std::array<std::string_view, 3> kTaskSources{"SOURCE_MASTER", "SOURCE_AGENT",
                                                       "SOURCE_EXECUTOR"};
constexpr std::array<std::string_view, 35> kTaskReasons{"REASON_COMMAND_EXECUTOR_FAILED",
                                                        "REASON_CONTAINER_LAUNCH_FAILED",
                                                        "REASON_CONTAINER_LIMITATION",
                                                        "REASON_CONTAINER_LIMITATION_DISK",
                                                        "REASON_CONTAINER_LIMITATION_MEMORY",
                                                        "REASON_CONTAINER_PREEMPTED",
                                                        "REASON_CONTAINER_UPDATE_FAILED",
                                                        "REASON_MAX_COMPLETION_TIME_REACHED",
                                                        "REASON_EXECUTOR_REGISTRATION_TIMEOUT",
                                                        "REASON_EXECUTOR_REREGISTRATION_TIMEOUT",
                                                        "REASON_EXECUTOR_TERMINATED",
                                                        "REASON_EXECUTOR_UNREGISTERED",
                                                        "REASON_FRAMEWORK_REMOVED",
                                                        "REASON_GC_ERROR",
                                                        "REASON_INVALID_FRAMEWORKID",
                                                        "REASON_INVALID_OFFERS",
                                                        "REASON_IO_SWITCHBOARD_EXITED",
                                                        "REASON_MASTER_DISCONNECTED",
                                                        "REASON_RECONCILIATION",
                                                        "REASON_RESOURCES_UNKNOWN",
                                                        "REASON_AGENT_DISCONNECTED",
                                                        "REASON_AGENT_DRAINING",
                                                        "REASON_AGENT_REMOVED",
                                                        "REASON_AGENT_REMOVED_BY_OPERATOR",
                                                        "REASON_AGENT_REREGISTERED",
                                                        "REASON_AGENT_RESTARTED",
                                                        "REASON_AGENT_UNKNOWN",
                                                        "REASON_TASK_KILLED_DURING_LAUNCH",
                                                        "REASON_TASK_CHECK_STATUS_UPDATED",
                                                        "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
                                                        "REASON_TASK_GROUP_INVALID",
                                                        "REASON_TASK_GROUP_UNAUTHORIZED",
                                                        "REASON_TASK_INVALID",
                                                        "REASON_TASK_UNAUTHORIZED",
                                                        "REASON_TASK_UNKNOWN"};
constexpr std::array<std::string_view, 10> kOperationStates{
    "OPERATION_UNSUPPORTED", "OPERATION_PENDING",
    "OPERATION_FINISHED",    "OPERATION_FAILED",
    "OPERATION_ERROR",       "OPERATION_DROPPED",
    "OPERATION_UNREACHABLE", "OPERATION_GONE_BY_OPERATOR",
    "OPERATION_RECOVERING",  "OPERATION_UNKNOWN"};
constexpr std::array<std::string_view, 3> kExecutorTypes{"UNKNOWN", "DEFAULT", "CUSTOM"};
constexpr std::array<std::string_view, 2> kContainerTypes{"DOCKER", "MESOS"};
constexpr std::array<std::string_view, 4> kDockerNetworks{"HOST", "BRIDGE", "NONE", "USER"};
constexpr std::array<std::string_view, 2> kImageTypes{"APPC", "DOCKER"};
constexpr std::array<std::string_view, 2> kVolumeModes{"RW", "RO"};
constexpr std::array<std::string_view, 3> kEnvironmentVariableTypes{"UNKNOWN", "VALUE", "SECRET"};
constexpr std::array<std::string_view, 2> kNetworkProtocols{"IPv4", "IPv6"};
constexpr std::array<std::string_view, 18> kCallTypes{"UNKNOWN",
                                                      "SUBSCRIBE",
                                                      "TEARDOWN",
                                                      "ACCEPT",
                                                      "DECLINE",
                                                      "ACCEPT_INVERSE_OFFERS",
                                                      "DECLINE_INVERSE_OFFERS",
                                                      "REVIVE",
                                                      "KILL",
                                                      "SHUTDOWN",
                                                      "ACKNOWLEDGE",
                                                      "ACKNOWLEDGE_OPERATION_STATUS",
                                                      "RECONCILE",
                                                      "RECONCILE_OPERATIONS",
                                                      "MESSAGE",
                                                      "REQUEST",
                                                      "SUPPRESS",
                                                      "UPDATE_FRAMEWORK"};
constexpr std::array<std::string_view, 12> kEventTypes{"UNKNOWN", "SUBSCRIBED",
                                                       "OFFERS",  "INVERSE_OFFERS",
                                                       "RESCIND", "RESCIND_INVERSE_OFFER",
                                                       "UPDATE",  "UPDATE_OPERATION_STATUS",
                                                       "MESSAGE", "FAILURE",
                                                       "ERROR",   "HEARTBEAT"};

}  // namespace

#define MESOFLOW_ENUM_NAMES(Enum, parse_name, table)     \
    std::string_view to_string(Enum v) {                 \
        return name_of(table, v);                        \
    }                                                    \
    std::optional<Enum> parse_name(std::string_view s) { \
        return value_of<Enum>(table, s);                 \
    }

MESOFLOW_ENUM_NAMES(ValueType, parse_value_type, kValueTypes)
MESOFLOW_ENUM_NAMES(FrameworkCapability, parse_framework_capability, kFrameworkCapabilities)
MESOFLOW_ENUM_NAMES(MasterCapability, parse_master_capability, kMasterCapabilities)
MESOFLOW_ENUM_NAMES(ReservationType, parse_reservation_type, kReservationTypes)
MESOFLOW_ENUM_NAMES(DiskSourceType, parse_disk_source_type, kDiskSourceTypes)
MESOFLOW_ENUM_NAMES(TaskState, parse_task_state, kTaskStates)
MESOFLOW_ENUM_NAMES(TaskSource, parse_task_source, kTaskSources)
MESOFLOW_ENUM_NAMES(TaskReason, parse_task_reason, kTaskReasons)
MESOFLOW_ENUM_NAMES(OperationState, parse_operation_state, kOperationStates)
MESOFLOW_ENUM_NAMES(ExecutorType, parse_executor_type, kExecutorTypes)
MESOFLOW_ENUM_NAMES(ContainerType, parse_container_type, kContainerTypes)
MESOFLOW_ENUM_NAMES(DockerNetwork, parse_docker_network, kDockerNetworks)
MESOFLOW_ENUM_NAMES(ImageType, parse_image_type, kImageTypes)
MESOFLOW_ENUM_NAMES(VolumeMode, parse_volume_mode, kVolumeModes)
MESOFLOW_ENUM_NAMES(EnvironmentVariableType, parse_environment_variable_type,
                    kEnvironmentVariableTypes)
MESOFLOW_ENUM_NAMES(NetworkProtocol, parse_network_protocol, kNetworkProtocols)
MESOFLOW_ENUM_NAMES(CallType, parse_call_type, kCallTypes)
MESOFLOW_ENUM_NAMES(EventType, parse_event_type, kEventTypes)

#undef MESOFLOW_ENUM_NAMES

namespace {

template <typename T>
struct Tag;
#define MESOFLOW_TAG(Type, value)             \
    template <>                               \
    struct Tag<Type> {                        \
        static constexpr auto kValue = value; \
    };
MESOFLOW_TAG(Call::Subscribe, CallType::subscribe)
MESOFLOW_TAG(Call::Teardown, CallType::teardown)
MESOFLOW_TAG(Call::Accept, CallType::accept)
MESOFLOW_TAG(Call::Decline, CallType::decline)
MESOFLOW_TAG(Call::AcceptInverseOffers, CallType::accept_inverse_offers)
MESOFLOW_TAG(Call::DeclineInverseOffers, CallType::decline_inverse_offers)
MESOFLOW_TAG(Call::Revive, CallType::revive)
MESOFLOW_TAG(Call::Kill, CallType::kill)
MESOFLOW_TAG(Call::Shutdown, CallType::shutdown)
MESOFLOW_TAG(Call::Acknowledge, CallType::acknowledge)
MESOFLOW_TAG(Call::AcknowledgeOperationStatus, CallType::acknowledge_operation_status)
MESOFLOW_TAG(Call::Reconcile, CallType::reconcile)
MESOFLOW_TAG(Call::ReconcileOperations, CallType::reconcile_operations)
MESOFLOW_TAG(Call::Message, CallType::message)
MESOFLOW_TAG(Call::Request, CallType::request)
MESOFLOW_TAG(Call::Suppress, CallType::suppress)
MESOFLOW_TAG(Call::UpdateFramework, CallType::update_framework)
MESOFLOW_TAG(Event::Subscribed, EventType::subscribed)
MESOFLOW_TAG(Event::Offers, EventType::offers)
MESOFLOW_TAG(Event::InverseOffers, EventType::inverse_offers)
MESOFLOW_TAG(Event::Rescind, EventType::rescind)
MESOFLOW_TAG(Event::RescindInverseOffer, EventType::rescind_inverse_offer)
MESOFLOW_TAG(Event::Update, EventType::update)
MESOFLOW_TAG(Event::UpdateOperationStatus, EventType::update_operation_status)
MESOFLOW_TAG(Event::Message, EventType::message)
MESOFLOW_TAG(Event::Failure, EventType::failure)
MESOFLOW_TAG(Event::Error, EventType::error)
MESOFLOW_TAG(Event::Heartbeat, EventType::heartbeat)
MESOFLOW_TAG(Event::Unknown, EventType::unknown)
#undef MESOFLOW_TAG

template <typename Variant>
auto tag_of(const Variant& body) {
    return std::visit([](const auto& alt) { return Tag<std::decay_t<decltype(alt)>>::kValue; },
                      body);
}

}  // namespace

CallType Call::type() const {
    return tag_of(body);
}
EventType Event::type() const {
    return tag_of(body);
}

}  // namespace mesoflow::mesos
