#include "tls_proxy.hpp"

// clang-format off
// Before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it.
#include <utility>
// clang-format on
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <stdexcept>
#include <thread>

namespace mesoflow::testing {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kPumpChunk = 16 * 1024;

// A client connection and its upstream; either end closing closes both.
struct Session {
    Session(tcp::socket socket, ssl::context& ctx, asio::io_context& io)
        : client(std::move(socket), ctx), upstream(io) {}
    ssl::stream<tcp::socket> client;
    tcp::socket upstream;

    void close() {
        error_code ec;
        client.lowest_layer().close(ec);
        upstream.close(ec);
    }
};

template <typename From, typename To>
awaitable<void> pump(std::shared_ptr<Session> session, From& from, To& to) {
    std::array<char, kPumpChunk> chunk{};
    for (;;) {
        error_code ec;
        const std::size_t n = co_await from.async_read_some(
            asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
        if (n > 0) {
            error_code wec;
            co_await asio::async_write(to, asio::buffer(chunk.data(), n),
                                       asio::redirect_error(use_awaitable, wec));
            if (wec)
                ec = wec;
        }
        if (ec) {
            session->close();
            co_return;
        }
    }
}

}  // namespace

struct TlsProxy::Impl {
    // Declared first, destroyed last: the sessions the io_context still
    // holds when it goes use it.
    ssl::context ctx{ssl::context::tls_server};
    asio::io_context io;
    tcp::acceptor acceptor{io};
    tcp::endpoint upstream;
    int port = 0;
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> handshakes{0};
    std::atomic<std::uint64_t> failed_handshakes{0};
    std::thread thread;

    awaitable<void> accept_loop() {
        for (;;) {
            error_code ec;
            tcp::socket socket =
                co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
            if (ec)
                co_return;
            ++connections;
            asio::co_spawn(io, serve(std::make_shared<Session>(std::move(socket), ctx, io)),
                           asio::detached);
        }
    }

    awaitable<void> serve(std::shared_ptr<Session> session) {
        error_code ec;
        co_await session->client.async_handshake(ssl::stream_base::server,
                                                 asio::redirect_error(use_awaitable, ec));
        if (ec) {
            ++failed_handshakes;
            session->close();
            co_return;
        }
        ++handshakes;
        co_await session->upstream.async_connect(upstream, asio::redirect_error(use_awaitable, ec));
        if (ec) {
            session->close();
            co_return;
        }
        asio::co_spawn(io, pump(session, session->client, session->upstream), asio::detached);
        asio::co_spawn(io, pump(session, session->upstream, session->client), asio::detached);
    }
};

TlsProxy::TlsProxy(const CertificateFiles& certificate, std::string upstream_host,
                   int upstream_port)
    : impl_(std::make_unique<Impl>()) {
    impl_->ctx.use_certificate_chain_file(certificate.certificate);
    impl_->ctx.use_private_key_file(certificate.key, ssl::context::pem);
    impl_->upstream = tcp::endpoint(asio::ip::make_address(upstream_host),
                                    static_cast<unsigned short>(upstream_port));
    const tcp::endpoint listen(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(listen.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(listen);
    impl_->acceptor.listen();
    impl_->port = impl_->acceptor.local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

TlsProxy::~TlsProxy() {
    impl_->io.stop();
    impl_->thread.join();
}

int TlsProxy::port() const {
    return impl_->port;
}

std::string TlsProxy::address() const {
    return "127.0.0.1:" + std::to_string(port());
}

std::uint64_t TlsProxy::connections() const {
    return impl_->connections.load();
}
std::uint64_t TlsProxy::handshakes() const {
    return impl_->handshakes.load();
}
std::uint64_t TlsProxy::failed_handshakes() const {
    return impl_->failed_handshakes.load();
}

}  // namespace mesoflow::testing
