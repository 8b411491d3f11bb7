// A deliberately small HTTP/1.1 client over blocking loopback sockets, for
// the fake master's tests: exact status lines, headers and bytes, a
// subscription reader that de-chunks and decodes RecordIO with mesoflow's
// RecordIoDecoder, and a Scheduler helper that subscribes and sends calls
// with the right framework id and Mesos-Stream-Id. Test code only: failures
// to connect or write throw std::runtime_error.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fake_master.hpp"

namespace mesoflow::fake::testing {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using namespace std::chrono_literals;

// Short intervals so that tests run in milliseconds, not Mesos' seconds.
inline FakeMasterConfig quick_config(std::size_t agents = 3) {
    FakeMasterConfig c;
    c.agents = uniform_agents(agents);
    c.allocation_interval = std::chrono::milliseconds(50);
    c.heartbeat_interval = std::chrono::milliseconds(200);
    c.update_retry_min = std::chrono::milliseconds(200);
    c.update_retry_max = std::chrono::milliseconds(1000);
    c.default_task.run_time = std::chrono::milliseconds(50);
    return c;
}

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    bool has(const std::string& lower_name) const { return headers.count(lower_name) > 0; }
    std::string header(const std::string& lower_name) const {
        const auto it = headers.find(lower_name);
        return it == headers.end() ? "" : it->second;
    }
};

// One keep-alive connection; requests are answered in order.
class Connection {
  public:
    explicit Connection(int port);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void send_raw(const std::string& bytes);
    HttpResult read_response();
    HttpResult request(const std::string& method, const std::string& path, const Headers& headers,
                       const std::string& body);
    int fd() const { return fd_; }

  private:
    bool fill();  // reads more bytes; false on EOF
    std::string read_line();
    int fd_ = -1;
    std::string buffer_;
};

// One request on a fresh connection.
HttpResult http_request(int port, const std::string& method, const std::string& path,
                        const Headers& headers, const std::string& body);
HttpResult post_json(int port, const json& body, const Headers& extra = {},
                     const std::string& path = "/api/v1/scheduler");

// The reading end of a SUBSCRIBE.
class Subscription {
  public:
    // Sends the SUBSCRIBE and reads the response head; the body is read on a
    // background thread. A non-200 answer is kept with its body.
    Subscription(int port, const json& call, const Headers& extra = {},
                 const std::string& path = "/api/v1/scheduler");
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

    const HttpResult& head() const { return head_; }
    std::string stream_id() const { return head_.header("mesos-stream-id"); }

    // The next event, waiting up to `timeout`.
    std::optional<json> next(std::chrono::milliseconds timeout = 5s);
    // Skips events until one of this type arrives.
    std::optional<json> next_of(const std::string& type, std::chrono::milliseconds timeout = 5s);
    // Every event received so far, whether next() returned it or not.
    std::vector<json> all_events() const;
    // Waits until the stream ended; true when it ended (cleanly or not).
    bool wait_closed(std::chrono::milliseconds timeout = 5s);
    bool ended_cleanly() const { return clean_end_; }  // saw the terminating chunk
    bool eof() const { return eof_; }
    std::string decode_error() const;  // RecordIO or JSON failure, if any
    // Closes our end of the connection.
    void close();

  private:
    void read_loop();

    int fd_ = -1;
    HttpResult head_;
    std::string leftover_;
    std::thread reader_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> eof_{false};
    std::atomic<bool> clean_end_{false};
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<json> queue_;
    std::vector<json> all_;
    std::string decode_error_;
};

// A framework under test: a subscription plus a call connection.
class Scheduler {
  public:
    Scheduler(int port, json framework_info, Headers auth = {}, json suppressed_roles = nullptr);

    static json framework_info(const std::string& name = "test-framework",
                               std::vector<std::string> capabilities = {},
                               std::vector<std::string> roles = {});

    Subscription& stream() { return *subscription_; }
    const std::string& framework_id() const { return framework_id_; }
    std::string stream_id() const { return subscription_->stream_id(); }

    // Sends {"framework_id":..., "type": TYPE, "<type>": body} with the stream id.
    HttpResult call(const std::string& type, const json& body = nullptr);
    HttpResult call_raw(const json& call);
    // Waits for an OFFERS event and returns its offers.
    std::vector<json> offers(std::chrono::milliseconds timeout = 5s);
    // ACCEPTs `offer` launching `tasks`.
    HttpResult launch(const json& offer, const std::vector<json>& tasks,
                      const json& filters = nullptr);
    // Waits for an UPDATE of `task_id` (other events are skipped).
    std::optional<json> update_for(const std::string& task_id,
                                   std::chrono::milliseconds timeout = 5s);
    // ACKNOWLEDGEs a status (if it has a uuid).
    HttpResult ack(const json& status);

    // A shell command task using `cpus` and `mem` of `offer`'s agent.
    static json command_task(const json& offer, const std::string& id, const std::string& command,
                             double cpus = 0.1, double mem = 32);

  private:
    int port_;
    Headers auth_;
    std::unique_ptr<Subscription> subscription_;
    std::unique_ptr<Connection> calls_;
    std::string framework_id_;
};

}  // namespace mesoflow::fake::testing
