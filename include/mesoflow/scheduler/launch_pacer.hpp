// LaunchPacer: how fast mesoflow launches, and what it answers each offer.
// Pure; counts and time are passed in, decisions come back.
//
// Claim ahead: a window of the queue (claim_batch attempts) is claimed before
// the offers that will run it arrive, so an offer is matched and answered on
// the event loop at once. claim_size() refills it once a quarter is used:
// the three quarters left answer offers while the claim runs, and a claim of
// a quarter still costs one round trip for many.
//
// The launch window bounds the work on its way to a commit: attempts
// launched and still without a first status update, plus status updates
// received and not yet committed. Every launch brings updates (three for a
// short task), so a window that counted launches alone let bursts of
// hundreds of updates queue for the database, and acknowledgements waited
// behind them. A launch whose first update never comes stops counting after
// kLaunchWindowExpiry (reconciliation takes over from there).
//
// The window's size adapts to the allocation clock, between launch_window
// (where it starts, and its floor) and launch_window_max:
// - It doubles after a matching round the window cut short although at
//   most a quarter of it was in use when the round began, the second round
//   in a row (kSlowRoundsToGrow) to come kSlowOffersAfter or more after a
//   launch (the first round counts as such): the last offers' work was
//   committed long before these came, so the window, not the database,
//   held the round back. At a 1 s allocation interval a fixed 320 launched
//   320 tasks a second whatever the cluster held.
// - It halves when offers find it full (at most once per
//   kWindowShrinkEvery): a database still busy with the last offers' work
//   gains nothing from a larger window (at 20 ms allocations a window grown
//   to 5,000 took acknowledgements from 24 ms to 5 s at p99).
// - It halves when a status update waited longer than
//   commit_latency_target from its receipt to its ACKNOWLEDGE, at most once
//   per target (one late burst halves it once). Measured at the commit
//   alone, the acknowledgements of 5,000 launches, one call each, waited up
//   to 3.2 s at p99 behind the ACCEPTs while commits took 150-340 ms.
// Claims ahead follow it: claim_size() fills max(claim_batch, 2 * window()).
// With one window, a round that launched a whole window met the next
// allocation's offers with nothing claimed while the claim ran (5,000 tasks
// every other second at 1 s).
//
// on_offers() says, for the offers held now: nothing launches under a
// framework id not yet committed (they are held, and go back with the short
// filter past the hold limit, until the save commits); else match them against the first
// `room` claimed attempts, hold them (for a claim or a commit; the OfferBook
// bounds how long), or decline them all with a filter. Commits go before
// launches: while the window is full of updates, or a lane has a full batch
// waiting, offers are held until a commit answers. Declining them instead
// filtered their agents for a second each time and cut throughput by 60% at
// 100,000 tasks.
//
// answer_unused() splits the offers a matching round left unused. Where the
// launch window, not the fit, held the round back, the attempts still
// claimed want offers within milliseconds: enough of the unused offers to
// hold them (by cpus and memory, in offer order) come back after the short
// filter, the rest after refuse_seconds. Declining them all for
// refuse_seconds left only the agents whose tasks had just finished in play
// (about 4,000 tasks/s at 100,000 tasks); a short filter on all of them made
// the master send every agent again every 140 ms.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mesoflow::scheduler {

// Offers declined while the launch window is full of launches are refused
// this long at most, so they come back soon after first updates free it
// (no filter once the window has grown, as for kReserveRefuseS).
inline constexpr double kBackpressureRefuseS = 1.0;
// Offers wanted back soon: the master offers them again at its first
// allocation after this (after the next one: a filter always outlasts the
// allocation after it). Once the launch window has grown past its floor,
// no filter at all: on a 1 s allocation interval 0.02 s kept those agents
// out for 2 s, and a growing window launched every other second. The same
// holds for offers held too long (stale_hold_refuse) and the backpressure
// filter. At 0.1 s an agent given back for a full window sat
// out five 20 ms allocations (7,300-7,900 -> 8,400-8,600 tasks/s at 100,000
// tasks with 0.02 s); zero sent 25% more offers and was no faster.
inline constexpr double kReserveRefuseS = 0.02;
// The window grows only after a round that came this long after the last
// launch: offers that rare mean a slow allocation clock. At 20 ms a window
// that grew whenever the pipeline happened to drain went up and down 92
// times in 20 s, and acknowledgements waited three times longer at p99.
inline constexpr std::chrono::milliseconds kSlowOffersAfter{100};
// ... in this many rounds in a row (the first round counts as slow): at
// 20 ms allocations one late round (the database stalled, the window full
// for a while) grew the window about twice per 100,000 tasks, and each
// such episode sent offers back without a filter until offers found the
// window full and halved it again, 40-250 ms later.
inline constexpr int kSlowRoundsToGrow = 2;
// The window halves at most this often while offers find it full.
inline constexpr std::chrono::milliseconds kWindowShrinkEvery{100};
// A launch without a first update stops counting against the window.
inline constexpr std::chrono::milliseconds kLaunchWindowExpiry{60000};

struct PacerOptions {
    int launch_window = 320;       // the window's floor, and where it starts
    int launch_window_max = 5000;  // the most it grows to; launch_window: fixed
    double commit_latency_target_s = 1.0;
    int claim_batch = 1000;
    int update_batch = 256;
    double refuse_s = 5.0;        // unused resources while work remains
    double idle_refuse_s = 3600;  // unused resources when nothing is left
};

// What the pacer reads of the runtime's state at one moment.
struct PacerInputs {
    std::size_t claimed = 0;             // claimed attempts waiting for an offer
    bool claim_running = false;          // a claim is on its way to the database
    bool claims_exhausted = false;       // the last claim found less than it asked for
    std::size_t updates_waiting = 0;     // received, not committed (in a batch or queued)
    std::size_t fullest_lane_queue = 0;  // updates queued on the fullest lane
    // The framework id offers name is committed in the database: nothing
    // launches under one that a restart would not find.
    bool framework_id_committed = true;
};

enum class OfferAction {
    match,    // match the held offers against the first `room` claimed attempts
    hold,     // keep them (for a claim or a commit), at most the hold limit
    decline,  // give them all back with `refuse_s`
};

struct OfferDecision {
    OfferAction action = OfferAction::hold;
    std::size_t room = 0;      // match: how many claimed attempts to consider
    double refuse_s = 0;       // decline: the filter
    bool claim = false;        // hold for a claim: claim now (claim_size() says how many)
    bool idle_filter = false;  // that filter is idle_refuse_seconds: tell the OfferGate
    bool window_full = false;  // held or declined because the window had no room

    bool operator==(const OfferDecision&) const = default;
};

// What an adaptation did to the window, for the log and the metrics.
struct WindowChange {
    std::size_t from = 0;
    std::size_t to = 0;
    bool changed() const { return from != to; }
};

// One offer a matching round left unused, with what it holds.
struct UnusedOffer {
    std::string id;
    double cpus = 0;
    double mem_mb = 0;
};

// How to decline a round's unused offers: two DECLINE calls at most.
struct UnusedAnswer {
    std::vector<std::string> soon;  // needed for the claimed attempts
    double soon_refuse_s = 0;
    std::vector<std::string> later;
    double later_refuse_s = 0;
    bool later_idle = false;  // later_refuse_s is idle_refuse_seconds: tell the OfferGate
};

class LaunchPacer {
  public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;

    explicit LaunchPacer(PacerOptions options = {});

    // --- the launch window
    void launched(const std::string& mesos_task_id, TimePoint now);
    // Its first status update arrived: it no longer counts.
    void first_update(const std::string& mesos_task_id) { awaiting_.erase(mesos_task_id); }
    // Launches older than kLaunchWindowExpiry stop counting.
    void expire(TimePoint now);
    // A new subscription: launches of the last one are reconciled instead.
    void reset() { awaiting_.clear(); }
    std::size_t launches_in_flight() const { return awaiting_.size(); }
    // Launched (placement on its way or ACCEPT sent) and no update yet: the
    // master may not know it yet, so reconciling it now would bring back an
    // "unknown" that is not true.
    bool in_flight(const std::string& mesos_task_id) const {
        return awaiting_.contains(mesos_task_id);
    }
    std::size_t room(std::size_t updates_waiting) const;
    // The window's size now, and whether it has grown past its floor.
    std::size_t window() const { return window_; }
    bool grown() const { return window_ > floor_; }
    // A matching round ended: `room_at_start` was the room when it began,
    // `limited` says the room ran out with attempts and offers left.
    WindowChange round_done(std::size_t room_at_start, bool limited, TimePoint now);
    // Offers came and the window had no room (OfferDecision::window_full):
    // the database, not the offers, is what launching waits for, and a
    // window that large only adds latency. Halved, at most once per
    // kWindowShrinkEvery.
    WindowChange full(TimePoint now);
    // A status update's ACKNOWLEDGE was written `wait` after the update was
    // read (its commit included).
    WindowChange acknowledged(Clock::duration wait, TimePoint now);

    // --- claims
    // How many attempts to claim now; nullopt: not now (one is running, the
    // queue had no more, or less than a quarter of the batch is used).
    std::optional<int> claim_size(const PacerInputs& in) const;

    // --- offers
    OfferDecision on_offers(const PacerInputs& in) const;
    // After a matching round: more work is known or may be queued.
    static bool more_after(std::size_t claimed_left, bool claims_exhausted) {
        return claimed_left > 0 || !claims_exhausted;
    }
    // The filter for offers left unused: short while work remains, long when idle.
    double refuse_for_unused(bool more_pending) const {
        return more_pending ? options_.refuse_s : options_.idle_refuse_s;
    }
    // The filter for offers held past the hold limit: back at the next allocation.
    double stale_hold_refuse() const;
    // What the next round may launch, for answer_unused after a round cut
    // short: the attempts still claimed (their cpus and mem, their count),
    // and up to a window (launch_window_max while the last round grew it;
    // none at the floor, never grown)
    // of attempts like the round's (`task_cpus`, `task_mem`, its mean) that
    // the next claim brings. Declining all but
    // the claimed ones with refuse_s kept a growing window from the offers
    // it grew for until their filters passed.
    std::pair<double, double> want_next_round(double claimed_cpus, double claimed_mem,
                                              std::size_t claimed_left, double task_cpus,
                                              double task_mem) const;
    // want_cpus/want_mem: what the attempts still claimed need; window_limited:
    // the window, not the fit, left attempts unplaced.
    UnusedAnswer answer_unused(const std::vector<UnusedOffer>& unused, double want_cpus,
                               double want_mem, bool window_limited, bool more_after) const;

    const PacerOptions& options() const { return options_; }

  private:
    // A short filter, or none once the window has grown past its floor.
    double soon(double refuse_s) const;
    // Halves the window (not below its floor) unless `last` halved it less
    // than `every` ago; `last` becomes now when it does.
    WindowChange halve(std::optional<TimePoint>& last, Clock::duration every, TimePoint now);

    PacerOptions options_;
    std::size_t floor_ = 1;
    std::size_t ceiling_ = 1;
    std::size_t window_ = 1;
    Clock::duration latency_target_{};  // commit_latency_target
    bool grew_ = false;                 // the last round doubled the window
    std::optional<TimePoint> last_launch_;
    int slow_rounds_ = 0;  // rounds in a row that came kSlowOffersAfter after a launch
    std::optional<TimePoint> last_halved_;                 // for commit latency
    std::optional<TimePoint> last_full_halved_;            // for a full window
    std::unordered_map<std::string, TimePoint> awaiting_;  // launched, no update yet
};

}  // namespace mesoflow::scheduler
