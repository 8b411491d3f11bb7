#include "zk_client.hpp"

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mesoflow::testing {
namespace {

// The C client formats each line as "<time>:<pid>(<tid>):ZOO_<LEVEL>@...",
// without a newline.
void log_line(const char* message) {
    static const bool enabled = [] {
        const char* env = std::getenv("MESOFLOW_ZK_LOG");
        return env != nullptr && *env != '\0' && std::string(env) != "0";
    }();
    if (!enabled || std::strstr(message, ":ZOO_INFO@") != nullptr ||
        std::strstr(message, ":ZOO_DEBUG@") != nullptr) {
        return;
    }
    std::fprintf(stderr, "%s\n", message);
}

[[noreturn]] void fail(int rc, const std::string& what, const std::string& path) {
    throw ZkError(rc, what + " " + path + ": " + zerror(rc));
}

}  // namespace

ZkError::ZkError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}

bool ZkError::no_node() const {
    return code_ == ZNONODE;
}

bool ZkError::node_exists() const {
    return code_ == ZNODEEXISTS;
}

ZkClient::ZkClient(const std::string& hosts, std::chrono::milliseconds timeout,
                   std::chrono::milliseconds session_timeout) {
    connect(hosts, timeout, session_timeout);
}

ZkClient::~ZkClient() {
    close();
}

void ZkClient::on_event(zhandle_t* /*zh*/, int type, int state, const char* /*path*/,
                        void* context) {
    if (type != ZOO_SESSION_EVENT)
        return;
    auto* self = static_cast<ZkClient*>(context);
    {
        std::lock_guard lock(self->mutex_);
        self->state_ = state;
    }
    self->state_changed_.notify_all();
}

void ZkClient::connect(const std::string& hosts, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds session_timeout) {
    close();
    {
        std::lock_guard lock(mutex_);
        state_ = 0;
    }
    zhandle_t* zh =
        zookeeper_init2(hosts.c_str(), &ZkClient::on_event,
                        static_cast<int>(session_timeout.count()), nullptr, this, 0, &log_line);
    if (zh == nullptr) {
        throw ZkError(ZSYSTEMERROR, "zookeeper_init " + hosts + ": " + std::strerror(errno));
    }
    bool up = false;
    {
        std::unique_lock lock(mutex_);
        up = state_changed_.wait_for(lock, timeout, [this] {
            return state_ == ZOO_CONNECTED_STATE || state_ == ZOO_EXPIRED_SESSION_STATE ||
                   state_ == ZOO_AUTH_FAILED_STATE;
        });
        up = up && state_ == ZOO_CONNECTED_STATE;
    }
    if (!up) {
        zookeeper_close(zh);
        std::lock_guard lock(mutex_);
        state_ = 0;
        throw ZkError(ZOPERATIONTIMEOUT, "no ZooKeeper session with " + hosts + " within " +
                                             std::to_string(timeout.count()) + " ms");
    }
    zh_ = zh;
}

void ZkClient::close() {
    zhandle_t* zh = zh_;
    zh_ = nullptr;
    if (zh != nullptr)
        zookeeper_close(zh);  // joins the client's threads: no event arrives after it
    std::lock_guard lock(mutex_);
    state_ = 0;
}

bool ZkClient::connected() const {
    std::lock_guard lock(mutex_);
    return zh_ != nullptr && state_ == ZOO_CONNECTED_STATE;
}

bool ZkClient::expired() const {
    std::lock_guard lock(mutex_);
    return zh_ != nullptr && state_ == ZOO_EXPIRED_SESSION_STATE;
}

bool ZkClient::wait_connected(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (zh_ == nullptr)
        return false;
    state_changed_.wait_for(lock, timeout, [this] {
        return state_ == ZOO_CONNECTED_STATE || state_ == ZOO_EXPIRED_SESSION_STATE;
    });
    return state_ == ZOO_CONNECTED_STATE;
}

std::int64_t ZkClient::session_id() const {
    if (zh_ == nullptr)
        return 0;
    return zoo_client_id(zh_)->client_id;
}

std::chrono::milliseconds ZkClient::session_timeout() const {
    if (zh_ == nullptr)
        return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(zoo_recv_timeout(zh_));
}

zhandle_t* ZkClient::handle() const {
    if (zh_ == nullptr)
        throw ZkError(ZINVALIDSTATE, "ZkClient: not connected");
    return zh_;
}

std::string ZkClient::create(const std::string& path, const std::string& data, int flags) {
    std::vector<char> created(path.size() + 64);
    const int mode = ((flags & ephemeral) != 0 ? ZOO_EPHEMERAL : 0) |
                     ((flags & sequential) != 0 ? ZOO_SEQUENCE : 0);
    const int rc =
        zoo_create(handle(), path.c_str(), data.data(), static_cast<int>(data.size()),
                   &ZOO_OPEN_ACL_UNSAFE, mode, created.data(), static_cast<int>(created.size()));
    if (rc != ZOK)
        fail(rc, "create", path);
    return created.data();
}

void ZkClient::create_path(const std::string& path) {
    if (path.empty() || path[0] != '/')
        throw ZkError(ZBADARGUMENTS, "create_path: not an absolute path: '" + path + "'");
    std::size_t next = 1;
    while (next <= path.size()) {
        auto slash = path.find('/', next);
        if (slash == std::string::npos)
            slash = path.size();
        const std::string prefix = path.substr(0, slash);
        if (prefix.size() > 1 && prefix.back() != '/') {
            const int rc = zoo_create(handle(), prefix.c_str(), nullptr, -1, &ZOO_OPEN_ACL_UNSAFE,
                                      0, nullptr, 0);
            if (rc != ZOK && rc != ZNODEEXISTS)
                fail(rc, "create", prefix);
        }
        next = slash + 1;
    }
}

std::optional<std::string> ZkClient::get(const std::string& path) {
    std::vector<char> buffer(4096);
    while (true) {
        int length = static_cast<int>(buffer.size());
        Stat stat{};
        const int rc = zoo_get(handle(), path.c_str(), 0, buffer.data(), &length, &stat);
        if (rc == ZNONODE)
            return std::nullopt;
        if (rc != ZOK)
            fail(rc, "get", path);
        if (stat.dataLength > static_cast<int>(buffer.size())) {
            buffer.resize(static_cast<std::size_t>(stat.dataLength));  // grew: read again
            continue;
        }
        return length < 0 ? std::string() : std::string(buffer.data(), length);
    }
}

void ZkClient::set(const std::string& path, const std::string& data) {
    const int rc = zoo_set(handle(), path.c_str(), data.data(), static_cast<int>(data.size()), -1);
    if (rc != ZOK)
        fail(rc, "set", path);
}

bool ZkClient::remove(const std::string& path) {
    const int rc = zoo_delete(handle(), path.c_str(), -1);
    if (rc == ZNONODE)
        return false;
    if (rc != ZOK)
        fail(rc, "delete", path);
    return true;
}

bool ZkClient::exists(const std::string& path) {
    Stat stat{};
    const int rc = zoo_exists(handle(), path.c_str(), 0, &stat);
    if (rc == ZNONODE)
        return false;
    if (rc != ZOK)
        fail(rc, "exists", path);
    return true;
}

std::vector<std::string> ZkClient::children(const std::string& path) {
    String_vector names{};
    const int rc = zoo_get_children(handle(), path.c_str(), 0, &names);
    if (rc != ZOK)
        fail(rc, "children", path);
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(names.count));
    for (int i = 0; i < names.count; ++i)
        out.emplace_back(names.data[i]);
    deallocate_String_vector(&names);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace mesoflow::testing
