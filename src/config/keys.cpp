#include "mesoflow/config/keys.hpp"

#include "config/key_table.hpp"
#include "config/text.hpp"

namespace mesoflow::config {

const std::vector<KeyInfo>& keys() {
    static const std::vector<KeyInfo> infos = [] {
        std::vector<KeyInfo> out;
        for (const auto& spec : key_specs())
            out.push_back(spec.info);
        return out;
    }();
    return infos;
}

const KeyInfo* find_key(std::string_view name) {
    const KeySpec* spec = find_spec(name);
    return spec == nullptr ? nullptr : &spec->info;
}

std::string flag_name(const KeyInfo& key) {
    std::string out = "--" + std::string(key.name);
    for (char& c : out) {
        if (c == '_')
            c = '-';
    }
    return out;
}

std::string env_var(const KeyInfo& key) {
    return "MESOFLOW_" + upper(key.name);
}

std::string airflow_env_var(const KeyInfo& key) {
    return key.airflow_key.empty() ? "" : "AIRFLOW__MESOS__" + upper(key.airflow_key);
}

std::string airflow_mesoflow_env_var(const KeyInfo& key) {
    return "AIRFLOW__MESOFLOW__" + upper(key.name);
}

std::string value_text(const Config& config, const KeyInfo& key, bool reveal_secrets) {
    const KeySpec* spec = find_spec(key.name);
    return spec == nullptr ? "" : render_value(*spec, config, reveal_secrets);
}

std::string default_text(const KeyInfo& key) {
    return value_text(Config{}, key);
}

std::string source_of(const Config& config, const KeyInfo& key) {
    const auto it = config.sources.find(std::string(key.name));
    return it == config.sources.end() ? "default" : it->second;
}

}  // namespace mesoflow::config
