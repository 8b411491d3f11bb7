// The writing half of codec.hpp: Calls (and the messages they carry) as
// Mesos' JSON. Field order follows the protos; optional fields are written
// only when set, plus the fields with an explicit proto default. The field
// helpers are in codec_write.hpp, shared with the Event writer of
// test/mesos_codec.
#include "codec_write.hpp"

#include <string>

#include "mesoflow/mesos/codec.hpp"

namespace mesoflow::mesos {
namespace detail {

namespace {

void write(Writer& w, const Labels& labels) {
    w.begin_object();
    array(w, "labels", labels, [](Writer& ww, const Label& l) {
        ww.begin_object();
        str(ww, "key", l.key);
        opt_str(ww, "value", l.value);
        ww.end_object();
    });
    w.end_object();
}

}  // namespace

void labels_field(Writer& w, std::string_view k, const Labels& labels) {
    if (labels.empty())
        return;
    w.field(k);
    write(w, labels);
}

namespace {

void write_ranges(Writer& w, const std::vector<Range>& ranges) {
    w.begin_object();
    w.field("range");
    w.begin_array();
    for (const auto& r : ranges) {
        w.begin_object();
        w.field("begin");
        w.unsigned_integer(r.begin);
        w.field("end");
        w.unsigned_integer(r.end);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

void write_set(Writer& w, const std::vector<std::string>& items) {
    w.begin_object();
    w.field("item");
    w.begin_array();
    for (const auto& s : items)
        w.string(s);
    w.end_array();
    w.end_object();
}

}  // namespace

void write_value(Writer& w, ValueType type, double scalar, const std::vector<Range>& ranges,
                 const std::vector<std::string>& set, const std::string* text) {
    enum_field(w, "type", type);
    switch (type) {
        case ValueType::scalar:
            w.field("scalar");
            w.begin_object();
            number(w, "value", scalar);
            w.end_object();
            break;
        case ValueType::ranges:
            w.field("ranges");
            write_ranges(w, ranges);
            break;
        case ValueType::set:
            w.field("set");
            write_set(w, set);
            break;
        case ValueType::text:
            if (text != nullptr) {
                w.field("text");
                w.begin_object();
                str(w, "value", *text);
                w.end_object();
            }
            break;
    }
}

namespace {

void write(Writer& w, const ReservationInfo& r) {
    w.begin_object();
    if (r.type)
        enum_field(w, "type", *r.type);
    opt_str(w, "role", r.role);
    opt_str(w, "principal", r.principal);
    labels_field(w, "labels", r.labels);
    w.end_object();
}

void write(Writer& w, const DiskInfo& d) {
    w.begin_object();
    if (d.persistence) {
        w.field("persistence");
        w.begin_object();
        str(w, "id", d.persistence->id);
        opt_str(w, "principal", d.persistence->principal);
        w.end_object();
    }
    if (d.volume) {
        w.field("volume");
        w.begin_object();
        enum_field(w, "mode", d.volume->mode);
        str(w, "container_path", d.volume->container_path);
        opt_str(w, "host_path", d.volume->host_path);
        w.end_object();
    }
    if (d.source) {
        w.field("source");
        w.begin_object();
        enum_field(w, "type", d.source->type);
        if (d.source->root) {
            w.field(d.source->type == DiskSourceType::mount ? "mount" : "path");
            w.begin_object();
            str(w, "root", *d.source->root);
            w.end_object();
        }
        opt_str(w, "vendor", d.source->vendor);
        opt_str(w, "id", d.source->id);
        opt_str(w, "profile", d.source->profile);
        w.end_object();
    }
    w.end_object();
}

}  // namespace

void write_resource(Writer& w, const Resource& r) {
    w.begin_object();
    str(w, "name", r.name);
    write_value(w, r.type, r.scalar, r.ranges, r.set, nullptr);
    opt_str(w, "role", r.role);
    if (r.reservation) {
        w.field("reservation");
        write(w, *r.reservation);
    }
    array(w, "reservations", r.reservations,
          [](Writer& ww, const ReservationInfo& x) { write(ww, x); });
    if (r.allocation_info) {
        w.field("allocation_info");
        w.begin_object();
        opt_str(w, "role", r.allocation_info->role);
        w.end_object();
    }
    opt_id(w, "provider_id", r.provider_id);
    if (r.disk) {
        w.field("disk");
        write(w, *r.disk);
    }
    if (r.revocable) {
        w.field("revocable");
        w.begin_object();
        w.end_object();
    }
    if (r.shared) {
        w.field("shared");
        w.begin_object();
        w.end_object();
    }
    w.end_object();
}

void resources(Writer& w, std::string_view k, const std::vector<Resource>& rs) {
    array(w, k, rs, [](Writer& ww, const Resource& r) { write_resource(ww, r); });
}

namespace {

void write(Writer& w, const FrameworkInfo& f) {
    w.begin_object();
    str(w, "user", f.user);
    str(w, "name", f.name);
    opt_id(w, "id", f.id);
    number(w, "failover_timeout", f.failover_timeout);
    boolean(w, "checkpoint", f.checkpoint);
    opt_str(w, "role", f.role);
    strings(w, "roles", f.roles);
    opt_str(w, "hostname", f.hostname);
    opt_str(w, "principal", f.principal);
    opt_str(w, "webui_url", f.webui_url);
    array(w, "capabilities", f.capabilities, [](Writer& ww, FrameworkCapability c) {
        ww.begin_object();
        enum_field(ww, "type", c);
        ww.end_object();
    });
    labels_field(w, "labels", f.labels);
    w.end_object();
}

void write(Writer& w, const CommandInfo& c) {
    w.begin_object();
    array(w, "uris", c.uris, [](Writer& ww, const CommandUri& u) {
        ww.begin_object();
        str(ww, "value", u.value);
        if (u.executable)
            boolean(ww, "executable", *u.executable);
        boolean(ww, "extract", u.extract);
        if (u.cache)
            boolean(ww, "cache", *u.cache);
        opt_str(ww, "output_file", u.output_file);
        ww.end_object();
    });
    if (!c.environment.empty()) {
        w.field("environment");
        w.begin_object();
        array(w, "variables", c.environment, [](Writer& ww, const EnvironmentVariable& v) {
            ww.begin_object();
            str(ww, "name", v.name);
            if (v.type)
                enum_field(ww, "type", *v.type);
            opt_str(ww, "value", v.value);
            ww.end_object();
        });
        w.end_object();
    }
    boolean(w, "shell", c.shell);
    opt_str(w, "value", c.value);
    strings(w, "arguments", c.arguments);
    opt_str(w, "user", c.user);
    w.end_object();
}

void port_mappings(Writer& w, const std::vector<PortMapping>& pm) {
    array(w, "port_mappings", pm, [](Writer& ww, const PortMapping& p) {
        ww.begin_object();
        ww.field("host_port");
        ww.unsigned_integer(p.host_port);
        ww.field("container_port");
        ww.unsigned_integer(p.container_port);
        opt_str(ww, "protocol", p.protocol);
        ww.end_object();
    });
}

void write(Writer& w, const Image& i) {
    w.begin_object();
    enum_field(w, "type", i.type);
    if (i.docker_name) {
        w.field("docker");
        w.begin_object();
        str(w, "name", *i.docker_name);
        w.end_object();
    }
    if (i.appc_name) {
        w.field("appc");
        w.begin_object();
        str(w, "name", *i.appc_name);
        w.end_object();
    }
    boolean(w, "cached", i.cached);
    w.end_object();
}

void write(Writer& w, const ContainerInfo& c) {
    w.begin_object();
    enum_field(w, "type", c.type);
    array(w, "volumes", c.volumes, [](Writer& ww, const Volume& v) {
        ww.begin_object();
        enum_field(ww, "mode", v.mode);
        str(ww, "container_path", v.container_path);
        opt_str(ww, "host_path", v.host_path);
        if (v.image) {
            ww.field("image");
            write(ww, *v.image);
        }
        ww.end_object();
    });
    opt_str(w, "hostname", c.hostname);
    if (c.docker) {
        const auto& d = *c.docker;
        w.field("docker");
        w.begin_object();
        str(w, "image", d.image);
        enum_field(w, "network", d.network);
        port_mappings(w, d.port_mappings);
        boolean(w, "privileged", d.privileged);
        array(w, "parameters", d.parameters, [](Writer& ww, const Parameter& p) {
            ww.begin_object();
            str(ww, "key", p.key);
            str(ww, "value", p.value);
            ww.end_object();
        });
        if (d.force_pull_image)
            boolean(w, "force_pull_image", *d.force_pull_image);
        w.end_object();
    }
    if (c.mesos) {
        w.field("mesos");
        w.begin_object();
        if (c.mesos->image) {
            w.field("image");
            write(w, *c.mesos->image);
        }
        w.end_object();
    }
    array(w, "network_infos", c.network_infos, [](Writer& ww, const NetworkInfo& n) {
        ww.begin_object();
        array(ww, "ip_addresses", n.ip_addresses, [](Writer& w2, const NetworkInfo::IpAddress& a) {
            w2.begin_object();
            if (a.protocol)
                enum_field(w2, "protocol", *a.protocol);
            opt_str(w2, "ip_address", a.ip_address);
            w2.end_object();
        });
        opt_str(ww, "name", n.name);
        strings(ww, "groups", n.groups);
        labels_field(ww, "labels", n.labels);
        port_mappings(ww, n.port_mappings);
        ww.end_object();
    });
    w.end_object();
}

void write(Writer& w, const ExecutorInfo& e) {
    w.begin_object();
    if (e.type)
        enum_field(w, "type", *e.type);
    id(w, "executor_id", e.executor_id);
    opt_id(w, "framework_id", e.framework_id);
    if (e.command) {
        w.field("command");
        write(w, *e.command);
    }
    if (e.container) {
        w.field("container");
        write(w, *e.container);
    }
    resources(w, "resources", e.resources);
    opt_str(w, "name", e.name);
    opt_str(w, "data", e.data);
    labels_field(w, "labels", e.labels);
    if (e.shutdown_grace_period_ns)
        nanos(w, "shutdown_grace_period", *e.shutdown_grace_period_ns);
    w.end_object();
}

void write(Writer& w, const KillPolicy& k) {
    w.begin_object();
    if (k.grace_period_ns)
        nanos(w, "grace_period", *k.grace_period_ns);
    w.end_object();
}

}  // namespace

void write_task_info(Writer& w, const TaskInfo& t) {
    w.begin_object();
    str(w, "name", t.name);
    id(w, "task_id", t.task_id);
    id(w, "agent_id", t.agent_id);
    resources(w, "resources", t.resources);
    if (t.executor) {
        w.field("executor");
        write(w, *t.executor);
    }
    if (t.command) {
        w.field("command");
        write(w, *t.command);
    }
    if (t.container) {
        w.field("container");
        write(w, *t.container);
    }
    if (t.kill_policy) {
        w.field("kill_policy");
        write(w, *t.kill_policy);
    }
    opt_str(w, "data", t.data);
    labels_field(w, "labels", t.labels);
    if (t.max_completion_time_ns)
        nanos(w, "max_completion_time", *t.max_completion_time_ns);
    if (!t.limits.empty()) {
        w.field("limits");
        w.begin_object();
        for (const auto& [name, value] : t.limits) {
            w.key(name);
            w.begin_object();
            number(w, "value", value);
            w.end_object();
        }
        w.end_object();
    }
    w.end_object();
}

namespace {

void write(Writer& w, const Filters& f) {
    w.begin_object();
    number(w, "refuse_seconds", f.refuse_seconds);
    w.end_object();
}

void filters(Writer& w, const std::optional<Filters>& f) {
    if (!f)
        return;
    w.field("filters");
    write(w, *f);
}

void write(Writer& w, const OfferOperation& op) {
    w.begin_object();
    w.field("type");
    w.string("LAUNCH");
    opt_id(w, "id", op.id);
    w.field("launch");
    w.begin_object();
    array(w, "task_infos", op.body.task_infos,
          [](Writer& ww, const TaskInfo& t) { write_task_info(ww, t); });
    w.end_object();
    w.end_object();
}

void call_body(Writer& w, const Call& call) {
    std::visit(
        [&w](const auto& b) {
            using B = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<B, Call::Subscribe>) {
                w.field("subscribe");
                w.begin_object();
                w.field("framework_info");
                write(w, b.framework_info);
                strings(w, "suppressed_roles", b.suppressed_roles);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::UpdateFramework>) {
                w.field("update_framework");
                w.begin_object();
                w.field("framework_info");
                write(w, b.framework_info);
                strings(w, "suppressed_roles", b.suppressed_roles);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Teardown>) {
                // TEARDOWN carries no sub-message.
            } else if constexpr (std::is_same_v<B, Call::Accept>) {
                w.field("accept");
                w.begin_object();
                ids(w, "offer_ids", b.offer_ids);
                array(w, "operations", b.operations,
                      [](Writer& ww, const OfferOperation& op) { write(ww, op); });
                filters(w, b.filters);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Decline>) {
                w.field("decline");
                w.begin_object();
                ids(w, "offer_ids", b.offer_ids);
                filters(w, b.filters);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::AcceptInverseOffers>) {
                w.field("accept_inverse_offers");
                w.begin_object();
                ids(w, "inverse_offer_ids", b.inverse_offer_ids);
                filters(w, b.filters);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::DeclineInverseOffers>) {
                w.field("decline_inverse_offers");
                w.begin_object();
                ids(w, "inverse_offer_ids", b.inverse_offer_ids);
                filters(w, b.filters);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Revive>) {
                w.field("revive");
                w.begin_object();
                strings(w, "roles", b.roles);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Suppress>) {
                w.field("suppress");
                w.begin_object();
                strings(w, "roles", b.roles);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Kill>) {
                w.field("kill");
                w.begin_object();
                id(w, "task_id", b.task_id);
                opt_id(w, "agent_id", b.agent_id);
                if (b.kill_policy) {
                    w.field("kill_policy");
                    write(w, *b.kill_policy);
                }
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Shutdown>) {
                w.field("shutdown");
                w.begin_object();
                id(w, "executor_id", b.executor_id);
                id(w, "agent_id", b.agent_id);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Acknowledge>) {
                w.field("acknowledge");
                w.begin_object();
                id(w, "agent_id", b.agent_id);
                id(w, "task_id", b.task_id);
                str(w, "uuid", b.uuid);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::AcknowledgeOperationStatus>) {
                w.field("acknowledge_operation_status");
                w.begin_object();
                opt_id(w, "agent_id", b.agent_id);
                opt_id(w, "resource_provider_id", b.resource_provider_id);
                str(w, "uuid", b.uuid);
                id(w, "operation_id", b.operation_id);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Reconcile>) {
                w.field("reconcile");
                w.begin_object();
                array(w, "tasks", b.tasks, [](Writer& ww, const Call::Reconcile::Task& t) {
                    ww.begin_object();
                    id(ww, "task_id", t.task_id);
                    opt_id(ww, "agent_id", t.agent_id);
                    ww.end_object();
                });
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::ReconcileOperations>) {
                w.field("reconcile_operations");
                w.begin_object();
                array(w, "operations", b.operations,
                      [](Writer& ww, const Call::ReconcileOperations::Operation& o) {
                          ww.begin_object();
                          id(ww, "operation_id", o.operation_id);
                          opt_id(ww, "agent_id", o.agent_id);
                          opt_id(ww, "resource_provider_id", o.resource_provider_id);
                          ww.end_object();
                      });
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Message>) {
                w.field("message");
                w.begin_object();
                id(w, "agent_id", b.agent_id);
                id(w, "executor_id", b.executor_id);
                str(w, "data", b.data);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Call::Request>) {
                w.field("request");
                w.begin_object();
                array(w, "requests", b.requests, [](Writer& ww, const Call::Request::Item& r) {
                    ww.begin_object();
                    opt_id(ww, "agent_id", r.agent_id);
                    resources(ww, "resources", r.resources);
                    ww.end_object();
                });
                w.end_object();
            }
        },
        call.body);
}

}  // namespace

}  // namespace detail

std::string to_json(const Call& call) {
    std::string out;
    out.reserve(256);
    detail::Writer w(out);
    w.begin_object();
    detail::opt_id(w, "framework_id", call.framework_id);
    detail::enum_field(w, "type", call.type());
    detail::call_body(w, call);
    w.end_object();
    return out;
}

}  // namespace mesoflow::mesos
