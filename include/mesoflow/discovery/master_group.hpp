// The Mesos masters' group in ZooKeeper, read as Mesos' own detector reads
// it: every master contending for leadership holds an ephemeral sequential
// znode under the group's path, `json.info_<sequence>`, whose data is its
// MasterInfo as JSON; the leader is the member with the lowest sequence.
// Pure: the ZooKeeper client lives in zookeeper_detector.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/common/result.hpp"
#include "mesoflow/transport/master_client.hpp"

namespace mesoflow::discovery {

inline constexpr std::string_view kMemberPrefix = "json.info_";
// Masters before Mesos 0.24 wrote binary MasterInfo under info_<sequence>;
// mesoflow reads only the JSON members and says so if it meets such a group.
inline constexpr std::string_view kBinaryMemberPrefix = "info_";

struct GroupReading {
    std::optional<std::string> leader;  // the member's znode name
    bool binary_members_only = false;   // info_ members and no json.info_ one
};

// The leading member among a group's children; other znodes are ignored.
GroupReading read_group(const std::vector<std::string>& children);

// The scheduler endpoint (http://host:port/api/v1/scheduler) of the master
// whose MasterInfo JSON this is: `address` (ip, else hostname; port), else
// the older top-level `ip` (IPv4 as a number in network byte order),
// `hostname` and `port`. An Error names what is missing or malformed.
Result<transport::MasterEndpoint> parse_master_info(std::string_view json);

}  // namespace mesoflow::discovery
