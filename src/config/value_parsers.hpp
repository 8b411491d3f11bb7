// Parsers for the value types of configuration keys. Each returns the value
// or an Error whose message is only the reason ("\"abc\" is not a number");
// the caller adds the key and where the value came from. None is used on
// secrets except check_dsn(), whose messages never quote the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/common/result.hpp"
#include "mesoflow/config/config.hpp"

namespace mesoflow::config {

// true/false, yes/no, on/off, 1/0, t/f (any case), as Airflow's getboolean.
Result<bool> parse_bool(std::string_view text);
// A finite decimal number.
Result<double> parse_number(std::string_view text);
Result<std::int64_t> parse_integer(std::string_view text);
// Seconds: "30", "0.5", or a number with a unit ms, s, m, h, d or w ("10m").
Result<double> parse_duration(std::string_view text);

// What `master` names: a list of masters, or where ZooKeeper holds them.
struct MasterSetting {
    std::vector<MasterAddress> list;
    std::optional<ZooKeeperUrl> zookeeper;
};

// Comma-separated masters, each host:port (port defaults to 5050) or an
// http(s)://host[:port][/] URL; or one zk://[user:password@]host:port[,...]/path
// URL; "file:///path" reads either from that file, as libmesos did.
Result<MasterSetting> parse_masters(std::string_view text);
// zk://[user:password@]host[:port][,host[:port]...]/path; the port defaults
// to 2181. Messages never quote the password.
Result<ZooKeeperUrl> parse_zookeeper_url(std::string_view text);
// "host:port" (IPv6 host in brackets); "" or "off" disables.
Result<ListenAddress> parse_listen_address(std::string_view text);
Result<Containerizer> parse_containerizer(std::string_view text);
// debug, info, warn (or warning), error, any case; returns the canonical name.
Result<std::string> parse_log_level(std::string_view text);
// Accepts "", a postgres:// or postgresql:// URI, or libpq key=value pairs.
Status check_dsn(std::string_view dsn);

std::string containerizer_name(Containerizer c);

}  // namespace mesoflow::config
