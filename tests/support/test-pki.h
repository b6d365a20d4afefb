// Certificates for TLS tests, made with Debian's openssl command in a fresh directory:
// a CA, a server certificate for localhost / 127.0.0.1, client certificates with any
// common name, and a second CA that virtgrpcd does not trust.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace virtgrpc::testing
{

class TestPki
{
  public:
    // Creates the directory under /tmp and the CA, the "wrong" CA and a server
    // certificate (common name `server_name`). Fails the test (ADD_FAILURE) when openssl
    // does; ok() tells.
    explicit TestPki(const std::string &server_name = "virtgrpcd-server");
    ~TestPki();

    bool
    ok() const
    {
        return ok_;
    }
    const std::string &
    dir() const
    {
        return dir_;
    }

    std::string
    ca_cert() const
    {
        return dir_ + "/ca.crt";
    }
    std::string
    server_cert() const
    {
        return dir_ + "/server.crt";
    }
    std::string
    server_key() const
    {
        return dir_ + "/server.key";
    }

    // Issues <dir>/<name>.crt and .key with common name `common_name`, signed by the CA
    // (or by the CA virtgrpcd does not trust), and an optional DNS subject alternative
    // name. Returns false after ADD_FAILURE when openssl fails.
    bool IssueClient(const std::string &name, const std::string &common_name,
                     bool by_untrusted_ca = false, const std::string &dns_san = "");
    // Replaces the server certificate and key with a new pair of common name
    // `server_name` (written to temporary files, then renamed over the old ones).
    bool ReissueServer(const std::string &server_name);

    // virtgrpcd arguments: server certificate and key, plus the client CA when `mutual`.
    std::vector<std::string> ServerArgs(bool mutual) const;

    // Channel credentials trusting the CA; with the client certificate `name` (issued
    // by IssueClient) unless `name` is empty.
    std::shared_ptr<grpc::ChannelCredentials> Credentials(const std::string &name) const;
    // A channel to `target` with those credentials, checking the server's name against
    // "localhost" (the server certificate's SAN) whatever address `target` has.
    std::shared_ptr<grpc::Channel> Channel(const std::string &target,
                                           const std::string &client_name) const;

  private:
    bool Run(const std::string &command);
    bool Issue(const std::string &stem, const std::string &common_name,
               const std::string &ca_stem, const std::string &extensions);

    std::string dir_;
    bool ok_ = false;
};

// The whole content of `path` ("" when it cannot be read).
std::string ReadFile(const std::string &path);

} // namespace virtgrpc::testing
