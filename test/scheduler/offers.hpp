// Builders of offers and pending tasks for the scheduler core's table tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesoflow/mesos/types.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::testing {

inline mesos::Resource scalar(const std::string& name, double v, const std::string& role = "web") {
    mesos::Resource r;
    r.name = name;
    r.type = mesos::ValueType::scalar;
    r.scalar = v;
    r.role = "*";
    r.allocation_info = mesos::AllocationInfo{role};
    return r;
}

// A scalar statically reserved for `role` (pre-refinement format).
inline mesos::Resource reserved(const std::string& name, double v,
                                const std::string& role = "web") {
    mesos::Resource r = scalar(name, v, role);
    r.role = role;
    return r;
}

inline mesos::Resource ports(std::uint64_t b, std::uint64_t e, const std::string& role = "web") {
    mesos::Resource r;
    r.name = "ports";
    r.type = mesos::ValueType::ranges;
    r.ranges = {{b, e}};
    r.role = "*";
    r.allocation_info = mesos::AllocationInfo{role};
    return r;
}

inline mesos::Attribute text_attribute(const std::string& name, const std::string& value) {
    mesos::Attribute a;
    a.name = name;
    a.type = mesos::ValueType::text;
    a.text = value;
    return a;
}

// 1000 MB of disk and ports 31000-31009 besides the given cpus and mem.
inline mesos::Offer offer(const std::string& id, const std::string& agent, double cpus, double mem,
                          const std::string& role = "web") {
    mesos::Offer o;
    o.id = id;
    o.framework_id = "FW";
    o.agent_id = agent;
    o.hostname = agent + ".example.com";
    o.resources = {scalar("cpus", cpus, role), scalar("mem", mem, role), scalar("disk", 1000, role),
                   ports(31000, 31009, role)};
    o.allocation_info = mesos::AllocationInfo{role};
    return o;
}

inline task::TaskSpec spec(std::int64_t id, double cpus, double mem) {
    task::TaskSpec t;
    t.id = id;
    t.key = "k" + std::to_string(id);
    t.shell_command = "true";
    t.cpus = cpus;
    t.mem_mb = mem;
    return t;
}

}  // namespace mesoflow::testing
