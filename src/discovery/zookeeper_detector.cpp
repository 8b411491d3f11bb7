#include "mesoflow/discovery/zookeeper_detector.hpp"

#include <fmt/core.h>
#include <pthread.h>
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "mesoflow/common/log.hpp"
#include "mesoflow/discovery/master_group.hpp"

namespace mesoflow::discovery {
namespace {

// A MasterInfo is a few hundred bytes; anything this large is not one.
constexpr int kMaxMemberBytes = 64 * 1024;
// The group is read this often even when no watch fires: a lost watch
// cannot leave mesoflow on a master that is no longer the leader for long.
constexpr std::chrono::seconds kRereadEvery{60};

// The client's own messages (warnings and errors: reconnects, timeouts)
// are details behind mesoflow's own events.
void client_log(const char* message) {
    log::debug("zookeeper_client", "message={}", log::quote(message == nullptr ? "" : message));
}

}  // namespace

std::string_view state_name(Detection::State state) {
    switch (state) {
        case Detection::State::leader:
            return "leader";
        case Detection::State::no_leader:
            return "no_leader";
        case Detection::State::unreachable:
            return "unreachable";
        case Detection::State::invalid:
            return "invalid";
    }
    return "unknown";
}

struct ZooKeeperDetector::Impl {
    config::ZooKeeperUrl url;
    Listener listener;
    DetectorOptions options;

    std::mutex mutex;
    std::condition_variable cv;
    bool stopping = false;
    bool wake = false;      // a watch fired or the session's state changed
    int session_state = 0;  // the latest ZOO_*_STATE seen
    bool auth_answered = false;
    int auth_rc = ZOK;
    std::thread thread;

    zhandle_t* zh = nullptr;  // the detector's thread alone uses it
    std::optional<Detection> reported;

    Impl(config::ZooKeeperUrl u, Listener l, DetectorOptions o)
        : url(std::move(u)), listener(std::move(l)), options(o) {}

    static void on_event(zhandle_t* /*zh*/, int type, int state, const char* /*path*/,
                         void* context) {
        auto* self = static_cast<Impl*>(context);
        {
            std::lock_guard lock(self->mutex);
            if (type == ZOO_SESSION_EVENT)
                self->session_state = state;
            self->wake = true;
        }
        self->cv.notify_all();
    }

    static void on_auth(int rc, const void* data) {
        auto* self = static_cast<Impl*>(const_cast<void*>(data));
        {
            std::lock_guard lock(self->mutex);
            self->auth_answered = true;
            self->auth_rc = rc;
            self->wake = true;
        }
        self->cv.notify_all();
    }

    void report(Detection d) {
        if (reported && *reported == d)
            return;
        const std::string where = url.display();
        switch (d.state) {
            case Detection::State::leader:
                log::info("master_detected", "master={} member={} zookeeper={}",
                          d.leader->to_string(), d.member, where);
                break;
            case Detection::State::no_leader:
                log::warn("master_not_detected", "zookeeper={} reason={}", where,
                          log::quote(d.error));
                break;
            case Detection::State::unreachable:
                log::warn("zookeeper_unreachable", "zookeeper={} reason={}", where,
                          log::quote(d.error));
                break;
            case Detection::State::invalid:
                log::error("master_detection_failed", "zookeeper={} error={}", where,
                           log::quote(d.error));
                break;
        }
        reported = d;
        listener(d);
    }

    void report_state(Detection::State state, std::string why) {
        Detection d;
        d.state = state;
        d.error = std::move(why);
        report(std::move(d));
    }

    // Waits until woken, stopped or `timeout` passed; clears `wake`.
    // Returns false once stopping.
    bool wait_for(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, timeout, [&] { return stopping || wake; });
        wake = false;
        return !stopping;
    }

    bool wait_until_woken() {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return stopping || wake; });
        wake = false;
        return !stopping;
    }

    // Sleeps `d` unless stopped meanwhile; wakes do not shorten it.
    bool sleep(std::chrono::milliseconds d) {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, d, [&] { return stopping; });
        return !stopping;
    }

    int state() {
        std::lock_guard lock(mutex);
        return session_state;
    }

    void close() {
        if (zh != nullptr) {
            zookeeper_close(zh);
            zh = nullptr;
        }
        std::lock_guard lock(mutex);
        session_state = 0;
        auth_answered = false;
    }

    bool open() {
        {
            std::lock_guard lock(mutex);
            session_state = 0;
            auth_answered = false;
            wake = false;
        }
        zh = zookeeper_init2(url.servers.c_str(), &Impl::on_event,
                             static_cast<int>(options.session_timeout.count()), nullptr, this, 0,
                             &client_log);
        return zh != nullptr;
    }

    bool authenticate() {
        if (url.credentials.empty())
            return true;
        {
            std::lock_guard lock(mutex);
            auth_answered = false;
        }
        const int rc = zoo_add_auth(zh, "digest", url.credentials.data(),
                                    static_cast<int>(url.credentials.size()), &Impl::on_auth, this);
        if (rc != ZOK) {
            report_state(Detection::State::unreachable,
                         fmt::format("authentication not sent: {}", zerror(rc)));
            return false;
        }
        std::unique_lock lock(mutex);
        cv.wait_for(lock, options.session_timeout, [&] { return stopping || auth_answered; });
        if (!auth_answered)
            return false;
        if (auth_rc != ZOK) {
            lock.unlock();
            report_state(
                Detection::State::invalid,
                fmt::format("ZooKeeper refused the zk:// credentials: {}", zerror(auth_rc)));
            return false;
        }
        return true;
    }

    // What a failed read means. Connection trouble waits for the session
    // to come back (its event wakes the loop).
    void read_failed(int rc) {
        if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED ||
            rc == ZCLOSING || rc == ZINVALIDSTATE) {
            report_state(Detection::State::unreachable, zerror(rc));
        } else if (rc == ZNOAUTH) {
            report_state(
                Detection::State::invalid,
                fmt::format("not allowed to read {} (check the zk:// credentials)", url.path));
        } else {
            report_state(Detection::State::invalid,
                         fmt::format("reading {}: {}", url.path, zerror(rc)));
        }
    }

    // Reads the group (with a watch) and the leader's data, and reports.
    void read_group_once() {
        String_vector children{};
        int rc = zoo_wget_children(zh, url.path.c_str(), &Impl::on_event, this, &children);
        if (rc == ZNONODE) {
            Stat stat{};
            rc = zoo_wexists(zh, url.path.c_str(), &Impl::on_event, this, &stat);
            if (rc == ZOK) {
                std::lock_guard lock(mutex);
                wake = true;  // created meanwhile: read it again
                return;
            }
            if (rc != ZNONODE) {
                read_failed(rc);
                return;
            }
            report_state(Detection::State::no_leader,
                         fmt::format("no masters' group at {}", url.path));
            return;
        }
        if (rc != ZOK) {
            read_failed(rc);
            return;
        }
        std::vector<std::string> names;
        names.reserve(static_cast<std::size_t>(std::max(children.count, 0)));
        for (int i = 0; i < children.count; ++i)
            names.emplace_back(children.data[i] == nullptr ? "" : children.data[i]);
        deallocate_String_vector(&children);
        const auto group = read_group(names);
        if (!group.leader) {
            if (group.binary_members_only) {
                report_state(Detection::State::invalid,
                             fmt::format("the masters in {} register binary info_ members only "
                                         "(Mesos before 0.24); mesoflow reads json.info_ members",
                                         url.path));
            } else {
                report_state(Detection::State::no_leader, fmt::format("no master in {}", url.path));
            }
            return;
        }
        std::string data(kMaxMemberBytes, '\0');
        int length = kMaxMemberBytes;
        Stat stat{};
        const std::string member_path = url.path + "/" + *group.leader;
        rc = zoo_get(zh, member_path.c_str(), 0, data.data(), &length, &stat);
        if (rc == ZNONODE) {
            std::lock_guard lock(mutex);
            wake = true;  // it left between the two reads: read the group again
            return;
        }
        if (rc != ZOK) {
            read_failed(rc);
            return;
        }
        if (stat.dataLength > kMaxMemberBytes || length < 0) {
            report_state(Detection::State::invalid,
                         fmt::format("{} holds {} bytes, more than a MasterInfo", member_path,
                                     stat.dataLength));
            return;
        }
        data.resize(static_cast<std::size_t>(length));
        auto leader = parse_master_info(data);
        if (!leader) {
            report_state(Detection::State::invalid,
                         fmt::format("{}: {}", member_path, leader.error().message));
            return;
        }
        Detection d;
        d.state = Detection::State::leader;
        d.leader = std::move(*leader);
        d.member = *group.leader;
        report(std::move(d));
    }

    void run() {
        auto backoff = options.backoff_min;
        while (!stopped()) {
            if (zh == nullptr && !open()) {
                report_state(Detection::State::unreachable,
                             fmt::format("cannot start a session: {}", std::strerror(errno)));
                if (!sleep(backoff))
                    break;
                backoff = std::min(backoff * 2, options.backoff_max);
                continue;
            }
            {
                std::unique_lock lock(mutex);
                cv.wait_for(lock, options.session_timeout, [&] {
                    return stopping || session_state == ZOO_CONNECTED_STATE ||
                           session_state == ZOO_EXPIRED_SESSION_STATE ||
                           session_state == ZOO_AUTH_FAILED_STATE;
                });
                if (stopping)
                    break;
            }
            const int st = state();
            if (st == ZOO_EXPIRED_SESSION_STATE || st == ZOO_AUTH_FAILED_STATE) {
                report_state(Detection::State::unreachable, st == ZOO_EXPIRED_SESSION_STATE
                                                                ? "the session expired"
                                                                : "authentication failed");
                close();
                if (!sleep(backoff))
                    break;
                backoff = std::min(backoff * 2, options.backoff_max);
                continue;
            }
            if (st != ZOO_CONNECTED_STATE) {
                report_state(Detection::State::unreachable,
                             fmt::format("no server of {} answers", url.servers));
                if (!wait_for(options.session_timeout))
                    break;
                continue;
            }
            backoff = options.backoff_min;
            if (!authenticate()) {
                close();
                if (!sleep(backoff))
                    break;
                backoff = std::min(backoff * 2, options.backoff_max);
                continue;
            }
            // Connected: read, then wait for a watch or a change of the
            // session's state, and read again. Data that could not be used
            // (or a read refused) is read again with back-off: no watch was
            // set. Every kRereadEvery the group is read anyway.
            auto retry = options.backoff_min;
            while (!stopped()) {
                {
                    std::lock_guard lock(mutex);
                    wake = false;
                }
                read_group_once();
                const bool usable = reported && reported->state != Detection::State::invalid;
                if (!wait_for(usable ? kRereadEvery : retry))
                    break;
                retry = usable ? options.backoff_min : std::min(retry * 2, options.backoff_max);
                const int now = state();
                if (now != ZOO_CONNECTED_STATE && now != ZOO_CONNECTING_STATE &&
                    now != ZOO_ASSOCIATING_STATE) {
                    break;  // expired or failed: the outer loop starts again
                }
                if (now != ZOO_CONNECTED_STATE) {
                    report_state(Detection::State::unreachable,
                                 fmt::format("lost the connection to {}", url.servers));
                    std::unique_lock lock(mutex);
                    const bool back = cv.wait_for(lock, options.session_timeout, [&] {
                        return stopping || session_state == ZOO_CONNECTED_STATE ||
                               (session_state != ZOO_CONNECTING_STATE &&
                                session_state != ZOO_ASSOCIATING_STATE);
                    });
                    if (stopping)
                        break;
                    if (!back) {
                        // Not back within the session timeout: the session is
                        // as good as expired (the servers may have lost it);
                        // a new one, as Mesos' own detector does.
                        lock.unlock();
                        close();
                        break;
                    }
                    if (session_state != ZOO_CONNECTED_STATE)
                        break;
                }
            }
        }
        close();
    }

    bool stopped() {
        std::lock_guard lock(mutex);
        return stopping;
    }
};

ZooKeeperDetector::ZooKeeperDetector(config::ZooKeeperUrl url, Listener listener,
                                     DetectorOptions options)
    : impl_(std::make_unique<Impl>(std::move(url), std::move(listener), options)) {}

ZooKeeperDetector::~ZooKeeperDetector() {
    stop();
}

void ZooKeeperDetector::start() {
    if (impl_->thread.joinable())
        return;
    static std::once_flag quiet;
    std::call_once(quiet, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); });
    impl_->thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "zk-detector");
        impl_->run();
    });
}

Result<transport::MasterEndpoint> find_leader(const config::ZooKeeperUrl& url,
                                              std::chrono::milliseconds timeout) {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<Detection> last;
    bool final = false;
    DetectorOptions options;
    options.session_timeout = timeout;
    ZooKeeperDetector detector(
        url,
        [&](const Detection& d) {
            std::lock_guard lock(mutex);
            last = d;
            // Unreachable may pass (the client tries every server); the rest is an answer.
            final = d.state != Detection::State::unreachable;
            cv.notify_all();
        },
        options);
    detector.start();
    std::unique_lock lock(mutex);
    cv.wait_for(lock, timeout, [&] { return final; });
    const auto found = last;
    lock.unlock();
    detector.stop();
    if (!found)
        return Error{fmt::format("no answer from ZooKeeper at {}", url.display())};
    if (found->state == Detection::State::leader)
        return *found->leader;
    if (found->state == Detection::State::no_leader)
        return Error{fmt::format("no leading master in {}: {}", url.display(), found->error)};
    return Error{fmt::format("ZooKeeper at {}: {}", url.display(), found->error)};
}

void ZooKeeperDetector::stop() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->cv.notify_all();
    if (impl_->thread.joinable())
        impl_->thread.join();
}

}  // namespace mesoflow::discovery
