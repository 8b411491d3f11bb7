// The queue table's JSON columns to and from C++ values: env and labels
// (JSON objects), constraints (arrays of [attribute, op, value]), volumes
// and docker_parameters (arrays of objects), and text
// arrays read back through array_to_json(). Values that are not strings are
// kept as their JSON text (a producer's {"RETRIES": 3} reads as "3").
// Parsing what the table accepted never fails; malformed text (which the
// table's checks make impossible) yields what could be read.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesoflow/task/task.hpp"

namespace mesoflow::store {

using StringPairs = std::vector<std::pair<std::string, std::string>>;

std::string json_object(const StringPairs& pairs);
std::string json_constraints(const std::vector<task::Constraint>& constraints);
// volumes: [{"host_path", "container_path", "mode": "RO" | "RW"}].
std::string json_volumes(const std::vector<task::Volume>& volumes);
// docker_parameters: [{"key", "value"}].
std::string json_parameters(const StringPairs& parameters);

StringPairs parse_json_object(std::string_view text);
std::vector<std::string> parse_json_strings(std::string_view text);  // also accepts "null"
std::vector<task::Constraint> parse_json_constraints(std::string_view text);
// An entry that cannot be read is left out; a mode other than "RW" reads as
// read-only. Both also accept "null".
std::vector<task::Volume> parse_json_volumes(std::string_view text);
StringPairs parse_json_parameters(std::string_view text);

}  // namespace mesoflow::store
