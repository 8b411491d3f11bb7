// JSON -> typed values for Calls (parse_call) and single TaskInfos and
// MasterInfos: what mesoflow never reads, for tests. The Decoder and the
// messages Calls share with Events come from src/mesos/codec_read.hpp.
#include "mesos/codec_read.hpp"

#include <array>

#include "mesos_codec/test_codec.hpp"

namespace mesoflow::mesos {
namespace detail {
namespace {

Filters filters(Decoder& d, Index v) {
    Filters out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "refuse_seconds")
            out.refuse_seconds = d.number(x);
    });
    return out;
}

KillPolicy kill_policy(Decoder& d, Index v) {
    KillPolicy out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "grace_period")
            out.grace_period_ns = d.nanoseconds(x);
    });
    return out;
}

void read(Decoder& d, Index v, FrameworkInfo& out) {
    bool user = false;
    bool name = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "user") {
            out.user = d.str(x);
            user = true;
        } else if (k == "name") {
            out.name = d.str(x);
            name = true;
        } else if (k == "id") {
            out.id = d.id(x);
        } else if (k == "failover_timeout") {
            out.failover_timeout = d.number(x);
        } else if (k == "checkpoint") {
            out.checkpoint = d.boolean(x);
        } else if (k == "role") {
            out.role = d.str(x);
        } else if (k == "roles") {
            out.roles = d.strings(x);
        } else if (k == "hostname") {
            out.hostname = d.str(x);
        } else if (k == "principal") {
            out.principal = d.str(x);
        } else if (k == "webui_url") {
            out.webui_url = d.str(x);
        } else if (k == "capabilities") {
            out.capabilities = capabilities(d, x, parse_framework_capability);
        } else if (k == "labels") {
            out.labels = labels(d, x);
        }
    });
    d.need(user, "user");
    d.need(name, "name");
}

// ---------------------------------------------------------------- tasks

void read(Decoder& d, Index v, CommandUri& out) {
    bool value = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "value") {
            out.value = d.str(x);
            value = true;
        } else if (k == "executable") {
            out.executable = d.boolean(x);
        } else if (k == "extract") {
            out.extract = d.boolean(x);
        } else if (k == "cache") {
            out.cache = d.boolean(x);
        } else if (k == "output_file") {
            out.output_file = d.str(x);
        }
    });
    d.need(value, "value");
}

void read(Decoder& d, Index v, EnvironmentVariable& out) {
    bool name = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "name") {
            out.name = d.str(x);
            name = true;
        } else if (k == "type") {
            out.type = d.optional_enum(x, parse_environment_variable_type);
        } else if (k == "value") {
            out.value = d.str(x);
        }
    });
    d.need(name, "name");
}

void read(Decoder& d, Index v, CommandInfo& out) {
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "uris") {
            d.list(x, out.uris, [](Decoder& dd, Index e, CommandUri& u) { read(dd, e, u); });
        } else if (k == "environment") {
            d.members(x, [&](std::string_view ek, Index y) {
                if (ek == "variables") {
                    d.list(y, out.environment,
                           [](Decoder& dd, Index e, EnvironmentVariable& ev) { read(dd, e, ev); });
                }
            });
        } else if (k == "shell") {
            out.shell = d.boolean(x);
        } else if (k == "value") {
            out.value = d.str(x);
        } else if (k == "arguments") {
            out.arguments = d.strings(x);
        } else if (k == "user") {
            out.user = d.str(x);
        }
    });
}

void read(Decoder& d, Index v, PortMapping& out) {
    bool host = false;
    bool container = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "host_port") {
            out.host_port = d.integer<std::uint32_t>(x);
            host = true;
        } else if (k == "container_port") {
            out.container_port = d.integer<std::uint32_t>(x);
            container = true;
        } else if (k == "protocol") {
            out.protocol = d.str(x);
        }
    });
    d.need(host, "host_port");
    d.need(container, "container_port");
}

void read_port_mappings(Decoder& d, Index v, std::vector<PortMapping>& out) {
    d.list(v, out, [](Decoder& dd, Index e, PortMapping& p) { read(dd, e, p); });
}

void read(Decoder& d, Index v, Image& out) {
    bool type = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "type") {
            out.type = d.required_enum(x, parse_image_type);
            type = true;
        } else if (k == "docker") {
            out.docker_name = named(d, x);
        } else if (k == "appc") {
            out.appc_name = named(d, x);
        } else if (k == "cached") {
            out.cached = d.boolean(x);
        }
    });
    d.need(type, "type");
}

void read(Decoder& d, Index v, Volume& out) {
    bool mode = false;
    bool path = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "mode") {
            out.mode = d.required_enum(x, parse_volume_mode);
            mode = true;
        } else if (k == "container_path") {
            out.container_path = d.str(x);
            path = true;
        } else if (k == "host_path") {
            out.host_path = d.str(x);
        } else if (k == "image") {
            read(d, x, out.image.emplace());
        }
    });
    d.need(mode, "mode");
    d.need(path, "container_path");
}

void read(Decoder& d, Index v, NetworkInfo& out) {
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "ip_addresses") {
            d.list(x, out.ip_addresses, [](Decoder& dd, Index e, NetworkInfo::IpAddress& ip) {
                dd.members(e, [&](std::string_view ik, Index y) {
                    if (ik == "protocol") {
                        ip.protocol = dd.optional_enum(y, parse_network_protocol);
                    } else if (ik == "ip_address") {
                        ip.ip_address = dd.str(y);
                    }
                });
            });
        } else if (k == "name") {
            out.name = d.str(x);
        } else if (k == "groups") {
            out.groups = d.strings(x);
        } else if (k == "labels") {
            out.labels = labels(d, x);
        } else if (k == "port_mappings") {
            read_port_mappings(d, x, out.port_mappings);
        }
    });
}

void read(Decoder& d, Index v, DockerInfo& out) {
    bool image = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "image") {
            out.image = d.str(x);
            image = true;
        } else if (k == "network") {
            out.network = d.optional_enum(x, parse_docker_network).value_or(DockerNetwork::host);
        } else if (k == "port_mappings") {
            read_port_mappings(d, x, out.port_mappings);
        } else if (k == "privileged") {
            out.privileged = d.boolean(x);
        } else if (k == "parameters") {
            d.list(x, out.parameters,
                   [](Decoder& dd, Index e, Parameter& p) { read_parameter(dd, e, p); });
        } else if (k == "force_pull_image") {
            out.force_pull_image = d.boolean(x);
        }
    });
    d.need(image, "image");
}

void read(Decoder& d, Index v, ContainerInfo& out) {
    bool type = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "type") {
            out.type = d.required_enum(x, parse_container_type);
            type = true;
        } else if (k == "volumes") {
            d.list(x, out.volumes, [](Decoder& dd, Index e, Volume& vol) { read(dd, e, vol); });
        } else if (k == "hostname") {
            out.hostname = d.str(x);
        } else if (k == "docker") {
            read(d, x, out.docker.emplace());
        } else if (k == "mesos") {
            MesosInfo& m = out.mesos.emplace();
            d.members(x, [&](std::string_view mk, Index y) {
                if (mk == "image")
                    read(d, y, m.image.emplace());
            });
        } else if (k == "network_infos") {
            d.list(x, out.network_infos,
                   [](Decoder& dd, Index e, NetworkInfo& n) { read(dd, e, n); });
        }
    });
    d.need(type, "type");
}

void read(Decoder& d, Index v, ExecutorInfo& out) {
    bool executor_id = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "type") {
            out.type = d.optional_enum(x, parse_executor_type);
        } else if (k == "executor_id") {
            out.executor_id = d.id(x);
            executor_id = true;
        } else if (k == "framework_id") {
            out.framework_id = d.id(x);
        } else if (k == "command") {
            read(d, x, out.command.emplace());
        } else if (k == "container") {
            read(d, x, out.container.emplace());
        } else if (k == "resources") {
            read_resources(d, x, out.resources);
        } else if (k == "name") {
            out.name = d.str(x);
        } else if (k == "data") {
            out.data = d.bytes(x);
        } else if (k == "labels") {
            out.labels = labels(d, x);
        } else if (k == "shutdown_grace_period") {
            out.shutdown_grace_period_ns = d.nanoseconds(x);
        }
    });
    d.need(executor_id, "executor_id");
}

void read(Decoder& d, Index v, TaskInfo& out) {
    bool name = false;
    bool task_id = false;
    bool agent_id = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "name") {
            out.name = d.str(x);
            name = true;
        } else if (k == "task_id") {
            out.task_id = d.id(x);
            task_id = true;
        } else if (k == "agent_id") {
            out.agent_id = d.id(x);
            agent_id = true;
        } else if (k == "resources") {
            read_resources(d, x, out.resources);
        } else if (k == "executor") {
            read(d, x, out.executor.emplace());
        } else if (k == "command") {
            read(d, x, out.command.emplace());
        } else if (k == "container") {
            read(d, x, out.container.emplace());
        } else if (k == "kill_policy") {
            out.kill_policy = kill_policy(d, x);
        } else if (k == "data") {
            out.data = d.bytes(x);
        } else if (k == "labels") {
            out.labels = labels(d, x);
        } else if (k == "max_completion_time") {
            out.max_completion_time_ns = d.nanoseconds(x);
        } else if (k == "limits") {
            out.limits.clear();
            d.members(x, [&](std::string_view name_of_limit, Index y) {
                out.limits.emplace_back(std::string(name_of_limit), d.scalar(y));
            });
        }
    });
    d.need(name, "name");
    d.need(task_id, "task_id");
    d.need(agent_id, "agent_id");
}

// ---------------------------------------------------------------- offer operations

// LAUNCH only (see OfferOperation); any other type is an error naming it.
void read(Decoder& d, Index v, OfferOperation& out) {
    std::optional<std::string> type;
    std::optional<Index> launch;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "type") {
            type = d.str(x);
        } else if (k == "id") {
            out.id = d.id(x);
        } else if (k == "launch") {
            launch = x;
        }
    });
    if (!type)
        d.missing("type");
    if (*type != "LAUNCH") {
        d.within("type", [&] {
            d.fail(fmt::format("unsupported operation type \"{}\" (LAUNCH only)", *type));
        });
    }
    if (!launch)
        d.missing("launch");
    d.within("launch", [&] {
        d.members(*launch, [&](std::string_view k, Index x) {
            if (k == "task_infos") {
                d.list(x, out.body.task_infos,
                       [](Decoder& dd, Index e, TaskInfo& t) { read(dd, e, t); });
            }
        });
    });
}

// ---------------------------------------------------------------- calls

void read(Decoder& d, Index v, Call::Subscribe& out) {
    bool info = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "framework_info") {
            read(d, x, out.framework_info);
            info = true;
        } else if (k == "suppressed_roles") {
            out.suppressed_roles = d.strings(x);
        }
    });
    d.need(info, "framework_info");
}

void read(Decoder& d, Index v, Call::UpdateFramework& out) {
    bool info = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "framework_info") {
            read(d, x, out.framework_info);
            info = true;
        } else if (k == "suppressed_roles") {
            out.suppressed_roles = d.strings(x);
        }
    });
    d.need(info, "framework_info");
}

void read(Decoder& d, Index v, Call::Accept& out) {
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "offer_ids") {
            out.offer_ids = d.ids(x);
        } else if (k == "operations") {
            d.list(x, out.operations,
                   [](Decoder& dd, Index e, OfferOperation& o) { read(dd, e, o); });
        } else if (k == "filters") {
            out.filters = filters(d, x);
        }
    });
}

template <typename T>
void read_ids_and_filters(Decoder& d, Index v, std::string_view ids_field,
                          std::vector<std::string>& ids, std::optional<Filters>& f) {
    d.members(v, [&](std::string_view k, Index x) {
        if (k == ids_field) {
            ids = d.ids(x);
        } else if (k == "filters") {
            f = filters(d, x);
        }
    });
}

std::vector<std::string> roles_of(Decoder& d, Index v) {
    std::vector<std::string> out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "roles")
            out = d.strings(x);
    });
    return out;
}

void read(Decoder& d, Index v, Call::Kill& out) {
    bool task = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "task_id") {
            out.task_id = d.id(x);
            task = true;
        } else if (k == "agent_id") {
            out.agent_id = d.id(x);
        } else if (k == "kill_policy") {
            out.kill_policy = kill_policy(d, x);
        }
    });
    d.need(task, "task_id");
}

void read(Decoder& d, Index v, Call::Shutdown& out) {
    bool executor = false;
    bool agent = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "executor_id") {
            out.executor_id = d.id(x);
            executor = true;
        } else if (k == "agent_id") {
            out.agent_id = d.id(x);
            agent = true;
        }
    });
    d.need(executor, "executor_id");
    d.need(agent, "agent_id");
}

void read(Decoder& d, Index v, Call::Acknowledge& out) {
    bool agent = false;
    bool task = false;
    bool uuid = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "agent_id") {
            out.agent_id = d.id(x);
            agent = true;
        } else if (k == "task_id") {
            out.task_id = d.id(x);
            task = true;
        } else if (k == "uuid") {
            out.uuid = d.bytes(x);
            uuid = true;
        }
    });
    d.need(agent, "agent_id");
    d.need(task, "task_id");
    d.need(uuid, "uuid");
}

void read(Decoder& d, Index v, Call::AcknowledgeOperationStatus& out) {
    bool uuid = false;
    bool operation = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "agent_id") {
            out.agent_id = d.id(x);
        } else if (k == "resource_provider_id") {
            out.resource_provider_id = d.id(x);
        } else if (k == "uuid") {
            out.uuid = d.bytes(x);
            uuid = true;
        } else if (k == "operation_id") {
            out.operation_id = d.id(x);
            operation = true;
        }
    });
    d.need(uuid, "uuid");
    d.need(operation, "operation_id");
}

void read(Decoder& d, Index v, Call::Reconcile& out) {
    d.members(v, [&](std::string_view k, Index x) {
        if (k != "tasks")
            return;
        d.list(x, out.tasks, [](Decoder& dd, Index e, Call::Reconcile::Task& t) {
            bool task = false;
            dd.members(e, [&](std::string_view tk, Index y) {
                if (tk == "task_id") {
                    t.task_id = dd.id(y);
                    task = true;
                } else if (tk == "agent_id") {
                    t.agent_id = dd.id(y);
                }
            });
            dd.need(task, "task_id");
        });
    });
}

void read(Decoder& d, Index v, Call::ReconcileOperations& out) {
    d.members(v, [&](std::string_view k, Index x) {
        if (k != "operations")
            return;
        d.list(x, out.operations,
               [](Decoder& dd, Index e, Call::ReconcileOperations::Operation& o) {
                   bool operation = false;
                   dd.members(e, [&](std::string_view ok, Index y) {
                       if (ok == "operation_id") {
                           o.operation_id = dd.id(y);
                           operation = true;
                       } else if (ok == "agent_id") {
                           o.agent_id = dd.id(y);
                       } else if (ok == "resource_provider_id") {
                           o.resource_provider_id = dd.id(y);
                       }
                   });
                   dd.need(operation, "operation_id");
               });
    });
}

void read(Decoder& d, Index v, Call::Request& out) {
    d.members(v, [&](std::string_view k, Index x) {
        if (k != "requests")
            return;
        d.list(x, out.requests, [](Decoder& dd, Index e, Call::Request::Item& item) {
            dd.members(e, [&](std::string_view rk, Index y) {
                if (rk == "agent_id") {
                    item.agent_id = dd.id(y);
                } else if (rk == "resources") {
                    read_resources(dd, y, item.resources);
                }
            });
        });
    });
}

Call::Body call_body(Decoder& d, CallType type, std::optional<Index> v) {
    // TEARDOWN has no sub-message; REVIVE and SUPPRESS may omit theirs.
    if (type == CallType::teardown)
        return Call::Teardown{};
    if (type == CallType::revive)
        return Call::Revive{v ? roles_of(d, *v) : std::vector<std::string>{}};
    if (type == CallType::suppress) {
        return Call::Suppress{v ? roles_of(d, *v) : std::vector<std::string>{}};
    }
    if (!v)
        d.missing(lower(to_string(type)));
    const Index x = *v;
    Call::Body body;
    d.within(lower(to_string(type)), [&] {
        switch (type) {
            case CallType::subscribe:
                read(d, x, body.emplace<Call::Subscribe>());
                break;
            case CallType::accept:
                read(d, x, body.emplace<Call::Accept>());
                break;
            case CallType::decline: {
                auto& b = body.emplace<Call::Decline>();
                read_ids_and_filters<Call::Decline>(d, x, "offer_ids", b.offer_ids, b.filters);
                break;
            }
            case CallType::accept_inverse_offers: {
                auto& b = body.emplace<Call::AcceptInverseOffers>();
                read_ids_and_filters<Call::AcceptInverseOffers>(d, x, "inverse_offer_ids",
                                                                b.inverse_offer_ids, b.filters);
                break;
            }
            case CallType::decline_inverse_offers: {
                auto& b = body.emplace<Call::DeclineInverseOffers>();
                read_ids_and_filters<Call::DeclineInverseOffers>(d, x, "inverse_offer_ids",
                                                                 b.inverse_offer_ids, b.filters);
                break;
            }
            case CallType::kill:
                read(d, x, body.emplace<Call::Kill>());
                break;
            case CallType::shutdown:
                read(d, x, body.emplace<Call::Shutdown>());
                break;
            case CallType::acknowledge:
                read(d, x, body.emplace<Call::Acknowledge>());
                break;
            case CallType::acknowledge_operation_status:
                read(d, x, body.emplace<Call::AcknowledgeOperationStatus>());
                break;
            case CallType::reconcile:
                read(d, x, body.emplace<Call::Reconcile>());
                break;
            case CallType::reconcile_operations:
                read(d, x, body.emplace<Call::ReconcileOperations>());
                break;
            case CallType::message:
                read_message(d, x, body.emplace<Call::Message>());
                break;
            case CallType::request:
                read(d, x, body.emplace<Call::Request>());
                break;
            case CallType::update_framework:
                read(d, x, body.emplace<Call::UpdateFramework>());
                break;
            case CallType::unknown:
            case CallType::teardown:
            case CallType::revive:
            case CallType::suppress:
                break;
        }
    });
    return body;
}

Call read_call(Decoder& d, Index root) {
    Call call;
    std::optional<CallType> type;
    std::optional<std::string> type_name;
    constexpr std::size_t kTypes = static_cast<std::size_t>(CallType::update_framework) + 1;
    std::array<std::optional<Index>, kTypes> bodies{};
    d.members(root, [&](std::string_view k, Index x) {
        if (k == "framework_id") {
            call.framework_id = d.id(x);
        } else if (k == "type") {
            type_name = d.str(x);
            type = parse_call_type(*type_name);
        } else {
            for (std::size_t i = 1; i < kTypes; ++i) {
                if (k == lower(to_string(static_cast<CallType>(i))))
                    bodies[i] = x;
            }
        }
    });
    if (!type_name)
        d.missing("type");
    if (!type || *type == CallType::unknown) {
        d.within("type", [&] { d.fail(fmt::format("unknown call type \"{}\"", *type_name)); });
    }
    call.body = call_body(d, *type, bodies[static_cast<std::size_t>(*type)]);
    return call;
}

}  // namespace
}  // namespace detail

Result<Call> parse_call(std::string_view json) {
    return detail::decode<Call>(
        json, "call", [](detail::Decoder& d, detail::Index v) { return detail::read_call(d, v); });
}

Result<TaskInfo> parse_task_info(std::string_view json) {
    return detail::decode<TaskInfo>(json, "task_info", [](detail::Decoder& d, detail::Index v) {
        TaskInfo t;
        detail::read(d, v, t);
        return t;
    });
}

Result<MasterInfo> parse_master_info(std::string_view json) {
    return detail::decode<MasterInfo>(json, "master_info", [](detail::Decoder& d, detail::Index v) {
        MasterInfo m;
        detail::read_master_info(d, v, m);
        return m;
    });
}

}  // namespace mesoflow::mesos
