// TlsProxy: terminates TLS on a loopback port and forwards the plain bytes
// both ways to an upstream HTTP server (the fake master, which speaks plain
// HTTP only), so mesoflow's https client meets a real TLS server. Streams
// of any length pass through unchanged, chunk by chunk.
//
// Owns one thread running its io_context; the counters are safe to read
// from any thread. The constructor throws when the certificate cannot be
// loaded or the port cannot be opened; the destructor closes every
// connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "test_pki.hpp"

namespace mesoflow::testing {

class TlsProxy {
  public:
    TlsProxy(const CertificateFiles& certificate, std::string upstream_host, int upstream_port);
    ~TlsProxy();
    TlsProxy(const TlsProxy&) = delete;
    TlsProxy& operator=(const TlsProxy&) = delete;

    int port() const;
    std::string address() const;  // "127.0.0.1:<port>"

    std::uint64_t connections() const;        // accepted TCP connections
    std::uint64_t handshakes() const;         // of those, TLS handshakes completed
    std::uint64_t failed_handshakes() const;  // of those, handshakes the client broke off

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mesoflow::testing
