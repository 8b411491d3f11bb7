#include "test_pki.hpp"

#include <arpa/inet.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace mesoflow::testing {
namespace {

// Long enough for any test run, short enough to be plainly a test certificate.
constexpr long kValiditySeconds = 24L * 3600;
constexpr long kBackdateSeconds = 3600;  // clocks a little apart still agree

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
    void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("TestPki: " + what);
}

Key new_key() {
    Key key(EVP_EC_gen("P-256"));
    if (!key)
        fail("cannot generate a key");
    return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr)
        fail("bad extension " + value);
    const int added = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (added != 1)
        fail("cannot add extension " + value);
}

// `issuer` null: self-signed with `key`.
Cert new_certificate(EVP_PKEY* key, const std::string& common_name, X509* issuer, long serial) {
    Cert cert(X509_new());
    if (!cert || X509_set_version(cert.get(), 2) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds) == nullptr ||
        X509_set_pubkey(cert.get(), key) != 1) {
        fail("cannot fill a certificate");
    }
    X509_NAME* name = X509_get_subject_name(cert.get());
    const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1)
        fail("cannot set the common name");
    X509* signer = issuer != nullptr ? issuer : cert.get();
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1)
        fail("cannot set the issuer");
    return cert;
}

void sign(X509* cert, EVP_PKEY* key) {
    if (X509_sign(cert, key, EVP_sha256()) == 0)
        fail("cannot sign");
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr)
        fail("cannot write " + path);
    const bool ok = cert != nullptr
                        ? PEM_write_X509(f, cert) == 1
                        : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(f);
    if (!ok)
        fail("cannot write " + path);
}

bool is_ip_address(const std::string& name) {
    unsigned char buf[16];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

}  // namespace

struct TestPki::Impl {
    std::string dir;
    std::string ca_file;
    Key key;
    Cert cert;
    long next_serial = 2;
};

TestPki::TestPki(const std::string& ca_name) : impl_(std::make_unique<Impl>()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/mesoflow-pki-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
        fail("cannot create a directory");
    impl_->dir = pattern;
    impl_->key = new_key();
    impl_->cert = new_certificate(impl_->key.get(), ca_name, nullptr, 1);
    X509* ca = impl_->cert.get();
    add_extension(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(ca, ca, NID_subject_key_identifier, "hash");
    sign(ca, impl_->key.get());
    impl_->ca_file = impl_->dir + "/ca.pem";
    write_pem(impl_->ca_file, ca, nullptr);
}

TestPki::~TestPki() {
    std::error_code ec;
    std::filesystem::remove_all(impl_->dir, ec);
}

const std::string& TestPki::ca_file() const {
    return impl_->ca_file;
}

CertificateFiles TestPki::issue(const std::string& stem, const std::vector<std::string>& names) {
    if (names.empty())
        fail("a server certificate needs a name");
    Key key = new_key();
    Cert cert = new_certificate(key.get(), names.front(), impl_->cert.get(), impl_->next_serial++);
    std::string alt;
    for (const auto& n : names)
        alt += (alt.empty() ? "" : ",") + std::string(is_ip_address(n) ? "IP:" : "DNS:") + n;
    X509* ca = impl_->cert.get();
    add_extension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), ca, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), ca, NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), ca, NID_subject_alt_name, alt);
    add_extension(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
    sign(cert.get(), impl_->key.get());
    CertificateFiles files{impl_->dir + "/" + stem + ".pem", impl_->dir + "/" + stem + ".key"};
    write_pem(files.certificate, cert.get(), nullptr);
    write_pem(files.key, nullptr, key.get());
    return files;
}

}  // namespace mesoflow::testing
