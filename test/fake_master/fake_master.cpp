#include "fake_master.hpp"

#include <fmt/core.h>

#include <condition_variable>
#include <mutex>

#include "http_server.hpp"
#include "master.hpp"
#include "mesoflow/mesos/recordio.hpp"
#include "reactor.hpp"
#include "zk_registration.hpp"

namespace mesoflow::fake {

std::vector<AgentSpec> uniform_agents(std::size_t count, const AgentSpec& base) {
    std::vector<AgentSpec> out(count, base);
    for (std::size_t i = 0; i < count; ++i) {
        out[i].hostname = base.hostname.empty() ? fmt::format("agent-{}.fake", i)
                                                : fmt::format("{}-{}", base.hostname, i);
    }
    return out;
}

struct FakeMaster::Impl {
    // Declared first, destroyed last: everything below lives on its loop.
    Reactor reactor;
    std::unique_ptr<Master> master;
    std::unique_ptr<HttpServer> server;
    std::string host;
    int port = 0;

    std::mutex mutex;
    std::condition_variable changed;
    std::uint64_t changes = 0;

    // Set when config.zk_url is; thread-safe on its own, used off the loop.
    std::unique_ptr<ZkRegistration> zk;

    template <typename F>
    auto run(F&& fn) {
        return reactor.call(std::forward<F>(fn));
    }
};

FakeMaster::FakeMaster(FakeMasterConfig config) : impl_(std::make_unique<Impl>()) {
    Impl& impl = *impl_;
    if (!config.zk_url.empty()) {
        try {
            impl.zk = std::make_unique<ZkRegistration>(parse_zk_url(config.zk_url),
                                                       config.zk_session_timeout);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(e.what());
        }
    }
    impl.host = config.host == "localhost" ? "127.0.0.1" : config.host;
    const int port = config.port;
    impl.master = std::make_unique<Master>(impl.reactor, std::move(config));
    Master* master = impl.master.get();
    impl.server = std::make_unique<HttpServer>(
        impl.reactor, impl.host, port,
        [master](HttpRequest& request) { return master->handle(request); });
    impl.port = impl.server->port();
    master->set_change_listener([&impl] {
        {
            std::lock_guard lock(impl.mutex);
            ++impl.changes;
        }
        impl.changed.notify_all();
    });
    master->set_connection_dropper([&impl] { impl.server->drop_connections(); });
    impl.reactor.start();
    impl.run([&impl] {
        impl.server->start();
        impl.master->start(impl.port);
    });
    if (impl.zk) {
        try {
            zk_register();
        } catch (...) {
            shut_down();
            throw;
        }
    }
}

FakeMaster::~FakeMaster() {
    shut_down();
}

void FakeMaster::shut_down() {
    if (impl_->zk)
        impl_->zk->withdraw();
    impl_->run([this] {
        impl_->master->shutdown();
        impl_->server->close_all();
    });
    impl_->reactor.stop();
}

std::string FakeMaster::zk_register() {
    if (!impl_->zk)
        throw std::runtime_error("zk_register: the fake master has no zk_url");
    const std::string info = impl_->run([this] { return impl_->master->master_info().dump(); });
    return impl_->zk->enroll(info);
}

void FakeMaster::zk_withdraw() {
    if (impl_->zk)
        impl_->zk->withdraw();
}

std::string FakeMaster::zk_node() const {
    return impl_->zk ? impl_->zk->node() : std::string();
}

int FakeMaster::port() const {
    return impl_->port;
}
std::string FakeMaster::host() const {
    return impl_->host;
}
std::string FakeMaster::address() const {
    return fmt::format("{}:{}", impl_->host, impl_->port);
}
std::string FakeMaster::url() const {
    return fmt::format("http://{}:{}/api/v1/scheduler", impl_->host, impl_->port);
}
std::string FakeMaster::master_id() const {
    return impl_->run([this] { return impl_->master->master_id(); });
}

void FakeMaster::drop_streams() {
    impl_->run([this] { impl_->master->drop_streams(); });
}
void FakeMaster::set_silent(bool silent) {
    impl_->run([this, silent] { impl_->master->set_silent(silent); });
}
void FakeMaster::answer_unavailable_for(std::chrono::milliseconds duration, std::string body) {
    impl_->run([&] { impl_->master->answer_unavailable_for(duration, std::move(body)); });
}
void FakeMaster::answer_unavailable_requests(int count, std::string body) {
    impl_->run([&] { impl_->master->answer_unavailable_requests(count, std::move(body)); });
}
void FakeMaster::redirect_to(std::string host_port) {
    impl_->run([&] { impl_->master->redirect_to(std::move(host_port)); });
}
void FakeMaster::fail_over() {
    impl_->run([this] { impl_->master->fail_over(); });
}
void FakeMaster::inject_malformed_record() {
    // A well-framed record whose payload is cut-off JSON.
    inject_stream_bytes(mesos::encode_record("{\"type\":\"UPDATE\",\"upd"));
}
void FakeMaster::inject_oversized_length() {
    inject_stream_bytes("99999999999999999\n{\"type\":\"HEARTBEAT\"}");
}
void FakeMaster::inject_bad_length_prefix() {
    inject_stream_bytes("2x\n{}");
}
void FakeMaster::inject_stream_bytes(std::string bytes) {
    impl_->run([&] { impl_->master->inject_stream_bytes(bytes); });
}
void FakeMaster::rescind_all_offers() {
    impl_->run([this] { impl_->master->rescind_all_offers(); });
}
bool FakeMaster::lose_agent(const std::string& agent) {
    return impl_->run([&] { return impl_->master->lose_agent(agent); });
}
bool FakeMaster::restore_agent(const std::string& agent) {
    return impl_->run([&] { return impl_->master->restore_agent(agent); });
}
bool FakeMaster::partition_agent(const std::string& agent) {
    return impl_->run([&] { return impl_->master->partition_agent(agent); });
}
bool FakeMaster::heal_agent(const std::string& agent) {
    return impl_->run([&] { return impl_->master->heal_agent(agent); });
}
void FakeMaster::delay_status_updates(std::chrono::milliseconds delay) {
    impl_->run([&] { impl_->master->delay_status_updates(delay); });
}
void FakeMaster::drop_status_updates(int count) {
    impl_->run([&] { impl_->master->drop_status_updates(count); });
}
void FakeMaster::fail_calls(std::string type, int count, CallFault fault) {
    impl_->run([&] { impl_->master->fail_calls(std::move(type), count, std::move(fault)); });
}
std::size_t FakeMaster::release_held_calls() {
    return impl_->run([this] { return impl_->master->release_held_calls(); });
}
std::size_t FakeMaster::held_calls() const {
    return impl_->run([this] { return impl_->master->held_calls(); });
}
void FakeMaster::clear_faults() {
    impl_->run([this] { impl_->master->clear_faults(); });
}
void FakeMaster::set_task_rules(std::vector<TaskRule> rules, TaskBehavior default_task) {
    impl_->run([&] { impl_->master->set_task_rules(std::move(rules), default_task); });
}
bool FakeMaster::finish_task(const std::string& task_id, int exit_code) {
    return impl_->run([&] { return impl_->master->finish_task(task_id, exit_code); });
}
void FakeMaster::set_heartbeat_interval(std::chrono::milliseconds interval) {
    impl_->run([&] { impl_->master->set_heartbeat_interval(interval); });
}
void FakeMaster::set_allocation_interval(std::chrono::milliseconds interval) {
    impl_->run([&] { impl_->master->set_allocation_interval(interval); });
}

std::vector<RecordedCall> FakeMaster::calls() const {
    return impl_->run([this] { return impl_->master->calls(); });
}
std::vector<RecordedCall> FakeMaster::calls_of_type(const std::string& type) const {
    std::vector<RecordedCall> out;
    for (auto& c : calls()) {
        if (c.type == type)
            out.push_back(std::move(c));
    }
    return out;
}
std::vector<RecordedAck> FakeMaster::acks() const {
    return impl_->run([this] { return impl_->master->acks(); });
}
Counters FakeMaster::counters() const {
    return impl_->run([this] { return impl_->master->counters(); });
}
std::vector<TaskView> FakeMaster::tasks() const {
    return impl_->run([this] { return impl_->master->task_views(); });
}
std::optional<TaskView> FakeMaster::task(const std::string& task_id) const {
    for (auto& t : tasks()) {
        if (t.task_id == task_id)
            return std::move(t);
    }
    return std::nullopt;
}
std::vector<AgentView> FakeMaster::agents() const {
    return impl_->run([this] { return impl_->master->agent_views(); });
}
std::vector<FrameworkView> FakeMaster::frameworks() const {
    return impl_->run([this] { return impl_->master->framework_views(); });
}
std::vector<OfferView> FakeMaster::offers() const {
    return impl_->run([this] { return impl_->master->offer_views(); });
}
std::string FakeMaster::state_json() const {
    return impl_->run([this] { return impl_->master->state().dump(2); });
}

bool FakeMaster::wait_until(const std::function<bool()>& predicate,
                            std::chrono::milliseconds timeout) const {
    // Re-checks at least this often even without a change notification, for
    // predicates that depend on time alone.
    constexpr std::chrono::milliseconds kRecheck{50};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        std::uint64_t seen = 0;
        {
            std::lock_guard lock(impl_->mutex);
            seen = impl_->changes;
        }
        if (predicate())
            return true;
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return false;
        std::unique_lock lock(impl_->mutex);
        impl_->changed.wait_until(lock, std::min(deadline, now + kRecheck),
                                  [&] { return impl_->changes != seen; });
    }
}

}  // namespace mesoflow::fake
