#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "config/ini_parser.hpp"
#include "config/key_table.hpp"
#include "config/text.hpp"
#include "config/value_files.hpp"
#include "mesoflow/common/log.hpp"
#include "mesoflow/config/load.hpp"

extern char** environ;  // NOLINT: POSIX

namespace mesoflow::config {
namespace {

constexpr std::string_view kAirflowMesosPrefix = "AIRFLOW__MESOS__";
constexpr std::string_view kAirflowMesoflowPrefix = "AIRFLOW__MESOFLOW__";
constexpr std::string_view kMesoflowPrefix = "MESOFLOW_";
constexpr std::string_view kConfigVariable = "MESOFLOW_CONFIG";
// Airflow's expand_env_var repeats until nothing changes; this bounds a cycle.
constexpr int kMaxExpansionRounds = 10;
// Unknown keys this close to a known one get a "did you mean".
constexpr std::size_t kMaxSuggestionDistance = 2;

// One value for one key, found in one place, not yet parsed.
struct Candidate {
    const KeySpec* spec;
    Form form;
    std::string text;
    std::string origin;  // "/etc/airflow/airflow.cfg:12 ([mesos] master)", "env X", "flag --x"
    std::string file;    // the config file it was read from, if any
    bool strip_comment = false;  // config-file values of non-secret keys
};

struct Context {
    const LoadOptions& options;
    LoadedConfig& loaded;
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

std::string unknown_key_detail(std::string_view name, bool airflow_names) {
    for (std::string_view suffix : {std::string_view("_secret"), std::string_view("_cmd")}) {
        if (!name.ends_with(suffix))
            continue;
        const std::string_view base = name.substr(0, name.size() - suffix.size());
        const KeySpec* spec = airflow_names ? find_spec_by_airflow_key(base) : find_spec(base);
        if (spec == nullptr)
            continue;
        if (suffix == "_secret") {
            return fmt::format("secrets backends are not supported; use {}_file or {}_cmd", base,
                               base);
        }
        return fmt::format("only secret keys may come from a command; use {} or {}_file", base,
                           base);
    }
    std::string best;
    std::size_t best_distance = kMaxSuggestionDistance + 1;
    for (const auto& spec : key_specs()) {
        const std::string_view known = airflow_names ? spec.info.airflow_key : spec.info.name;
        if (known.empty())
            continue;
        const std::size_t d = edit_distance(name, known);
        if (d < best_distance) {
            best_distance = d;
            best = std::string(known);
        }
    }
    if (!best.empty())
        return fmt::format("unknown key, ignored; did you mean {}?", best);
    return "unknown key, ignored";
}

void warn(Context& ctx, std::string event, std::string source, std::string key,
          std::string detail) {
    ctx.loaded.warnings.push_back(
        ConfigWarning{std::move(event), std::move(source), std::move(key), std::move(detail)});
}

// Airflow's expand_env_var: $NAME and ${NAME} from the environment (unknown
// names stay as written), then a leading ~ to $HOME, until nothing changes.
std::string expand_variables(std::string text, const Environment& env) {
    for (int round = 0; round < kMaxExpansionRounds; ++round) {
        std::string out;
        for (std::size_t i = 0; i < text.size();) {
            if (text[i] != '$' || i + 1 >= text.size()) {
                out += text[i++];
                continue;
            }
            std::size_t name_start = i + 1;
            std::size_t name_end;
            std::size_t after;
            if (text[name_start] == '{') {
                const std::size_t close = text.find('}', name_start);
                if (close == std::string::npos) {
                    out += text[i++];
                    continue;
                }
                ++name_start;
                name_end = close;
                after = close + 1;
            } else {
                name_end = name_start;
                while (name_end < text.size() &&
                       (std::isalnum(static_cast<unsigned char>(text[name_end])) ||
                        text[name_end] == '_')) {
                    ++name_end;
                }
                after = name_end;
            }
            const auto it = env.find(text.substr(name_start, name_end - name_start));
            if (name_end == name_start || it == env.end()) {
                out += text.substr(i, after - i);
            } else {
                out += it->second;
            }
            i = after;
        }
        const auto home = env.find("HOME");
        if (home != env.end() && out.starts_with('~') && (out.size() == 1 || out[1] == '/')) {
            out = home->second + out.substr(1);
        }
        if (out == text)
            break;
        text = std::move(out);
    }
    return text;
}

// Python's configparser keeps "value  # note" whole, so Airflow only worked
// with such values for booleans; mesoflow drops the note for every key that
// is not a secret (where " #" may be part of the value).
std::string without_inline_comment(std::string_view value) {
    for (std::size_t i = 1; i < value.size(); ++i) {
        if ((value[i] == '#' || value[i] == ';') &&
            std::isspace(static_cast<unsigned char>(value[i - 1]))) {
            return std::string(trim(value.substr(0, i)));
        }
    }
    return std::string(value);
}

Error invalid(const Candidate& c, std::string_view reason) {
    return Error{fmt::format("invalid {} in {}: {}", c.spec->info.name, c.origin, reason)};
}

// The key's text: the value as written, what its file holds, or what its
// command prints.
Result<std::string> resolve(Context& ctx, const Candidate& c) {
    const bool secret = c.spec->info.secret;
    switch (c.form) {
        case Form::value:
            if (secret && !c.file.empty() && readable_by_others(c.file)) {
                warn(ctx, "config_secret_in_readable_file", c.origin,
                     std::string(c.spec->info.name),
                     fmt::format("{} is readable by every user; move the secret to {}_file", c.file,
                                 c.spec->info.name));
            }
            return c.strip_comment && !secret ? without_inline_comment(c.text) : c.text;
        case Form::file: {
            const std::string path = c.strip_comment ? without_inline_comment(c.text) : c.text;
            auto content = read_value_file(path);
            if (content && secret && readable_by_others(path)) {
                warn(ctx, "config_secret_file_readable", c.origin, std::string(c.spec->info.name),
                     fmt::format("{} is readable by every user; chmod o-r it", path));
            }
            return content;
        }
        case Form::cmd:
            return run_value_command(c.text);
    }
    return Error{"unknown value form"};
}

Status apply(Context& ctx, const Candidate& c) {
    auto text = resolve(ctx, c);
    if (!text)
        return invalid(c, text.error().message);
    auto ok = assign(*c.spec, ctx.loaded.config, *text);
    if (!ok)
        return invalid(c, ok.error().message);
    ctx.loaded.config.sources[std::string(c.spec->info.name)] = c.origin;
    return Status::success();
}

// Within one section or one family of variables a key may be given once, in
// one form: "default_secret" and "default_secret_file" together is a mistake.
Status check_single_form(const std::vector<Candidate>& group) {
    for (std::size_t i = 0; i < group.size(); ++i) {
        for (std::size_t j = i + 1; j < group.size(); ++j) {
            if (group[i].spec == group[j].spec) {
                return Error{fmt::format("{} is given twice, in {} and in {}; keep one",
                                         group[i].spec->info.name, group[i].origin,
                                         group[j].origin)};
            }
        }
    }
    return Status::success();
}

Status apply_all(Context& ctx, const std::vector<Candidate>& group) {
    auto single = check_single_form(group);
    if (!single)
        return single;
    for (const auto& c : group) {
        auto ok = apply(ctx, c);
        if (!ok)
            return ok;
    }
    return Status::success();
}

Status read_section(Context& ctx, const IniDocument& doc, std::string_view section) {
    const bool airflow_names = section == "mesos";
    std::vector<Candidate> group;
    for (const auto& entry : doc.entries) {
        if (!same_section(entry.section, section))
            continue;
        const std::string where =
            fmt::format("{}:{} ([{}] {})", doc.path, entry.line, entry.section, entry.key);
        auto match = match_name(entry.key, airflow_names);
        if (!match) {
            warn(ctx, "config_unknown_key",
                 fmt::format("{}:{} ([{}])", doc.path, entry.line, entry.section), entry.key,
                 unknown_key_detail(entry.key, airflow_names));
            continue;
        }
        auto value = interpolate(doc, entry);
        if (!value)
            return value.error();
        group.push_back(Candidate{match->spec, match->form,
                                  expand_variables(std::move(*value), ctx.options.environment),
                                  where, doc.path, true});
    }
    return apply_all(ctx, group);
}

Status read_file(Context& ctx, const std::string& path) {
    auto text = read_text_file(path, kMaxConfigFileBytes);
    if (!text)
        return Error{fmt::format("config file: {}", text.error().message)};
    auto doc = parse_ini(*text, path);
    if (!doc)
        return doc.error();
    ctx.loaded.files_read.push_back(path);
    // [mesoflow] is read second so that it overrides the Airflow keys in [mesos].
    for (std::string_view section : {"mesos", "mesoflow"}) {
        auto ok = read_section(ctx, *doc, section);
        if (!ok)
            return ok;
    }
    return Status::success();
}

std::optional<std::string> env_value(const Environment& env, std::string_view name) {
    const auto it = env.find(std::string(name));
    if (it == env.end())
        return std::nullopt;
    return it->second;
}

Status read_files(Context& ctx) {
    const Environment& env = ctx.options.environment;
    std::vector<std::string> explicit_files = ctx.options.files;
    if (explicit_files.empty()) {
        if (auto list = env_value(env, kConfigVariable))
            explicit_files = split_list(*list, ':');
    }
    if (!explicit_files.empty()) {
        for (const auto& path : explicit_files) {
            auto ok = read_file(ctx, path);
            if (!ok)
                return ok;
        }
        return Status::success();
    }
    std::vector<std::string> defaults;
    if (auto airflow_config = env_value(env, "AIRFLOW_CONFIG")) {
        defaults.push_back(expand_variables(*airflow_config, env));
    } else if (auto airflow_home = env_value(env, "AIRFLOW_HOME")) {
        defaults.push_back(expand_variables(*airflow_home, env) + "/airflow.cfg");
    }
    if (!ctx.options.system_file.empty())
        defaults.push_back(ctx.options.system_file);
    for (const auto& path : defaults) {
        if (::access(path.c_str(), F_OK) != 0)
            continue;
        auto ok = read_file(ctx, path);
        if (!ok)
            return ok;
    }
    return Status::success();
}

Status read_environment(Context& ctx) {
    struct Family {
        std::string_view prefix;
        bool airflow_names;
        bool expand;  // Airflow expanded $VARS in its own variables too
        std::vector<Candidate> group;
    };
    Family families[] = {{kAirflowMesosPrefix, true, true, {}},
                         {kAirflowMesoflowPrefix, false, true, {}},
                         {kMesoflowPrefix, false, false, {}}};
    for (const auto& [name, value] : ctx.options.environment) {
        if (name == kConfigVariable)
            continue;
        for (auto& family : families) {
            if (!name.starts_with(family.prefix))
                continue;
            const std::string key = lower(std::string_view(name).substr(family.prefix.size()));
            const std::string origin = "env " + name;
            auto match = match_name(key, family.airflow_names);
            if (!match) {
                warn(ctx, "config_unknown_key", origin, name,
                     unknown_key_detail(key, family.airflow_names));
                break;
            }
            family.group.push_back(
                Candidate{match->spec, match->form,
                          family.expand ? expand_variables(value, ctx.options.environment) : value,
                          origin, "", false});
            break;
        }
    }
    for (const auto& family : families) {
        auto ok = apply_all(ctx, family.group);
        if (!ok)
            return ok;
    }
    return Status::success();
}

Status read_flags(Context& ctx) {
    for (const auto& flag : ctx.options.flags) {
        auto match = match_name(flag.name, false);
        if (!match)
            return Error{fmt::format("unknown flag {}", flag.flag)};
        if (match->spec->info.secret && match->form == Form::value) {
            warn(ctx, "config_secret_on_command_line", "flag " + flag.flag,
                 std::string(match->spec->info.name),
                 fmt::format("every user can read it in the process list; use {}-file",
                             flag_name(match->spec->info)));
        }
        auto ok = apply(
            ctx, Candidate{match->spec, match->form, flag.value, "flag " + flag.flag, "", false});
        if (!ok)
            return ok;
    }
    return Status::success();
}

std::string source_text(const Config& config, std::string_view key) {
    const KeyInfo* info = find_key(key);
    return info == nullptr ? "default" : source_of(config, *info);
}

Status check_order(const Config& c, std::string_view low_key, double low, std::string_view high_key,
                   double high) {
    if (low <= high)
        return Status::success();
    return Error{fmt::format("invalid {}: {}s (from {}) is more than {} = {}s (from {})", low_key,
                             low, source_text(c, low_key), high_key, high,
                             source_text(c, high_key))};
}

Status check_combinations(Context& ctx) {
    const Config& c = ctx.loaded.config;
    if (c.authenticate) {
        for (std::string_view key : {std::string_view("principal"), std::string_view("secret")}) {
            const KeyInfo* info = find_key(key);
            if (!value_text(c, *info, true).empty())
                continue;
            return Error{fmt::format(
                "invalid authenticate in {}: authentication needs {} too; set it with {}, {}, "
                "or {} in airflow.cfg [mesos]",
                source_text(c, "authenticate"), key, flag_name(*info), env_var(*info),
                info->airflow_key)};
        }
    }
    for (auto status :
         {check_order(c, "backoff_min", c.backoff_min_s, "backoff_max", c.backoff_max_s),
          check_order(c, "reconcile_backoff_min", c.reconcile_backoff_min_s,
                      "reconcile_backoff_max", c.reconcile_backoff_max_s)}) {
        if (!status)
            return status;
    }
    if (!c.tls_ca_file.empty()) {
        auto ca = read_text_file(c.tls_ca_file, kMaxConfigFileBytes);
        if (!ca) {
            return Error{fmt::format("invalid tls_ca_file in {}: {}", source_text(c, "tls_ca_file"),
                                     ca.error().message)};
        }
    }
    const bool any_https = std::any_of(c.masters.begin(), c.masters.end(),
                                       [](const MasterAddress& m) { return m.https; });
    if (any_https && !c.tls_verify) {
        warn(ctx, "config_tls_verify_off", source_text(c, "tls_verify"), "tls_verify",
             "https masters are not verified; anyone on the path can impersonate them");
    }
    return Status::success();
}

}  // namespace

Result<LoadedConfig> load(const LoadOptions& options) {
    LoadedConfig loaded;
    Context ctx{options, loaded};
    for (auto* step : {&read_files, &read_environment, &read_flags, &check_combinations}) {
        auto ok = step(ctx);
        if (!ok)
            return ok.error();
    }
    if (options.log_warnings) {
        for (const auto& w : loaded.warnings) {
            log::warn(w.event, "source={} key={} detail={}", log::quote(w.source),
                      log::quote(w.key), log::quote(w.detail));
        }
    }
    return loaded;
}

Environment process_environment() {
    Environment env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const std::size_t eq = entry.find('=');
        if (eq == std::string_view::npos)
            continue;
        env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
    return env;
}

Status require_keys(const Config& config, const std::vector<std::string_view>& names) {
    for (std::string_view name : names) {
        const KeyInfo* info = find_key(name);
        if (info == nullptr)
            return Error{fmt::format("{} is not a configuration key", name)};
        if (!value_text(config, *info, true).empty())
            continue;
        std::string airflow;
        if (!info->airflow_key.empty()) {
            airflow = fmt::format(", {} in airflow.cfg [mesos]", info->airflow_key);
        }
        return Error{fmt::format("{} is not set: give {}, set {}{}, or {} in [mesoflow] of {}",
                                 name, flag_name(*info), env_var(*info), airflow, name,
                                 kSystemConfigFile)};
    }
    return Status::success();
}

}  // namespace mesoflow::config
