// JSON -> typed values for what mesoflow reads: Events (parse_event), and
// the messages Calls share with them (codec_read.hpp declares those, for the
// Call reader in test/mesos_codec). The Decoder is in codec_read.hpp.
#include "codec_read.hpp"

#include <array>

#include "mesoflow/mesos/codec.hpp"

namespace mesoflow::mesos {
namespace detail {

namespace {

// ---------------------------------------------------------------- small messages

void read(Decoder& d, Index v, Label& out) {
    bool key = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "key") {
            out.key = d.str(x);
            key = true;
        } else if (k == "value") {
            out.value = d.str(x);
        }
    });
    d.need(key, "key");
}

}  // namespace

Labels labels(Decoder& d, Index v) {
    Labels out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "labels")
            d.list(x, out, [](Decoder& dd, Index e, Label& l) { read(dd, e, l); });
    });
    return out;
}

void read_parameter(Decoder& d, Index v, Parameter& out) {
    bool key = false;
    bool value = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "key") {
            out.key = d.str(x);
            key = true;
        } else if (k == "value") {
            out.value = d.str(x);
            value = true;
        }
    });
    d.need(key, "key");
    d.need(value, "value");
}

namespace {

void read(Decoder& d, Index v, Range& out) {
    bool begin = false;
    bool end = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "begin") {
            out.begin = d.integer<std::uint64_t>(x);
            begin = true;
        } else if (k == "end") {
            out.end = d.integer<std::uint64_t>(x);
            end = true;
        }
    });
    d.need(begin, "begin");
    d.need(end, "end");
}

std::vector<Range> ranges(Decoder& d, Index v) {
    std::vector<Range> out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "range")
            d.list(x, out, [](Decoder& dd, Index e, Range& r) { read(dd, e, r); });
    });
    return out;
}

std::vector<std::string> set_items(Decoder& d, Index v) {
    std::vector<std::string> out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "item")
            out = d.strings(x);
    });
    return out;
}

std::string text_value(Decoder& d, Index v) {
    std::string out;
    bool have = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "value") {
            out = d.str(x);
            have = true;
        }
    });
    d.need(have, "value");
    return out;
}

void read(Decoder& d, Index v, Address& out) {
    bool port = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "hostname") {
            out.hostname = d.str(x);
        } else if (k == "ip") {
            out.ip = d.str(x);
        } else if (k == "port") {
            out.port = d.integer<std::int32_t>(x);
            port = true;
        }
    });
    d.need(port, "port");
}

void read(Decoder& d, Index v, Url& out) {
    bool scheme = false;
    bool address = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "scheme") {
            out.scheme = d.str(x);
            scheme = true;
        } else if (k == "address") {
            read(d, x, out.address);
            address = true;
        } else if (k == "path") {
            out.path = d.str(x);
        } else if (k == "query") {
            d.list(x, out.query,
                   [](Decoder& dd, Index e, Parameter& p) { read_parameter(dd, e, p); });
        } else if (k == "fragment") {
            out.fragment = d.str(x);
        }
    });
    d.need(scheme, "scheme");
    d.need(address, "address");
}

void read(Decoder& d, Index v, Unavailability& out) {
    bool start = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "start") {
            out.start_ns = d.nanoseconds(x);
            start = true;
        } else if (k == "duration") {
            out.duration_ns = d.nanoseconds(x);
        }
    });
    d.need(start, "start");
}

}  // namespace

std::string named(Decoder& d, Index v) {
    std::string out;
    bool have = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "name") {
            out = d.str(x);
            have = true;
        }
    });
    d.need(have, "name");
    return out;
}

namespace {

std::optional<DomainInfo> domain(Decoder& d, Index v) {
    std::optional<DomainInfo> out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k != "fault_domain")
            return;
        DomainInfo info;
        bool region = false;
        bool zone = false;
        d.members(x, [&](std::string_view fk, Index y) {
            if (fk == "region") {
                info.region = named(d, y);
                region = true;
            } else if (fk == "zone") {
                info.zone = named(d, y);
                zone = true;
            }
        });
        d.need(region, "region");
        d.need(zone, "zone");
        out = std::move(info);
    });
    return out;
}

// ---------------------------------------------------------------- resources

AllocationInfo allocation_info(Decoder& d, Index v) {
    AllocationInfo out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "role")
            out.role = d.str(x);
    });
    return out;
}

void read(Decoder& d, Index v, ReservationInfo& out) {
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "type") {
            out.type = d.optional_enum(x, parse_reservation_type);
        } else if (k == "role") {
            out.role = d.str(x);
        } else if (k == "principal") {
            out.principal = d.str(x);
        } else if (k == "labels") {
            out.labels = labels(d, x);
        }
    });
}

std::optional<std::string> root_of(Decoder& d, Index v) {
    std::optional<std::string> out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "root")
            out = d.str(x);
    });
    return out;
}

DiskInfo disk_info(Decoder& d, Index v) {
    DiskInfo out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "persistence") {
            DiskInfo::Persistence p;
            bool id = false;
            d.members(x, [&](std::string_view pk, Index y) {
                if (pk == "id") {
                    p.id = d.str(y);
                    id = true;
                } else if (pk == "principal") {
                    p.principal = d.str(y);
                }
            });
            d.need(id, "id");
            out.persistence = std::move(p);
        } else if (k == "volume") {
            DiskInfo::Volume vol;
            bool mode = false;
            bool path = false;
            d.members(x, [&](std::string_view vk, Index y) {
                if (vk == "mode") {
                    vol.mode = d.required_enum(y, parse_volume_mode);
                    mode = true;
                } else if (vk == "container_path") {
                    vol.container_path = d.str(y);
                    path = true;
                } else if (vk == "host_path") {
                    vol.host_path = d.str(y);
                }
            });
            d.need(mode, "mode");
            d.need(path, "container_path");
            out.volume = std::move(vol);
        } else if (k == "source") {
            DiskInfo::Source src;
            bool type = false;
            d.members(x, [&](std::string_view sk, Index y) {
                if (sk == "type") {
                    src.type = d.required_enum(y, parse_disk_source_type);
                    type = true;
                } else if (sk == "path" || sk == "mount") {
                    // Both carry {"root": ...}; the type says which one applies.
                    if (auto r = root_of(d, y))
                        src.root = std::move(r);
                } else if (sk == "vendor") {
                    src.vendor = d.str(y);
                } else if (sk == "id") {
                    src.id = d.str(y);
                } else if (sk == "profile") {
                    src.profile = d.str(y);
                }
            });
            d.need(type, "type");
            out.source = std::move(src);
        }
    });
    return out;
}

void check_value_present(Decoder& d, ValueType type, bool scalar, bool ranges, bool set,
                         bool text) {
    switch (type) {
        case ValueType::scalar:
            d.need(scalar, "scalar");
            break;
        case ValueType::ranges:
            d.need(ranges, "ranges");
            break;
        case ValueType::set:
            d.need(set, "set");
            break;
        case ValueType::text:
            d.need(text, "text");
            break;
    }
}

void read(Decoder& d, Index v, Resource& out) {
    bool name = false;
    bool type = false;
    bool scalar = false;
    bool ranges_seen = false;
    bool set_seen = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "name") {
            out.name = d.str(x);
            name = true;
        } else if (k == "type") {
            out.type = d.required_enum(x, parse_value_type);
            type = true;
        } else if (k == "scalar") {
            out.scalar = d.scalar(x);
            scalar = true;
        } else if (k == "ranges") {
            out.ranges = ranges(d, x);
            ranges_seen = true;
        } else if (k == "set") {
            out.set = set_items(d, x);
            set_seen = true;
        } else if (k == "role") {
            out.role = d.str(x);
        } else if (k == "allocation_info") {
            out.allocation_info = allocation_info(d, x);
        } else if (k == "reservation") {
            read(d, x, out.reservation.emplace());
        } else if (k == "reservations") {
            d.list(x, out.reservations,
                   [](Decoder& dd, Index e, ReservationInfo& r) { read(dd, e, r); });
        } else if (k == "provider_id") {
            out.provider_id = d.id(x);
        } else if (k == "disk") {
            out.disk = disk_info(d, x);
        } else if (k == "revocable") {
            d.expect(x, Kind::object);
            out.revocable = true;
        } else if (k == "shared") {
            d.expect(x, Kind::object);
            out.shared = true;
        }
    });
    d.need(name, "name");
    d.need(type, "type");
    check_value_present(d, out.type, scalar, ranges_seen, set_seen, false);
}

}  // namespace

void read_resources(Decoder& d, Index v, std::vector<Resource>& out) {
    d.list(v, out, [](Decoder& dd, Index e, Resource& r) { read(dd, e, r); });
}

namespace {

void read(Decoder& d, Index v, Attribute& out) {
    bool name = false;
    bool type = false;
    bool scalar = false;
    bool ranges_seen = false;
    bool set_seen = false;
    bool text = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "name") {
            out.name = d.str(x);
            name = true;
        } else if (k == "type") {
            out.type = d.required_enum(x, parse_value_type);
            type = true;
        } else if (k == "scalar") {
            out.scalar = d.scalar(x);
            scalar = true;
        } else if (k == "ranges") {
            out.ranges = ranges(d, x);
            ranges_seen = true;
        } else if (k == "set") {
            out.set = set_items(d, x);
            set_seen = true;
        } else if (k == "text") {
            out.text = text_value(d, x);
            text = true;
        }
    });
    d.need(name, "name");
    d.need(type, "type");
    check_value_present(d, out.type, scalar, ranges_seen, set_seen, text);
}

}  // namespace

// ---------------------------------------------------------------- master, offers

void read_master_info(Decoder& d, Index v, MasterInfo& out) {
    bool id = false;
    bool ip = false;
    bool port = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "id") {
            out.id = d.str(x);
            id = true;
        } else if (k == "ip") {
            out.ip = d.integer<std::uint32_t>(x);
            ip = true;
        } else if (k == "port") {
            out.port = d.integer<std::uint32_t>(x);
            port = true;
        } else if (k == "pid") {
            out.pid = d.str(x);
        } else if (k == "hostname") {
            out.hostname = d.str(x);
        } else if (k == "version") {
            out.version = d.str(x);
        } else if (k == "address") {
            read(d, x, out.address.emplace());
        } else if (k == "domain") {
            out.domain = domain(d, x);
        } else if (k == "capabilities") {
            out.capabilities = capabilities(d, x, parse_master_capability);
        }
    });
    d.need(id, "id");
    d.need(ip, "ip");
    d.need(port, "port");
}

namespace {

void read(Decoder& d, Index v, Offer& out) {
    bool id = false;
    bool framework_id = false;
    bool agent_id = false;
    bool hostname = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "id") {
            out.id = d.id(x);
            id = true;
        } else if (k == "framework_id") {
            out.framework_id = d.id(x);
            framework_id = true;
        } else if (k == "agent_id") {
            out.agent_id = d.id(x);
            agent_id = true;
        } else if (k == "hostname") {
            out.hostname = d.str(x);
            hostname = true;
        } else if (k == "url") {
            read(d, x, out.url.emplace());
        } else if (k == "domain") {
            out.domain = domain(d, x);
        } else if (k == "resources") {
            read_resources(d, x, out.resources);
        } else if (k == "attributes") {
            d.list(x, out.attributes, [](Decoder& dd, Index e, Attribute& a) { read(dd, e, a); });
        } else if (k == "executor_ids") {
            out.executor_ids = d.ids(x);
        } else if (k == "unavailability") {
            read(d, x, out.unavailability.emplace());
        } else if (k == "allocation_info") {
            out.allocation_info = allocation_info(d, x);
        }
    });
    d.need(id, "id");
    d.need(framework_id, "framework_id");
    d.need(agent_id, "agent_id");
    d.need(hostname, "hostname");
}

void read(Decoder& d, Index v, InverseOffer& out) {
    bool id = false;
    bool framework_id = false;
    bool unavailability = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "id") {
            out.id = d.id(x);
            id = true;
        } else if (k == "url") {
            read(d, x, out.url.emplace());
        } else if (k == "framework_id") {
            out.framework_id = d.id(x);
            framework_id = true;
        } else if (k == "agent_id") {
            out.agent_id = d.id(x);
        } else if (k == "unavailability") {
            read(d, x, out.unavailability);
            unavailability = true;
        } else if (k == "resources") {
            read_resources(d, x, out.resources);
        }
    });
    d.need(id, "id");
    d.need(framework_id, "framework_id");
    d.need(unavailability, "unavailability");
}

void read(Decoder& d, Index v, TaskStatus& out) {
    bool task_id = false;
    bool state = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "task_id") {
            out.task_id = d.id(x);
            task_id = true;
        } else if (k == "state") {
            out.state = d.required_enum(x, parse_task_state);
            state = true;
        } else if (k == "message") {
            out.message = d.str(x);
        } else if (k == "source") {
            out.source = d.optional_enum(x, parse_task_source);
        } else if (k == "reason") {
            out.reason = d.optional_enum(x, parse_task_reason);
        } else if (k == "data") {
            out.data = d.bytes(x);
        } else if (k == "agent_id") {
            out.agent_id = d.id(x);
        } else if (k == "executor_id") {
            out.executor_id = d.id(x);
        } else if (k == "timestamp") {
            // One past a double's range is no time: as if not given.
            out.timestamp = d.number_in_range(x);
        } else if (k == "uuid") {
            out.uuid = d.bytes(x);
        } else if (k == "healthy") {
            out.healthy = d.boolean(x);
        } else if (k == "unreachable_time") {
            out.unreachable_time_ns = d.nanoseconds(x);
        } else if (k == "container_status") {
            out.container_status_json = d.raw_object(x);
        } else if (k == "labels") {
            out.labels = labels(d, x);
        }
    });
    d.need(task_id, "task_id");
    d.need(state, "state");
}

void read(Decoder& d, Index v, OperationStatus& out) {
    bool state = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "operation_id") {
            out.operation_id = d.id(x);
        } else if (k == "state") {
            out.state = d.required_enum(x, parse_operation_state);
            state = true;
        } else if (k == "message") {
            out.message = d.str(x);
        } else if (k == "converted_resources") {
            read_resources(d, x, out.converted_resources);
        } else if (k == "uuid") {
            bool value = false;
            d.members(x, [&](std::string_view uk, Index y) {
                if (uk == "value") {
                    out.uuid = d.bytes(y);
                    value = true;
                }
            });
            d.need(value, "value");
        } else if (k == "agent_id") {
            out.agent_id = d.id(x);
        } else if (k == "resource_provider_id") {
            out.resource_provider_id = d.id(x);
        }
    });
    d.need(state, "state");
}

// ---------------------------------------------------------------- events

void read(Decoder& d, Index v, Event::Subscribed& out) {
    bool framework = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "framework_id") {
            out.framework_id = d.id(x);
            framework = true;
        } else if (k == "heartbeat_interval_seconds") {
            out.heartbeat_interval_seconds = d.number(x);
        } else if (k == "master_info") {
            read_master_info(d, x, out.master_info.emplace());
        }
    });
    d.need(framework, "framework_id");
}

// Reads the one required id field `field` of a small event.
std::string required_id(Decoder& d, Index v, std::string_view field) {
    std::optional<std::string> out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == field)
            out = d.id(x);
    });
    if (!out)
        d.missing(field);
    return *out;
}

template <typename Status>
Status required_status(Decoder& d, Index v) {
    std::optional<Status> out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "status")
            read(d, x, out.emplace());
    });
    if (!out)
        d.missing("status");
    return std::move(*out);
}

Event::Body event_body(Decoder& d, EventType type, std::optional<Index> v) {
    if (type == EventType::heartbeat)
        return Event::Heartbeat{};
    if (!v)
        d.missing(lower(to_string(type)));
    const Index x = *v;
    Event::Body body;
    d.within(lower(to_string(type)), [&] {
        switch (type) {
            case EventType::subscribed:
                read(d, x, body.emplace<Event::Subscribed>());
                break;
            case EventType::offers: {
                auto& b = body.emplace<Event::Offers>();
                d.members(x, [&](std::string_view k, Index y) {
                    if (k == "offers")
                        d.list(y, b.offers, [](Decoder& dd, Index e, Offer& o) { read(dd, e, o); });
                });
                break;
            }
            case EventType::inverse_offers: {
                auto& b = body.emplace<Event::InverseOffers>();
                d.members(x, [&](std::string_view k, Index y) {
                    if (k == "inverse_offers") {
                        d.list(y, b.inverse_offers,
                               [](Decoder& dd, Index e, InverseOffer& o) { read(dd, e, o); });
                    }
                });
                break;
            }
            case EventType::rescind:
                body = Event::Rescind{required_id(d, x, "offer_id")};
                break;
            case EventType::rescind_inverse_offer:
                body = Event::RescindInverseOffer{required_id(d, x, "inverse_offer_id")};
                break;
            case EventType::update:
                body = Event::Update{required_status<TaskStatus>(d, x)};
                break;
            case EventType::update_operation_status:
                body = Event::UpdateOperationStatus{required_status<OperationStatus>(d, x)};
                break;
            case EventType::message:
                read_message(d, x, body.emplace<Event::Message>());
                break;
            case EventType::failure: {
                auto& b = body.emplace<Event::Failure>();
                d.members(x, [&](std::string_view k, Index y) {
                    if (k == "agent_id") {
                        b.agent_id = d.id(y);
                    } else if (k == "executor_id") {
                        b.executor_id = d.id(y);
                    } else if (k == "status") {
                        b.status = d.integer<std::int32_t>(y);
                    }
                });
                break;
            }
            case EventType::error: {
                auto& b = body.emplace<Event::Error>();
                bool message = false;
                d.members(x, [&](std::string_view k, Index y) {
                    if (k == "message") {
                        b.message = d.str(y);
                        message = true;
                    }
                });
                d.need(message, "message");
                break;
            }
            case EventType::unknown:
            case EventType::heartbeat:
                break;
        }
    });
    return body;
}

Event read_event(Decoder& d, Index root) {
    std::optional<std::string> type_name;
    constexpr std::size_t kTypes = static_cast<std::size_t>(EventType::heartbeat) + 1;
    std::array<std::optional<Index>, kTypes> bodies{};
    std::optional<EventType> type;
    d.members(root, [&](std::string_view k, Index x) {
        if (k == "type") {
            type_name = d.str(x);
            type = parse_event_type(*type_name);
            return;
        }
        for (std::size_t i = 1; i < kTypes; ++i) {
            if (k == lower(to_string(static_cast<EventType>(i))))
                bodies[i] = x;
        }
    });
    if (!type || *type == EventType::unknown) {
        return Event{Event::Unknown{type_name.value_or("")}};
    }
    return Event{event_body(d, *type, bodies[static_cast<std::size_t>(*type)])};
}

}  // namespace

}  // namespace detail

Result<Event> parse_event(std::string_view json) {
    return detail::decode<Event>(json, "event", [](detail::Decoder& d, detail::Index v) {
        return detail::read_event(d, v);
    });
}

}  // namespace mesoflow::mesos
