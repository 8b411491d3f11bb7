// What a task's container may ask for: the pure check claims refuse by.
#include "mesoflow/runtime/launch_policy.hpp"

#include <algorithm>

#include "mesoflow/common/text.hpp"
#include "mesoflow/scheduler/placement_constraints.hpp"

namespace mesoflow::runtime {
namespace {

// Producer text in a row's message: controls escaped, cut to a readable
// length, quoted as SQL quotes a literal.
std::string quoted(std::string_view text) {
    constexpr std::size_t kMaxShown = 256;
    std::string escaped = escape_controls(text);
    if (escaped.size() > kMaxShown) {
        std::size_t end = kMaxShown;
        while (end > 0 && (static_cast<unsigned char>(escaped[end]) & 0xC0) == 0x80)
            --end;
        escaped = escaped.substr(0, end) + "...";
    }
    std::string out = "'";
    for (const char c : escaped) {
        if (c == '\'')
            out += '\'';
        out += c;
    }
    return out + "'";
}

bool listed(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

bool path_allowed(std::string_view host_path, const std::vector<std::string>& prefixes) {
    const auto path = normalize_host_path(host_path);
    if (!path)
        return false;
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const std::string& prefix) { return path_within(*path, prefix); });
}

}  // namespace

std::string judged_network(const task::TaskSpec& spec) {
    const std::string asked(task::to_string(spec.network));
    if (spec.network != task::NetworkMode::user)
        return asked;
    // Docker takes these names of a user network as its own modes
    // (--net=host); "default" is its bridge.
    const auto& name = spec.network_name;
    if (name == "host" || name == "bridge" || name == "none")
        return name;
    if (name == "default")
        return "bridge";
    return asked;
}

std::optional<std::string> normalize_host_path(std::string_view path) {
    if (path.empty() || path.front() != '/')
        return std::nullopt;
    std::string out;
    std::size_t at = 0;
    while (at < path.size()) {
        const auto slash = path.find('/', at);
        const auto end = slash == std::string_view::npos ? path.size() : slash;
        const auto part = path.substr(at, end - at);
        at = end + 1;
        if (part.empty() || part == ".")
            continue;
        if (part == "..")
            return std::nullopt;
        out += '/';
        out += part;
    }
    return out.empty() ? std::string("/") : out;
}

bool path_within(std::string_view path, std::string_view prefix) {
    if (prefix == "/")
        return !path.empty() && path.front() == '/';
    if (!path.starts_with(prefix))
        return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
}

ContainerAllowance container_allowance_of(const config::Config& config) {
    ContainerAllowance allowed;
    for (const auto& prefix : config.allowed_volume_paths) {
        if (auto path = normalize_host_path(prefix))
            allowed.volume_paths.push_back(std::move(*path));
    }
    allowed.docker_parameters = config.allowed_docker_parameters;
    allowed.networks = config.allowed_networks;
    return allowed;
}

std::optional<store::ClaimRefusal> container_refusal(const task::TaskSpec& spec,
                                                     const ContainerAllowance& allowed) {
    if (!spec.unreadable.empty()) {
        return store::ClaimRefusal{"invalid_task", "the row could not be read exactly (" +
                                                       escape_controls(spec.unreadable) +
                                                       "); nothing was launched"};
    }
    for (const auto& volume : spec.volumes) {
        if (!path_allowed(volume.host_path, allowed.volume_paths)) {
            return store::ClaimRefusal{
                "volume_not_allowed",
                "volume host_path " + quoted(volume.host_path) +
                    " is not allowed: the operator allows the host paths under "
                    "allowed_volume_paths; nothing was launched"};
        }
    }
    if (spec.network != task::NetworkMode::unset) {
        const std::string asked(task::to_string(spec.network));
        const auto network = judged_network(spec);
        if (!listed(allowed.networks, network)) {
            const std::string what = network == asked ? "network " + quoted(asked)
                                                      : "network " + quoted(asked) + " named " +
                                                            quoted(spec.network_name) +
                                                            " (Docker's " + quoted(network) + ")";
            return store::ClaimRefusal{"network_not_allowed",
                                       what +
                                           " is not allowed: the operator allows the networks in "
                                           "allowed_networks; nothing was launched"};
        }
    }
    for (const auto& [key, value] : spec.docker_parameters) {
        if (!listed(allowed.docker_parameters, key)) {
            return store::ClaimRefusal{"docker_parameter_not_allowed",
                                       "docker parameter " + quoted(key) +
                                           " is not allowed: the operator allows the keys in "
                                           "allowed_docker_parameters; nothing was launched"};
        }
    }
    return constraint_refusal(spec);
}

std::optional<store::ClaimRefusal> constraint_refusal(const task::TaskSpec& spec) {
    const auto problem = scheduler::pattern_problem(spec.constraints);
    if (!problem)
        return std::nullopt;
    const auto& c = spec.constraints.at(problem->index);
    return store::ClaimRefusal{
        "invalid_task", "constraint " + std::to_string(problem->index + 1) + " of " +
                            std::to_string(spec.constraints.size()) + " (" + quoted(c.attribute) +
                            " " + std::string(task::to_string(c.op)) + " " + quoted(c.value) +
                            ") is refused: " + problem->why + "; nothing was launched"};
}

}  // namespace mesoflow::runtime
