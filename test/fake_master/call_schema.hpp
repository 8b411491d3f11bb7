// CallSchema: checks a JSON request body against the shape of
// mesos.v1.scheduler.Call the way the real master's JSON parser (stout's
// protobuf::parse) does, and rewrites it into a normalised form the rest of
// the fake master can read without caring about JSON's looseness.
//
// What the master accepts, and therefore what this accepts:
//  - unknown field names are ignored (and removed here); `null` means unset;
//  - numbers may be given as numeric strings, doubles also as "Infinity";
//    booleans also as "true"/"false"; bytes must be base64;
//  - an unknown enum name on an optional enum leaves the field unset (so a
//    Call with "type": "FOO" has no type); on a required enum it is an error;
//  - a single value for a repeated field counts as a one-element array;
//  - required fields missing anywhere give "Missing required fields: a.b, c[0].d".
// Error texts follow stout's; the caller prefixes them with
// "Failed to convert JSON into Call protobuf: ".
// Messages the fake master never looks into (health checks, volume sources, offer
// constraints, ...) are checked only for being objects.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>

namespace mesoflow::fake {

// On success rewrites `body` in place and returns nullopt; otherwise returns
// the parser's error message and leaves `body` unspecified.
std::optional<std::string> normalize_call(nlohmann::json& body);

}  // namespace mesoflow::fake
