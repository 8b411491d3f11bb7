// JSON -> typed values. One Decoder walks the tape of a json::Document; every
// object is read in a single pass over its members, dispatching on the key,
// so unknown fields cost one comparison chain and are otherwise ignored.
// Failures unwind (as DecodeFailure, never past this file) to the parse_*
// entry points, which turn them into an Error that names the field path.
#include <fmt/core.h>

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "json_document.hpp"
#include "mesoflow/mesos/base64.hpp"
#include "mesoflow/mesos/codec.hpp"

namespace mesoflow::mesos {
namespace {

using json::Document;
using json::Kind;
using Index = std::uint32_t;

struct DecodeFailure {
    std::string message;
};

class Decoder {
  public:
    Decoder(const Document& doc, std::string_view root) : doc_(doc), root_(root) {
        path_.reserve(16);
    }

    const Document& doc() const { return doc_; }
    Kind kind(Index v) const { return doc_.node(v).kind; }

    [[noreturn]] void fail(std::string_view what) const {
        throw DecodeFailure{fmt::format("{}: {}", path(), what)};
    }

    [[noreturn]] void wrong_kind(Index v, std::string_view expected) const {
        fail(fmt::format("expected {}, got {}", expected, json::kind_name(kind(v))));
    }

    void expect(Index v, Kind k) const {
        if (kind(v) != k)
            wrong_kind(v, json::kind_name(k));
    }

    // Reports a required field that is absent from the object being read.
    [[noreturn]] void missing(std::string_view field) {
        path_.push_back({field, 0, false});
        fail("missing required field");
    }
    void need(bool present, std::string_view field) {
        if (!present)
            missing(field);
    }

    // Calls f(key, value) for every member of object v whose value is not null.
    template <typename F>
    void members(Index v, F&& f) {
        expect(v, Kind::object);
        const Index end = doc_.node(v).end;
        std::string scratch;
        Index i = v + 1;
        while (i < end) {
            const Index value = i + 1;
            const std::string_view key = doc_.string_view_of(i, scratch);
            if (kind(value) != Kind::null) {
                path_.push_back({key, 0, false});
                f(key, value);
                path_.pop_back();
            }
            i = doc_.node(value).end;
        }
    }

    // Calls f(element) for every element of array v.
    template <typename F>
    void elements(Index v, F&& f) {
        expect(v, Kind::array);
        const Index end = doc_.node(v).end;
        std::size_t n = 0;
        for (Index i = v + 1; i < end; i = doc_.node(i).end) {
            path_.push_back({{}, n++, true});
            f(i);
            path_.pop_back();
        }
    }

    // Reads the array v into `out`, one T per element via read(Decoder&, Index, T&).
    template <typename T, typename Read>
    void list(Index v, std::vector<T>& out, Read&& read) {
        expect(v, Kind::array);
        out.clear();
        out.reserve(doc_.node(v).size);
        elements(v, [&](Index e) { read(*this, e, out.emplace_back()); });
    }

    // Runs f inside the path segment `key`, for sub-messages read after a scan.
    template <typename F>
    void within(std::string_view key, F&& f) {
        path_.push_back({key, 0, false});
        f();
        path_.pop_back();
    }

    std::string str(Index v) {
        expect(v, Kind::string);
        return doc_.string_value(v);
    }

    bool boolean(Index v) {
        expect(v, Kind::boolean);
        return doc_.node(v).flag;
    }

    double number(Index v) {
        std::string scratch;
        std::string_view text;
        if (kind(v) == Kind::number) {
            text = doc_.raw(v);
        } else if (kind(v) == Kind::string) {
            text = doc_.string_view_of(v, scratch);
            if (text == "Infinity")
                return std::numeric_limits<double>::infinity();
            if (text == "-Infinity")
                return -std::numeric_limits<double>::infinity();
            if (text == "NaN")
                return std::numeric_limits<double>::quiet_NaN();
        } else {
            wrong_kind(v, "number");
        }
        double out = 0;
        const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
        if (r.ec == std::errc::result_out_of_range)
            fail("number out of range");
        if (r.ec != std::errc() || r.ptr != text.data() + text.size() || text.empty()) {
            wrong_kind(v, "number");
        }
        return out;
    }

    template <typename Int>
    Int integer(Index v) {
        std::string scratch;
        std::string_view text;
        if (kind(v) == Kind::number) {
            text = doc_.raw(v);
        } else if (kind(v) == Kind::string) {
            text = doc_.string_view_of(v, scratch);
        } else {
            wrong_kind(v, "integer");
        }
        const char* first = text.data();
        const char* last = first + text.size();
        Int out{};
        const auto r = std::from_chars(first, last, out);
        if (r.ec == std::errc() && r.ptr == last && !text.empty())
            return out;
        if (r.ec == std::errc::result_out_of_range)
            fail("integer out of range");
        // Integral values written with a fraction or an exponent ("5050.0", "1e3").
        double d = 0;
        const auto rd = std::from_chars(first, last, d);
        if (rd.ec == std::errc() && rd.ptr == last && !text.empty() && std::isfinite(d) &&
            d == std::floor(d)) {
            const double top = std::ldexp(1.0, std::numeric_limits<Int>::digits);
            const double bottom = std::numeric_limits<Int>::is_signed ? -top : 0.0;
            if (d >= bottom && d < top)
                return static_cast<Int>(d);
            fail("integer out of range");
        }
        wrong_kind(v, "integer");
    }

    // A `bytes` field: kept as the base64 text, which must be valid base64.
    std::string bytes(Index v) {
        std::string text = str(v);
        if (!base64_decode(text))
            fail("expected base64, got an invalid string");
        return text;
    }

    // An id message {"value": "..."}.
    std::string id(Index v) {
        std::string out;
        bool have = false;
        members(v, [&](std::string_view k, Index x) {
            if (k == "value") {
                out = str(x);
                have = true;
            }
        });
        need(have, "value");
        return out;
    }

    std::vector<std::string> strings(Index v) {
        std::vector<std::string> out;
        out.reserve(doc_.node(v).size);
        elements(v, [&](Index e) { out.push_back(str(e)); });
        return out;
    }

    std::vector<std::string> ids(Index v) {
        std::vector<std::string> out;
        elements(v, [&](Index e) { out.push_back(id(e)); });
        return out;
    }

    // An optional enum: a name this version does not know leaves it unset.
    template <typename E>
    std::optional<E> optional_enum(Index v, std::optional<E> (*parse)(std::string_view)) {
        expect(v, Kind::string);
        std::string scratch;
        return parse(doc_.string_view_of(v, scratch));
    }

    // A required enum: an unknown name is an error, as in Mesos.
    template <typename E>
    E required_enum(Index v, std::optional<E> (*parse)(std::string_view)) {
        expect(v, Kind::string);
        std::string scratch;
        const std::string_view name = doc_.string_view_of(v, scratch);
        const auto value = parse(name);
        if (!value)
            fail(fmt::format("unknown value \"{}\"", name));
        return *value;
    }

    // {"nanoseconds": n}: DurationInfo and TimeInfo.
    std::int64_t nanoseconds(Index v) {
        std::int64_t out = 0;
        bool have = false;
        members(v, [&](std::string_view k, Index x) {
            if (k == "nanoseconds") {
                out = integer<std::int64_t>(x);
                have = true;
            }
        });
        need(have, "nanoseconds");
        return out;
    }

    // {"value": <number>}: Value.Scalar.
    double scalar(Index v) {
        double out = 0;
        bool have = false;
        members(v, [&](std::string_view k, Index x) {
            if (k == "value") {
                out = number(x);
                have = true;
            }
        });
        need(have, "value");
        return out;
    }

    // The raw text of an object, kept verbatim.
    std::string raw_object(Index v) {
        expect(v, Kind::object);
        return std::string(doc_.raw(v));
    }

  private:
    struct Segment {
        std::string_view key;
        std::size_t index;
        bool is_index;
    };

    std::string path() const {
        if (path_.empty())
            return std::string(root_);
        std::string out;
        for (const auto& s : path_) {
            if (s.is_index) {
                out += fmt::format("[{}]", s.index);
            } else {
                if (!out.empty())
                    out += '.';
                out.append(s.key);
            }
        }
        return out;
    }

    const Document& doc_;
    std::string_view root_;
    std::vector<Segment> path_;
};

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

Labels labels(Decoder& d, Index v) {
    Labels out;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "labels")
            d.list(x, out, [](Decoder& dd, Index e, Label& l) { read(dd, e, l); });
    });
    return out;
}

void read(Decoder& d, Index v, Parameter& out) {
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
            d.list(x, out.query, [](Decoder& dd, Index e, Parameter& p) { read(dd, e, p); });
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

void read_resources(Decoder& d, Index v, std::vector<Resource>& out) {
    d.list(v, out, [](Decoder& dd, Index e, Resource& r) { read(dd, e, r); });
}

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

// ---------------------------------------------------------------- framework, master, offers

template <typename E>
std::vector<E> capabilities(Decoder& d, Index v, std::optional<E> (*parse)(std::string_view)) {
    std::vector<E> out;
    d.elements(v, [&](Index e) {
        E cap{};  // value 0 is `unknown` for both capability enums
        d.members(e, [&](std::string_view k, Index x) {
            if (k == "type")
                cap = d.optional_enum(x, parse).value_or(E{});
        });
        out.push_back(cap);
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

void read(Decoder& d, Index v, MasterInfo& out) {
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
            d.list(x, out.parameters, [](Decoder& dd, Index e, Parameter& p) { read(dd, e, p); });
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
            out.timestamp = d.number(x);
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

// The sub-message field of each CallType / EventType: its name in lower case.
std::string lower(std::string_view name) {
    std::string out(name);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

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

template <typename Msg>
void read_message(Decoder& d, Index v, Msg& out) {
    bool agent = false;
    bool executor = false;
    bool data = false;
    d.members(v, [&](std::string_view k, Index x) {
        if (k == "agent_id") {
            out.agent_id = d.id(x);
            agent = true;
        } else if (k == "executor_id") {
            out.executor_id = d.id(x);
            executor = true;
        } else if (k == "data") {
            out.data = d.bytes(x);
            data = true;
        }
    });
    d.need(agent, "agent_id");
    d.need(executor, "executor_id");
    d.need(data, "data");
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
            read(d, x, out.master_info.emplace());
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

template <typename T, typename Read>
Result<T> decode(std::string_view text, std::string_view root, Read&& read_root) {
    auto doc = json::parse_json(text);
    if (!doc)
        return doc.error();
    Decoder d(*doc, root);
    try {
        return read_root(d, Index{0});
    } catch (const DecodeFailure& f) {
        return Error{f.message};
    }
}

}  // namespace

Result<Call> parse_call(std::string_view json) {
    return decode<Call>(json, "call", [](Decoder& d, Index v) { return read_call(d, v); });
}

Result<Event> parse_event(std::string_view json) {
    return decode<Event>(json, "event", [](Decoder& d, Index v) { return read_event(d, v); });
}

Result<TaskInfo> parse_task_info(std::string_view json) {
    return decode<TaskInfo>(json, "task_info", [](Decoder& d, Index v) {
        TaskInfo t;
        read(d, v, t);
        return t;
    });
}

Result<MasterInfo> parse_master_info(std::string_view json) {
    return decode<MasterInfo>(json, "master_info", [](Decoder& d, Index v) {
        MasterInfo m;
        read(d, v, m);
        return m;
    });
}

}  // namespace mesoflow::mesos
