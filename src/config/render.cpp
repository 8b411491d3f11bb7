#include "mesoflow/config/render.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "config/key_table.hpp"
#include "config/text.hpp"
#include "mesoflow/config/keys.hpp"
#include "mesoflow/config/load.hpp"

namespace mesoflow::config {
namespace {

// The example file's comment lines fit this width.
constexpr std::size_t kExampleWidth = 80;

std::string shown(const std::string& value) {
    return value.empty() ? "\"\"" : value;
}

std::string code(std::string_view text) {
    return text.empty() ? "" : fmt::format("`{}`", text);
}

}  // namespace

std::string render_effective(const Config& config) {
    struct Row {
        std::string key, value, source;
    };
    std::vector<Row> rows{{"KEY", "VALUE", "SOURCE"}};
    for (const auto& key : keys()) {
        rows.push_back(
            Row{std::string(key.name), shown(value_text(config, key)), source_of(config, key)});
    }
    std::size_t key_width = 0;
    std::size_t value_width = 0;
    for (const auto& r : rows) {
        key_width = std::max(key_width, r.key.size());
        value_width = std::max(value_width, r.value.size());
    }
    std::string out;
    for (const auto& r : rows) {
        out +=
            fmt::format("{:<{}}  {:<{}}  {}\n", r.key, key_width, r.value, value_width, r.source);
    }
    return out;
}

std::string render_keys_markdown() {
    std::string out =
        "| key | flag, environment | airflow.cfg `[mesos]` | type | default | description |\n"
        "|---|---|---|---|---|---|\n";
    for (const auto& key : keys()) {
        const std::string def = default_text(key);
        out += fmt::format("| `{}` | `{}`, `{}` | {} | {} | {} | {} |\n", key.name, flag_name(key),
                           env_var(key), code(key.airflow_key), key.type,
                           def.empty() ? "(empty)" : code(def), key.description);
    }
    return out;
}

std::string render_airflow_mapping_markdown() {
    std::string out =
        "| airflow.cfg `[mesos]` | Airflow-style variable | mesoflow key | difference |\n"
        "|---|---|---|---|\n";
    for (const auto& spec : key_specs()) {
        if (spec.info.airflow_key.empty())
            continue;
        out += fmt::format("| `{}` | `{}` | `{}` | {} |\n", spec.info.airflow_key,
                           airflow_env_var(spec.info), spec.info.name,
                           spec.airflow_note.empty() ? "same meaning" : spec.airflow_note);
    }
    return out;
}

std::string render_example_file() {
    std::string out = fmt::format(
        "# mesoflow configuration, for {}\n"
        "#\n"
        "# Every key is shown commented out at its built-in default. Precedence, lowest\n"
        "# first: defaults, airflow.cfg [mesos] (Airflow's key names), this file's\n"
        "# [mesoflow] section, AIRFLOW__MESOS__* / AIRFLOW__MESOFLOW__* / MESOFLOW_*\n"
        "# environment variables, command-line flags. Check the result with\n"
        "# `mesoflow config`.\n"
        "#\n"
        "# Any key may instead be read from a file, KEY_file = /path (secrets belong in\n"
        "# files readable by mesoflow alone); secret keys also from a command, KEY_cmd.\n"
        "# Durations are seconds, or a number with ms, s, m, h, d or w.\n"
        "\n"
        "[mesoflow]\n",
        kSystemConfigFile);
    for (const auto& key : keys()) {
        out += '\n';
        for (const auto& line : wrap_words(key.description, kExampleWidth - 2)) {
            out += fmt::format("# {}\n", line);
        }
        out += fmt::format("# Type: {}. Environment: {}.\n", key.type, env_var(key));
        if (!key.airflow_key.empty()) {
            out += fmt::format("# In airflow.cfg: [mesos] {}.\n", key.airflow_key);
        }
        const std::string def = default_text(key);
        out += def.empty() ? fmt::format("# {} =\n", key.name)
                           : fmt::format("# {} = {}\n", key.name, def);
    }
    out +=
        "\n# For example, two masters and the database connection string in a file:\n"
        "#   master = m1.example.com:5050,m2.example.com:5050\n"
        "#   database_file = /etc/mesoflow/database.dsn\n";
    return out;
}

}  // namespace mesoflow::config
