// The reading half of the codec's machinery, shared by codec_read.cpp (which
// reads Events, all mesoflow reads) and test/mesos_codec (which reads Calls,
// for tests). One Decoder walks the tape of a json::Document; every object is
// read in a single pass over its members, dispatching on the key, so unknown
// fields cost one comparison chain and are otherwise ignored. Failures unwind
// as DecodeFailure to decode(), which turns them into an Error that names the
// field path. Private to src/mesos and test/mesos_codec.
#pragma once

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "json_document.hpp"
#include "mesoflow/common/result.hpp"
#include "mesoflow/mesos/base64.hpp"
#include "mesoflow/mesos/types.hpp"

namespace mesoflow::mesos::detail {

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
        const auto out = number_in_range(v);
        if (!out)
            fail("number out of range");
        return *out;
    }

    // A number, or nullopt when it is one no double holds (1e400): for a
    // field only informative, whose loss must not fail the whole event.
    std::optional<double> number_in_range(Index v) {
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
        if (r.ec == std::errc::result_out_of_range && r.ptr == text.data() + text.size())
            return std::nullopt;
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

// ---------------------------------------------------------------- shared readers
// Defined in codec_read.cpp: the messages both Calls and Events carry.

Labels labels(Decoder& d, Index v);  // {"labels": [...]}
void read_parameter(Decoder& d, Index v, Parameter& out);
std::string named(Decoder& d, Index v);  // {"name": "..."}
void read_resources(Decoder& d, Index v, std::vector<Resource>& out);
void read_master_info(Decoder& d, Index v, MasterInfo& out);

// FrameworkInfo / MasterInfo capabilities; a name this version does not know
// is `unknown` (value 0 of both enums).
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

// The sub-message field of a CallType or EventType: its name in lower case.
inline std::string lower(std::string_view name) {
    std::string out(name);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// Call::Message and Event::Message.
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

// Parses `text` and reads its root with read_root(Decoder&, Index); a
// DecodeFailure becomes an Error naming the field path (`root` when it is
// the document itself).
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

}  // namespace mesoflow::mesos::detail
