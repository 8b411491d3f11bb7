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
#include <vector>

namespace mesoflow::scheduler {

// Offers declined while the launch window is full of launches are refused
// this long at most, so they come back soon after first updates free it.
inline constexpr double kBackpressureRefuseS = 1.0;
// Offers wanted back soon: the master offers them again at its first
// allocation after this. At 0.1 s an agent given back for a full window sat
// out five 20 ms allocations (7,300-7,900 -> 8,400-8,600 tasks/s at 100,000
// tasks with 0.02 s); zero sent 25% more offers and was no faster.
inline constexpr double kReserveRefuseS = 0.02;
// A launch without a first update stops counting against the window.
inline constexpr std::chrono::milliseconds kLaunchWindowExpiry{60000};

struct PacerOptions {
    int launch_window = 320;
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

    bool operator==(const OfferDecision&) const = default;
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
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit LaunchPacer(PacerOptions options = {}) : options_(options) {}

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
    // want_cpus/want_mem: what the attempts still claimed need; window_limited:
    // the window, not the fit, left attempts unplaced.
    UnusedAnswer answer_unused(const std::vector<UnusedOffer>& unused, double want_cpus,
                               double want_mem, bool window_limited, bool more_after) const;

    const PacerOptions& options() const { return options_; }

  private:
    PacerOptions options_;
    std::unordered_map<std::string, TimePoint> awaiting_;  // launched, no update yet
};

}  // namespace mesoflow::scheduler
