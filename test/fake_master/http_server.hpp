// HttpServer: the fake master's HTTP/1.1 listener on the Reactor's loop.
// Requests on one connection are answered in order (pipelining works: bytes
// after a request wait in the buffer). A handler either answers at once or
// turns the response into a stream: the server writes the head with
// `Transfer-Encoding: chunked` and hands the handler an EventStream, which
// the master writes RecordIO records to, one chunk each, for as long as the
// subscription lives.
// While a stream is open the server still reads the socket, so a peer that
// closes is noticed at once (as the real master notices a closed
// subscription connection), not at the next heartbeat.
// Everything here runs on the loop thread; Beast stays inside the .cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reactor.hpp"

namespace mesoflow::fake {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string method;
    std::string target;  // as sent: path and query
    std::string path;
    std::string query;  // without '?'
    HeaderList headers;
    std::string body;

    // Case-insensitive lookup of the first header with this name.
    const std::string* header(std::string_view name) const;
};

struct HttpResponse {
    int status = 200;
    HeaderList headers;
    std::string body;
};

// The write side of a streaming response. Loop thread only.
class EventStream {
  public:
    virtual ~EventStream() = default;
    // Appends bytes to the stream as one HTTP chunk of their own (nothing
    // for empty bytes): the master writes one RecordIO record per call, or
    // the raw bytes of an injected fault. Chunks appended before the socket
    // is free again go out in one write.
    virtual void write(std::string_view bytes) = 0;
    // Holds bytes back (they stay queued) while paused.
    virtual void set_paused(bool paused) = 0;
    // Sends what is queued, then the terminating chunk; the connection then
    // serves requests again.
    virtual void end() = 0;
    // Closes the TCP connection now, without the terminating chunk.
    virtual void drop() = 0;
    virtual bool open() const = 0;
    // Called once when the stream stops for any reason (end, drop, the peer
    // closing, an I/O error).
    virtual void on_close(std::function<void()> handler) = 0;
    virtual std::uint64_t bytes_queued() const = 0;
};

struct HttpReply {
    HttpResponse response;
    // When set, the response is a stream: `response.body` is ignored and the
    // function receives the stream right after the head is queued.
    std::function<void(std::shared_ptr<EventStream>)> start_stream;
    // When set, no answer: the connection closes once what is already queued
    // on it is written, and requests behind this one are never read.
    bool drop_connection = false;
};

using HttpHandler = std::function<HttpReply(HttpRequest&)>;

std::string_view reason_phrase(int status);

class HttpServer {
  public:
    // Binds and listens at once; throws std::runtime_error if it cannot.
    // Port 0 picks a free port.
    HttpServer(Reactor& reactor, const std::string& host, int port, HttpHandler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    int port() const { return port_; }
    // Starts accepting (loop thread or before the loop runs).
    void start();
    // Closes every open connection but keeps accepting (loop thread).
    void drop_connections();
    // Stops accepting and closes every connection (loop thread).
    void close_all();

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
    int port_ = 0;
};

}  // namespace mesoflow::fake
