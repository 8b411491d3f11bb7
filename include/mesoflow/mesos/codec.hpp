// Mesos' own JSON mapping of scheduler Calls and Events (stout's, not proto3's):
// snake_case proto field names, enums as their names, `bytes` as base64,
// integers as exact JSON numbers (numeric strings accepted on input), doubles
// as numbers or "Infinity"/"-Infinity"/"NaN", ids as {"value": ...}, null as
// "not set". In the Mesos sources (apache/mesos): the calls and events of
// include/mesos/v1/scheduler/scheduler.proto, stout's JSON mapping in
// 3rdparty/stout/include/stout/protobuf.hpp, and docs/scheduler-http-api.md.
//
// Parsing never throws and never trusts its input:
// - unknown fields are ignored; an unknown name in an optional enum leaves the
//   field unset (capabilities become `unknown`);
// - an event with an unknown or missing type is an Event::Unknown;
// - anything else malformed is an Error whose message starts with the path of
//   the offending field, e.g.
//   "offers.offers[3].resources[0].scalar.value: expected number, got string".
// A call with an unknown or missing type is an Error (Call has no "unknown").
//
// Writing emits set fields plus the fields with an explicit proto default
// (failover_timeout, checkpoint, shell, extract, cached, network, privileged,
// refuse_seconds), as Mesos does. Strings are written as given: they must be
// valid UTF-8. TaskStatus::container_status_json is written verbatim.
#pragma once

#include <string>
#include <string_view>

#include "mesoflow/common/result.hpp"
#include "mesoflow/mesos/types.hpp"

namespace mesoflow::mesos {

// What mesoflow needs: Calls out, Events in. Reading Calls and writing Events
// (for tests and the codec's tools) live in test/mesos_codec.
std::string to_json(const Call& call);
Result<Event> parse_event(std::string_view json);

}  // namespace mesoflow::mesos
