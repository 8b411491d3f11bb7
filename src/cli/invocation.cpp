#include "cli/invocation.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "mesoflow/common/log.hpp"
#include "mesoflow/config/load.hpp"

namespace mesoflow::cli {
namespace {

constexpr std::string_view kShortConfigHelp =
    "Configuration: every configuration key is also a flag here (--database DSN,\n"
    "--config PATH, ...), after the environment (MESOFLOW_DATABASE, ...) and the\n"
    "config files (/etc/mesoflow/mesoflow.conf, airflow.cfg [mesos]).\n"
    "`mesoflow config --help` lists every key; `mesoflow config` shows the values.\n";

std::string underscored(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '-', '_');
    return out;
}

const OptionSpec* find_option(const CommandSpec& spec, std::string_view name) {
    for (const auto& option : spec.options) {
        if (option.name == name)
            return &option;
    }
    return nullptr;
}

// An own option that config::parse_flags() took for a configuration key.
void reclaim_shadowed_options(const CommandSpec& spec, Invocation& inv) {
    auto& settings = inv.flags.settings;
    for (auto it = settings.begin(); it != settings.end();) {
        const auto own =
            std::find_if(spec.options.begin(), spec.options.end(),
                         [&](const OptionSpec& o) { return underscored(o.name) == it->name; });
        if (own == spec.options.end()) {
            ++it;
            continue;
        }
        inv.options.emplace_back(std::string(own->name), it->value);
        it = settings.erase(it);
    }
}

}  // namespace

bool Invocation::has(std::string_view name) const {
    return std::any_of(options.begin(), options.end(),
                       [&](const auto& o) { return o.first == name; });
}

std::optional<std::string> Invocation::value(std::string_view name) const {
    std::optional<std::string> out;
    for (const auto& [n, v] : options) {
        if (n == name)
            out = v;
    }
    return out;
}

std::vector<std::string> Invocation::values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : options) {
        if (n == name)
            out.push_back(v);
    }
    return out;
}

Result<double> number_option(std::string_view name, const std::string& text) {
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value))
        return Error{fmt::format("--{}: '{}' is not a number", name, text)};
    return value;
}

Result<int> integer_option(std::string_view name, const std::string& text) {
    int value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end)
        return Error{fmt::format("--{}: '{}' is not a whole number", name, text)};
    return value;
}

int usage_error(const CommandSpec& spec, std::string_view message) {
    std::fprintf(stderr, "mesoflow %.*s: %.*s\n(see mesoflow %.*s --help)\n",
                 static_cast<int>(spec.name.size()), spec.name.data(),
                 static_cast<int>(message.size()), message.data(),
                 static_cast<int>(spec.name.size()), spec.name.data());
    return kExitUsage;
}

int fail(const Invocation& invocation, int code, std::string_view message) {
    const std::string_view name = invocation.spec->name;
    std::fprintf(stderr, "mesoflow %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
                 static_cast<int>(message.size()), message.data());
    return code;
}

std::variant<Invocation, int> parse_invocation(const CommandSpec& spec, const Args& args) {
    auto parsed = config::parse_flags(args);
    if (!parsed)
        return usage_error(spec, parsed.error().message);
    if (parsed->help) {
        std::string help(spec.usage);
        help += '\n';
        help += spec.full_config_help ? config::flags_help() : std::string(kShortConfigHelp);
        std::fputs(help.c_str(), stdout);
        return kExitOk;
    }
    Invocation inv;
    inv.spec = &spec;
    inv.flags = std::move(*parsed);
    reclaim_shadowed_options(spec, inv);

    const auto& rest = inv.flags.rest;
    for (std::size_t i = 0; i < rest.size(); ++i) {
        const std::string& arg = rest[i];
        if (arg == "--") {
            if (!spec.takes_command)
                return usage_error(spec, "takes no command after '--'");
            inv.command.assign(rest.begin() + static_cast<long>(i) + 1, rest.end());
            inv.has_command = true;
            break;
        }
        if (arg.size() > 1 && arg[0] == '-') {
            const bool long_form = arg.starts_with("--");
            const std::size_t eq = arg.find('=');
            const std::string name =
                arg.substr(long_form ? 2 : 1,
                           eq == std::string::npos ? std::string::npos : eq - (long_form ? 2 : 1));
            const OptionSpec* option = long_form ? find_option(spec, name) : nullptr;
            if (option == nullptr) {
                return usage_error(spec, fmt::format("unknown option {}", arg.substr(0, eq)));
            }
            std::string value;
            if (option->takes_value) {
                if (eq != std::string::npos) {
                    value = arg.substr(eq + 1);
                } else if (i + 1 < rest.size()) {
                    value = rest[++i];
                } else {
                    return usage_error(spec, fmt::format("--{} needs a value", name));
                }
            } else if (eq != std::string::npos) {
                return usage_error(spec, fmt::format("--{} takes no value", name));
            }
            inv.options.emplace_back(name, std::move(value));
            continue;
        }
        inv.positional.push_back(arg);
    }
    if (inv.positional.size() < spec.min_positional) {
        return usage_error(spec, fmt::format("missing {}", spec.positional_name));
    }
    if (inv.positional.size() > spec.max_positional) {
        return usage_error(
            spec, fmt::format("unexpected argument '{}'", inv.positional[spec.max_positional]));
    }
    return inv;
}

std::optional<config::LoadedConfig> load_config(
    const Invocation& invocation, const std::vector<std::string_view>& required_keys) {
    config::LoadOptions options;
    options.files = invocation.flags.config_files;
    options.environment = config::process_environment();
    options.flags = invocation.flags.settings;
    options.log_warnings = false;  // logged below, once log_level applies
    auto loaded = config::load(options);
    if (!loaded) {
        fail(invocation, kExitUsage, loaded.error().message);
        return std::nullopt;
    }
    log::Level level = log::Level::info;
    if (log::parse_level(loaded->config.log_level, level))
        log::set_level(level);
    if (!invocation.spec->logs_info && loaded->config.sources.count("log_level") == 0)
        log::set_level(log::Level::warn);
    for (const auto& w : loaded->warnings) {
        log::warn(w.event, "source={} key={} detail={}", log::quote(w.source), log::quote(w.key),
                  log::quote(w.detail));
    }
    if (auto ok = config::require_keys(loaded->config, required_keys); !ok) {
        fail(invocation, kExitUsage, ok.error().message);
        return std::nullopt;
    }
    return std::move(*loaded);
}

Result<task::Constraint> constraint_option(const std::string& text) {
    const auto first = text.find(':');
    if (first == std::string::npos || first == 0) {
        return Error{fmt::format("--constraint: expected ATTRIBUTE:OP[:VALUE], got '{}'", text)};
    }
    const auto second = text.find(':', first + 1);
    std::string op_text = text.substr(
        first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    for (char& c : op_text)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto op = task::parse_constraint_op(op_text);
    if (!op) {
        return Error{fmt::format(
            "--constraint: unknown operator '{}' in '{}' (EQUALS, NOT_EQUALS, LIKE, UNLIKE or "
            "EXISTS)",
            op_text, text)};
    }
    task::Constraint out{text.substr(0, first), *op, ""};
    if (*op == task::Constraint::Op::exists) {
        if (second != std::string::npos)
            return Error{fmt::format("--constraint: EXISTS takes no value in '{}'", text)};
    } else if (second == std::string::npos) {
        return Error{fmt::format("--constraint: {} needs a value in '{}'", op_text, text)};
    } else {
        out.value = text.substr(second + 1);
    }
    return out;
}

}  // namespace mesoflow::cli
