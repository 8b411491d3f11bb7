// Launching: claims ahead of offers, offers held in the book, matched
// against the claimed window and answered as the LaunchPacer decides.

#include "runtime_impl.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "mesoflow/mesos/resources.hpp"
#include "mesoflow/runtime/launch_policy.hpp"
#include "mesoflow/scheduler/calls.hpp"
#include "mesoflow/scheduler/task_info_builder.hpp"
#include "mesoflow/task/text.hpp"

namespace mesoflow::runtime {

// Gives every held offer back.
scheduler::PacerInputs Runtime::Impl::pacer_inputs() const {
    scheduler::PacerInputs in;
    in.claimed = claimed.size();
    in.claim_running = claim_running;
    in.claims_exhausted = claims_exhausted;
    in.updates_waiting = updates_waiting();
    in.framework_id_committed = framework_id_committed;
    for (const auto& lane : lanes)
        in.fullest_lane_queue = std::max(in.fullest_lane_queue, lane->updates.size());
    return in;
}

void Runtime::Impl::maybe_claim() {
    if (stopping() || !framework_id)
        return;
    if (unknown_claims > 0) {
        if (!claim_running)
            give_back_unknown_claims();
        return;
    }
    const auto size = pacer.claim_size(pacer_inputs());
    if (!size)
        return;
    claim_running = true;
    // What each queue holds, for the claim's turns between queues.
    store::ClaimShares shares;
    if (last_capacity.cpus > 0 && last_capacity.mem_mb > 0) {
        shares.capacity_cpus = last_capacity.cpus;
        shares.capacity_mem_mb = last_capacity.mem_mb;
        const scheduler::Demand cpus_mem{last_capacity.cpus, last_capacity.mem_mb, 0, 0};
        for (const auto& [queue, share] : queue_shares)
            shares.used.emplace_back(queue, scheduler::dominant_share(share.used, cpus_mem));
    }
    db_job([this, room = *size, policy = launch_policy(),
            shares = std::move(shares)] { return store->claim_window(room, policy, shares); },
           [this, room = *size, epoch = work_epoch](Result<store::ClaimedWindow> r) {
               finish_claim(room, epoch, r);
           });
}

void Runtime::Impl::finish_claim(int asked, std::uint64_t epoch, Result<store::ClaimedWindow>& r) {
    claim_running = false;
    if (!r && r.error().fenced()) {
        end_term("fenced", r.error().message);
        return;
    }
    if (!db_ok(r, "claim_pending")) {
        // Nothing was claimed, or what was is unknown: the next claim gives
        // back first what no one holds. Held offers go back.
        ++unknown_claims;
        decline_held(cfg.refuse_s);
        maybe_finish_stop();
        return;
    }
    for (const auto& t : r->refused) {
        log::warn("task_refused", "task={} key={} reason={} message={}", t.id, log::quote(t.key),
                  t.reason, log::quote(t.message));
    }
    metrics.tasks_claimed += r->tasks.size();
    metrics.claim_batches++;
    // Refused rows were taken from the queue too: more may be pending. A
    // short claim read the queue before any work that came while it ran.
    // A queue that filled its room may hold more; a claim that took
    // nothing never claims again at once (no loop on rows others hold).
    const auto taken = static_cast<int>(r->tasks.size() + r->refused.size());
    claims_exhausted = taken < asked && epoch == work_epoch && !(r->more_due && taken > 0);
    queue_at_cap = r->queue_at_cap;
    const auto now = time.now();
    for (auto& spec : r->tasks) {
        waiting_reasons.claimed(spec.id, spec.attempt + 1, now);
        claimed.push_back(std::move(spec));
    }
    metrics.claims_held = static_cast<std::int64_t>(claimed.size());
    if (stopping()) {
        release_all_claims();
        return;
    }
    if (claimed.empty() && claims_exhausted) {
        metrics.queue_pending = 0;
        apply_gate(gate.on_pending(0, time.now()));
    } else if (!r->tasks.empty()) {
        // Claimed after a queue's task ended (no NOTIFY, no poll): offers
        // may be suppressed.
        apply_gate(gate.on_pending(static_cast<std::int64_t>(claimed.size()), time.now()));
    }
    place_offers();
}

// Carries out what the pacer decides for the offers held now.
void Runtime::Impl::place_offers() {
    if (book.empty()) {
        maybe_claim();
        return;
    }
    if (!subscribed() || !framework_id)
        return;
    const auto decision = pacer.on_offers(pacer_inputs());
    waiting_reasons.offers_seen(time.now());
    if (decision.window_full)
        window_changed(pacer.full(time.now()), "offers came while the window was full");
    if (decision.claim)
        maybe_claim();
    if (decision.action != scheduler::OfferAction::match && !decision.claim) {
        // Offers came and the window keeps them from the claimed attempts.
        for (const auto& spec : claimed)
            waiting_reasons.window_full(spec.id);
    }
    switch (decision.action) {
        case scheduler::OfferAction::hold:
            hold_offers();
            return;
        case scheduler::OfferAction::decline:
            if (decision.idle_filter)
                gate.on_idle_filter();
            decline_held(decision.refuse_s);
            return;
        case scheduler::OfferAction::match:
            break;
    }
    auto round = book.take_all();
    metrics.offers_held = 0;
    launch(std::move(round), decision.room);
}

void Runtime::Impl::set_queue_usage(const std::vector<store::QueueUsage>& queues) {
    queue_shares.clear();
    std::map<std::string, QueueGauges, std::less<>> gauges;
    for (const auto& q : queues) {
        queue_shares[q.queue] =
            scheduler::QueueShare{q.weight, {q.cpus, q.mem_mb, q.disk_mb, q.gpus}};
        gauges[q.queue] =
            QueueGauges{q.queue, q.weight, q.max_running, q.active, q.cpus, q.mem_mb, q.gpus, {}};
    }
    for (const auto& c : reason_counts) {
        auto& g = gauges[c.queue];
        g.queue = c.queue;
        g.pending_by_reason.emplace_back(c.reason, c.tasks);
    }
    std::vector<QueueGauges> out;
    out.reserve(gauges.size());
    for (auto& [name, g] : gauges)
        out.push_back(std::move(g));
    metrics.set_queues(std::move(out));
}

// The claimed window in the order fair shares give (claim order within a
// queue). The capacity shares are measured against: what the queues use
// and what this round offers.
void Runtime::Impl::order_claimed_fairly(const std::vector<mesos::Offer>& round) {
    const bool one_queue = std::all_of(claimed.begin(), claimed.end(), [&](const auto& t) {
        return t.queue == claimed.front().queue;
    });
    if (one_queue)
        return;
    scheduler::Demand capacity;
    for (const auto& [name, share] : queue_shares)
        capacity += share.used;
    for (const auto& offer : round) {
        capacity += scheduler::Demand{
            mesos::scalar_sum(offer.resources, "cpus"), mesos::scalar_sum(offer.resources, "mem"),
            mesos::scalar_sum(offer.resources, "disk"), mesos::scalar_sum(offer.resources, "gpus")};
    }
    std::vector<scheduler::ClaimedDemand> demands;
    demands.reserve(claimed.size());
    for (const auto& t : claimed)
        demands.push_back({t.queue, {t.cpus, t.mem_mb, t.disk_mb, t.gpus}});
    const auto order = scheduler::fair_order(demands, queue_shares, capacity);
    std::vector<task::TaskSpec> ordered;
    ordered.reserve(claimed.size());
    for (const auto i : order)
        ordered.push_back(std::move(claimed[i]));
    claimed = std::move(ordered);
}

namespace {

scheduler::Demand demand_of(const std::vector<mesos::Resource>& resources) {
    return {mesos::scalar_sum(resources, "cpus"), mesos::scalar_sum(resources, "mem"),
            mesos::scalar_sum(resources, "disk"), mesos::scalar_sum(resources, "gpus")};
}

scheduler::Demand demand_of(const task::TaskSpec& t) {
    return {t.cpus, t.mem_mb, t.disk_mb, t.gpus};
}

}  // namespace

// A large task that no offer had room for during unplaceable_after gets an
// agent held for it (agent_hold.hpp): nothing else launches there, the
// agent's offers go back with a short filter until one holds the task, and
// then the task is tried first.
void Runtime::Impl::hold_agent_for_starving(std::vector<mesos::Offer>& round) {
    std::map<std::string, scheduler::Demand, std::less<>> together;
    for (const auto& o : round)
        together[o.agent_id] += demand_of(o.resources);
    last_round_agents = together.size();
    for (const auto& [agent, d] : together)
        agent_room.offered(agent, d);
    const auto index_of = [&](std::int64_t task_id, int attempt) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < claimed.size(); ++i) {
            if (claimed[i].id == task_id && claimed[i].attempt + 1 == attempt)
                return i;
        }
        return std::nullopt;
    };
    if (held_agent && !index_of(held_agent->task_id, held_agent->attempt)) {
        log::info("agent_released", "task={} agent={}",
                  task::mesos_task_id(held_agent->task_id, held_agent->attempt),
                  held_agent->agent_id);
        held_agent.reset();
    }
    // A hold that did not drain its agent in time (its tasks run long,
    // another framework took what was declined, the agent went away) ends,
    // and is not taken again for that task: one agent is not idled for ever.
    const auto hold_limit = std::chrono::microseconds(
        static_cast<std::int64_t>(kHoldLimitFactor * cfg.unplaceable_after_s * 1e6));
    if (held_agent && time.now() - held_agent->since >=
                          std::max<std::chrono::microseconds>(hold_limit, kHoldLimitMin)) {
        log::warn("agent_hold_expired", "task={} agent={}",
                  task::mesos_task_id(held_agent->task_id, held_agent->attempt),
                  held_agent->agent_id);
        hold_given_up.insert(held_agent->task_id);
        agent_room.forget(held_agent->agent_id);
        held_agent.reset();
    }
    if (hold_given_up.size() > claimed.size()) {
        std::erase_if(hold_given_up, [&](std::int64_t id) {
            return std::none_of(claimed.begin(), claimed.end(),
                                [&](const auto& t) { return t.id == id; });
        });
    }
    if (!held_agent) {
        // Of the tasks that waited for room, the largest: small ones find
        // room as others end.
        std::vector<scheduler::WaitingNote> candidates;
        std::vector<scheduler::Demand> needs;
        std::vector<std::size_t> indices;
        for (const auto& s : waiting_reasons.wanting_room(time.now())) {
            const auto i = index_of(s.task_id, s.attempt);
            // Constraints and roles may rule the agent's resources out: such
            // tasks wait as they are. So does one no agent ever had room for,
            // and one whose hold already ran out.
            if (!i || !claimed[*i].constraints.empty() || !claimed[*i].role.empty())
                continue;
            if (hold_given_up.contains(s.task_id))
                continue;
            if (!scheduler::agent_to_hold(demand_of(claimed[*i]), agent_room))
                continue;
            candidates.push_back(s);
            needs.push_back(demand_of(claimed[*i]));
            indices.push_back(*i);
        }
        const auto pick = scheduler::largest_of(needs, agent_room);
        if (!pick)
            return;
        const auto agent = scheduler::agent_to_hold(needs[*pick], agent_room);
        if (!agent)
            return;
        const auto& s = candidates[*pick];
        held_agent = HeldAgent{s.task_id, s.attempt, *agent, time.now()};
        const auto& spec = claimed[indices[*pick]];
        log::info("agent_held", "task={} agent={} cpus={} mem={}",
                  task::mesos_task_id(s.task_id, s.attempt), *agent, spec.cpus, spec.mem_mb);
    }
    const auto i = *index_of(held_agent->task_id, held_agent->attempt);
    const auto offered = together.find(held_agent->agent_id);
    if (offered != together.end() && scheduler::holds(offered->second, demand_of(claimed[i]))) {
        // Its turn: first in the round.
        std::rotate(claimed.begin(), claimed.begin() + static_cast<std::ptrdiff_t>(i),
                    claimed.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        return;
    }
    std::vector<std::string> ids;
    std::erase_if(round, [&](const mesos::Offer& o) {
        if (o.agent_id != held_agent->agent_id)
            return false;
        ids.push_back(o.id);
        return true;
    });
    decline_ids(std::move(ids), scheduler::kReserveRefuseS);
}

// Matches a round of offers against the claimed attempts, at most `room`
// launches, records the placements and then sends the ACCEPTs
// (place_then_accept), and declines what is left. Every claimed attempt may
// be looked at: one no offer can hold never keeps a later one out; the
// UnplaceableTracker learns why it waits.
void Runtime::Impl::launch(std::vector<mesos::Offer> round, std::size_t room) {
    order_claimed_fairly(round);
    hold_agent_for_starving(round);
    const auto room_at_start = pacer.room(updates_waiting());
    auto options = match_options();
    options.max_launches = room;
    auto match = matcher.match(round, claimed, options);
    // Offers left over although the round launched all its room allowed:
    // the window, or the claims ahead that follow it, cut it short (not a
    // queue with nothing more).
    const bool cut_short = !match.unused_offer_ids.empty() && match.launch_count() >= room &&
                           (room < claimed.size() || !claims_exhausted);
    log::debug("launch_round",
               "offers={} claimed={} room={} window_room={} launched={} cut_short={}", round.size(),
               claimed.size(), room, room_at_start, match.launch_count(), cut_short);
    window_changed(pacer.round_done(room_at_start, cut_short, time.now()),
                   "a round of offers cut short while the window was nearly empty");
    const auto defaults = task_defaults();
    const auto sent_at = time.wall_us();
    const auto now = time.now();
    // The smallest task the round placed: a larger one left out was passed
    // over (a candidate for an agent held for it).
    std::optional<scheduler::Demand> smallest;
    for (const auto& plan : match.plans) {
        for (const auto& l : plan.launches) {
            const auto& t = claimed[l.index];
            if (!smallest || t.cpus + t.mem_mb / 1024 < smallest->cpus + smallest->mem_mb / 1024)
                smallest = scheduler::Demand{t.cpus, t.mem_mb, t.disk_mb, t.gpus};
        }
    }
    std::vector<bool> looked_at(claimed.size(), false);
    for (const auto& u : match.unplaced) {
        const auto& spec = claimed[u.index];
        unplaceable.not_placed(spec.id, spec.attempt + 1, u, now);
        const bool passed_over =
            smallest && (spec.cpus > smallest->cpus || spec.mem_mb > smallest->mem_mb);
        waiting_reasons.looked_at(spec.id, u.why == scheduler::UnplacedWhy::crowded,
                                  u.why == scheduler::UnplacedWhy::too_large ||
                                      u.why == scheduler::UnplacedWhy::not_together,
                                  passed_over);
        looked_at[u.index] = true;
    }
    std::vector<bool> launched(claimed.size(), false);
    scheduler::Demand round_demand{};  // what the round launched, summed
    const bool more_after =
        scheduler::LaunchPacer::more_after(claimed.size() - match.launch_count(), claims_exhausted);
    // An ACCEPT's filter covers what it leaves of its offers.
    if (!more_after && !match.plans.empty())
        gate.on_idle_filter();
    // Placements go in chunks of whole ACCEPTs, each chunk one statement:
    // the first ACCEPTs leave after a small write, not after the round's.
    auto pending = std::make_shared<PendingLaunch>();
    for (const auto& plan : match.plans) {
        if (pending->records.size() >= kPlacementChunk) {
            place_then_accept(std::move(pending));
            pending = std::make_shared<PendingLaunch>();
        }
        PendingAccept accept;
        accept.offer_ids = plan.offer_ids;
        accept.refuse_s = pacer.refuse_for_unused(more_after);
        accept.infos.reserve(plan.launches.size());
        for (const auto& l : plan.launches) {
            const auto& spec = claimed[l.index];
            accept.infos.push_back(scheduler::build_task_info(spec, l, plan.agent_id, defaults));
            pending->records.push_back(
                store::LaunchRecord{spec.id, l.attempt, l.mesos_task_id, plan.agent_id,
                                    task::clean_text(plan.hostname, task::kMaxNameBytes),
                                    plan.offer_ids.front(), sent_at});
            pending->specs.push_back(spec);
            const scheduler::Demand demand{spec.cpus, spec.mem_mb, spec.disk_mb, spec.gpus};
            queue_shares[spec.queue].used += demand;
            round_demand += demand;
            pacer.launched(l.mesos_task_id, now);
            unplaceable.forget(spec.id);
            waiting_reasons.forget(spec.id);
            launched[l.index] = true;
        }
        // Decision time starts at the later of the offer's arrival and
        // the insertion of the newest task placed on it.
        std::int64_t newest_us = 0;
        for (const auto& l : plan.launches)
            newest_us = std::max(newest_us, claimed[l.index].created_at_us);
        for (const auto& a : book.answered(plan.offer_ids))
            accept.starts.push_back(
                a.at + std::chrono::microseconds(std::max<std::int64_t>(0, newest_us - a.wall_us)));
        pending->accepts.push_back(std::move(accept));
    }
    if (!pending->accepts.empty())
        place_then_accept(std::move(pending));
    // Never a self-move: it would empty the spec's strings and vectors.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < claimed.size(); ++i) {
        if (launched[i])
            continue;
        if (!looked_at[i] && match.limited)
            waiting_reasons.window_full(claimed[i].id);  // the round's room ran out first
        if (kept != i)
            claimed[kept] = std::move(claimed[i]);
        ++kept;
    }
    claimed.resize(kept);
    metrics.claims_held = static_cast<std::int64_t>(claimed.size());
    // Offers the window could not fill are answered now rather than held:
    // the master offers them again, fresh, once the filter passes or their
    // agent's resources change. After a round cut short, enough of them for
    // the next window come back soon.
    // At the floor only the window itself holds offers back for the claimed
    // attempts (a round the claims cut short let 20 ms allocations send
    // 15-30% more offers); a grown window wants offers for the next one.
    std::optional<scheduler::Demand> per_task;
    if (cut_short && (match.limited || pacer.grown()) && match.launch_count() > 0) {
        const auto n = static_cast<double>(match.launch_count());
        per_task = scheduler::Demand{round_demand.cpus / n, round_demand.mem_mb / n, 0, 0};
    }
    // The rest waits its turn on the event loop, behind the call connections
    // that write the ACCEPTs just queued.
    asio::post(loop, [this, round = std::move(round), unused = std::move(match.unused_offer_ids),
                      per_task, more_after] {
        decline_unused(round, unused, per_task, more_after);
        flush_all_updates();
        maybe_claim();
    });
}

// The placements commit before any ACCEPT leaves: an attempt with no agent
// recorded provably never reached Mesos, which is what lets reconciliation's
// "unknown" send it back uncounted after a crash. One statement per round on
// the placements' own connection; the event loop goes on meanwhile.
void Runtime::Impl::place_then_accept(std::shared_ptr<PendingLaunch> pending) {
    if (!may_send())
        return;  // out of its lease: the term ends, and the next leader places them
    ++placements_running;
    for (const auto& record : pending->records)
        placing.insert(record.task_id);
    timed_job(
        *placer,
        [this, records = pending->records]() -> Result<Placed> {
            Placed out;
            auto all = placer_store->place_attempts(records);
            if (all) {
                out.ids = std::move(all->placed);
                out.stale = std::move(all->stale);
                return out;
            }
            if (!all.error().permanent() || records.size() == 1) {
                if (!all.error().permanent())
                    return all.error();
                out.refused.push_back({records.front(), all.error().message});
                return out;
            }
            // Refused for good (a trigger or constraint of the operator's):
            // one by one, so one row cannot hold the others back.
            for (const auto& record : records) {
                auto one = placer_store->place_attempts({record});
                if (one) {
                    out.ids.insert(out.ids.end(), one->placed.begin(), one->placed.end());
                    out.stale.insert(out.stale.end(), one->stale.begin(), one->stale.end());
                } else if (one.error().permanent()) {
                    out.refused.push_back({record, one.error().message});
                } else {
                    return one.error();
                }
            }
            std::sort(out.ids.begin(), out.ids.end());
            std::sort(out.stale.begin(), out.stale.end());
            return out;
        },
        [this, pending](Result<Placed> r) {
            --placements_running;
            for (const auto& record : pending->records)
                placing.erase(record.task_id);
            if (!r && r.error().fenced()) {
                end_term("fenced", r.error().message);
                maybe_end_term_loop();
                return;
            }
            if (fenced || !may_send()) {
                // The leadership ended while they were recorded: their
                // ACCEPT never leaves, so they are taken back.
                std::vector<store::LaunchRecord> placed;
                if (r) {
                    for (const auto& rec : pending->records) {
                        if (std::binary_search(r->ids.begin(), r->ids.end(), rec.task_id))
                            placed.push_back(rec);
                    }
                }
                unplace(std::move(placed));
                return;
            }
            // Not recorded: nothing is sent and these offers go back soon.
            // Failed before its COMMIT was answered, the placement may
            // have committed: its attempts leave the window and the next
            // claim gives them back (placed or not, no ACCEPT named them).
            if (!db_ok(r, "place_attempts")) {
                const bool unknown = !r.error().permanent();
                if (unknown) {
                    unsent_placements.insert(unsent_placements.end(), pending->records.begin(),
                                             pending->records.end());
                    ++unknown_claims;
                }
                accept_placed(*pending, Placed{}, unknown);
                if (unknown)
                    maybe_claim();
            } else {
                accept_placed(*pending, std::move(*r));
            }
            maybe_finish_stop();
        });
}

// Sends each ACCEPT with the attempts placed; an attempt another session
// held goes back to the claimed window, one that can never be placed (its
// row ended, killed, or at another attempt) is given up (a killed one ends
// killed), and an offer left with nothing to launch goes back to the master.
void Runtime::Impl::accept_placed(PendingLaunch& pending, Placed result, bool outcome_unknown) {
    const std::vector<std::int64_t>& placed = result.ids;
    std::unordered_set<std::int64_t> refused;
    for (const auto& [record, why] : result.refused) {
        // Where it would go cannot be recorded: it must not run unrecorded.
        // Its row stays launching with no agent, which the next start
        // reconciles as never launched.
        metrics.updates_quarantined++;
        refused.insert(record.task_id);
        log::error("placement_quarantined", "task={} agent={} error={}", record.mesos_task_id,
                   record.agent_id, log::quote(why));
    }
    std::unordered_set<std::string> sent_ids;
    std::unordered_map<std::string_view, const store::LaunchRecord*> record_of;
    record_of.reserve(pending.records.size());
    for (const auto& rec : pending.records)
        record_of.emplace(rec.mesos_task_id, &rec);
    for (auto& accept : pending.accepts) {
        std::vector<mesos::TaskInfo> infos;
        for (auto& info : accept.infos) {
            const auto parsed = task::parse_mesos_task_id(info.task_id);
            if (!parsed || !std::binary_search(placed.begin(), placed.end(), parsed->first))
                continue;
            infos.push_back(std::move(info));
        }
        if (infos.empty()) {
            decline_ids(std::move(accept.offer_ids), scheduler::kReserveRefuseS);
            continue;
        }
        if (!framework_id || !master) {
            // Placed, never sent (mesoflow is stopping): the master's
            // "unknown" for them is final, as for an ACCEPT it never took.
            for (const auto& info : infos) {
                log::warn("launch_not_sent", "task={} agent={}", info.task_id, info.agent_id);
                never_taken.insert(info.task_id);
            }
            continue;
        }
        // This ACCEPT's placements: given back if the term ends before it
        // is written (the master client drops what it had queued).
        std::vector<store::LaunchRecord> records;
        records.reserve(infos.size());
        for (const auto& info : infos) {
            if (const auto it = record_of.find(info.task_id); it != record_of.end())
                records.push_back(*it->second);
        }
        for (const auto& info : infos) {
            sent_ids.insert(info.task_id);
            metrics.tasks_launched++;
            log::info("task_launched", "task={} agent={} offer={}", info.task_id,
                      log::quote(info.agent_id), log::quote(accept.offer_ids.front()));
        }
        send(scheduler::make_accept(*framework_id, std::move(accept.offer_ids), std::move(infos),
                                    accept.refuse_s),
             [this, starts = std::move(accept.starts),
              records = std::move(records)](const transport::CallResult& r) mutable {
                 if (!r.written) {
                     if (fenced)
                         unplace(std::move(records));
                     return;
                 }
                 for (const auto& start : starts)
                     metrics.offer_to_accept.record(*r.written - start);
             });
    }
    std::vector<task::TaskSpec> back;
    std::vector<store::ClaimRef> given_up;
    const auto& stale = result.stale;
    for (auto& spec : pending.specs) {
        const auto id = task::mesos_task_id(spec.id, spec.attempt + 1);
        if (sent_ids.contains(id))
            continue;
        pacer.first_update(id);  // holds no room in the launch window
        if (std::binary_search(placed.begin(), placed.end(), spec.id) || refused.contains(spec.id))
            continue;  // placed and not sent, or quarantined: reconciliation settles it
        if (std::binary_search(stale.begin(), stale.end(), spec.id)) {
            log::info("launch_withdrawn", "task={} why=row ended, killed or changed", id);
            metrics.claims_given_up++;
            unplaceable.forget(spec.id);
            waiting_reasons.forget(spec.id);
            given_up.push_back({spec.id, spec.attempt + 1});
            continue;
        }
        if (outcome_unknown) {
            log::info("launch_withdrawn", "task={} why=placement_outcome_unknown", id);
            unplaceable.forget(spec.id);
            waiting_reasons.forget(spec.id);
            continue;
        }
        log::info("launch_withdrawn", "task={} why={}", id,
                  placed.empty() && refused.empty() ? "placement not recorded" : "row held");
        back.push_back(std::move(spec));
    }
    if (!back.empty()) {
        claimed.insert(claimed.begin(), std::make_move_iterator(back.begin()),
                       std::make_move_iterator(back.end()));
        metrics.claims_held = static_cast<std::int64_t>(claimed.size());
    }
    // Only a row still launching at that attempt with no agent changes: one
    // whose kill was requested ends killed; the others are left as they are.
    if (!given_up.empty())
        release_claims(std::move(given_up), "no_longer_placeable");
}

// Offers held for a claim or a commit go back once the book says they
// waited long enough; the hold timer looks again at the next deadline.
void Runtime::Impl::hold_offers() {
    decline_ids(book.take_stale(time.now()), pacer.stale_hold_refuse());
    metrics.offers_held = static_cast<std::int64_t>(book.held());
    if (const auto next = book.deadline()) {
        const auto wait = *next - time.now();
        after(hold_timer, std::max(wait, TimePoint::duration::zero()), [this] { place_offers(); });
    }
}

// Gives every held offer back.
void Runtime::Impl::decline_held(double refuse_s) {
    std::vector<std::string> ids;
    for (const auto& o : book.take_all())
        ids.push_back(o.id);
    metrics.offers_held = 0;
    decline_ids(std::move(ids), refuse_s);
}

void Runtime::Impl::decline_ids(std::vector<std::string> ids, double refuse_s) {
    if (ids.empty() || !framework_id)
        return;
    metrics.offers_declined += ids.size();
    auto arrivals = book.answered(ids);
    send(scheduler::make_decline(*framework_id, std::move(ids), refuse_s),
         [this, arrivals = std::move(arrivals)](const transport::CallResult& r) {
             if (!r.written)
                 return;
             for (const auto& a : arrivals)
                 metrics.offer_to_decline.record(*r.written - a.at);
         });
}

// Declines a round's unused offers as the pacer splits them.
void Runtime::Impl::decline_unused(const std::vector<mesos::Offer>& round,
                                   const std::vector<std::string>& unused,
                                   std::optional<scheduler::Demand> per_task, bool more_after) {
    if (unused.empty())
        return;
    double want_cpus = 0;
    double want_mem = 0;
    for (const auto& spec : claimed) {
        want_cpus += spec.cpus;
        want_mem += spec.mem_mb;
    }
    if (per_task) {
        std::tie(want_cpus, want_mem) = pacer.want_next_round(want_cpus, want_mem, claimed.size(),
                                                              per_task->cpus, per_task->mem_mb);
    }
    const bool window_limited = per_task.has_value();
    std::unordered_map<std::string_view, const mesos::Offer*> by_id;
    for (const auto& o : round)
        by_id.emplace(o.id, &o);
    std::vector<scheduler::UnusedOffer> offers;
    offers.reserve(unused.size());
    for (const auto& id : unused) {
        scheduler::UnusedOffer u{id, 0, 0};
        if (const auto it = by_id.find(id); it != by_id.end()) {
            u.cpus = mesos::scalar_sum(it->second->resources, "cpus");
            u.mem_mb = mesos::scalar_sum(it->second->resources, "mem");
        }
        offers.push_back(std::move(u));
    }
    auto answer = pacer.answer_unused(offers, want_cpus, want_mem, window_limited, more_after);
    if (answer.later_idle)
        gate.on_idle_filter();
    decline_ids(std::move(answer.soon), answer.soon_refuse_s);
    decline_ids(std::move(answer.later), answer.later_refuse_s);
}

// What a claim, placement or release left when its outcome was unknown:
// every launching attempt with no status update that is not held here
// (the window, a placement under way) never reached Mesos, and goes back to
// pending. One fenced statement on the claims' connection, before any claim.
void Runtime::Impl::give_back_unknown_claims() {
    claim_running = true;
    std::vector<std::int64_t> held;
    held.reserve(claimed.size() + placing.size());
    for (const auto& spec : claimed)
        held.push_back(spec.id);
    held.insert(held.end(), placing.begin(), placing.end());
    db_job([this, held = std::move(held),
            unsent = unsent_placements] { return store->release_unknown_claims(held, unsent); },
           [this, asked = unknown_claims,
            unsent = unsent_placements.size()](Result<std::vector<std::int64_t>> r) {
               claim_running = false;
               if (!r && r.error().fenced()) {
                   end_term("fenced", r.error().message);
                   return;
               }
               const bool given_back = db_ok(r, "release_unknown_claims");
               if (stopping()) {
                   release_all_claims();  // as a claim that ends in a stop
                   return;
               }
               if (!given_back)
                   return;  // tried again before the next claim
               metrics.claims_released += r->size();
               log::info("unknown_claims_released", "tasks={} unsent_placements={}", r->size(),
                         unsent);
               unsent_placements.erase(
                   unsent_placements.begin(),
                   unsent_placements.begin() + static_cast<std::ptrdiff_t>(unsent));
               if (unknown_claims == asked)
                   unknown_claims = 0;
               maybe_claim();
           });
}

// Gives never-placed claims back (graceful stop, kills).
void Runtime::Impl::release_claims(std::vector<store::ClaimRef> refs, std::string_view why) {
    if (refs.empty()) {
        maybe_finish_stop();
        return;
    }
    ++releases_running;
    db_job([this, refs] { return store->release_claims(refs); },
           [this, n = refs.size(), why = std::string(why)](Result<std::vector<std::int64_t>> r) {
               --releases_running;
               if (db_ok(r, "release_claims")) {
                   metrics.claims_released += r->size();
                   log::info("claims_released", "tasks={} of={} why={}", r->size(), n, why);
               } else {
                   // Not released, or not known to be: the next claim gives
                   // them back; after a stop, the next start's reconciliation.
                   ++unknown_claims;
               }
               maybe_finish_stop();
           });
}

void Runtime::Impl::release_all_claims() {
    std::vector<store::ClaimRef> refs;
    refs.reserve(claimed.size());
    for (const auto& spec : claimed)
        refs.push_back({spec.id, spec.attempt + 1});
    claimed.clear();
    unplaceable.clear();
    waiting_reasons.clear();
    metrics.claims_held = 0;
    release_claims(std::move(refs), "stopping");
}

scheduler::MatchOptions Runtime::Impl::match_options() const {
    scheduler::MatchOptions mo;
    mo.roles = cfg.roles;
    mo.gpu_resources = cfg.gpu_resources;
    mo.now_us = time.wall_us();
    mo.maintenance_margin_s = cfg.maintenance_margin_s;
    return mo;
}

void Runtime::Impl::check_unplaceable() {
    if (claimed.empty()) {
        unplaceable.clear();
        waiting_reasons.clear();
        return;
    }
    note_waiting();
    auto due = unplaceable.due(time.now());
    if (due.note.empty() && due.fail.empty())
        return;
    std::unordered_map<std::int64_t, std::size_t> at;  // task id -> index in claimed
    at.reserve(claimed.size());
    for (std::size_t i = 0; i < claimed.size(); ++i)
        at.emplace(claimed[i].id, i);
    // Attempts no longer claimed (placed, released) are dropped.
    auto notes_of = [&](const std::vector<scheduler::UnplacedAttempt>& attempts) {
        std::vector<store::UnplaceableNote> out;
        for (const auto& a : attempts) {
            const auto it = at.find(a.task_id);
            if (it == at.end() || claimed[it->second].attempt + 1 != a.attempt) {
                unplaceable.forget(a.task_id);
                waiting_reasons.forget(a.task_id);
                continue;
            }
            out.push_back({a.task_id, a.attempt,
                           task::clean_text(
                               scheduler::explain(a.why, claimed[it->second]) +
                                   fmt::format(", in the offers of {} agent{}", last_round_agents,
                                               last_round_agents == 1 ? "" : "s"),
                               task::kMaxMessageBytes)});
        }
        return out;
    };
    auto notes = notes_of(due.note);
    auto ends = notes_of(due.fail);
    if (!notes.empty()) {
        db_job([this, notes] { return store->note_unplaceable(notes); },
               [this, notes](Result<std::vector<std::int64_t>> r) {
                   if (!db_ok(r, "note_unplaceable")) {
                       for (const auto& n : notes)
                           unplaceable.note_failed(n.task_id, n.attempt);
                       return;
                   }
                   for (const auto& n : notes) {
                       log::info("task_unplaceable", "task={} attempt={} why={}", n.task_id,
                                 n.attempt, log::quote(n.message));
                   }
               });
    }
    if (ends.empty())
        return;
    // They leave the window now, so no round places them meanwhile.
    std::unordered_set<std::int64_t> ending;
    for (const auto& n : ends)
        ending.insert(n.task_id);
    std::erase_if(claimed, [&](const task::TaskSpec& t) { return ending.contains(t.id); });
    metrics.claims_held = static_cast<std::int64_t>(claimed.size());
    db_job([this, ends] { return store->fail_unplaceable(ends); },
           [this, ends](Result<std::vector<std::int64_t>> r) {
               std::vector<store::ClaimRef> back;
               if (!db_ok(r, "fail_unplaceable")) {
                   for (const auto& n : ends)
                       back.push_back({n.task_id, n.attempt});
               } else {
                   for (const auto& n : ends) {
                       if (std::binary_search(r->begin(), r->end(), n.task_id)) {
                           log::warn("task_unplaceable_failed", "task={} attempt={} why={}",
                                     n.task_id, n.attempt, log::quote(n.message));
                       } else {
                           back.push_back({n.task_id, n.attempt});  // e.g. a kill came first
                       }
                   }
               }
               // Not ended: back to pending (or killed, if asked), never
               // left launching without a claim.
               if (!back.empty())
                   release_claims(std::move(back), "unplaceable_not_ended");
           });
}

// Writes why claimed attempts that waited a while still wait (no offers,
// the launch window), one statement for all that changed since the last
// check; `unplaceable` is check_unplaceable's.
void Runtime::Impl::note_waiting() {
    std::unordered_set<std::int64_t> ids;
    ids.reserve(claimed.size());
    for (const auto& spec : claimed)
        ids.insert(spec.id);
    waiting_reasons.retain(ids);  // released, ended or killed meanwhile
    auto due = waiting_reasons.due(time.now());
    if (due.empty())
        return;
    std::vector<store::WaitingNote> notes;
    notes.reserve(due.size());
    for (const auto& d : due) {
        store::WaitingNote n{d.task_id, d.attempt, std::nullopt, std::nullopt};
        switch (d.why) {
            case scheduler::Waiting::no_offers:
                n.reason = "no_offers";
                n.message =
                    "no offer came since it was claimed: offers suppressed, no agent of its role, "
                    "or the master offers the agents to others";
                break;
            case scheduler::Waiting::launch_window_full:
                n.reason = "launch_window_full";
                n.message = fmt::format(
                    "offers came while the launch window was full ({} launches and updates on "
                    "their way to a commit)",
                    cfg.launch_window);
                break;
            case scheduler::Waiting::claimed:
            case scheduler::Waiting::unplaceable:
                break;
        }
        notes.push_back(std::move(n));
    }
    db_job([this, notes] { return store->note_waiting(notes); },
           [this, notes](Result<std::vector<std::int64_t>> r) {
               if (db_ok(r, "note_waiting"))
                   return;
               for (const auto& n : notes)
                   waiting_reasons.note_failed(n.task_id, n.attempt);
           });
}

store::LaunchPolicy launch_policy_of(const config::Config& config) {
    store::LaunchPolicy policy;
    const auto& users = config.allowed_users;
    if (std::find(users.begin(), users.end(), "*") == users.end()) {
        policy.users = users.empty() ? std::vector<std::string>{config.framework_user} : users;
    }
    const auto& asked = config.allowed_roles.empty() ? config.roles : config.allowed_roles;
    policy.roles.emplace();
    for (const auto& role : asked) {
        if (std::find(config.roles.begin(), config.roles.end(), role) != config.roles.end())
            policy.roles->push_back(role);
    }
    policy.refuse = [allowed = container_allowance_of(config)](const task::TaskSpec& spec) {
        return container_refusal(spec, allowed);
    };
    return policy;
}

store::LaunchPolicy Runtime::Impl::launch_policy() const {
    return launch_policy_of(cfg);
}

scheduler::TaskDefaults Runtime::Impl::task_defaults() const {
    scheduler::TaskDefaults d;
    d.user = cfg.framework_user;
    d.kill_grace_period_s = cfg.kill_grace_period_s;
    return d;
}

}  // namespace mesoflow::runtime
