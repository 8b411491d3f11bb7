#include "http_server.hpp"

#include <fmt/core.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <optional>
#include <stdexcept>
#include <unordered_set>

#include "mesoflow/common/log.hpp"

namespace mesoflow::fake {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// A 10,000-task ACCEPT is a few MB; anything near this is a broken client.
constexpr std::uint64_t kMaxRequestBodyBytes = 64ull * 1024 * 1024;
constexpr std::uint32_t kMaxRequestHeaderBytes = 64 * 1024;
// A subscription connection carries no requests; a peer that keeps sending
// bytes on it is cut off rather than buffered forever.
constexpr std::size_t kMaxBytesReadDuringStream = 1024 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;
// Answers not yet written beyond this stop the reading of further requests.
constexpr std::size_t kMaxPendingResponseBytes = 64 * 1024 * 1024;
// A reader that stops reading while events keep coming is cut off here, as a
// real master's socket buffers would eventually fail the connection.
constexpr std::uint64_t kMaxQueuedStreamBytes = 512ull * 1024 * 1024;

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto x = static_cast<unsigned char>(a[i]);
        const auto y = static_cast<unsigned char>(b[i]);
        if (std::tolower(x) != std::tolower(y))
            return false;
    }
    return true;
}

std::string serialize_head(const HttpResponse& r, bool streaming, bool close) {
    std::string out = fmt::format("HTTP/1.1 {} {}\r\n", r.status, reason_phrase(r.status));
    for (const auto& [name, value] : r.headers) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    if (streaming) {
        out += "Transfer-Encoding: chunked\r\n";
    } else {
        out += fmt::format("Content-Length: {}\r\n", r.body.size());
    }
    if (close)
        out += "Connection: close\r\n";
    out += "\r\n";
    return out;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (iequals(n, name))
            return &v;
    }
    return nullptr;
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 202:
            return "Accepted";
        case 307:
            return "Temporary Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 406:
            return "Not Acceptable";
        case 409:
            return "Conflict";
        case 413:
            return "Request Entity Too Large";
        case 415:
            return "Unsupported Media Type";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

class Connection;

struct HttpServer::Impl {
    Impl(Reactor& r, HttpHandler h) : reactor(r), acceptor(r.io()), handler(std::move(h)) {}
    void accept();

    Reactor& reactor;
    tcp::acceptor acceptor;
    HttpHandler handler;
    std::unordered_set<std::shared_ptr<Connection>> connections;
    bool closed = false;
};

// One accepted TCP connection: a request/response loop that can turn into a
// chunked event stream and back.
class Connection : public std::enable_shared_from_this<Connection> {
  public:
    Connection(tcp::socket socket, HttpServer::Impl* server)
        : socket_(std::move(socket)), server_(server) {}

    void start() { read_more(); }
    void close();

    // Stream side, addressed through StreamHandle with a generation so that a
    // handle from an earlier stream on this connection goes stale.
    bool stream_open(std::uint64_t generation) const {
        return mode_ == Mode::streaming && generation == stream_generation_ && !ending_;
    }
    void stream_write(std::uint64_t generation, std::string_view bytes);
    void stream_pause(std::uint64_t generation, bool paused);
    void stream_end(std::uint64_t generation);
    void stream_drop(std::uint64_t generation) {
        if (generation == stream_generation_ && mode_ == Mode::streaming)
            close();
    }
    void stream_on_close(std::uint64_t generation, std::function<void()> handler) {
        if (generation == stream_generation_)
            on_stream_close_ = std::move(handler);
    }
    std::uint64_t stream_queued(std::uint64_t generation) const {
        return generation == stream_generation_ ? pending_.size() : 0;
    }

  private:
    enum class Mode { requests, streaming, closed };

    void read_more();
    void on_bytes();
    void process_buffered();
    void handle_request();
    void schedule_flush();
    void flush();
    void finish_stream();

    tcp::socket socket_;
    HttpServer::Impl* server_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Mode mode_ = Mode::requests;
    bool reading_ = false;
    bool writing_ = false;
    bool flush_scheduled_ = false;
    bool close_after_write_ = false;
    bool paused_ = false;
    bool ending_ = false;
    bool terminator_in_flight_ = false;
    std::uint64_t stream_generation_ = 0;
    std::string head_;     // response bytes not yet written
    std::string pending_;  // stream chunks, framed, not yet written
    std::string out_;      // bytes being written now
    std::function<void()> on_stream_close_;
};

namespace {

class StreamHandle : public EventStream {
  public:
    StreamHandle(std::weak_ptr<Connection> connection, std::uint64_t generation)
        : connection_(std::move(connection)), generation_(generation) {}

    void write(std::string_view bytes) override {
        if (auto c = connection_.lock())
            c->stream_write(generation_, bytes);
    }
    void set_paused(bool paused) override {
        if (auto c = connection_.lock())
            c->stream_pause(generation_, paused);
    }
    void end() override {
        if (auto c = connection_.lock())
            c->stream_end(generation_);
    }
    void drop() override {
        if (auto c = connection_.lock())
            c->stream_drop(generation_);
    }
    bool open() const override {
        auto c = connection_.lock();
        return c && c->stream_open(generation_);
    }
    void on_close(std::function<void()> handler) override {
        if (auto c = connection_.lock())
            c->stream_on_close(generation_, std::move(handler));
    }
    std::uint64_t bytes_queued() const override {
        auto c = connection_.lock();
        return c ? c->stream_queued(generation_) : 0;
    }

  private:
    std::weak_ptr<Connection> connection_;
    std::uint64_t generation_;
};

}  // namespace

void Connection::read_more() {
    if (mode_ == Mode::closed || reading_)
        return;
    if (mode_ == Mode::requests && head_.size() + out_.size() > kMaxPendingResponseBytes) {
        return;  // the peer is not reading its answers; resume once they are written
    }
    reading_ = true;
    socket_.async_read_some(
        buffer_.prepare(kReadChunk),
        [self = shared_from_this()](const beast::error_code& ec, std::size_t n) {
            self->reading_ = false;
            if (self->mode_ == Mode::closed)
                return;
            if (ec) {
                self->close();
                return;
            }
            self->buffer_.commit(n);
            self->on_bytes();
        });
}

void Connection::on_bytes() {
    if (mode_ == Mode::streaming) {
        // Only a closed peer matters here; bytes it sends wait for the stream's end.
        if (buffer_.size() > kMaxBytesReadDuringStream) {
            log::warn("fake_master_stream_cut", "reason={}",
                      log::quote("peer sent too many bytes on a subscription connection"));
            close();
            return;
        }
        read_more();
        return;
    }
    process_buffered();
}

void Connection::process_buffered() {
    // Every complete request already buffered is answered before anything is
    // written, so a pipelining client gets its answers, and the events they
    // cause, in a few large writes instead of one small write each.
    while (mode_ == Mode::requests && !close_after_write_ && buffer_.size() > 0) {
        if (!parser_) {
            parser_.emplace();
            parser_->body_limit(kMaxRequestBodyBytes);
            parser_->header_limit(kMaxRequestHeaderBytes);
            parser_->eager(true);
        }
        beast::error_code ec;
        const std::size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        if (ec == http::error::need_more)
            break;
        if (ec) {
            parser_.reset();
            HttpResponse bad{400,
                             {{"Content-Type", "text/plain; charset=utf-8"}},
                             "Malformed HTTP request: " + ec.message()};
            head_ += serialize_head(bad, false, true) + bad.body;
            close_after_write_ = true;
            break;
        }
        if (!parser_->is_done()) {
            if (used == 0)
                break;
            continue;
        }
        handle_request();
    }
    // A dropped connection closes once what is queued is written (flush).
    if (!head_.empty() || close_after_write_)
        schedule_flush();
    if (mode_ != Mode::closed && !close_after_write_)
        read_more();
}

void Connection::handle_request() {
    auto& message = parser_->get();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    const auto q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos)
        request.query = request.target.substr(q + 1);
    for (const auto& field : message) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    const bool keep_alive = message.keep_alive();
    parser_.reset();

    HttpReply reply = server_->handler(request);
    if (reply.drop_connection) {
        // No answer: what is written so far goes, then the connection closes;
        // requests behind this one are never read.
        close_after_write_ = true;
        return;
    }
    if (!keep_alive)
        close_after_write_ = true;
    if (!reply.start_stream) {
        head_ += serialize_head(reply.response, false, close_after_write_);
        head_ += reply.response.body;
        return;
    }
    head_ += serialize_head(reply.response, true, false);
    mode_ = Mode::streaming;
    ++stream_generation_;
    paused_ = false;
    ending_ = false;
    on_stream_close_ = nullptr;
    reply.start_stream(std::make_shared<StreamHandle>(weak_from_this(), stream_generation_));
}

void Connection::stream_write(std::uint64_t generation, std::string_view bytes) {
    if (!stream_open(generation) || bytes.empty())
        return;  // an empty chunk would be the terminating one
    // Each write is a chunk of its own, as the real master sends each event
    // (one RecordIO record) in a chunk of its own.
    pending_ += fmt::format("{:x}\r\n", bytes.size());
    pending_.append(bytes);
    pending_ += "\r\n";
    if (pending_.size() > kMaxQueuedStreamBytes) {
        log::warn("fake_master_stream_cut", "reason={} queued_bytes={}",
                  log::quote("subscriber is not reading"), pending_.size());
        close();
        return;
    }
    schedule_flush();
}

void Connection::stream_pause(std::uint64_t generation, bool paused) {
    if (generation != stream_generation_ || mode_ != Mode::streaming)
        return;
    paused_ = paused;
    if (!paused_)
        schedule_flush();
}

void Connection::stream_end(std::uint64_t generation) {
    if (!stream_open(generation))
        return;
    ending_ = true;
    schedule_flush();
}

void Connection::schedule_flush() {
    if (flush_scheduled_ || mode_ == Mode::closed)
        return;
    flush_scheduled_ = true;
    // Deferred so that every event produced by the current piece of work
    // leaves in one write (one chunk each).
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->flush_scheduled_ = false;
        self->flush();
    });
}

void Connection::flush() {
    if (writing_ || mode_ == Mode::closed)
        return;
    out_.clear();
    out_.swap(head_);
    if (mode_ == Mode::streaming && !paused_) {
        out_ += pending_;
        pending_.clear();
        if (ending_) {
            out_ += "0\r\n\r\n";
            terminator_in_flight_ = true;
        }
    }
    if (out_.empty()) {
        if (close_after_write_ && mode_ == Mode::requests) {
            close();
        } else if (mode_ == Mode::requests && (buffer_.size() > 0 || !reading_)) {
            process_buffered();  // a stream ended, or reading paused for answers
        }
        return;
    }
    writing_ = true;
    asio::async_write(
        socket_, asio::buffer(out_),
        [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
            self->writing_ = false;
            if (self->mode_ == Mode::closed)
                return;
            if (ec) {
                self->close();
                return;
            }
            if (self->terminator_in_flight_) {
                self->terminator_in_flight_ = false;
                self->finish_stream();
            }
            if (self->close_after_write_ && self->head_.empty() && self->mode_ == Mode::requests) {
                self->close();
                return;
            }
            self->flush();
        });
}

void Connection::finish_stream() {
    mode_ = Mode::requests;
    ending_ = false;
    paused_ = false;
    pending_.clear();
    ++stream_generation_;  // handles of the ended stream go stale
    if (auto handler = std::move(on_stream_close_)) {
        on_stream_close_ = nullptr;
        handler();
    }
}

void Connection::close() {
    if (mode_ == Mode::closed)
        return;
    const bool was_streaming = mode_ == Mode::streaming;
    mode_ = Mode::closed;
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    auto self = shared_from_this();
    server_->connections.erase(self);
    if (was_streaming) {
        if (auto handler = std::move(on_stream_close_)) {
            on_stream_close_ = nullptr;
            handler();
        }
    }
}

void HttpServer::Impl::accept() {
    acceptor.async_accept([this](const beast::error_code& ec, tcp::socket socket) {
        if (closed)
            return;
        if (!ec) {
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            auto connection = std::make_shared<Connection>(std::move(socket), this);
            connections.insert(connection);
            connection->start();
        } else if (ec == asio::error::operation_aborted) {
            return;
        }
        accept();
    });
}

HttpServer::HttpServer(Reactor& reactor, const std::string& host, int port, HttpHandler handler)
    : impl_(std::make_unique<Impl>(reactor, std::move(handler))) {
    beast::error_code ec;
    auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec)
        throw std::runtime_error("cannot listen on '" + host + "': not an IP address");
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec)
        acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor.bind(endpoint, ec);
    if (!ec)
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        throw std::runtime_error(
            fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
    }
    port_ = acceptor.local_endpoint().port();
}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
    impl_->accept();
}

void HttpServer::drop_connections() {
    auto connections = impl_->connections;
    for (const auto& c : connections)
        c->close();
    impl_->connections.clear();
}

void HttpServer::close_all() {
    impl_->closed = true;
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    auto connections = impl_->connections;
    for (const auto& c : connections)
        c->close();
    impl_->connections.clear();
}

}  // namespace mesoflow::fake
