// virtgrpcd's listeners and their security: TLS, mutual TLS with certificates made by
// openssl in the test, the refusal of plaintext on non-loopback addresses, Unix socket
// mode and group, the read-only socket, roles from certificate identities, the audit
// log and certificate reload without a restart.
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"
#include "tests/support/test-pki.h"
#include "tests/support/virtgrpcd-process.h"
#include "virtgrpc/v1/domain.grpc.pb.h"
#include "virtgrpc/v1/jobs.grpc.pb.h"

namespace virtgrpc::testing
{
namespace
{

using grpc::health::v1::Health;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::chrono::milliseconds kConnectTimeout{3000};

// Unix socket paths have at most 107 bytes: Bazel's TEST_TMPDIR is too long.
std::string
SocketPath(const std::string &what)
{
    return "/tmp/virtgrpcd-security-" + std::to_string(getpid()) + "-" + what + ".sock";
}

grpc::Status
CheckHealth(const std::shared_ptr<grpc::Channel> &channel,
            std::chrono::milliseconds timeout = kCallTimeout)
{
    auto context = ContextWithDeadline(timeout);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    return Health::NewStub(channel)->Check(context.get(), request, &response);
}

grpc::Status
ListDomains(const std::shared_ptr<grpc::Channel> &channel,
            v1::ListDomainsResponse *response)
{
    auto context = ContextWithDeadline();
    return v1::DomainService::NewStub(channel)->ListDomains(context.get(), {}, response);
}

grpc::Status
DestroyTest(const std::shared_ptr<grpc::Channel> &channel)
{
    auto context = ContextWithDeadline();
    v1::DestroyDomainRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::Domain response;
    return v1::DomainService::NewStub(channel)->DestroyDomain(context.get(), request,
                                                              &response);
}

v1::DomainState
StateOfTest(const std::shared_ptr<grpc::Channel> &channel)
{
    auto context = ContextWithDeadline();
    v1::GetDomainStateRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::DomainStateInfo response;
    grpc::Status status = v1::DomainService::NewStub(channel)->GetDomainState(
        context.get(), request, &response);
    EXPECT_TRUE(Succeeded(status));
    return response.state();
}

// A PERMISSION_DENIED of virtgrpc's role check whose message names the method and both
// roles.
::testing::AssertionResult
DeniedByRole(const grpc::Status &status, const std::string &method,
             const std::string &required, const std::string &caller)
{
    auto result = FailedWith(status, grpc::StatusCode::PERMISSION_DENIED,
                             "VIRTGRPC_PERMISSION_DENIED");
    if (!result)
        return result;
    const std::string &message = status.error_message();
    for (const std::string &part : {method, "'" + required + "'", "'" + caller + "'"}) {
        if (message.find(part) == std::string::npos)
            return ::testing::AssertionFailure()
                   << "message '" << message << "' does not name " << part;
    }
    return ::testing::AssertionSuccess();
}

class SecurityTest : public ::testing::Test
{
  protected:
    static void
    SetUpTestSuite()
    {
        pki_ = new TestPki();
        ASSERT_TRUE(pki_->ok());
        ASSERT_TRUE(pki_->IssueClient("reader", "reader-client"));
        ASSERT_TRUE(pki_->IssueClient("operator", "operator-client"));
        ASSERT_TRUE(pki_->IssueClient("admin", "admin-client"));
        ASSERT_TRUE(pki_->IssueClient("unmapped", "unmapped-client"));
        // Mapped by its subject alternative name, not its common name.
        ASSERT_TRUE(pki_->IssueClient("by-san", "unmapped-cn", false, "ops.clients.test"));
        ASSERT_TRUE(
            pki_->IssueClient("stranger", "admin-client", /*by_untrusted_ca=*/true));
    }
    static void
    TearDownTestSuite()
    {
        delete pki_;
        pki_ = nullptr;
    }

    void
    TearDown() override
    {
        if (HasFailure() && server_)
            std::cerr << "virtgrpcd log:\n" << server_->Log();
        server_.reset();
        for (const std::string &path : sockets_)
            unlink(path.c_str());
    }

    // Starts virtgrpcd with `args` on top of its loopback TCP listener.
    void
    Start(std::vector<std::string> args)
    {
        VirtgrpcdProcess::Options options;
        options.extra_args = std::move(args);
        server_ = std::make_unique<VirtgrpcdProcess>(options);
        ASSERT_TRUE(server_->running());
    }

    // The mutual-TLS server with the test's role map.
    void
    StartMutualTls(std::vector<std::string> more = {})
    {
        std::vector<std::string> args = pki_->ServerArgs(true);
        for (const char *role :
             {"--role=reader-client=read-only", "--role=operator-client=operator",
              "--role=admin-client=admin", "--role=ops.clients.test=operator"}) {
            args.push_back(role);
        }
        args.insert(args.end(), more.begin(), more.end());
        Start(args);
    }

    std::shared_ptr<grpc::Channel>
    Tls(const std::string &client)
    {
        return pki_->Channel(server_->target(), client);
    }
    std::shared_ptr<grpc::Channel>
    Plaintext()
    {
        return grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials());
    }
    std::shared_ptr<grpc::Channel>
    Unix(const std::string &path)
    {
        return grpc::CreateChannel("unix:" + path, grpc::InsecureChannelCredentials());
    }
    std::string
    NewSocket(const std::string &what)
    {
        sockets_.push_back(SocketPath(what));
        return sockets_.back();
    }

    static TestPki *pki_;
    std::unique_ptr<VirtgrpcdProcess> server_;
    std::vector<std::string> sockets_;
};

TestPki *SecurityTest::pki_ = nullptr;

// --- TLS -----------------------------------------------------------------------------

TEST_F(SecurityTest, TlsServesClientsThatTrustItsCa)
{
    Start(pki_->ServerArgs(false));
    EXPECT_TRUE(Succeeded(CheckHealth(Tls(""))));
    v1::ListDomainsResponse domains;
    ASSERT_TRUE(Succeeded(ListDomains(Tls(""), &domains)));
    ASSERT_EQ(domains.domains_size(), 1);
    EXPECT_EQ(domains.domains(0).name(), kStockDomainName);
}

TEST_F(SecurityTest, TlsListenerRefusesPlaintextClients)
{
    Start(pki_->ServerArgs(false));
    grpc::Status status = CheckHealth(Plaintext(), kConnectTimeout);
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);
}

TEST_F(SecurityTest, MutualTlsRejectsClientsWithoutCertificate)
{
    StartMutualTls();
    grpc::Status status = CheckHealth(Tls(""), kConnectTimeout);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(status);
    // The same server serves a client with a certificate.
    EXPECT_TRUE(Succeeded(CheckHealth(Tls("reader"))));
}

TEST_F(SecurityTest, MutualTlsRejectsCertificatesOfAnotherCa)
{
    StartMutualTls();
    // Same common name as the admin, but signed by a CA the server does not trust.
    grpc::Status status = CheckHealth(Tls("stranger"), kConnectTimeout);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(status);
    EXPECT_EQ(StateOfTest(Tls("admin")), v1::DOMAIN_STATE_RUNNING);
}

// --- roles from certificate identities ------------------------------------------------

TEST_F(SecurityTest, ReaderCertificateCanListButNotDestroy)
{
    StartMutualTls();
    v1::ListDomainsResponse domains;
    EXPECT_TRUE(Succeeded(ListDomains(Tls("reader"), &domains)));
    EXPECT_TRUE(DeniedByRole(DestroyTest(Tls("reader")),
                             "/virtgrpc.v1.DomainService/DestroyDomain", "operator",
                             "read-only"));
    EXPECT_EQ(StateOfTest(Tls("reader")), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(SecurityTest, OperatorCertificateRunsLifecycleButCannotDefine)
{
    StartMutualTls();
    EXPECT_TRUE(Succeeded(DestroyTest(Tls("operator"))));
    EXPECT_EQ(StateOfTest(Tls("operator")), v1::DOMAIN_STATE_SHUTOFF);

    auto context = ContextWithDeadline();
    v1::DefineDomainRequest request;
    request.set_xml(MinimalDomainXml("defined-by-operator"));
    v1::Domain response;
    grpc::Status status = v1::DomainService::NewStub(Tls("operator"))
                              ->DefineDomain(context.get(), request, &response);
    EXPECT_TRUE(DeniedByRole(status, "/virtgrpc.v1.DomainService/DefineDomain", "admin",
                             "operator"));
    v1::ListDomainsResponse domains;
    ASSERT_TRUE(Succeeded(ListDomains(Tls("admin"), &domains)));
    EXPECT_EQ(domains.domains_size(), 1) << "the denied definition happened";
}

TEST_F(SecurityTest, AdminCertificateCanDefine)
{
    StartMutualTls();
    auto context = ContextWithDeadline();
    v1::DefineDomainRequest request;
    request.set_xml(MinimalDomainXml("defined-by-admin"));
    v1::Domain response;
    EXPECT_TRUE(Succeeded(v1::DomainService::NewStub(Tls("admin"))
                              ->DefineDomain(context.get(), request, &response)));
    EXPECT_EQ(response.name(), "defined-by-admin");
}

TEST_F(SecurityTest, SubjectAlternativeNameMapsToItsRole)
{
    StartMutualTls();
    EXPECT_TRUE(Succeeded(DestroyTest(Tls("by-san"))));
    EXPECT_EQ(StateOfTest(Tls("admin")), v1::DOMAIN_STATE_SHUTOFF);
}

TEST_F(SecurityTest, UnmappedCertificateMayCallNothing)
{
    StartMutualTls();
    v1::ListDomainsResponse domains;
    EXPECT_TRUE(DeniedByRole(ListDomains(Tls("unmapped"), &domains),
                             "/virtgrpc.v1.DomainService/ListDomains", "read-only",
                             "none"));
}

TEST_F(SecurityTest, StartJobNeedsTheRoleOfItsOperation)
{
    StartMutualTls();
    auto jobs = v1::JobService::NewStub(Tls("operator"));

    // Migration is an admin operation, whoever starts it.
    v1::StartJobRequest migrate;
    *migrate.mutable_migrate()->mutable_domain() = RefByName(kStockDomainName);
    v1::Job job;
    auto context = ContextWithDeadline();
    EXPECT_TRUE(DeniedByRole(jobs->StartJob(context.get(), migrate, &job),
                             "/virtgrpc.v1.MigrationService/MigrateDomain", "admin",
                             "operator"));
    auto list_context = ContextWithDeadline();
    v1::ListJobsResponse listed;
    ASSERT_TRUE(Succeeded(jobs->ListJobs(list_context.get(), {}, &listed)));
    EXPECT_EQ(listed.jobs_size(), 0) << "the denied job was started";

    // A managed save is an operator's.
    v1::StartJobRequest save;
    *save.mutable_managed_save()->mutable_domain() = RefByName(kStockDomainName);
    auto save_context = ContextWithDeadline();
    grpc::Status status = jobs->StartJob(save_context.get(), save, &job);
    EXPECT_TRUE(Succeeded(status));
}

// --- plaintext, Unix sockets ---------------------------------------------------------

TEST_F(SecurityTest, PlaintextOnAllInterfacesIsRefusedAtStartup)
{
    std::string log = ::testing::TempDir() + "/refused.log";
    std::string command =
        VirtgrpcdProcess::BinaryPath() + " --listen=0.0.0.0:0 >" + log + " 2>&1";
    int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_NE(WEXITSTATUS(status), 0);
    EXPECT_THAT(ReadFile(log), HasSubstr("refusing plaintext on a non-loopback address"));
}

TEST_F(SecurityTest, PlaintextOnAllInterfacesStartsWithTheInsecureFlag)
{
    Start({"--listen=0.0.0.0:0", "--allow-insecure-plaintext"});
    EXPECT_TRUE(Succeeded(CheckHealth(Plaintext())));
}

TEST_F(SecurityTest, UnixSocketGetsItsModeAndGroup)
{
    std::string path = NewSocket("mode");
    // A group the test (and the server it starts) belongs to, other than its primary
    // one when it has such: chown to any other group needs privileges that Bazel's
    // sandbox (a user namespace mapping only root's ids) does not give.
    gid_t gid = getegid();
    gid_t groups[64];
    int n_groups = getgroups(64, groups);
    for (int i = 0; i < n_groups; i++) {
        if (groups[i] != getegid() && getgrgid(groups[i]))
            gid = groups[i];
    }
    struct group *group = getgrgid(gid);
    ASSERT_NE(group, nullptr);
    Start({"--listen=unix:" + path, "--socket-mode=0640",
           std::string("--socket-group=") + group->gr_name});
    struct stat info;
    ASSERT_EQ(stat(path.c_str(), &info), 0);
    EXPECT_TRUE(S_ISSOCK(info.st_mode));
    EXPECT_EQ(info.st_mode & 0777, 0640u);
    EXPECT_EQ(info.st_gid, gid);
    EXPECT_TRUE(Succeeded(CheckHealth(Unix(path))));
}

TEST_F(SecurityTest, ReadOnlySocketCanListButNotDestroy)
{
    std::string read_only = NewSocket("ro");
    std::string read_write = NewSocket("rw");
    Start({"--listen=unix:" + read_write, "--listen-read-only=unix:" + read_only});
    v1::ListDomainsResponse domains;
    EXPECT_TRUE(Succeeded(ListDomains(Unix(read_only), &domains)));
    EXPECT_EQ(domains.domains_size(), 1);
    EXPECT_TRUE(DeniedByRole(DestroyTest(Unix(read_only)),
                             "/virtgrpc.v1.DomainService/DestroyDomain", "operator",
                             "read-only"));
    EXPECT_EQ(StateOfTest(Unix(read_write)), v1::DOMAIN_STATE_RUNNING);
    // The read-write socket and loopback TCP are admin.
    EXPECT_TRUE(Succeeded(DestroyTest(Unix(read_write))));
    EXPECT_EQ(StateOfTest(Plaintext()), v1::DOMAIN_STATE_SHUTOFF);
}

// A TCP port free a moment ago (the kernel does not hand it out again at once).
int
FreePort()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address));
    getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length);
    close(fd);
    return ntohs(address.sin_port);
}

TEST_F(SecurityTest, HealthOnlyListenerIsPlaintextOnAnyAddressAndServesOnlyHealth)
{
    int port = FreePort();
    // 0.0.0.0 without --allow-insecure-plaintext: health carries no data.
    Start({"--health-listen=0.0.0.0:" + std::to_string(port)});
    auto health = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                      grpc::InsecureChannelCredentials());
    EXPECT_TRUE(Succeeded(CheckHealth(health)));
    v1::ListDomainsResponse domains;
    grpc::Status status = ListDomains(health, &domains);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << Describe(status);
    EXPECT_EQ(StateOfTest(Plaintext()), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(DestroyTest(health).error_code(), grpc::StatusCode::UNIMPLEMENTED);
    EXPECT_EQ(StateOfTest(Plaintext()), v1::DOMAIN_STATE_RUNNING);
}

// --- audit log -----------------------------------------------------------------------

std::vector<std::string>
Lines(const std::string &text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

TEST_F(SecurityTest, AuditLogRecordsEveryMutatingCallWithWhoWhatDomainAndOutcome)
{
    std::string audit = ::testing::TempDir() + "/audit.log";
    std::string read_only = NewSocket("audit-ro");
    StartMutualTls({"--audit-log=" + audit, "--listen-read-only=unix:" + read_only});

    v1::ListDomainsResponse domains;
    ASSERT_TRUE(Succeeded(ListDomains(Tls("admin"), &domains))); // a read: no line
    ASSERT_FALSE(DestroyTest(Unix(read_only)).ok());             // denied
    ASSERT_TRUE(Succeeded(DestroyTest(Tls("operator"))));        // done
    ASSERT_FALSE(DestroyTest(Tls("operator")).ok());             // libvirt refuses
    {
        auto context = ContextWithDeadline();
        v1::DefineDomainRequest request;
        request.set_xml(MinimalDomainXml("audited"));
        v1::Domain response;
        ASSERT_TRUE(Succeeded(v1::DomainService::NewStub(Tls("admin"))
                                  ->DefineDomain(context.get(), request, &response)));
    }
    {
        auto context = ContextWithDeadline();
        v1::StartJobRequest request;
        *request.mutable_migrate()->mutable_domain() = RefByName("audited");
        v1::Job job;
        ASSERT_FALSE(v1::JobService::NewStub(Tls("operator"))
                         ->StartJob(context.get(), request, &job)
                         .ok());
    }

    std::vector<std::string> lines;
    ASSERT_TRUE(WaitUntil([&] { return (lines = Lines(ReadFile(audit))).size() >= 5; },
                          std::chrono::seconds(5)))
        << ReadFile(audit);
    ASSERT_EQ(lines.size(), 5u) << ReadFile(audit);
    for (const std::string &line : lines) {
        EXPECT_THAT(line, ::testing::StartsWith("time=")) << line;
        EXPECT_THAT(line, Not(HasSubstr("ListDomains")));
    }
    EXPECT_THAT(lines[0], HasSubstr("listener=read-only-0"));
    EXPECT_THAT(lines[0], HasSubstr(" role=read-only method=/virtgrpc.v1.DomainService/"
                                    "DestroyDomain domain=test outcome=PERMISSION_DENIED "
                                    "reason=VIRTGRPC_PERMISSION_DENIED"));
    EXPECT_THAT(lines[1],
                HasSubstr(" who=operator-client role=operator method=/virtgrpc.v1."
                          "DomainService/DestroyDomain domain=test outcome=OK"));
    EXPECT_THAT(lines[2],
                HasSubstr(" who=operator-client role=operator method=/virtgrpc.v1."
                          "DomainService/DestroyDomain domain=test outcome="));
    EXPECT_THAT(lines[2], Not(HasSubstr("outcome=OK")));
    EXPECT_THAT(lines[2], HasSubstr("reason=VIR_ERR_"));
    // DefineDomain names no domain in its request: the one it returned.
    EXPECT_THAT(lines[3],
                HasSubstr(" who=admin-client role=admin method=/virtgrpc.v1."
                          "DomainService/DefineDomain domain=audited outcome=OK"));
    // StartJob: the domain inside the operation's request.
    EXPECT_THAT(lines[4],
                HasSubstr("method=/virtgrpc.v1.JobService/StartJob domain=audited "
                          "outcome=PERMISSION_DENIED"));
}

// --- the configuration file ----------------------------------------------------------

TEST_F(SecurityTest, ConfigFileMapsRolesDefinesListenersAndSighupReloadsTheRoles)
{
    std::string config = ::testing::TempDir() + "/virtgrpcd.conf";
    std::string read_only = NewSocket("conf-ro");
    auto write_config = [&](const std::string &reader_role) {
        std::ofstream(config) << "[tls]\n"
                              << "tls-cert = " << pki_->server_cert() << "\n"
                              << "tls-key = " << pki_->server_key() << "\n"
                              << "tls-client-ca = " << pki_->ca_cert() << "\n"
                              << "\n[roles]\n"
                              << "reader-client = " << reader_role << "\n"
                              << "admin-client = admin\n"
                              << "\n[listener local-ro]\n"
                              << "address = unix:" << read_only << "\n"
                              << "role = read-only\n"
                              << "mode = 0600\n";
    };
    write_config("read-only");
    Start({"--config=" + config});

    EXPECT_TRUE(DeniedByRole(DestroyTest(Tls("reader")),
                             "/virtgrpc.v1.DomainService/DestroyDomain", "operator",
                             "read-only"));
    EXPECT_TRUE(DeniedByRole(DestroyTest(Unix(read_only)),
                             "/virtgrpc.v1.DomainService/DestroyDomain", "operator",
                             "read-only"));
    struct stat info;
    ASSERT_EQ(stat(read_only.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    EXPECT_EQ(StateOfTest(Tls("admin")), v1::DOMAIN_STATE_RUNNING);

    // SIGHUP re-reads [roles]: the reader becomes an operator without a restart.
    write_config("operator");
    kill(server_->pid(), SIGHUP);
    EXPECT_TRUE(WaitUntil([&] { return DestroyTest(Tls("reader")).ok(); },
                          std::chrono::seconds(10)));
    EXPECT_EQ(StateOfTest(Tls("admin")), v1::DOMAIN_STATE_SHUTOFF);
}

TEST_F(SecurityTest, ConfigFileWithABadListenerGroupFailsTheCheck)
{
    std::string config = ::testing::TempDir() + "/bad.conf";
    std::ofstream(config) << "[listener public]\naddress = 0.0.0.0:0\ntls = sometimes\n";
    std::string log = ::testing::TempDir() + "/check.log";
    int status = std::system((VirtgrpcdProcess::BinaryPath() + " --config=" + config +
                              " --check-config >" + log + " 2>&1")
                                 .c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2);
    EXPECT_THAT(ReadFile(log), HasSubstr("[listener public] tls: none, server or mutual, "
                                         "not 'sometimes'"));
}

// --- certificate reload --------------------------------------------------------------

std::string
ServerCommonName(const std::shared_ptr<grpc::Channel> &channel)
{
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = Health::NewStub(channel)->Check(&context, request, &response);
    if (!status.ok())
        return "(failed: " + Describe(status) + ")";
    auto auth = context.auth_context();
    for (const auto &value : auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME))
        return std::string(value.data(), value.size());
    return "(no common name)";
}

TEST_F(SecurityTest, RenewedServerCertificateIsServedWithoutRestart)
{
    TestPki pki("first-server");
    ASSERT_TRUE(pki.ok());
    std::vector<std::string> args = pki.ServerArgs(false);
    args.push_back("--tls-reload-interval=1");
    Start(args);
    EXPECT_EQ(ServerCommonName(pki.Channel(server_->target(), "")), "first-server");

    ASSERT_TRUE(pki.ReissueServer("renewed-server"));
    // New connections get the new certificate once the watcher has read it (every 1 s).
    std::string seen;
    EXPECT_TRUE(WaitUntil(
        [&] {
            return (seen = ServerCommonName(pki.Channel(server_->target(), ""))) ==
                   "renewed-server";
        },
        std::chrono::seconds(10)))
        << "still serving " << seen;
}

} // namespace
} // namespace virtgrpc::testing
