// The key table behind keys.hpp: for each key its public description plus
// how to parse, check and print it, as a pointer to the Config member it
// sets. Adding a key = one Config member with its default + one row here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mesoflow/common/result.hpp"
#include "mesoflow/config/config.hpp"
#include "mesoflow/config/keys.hpp"

namespace mesoflow::config {

enum class Kind {
    text,
    secret,
    dsn,
    boolean,
    integer,
    number,
    duration,
    list,
    masters,
    listen_address,
    containerizer,
    log_level
};

using Field = std::variant<std::string Config::*, bool Config::*, int Config::*, double Config::*,
                           std::vector<std::string> Config::*, std::vector<MasterAddress> Config::*,
                           ListenAddress Config::*, Containerizer Config::*>;

// Allowed range of a number, duration or integer; for text and lists a
// `min` of 1 means "must not be empty".
struct Bounds {
    double min = 0;
    bool min_exclusive = false;
    double max = 0;  // 0: no upper bound
};

struct KeySpec {
    KeyInfo info;
    Kind kind;
    Field field;
    Bounds bounds;
    bool empty_is_zero = false;     // failover_timeout: Airflow treated an empty value as "none"
    std::string_view airflow_note;  // how mesoflow's reading differs from Airflow's, for docs
    // For a list: checks each item; the error is the reason only.
    Status (*item_check)(std::string_view item) = nullptr;
};

const std::vector<KeySpec>& key_specs();
const KeySpec* find_spec(std::string_view name);
const KeySpec* find_spec_by_airflow_key(std::string_view airflow_key);

// How a name gives its key's value: directly, `<name>_file` or `<name>_cmd`.
enum class Form { value, file, cmd };

struct NameMatch {
    const KeySpec* spec;
    Form form;
};

// Resolves a key name as written (lower case, underscores), with its
// optional _file or _cmd suffix (_cmd only for secret keys), against the
// mesoflow names or, with `airflow_names`, the airflow.cfg [mesos] names.
std::optional<NameMatch> match_name(std::string_view name, bool airflow_names);

// Parses `text` into the key's Config member. The error is the reason only.
Status assign(const KeySpec& spec, Config& config, std::string_view text);
std::string render_value(const KeySpec& spec, const Config& config, bool reveal_secrets);

}  // namespace mesoflow::config
