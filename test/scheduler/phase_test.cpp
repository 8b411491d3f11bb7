// The runtime's phase: every (phase, event) pair and where it leads.
#include "mesoflow/scheduler/phase.hpp"

#include <catch2/catch.hpp>

using mesoflow::scheduler::next_phase;
using mesoflow::scheduler::Phase;
using mesoflow::scheduler::PhaseEvent;

TEST_CASE("the phase moves only along the transitions of the diagram; stopping is final") {
    using P = Phase;
    using E = PhaseEvent;
    struct Row {
        P from;
        E event;
        P to;
    };
    const std::vector<Row> rows = {
        {P::starting, E::leader_lock_taken, P::leading},
        {P::starting, E::lock_held_elsewhere, P::standby},
        {P::starting, E::subscribed, P::starting},
        {P::starting, E::disconnected, P::starting},
        {P::starting, E::stop, P::stopping},
        {P::standby, E::leader_lock_taken, P::leading},
        {P::standby, E::lock_held_elsewhere, P::standby},
        {P::standby, E::subscribed, P::standby},
        {P::standby, E::stop, P::stopping},
        {P::leading, E::subscribed, P::subscribed},
        {P::leading, E::disconnected, P::leading},
        {P::leading, E::lock_held_elsewhere, P::leading},
        {P::leading, E::stop, P::stopping},
        {P::subscribed, E::disconnected, P::leading},
        {P::subscribed, E::subscribed, P::subscribed},
        {P::subscribed, E::leader_lock_taken, P::subscribed},
        {P::subscribed, E::stop, P::stopping},
        {P::stopping, E::leader_lock_taken, P::stopping},
        {P::stopping, E::subscribed, P::stopping},
        {P::stopping, E::disconnected, P::stopping},
        {P::stopping, E::stop, P::stopping},
    };
    for (const auto& r : rows) {
        INFO(to_string(r.from) << " + event " << static_cast<int>(r.event));
        CHECK(next_phase(r.from, r.event) == r.to);
    }
}
