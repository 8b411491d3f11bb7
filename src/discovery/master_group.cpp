#include "mesoflow/discovery/master_group.hpp"

#include <fmt/core.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

namespace mesoflow::discovery {
namespace {

using json = nlohmann::json;

// The sequence of a member named prefix + digits, or nullopt.
std::optional<std::int64_t> sequence_of(std::string_view name, std::string_view prefix) {
    if (!name.starts_with(prefix))
        return std::nullopt;
    const std::string_view digits = name.substr(prefix.size());
    if (digits.empty() || digits.size() > 18)
        return std::nullopt;
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc{} || end != digits.data() + digits.size() || n < 0)
        return std::nullopt;
    return n;
}

std::optional<std::uint16_t> port_of(const json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer())
        return std::nullopt;
    const auto v = it->get<std::int64_t>();
    if (v < 1 || v > std::numeric_limits<std::uint16_t>::max())
        return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

std::string text_of(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool usable_host(const std::string& host) {
    if (host.empty() || host.size() > 253)
        return false;
    for (const char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

}  // namespace

GroupReading read_group(const std::vector<std::string>& children) {
    GroupReading out;
    std::optional<std::int64_t> lowest;
    bool binary = false;
    for (const auto& child : children) {
        if (const auto seq = sequence_of(child, kMemberPrefix)) {
            if (!lowest || *seq < *lowest) {
                lowest = seq;
                out.leader = child;
            }
        } else if (sequence_of(child, kBinaryMemberPrefix)) {
            binary = true;
        }
    }
    out.binary_members_only = binary && !out.leader;
    return out;
}

Result<transport::MasterEndpoint> parse_master_info(std::string_view text) {
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return Error{"the leading master's data is not a MasterInfo JSON object"};
    transport::MasterEndpoint e;
    std::optional<std::uint16_t> port;
    if (const auto a = j.find("address"); a != j.end() && a->is_object()) {
        e.host = text_of(*a, "ip");
        if (e.host.empty())
            e.host = text_of(*a, "hostname");
        port = port_of(*a, "port");
    }
    if (e.host.empty()) {
        if (const auto ip = j.find("ip"); ip != j.end() && ip->is_number_unsigned()) {
            // Network byte order read as a little-endian number: the first
            // octet is the lowest byte.
            const auto v = ip->get<std::uint64_t>();
            if (v <= std::numeric_limits<std::uint32_t>::max()) {
                e.host = fmt::format("{}.{}.{}.{}", v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
                                     (v >> 24) & 0xff);
            }
        }
    }
    if (e.host.empty())
        e.host = text_of(j, "hostname");
    if (!port)
        port = port_of(j, "port");
    if (e.host.empty())
        return Error{"the leading master's MasterInfo has no address (ip or hostname)"};
    if (!usable_host(e.host))
        return Error{"the leading master's MasterInfo has a malformed host"};
    if (!port)
        return Error{"the leading master's MasterInfo has no valid port"};
    e.port = *port;
    return e;
}

}  // namespace mesoflow::discovery
