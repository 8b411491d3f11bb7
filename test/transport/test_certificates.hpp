// The certificates the TLS tests use, made once per test process: a CA the
// client is told to trust and an untrusted one, each signing server
// certificates for localhost/127.0.0.1 or for a name no test connects to.
#pragma once

#include "test_pki.hpp"

namespace mesoflow::testing {

struct TestCertificates {
    TestPki ca{"mesoflow test CA"};
    TestPki untrusted{"mesoflow untrusted CA"};
    CertificateFiles localhost = ca.issue("localhost", {"localhost", "127.0.0.1"});
    CertificateFiles other_host = ca.issue("other", {"mesos-master.invalid"});
    CertificateFiles untrusted_localhost = untrusted.issue("localhost", {"localhost", "127.0.0.1"});
    CertificateFiles untrusted_other_host = untrusted.issue("other", {"mesos-master.invalid"});
};

inline const TestCertificates& test_certificates() {
    static const TestCertificates certificates;
    return certificates;
}

}  // namespace mesoflow::testing
