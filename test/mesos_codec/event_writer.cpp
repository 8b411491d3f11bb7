// Typed values -> JSON for Events and single MasterInfos and TaskInfos:
// what mesoflow never writes, for tests. The field helpers and the messages
// Events share with Calls come from src/mesos/codec_write.hpp.
#include "mesos/codec_write.hpp"

#include <string>

#include "mesos_codec/test_codec.hpp"

namespace mesoflow::mesos {
namespace detail {
namespace {

void write(Writer& w, const Attribute& a) {
    w.begin_object();
    str(w, "name", a.name);
    write_value(w, a.type, a.scalar, a.ranges, a.set, &a.text);
    w.end_object();
}

void write(Writer& w, const Address& a) {
    w.begin_object();
    opt_str(w, "hostname", a.hostname);
    opt_str(w, "ip", a.ip);
    w.field("port");
    w.integer(a.port);
    w.end_object();
}

void write(Writer& w, const Url& u) {
    w.begin_object();
    str(w, "scheme", u.scheme);
    w.field("address");
    write(w, u.address);
    opt_str(w, "path", u.path);
    array(w, "query", u.query, [](Writer& ww, const Parameter& p) {
        ww.begin_object();
        str(ww, "key", p.key);
        str(ww, "value", p.value);
        ww.end_object();
    });
    opt_str(w, "fragment", u.fragment);
    w.end_object();
}

void write(Writer& w, const DomainInfo& d) {
    w.begin_object();
    w.field("fault_domain");
    w.begin_object();
    w.field("region");
    w.begin_object();
    str(w, "name", d.region);
    w.end_object();
    w.field("zone");
    w.begin_object();
    str(w, "name", d.zone);
    w.end_object();
    w.end_object();
    w.end_object();
}

void write(Writer& w, const Unavailability& u) {
    w.begin_object();
    nanos(w, "start", u.start_ns);
    if (u.duration_ns)
        nanos(w, "duration", *u.duration_ns);
    w.end_object();
}

void write(Writer& w, const MasterInfo& m) {
    w.begin_object();
    str(w, "id", m.id);
    w.field("ip");
    w.unsigned_integer(m.ip);
    w.field("port");
    w.unsigned_integer(m.port);
    opt_str(w, "pid", m.pid);
    opt_str(w, "hostname", m.hostname);
    opt_str(w, "version", m.version);
    if (m.address) {
        w.field("address");
        write(w, *m.address);
    }
    if (m.domain) {
        w.field("domain");
        write(w, *m.domain);
    }
    array(w, "capabilities", m.capabilities, [](Writer& ww, MasterCapability c) {
        ww.begin_object();
        enum_field(ww, "type", c);
        ww.end_object();
    });
    w.end_object();
}

void write(Writer& w, const TaskStatus& s) {
    w.begin_object();
    id(w, "task_id", s.task_id);
    enum_field(w, "state", s.state);
    opt_str(w, "message", s.message);
    if (s.source)
        enum_field(w, "source", *s.source);
    if (s.reason)
        enum_field(w, "reason", *s.reason);
    opt_str(w, "data", s.data);
    opt_id(w, "agent_id", s.agent_id);
    opt_id(w, "executor_id", s.executor_id);
    if (s.timestamp)
        number(w, "timestamp", *s.timestamp);
    opt_str(w, "uuid", s.uuid);
    if (s.healthy)
        boolean(w, "healthy", *s.healthy);
    labels_field(w, "labels", s.labels);
    if (s.container_status_json) {
        w.field("container_status");
        w.raw(*s.container_status_json);
    }
    if (s.unreachable_time_ns)
        nanos(w, "unreachable_time", *s.unreachable_time_ns);
    w.end_object();
}

void write(Writer& w, const OperationStatus& s) {
    w.begin_object();
    opt_id(w, "operation_id", s.operation_id);
    enum_field(w, "state", s.state);
    opt_str(w, "message", s.message);
    resources(w, "converted_resources", s.converted_resources);
    if (s.uuid) {
        w.field("uuid");
        w.begin_object();
        str(w, "value", *s.uuid);
        w.end_object();
    }
    opt_id(w, "agent_id", s.agent_id);
    opt_id(w, "resource_provider_id", s.resource_provider_id);
    w.end_object();
}

void event_body(Writer& w, const Event& event) {
    std::visit(
        [&w](const auto& b) {
            using B = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<B, Event::Subscribed>) {
                w.field("subscribed");
                w.begin_object();
                id(w, "framework_id", b.framework_id);
                if (b.heartbeat_interval_seconds) {
                    number(w, "heartbeat_interval_seconds", *b.heartbeat_interval_seconds);
                }
                if (b.master_info) {
                    w.field("master_info");
                    write(w, *b.master_info);
                }
                w.end_object();
            } else if constexpr (std::is_same_v<B, Event::Offers>) {
                w.field("offers");
                w.begin_object();
                array(w, "offers", b.offers, [](Writer& ww, const Offer& o) {
                    ww.begin_object();
                    id(ww, "id", o.id);
                    id(ww, "framework_id", o.framework_id);
                    id(ww, "agent_id", o.agent_id);
                    str(ww, "hostname", o.hostname);
                    if (o.url) {
                        ww.field("url");
                        write(ww, *o.url);
                    }
                    if (o.domain) {
                        ww.field("domain");
                        write(ww, *o.domain);
                    }
                    resources(ww, "resources", o.resources);
                    array(ww, "attributes", o.attributes,
                          [](Writer& w2, const Attribute& a) { write(w2, a); });
                    ids(ww, "executor_ids", o.executor_ids);
                    if (o.unavailability) {
                        ww.field("unavailability");
                        write(ww, *o.unavailability);
                    }
                    if (o.allocation_info) {
                        ww.field("allocation_info");
                        ww.begin_object();
                        opt_str(ww, "role", o.allocation_info->role);
                        ww.end_object();
                    }
                    ww.end_object();
                });
                w.end_object();
            } else if constexpr (std::is_same_v<B, Event::InverseOffers>) {
                w.field("inverse_offers");
                w.begin_object();
                array(w, "inverse_offers", b.inverse_offers, [](Writer& ww, const InverseOffer& o) {
                    ww.begin_object();
                    id(ww, "id", o.id);
                    if (o.url) {
                        ww.field("url");
                        write(ww, *o.url);
                    }
                    id(ww, "framework_id", o.framework_id);
                    opt_id(ww, "agent_id", o.agent_id);
                    ww.field("unavailability");
                    write(ww, o.unavailability);
                    resources(ww, "resources", o.resources);
                    ww.end_object();
                });
                w.end_object();
            } else if constexpr (std::is_same_v<B, Event::Rescind>) {
                w.field("rescind");
                w.begin_object();
                id(w, "offer_id", b.offer_id);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Event::RescindInverseOffer>) {
                w.field("rescind_inverse_offer");
                w.begin_object();
                id(w, "inverse_offer_id", b.inverse_offer_id);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Event::Update>) {
                w.field("update");
                w.begin_object();
                w.field("status");
                write(w, b.status);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Event::UpdateOperationStatus>) {
                w.field("update_operation_status");
                w.begin_object();
                w.field("status");
                write(w, b.status);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Event::Message>) {
                w.field("message");
                w.begin_object();
                id(w, "agent_id", b.agent_id);
                id(w, "executor_id", b.executor_id);
                str(w, "data", b.data);
                w.end_object();
            } else if constexpr (std::is_same_v<B, Event::Failure>) {
                w.field("failure");
                w.begin_object();
                opt_id(w, "agent_id", b.agent_id);
                opt_id(w, "executor_id", b.executor_id);
                if (b.status) {
                    w.field("status");
                    w.integer(*b.status);
                }
                w.end_object();
            } else if constexpr (std::is_same_v<B, Event::Error>) {
                w.field("error");
                w.begin_object();
                str(w, "message", b.message);
                w.end_object();
            }
            // HEARTBEAT and unknown events carry no sub-message.
        },
        event.body);
}

}  // namespace
}  // namespace detail

std::string to_json(const Event& event) {
    std::string out;
    out.reserve(256);
    detail::Writer w(out);
    w.begin_object();
    if (const auto* u = std::get_if<Event::Unknown>(&event.body)) {
        if (!u->type.empty())
            detail::str(w, "type", u->type);
    } else {
        detail::enum_field(w, "type", event.type());
        detail::event_body(w, event);
    }
    w.end_object();
    return out;
}

std::string to_json(const TaskInfo& task) {
    std::string out;
    detail::Writer w(out);
    detail::write_task_info(w, task);
    return out;
}

std::string to_json(const MasterInfo& master) {
    std::string out;
    detail::Writer w(out);
    detail::write(w, master);
    return out;
}

}  // namespace mesoflow::mesos
