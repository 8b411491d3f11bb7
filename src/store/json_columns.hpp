// The queue table's JSON columns to and from C++ values: env and labels
// (JSON objects), constraints (arrays of [attribute, op, value]), volumes
// and docker_parameters (arrays of objects), and text
// arrays read back through array_to_json(). Values that are not strings are
// kept as their JSON text exactly as PostgreSQL wrote it (a producer's
// {"RETRIES": 3} reads as "3", 1e400 as the 401-digit integer jsonb stores,
// 0.10 as "0.10"); a nested value as its compact JSON text.
// A column whose text cannot be read (not JSON, a string that is not UTF-8,
// an env that is not an object, a constraint that is not a triple) reads as
// nullopt, with why in `*why` when given: never as less than it holds.
#pragma once

#include <optional>
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

std::optional<StringPairs> parse_json_object(std::string_view text, std::string* why = nullptr);
// Also accepts "null".
std::optional<std::vector<std::string>> parse_json_strings(std::string_view text,
                                                           std::string* why = nullptr);
std::optional<std::vector<task::Constraint>> parse_json_constraints(std::string_view text,
                                                                    std::string* why = nullptr);
// An entry that cannot be read is left out (it mounts, or passes, nothing);
// a mode other than "RW" reads as read-only. Both also accept "null".
std::optional<std::vector<task::Volume>> parse_json_volumes(std::string_view text,
                                                            std::string* why = nullptr);
std::optional<StringPairs> parse_json_parameters(std::string_view text, std::string* why = nullptr);

}  // namespace mesoflow::store
