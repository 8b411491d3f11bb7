// What the kill scan does with the attempts whose kill was asked for (or
// whose execution timeout passed). Pure; time is passed in.
//
// An attempt still claimed and waiting here for an offer never went to
// Mesos: it gets no KILL; it leaves the claimed window and its claim is
// released (the row is killed where it stands). Any other attempt gets a
// KILL, unless one was sent for it less than the KillTracker's retry
// interval ago.
#pragma once

#include <vector>

#include "mesoflow/scheduler/kill_tracker.hpp"
#include "mesoflow/task/attempt.hpp"
#include "mesoflow/task/task.hpp"

namespace mesoflow::scheduler {

struct KillScanSplit {
    std::vector<task::ClaimRef> release;  // claimed, never sent: released, not killed
    std::vector<task::LiveAttempt> kill;  // a KILL to send now
};

// Removes the released attempts from `claimed` (a spec's claimed attempt is
// its attempt + 1) and records the KILLs in `tracker` as sent at `now`.
KillScanSplit split_kill_scan(const std::vector<task::LiveAttempt>& requested,
                              std::vector<task::TaskSpec>& claimed, KillTracker& tracker,
                              KillTracker::TimePoint now);

}  // namespace mesoflow::scheduler
