// TestPki: a throwaway certificate authority for TLS tests, made with
// OpenSSL at test time (nothing secret is checked in). Its files live in a
// fresh directory that the destructor removes. Throws std::runtime_error when
// OpenSSL or the file system fails.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace mesoflow::testing {

struct CertificateFiles {
    std::string certificate;  // PEM: the server certificate
    std::string key;          // PEM: its private key
};

class TestPki {
  public:
    // A self-signed CA with this common name.
    explicit TestPki(const std::string& ca_name);
    ~TestPki();
    TestPki(const TestPki&) = delete;
    TestPki& operator=(const TestPki&) = delete;

    // The CA certificate (PEM), what a client trusts.
    const std::string& ca_file() const;
    // A server certificate signed by this CA whose subjectAltName holds
    // `names`: DNS names, or IP addresses (told apart by parsing).
    CertificateFiles issue(const std::string& stem, const std::vector<std::string>& names);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mesoflow::testing
