// The client tests' certificates (client/testdata/make-certs.sh, data //client:test_certs)
// and the virtgrpcd that trusts them: mutual TLS on its TCP listener with the test CA's
// server certificate (localhost, 127.0.0.1), client certificates of the test CA required,
// the test client certificate (CN virtgrpc-test-client) mapped to the read-only role.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tests/support/virtgrpcd-process.h"

namespace virtgrpc::testing {

// A file of client/testdata, as an absolute path (the server runs in another directory).
inline std::string ClientTestCert(const char *name) {
    char *cwd = getcwd(nullptr, 0);
    std::string path = std::string(cwd) + "/client/testdata/" + name;
    free(cwd);
    return path;
}

inline VirtgrpcdProcess::Options MutualTlsServerOptions() {
    VirtgrpcdProcess::Options options;
    options.extra_args = {"--tls-cert=" + ClientTestCert("server.pem"),
                          "--tls-key=" + ClientTestCert("server.key"),
                          "--tls-client-ca=" + ClientTestCert("ca.pem"),
                          "--role=virtgrpc-test-client=read-only"};
    return options;
}

}  // namespace virtgrpc::testing
