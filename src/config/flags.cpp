#include "mesoflow/config/flags.hpp"

#include <fmt/core.h>

#include "config/key_table.hpp"
#include "config/text.hpp"
#include "mesoflow/config/keys.hpp"

namespace mesoflow::config {
namespace {

// Help lines fit a terminal of this width.
constexpr std::size_t kHelpWidth = 80;

std::string underscored(std::string_view flag_body) {
    std::string out(flag_body);
    for (char& c : out) {
        if (c == '-')
            c = '_';
    }
    return out;
}

bool is_boolean_value(const std::optional<NameMatch>& m) {
    return m && m->form == Form::value && m->spec->kind == Kind::boolean;
}

std::string_view placeholder(const KeySpec& spec) {
    switch (spec.kind) {
        case Kind::masters:
            return "HOST:PORT,...";
        case Kind::listen_address:
            return "HOST:PORT";
        case Kind::list:
            return "A,B,...";
        case Kind::integer:
        case Kind::number:
            return "N";
        case Kind::duration:
            return "SECONDS";
        case Kind::dsn:
            return "DSN";
        case Kind::secret:
            return "SECRET";
        case Kind::containerizer:
            return "docker|mesos";
        case Kind::log_level:
            return "LEVEL";
        case Kind::boolean:
        case Kind::text:
            break;
    }
    return spec.info.name.ends_with("_file") ? "PATH" : "TEXT";
}

}  // namespace

Result<ParsedFlags> parse_flags(const std::vector<std::string>& args) {
    ParsedFlags out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            out.rest.insert(out.rest.end(), args.begin() + static_cast<long>(i), args.end());
            break;
        }
        if (arg == "--help" || arg == "-h") {
            out.help = true;
            continue;
        }
        if (!arg.starts_with("--")) {
            out.rest.push_back(arg);
            continue;
        }
        const std::size_t eq = arg.find('=');
        const std::string typed = arg.substr(0, eq);
        const std::string name = underscored(std::string_view(typed).substr(2));
        std::optional<std::string> value;
        if (eq != std::string::npos)
            value = arg.substr(eq + 1);

        auto match = match_name(name, false);
        const bool negated = !match && name.starts_with("no_") &&
                             is_boolean_value(match_name(std::string_view(name).substr(3), false));
        if (!match && !negated && name != "config") {
            out.rest.push_back(arg);  // the subcommand's own flag
            continue;
        }
        if (negated || is_boolean_value(match)) {
            if (negated && value)
                return Error{fmt::format("{} takes no value", typed)};
            out.settings.push_back(FlagSetting{negated ? name.substr(3) : name,
                                               negated ? "false" : value.value_or("true"), typed});
            continue;
        }
        if (!value) {
            if (i + 1 >= args.size() || args[i + 1].starts_with("--")) {
                return Error{fmt::format("{} needs a value", typed)};
            }
            value = args[++i];
        }
        if (name == "config") {
            out.config_files.push_back(*value);
        } else {
            out.settings.push_back(FlagSetting{name, *value, typed});
        }
    }
    return out;
}

std::string flags_help() {
    std::string out =
        "Configuration (flags beat the MESOFLOW_* and AIRFLOW__* environment\n"
        "variables, which beat config files, which beat the defaults):\n"
        "  --config PATH\n"
        "      Config file to read; repeatable. Replaces the default files,\n"
        "      $AIRFLOW_CONFIG (or $AIRFLOW_HOME/airflow.cfg) and\n"
        "      /etc/mesoflow/mesoflow.conf.\n"
        "      env: MESOFLOW_CONFIG (paths separated by ':')\n";
    for (const auto& spec : key_specs()) {
        const KeyInfo& key = spec.info;
        if (spec.kind == Kind::boolean) {
            out += fmt::format("  {}, --no-{}\n", flag_name(key), flag_name(key).substr(2));
        } else {
            out += fmt::format("  {} {}\n", flag_name(key), placeholder(spec));
        }
        for (const auto& line : wrap_words(key.description, kHelpWidth - 6)) {
            out += fmt::format("      {}\n", line);
        }
        const std::string def = default_text(key);
        out += fmt::format("      default: {}", def.empty() ? "(empty)" : def);
        if (!key.airflow_key.empty())
            out += fmt::format("; airflow.cfg: [mesos] {}", key.airflow_key);
        out += fmt::format("\n      env: {}", env_var(key));
        if (!key.airflow_key.empty())
            out += ", " + airflow_env_var(key);
        out += '\n';
    }
    out +=
        "Any key may be read from a file: --KEY-file PATH, KEY_file in a config\n"
        "file, or MESOFLOW_KEY_FILE. Secret keys (secret, database) may also come\n"
        "from a shell command: KEY_cmd in a config file, or MESOFLOW_KEY_CMD.\n"
        "Durations are seconds, or a number with ms, s, m, h, d or w.\n";
    return out;
}

}  // namespace mesoflow::config
