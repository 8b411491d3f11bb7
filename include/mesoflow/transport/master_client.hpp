// MasterClient: mesoflow's HTTP connection to the Mesos master (v1 scheduler
// API). It knows HTTP, RecordIO framing, Mesos-Stream-Id, redirects,
// back-off, heartbeats and Basic auth; it knows nothing of task states or
// SQL, and does not parse event JSON (it hands whole records to the runtime).
//
// - SUBSCRIBE runs on its own connection; the chunked body is decoded into
//   RecordIO records as bytes arrive. The body is asked from
//   Handlers::subscribe_body on every (re)subscription, so it always carries
//   the current framework id.
// - Every other call goes through a queue served by a few keep-alive
//   connections to the master holding the subscription, with the current
//   Mesos-Stream-Id. A call is never sent twice once any byte of its request
//   was written (a repeated ACCEPT could launch a task twice), unless the
//   sender marks it safe to resend (DECLINE, REVIVE, ACKNOWLEDGE, ...): when a
//   connection dies mid-write, the calls none of whose bytes went out and
//   those safe to resend go again on a fresh one; any other ends with its
//   outcome unknown (status 0, `written` set). Its CallResult says what
//   happened. Calls queued while no stream is up wait; calls still queued
//   when a stream ends fail with "disconnected" (their stream id is dead).
// - Masters come from a list; 307 redirects are followed (protocol-relative
//   Location keeps the scheme), but never from https to http: such a
//   redirect fails like a refused connection, so credentials never go out
//   in clear. Refused connections, resets, timeouts, 503 and 404 are
//   retried with exponential back-off and jitter, trying the next master
//   each time.
// - A heartbeat watchdog: no record for heartbeat_factor x the heartbeat
//   interval means the stream is dead: it is dropped and subscribed again.
// - Handlers::may_send is asked right before every write: while it says
//   no, nothing is written (calls wait in their queue, a subscription waits
//   out its back-off), so a fenced leader sends nothing whatever was queued.
// - A 4xx answer to SUBSCRIBE that retrying cannot fix (400, 401, 403, 405,
//   406, 415) goes to Handlers::on_refused and the client stops trying.
//
// - https masters: TLS 1.2 or later, SNI set to the master's host, the
//   certificate verified against TransportConfig::ca_file (empty: the system
//   trust store) and its name against the host, unless `verify` is false
//   (then start() logs event=tls_verify_off once). A failed handshake or
//   verification is a connection error like a refused connection: logged
//   with the master and OpenSSL's reason, retried with back-off on the next
//   master. The call connections are verified the same way.
//
// - The masters may change (set_masters, from ZooKeeper's detection): a
//   stream to a master no longer among them ends at once, a subscription
//   still being made to one is cut short, and the client subscribes to the
//   new ones without waiting out its back-off. With no
//   masters it subscribes nowhere and waits for some.
//
// Single-threaded: every method and handler runs on the io_context's thread.
// The constructor throws std::invalid_argument when the CA file cannot be
// loaded; nothing else throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/common/result.hpp"

namespace boost::asio {
class io_context;
}

namespace mesoflow::transport {

inline constexpr std::string_view kSchedulerPath = "/api/v1/scheduler";
inline constexpr int kMaxRedirects = 5;
// Each connection carries up to kPipelineDepth calls at a time, so this
// bounds calls in flight: when each carried one, at a few thousand tasks a
// second (three acknowledgements each) four were the bottleneck of the
// benchmark (test/bench: +10% tasks/s, -30% p99 latency with sixteen).
inline constexpr std::size_t kCallConnections = 16;
// Calls one connection writes back to back before reading their answers
// (HTTP/1.1 pipelining, which Mesos masters serve in order): after a commit,
// hundreds of acknowledgements go out in a few writes instead of waiting for
// an answer each.
inline constexpr std::size_t kPipelineDepth = 32;
// One call connection in this many carries answers to offers alone (four of
// sixteen), so an ACCEPT is written at once even while the others wait for
// the master to answer batches of acknowledgements.
inline constexpr std::size_t kUrgentShare = 4;
inline constexpr std::size_t kMaxQueuedCalls = 200000;
inline constexpr std::chrono::milliseconds kDefaultHeartbeat{15000};

struct MasterEndpoint {
    bool https = false;
    std::string host;
    std::uint16_t port = 5050;
    std::string path = std::string(kSchedulerPath);

    std::string to_string() const;  // "http://host:port/path"
    bool operator==(const MasterEndpoint&) const = default;
};

// "host:port", "http://host:port[/path]", "https://...", "[::1]:5050".
Result<MasterEndpoint> parse_endpoint(std::string_view text);
// A 307 Location: "//host:port/path" keeps `from`'s scheme; absolute URLs
// are taken as they are, except that one from https to http is an Error;
// a bare "host:port" keeps scheme and path.
Result<MasterEndpoint> resolve_location(std::string_view location, const MasterEndpoint& from);

struct BasicCredentials {
    std::string principal;
    std::string secret;
};

struct TransportConfig {
    std::vector<MasterEndpoint> masters;
    std::optional<BasicCredentials> credentials;
    std::chrono::milliseconds backoff_min{500};
    std::chrono::milliseconds backoff_max{30000};
    double heartbeat_factor = 3.0;
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds call_timeout{75000};
    std::size_t max_record_bytes = 64 * 1024 * 1024;
    std::size_t call_connections = kCallConnections;
    std::size_t pipeline_depth = kPipelineDepth;  // calls written together on one connection
    std::string ca_file;  // PEM CA certificates for https masters; empty: system trust store
    bool verify = true;   // false: any certificate is taken (warned about at start)
};

struct CallResult {
    int status = 0;     // HTTP status; 0 when no answer came
    std::string body;   // the answer's body (an error text for 4xx)
    std::string error;  // transport error when status is 0
    // When the request was written on the socket, wholly or in part (unset if
    // no byte of it was). Status 0 with `written` set: the master may or may
    // not have taken the call.
    std::optional<std::chrono::steady_clock::time_point> written;
    bool ok() const { return status >= 200 && status < 300; }
};

struct Handlers {
    std::function<std::string()> subscribe_body;
    std::function<void(const std::string& master)> on_stream;  // 200 on SUBSCRIBE
    std::function<void(std::string_view record)> on_record;
    std::function<void(const std::string& reason)> on_disconnected;
    std::function<void(int status, const std::string& body)> on_refused;
    // Asked right before any request (SUBSCRIBE or calls) is written on a
    // socket; false holds it back (a leader whose lease is in doubt sends
    // nothing). Empty: always true.
    std::function<bool()> may_send;
};

class MasterClient {
  public:
    MasterClient(boost::asio::io_context& io, TransportConfig config, Handlers handlers);
    ~MasterClient();
    MasterClient(const MasterClient&) = delete;
    MasterClient& operator=(const MasterClient&) = delete;

    void start();
    // Stops subscribing and sending. Calls queued and not yet written end
    // with status 0 and no `written` (error "stopped"), from the event loop
    // after this returns; a call being written or awaiting its answer ends
    // with no callback.
    void stop();
    // Calls go out in order on the call connections; an `urgent` call (the
    // answer to an offer, whose resources idle until it arrives) goes ahead
    // of those queued, and some connections carry urgent calls alone.
    // `resend_safe`: the master may take the call twice without harm, so it
    // may be written again after part of it went out on a connection that died.
    void send(std::string call_json, std::function<void(const CallResult&)> done,
              bool urgent = false, bool resend_safe = false);
    void set_heartbeat_interval(std::chrono::milliseconds interval);
    // The masters to subscribe to from now on (the leader ZooKeeper names).
    void set_masters(std::vector<MasterEndpoint> masters);
    // Drops the current stream (if any) and subscribes again.
    void reconnect(const std::string& reason);
    const std::string& stream_id() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// ---------------------------------------------------------------- one request
// A single request outside any subscription, e.g. `mesoflow teardown` on the
// master's operator endpoint POST /master/teardown (MasterEndpoint::path).

struct PostAnswer {
    std::string master;  // the URL asked ("https://host:port/path")
    int status = 0;      // HTTP status; 0 when no answer came
    std::string body;    // the answer's body
    std::string error;   // why this master was given up on, when not for its status
};

struct PostOutcome {
    // The answer that ended the round; unset when no master gave one.
    std::optional<PostAnswer> answer;
    // Each master given up on before it, in order: its last answer (a
    // status worth retrying elsewhere) or why none came (`error`).
    std::vector<PostAnswer> failures;
};

// Posts `body` as `content_type` to each master of `config` in turn, at its
// endpoint's path, synchronously on an io_context of its own, the way
// MasterClient connects: https verified as configured (ca_file, verify;
// TLS 1.2 or later, SNI and the host name checked), Basic credentials,
// connect_timeout to connect, call_timeout for the answer. Redirects (301,
// 302, 307, 308) are followed, at most kMaxRedirects times per master, a
// protocol-relative Location keeping the scheme, never from https to http
// (the master's failure then says so). A connection or TLS failure,
// a redirect that cannot be followed, or a status worth retrying elsewhere
// (404, 5xx) moves on to the next master; any other answer ends the round.
// For idempotent requests: a master that took the request but never answered
// does not stop the round. An Error only when there are no masters or the CA
// certificates cannot be loaded; never throws.
Result<PostOutcome> post_once(const TransportConfig& config, std::string_view content_type,
                              const std::string& body);

}  // namespace mesoflow::transport
