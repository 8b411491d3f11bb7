#include "mesoflow/scheduler/phase.hpp"

namespace mesoflow::scheduler {

Phase next_phase(Phase phase, PhaseEvent event) {
    if (phase == Phase::stopping)
        return phase;
    switch (event) {
        case PhaseEvent::stop:
            return Phase::stopping;
        case PhaseEvent::leader_lock_taken:
            return phase == Phase::starting || phase == Phase::standby ? Phase::leading : phase;
        case PhaseEvent::lock_held_elsewhere:
            return phase == Phase::starting || phase == Phase::standby ? Phase::standby : phase;
        case PhaseEvent::subscribed:
            return phase == Phase::leading || phase == Phase::subscribed ? Phase::subscribed
                                                                         : phase;
        case PhaseEvent::disconnected:
            return phase == Phase::subscribed ? Phase::leading : phase;
    }
    return phase;
}

std::string_view to_string(Phase phase) {
    switch (phase) {
        case Phase::starting:
            return "starting";
        case Phase::standby:
            return "standby";
        case Phase::leading:
            return "leading";
        case Phase::subscribed:
            return "subscribed";
        case Phase::stopping:
            return "stopping";
    }
    return "unknown";
}

}  // namespace mesoflow::scheduler
