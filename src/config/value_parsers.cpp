#include "config/value_parsers.hpp"

#include <fmt/core.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>

#include "config/text.hpp"
#include "config/value_files.hpp"

namespace mesoflow::config {
namespace {

constexpr std::uint32_t kMaxPort = 65535;

struct HostPort {
    std::string host;
    std::optional<std::uint16_t> port;
};

bool valid_hostname(std::string_view host) {
    if (host.empty() || host.front() == '-' || host.front() == '.')
        return false;
    for (char c : host) {
        const bool ok =
            std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

bool valid_ipv6(std::string_view host) {
    if (host.find(':') == std::string_view::npos)
        return false;
    for (char c : host) {
        const bool ok = std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

// "host", "host:port", "[v6]" or "[v6]:port".
Result<HostPort> parse_host_port(std::string_view text) {
    HostPort out;
    std::string_view port_text;
    bool has_port = false;
    if (text.starts_with('[')) {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return Error{fmt::format("\"{}\": an IPv6 address needs its closing ']'", text)};
        }
        out.host = std::string(text.substr(1, close - 1));
        if (!valid_ipv6(out.host))
            return Error{fmt::format("\"{}\" is not an IPv6 address", out.host)};
        const std::string_view after = text.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(':')) {
                return Error{fmt::format("\"{}\": expected :port after the address", text)};
            }
            port_text = after.substr(1);
            has_port = true;
        }
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon != std::string_view::npos && text.find(':') != colon) {
            return Error{
                fmt::format("\"{}\": write an IPv6 address in brackets, [addr]:port", text)};
        }
        out.host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = text.substr(colon + 1);
            has_port = true;
        }
        if (!valid_hostname(out.host)) {
            return Error{fmt::format("\"{}\" is not a host name or address", out.host)};
        }
    }
    if (has_port) {
        std::uint32_t port = 0;
        const auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
            port == 0 || port > kMaxPort) {
            return Error{
                fmt::format("\"{}\": the port must be a number from 1 to {}", text, kMaxPort)};
        }
        out.port = static_cast<std::uint16_t>(port);
    }
    return out;
}

Result<MasterAddress> parse_master(std::string_view entry) {
    MasterAddress master;
    std::string_view rest = entry;
    if (lower(rest.substr(0, 8)) == "https://") {
        master.https = true;
        rest.remove_prefix(8);
    } else if (lower(rest.substr(0, 7)) == "http://") {
        rest.remove_prefix(7);
    } else if (rest.find("://") != std::string_view::npos) {
        return Error{
            fmt::format("\"{}\": a master is host:port or an http:// or https:// URL", entry)};
    }
    if (rest.ends_with('/'))
        rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) {
        return Error{fmt::format("\"{}\": give the master's address without a path", entry)};
    }
    if (rest.find('@') != std::string_view::npos) {
        return Error{"a master address may not carry credentials; use principal and secret"};
    }
    auto hp = parse_host_port(rest);
    if (!hp)
        return hp.error();
    master.host = std::move(hp->host);
    if (hp->port)
        master.port = *hp->port;
    return master;
}

}  // namespace

Result<bool> parse_bool(std::string_view text) {
    const std::string v = lower(trim(text));
    if (v == "true" || v == "t" || v == "1" || v == "yes" || v == "on")
        return true;
    if (v == "false" || v == "f" || v == "0" || v == "no" || v == "off")
        return false;
    return Error{fmt::format("\"{}\" is not a boolean (use true or false)", text)};
}

Result<double> parse_number(std::string_view text) {
    const std::string_view t = trim(text);
    double value = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (t.empty() || ec != std::errc{} || end != t.data() + t.size() || !std::isfinite(value)) {
        return Error{fmt::format("\"{}\" is not a number", text)};
    }
    return value;
}

Result<std::int64_t> parse_integer(std::string_view text) {
    const std::string_view t = trim(text);
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (t.empty() || ec != std::errc{} || end != t.data() + t.size()) {
        return Error{fmt::format("\"{}\" is not a whole number", text)};
    }
    return value;
}

Result<double> parse_duration(std::string_view text) {
    struct Unit {
        std::string_view suffix;
        double seconds;
    };
    // "ms" before "s" and "m": the longest suffix that matches wins.
    static constexpr Unit kUnits[] = {{"ms", 0.001},         {"s", 1.0},
                                      {"m", 60.0},           {"h", 3600.0},
                                      {"d", kSecondsPerDay}, {"w", 7 * kSecondsPerDay}};
    const std::string_view t = trim(text);
    for (const auto& unit : kUnits) {
        if (t.size() > unit.suffix.size() && t.ends_with(unit.suffix)) {
            const std::string_view number = t.substr(0, t.size() - unit.suffix.size());
            if (!std::isdigit(static_cast<unsigned char>(number.back())) && number.back() != '.') {
                continue;
            }
            auto n = parse_number(number);
            if (!n)
                break;
            return *n * unit.seconds;
        }
    }
    auto n = parse_number(t);
    if (!n) {
        return Error{
            fmt::format("\"{}\" is not a duration (seconds, or a number with ms, s, m, h, "
                        "d or w)",
                        text)};
    }
    return *n;
}

Result<ZooKeeperUrl> parse_zookeeper_url(std::string_view text) {
    std::string_view rest = trim(text);
    if (lower(rest.substr(0, 5)) != "zk://")
        return Error{"a ZooKeeper URL starts with zk://"};
    rest.remove_prefix(5);
    ZooKeeperUrl url;
    // The credentials end at the URL's last '@', as Mesos reads it: a
    // password may hold '@', '/' and ':' (a path holding '@' cannot be given).
    if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view credentials = rest.substr(0, at);
        const std::size_t colon = credentials.find(':');
        if (colon == std::string_view::npos || colon == 0 || colon + 1 == credentials.size()) {
            return Error{"zk:// credentials are user:password@ (digest authentication)"};
        }
        url.credentials = std::string(credentials);
        rest = rest.substr(at + 1);
    }
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash + 1 == rest.size()) {
        return Error{
            "a zk:// URL names the masters' path after the servers, as in "
            "zk://host:2181/mesos"};
    }
    const std::string_view authority = rest.substr(0, slash);
    std::string_view path = rest.substr(slash);
    if (path.ends_with('/'))
        path.remove_suffix(1);
    for (const char c : path) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ' || c == ',') {
            return Error{"a zk:// path holds no spaces, commas or control characters"};
        }
    }
    if (path.find("//") != std::string_view::npos)
        return Error{fmt::format("\"{}\": a ZooKeeper path has no empty segment", path)};
    url.path = std::string(path);
    for (const auto& entry : split_list(authority, ',')) {
        auto hp = parse_host_port(entry);
        if (!hp)
            return hp.error();
        // IPv6 without brackets: the ZooKeeper client splits at the last ':'.
        url.servers += fmt::format("{}{}:{}", url.servers.empty() ? "" : ",", hp->host,
                                   hp->port.value_or(kDefaultZooKeeperPort));
    }
    if (url.servers.empty())
        return Error{"a zk:// URL names at least one ZooKeeper server, as in zk://host:2181/mesos"};
    return url;
}

Result<MasterSetting> parse_masters(std::string_view text) {
    std::string from_file;
    std::string_view list = trim(text);
    if (lower(list.substr(0, 7)) == "file://") {
        auto content = read_value_file(std::string(list.substr(7)));
        if (!content)
            return content.error();
        from_file = std::move(*content);
        list = trim(from_file);
    }
    MasterSetting out;
    if (lower(list.substr(0, 5)) == "zk://") {
        auto url = parse_zookeeper_url(list);
        if (!url)
            return url.error();
        out.zookeeper = std::move(*url);
        return out;
    }
    for (const auto& entry : split_list(list, ',')) {
        auto master = parse_master(entry);
        if (!master)
            return master.error();
        bool seen = false;
        for (const auto& m : out.list)
            seen = seen || m == *master;
        if (!seen)
            out.list.push_back(std::move(*master));
    }
    return out;
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
    const std::string_view t = trim(text);
    if (t.empty() || lower(t) == "off")
        return ListenAddress{};
    auto hp = parse_host_port(t);
    if (!hp)
        return hp.error();
    if (!hp->port)
        return Error{fmt::format("\"{}\": expected host:port", text)};
    return ListenAddress{std::move(hp->host), *hp->port};
}

Result<Containerizer> parse_containerizer(std::string_view text) {
    const std::string v = lower(trim(text));
    if (v == "docker")
        return Containerizer::docker;
    if (v == "mesos")
        return Containerizer::mesos;
    return Error{fmt::format("\"{}\" is not a containerizer (use docker or mesos)", text)};
}

Result<std::string> parse_log_level(std::string_view text) {
    const std::string v = lower(trim(text));
    if (v == "debug" || v == "info" || v == "warn" || v == "error")
        return v;
    if (v == "warning")
        return std::string("warn");
    return Error{fmt::format("\"{}\" is not a log level (use debug, info, warn or error)", text)};
}

Status check_dsn(std::string_view dsn) {
    const std::string v = lower(trim(dsn));
    if (v.empty() || v.starts_with("postgresql://") || v.starts_with("postgres://")) {
        return Status::success();
    }
    if (v.starts_with("postgresql+") || v.starts_with("postgres+")) {
        return Error{
            "this is a SQLAlchemy URL; libpq needs postgresql://... (drop the +driver "
            "part)"};
    }
    if (v.find("://") != std::string::npos) {
        return Error{"only postgresql:// and postgres:// URIs are PostgreSQL connection strings"};
    }
    if (v.find('=') == std::string::npos) {
        return Error{
            "not a PostgreSQL connection string (expected key=value pairs or a "
            "postgresql:// URI)"};
    }
    return Status::success();
}

std::string containerizer_name(Containerizer c) {
    return c == Containerizer::mesos ? "mesos" : "docker";
}

}  // namespace mesoflow::config
