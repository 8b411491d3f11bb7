// Phase: where the runtime stands, one value instead of scattered flags, and
// the one function that moves it. Pure.
//
//   starting ──leader_lock_taken──► leading ──subscribed──► subscribed
//      │  ▲                            ▲                       │
//      │  └──lock_held_elsewhere──┐    └──────disconnected─────┘
//      └──lock_held_elsewhere──► standby ──leader_lock_taken──► leading
//   any ──stop──► stopping (final: nothing moves it back)
//
// starting covers migrations and the first try for the leader lock;
// leading: the lock is held, the framework id is loaded or being loaded, the
// master is being (re)subscribed; subscribed: offers and updates flow.
#pragma once

#include <string_view>

namespace mesoflow::scheduler {

enum class Phase { starting, standby, leading, subscribed, stopping };

enum class PhaseEvent {
    leader_lock_taken,
    lock_held_elsewhere,
    subscribed,
    disconnected,
    stop,
};

// The phase after `event`; an event that does not apply leaves it as it is.
Phase next_phase(Phase phase, PhaseEvent event);

std::string_view to_string(Phase phase);

}  // namespace mesoflow::scheduler
