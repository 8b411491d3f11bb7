#include "mesoflow/transport/master_client.hpp"

#include <fmt/core.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <charconv>
#include <deque>
#include <limits>
#include <random>
#include <sstream>

#include "mesoflow/common/log.hpp"
#include "mesoflow/mesos/recordio.hpp"

namespace mesoflow::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::chrono::milliseconds kWatchdogTick{250};
// Older protocol versions have known weaknesses; every Mesos release speaks 1.2.
constexpr int kMinTlsVersion = TLS1_2_VERSION;

Result<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value == 0 || value > 65535) {
        return Error{fmt::format("bad port \"{}\"", text)};
    }
    return static_cast<std::uint16_t>(value);
}

// Splits "host:port[/path]" (IPv6 in brackets) into `e`.
Status parse_authority(std::string_view text, MasterEndpoint& e) {
    const auto slash = text.find('/');
    std::string_view authority = text.substr(0, slash);
    if (slash != std::string_view::npos)
        e.path = std::string(text.substr(slash));
    if (authority.empty())
        return Error{"missing host"};
    std::string_view port_text;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos)
            return Error{"unclosed '[' in IPv6 address"};
        e.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':')
                return Error{"expected ':' after ']'"};
            port_text = authority.substr(close + 2);
        }
    } else {
        const auto colon = authority.rfind(':');
        e.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos)
            port_text = authority.substr(colon + 1);
    }
    if (e.host.empty())
        return Error{"missing host"};
    if (!port_text.empty()) {
        auto p = parse_port(port_text);
        if (!p)
            return p.error();
        e.port = *p;
    }
    return {};
}

std::string basic_auth(const BasicCredentials& c) {
    const std::string plain = c.principal + ":" + c.secret;
    std::string out(beast::detail::base64::encoded_size(plain.size()), '\0');
    out.resize(beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
    return "Basic " + out;
}

bool retryable(int status) {
    return status == 503 || status == 404 || status >= 500;
}

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// The client side of TLS to the masters: TLS 1.2 at least; peers verified
// against `ca_file`, or the system trust store when it is empty, unless
// verification is off. Throws std::invalid_argument when the CA file cannot
// be loaded (a start-up error: no connection could ever succeed).
ssl::context make_tls_context(const TransportConfig& cfg) {
    ssl::context ctx(ssl::context::tls_client);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), kMinTlsVersion) != 1)
        throw std::invalid_argument("MasterClient: cannot require TLS 1.2");
    if (!cfg.verify) {
        ctx.set_verify_mode(ssl::verify_none);
        return ctx;
    }
    ctx.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (cfg.ca_file.empty()) {
        ctx.set_default_verify_paths(ec);
    } else {
        ctx.load_verify_file(cfg.ca_file, ec);
    }
    if (ec) {
        throw std::invalid_argument(fmt::format(
            "MasterClient: cannot load CA certificates from {}: {}",
            cfg.ca_file.empty() ? "the system trust store" : cfg.ca_file, ec.message()));
    }
    return ctx;
}

// One connection to a master, plain or TLS. The HTTP code is written once
// against it: visit() hands it the concrete stream; tcp() is the socket
// layer, where timeouts and cancellation live for both kinds.
class MasterStream {
  public:
    using TlsStream = beast::ssl_stream<beast::tcp_stream>;

    // `tls` null: plain http.
    MasterStream(asio::io_context& io, ssl::context* tls) {
        if (tls != nullptr) {
            tls_.emplace(io, *tls);
        } else {
            plain_.emplace(io);
        }
    }

    beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
    TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }

    template <typename F>
    decltype(auto) visit(F&& f) {
        return tls_ ? f(*tls_) : f(*plain_);
    }

  private:
    std::optional<beast::tcp_stream> plain_;
    std::optional<TlsStream> tls_;
};

// Why a handshake failed, in OpenSSL's words: the certificate check's
// reason when that was it ("unable to get local issuer certificate",
// "hostname mismatch"), else the TLS error.
std::string tls_failure(const error_code& ec, SSL* ssl, bool verified) {
    const long verify = SSL_get_verify_result(ssl);
    if (verified && verify != X509_V_OK) {
        return fmt::format("tls handshake: certificate rejected: {}",
                           X509_verify_cert_error_string(verify));
    }
    return "tls handshake: " + ec.message();
}

}  // namespace

std::string MasterEndpoint::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return fmt::format("{}://{}{}{}:{}{}", https ? "https" : "http", v6 ? "[" : "", host,
                       v6 ? "]" : "", port, path);
}

Result<MasterEndpoint> parse_endpoint(std::string_view text) {
    MasterEndpoint e;
    if (text.starts_with("http://")) {
        text.remove_prefix(7);
    } else if (text.starts_with("https://")) {
        e.https = true;
        e.port = 443;
        text.remove_prefix(8);
    } else if (text.find("://") != std::string_view::npos) {
        return Error{
            fmt::format("unsupported scheme in master \"{}\" (use http:// or https://)", text)};
    }
    auto st = parse_authority(text, e);
    if (!st.ok())
        return Error{fmt::format("bad master \"{}\": {}", text, st.error().message)};
    if (e.path.empty() || e.path == "/")
        e.path = std::string(kSchedulerPath);
    return e;
}

namespace {

Result<MasterEndpoint> location_target(std::string_view location, const MasterEndpoint& from) {
    if (location.starts_with("//")) {
        MasterEndpoint e;
        e.https = from.https;
        e.port = from.port;
        e.path = from.path;
        auto st = parse_authority(location.substr(2), e);
        if (!st.ok())
            return Error{fmt::format("bad Location \"{}\": {}", location, st.error().message)};
        return e;
    }
    if (location.find("://") != std::string_view::npos)
        return parse_endpoint(location);
    MasterEndpoint e = from;
    auto st = parse_authority(location, e);
    if (!st.ok())
        return Error{fmt::format("bad Location \"{}\": {}", location, st.error().message)};
    return e;
}

}  // namespace

Result<MasterEndpoint> resolve_location(std::string_view location, const MasterEndpoint& from) {
    auto to = location_target(location, from);
    // The next request would carry the Basic credentials and every call in clear.
    if (to && from.https && !to->https) {
        return Error{fmt::format("refusing redirect from {} to {}: it would leave https",
                                 from.to_string(), to->to_string())};
    }
    return to;
}

namespace {

constexpr int kSendBufferBytes = 1 << 20;
constexpr std::string_view kJson = "application/json";

// Sets SNI (host names only, RFC 6066) and, unless verification is off, the
// name or address the certificate must be for.
Status prepare_handshake(const TransportConfig& cfg, MasterStream::TlsStream& tls_stream,
                         const std::string& host) {
    SSL* handle = tls_stream.native_handle();
    const bool ip = is_ip_literal(host);
    // (SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.)
    if (!ip && SSL_ctrl(handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                        const_cast<char*>(host.c_str())) != 1)
        return Error{fmt::format("tls: cannot set server name {}", host)};
    if (!cfg.verify)
        return Status::success();
    X509_VERIFY_PARAM* param = SSL_get0_param(handle);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    if (set != 1)
        return Error{fmt::format("tls: cannot check the certificate against {}", host)};
    return Status::success();
}

// Resolves, connects and, for https, does the TLS handshake (SNI and the
// host name check set to the master's host). Returns why it failed.
awaitable<Status> connect_to(asio::io_context& io, const TransportConfig& cfg, MasterStream& stream,
                             const MasterEndpoint& e) {
    error_code ec;
    tcp::resolver resolver(io);
    auto results = co_await resolver.async_resolve(e.host, std::to_string(e.port),
                                                   asio::redirect_error(use_awaitable, ec));
    if (ec)
        co_return Error{"resolve: " + ec.message()};
    auto& socket = stream.tcp();
    socket.expires_after(cfg.connect_timeout);
    co_await socket.async_connect(results, asio::redirect_error(use_awaitable, ec));
    if (ec) {
        socket.expires_never();
        co_return Error{"connect: " + ec.message()};
    }
    socket.socket().set_option(tcp::no_delay(true), ec);
    // Room in the kernel for a round of calls at once (an ACCEPT of 80
    // tasks is about 100 KB), so writing them never waits for the
    // master to read.
    socket.socket().set_option(asio::socket_base::send_buffer_size(kSendBufferBytes), ec);
    if (auto* tls_stream = stream.tls()) {
        auto st = prepare_handshake(cfg, *tls_stream, e.host);
        if (!st.ok()) {
            socket.expires_never();
            co_return st;
        }
        co_await tls_stream->async_handshake(ssl::stream_base::client,
                                             asio::redirect_error(use_awaitable, ec));
        if (ec) {
            socket.expires_never();
            co_return Error{tls_failure(ec, tls_stream->native_handle(), cfg.verify)};
        }
    }
    socket.expires_never();
    co_return Status::success();
}

// A POST of `body` to e.path; `stream_id` (empty: none) as Mesos-Stream-Id.
http::request<http::string_body> make_request(const MasterEndpoint& e,
                                              std::string_view content_type,
                                              const std::string& auth, std::string_view stream_id,
                                              std::string body) {
    http::request<http::string_body> req{http::verb::post, e.path, 11};
    req.set(http::field::host, fmt::format("{}:{}", e.host, e.port));
    // (Boost 1.74's beast::string_view is boost's, not std's.)
    req.set(http::field::content_type,
            beast::string_view(content_type.data(), content_type.size()));
    req.set(http::field::accept, beast::string_view(kJson.data(), kJson.size()));
    req.keep_alive(true);
    if (!auth.empty())
        req.set(http::field::authorization, auth);
    if (!stream_id.empty())
        req.set("Mesos-Stream-Id", beast::string_view(stream_id.data(), stream_id.size()));
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
}

bool is_redirect(int status) {
    return status == 301 || status == 302 || status == 307 || status == 308;
}

// post_once's round over the masters (see master_client.hpp).
awaitable<void> post_round(asio::io_context& io, const TransportConfig& cfg, ssl::context& tls,
                           const std::string& auth, std::string_view content_type,
                           const std::string& body, PostOutcome& out) {
    for (const auto& master : cfg.masters) {
        MasterEndpoint target = master;
        PostAnswer last;
        for (int hop = 0;; ++hop) {
            last = PostAnswer{target.to_string(), 0, {}, {}};
            MasterStream stream(io, target.https ? &tls : nullptr);
            if (auto st = co_await connect_to(io, cfg, stream, target); !st.ok()) {
                last.error = st.error().message;
                break;
            }
            auto req = make_request(target, content_type, auth, {}, body);
            req.keep_alive(false);
            error_code ec;
            stream.tcp().expires_after(cfg.call_timeout);
            co_await stream.visit([&](auto& s) {
                return http::async_write(s, req, asio::redirect_error(use_awaitable, ec));
            });
            if (ec) {
                last.error = "write: " + ec.message();
                break;
            }
            beast::flat_buffer buffer;
            http::response<http::string_body> res;
            co_await stream.visit([&](auto& s) {
                return http::async_read(s, buffer, res, asio::redirect_error(use_awaitable, ec));
            });
            if (ec) {
                last.error = "read: " + ec.message();
                break;
            }
            last.status = static_cast<int>(res.result_int());
            last.body = std::move(res.body());
            if (is_redirect(last.status)) {
                if (hop == kMaxRedirects) {
                    last.error = fmt::format("more than {} redirects", kMaxRedirects);
                    break;
                }
                const auto location = res[http::field::location];
                auto next =
                    resolve_location(std::string_view(location.data(), location.size()), target);
                if (!next) {
                    last.error = next.error().message;
                    break;
                }
                target = *next;
                continue;
            }
            if (retryable(last.status))
                break;
            out.answer = std::move(last);
            co_return;
        }
        out.failures.push_back(std::move(last));
    }
}

}  // namespace

struct PendingCall {
    std::string body;
    std::function<void(const CallResult&)> done;
    // The master may take it twice (DECLINE, REVIVE, ACKNOWLEDGE, ...): it
    // may be written again after part of it went out on a connection that died.
    bool resend_safe = false;
    bool went_out = false;  // some of its bytes went out on a connection that died
};

// A call done without an answer, and what became of it.
struct Settled {
    PendingCall call;
    CallResult result;
};

// After a write failed with `out` bytes of `calls` on the socket (`ends`:
// where each call's request ends on the wire), keeps in `calls` those that
// may be written again on a fresh connection: those none of whose bytes went
// out, and those safe to resend. Any other may have reached the master (a
// repeated ACCEPT could launch a task twice): it is settled with its outcome
// unknown (no status, `written` set), for the caller to find out.
void keep_resendable(std::vector<PendingCall>& calls, const std::vector<std::size_t>& ends,
                     std::size_t out, const std::string& why,
                     std::chrono::steady_clock::time_point at, std::vector<Settled>& settled) {
    std::vector<PendingCall> again;
    for (std::size_t i = 0; i < calls.size(); ++i) {
        const std::size_t begin = i == 0 ? 0 : ends[i - 1];
        if (out <= begin || calls[i].resend_safe) {
            calls[i].went_out = calls[i].went_out || out > begin;
            again.push_back(std::move(calls[i]));
            continue;
        }
        CallResult r;
        r.error = why + " after part of the call was written: outcome unknown";
        r.written = at;
        settled.push_back({std::move(calls[i]), std::move(r)});
    }
    calls = std::move(again);
}

struct MasterClient::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io_, TransportConfig c, Handlers h)
        : io(io_),
          cfg(std::move(c)),
          handlers(std::move(h)),
          tls(make_tls_context(cfg)),
          queue_signal(io_),
          pause_timer(io_),
          rng(std::random_device{}()) {
        queue_signal.expires_at(asio::steady_timer::time_point::max());
        if (cfg.credentials)
            auth = basic_auth(*cfg.credentials);
    }

    asio::io_context& io;
    TransportConfig cfg;
    Handlers handlers;
    ssl::context tls;
    std::string auth;
    bool stopped = false;
    std::uint64_t generation = 0;  // bumps with every new stream
    std::string stream_id;
    std::optional<MasterEndpoint> leader;  // where the live stream is
    std::deque<PendingCall> queue;
    std::deque<PendingCall> urgent;   // answers to offers: ahead of the queue
    asio::steady_timer queue_signal;  // cancelled to wake call workers
    std::chrono::milliseconds heartbeat = kDefaultHeartbeat;
    std::chrono::steady_clock::time_point last_record;
    beast::tcp_stream* subscription = nullptr;
    // The subscription's connection while it is being made (connect, TLS,
    // SUBSCRIBE, the answer's header): set_masters and stop() cut it short.
    beast::tcp_stream* connecting = nullptr;
    std::size_t next_master = 0;
    bool masters_changed = false;  // set_masters: subscribe again without waiting
    // The entry of cfg.masters the live stream (or the subscription under
    // way) started from, before any redirect: what set_masters compares.
    std::optional<MasterEndpoint> stream_origin;
    asio::steady_timer pause_timer;  // the subscription's back-off; set_masters cancels it
    std::mt19937 rng;

    void wake_workers() { queue_signal.cancel(); }

    // Stops subscribing and writing; queued calls stay where they are.
    void halt() {
        if (stopped)
            return;
        stopped = true;
        if (subscription != nullptr)
            subscription->cancel();
        if (connecting != nullptr)
            connecting->cancel();
        pause_timer.cancel();
        wake_workers();
    }
    bool allowed() const { return !handlers.may_send || handlers.may_send(); }

    void fail_queued(const std::string& why) {
        auto drained = std::move(urgent);
        urgent.clear();
        for (auto& c : queue)
            drained.push_back(std::move(c));
        queue.clear();
        for (auto& c : drained) {
            if (c.done)
                c.done(CallResult{0, {}, why, std::nullopt});
        }
    }

    std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
        std::uniform_real_distribution<double> d(0.5, 1.0);
        return std::chrono::milliseconds(
            static_cast<std::int64_t>(static_cast<double>(base.count()) * d(rng)));
    }

    awaitable<void> sleep(std::chrono::milliseconds d) {
        asio::steady_timer t(io, d);
        error_code ec;
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }

    awaitable<Status> connect(MasterStream& stream, const MasterEndpoint& e) {
        return connect_to(io, cfg, stream, e);
    }

    http::request<http::string_body> request(const MasterEndpoint& e, std::string body,
                                             bool with_stream) const {
        return make_request(e, kJson, auth, with_stream ? std::string_view(stream_id) : "",
                            std::move(body));
    }

    // ------------------------------------------------------------ subscribe
    // Waits `d`, or less when set_masters changes the masters meanwhile.
    awaitable<void> pause(std::chrono::milliseconds d) {
        pause_timer.expires_after(d);
        error_code ec;
        co_await pause_timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }

    awaitable<void> subscribe_loop() {
        auto self = shared_from_this();
        auto backoff = cfg.backoff_min;
        bool said_none = false;
        while (!stopped) {
            if (cfg.masters.empty()) {
                if (!said_none)
                    log::warn("no_master", "reason={}", log::quote("no leading master known yet"));
                said_none = true;
                co_await pause(std::chrono::hours(1));
                continue;
            }
            said_none = false;
            masters_changed = false;
            MasterEndpoint target = cfg.masters[next_master % cfg.masters.size()];
            stream_origin = target;
            bool reached = false;
            for (int hop = 0; hop <= kMaxRedirects && !stopped && !masters_changed; ++hop) {
                auto outcome = co_await subscribe_once(target);
                if (stopped)
                    co_return;
                if (outcome.redirect) {
                    log::info("redirect", "from={} to={}", target.to_string(),
                              outcome.redirect->to_string());
                    target = *outcome.redirect;
                    continue;
                }
                if (outcome.refused)
                    co_return;
                reached = outcome.streamed;
                if (!outcome.reason.empty()) {
                    log::warn(outcome.streamed ? "stream_ended" : "subscribe_failed",
                              "master={} reason={}", target.to_string(),
                              log::quote(outcome.reason));
                }
                break;
            }
            if (stopped)
                co_return;
            if (masters_changed) {
                backoff = cfg.backoff_min;  // new masters: go to them now
                continue;
            }
            if (reached) {
                backoff = cfg.backoff_min;  // it worked until it broke: come back quickly
            } else {
                ++next_master;
            }
            const auto wait = jittered(backoff);
            log::info("backoff", "ms={}", wait.count());
            co_await pause(wait);
            if (!reached)
                backoff = std::min(backoff * 2, cfg.backoff_max);
        }
    }

    struct SubscribeOutcome {
        std::optional<MasterEndpoint> redirect;
        bool refused = false;
        bool streamed = false;
        std::string reason;
    };

    awaitable<SubscribeOutcome> subscribe_once(const MasterEndpoint& target) {
        SubscribeOutcome out;
        MasterStream stream(io, target.https ? &tls : nullptr);
        struct Connecting {
            beast::tcp_stream*& slot;
            ~Connecting() { slot = nullptr; }
        } connecting_guard{connecting};
        connecting = &stream.tcp();
        if (auto st = co_await connect(stream, target); !st.ok()) {
            out.reason = st.error().message;
            co_return out;
        }
        if (!allowed()) {
            out.reason = "held back: not allowed to send";
            co_return out;
        }
        auto req = request(target, handlers.subscribe_body(), false);
        error_code ec;
        stream.tcp().expires_after(cfg.connect_timeout);
        co_await stream.visit([&](auto& s) {
            return http::async_write(s, req, asio::redirect_error(use_awaitable, ec));
        });
        if (ec) {
            out.reason = "write: " + ec.message();
            co_return out;
        }
        beast::flat_buffer buffer;
        http::response_parser<http::buffer_body> parser;
        // The stream has no end; read_rest bounds error bodies itself. Not
        // boost::none: Boost 1.74 compares a Content-Length against an empty
        // optional as "greater" and fails every non-streamed answer.
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        co_await stream.visit([&](auto& s) {
            return http::async_read_header(s, buffer, parser,
                                           asio::redirect_error(use_awaitable, ec));
        });
        stream.tcp().expires_never();
        if (ec) {
            out.reason = "read: " + ec.message();
            co_return out;
        }
        const int status = static_cast<int>(parser.get().result_int());
        if (is_redirect(status)) {
            auto loc = parser.get()[http::field::location];
            auto next = resolve_location(std::string_view(loc.data(), loc.size()), target);
            if (!next) {
                out.reason = next.error().message;
                co_return out;
            }
            out.redirect = *next;
            co_return out;
        }
        if (status != 200) {
            std::string body = co_await read_rest(stream, buffer, parser);
            out.reason = fmt::format("HTTP {} {}", status, body);
            if (!retryable(status)) {
                out.refused = true;
                if (!stopped && handlers.on_refused)
                    handlers.on_refused(status, body);
            }
            co_return out;
        }
        if (masters_changed) {
            // The masters changed while this one answered: it is no longer
            // the one to follow.
            out.reason = "the leading master changed while subscribing";
            co_return out;
        }
        connecting = nullptr;
        auto sid = parser.get()["Mesos-Stream-Id"];
        stream_id = std::string(sid.data(), sid.size());
        leader = target;
        ++generation;
        out.streamed = true;
        log::info("stream_open", "master={}", target.to_string());
        if (handlers.on_stream)
            handlers.on_stream(target.to_string());
        wake_workers();
        out.reason = co_await read_stream(stream, buffer, parser);
        // The stream is gone: its id is dead, and so is every queued call's.
        stream_id.clear();
        leader.reset();
        ++generation;
        subscription = nullptr;
        if (!stopped) {
            fail_queued("disconnected");
            if (handlers.on_disconnected)
                handlers.on_disconnected(out.reason);
        }
        co_return out;
    }

    awaitable<std::string> read_rest(MasterStream& stream, beast::flat_buffer& buffer,
                                     http::response_parser<http::buffer_body>& parser) {
        std::string body;
        char chunk[4096];
        error_code ec;
        stream.tcp().expires_after(cfg.connect_timeout);
        while (!parser.is_done() && body.size() < 64 * 1024) {
            parser.get().body().data = chunk;
            parser.get().body().size = sizeof chunk;
            co_await stream.visit([&](auto& s) {
                return http::async_read(s, buffer, parser, asio::redirect_error(use_awaitable, ec));
            });
            if (ec == http::error::need_buffer)
                ec = {};
            body.append(chunk, sizeof chunk - parser.get().body().size);
            if (ec)
                break;
        }
        co_return body;
    }

    awaitable<std::string> read_stream(MasterStream& stream, beast::flat_buffer& buffer,
                                       http::response_parser<http::buffer_body>& parser) {
        subscription = &stream.tcp();
        mesos::RecordIoDecoder decoder(cfg.max_record_bytes);
        std::vector<std::string> records;
        std::vector<char> chunk(kReadChunk);
        last_record = std::chrono::steady_clock::now();
        auto self = shared_from_this();
        const auto gen = generation;
        asio::co_spawn(io, watchdog(gen), asio::detached);
        while (!stopped) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            error_code ec;
            co_await stream.visit([&](auto& s) {
                return http::async_read_some(s, buffer, parser,
                                             asio::redirect_error(use_awaitable, ec));
            });
            if (ec == http::error::need_buffer)
                ec = {};
            const std::size_t got = chunk.size() - parser.get().body().size;
            if (got > 0) {
                records.clear();
                const bool ok = decoder.feed(std::string_view(chunk.data(), got), records);
                if (!records.empty())
                    last_record = std::chrono::steady_clock::now();
                for (const auto& r : records) {
                    if (stopped || generation != gen)
                        break;
                    if (handlers.on_record)
                        handlers.on_record(r);
                    if (!urgent.empty()) {
                        // An answer to an offer was just queued: let a call
                        // connection write it before the next record is handled.
                        co_await asio::post(io, use_awaitable);
                    }
                }
                if (!ok)
                    co_return "bad RecordIO: " + decoder.error();
            }
            if (generation != gen)
                co_return "reconnect requested";
            if (ec == asio::error::operation_aborted && watchdog_fired) {
                watchdog_fired = false;
                co_return "no event within the heartbeat watchdog";
            }
            if (ec)
                co_return ec == http::error::end_of_stream ? "end of stream" : ec.message();
            if (parser.is_done())
                co_return "end of stream";
        }
        co_return "stopped";
    }

    bool watchdog_fired = false;

    awaitable<void> watchdog(std::uint64_t gen) {
        auto self = shared_from_this();
        while (!stopped && generation == gen && subscription != nullptr) {
            const auto limit = std::chrono::milliseconds(static_cast<std::int64_t>(
                static_cast<double>(heartbeat.count()) * cfg.heartbeat_factor));
            const auto deadline = last_record + limit;
            if (std::chrono::steady_clock::now() >= deadline) {
                log::warn("heartbeat_missed", "silent_ms={}", limit.count());
                watchdog_fired = true;
                subscription->cancel();
                co_return;
            }
            // Wake at least every tick: the interval may shrink once SUBSCRIBED says it.
            asio::steady_timer t(
                io, std::min(deadline, std::chrono::steady_clock::now() + kWatchdogTick));
            error_code ec;
            co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        }
    }

    // ---------------------------------------------------------------- calls
    // One call connection and what it has written and not yet read.
    struct CallLine {
        // Carries answers to offers alone, so an ACCEPT never waits for a
        // connection busy with acknowledgements.
        bool urgent_only = false;
        bool parked = false;  // waiting for work, with nothing in hand
        std::optional<MasterStream> conn;
        std::uint64_t conn_generation = 0;
        beast::flat_buffer buffer;
        // Calls write_now() put on the socket while the line was parked; the
        // line reads their answers (after writing `unsent`, if the socket
        // took only part).
        std::vector<PendingCall> written;
        std::vector<std::size_t> written_ends;  // where each one's request ends on the wire
        std::size_t written_out = 0;            // bytes of them the socket took
        std::string unsent;
        std::chrono::steady_clock::time_point written_at;
    };
    std::vector<std::shared_ptr<CallLine>> lines;

    // The next calls a line sends together: answers to offers first, then
    // (unless the line carries those alone) the rest, up to pipeline_depth.
    std::vector<PendingCall> take_calls(bool urgent_only) {
        const std::size_t depth = std::max<std::size_t>(1, cfg.pipeline_depth);
        std::vector<PendingCall> calls;
        while (!urgent.empty() && calls.size() < depth) {
            calls.push_back(std::move(urgent.front()));
            urgent.pop_front();
        }
        while (!urgent_only && !queue.empty() && calls.size() < depth) {
            calls.push_back(std::move(queue.front()));
            queue.pop_front();
        }
        return calls;
    }

    // The calls' requests, back to back, as they go on the wire; `ends`
    // receives where each one ends.
    std::string serialize(const MasterEndpoint& target, const std::vector<PendingCall>& calls,
                          std::vector<std::size_t>& ends) {
        std::ostringstream serialized;
        ends.clear();
        for (const auto& call : calls) {
            serialized << request(target, call.body, true);
            ends.push_back(static_cast<std::size_t>(serialized.tellp()));
        }
        return std::move(serialized).str();
    }

    // Writes what a plain socket takes of `wire` now, without waiting; the
    // bytes written. A full socket is no error (0 bytes, ec clear).
    static std::size_t write_without_waiting(MasterStream& stream, const std::string& wire,
                                             error_code& ec) {
        auto& sock = stream.tcp().socket();
        std::size_t sent = 0;
        sock.non_blocking(true, ec);
        if (!ec)
            sent = sock.write_some(asio::buffer(wire), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again)
            ec = {};
        return sent;
    }

    // Up to `depth` queued answers to offers, written on a parked urgent
    // line's socket right now, from send(): no turn of the event loop between
    // the decision and the bytes reaching the kernel. Plain http only (a TLS
    // write goes through the engine on the line itself).
    void write_now() {
        if (stopped || stream_id.empty() || !leader || urgent.empty() || !allowed())
            return;
        for (auto& line : lines) {
            if (!line->urgent_only || !line->parked || !line->written.empty() || !line->conn ||
                line->conn_generation != generation || line->conn->tls() != nullptr)
                continue;
            std::vector<PendingCall> calls = take_calls(true);
            std::vector<std::size_t> ends;
            const std::string wire = serialize(*leader, calls, ends);
            error_code ec;
            const std::size_t sent = write_without_waiting(*line->conn, wire, ec);
            if (sent == 0) {
                // Nothing went: back to the front of the queue, in order, for
                // the lines to send the usual way (a dead socket is
                // reconnected there).
                if (ec)
                    line->conn.reset();
                for (auto it = calls.rbegin(); it != calls.rend(); ++it)
                    urgent.push_front(std::move(*it));
                return;
            }
            line->written = std::move(calls);
            line->written_ends = std::move(ends);
            line->written_out = sent;
            line->unsent = wire.substr(sent);
            line->written_at = std::chrono::steady_clock::now();
            line->parked = false;
            return;
        }
    }

    awaitable<void> call_worker(std::shared_ptr<CallLine> line) {
        auto self = shared_from_this();
        auto& conn = line->conn;
        auto& conn_generation = line->conn_generation;
        auto& buffer = line->buffer;
        const bool urgent_only = line->urgent_only;
        while (!stopped) {
            std::vector<PendingCall> calls;
            std::vector<CallResult> results;
            std::vector<Settled> settled;  // done without an answer, never to go again
            bool written = false;
            std::chrono::steady_clock::time_point at;
            if (!line->written.empty()) {
                // write_now() put these on the socket.
                calls = std::move(line->written);
                line->written.clear();
                at = line->written_at;
                written = true;
                if (!line->unsent.empty() && !allowed()) {
                    // The rest of a write cut short is held back too: the
                    // master never reads a request it does not wholly have.
                    line->unsent.clear();
                    conn.reset();
                    keep_resendable(calls, line->written_ends, line->written_out,
                                    "held back: not allowed to send", at, settled);
                    for (auto it = calls.rbegin(); it != calls.rend(); ++it)
                        urgent.push_front(std::move(*it));
                    calls.clear();
                    written = false;
                } else if (!line->unsent.empty()) {
                    const std::string rest = std::move(line->unsent);
                    line->unsent.clear();
                    error_code ec;
                    conn->tcp().expires_after(cfg.call_timeout);
                    const std::size_t more = co_await conn->visit([&](auto& s) {
                        return asio::async_write(s, asio::buffer(rest),
                                                 asio::redirect_error(use_awaitable, ec));
                    });
                    if (ec) {
                        // What may have reached the master is never sent
                        // again; the rest goes back to the front of the queue.
                        conn.reset();
                        keep_resendable(calls, line->written_ends, line->written_out + more,
                                        "write: " + ec.message(), at, settled);
                        for (auto it = calls.rbegin(); it != calls.rend(); ++it)
                            urgent.push_front(std::move(*it));
                        calls.clear();
                        written = false;
                        wake_workers();
                    } else {
                        at = std::chrono::steady_clock::now();
                    }
                }
                results.resize(calls.size());
                for (auto& r : results)
                    r.written = at;
            } else {
                const bool idle = urgent.empty() && (urgent_only || queue.empty());
                if (idle && !stream_id.empty() && leader &&
                    (!conn || conn_generation != generation)) {
                    // Connected ahead of the first call: an ACCEPT should not
                    // wait for a TCP (and TLS) handshake.
                    const auto gen = generation;
                    conn.emplace(io, leader->https ? &tls : nullptr);
                    buffer.clear();
                    if (auto st = co_await connect(*conn, *leader); !st.ok()) {
                        conn.reset();
                        co_await sleep(cfg.backoff_min);
                        continue;
                    }
                    conn_generation = gen;
                    continue;
                }
                if (idle || stream_id.empty() || !leader || !allowed()) {
                    // The timer never expires (see the constructor): cancel() is the wake-up.
                    line->parked = true;
                    error_code ec;
                    co_await queue_signal.async_wait(asio::redirect_error(use_awaitable, ec));
                    line->parked = false;
                    continue;
                }
                // Up to `depth` calls go out together: written back to back
                // in one write (HTTP/1.1 pipelining; masters answer in order),
                // then their answers are read in order.
                calls = take_calls(urgent_only);
                const MasterEndpoint target = *leader;
                const auto gen = generation;
                std::string last_error;
                for (int attempt = 0; attempt < 2 && !written && !calls.empty(); ++attempt) {
                    std::vector<std::size_t> ends;
                    const std::string wire = serialize(target, calls, ends);
                    if (!conn || conn_generation != gen) {
                        conn.emplace(io, target.https ? &tls : nullptr);
                        buffer.clear();
                        if (auto st = co_await connect(*conn, target); !st.ok()) {
                            conn.reset();
                            last_error = st.error().message;
                            break;
                        }
                        conn_generation = gen;
                    }
                    if (!allowed()) {
                        // Asked again after any wait (a connect, a first
                        // try): nothing is written once the answer is no.
                        last_error = "held back: not allowed to send";
                        break;
                    }
                    error_code ec;
                    conn->tcp().expires_after(cfg.call_timeout);
                    // Plain http: the calls go to the kernel now, from here,
                    // rather than when the event loop gets to an asynchronous
                    // write's completion; only what the socket could not take
                    // waits for it. (TLS writes go through the engine below.)
                    std::size_t sent =
                        conn->tls() == nullptr ? write_without_waiting(*conn, wire, ec) : 0;
                    if (!ec && sent < wire.size()) {
                        sent += co_await conn->visit([&](auto& s) {
                            return asio::async_write(
                                s, asio::buffer(wire.data() + sent, wire.size() - sent),
                                asio::redirect_error(use_awaitable, ec));
                        });
                    }
                    if (ec) {
                        // A kept-alive connection the master closed, or one
                        // that died mid-write: what may have reached the
                        // master is never sent again (a repeated ACCEPT could
                        // launch a task twice); the rest is safe to try once
                        // more on a fresh connection.
                        conn.reset();
                        last_error = "write: " + ec.message();
                        const auto now = std::chrono::steady_clock::now();
                        keep_resendable(calls, ends, sent, last_error, now, settled);
                        continue;
                    }
                    written = true;
                }
                at = std::chrono::steady_clock::now();
                results.resize(calls.size());
                for (std::size_t i = 0; i < calls.size(); ++i) {
                    // A first try on a stale connection is forgotten once written.
                    if (!written)
                        results[i].error = last_error;
                    if (written || calls[i].went_out)
                        results[i].written = at;
                }
            }
            if (written) {
                for (std::size_t i = 0; i < calls.size(); ++i) {
                    if (!conn) {
                        // The master closed after an earlier answer: it never
                        // read this one, but it was written: never sent twice.
                        results[i].error = "connection closed before the answer";
                        continue;
                    }
                    http::response<http::string_body> res;
                    error_code ec;
                    conn->tcp().expires_after(cfg.call_timeout);
                    co_await conn->visit([&](auto& s) {
                        return http::async_read(s, buffer, res,
                                                asio::redirect_error(use_awaitable, ec));
                    });
                    if (ec) {
                        conn.reset();
                        // The master may have acted on it: never send it twice.
                        results[i].error = "read: " + ec.message();
                        continue;
                    }
                    results[i].status = static_cast<int>(res.result_int());
                    results[i].body = std::move(res.body());
                    if (!res.keep_alive())
                        conn.reset();
                }
                if (conn)
                    conn->tcp().expires_never();
            }
            for (auto& [call, result] : settled) {
                if (call.done && !stopped)
                    call.done(result);
            }
            for (std::size_t i = 0; i < calls.size(); ++i) {
                if (calls[i].done && !stopped)
                    calls[i].done(results[i]);
            }
        }
    }
};

MasterClient::MasterClient(asio::io_context& io, TransportConfig config, Handlers handlers)
    : impl_(std::make_shared<Impl>(io, std::move(config), std::move(handlers))) {}

MasterClient::~MasterClient() {
    impl_->halt();
}

void MasterClient::start() {
    if (!impl_->cfg.verify) {
        std::string https;
        for (const auto& m : impl_->cfg.masters) {
            if (m.https)
                https += (https.empty() ? "" : ",") + m.to_string();
        }
        if (!https.empty()) {
            log::warn("tls_verify_off", "master={} hint={}", https,
                      log::quote("certificates and host names of https masters are not "
                                 "checked; anyone on the path can impersonate them"));
        }
    }
    asio::co_spawn(impl_->io, impl_->subscribe_loop(), asio::detached);
    const std::size_t connections = std::max<std::size_t>(1, impl_->cfg.call_connections);
    for (std::size_t i = 0; i < connections; ++i) {
        auto line = std::make_shared<Impl::CallLine>();
        line->urgent_only = i < connections / kUrgentShare;
        impl_->lines.push_back(line);
        asio::co_spawn(impl_->io, impl_->call_worker(line), asio::detached);
    }
}

void MasterClient::stop() {
    if (impl_->stopped)
        return;
    impl_->halt();
    // What was queued was never written: its callers learn so (an ACCEPT's
    // placements can be taken back), after this returns.
    std::deque<PendingCall> never_written = std::move(impl_->urgent);
    impl_->urgent.clear();
    for (auto& c : impl_->queue)
        never_written.push_back(std::move(c));
    impl_->queue.clear();
    if (never_written.empty())
        return;
    asio::post(impl_->io, [calls = std::move(never_written)]() mutable {
        for (auto& c : calls) {
            if (c.done)
                c.done(CallResult{0, {}, "stopped", std::nullopt});
        }
    });
}

void MasterClient::send(std::string call_json, std::function<void(const CallResult&)> done,
                        bool urgent, bool resend_safe) {
    if (impl_->stopped) {
        if (done)
            done(CallResult{0, {}, "stopped", std::nullopt});
        return;
    }
    if (impl_->queue.size() + impl_->urgent.size() >= kMaxQueuedCalls) {
        if (done)
            done(CallResult{0, {}, "call queue full", std::nullopt});
        return;
    }
    if (urgent) {
        impl_->urgent.push_back({std::move(call_json), std::move(done), resend_safe});
        impl_->write_now();
    } else {
        impl_->queue.push_back({std::move(call_json), std::move(done), resend_safe});
    }
    impl_->wake_workers();
}

void MasterClient::set_heartbeat_interval(std::chrono::milliseconds interval) {
    if (interval.count() > 0)
        impl_->heartbeat = interval;
}

void MasterClient::set_masters(std::vector<MasterEndpoint> masters) {
    auto& impl = *impl_;
    if (masters == impl.cfg.masters)
        return;
    impl.cfg.masters = std::move(masters);
    impl.next_master = 0;
    impl.masters_changed = true;
    impl.pause_timer.cancel();  // a subscription waiting out its back-off goes now
    // The stream is compared by the master it started from, before any
    // redirect, so a master reached through a 307 is not left needlessly.
    const bool current =
        impl.stream_origin && std::find(impl.cfg.masters.begin(), impl.cfg.masters.end(),
                                        *impl.stream_origin) != impl.cfg.masters.end();
    if (impl.leader && !current && !impl.cfg.masters.empty())
        reconnect("the leading master changed to " + impl.cfg.masters.front().to_string());
    // A subscription still being made to a master no longer named is cut
    // short rather than left to its connect timeout.
    if (!impl.leader && impl.connecting != nullptr && !current) {
        log::info("reconnect", "reason={}",
                  log::quote("the masters changed while subscribing; giving that master up"));
        impl.connecting->cancel();
    }
}

void MasterClient::reconnect(const std::string& reason) {
    log::info("reconnect", "reason={}", log::quote(reason));
    if (impl_->subscription != nullptr) {
        ++impl_->generation;
        impl_->subscription->cancel();
    }
}

const std::string& MasterClient::stream_id() const {
    return impl_->stream_id;
}

Result<PostOutcome> post_once(const TransportConfig& config, std::string_view content_type,
                              const std::string& body) {
    if (config.masters.empty())
        return Error{"no masters"};
    try {
        asio::io_context io;
        ssl::context tls = make_tls_context(config);
        const std::string auth = config.credentials ? basic_auth(*config.credentials) : "";
        PostOutcome out;
        asio::co_spawn(io, post_round(io, config, tls, auth, content_type, body, out),
                       [](const std::exception_ptr& e) {
                           if (e)
                               std::rethrow_exception(e);
                       });
        io.run();
        return out;
    } catch (const std::exception& e) {
        return Error{e.what()};
    }
}

}  // namespace mesoflow::transport
