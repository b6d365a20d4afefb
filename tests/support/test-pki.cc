#include "tests/support/test-pki.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace virtgrpc::testing
{

namespace
{

// P-256 keys: generated in milliseconds, unlike RSA.
constexpr const char kNewKey[] =
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

} // namespace

std::string
ReadFile(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool
TestPki::Run(const std::string &command)
{
    std::string full = "cd '" + dir_ + "' && (" + command + ") >>openssl.log 2>&1";
    if (std::system(full.c_str()) != 0) {
        ADD_FAILURE() << "failed: " << command << "\n" << ReadFile(dir_ + "/openssl.log");
        return false;
    }
    return true;
}

TestPki::TestPki(const std::string &server_name)
{
    char templ[] = "/tmp/virtgrpc-pki-XXXXXX";
    if (!mkdtemp(templ)) {
        ADD_FAILURE() << "mkdtemp failed";
        return;
    }
    dir_ = templ;
    for (const char *stem : {"ca", "untrusted-ca"}) {
        if (!Run(std::string(kNewKey) + " -x509 -days 2 -keyout " + stem + ".key -out " +
                 stem + ".crt -subj /CN=virtgrpc-test-" + stem))
            return;
    }
    ok_ = ReissueServer(server_name);
}

TestPki::~TestPki()
{
    if (!dir_.empty())
        std::system(("rm -rf '" + dir_ + "'").c_str());
}

bool
TestPki::Issue(const std::string &stem, const std::string &common_name,
               const std::string &ca_stem, const std::string &extensions)
{
    std::ofstream(dir_ + "/" + stem + ".ext") << extensions;
    return Run(std::string(kNewKey) + " -keyout " + stem + ".key -out " + stem +
               ".csr -subj '/CN=" + common_name + "'") &&
           Run("openssl x509 -req -days 2 -in " + stem + ".csr -CA " + ca_stem +
               ".crt -CAkey " + ca_stem + ".key -CAcreateserial -out " + stem +
               ".crt -extfile " + stem + ".ext");
}

bool
TestPki::ReissueServer(const std::string &server_name)
{
    // New files first, then rename: the server's file watcher never reads half a file.
    return Issue("server-next", server_name, "ca",
                 "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                 "extendedKeyUsage=serverAuth\n") &&
           Run("mv server-next.key server.key && mv server-next.crt server.crt");
}

bool
TestPki::IssueClient(const std::string &name, const std::string &common_name,
                     bool by_untrusted_ca, const std::string &dns_san)
{
    std::string extensions = "extendedKeyUsage=clientAuth\n";
    if (!dns_san.empty())
        extensions += "subjectAltName=DNS:" + dns_san + "\n";
    return Issue(name, common_name, by_untrusted_ca ? "untrusted-ca" : "ca", extensions);
}

std::vector<std::string>
TestPki::ServerArgs(bool mutual) const
{
    std::vector<std::string> args = {"--tls-cert=" + server_cert(),
                                     "--tls-key=" + server_key()};
    if (mutual)
        args.push_back("--tls-client-ca=" + ca_cert());
    return args;
}

std::shared_ptr<grpc::ChannelCredentials>
TestPki::Credentials(const std::string &name) const
{
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(ca_cert());
    if (!name.empty()) {
        options.pem_private_key = ReadFile(dir_ + "/" + name + ".key");
        options.pem_cert_chain = ReadFile(dir_ + "/" + name + ".crt");
    }
    return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::Channel>
TestPki::Channel(const std::string &target, const std::string &client_name) const
{
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    // A fresh connection per channel: tests compare what different channels see.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(target, Credentials(client_name), args);
}

} // namespace virtgrpc::testing
