#include "test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "mesoflow/mesos/recordio.hpp"

namespace mesoflow::fake::testing {

namespace {

int connect_loopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("connect to port " + std::to_string(port) + ": " + why);
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void write_all(int fd, const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw std::runtime_error("send: " + std::string(std::strerror(errno)));
        }
        done += static_cast<std::size_t>(n);
    }
}

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string build_request(const std::string& method, const std::string& path,
                          const Headers& headers, const std::string& body) {
    std::string out = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers)
        out += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST") {
        out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    out += "\r\n" + body;
    return out;
}

// Parses "HTTP/1.1 200 OK" and header lines from `head` (without the blank line).
void parse_head(const std::string& head, HttpResult& out) {
    std::size_t pos = head.find("\r\n");
    const std::string status_line = head.substr(0, pos);
    const auto sp = status_line.find(' ');
    out.status = std::stoi(status_line.substr(sp + 1, 3));
    while (pos != std::string::npos && pos + 2 < head.size()) {
        const std::size_t next = head.find("\r\n", pos + 2);
        const std::string line = head.substr(pos + 2, next - pos - 2);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            out.headers[lower(line.substr(0, colon))] = value;
        }
        pos = next;
    }
}

}  // namespace

Connection::Connection(int port) : fd_(connect_loopback(port)) {}

Connection::~Connection() {
    if (fd_ >= 0)
        ::close(fd_);
}

void Connection::send_raw(const std::string& bytes) {
    write_all(fd_, bytes);
}

bool Connection::fill() {
    char buf[65536];
    while (true) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buffer_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
}

std::string Connection::read_line() {
    while (true) {
        const auto nl = buffer_.find("\r\n");
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 2);
            return line;
        }
        if (!fill())
            throw std::runtime_error("connection closed while reading a line");
    }
}

HttpResult Connection::read_response() {
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
        if (!fill())
            throw std::runtime_error("connection closed before a response");
    }
    const auto end = buffer_.find("\r\n\r\n");
    HttpResult out;
    parse_head(buffer_.substr(0, end), out);
    buffer_.erase(0, end + 4);
    if (out.has("content-length")) {
        const auto length = std::stoul(out.header("content-length"));
        while (buffer_.size() < length) {
            if (!fill())
                throw std::runtime_error("connection closed inside a body");
        }
        out.body = buffer_.substr(0, length);
        buffer_.erase(0, length);
    } else if (lower(out.header("transfer-encoding")) == "chunked") {
        while (true) {
            const std::size_t size = std::stoul(read_line(), nullptr, 16);
            while (buffer_.size() < size + 2) {
                if (!fill())
                    throw std::runtime_error("connection closed inside a chunk");
            }
            out.body += buffer_.substr(0, size);
            buffer_.erase(0, size + 2);
            if (size == 0)
                break;
        }
    }
    return out;
}

HttpResult Connection::request(const std::string& method, const std::string& path,
                               const Headers& headers, const std::string& body) {
    send_raw(build_request(method, path, headers, body));
    return read_response();
}

HttpResult http_request(int port, const std::string& method, const std::string& path,
                        const Headers& headers, const std::string& body) {
    Connection c(port);
    return c.request(method, path, headers, body);
}

HttpResult post_json(int port, const json& body, const Headers& extra, const std::string& path) {
    Headers headers = {{"Content-Type", "application/json"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    return http_request(port, "POST", path, headers, body.dump());
}

Subscription::Subscription(int port, const json& call, const Headers& extra,
                           const std::string& path)
    : fd_(connect_loopback(port)) {
    Headers headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    write_all(fd_, build_request("POST", path, headers, call.dump()));
    std::string buffer;
    char buf[65536];
    while (buffer.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw std::runtime_error("connection closed before the SUBSCRIBE response");
        buffer.append(buf, static_cast<std::size_t>(n));
    }
    const auto end = buffer.find("\r\n\r\n");
    parse_head(buffer.substr(0, end), head_);
    leftover_ = buffer.substr(end + 4);
    if (head_.status != 200 || lower(head_.header("transfer-encoding")) != "chunked") {
        // A plain answer: read its body and stop.
        const auto length =
            head_.has("content-length") ? std::stoul(head_.header("content-length")) : 0;
        while (leftover_.size() < length) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            leftover_.append(buf, static_cast<std::size_t>(n));
        }
        head_.body = leftover_.substr(0, length);
        eof_ = true;
        return;
    }
    reader_ = std::thread([this] { read_loop(); });
}

Subscription::~Subscription() {
    close();
    if (reader_.joinable())
        reader_.join();
}

void Subscription::close() {
    stop_ = true;
    if (fd_ >= 0)
        ::shutdown(fd_, SHUT_RDWR);
    if (reader_.joinable() && std::this_thread::get_id() != reader_.get_id())
        reader_.join();
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

void Subscription::read_loop() {
    mesos::RecordIoDecoder decoder;
    std::string raw = std::move(leftover_);
    // Chunked transfer decoding state.
    enum class Phase { size, data, data_crlf, done } phase = Phase::size;
    std::size_t remaining = 0;
    std::string size_line;
    auto deliver = [&](std::string_view bytes) {
        std::vector<std::string> records;
        const bool ok = decoder.feed(bytes, records);
        std::lock_guard lock(mutex_);
        for (auto& r : records) {
            try {
                json event = json::parse(r);
                queue_.push_back(event);
                all_.push_back(std::move(event));
            } catch (const json::exception& e) {
                if (decode_error_.empty())
                    decode_error_ = std::string("bad JSON: ") + e.what();
            }
        }
        if (!ok && decode_error_.empty())
            decode_error_ = "RecordIO: " + decoder.error();
        cv_.notify_all();
    };
    char buf[65536];
    while (!stop_) {
        std::size_t i = 0;
        while (i < raw.size() && phase != Phase::done) {
            if (phase == Phase::size) {
                const char c = raw[i++];
                if (c == '\n') {
                    if (!size_line.empty() && size_line.back() == '\r')
                        size_line.pop_back();
                    remaining = std::stoul(size_line, nullptr, 16);
                    size_line.clear();
                    phase = remaining == 0 ? Phase::done : Phase::data;
                } else {
                    size_line += c;
                }
            } else if (phase == Phase::data) {
                const std::size_t take = std::min(remaining, raw.size() - i);
                deliver(std::string_view(raw).substr(i, take));
                i += take;
                remaining -= take;
                if (remaining == 0)
                    phase = Phase::data_crlf;
            } else if (phase == Phase::data_crlf) {
                if (raw[i++] == '\n')
                    phase = Phase::size;
            }
        }
        raw.clear();
        if (phase == Phase::done) {
            clean_end_ = true;
            break;
        }
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, 100);
        if (r == 0)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        raw.assign(buf, static_cast<std::size_t>(n));
    }
    eof_ = true;
    cv_.notify_all();
}

std::optional<json> Subscription::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || eof_; }))
        return std::nullopt;
    if (queue_.empty())
        return std::nullopt;
    json event = std::move(queue_.front());
    queue_.pop_front();
    return event;
}

std::optional<json> Subscription::next_of(const std::string& type,
                                          std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        auto event = next(left);
        if (!event)
            return std::nullopt;
        if (event->value("type", "") == type)
            return event;
    }
}

std::vector<json> Subscription::all_events() const {
    std::lock_guard lock(mutex_);
    return all_;
}

bool Subscription::wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return eof_.load(); });
}

std::string Subscription::decode_error() const {
    std::lock_guard lock(mutex_);
    return decode_error_;
}

Scheduler::Scheduler(int port, json framework_info, Headers auth, json suppressed_roles)
    : port_(port), auth_(std::move(auth)) {
    json call = {{"type", "SUBSCRIBE"}, {"subscribe", {{"framework_info", framework_info}}}};
    if (framework_info.contains("id"))
        call["framework_id"] = framework_info["id"];
    if (!suppressed_roles.is_null())
        call["subscribe"]["suppressed_roles"] = suppressed_roles;
    subscription_ = std::make_unique<Subscription>(port, call, auth_);
    if (subscription_->head().status != 200) {
        throw std::runtime_error("SUBSCRIBE answered " +
                                 std::to_string(subscription_->head().status) + ": " +
                                 subscription_->head().body);
    }
    auto subscribed = subscription_->next();
    if (!subscribed || subscribed->value("type", "") != "SUBSCRIBED") {
        throw std::runtime_error("no SUBSCRIBED event: " +
                                 (subscribed ? subscribed->dump() : std::string("nothing")));
    }
    framework_id_ = (*subscribed)["subscribed"]["framework_id"]["value"];
    calls_ = std::make_unique<Connection>(port);
}

json Scheduler::framework_info(const std::string& name, std::vector<std::string> capabilities,
                               std::vector<std::string> roles) {
    json info = {{"user", "nobody"}, {"name", name}, {"failover_timeout", 3600.0}};
    json caps = json::array();
    for (const auto& c : capabilities)
        caps.push_back({{"type", c}});
    if (!caps.empty())
        info["capabilities"] = caps;
    if (!roles.empty())
        info["roles"] = roles;
    return info;
}

HttpResult Scheduler::call_raw(const json& call) {
    Headers headers = {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", stream_id()}};
    headers.insert(headers.end(), auth_.begin(), auth_.end());
    return calls_->request("POST", "/api/v1/scheduler", headers, call.dump());
}

HttpResult Scheduler::call(const std::string& type, const json& body) {
    json call = {{"framework_id", {{"value", framework_id_}}}, {"type", type}};
    if (!body.is_null()) {
        std::string field = type;
        for (auto& c : field)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        call[field] = body;
    }
    return call_raw(call);
}

std::vector<json> Scheduler::offers(std::chrono::milliseconds timeout) {
    auto event = subscription_->next_of("OFFERS", timeout);
    if (!event)
        return {};
    return (*event)["offers"]["offers"].get<std::vector<json>>();
}

HttpResult Scheduler::launch(const json& offer, const std::vector<json>& tasks,
                             const json& filters) {
    json accept = {
        {"offer_ids", json::array({offer["id"]})},
        {"operations", json::array({{{"type", "LAUNCH"}, {"launch", {{"task_infos", tasks}}}}})}};
    if (!filters.is_null())
        accept["filters"] = filters;
    return call("ACCEPT", accept);
}

std::optional<json> Scheduler::update_for(const std::string& task_id,
                                          std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        auto event = subscription_->next_of("UPDATE", left);
        if (!event)
            return std::nullopt;
        const json& status = (*event)["update"]["status"];
        if (status["task_id"]["value"] == task_id)
            return status;
    }
}

HttpResult Scheduler::ack(const json& status) {
    return call("ACKNOWLEDGE", {{"agent_id", status["agent_id"]},
                                {"task_id", status["task_id"]},
                                {"uuid", status["uuid"]}});
}

json Scheduler::command_task(const json& offer, const std::string& id, const std::string& command,
                             double cpus, double mem) {
    return {{"name", id},
            {"task_id", {{"value", id}}},
            {"agent_id", offer["agent_id"]},
            {"resources",
             json::array({{{"name", "cpus"}, {"type", "SCALAR"}, {"scalar", {{"value", cpus}}}},
                          {{"name", "mem"}, {"type", "SCALAR"}, {"scalar", {{"value", mem}}}}})},
            {"command", {{"shell", true}, {"value", command}}}};
}

}  // namespace mesoflow::fake::testing
