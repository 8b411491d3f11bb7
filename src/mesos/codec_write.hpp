// The writing half of the codec's machinery, shared by codec_write.cpp (which
// writes Calls, all mesoflow writes) and test/mesos_codec (which writes
// Events, for tests): one helper per kind of field, and the messages both
// carry. Private to src/mesos and test/mesos_codec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_writer.hpp"
#include "mesoflow/mesos/types.hpp"

namespace mesoflow::mesos::detail {

using json::Writer;

inline void str(Writer& w, std::string_view k, const std::string& v) {
    w.field(k);
    w.string(v);
}
inline void opt_str(Writer& w, std::string_view k, const std::optional<std::string>& v) {
    if (v)
        str(w, k, *v);
}
inline void id(Writer& w, std::string_view k, const std::string& v) {
    w.field(k);
    w.id(v);
}
inline void opt_id(Writer& w, std::string_view k, const std::optional<std::string>& v) {
    if (v)
        id(w, k, *v);
}
template <typename E>
void enum_field(Writer& w, std::string_view k, E v) {
    w.field(k);
    w.string(to_string(v));
}
inline void boolean(Writer& w, std::string_view k, bool v) {
    w.field(k);
    w.boolean(v);
}
inline void number(Writer& w, std::string_view k, double v) {
    w.field(k);
    w.number(v);
}
inline void nanos(Writer& w, std::string_view k, std::int64_t ns) {
    w.field(k);
    w.begin_object();
    w.field("nanoseconds");
    w.integer(ns);
    w.end_object();
}
template <typename T, typename F>
void array(Writer& w, std::string_view k, const std::vector<T>& items, F&& write_item) {
    if (items.empty())
        return;
    w.field(k);
    w.begin_array();
    for (const auto& i : items)
        write_item(w, i);
    w.end_array();
}
inline void strings(Writer& w, std::string_view k, const std::vector<std::string>& v) {
    array(w, k, v, [](Writer& ww, const std::string& s) { ww.string(s); });
}
inline void ids(Writer& w, std::string_view k, const std::vector<std::string>& v) {
    array(w, k, v, [](Writer& ww, const std::string& s) { ww.id(s); });
}

// ---------------------------------------------------------------- shared messages
// Defined in codec_write.cpp.

void labels_field(Writer& w, std::string_view k, const Labels& labels);  // omitted when empty
// Value's type and its scalar, ranges, set or (when `text` is set) text.
void write_value(Writer& w, ValueType type, double scalar, const std::vector<Range>& ranges,
                 const std::vector<std::string>& set, const std::string* text);
void write_resource(Writer& w, const Resource& r);
void resources(Writer& w, std::string_view k,
               const std::vector<Resource>& rs);  // omitted when empty
void write_task_info(Writer& w, const TaskInfo& t);

}  // namespace mesoflow::mesos::detail
