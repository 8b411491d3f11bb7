// Leadership, the master's subscription, the events it sends and the calls
// mesoflow sends back.

#include "runtime_impl.hpp"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "mesoflow/mesos/codec.hpp"
#include "mesoflow/runtime/status_conversion.hpp"
#include "mesoflow/runtime/transport_config.hpp"
#include "mesoflow/scheduler/call_repair.hpp"
#include "mesoflow/scheduler/calls.hpp"

namespace mesoflow::runtime {

void Runtime::Impl::send(const mesos::Call& call,
                         std::function<void(const transport::CallResult&)> done) {
    send_call(std::make_shared<const mesos::Call>(call), std::move(done), scheduler::kCallRetryMin);
}

// Every call goes out here; a failed one gets the repair the scheduler core
// decides (scheduler/call_repair.hpp).
void Runtime::Impl::send_call(std::shared_ptr<const mesos::Call> call,
                              std::function<void(const transport::CallResult&)> done,
                              milliseconds backoff) {
    if (!master)
        return;
    if (!may_send())
        return;  // the term ends: whatever this call was for, the next leader redoes
    ++calls_in_flight;
    const auto type = call->type();
    const bool answers_offer = type == mesos::CallType::accept || type == mesos::CallType::decline;
    auto answered = [this, call, backoff, subscription = subscription_seq,
                     done = std::move(done)](const transport::CallResult& r) {
        --calls_in_flight;
        const auto outcome = scheduler::classify_call(r.status, r.written.has_value());
        if (outcome != scheduler::CallOutcome::taken) {
            metrics.calls_failed++;
            log::warn("call_failed", "call={} status={} error={}", mesos::to_string(call->type()),
                      r.status, log::quote(r.body.empty() ? r.error : r.body));
            repair_call(call, outcome, backoff, subscription);
        } else if (call->type() == mesos::CallType::revive ||
                   call->type() == mesos::CallType::suppress) {
            gate.on_call_taken();
        }
        if (done)
            done(r);
        maybe_finish_stop();
    };
    if (call_sink != nullptr) {
        call_sink->send(mesos::to_json(*call), std::move(answered), answers_offer);
    } else {
        master->send(mesos::to_json(*call), std::move(answered), answers_offer,
                     scheduler::resend_safe(type));
    }
}

// Carries out the repair of a failed call.
void Runtime::Impl::repair_call(const std::shared_ptr<const mesos::Call>& call,
                                scheduler::CallOutcome outcome, milliseconds backoff,
                                std::uint64_t subscription) {
    if (stopping())
        return;
    const auto failure = scheduler::on_call_failed(call->type(), outcome, backoff);
    switch (failure.repair) {
        case scheduler::CallRepair::none:
            return;
        case scheduler::CallRepair::resend: {
            resends.push_back(
                {call, time.now() + failure.wait, failure.next_backoff, subscription});
            arm_resends();
            return;
        }
        case scheduler::CallRepair::gate:
            if (subscription != subscription_seq || !subscribed())
                return;  // the next subscription starts the gate over
            gate.on_call_failed(call->type(), time.now());
            apply_gate(std::nullopt);
            return;
        case scheduler::CallRepair::reconcile_unlaunched:
        case scheduler::CallRepair::reconcile_in_doubt:
            break;
    }
    const bool unlaunched = failure.repair == scheduler::CallRepair::reconcile_unlaunched;
    std::vector<scheduler::TaskRef> refs;
    if (const auto* accept = std::get_if<mesos::Call::Accept>(&call->body)) {
        for (const auto& op : accept->operations) {
            for (const auto& info : op.body.task_infos)
                refs.push_back({info.task_id, info.agent_id});
        }
    }
    for (const auto& ref : refs) {
        log::warn("launch_unconfirmed", "task={} agent={} accept={}", ref.task_id, ref.agent_id,
                  unlaunched ? "not_taken" : "outcome_unknown");
        if (unlaunched) {
            // It never launched: it holds no room in the launch window, and
            // the master's "unknown" sends it back uncounted.
            never_taken.insert(ref.task_id);
            pacer.first_update(ref.task_id);
        }
    }
    reconcile_tasks(refs);
}

// Sends the resends that are due, under the subscription they were made for.
void Runtime::Impl::run_resends() {
    const auto now = time.now();
    std::vector<Resend> due;
    std::vector<Resend> later;
    for (auto& r : resends)
        (r.due <= now ? due : later).push_back(std::move(r));
    resends = std::move(later);
    for (auto& r : due) {
        if (stopping() || !subscribed() || r.subscription != subscription_seq)
            continue;  // offers and stream ids died with it; reconciliation starts over
        send_call(std::move(r.call), {}, r.backoff);
    }
    arm_resends();
}

// The resend timer waits for the earliest resend due.
void Runtime::Impl::arm_resends() {
    if (resends.empty())
        return;
    auto next = resends.front().due;
    for (const auto& r : resends)
        next = std::min(next, r.due);
    after(resend_timer, std::max(next - time.now(), TimePoint::duration::zero()),
          [this] { run_resends(); });
}

namespace {

// A leader lock call's answer, from the lock's thread: when it was sent, and
// a copy of the lock connection's socket for the loop to watch (-1: none).
// The copy of the socket is closed with the answer unless the loop takes it
// (a completion that never runs, at the end of a term, leaks nothing).
struct LockAnswer {
    std::chrono::steady_clock::time_point sent;
    Result<store::LeaderClaim> claim = Error{"not run"};
    std::shared_ptr<int> socket;  // closed when the last copy goes

    void dup_socket(const store::LeaderLock& lock) {
        const int fd = lock.socket() >= 0 ? ::dup(lock.socket()) : -1;
        socket = std::shared_ptr<int>(new int(fd), [](int* p) {
            if (*p >= 0)
                ::close(*p);
            delete p;
        });
    }
    // The socket for the loop to own (-1: none).
    int take_socket() {
        if (!socket)
            return -1;
        return std::exchange(*socket, -1);
    }
};

}  // namespace

void Runtime::Impl::acquire_leadership() {
    if (stopping())
        return;
    lease_worker->submit(
        [this] {
            LockAnswer out{std::chrono::steady_clock::now(), Error{"not run"}, {}};
            out.claim = leader->try_acquire();
            if (out.claim && out.claim->leading)
                out.dup_socket(*leader);
            return out;
        },
        [this](LockAnswer a) {
            auto& r = a.claim;
            if (stopping())
                return;
            if (!r && r.error().permanent()) {
                // Another framework's database, a missing schema or
                // privileges: retrying cannot help, and saying so at once
                // beats standing by for ever.
                metrics.db_errors++;
                log::error("leadership_refused", "framework={} error={}",
                           log::quote(cfg.framework_name), log::quote(r.error().message));
                fail(kExitFailure);
                return;
            }
            if (!db_ok(r, "leader_lock")) {
                retry_leadership();
                return;
            }
            {
                std::lock_guard lock(snapshot_mutex);
                snapshot_role = r->leading ? "leader" : "standby";
                snapshot_leader = r->leader;
                snapshot_leader_since_us = r->leader_since_us;
                snapshot_epoch = r->epoch;
            }
            metrics.standby = r->leading ? 0 : 1;
            if (!r->leading) {
                if (phase != scheduler::Phase::standby) {
                    log::info("standby", "framework={} leader={} retry_ms={}",
                              log::quote(cfg.framework_name), log::quote(r->leader),
                              kStandbyRetryInterval.count());
                }
                move_to(scheduler::PhaseEvent::lock_held_elsewhere);
                retry_leadership();
                return;
            }
            took_leadership(*r, r->lease_from);
            watch_lock(a.take_socket());
        });
}

void Runtime::Impl::retry_leadership() {
    after(leader_timer, kStandbyRetryInterval, [this] { acquire_leadership(); });
}

// The lock is ours: the lease runs from the statement that took it, the
// stores' claims and placements go behind the new epoch (set on their own
// threads, ahead of any claim or placement), and scheduling starts.
void Runtime::Impl::took_leadership(const store::LeaderClaim& claim,
                                    std::chrono::steady_clock::time_point sent) {
    move_to(scheduler::PhaseEvent::leader_lock_taken);
    leader_epoch = claim.epoch;
    lease.renewed(sent);
    const store::Fence fence{cfg.framework_name, claim.epoch, leader->backend_pid()};
    db->submit(
        [this, fence] {
            store->set_fence(fence);
            return 0;
        },
        [](int) {});
    placer->submit(
        [this, fence] {
            placer_store->set_fence(fence);
            return 0;
        },
        [](int) {});
    metrics.leader = 1;
    metrics.leadership_terms++;
    metrics.leader_epoch = claim.epoch;
    metrics.leader_since_us = claim.leader_since_us.value_or(time.wall_us());
    log::info("leading", "framework={} identity={} epoch={} lease_ms={} term={}",
              log::quote(cfg.framework_name), log::quote(identity), claim.epoch,
              lease.length().count(), term);
    if (!claim.lease_enforced_by_server) {
        log::warn("leader_lease_unenforced", "reason={}",
                  log::quote("PostgreSQL before 14 cannot end an idle session: a "
                             "frozen leader keeps the lock until its connection "
                             "dies; this process still stops sending when its "
                             "lease runs out"));
    }
    arm_lease_expiry();
    schedule_renewal();
    load_framework_id();
}

// Renewals go every quarter of the lease on the lock's own thread; the lease
// counts from when each was sent. A renewal that fails ends the term.
void Runtime::Impl::schedule_renewal() {
    after(lease_timer, lease.renew_every(), [this] { renew_lease(); });
}

void Runtime::Impl::renew_lease() {
    if (fenced || renewal_running)
        return;
    renewal_running = true;
    // The renewal's own answer would wake the watch: it is armed again,
    // on a fresh copy, once the answer has been read.
    lock_watch.reset();
    lease_worker->submit(
        [this] {
            LockAnswer out{std::chrono::steady_clock::now(), Error{"not run"}, {}};
            auto held = leader->renew();
            if (!held) {
                out.claim = held.error();
            } else if (!*held) {
                out.claim = Error{"the lock's connection ended"};
            } else {
                out.claim = store::LeaderClaim{};
                out.dup_socket(*leader);
            }
            return out;
        },
        [this](LockAnswer a) {
            renewal_running = false;
            if (fenced)
                return;
            if (!a.claim) {
                end_term("lock_lost", a.claim.error().message);
                return;
            }
            lease.renewed(a.sent);
            arm_lease_expiry();
            watch_lock(a.take_socket());
            schedule_renewal();
        });
}

// The lock connection's socket turns readable only when the server says
// something unasked: that it ends the session (shutdown, restart, a
// terminated backend, the idle limit). A renewal then goes at once, so a
// lost lock ends the term within a round trip rather than a renewal period.
// Each watch is a fresh copy of the socket (taken on the lock's thread after
// its last answer was read), so an answer already read never wakes it.
void Runtime::Impl::watch_lock(int socket) {
    lock_watch.reset();
    if (socket < 0 || fenced)
        return;
    lock_watch = std::make_unique<asio::posix::stream_descriptor>(loop, socket);
    lock_watch->async_wait(
        asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
            if (ec || fenced)
                return;
            lock_watch.reset();
            log::warn("leader_lock_connection_readable", "action=renew_now framework={}",
                      log::quote(cfg.framework_name));
            renew_lease();
        });
}

void Runtime::Impl::arm_lease_expiry() {
    const auto until = lease.valid_until();
    if (!until)
        return;
    const auto left = lease.remaining(std::chrono::steady_clock::now());
    metrics.lease_valid_until_us =
        time.wall_us() + std::chrono::duration_cast<std::chrono::microseconds>(left).count();
    expiry_timer.expires_at(*until);
    expiry_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec || fenced)
            return;
        if (!lease.valid(std::chrono::steady_clock::now()))
            end_term("lease_expired", "no renewal answered within the lease");
    });
}

bool Runtime::Impl::may_send() {
    if (fenced)
        return false;
    if (lease.valid(std::chrono::steady_clock::now()))
        return true;
    // Woken after the lease ran out (frozen, or the renewals stalled): not
    // one more call. The term ends from the loop, outside whatever asked.
    asio::post(loop,
               [this] { end_term("lease_expired", "found out of its lease before sending"); });
    return false;
}

void Runtime::Impl::end_term(std::string_view reason, const std::string& detail) {
    if (fenced)
        return;
    fenced = true;
    lease.end();
    metrics.leadership_lost++;
    for (auto* g : {&metrics.leader, &metrics.leader_epoch, &metrics.leader_since_us,
                    &metrics.lease_valid_until_us, &metrics.subscribed, &metrics.offers_held,
                    &metrics.claims_held, &metrics.updates_waiting, &metrics.update_lanes_stuck,
                    &metrics.update_lane_stall_us, &metrics.suppressed})
        g->store(0);
    {
        std::lock_guard lock(snapshot_mutex);
        snapshot_role = "stepped_down";
    }
    log::error("leadership_lost", "framework={} identity={} epoch={} reason={} detail={}",
               log::quote(cfg.framework_name), log::quote(identity), leader_epoch, reason,
               log::quote(detail));
    // A stop under way ends as it was asked to; otherwise a new term.
    if (!stopping())
        exit_code = kTermEnded;
    move_to(scheduler::PhaseEvent::stop);
    // Nothing more goes out: no DECLINE, no release of claims (the next
    // leader reconciles them), no wait for commits in flight (what the
    // lanes commit is true; Mesos redelivers what is left unacknowledged).
    for (auto* t :
         {&hold_timer, &revive_timer, &save_timer, &kill_timer, &poll_timer, &reconcile_timer,
          &implicit_timer, &leader_timer, &wake_timer, &reconcile_tick_timer, &resend_timer,
          &lease_timer, &expiry_timer, &stop_timer, &lag_timer})
        t->cancel();
    for (auto& lane : lanes) {
        lane->retry_timer.cancel();
        lane->kept_timer.cancel();
    }
    signals.cancel();
    lock_watch.reset();
    if (master)
        master->stop();
    listener_fd.reset();
    lease_worker->submit(
        [this] {
            leader->release();
            return 0;
        },
        [](int) {});
    // Placements on their way are let finish, so the ones whose ACCEPT now
    // never leaves are taken back (unplace); the wait is bounded.
    stop_timer.expires_after(kTermDrain);
    stop_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec)
            return;
        log::warn("term_end_forced", "placements_running={} unplacing={}", placements_running,
                  unplacing);
        loop.stop();
    });
    maybe_end_term_loop();
}

void Runtime::Impl::maybe_end_term_loop() {
    if (fenced && placements_running == 0 && unplacing == 0) {
        // Behind what the master client's cancellations queued: its streams
        // and call connections unwind and close now, so the master sees
        // this scheduler gone at once, not when the term is taken apart.
        // Unless something queued before this took placements back: then
        // its end comes here again, and the drain's bound still holds.
        asio::post(loop, [this] {
            if (placements_running == 0 && unplacing == 0) {
                stop_timer.cancel();
                loop.stop();
            }
        });
    }
}

// Placed, never sent: the leadership ended between the placement and its
// ACCEPT. Taken back so the attempt is again one that provably never reached
// Mesos (the next leader's reconciliation sends it back uncounted).
void Runtime::Impl::unplace(std::vector<store::LaunchRecord> records) {
    if (records.empty()) {
        maybe_end_term_loop();
        return;
    }
    for (const auto& r : records)
        log::warn("launch_not_sent", "task={} agent={} action=unplace", r.mesos_task_id,
                  r.agent_id);
    ++unplacing;
    placer->submit([this, records = std::move(records)] { return placer_store->unplace(records); },
                   [this](const Result<std::vector<std::int64_t>>& r) {
                       --unplacing;
                       if (!r)
                           log::error("unplace_failed", "error={}", log::quote(r.error().message));
                       maybe_end_term_loop();
                   });
}

void Runtime::Impl::load_framework_id() {
    db_job([this] { return store->load_framework_id(cfg.framework_name); },
           [this](Result<std::optional<std::string>> r) {
               if (stopping())
                   return;
               if (!db_ok(r, "load_framework_id")) {
                   after(leader_timer, kDbRetry, [this] { load_framework_id(); });
                   return;
               }
               framework_id = *r;
               framework_id_committed = framework_id.has_value();
               log::info("framework_id_loaded", "framework_id={}", framework_id.value_or("none"));
               start_scheduling();
           });
}

// A new framework id is saved before anything launches under it (the pacer
// holds offers meanwhile), and the save is retried until it commits: a
// restart that did not find it would register a new framework and launch
// every task again while the first copies ran on.
void Runtime::Impl::save_framework_id(milliseconds retry) {
    if (stopping() || !framework_id)
        return;
    db_job(
        [this, id = *framework_id] {
            return std::make_pair(id, store->save_framework_id(cfg.framework_name, id, identity));
        },
        [this, retry](std::pair<std::string, Status> r) {
            if (framework_id != r.first)
                return;  // a later subscription's id took its place
            if (!r.second.ok() && r.second.error().fenced()) {
                end_term("fenced", r.second.error().message);
                return;
            }
            if (!r.second.ok()) {
                metrics.db_errors++;
                log::error("framework_id_not_saved", "framework_id={} error={} retry_ms={}",
                           r.first, log::quote(r.second.error().message), retry.count());
                after(save_timer, retry,
                      [this, retry] { save_framework_id(std::min(retry * 2, kDbRetryMax)); });
                return;
            }
            framework_id_committed = true;
            log::info("framework_id_saved", "framework_id={}", r.first);
            place_offers();
        });
}

void Runtime::Impl::start_scheduling() {
    connect_listener();
    start_master();
    schedule_kill_scan();
    schedule_poll(milliseconds(0));
    schedule_implicit_reconcile();
}

void Runtime::Impl::start_master() {
    auto tc = transport_config(cfg);

    transport::Handlers h;
    h.subscribe_body = [this] { return mesos::to_json(subscribe_call()); };
    h.on_stream = [this](const std::string& where) {
        master_name = where;
        std::lock_guard lock(snapshot_mutex);
        snapshot_master = where;
    };
    h.on_record = [this](std::string_view record) { on_record(record); };
    h.on_disconnected = [this](const std::string& reason) { on_disconnected(reason); };
    h.may_send = [this] { return may_send(); };
    h.on_refused = [this](int status, const std::string& body) {
        log::error("subscribe_refused", "status={} body={}", status, log::quote(body));
        fail(kExitFrameworkError);
    };
    try {
        master = std::make_unique<transport::MasterClient>(loop, std::move(tc), std::move(h));
    } catch (const std::invalid_argument& e) {
        // A CA file that is readable but holds no usable certificate.
        log::error("master_client_failed", "error={}", log::quote(e.what()));
        fail(kExitFailure);
        return;
    }
    master->start();
    if (cfg.master_zookeeper) {
        metrics.zookeeper_up = 0;
        discovery::DetectorOptions options;
        options.backoff_min = milliseconds(static_cast<std::int64_t>(cfg.backoff_min_s * 1000));
        options.backoff_max = milliseconds(static_cast<std::int64_t>(cfg.backoff_max_s * 1000));
        detector = std::make_unique<discovery::ZooKeeperDetector>(
            *cfg.master_zookeeper,
            [this](const discovery::Detection& d) {
                asio::post(loop, [this, d] { on_detection(d); });
            },
            options);
        detector->start();
    }
}

// What ZooKeeper says, on the loop. A new leader: subscribe there now (the
// stream to the old one ends). No leader: no new subscription until one
// joins. ZooKeeper unreachable or its data unusable: keep the master we
// have while it answers.
void Runtime::Impl::on_detection(const discovery::Detection& d) {
    if (stopping() || !master)
        return;
    using State = discovery::Detection::State;
    metrics.zookeeper_up = d.state == State::unreachable ? 0 : 1;
    if (d.state == State::invalid)
        metrics.master_detected = 0;
    if (d.state == State::leader) {
        metrics.master_detected = 1;
        if (detected_leader != d.leader)
            metrics.master_changes++;
        detected_leader = d.leader;
        master->set_masters({*d.leader});
    } else if (d.state == State::no_leader) {
        metrics.master_detected = 0;
        master->set_masters({});
    }
    std::lock_guard lock(snapshot_mutex);
    snapshot_detection = d;
}

mesos::Call Runtime::Impl::subscribe_call() const {
    scheduler::FrameworkOptions fo;
    fo.user = cfg.framework_user;
    fo.name = cfg.framework_name;
    fo.roles = cfg.roles;
    fo.hostname = cfg.hostname;
    fo.webui_url = cfg.webui_url;
    fo.checkpoint = cfg.checkpoint;
    fo.failover_timeout_s = cfg.failover_timeout_s;
    fo.principal = cfg.principal;
    fo.gpu_resources = cfg.gpu_resources;
    return scheduler::make_subscribe(fo, framework_id, {});
}

void Runtime::Impl::on_disconnected(const std::string& reason) {
    metrics.disconnects++;
    if (subscribed())
        log::warn("disconnected", "master={} reason={}", master_name, log::quote(reason));
    move_to(scheduler::PhaseEvent::disconnected);
    metrics.subscribed = 0;
    {
        std::lock_guard lock(snapshot_mutex);
        snapshot_subscribed_since_us.reset();
    }
    // Offers die with the subscription; the master rescinds them.
    book.clear();
    metrics.offers_held = 0;
}

void Runtime::Impl::on_record(std::string_view record) {
    auto event = mesos::parse_event(record);
    if (!event) {
        log::error("bad_event", "error={}", log::quote(event.error().message));
        return;
    }
    std::visit([this](auto& body) { handle(body); }, event->body);
}

void Runtime::Impl::handle(mesos::Event::Subscribed& s) {
    const bool new_id = !framework_id || *framework_id != s.framework_id;
    framework_id = s.framework_id;
    move_to(scheduler::PhaseEvent::subscribed);
    metrics.subscribed = 1;
    metrics.subscriptions++;
    {
        std::lock_guard lock(snapshot_mutex);
        snapshot_framework_id = s.framework_id;
        snapshot_subscribed_since_us = time.wall_us();
    }
    log::info("subscribed", "framework_id={} master={} heartbeat_s={}", s.framework_id, master_name,
              s.heartbeat_interval_seconds.value_or(0));
    if (s.heartbeat_interval_seconds) {
        master->set_heartbeat_interval(
            milliseconds(static_cast<std::int64_t>(*s.heartbeat_interval_seconds * 1000)));
    }
    if (new_id) {
        framework_id_committed = false;
        save_framework_id(kDbRetry);
    }
    ++subscription_seq;
    pacer.reset();
    gate.on_subscribed(time.now());
    reconciler.reset();
    reconcile_page(0);
    on_work_may_be_pending();
}

void Runtime::Impl::handle(mesos::Event::Offers& o) {
    metrics.offers_received += o.offers.size();
    if (stopping() || !subscribed()) {
        std::vector<std::string> ids;
        for (const auto& offer : o.offers)
            ids.push_back(offer.id);
        decline_ids(std::move(ids), cfg.refuse_s);
        return;
    }
    book.add(std::move(o.offers), time.now(), time.wall_us());
    metrics.offers_held = static_cast<std::int64_t>(book.held());
    place_offers();
}

void Runtime::Impl::handle(mesos::Event::InverseOffers& io) {
    for (const auto& inv : io.inverse_offers) {
        log::info("inverse_offer", "id={} agent={}", inv.id, inv.agent_id.value_or(""));
    }
}

void Runtime::Impl::handle(mesos::Event::Rescind& r) {
    metrics.offers_rescinded++;
    book.rescind(r.offer_id);
    metrics.offers_held = static_cast<std::int64_t>(book.held());
    log::debug("offer_rescinded", "offer={}", r.offer_id);
}

void Runtime::Impl::handle(mesos::Event::RescindInverseOffer& r) {
    log::debug("inverse_offer_rescinded", "id={}", r.inverse_offer_id);
}

void Runtime::Impl::handle(mesos::Event::Update& u) {
    metrics.updates_received++;
    reconciler.observe(u.status.task_id);
    pacer.first_update(u.status.task_id);
    UpdateLane& lane = lane_of(u.status.task_id);
    if (u.status.uuid && !lane.held.emplace(u.status.task_id, *u.status.uuid).second) {
        // A redelivery of an update the lane holds and has not committed:
        // the one held is acknowledged once it commits.
        log::debug("update_redelivered", "task={} state={} held=true", log::quote(u.status.task_id),
                   mesos::to_string(u.status.state));
        return;
    }
    lane.updates.push_back({std::move(u.status), std::chrono::steady_clock::now()});
    note_updates_waiting();
    flush_updates(lane);
}

void Runtime::Impl::handle(mesos::Event::UpdateOperationStatus& u) {
    // mesoflow sets no operation ids, so these are not its own; acknowledge
    // the reliable ones so the agent can forget them.
    log::warn("operation_status", "operation={} state={}", u.status.operation_id.value_or(""),
              mesos::to_string(u.status.state));
    if (u.status.uuid && framework_id && u.status.operation_id) {
        mesos::Call call;
        call.framework_id = framework_id;
        call.body = mesos::Call::AcknowledgeOperationStatus{u.status.agent_id,
                                                            u.status.resource_provider_id,
                                                            *u.status.uuid, *u.status.operation_id};
        send(call);
    }
}

void Runtime::Impl::handle(mesos::Event::Message& m) {
    log::debug("executor_message", "agent={} executor={}", m.agent_id, m.executor_id);
}

void Runtime::Impl::handle(mesos::Event::Failure& f) {
    if (f.executor_id) {
        log::warn("executor_failed", "agent={} executor={} status={}", f.agent_id.value_or(""),
                  *f.executor_id, f.status.value_or(-1));
    } else {
        log::warn("agent_failed", "agent={}", f.agent_id.value_or(""));
    }
}

void Runtime::Impl::handle(mesos::Event::Error& e) {
    log::error("framework_error", "message={}", log::quote(e.message));
    move_to(scheduler::PhaseEvent::disconnected);
    metrics.subscribed = 0;
    {
        std::lock_guard lock(snapshot_mutex);
        snapshot_subscribed_since_us.reset();
    }
    if (e.message.find("removed") != std::string::npos) {
        // The id can never be used again: the next start registers anew and
        // reconciliation sends the old attempts through the retry policy.
        db_job([this] { return store->forget_framework_id(cfg.framework_name); },
               [this](Status st) {
                   if (!st.ok())
                       log::error("framework_id_not_forgotten", "error={}",
                                  log::quote(st.error().message));
                   fail(kExitFrameworkError);
               });
        return;
    }
    if (e.message.find("failed over") != std::string::npos) {
        // A standby that took leadership (our lease ran out, or the lock
        // went with a database that failed over) steps this one down; a
        // scheduler that is not a mesoflow leader is for an operator. The
        // database says which, on the lock's own connection. Meanwhile no
        // subscription again: it would take the framework back.
        if (master)
            master->stop();
        lease_worker->submit(
            [this] { return leader->still_leads(); },
            [this](bool still) {
                if (fenced || stopping())
                    return;
                const bool valid = lease.valid(std::chrono::steady_clock::now()) && still;
                if (scheduler::on_failed_over(valid) == scheduler::FailedOver::step_down) {
                    end_term("failed_over",
                             "the master failed the framework over to the next "
                             "leader");
                    return;
                }
                log::error("framework_taken_over",
                           "framework_id={} reason=another scheduler subscribed "
                           "with this id while this mesoflow leads",
                           framework_id.value_or(""));
                fail(kExitFrameworkError);
            });
        return;
    }
    fail(kExitFrameworkError);
}

void Runtime::Impl::handle(mesos::Event::Unknown& u) {
    log::warn("unknown_event", "type={}", log::quote(u.type));
}

// Sends what the offer gate decided; a REVIVE it held back for its minimum
// interval goes out when the interval is over (not at the next poll).
void Runtime::Impl::apply_gate(std::optional<mesos::Call> call) {
    if (!framework_id || !subscribed())
        return;
    if (call) {
        call->framework_id = framework_id;
        const bool suppress = call->type() == mesos::CallType::suppress;
        metrics.suppressed = suppress ? 1 : 0;
        log::info(suppress ? "offers_suppressed" : "offers_revived", "framework_id={}",
                  *framework_id);
        send(*call);
    }
    if (const auto due = gate.deadline()) {
        const auto wait = std::max(*due - time.now(), TimePoint::duration::zero());
        after(revive_timer, wait, [this] { apply_gate(gate.tick(time.now())); });
    }
}

}  // namespace mesoflow::runtime
