// GuestAgentService against the real virtgrpcd and libvirt's embedded test driver.
//
// The test driver fakes some agent calls: the stock domain `test` has two fake file
// systems, "/" (vda1) and "/boot" (vda2), both ext4 on disk alias "vda", which
// FreezeDomainFilesystems / ThawDomainFilesystems track (freezing counts only those not
// yet frozen, thawing only those frozen), TrimDomainFilesystems checks the mount point
// and SetDomainUserPassword accepts any user. The SSH keys, guest info and agent timeout
// calls are not implemented there: UNIMPLEMENTED with VIR_ERR_NO_SUPPORT here, proven on
// a real guest in tests/qemu/guest-agent-qemu-test.cc. Bad requests fail with their
// status before libvirt is asked, and the fake freeze state shows nothing changed.
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/guest_agent.grpc.pb.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class GuestAgentTest : public ServerTest
{
  protected:
    void
    SetUp() override
    {
        ServerTest::SetUp();
        if (HasFatalFailure())
            return;
        agent_ = v1::GuestAgentService::NewStub(channel());
    }

    void
    TearDown() override
    {
        agent_.reset();
        ServerTest::TearDown();
    }

    grpc::Status
    Freeze(const std::string &domain, std::vector<std::string> mountpoints,
           uint32_t *frozen = nullptr)
    {
        auto request = RequestFor<v1::FreezeDomainFilesystemsRequest>(domain);
        for (const std::string &m : mountpoints)
            request.add_mountpoints(m);
        v1::FreezeDomainFilesystemsResponse response;
        grpc::Status status = agent_->FreezeDomainFilesystems(ContextWithDeadline().get(),
                                                              request, &response);
        if (frozen)
            *frozen = response.frozen();
        return status;
    }

    grpc::Status
    Thaw(const std::string &domain, std::vector<std::string> mountpoints,
         uint32_t *thawed = nullptr)
    {
        auto request = RequestFor<v1::ThawDomainFilesystemsRequest>(domain);
        for (const std::string &m : mountpoints)
            request.add_mountpoints(m);
        v1::ThawDomainFilesystemsResponse response;
        grpc::Status status =
            agent_->ThawDomainFilesystems(ContextWithDeadline().get(), request, &response);
        if (thawed)
            *thawed = response.thawed();
        return status;
    }

    // How many of the stock domain's two fake file systems are frozen now (thaws them
    // all to count, then freezes those again).
    uint32_t
    FrozenCount()
    {
        uint32_t thawed = 0;
        EXPECT_TRUE(Succeeded(Thaw(kStockDomainName, {}, &thawed)));
        if (thawed == 2) {
            EXPECT_TRUE(Succeeded(Freeze(kStockDomainName, {})));
        } else if (thawed == 1) {
            // Which one is unknown to the caller; tests only use this for 0 or 2.
            ADD_FAILURE() << "one file system was frozen";
        }
        return thawed;
    }

    grpc::Status
    Trim(const std::string &domain, const std::string &mountpoint,
         uint64_t minimum_bytes = 0)
    {
        auto request = RequestFor<v1::TrimDomainFilesystemsRequest>(domain);
        request.set_mountpoint(mountpoint);
        request.set_minimum_bytes(minimum_bytes);
        v1::TrimDomainFilesystemsResponse response;
        return agent_->TrimDomainFilesystems(ContextWithDeadline().get(), request,
                                             &response);
    }

    grpc::Status
    SetPassword(const std::string &domain, const std::string &user,
                const std::string &password, std::vector<v1::UserPasswordFlag> flags = {})
    {
        auto request = RequestFor<v1::SetDomainUserPasswordRequest>(domain);
        request.set_user(user);
        request.set_password(password);
        for (v1::UserPasswordFlag f : flags)
            request.add_flags(f);
        v1::SetDomainUserPasswordResponse response;
        return agent_->SetDomainUserPassword(ContextWithDeadline().get(), request,
                                             &response);
    }

    grpc::Status
    SetKeys(const std::string &domain, const std::string &user,
            std::vector<std::string> keys,
            std::vector<v1::AuthorizedSshKeysSetFlag> flags = {})
    {
        auto request = RequestFor<v1::SetDomainAuthorizedSshKeysRequest>(domain);
        request.set_user(user);
        for (const std::string &k : keys)
            request.add_keys(k);
        for (v1::AuthorizedSshKeysSetFlag f : flags)
            request.add_flags(f);
        v1::SetDomainAuthorizedSshKeysResponse response;
        return agent_->SetDomainAuthorizedSshKeys(ContextWithDeadline().get(), request,
                                                  &response);
    }

    grpc::Status
    SetTimeout(const std::string &domain, v1::AgentResponseTimeoutMode mode)
    {
        auto request = RequestFor<v1::SetDomainAgentResponseTimeoutRequest>(domain);
        request.set_mode(mode);
        v1::SetDomainAgentResponseTimeoutResponse response;
        return agent_->SetDomainAgentResponseTimeout(ContextWithDeadline().get(), request,
                                                     &response);
    }

    grpc::Status
    SetTimeoutSeconds(const std::string &domain, int32_t seconds)
    {
        auto request = RequestFor<v1::SetDomainAgentResponseTimeoutRequest>(domain);
        request.set_seconds(seconds);
        v1::SetDomainAgentResponseTimeoutResponse response;
        return agent_->SetDomainAgentResponseTimeout(ContextWithDeadline().get(), request,
                                                     &response);
    }

    std::unique_ptr<v1::GuestAgentService::Stub> agent_;
};

// --- file systems: the test driver's fakes ------------------------------------------

TEST_F(GuestAgentTest, FreezeAllFreezesBothFakeFilesystemsOnceAndThawThawsThem)
{
    uint32_t count = 99;
    ASSERT_TRUE(Succeeded(Freeze(kStockDomainName, {}, &count)));
    EXPECT_EQ(count, 2u);
    // Already frozen: nothing more to freeze.
    ASSERT_TRUE(Succeeded(Freeze(kStockDomainName, {}, &count)));
    EXPECT_EQ(count, 0u);

    ASSERT_TRUE(Succeeded(Thaw(kStockDomainName, {}, &count)));
    EXPECT_EQ(count, 2u);
    ASSERT_TRUE(Succeeded(Thaw(kStockDomainName, {}, &count)));
    EXPECT_EQ(count, 0u);
}

TEST_F(GuestAgentTest, FreezeOneMountpointFreezesOnlyThatOne)
{
    uint32_t count = 99;
    ASSERT_TRUE(Succeeded(Freeze(kStockDomainName, {"/boot"}, &count)));
    EXPECT_EQ(count, 1u);
    // Freezing all now freezes only "/".
    ASSERT_TRUE(Succeeded(Freeze(kStockDomainName, {}, &count)));
    EXPECT_EQ(count, 1u);
    ASSERT_TRUE(Succeeded(Thaw(kStockDomainName, {"/"}, &count)));
    EXPECT_EQ(count, 1u);
    ASSERT_TRUE(Succeeded(Thaw(kStockDomainName, {}, &count)));
    EXPECT_EQ(count, 1u);
}

TEST_F(GuestAgentTest, FreezeUnknownMountpointFailsPreconditionAndFreezesNothing)
{
    grpc::Status status = Freeze(kStockDomainName, {"/nope"});
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(status.error_message(), HasSubstr("/nope"));
    EXPECT_EQ(FrozenCount(), 0u);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(GuestAgentTest, FreezeWithAnEmptyMountpointIsInvalidAndFreezesNothing)
{
    grpc::Status status = Freeze(kStockDomainName, {"/", ""});
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'mountpoints'"));
    EXPECT_EQ(FrozenCount(), 0u);
    EXPECT_TRUE(FailedWith(Thaw(kStockDomainName, {""}), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
}

TEST_F(GuestAgentTest, TrimAllAndOneMountpointSucceed)
{
    EXPECT_TRUE(Succeeded(Trim(kStockDomainName, "")));
    EXPECT_TRUE(Succeeded(Trim(kStockDomainName, "/boot", 4096)));
}

TEST_F(GuestAgentTest, TrimUnknownMountpointFailsPrecondition)
{
    grpc::Status status = Trim(kStockDomainName, "/nope");
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(status.error_message(), HasSubstr("/nope"));
}

TEST_F(GuestAgentTest, GetFsInfoListsTheFakeRootAndBootFilesystems)
{
    v1::GetDomainFsInfoResponse response;
    ASSERT_TRUE(Succeeded(agent_->GetDomainFsInfo(
        ContextWithDeadline().get(),
        RequestFor<v1::GetDomainFsInfoRequest>(kStockDomainName), &response)));
    ASSERT_EQ(response.filesystems_size(), 2);
    const v1::DomainFsInfo &root = response.filesystems(0);
    EXPECT_EQ(root.mountpoint(), "/");
    EXPECT_EQ(root.name(), "vda1");
    EXPECT_EQ(root.fstype(), "ext4");
    EXPECT_THAT(root.disk_aliases(), ElementsAre("vda"));
    const v1::DomainFsInfo &boot = response.filesystems(1);
    EXPECT_EQ(boot.mountpoint(), "/boot");
    EXPECT_EQ(boot.name(), "vda2");
    EXPECT_EQ(boot.fstype(), "ext4");
    EXPECT_THAT(boot.disk_aliases(), ElementsAre("vda"));
}

// --- a shut-off domain ---------------------------------------------------------------

TEST_F(GuestAgentTest, AgentCallsOnAShutOffDomainFailPrecondition)
{
    DefineDomain("off1");
    const auto not_running = [](const grpc::Status &status) {
        return FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                          "VIR_ERR_OPERATION_INVALID");
    };
    EXPECT_TRUE(not_running(Freeze("off1", {})));
    EXPECT_TRUE(not_running(Thaw("off1", {})));
    EXPECT_TRUE(not_running(Trim("off1", "")));
    EXPECT_TRUE(not_running(SetPassword("off1", "root", "secret")));
    v1::GetDomainFsInfoResponse response;
    EXPECT_TRUE(not_running(agent_->GetDomainFsInfo(
        ContextWithDeadline().get(), RequestFor<v1::GetDomainFsInfoRequest>("off1"),
        &response)));
    EXPECT_EQ(StateOf("off1").state(), v1::DOMAIN_STATE_SHUTOFF);
}

TEST_F(GuestAgentTest, AgentCallsOnAnUnknownDomainAreNotFound)
{
    EXPECT_TRUE(
        FailedWith(Freeze("nosuch", {}), grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(SetPassword("nosuch", "root", "x"), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(SetTimeout("nosuch", v1::AGENT_RESPONSE_TIMEOUT_MODE_BLOCK),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

// --- passwords ------------------------------------------------------------------------

TEST_F(GuestAgentTest, SetUserPasswordSucceedsInClearAndEncrypted)
{
    EXPECT_TRUE(Succeeded(SetPassword(kStockDomainName, "root", "s3cret")));
    EXPECT_TRUE(Succeeded(SetPassword(kStockDomainName, "root", "$6$salt$hash",
                                      {v1::USER_PASSWORD_FLAG_ENCRYPTED})));
}

TEST_F(GuestAgentTest, SetUserPasswordRejectsEmptyOrMalformedUserAndBadFlags)
{
    grpc::Status status = SetPassword(kStockDomainName, "", "x");
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'user'"));
    EXPECT_TRUE(FailedWith(SetPassword(kStockDomainName, "ro:ot", "x"),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    status = SetPassword(kStockDomainName, "root", "a\nb");
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), Not(HasSubstr("a\nb")));
    EXPECT_TRUE(FailedWith(
        SetPassword(kStockDomainName, "root", "x", {v1::USER_PASSWORD_FLAG_UNSPECIFIED}),
        grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

// --- not implemented by the test driver ----------------------------------------------

TEST_F(GuestAgentTest, AuthorizedSshKeysAreUnimplementedOnTheTestDriver)
{
    v1::GetDomainAuthorizedSshKeysResponse keys;
    auto get = RequestFor<v1::GetDomainAuthorizedSshKeysRequest>(kStockDomainName);
    get.set_user("root");
    EXPECT_TRUE(FailedWith(
        agent_->GetDomainAuthorizedSshKeys(ContextWithDeadline().get(), get, &keys),
        grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(FailedWith(SetKeys(kStockDomainName, "root", {"ssh-ed25519 AAAA test"}),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
}

TEST_F(GuestAgentTest, GuestInfoIsUnimplementedOnTheTestDriver)
{
    auto request = RequestFor<v1::GetDomainGuestInfoRequest>(kStockDomainName);
    request.add_types(v1::GUEST_INFO_TYPE_OS);
    v1::GetDomainGuestInfoResponse response;
    EXPECT_TRUE(FailedWith(
        agent_->GetDomainGuestInfo(ContextWithDeadline().get(), request, &response),
        grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
}

TEST_F(GuestAgentTest, AgentResponseTimeoutIsUnimplementedOnTheTestDriver)
{
    EXPECT_TRUE(
        FailedWith(SetTimeout(kStockDomainName, v1::AGENT_RESPONSE_TIMEOUT_MODE_BLOCK),
                   grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(FailedWith(SetTimeoutSeconds(kStockDomainName, 10),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
}

// --- bad input, checked before libvirt -----------------------------------------------

TEST_F(GuestAgentTest, SetAuthorizedSshKeysRejectsEmptyUserEmptyListAndBadKeys)
{
    grpc::Status status = SetKeys(kStockDomainName, "root", {});
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'keys'"));
    status = SetKeys(kStockDomainName, "", {"ssh-ed25519 AAAA test"});
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'user'"));
    EXPECT_TRUE(FailedWith(SetKeys(kStockDomainName, "root", {"ssh-ed25519 AAAA", ""}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(SetKeys(kStockDomainName, "root", {"a\nb"}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(SetKeys(kStockDomainName, "root", {"ssh-ed25519 AAAA"},
                                   {v1::AUTHORIZED_SSH_KEYS_SET_FLAG_UNSPECIFIED}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));

    v1::GetDomainAuthorizedSshKeysResponse keys;
    auto get = RequestFor<v1::GetDomainAuthorizedSshKeysRequest>(kStockDomainName);
    EXPECT_TRUE(FailedWith(
        agent_->GetDomainAuthorizedSshKeys(ContextWithDeadline().get(), get, &keys),
        grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(GuestAgentTest, AgentResponseTimeoutRejectsNegativeZeroAndMissingValues)
{
    for (int32_t seconds : {-1, -2, -3, 0, -2147483647 - 1}) {
        grpc::Status status = SetTimeoutSeconds(kStockDomainName, seconds);
        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"))
            << seconds;
        EXPECT_THAT(status.error_message(), HasSubstr(std::to_string(seconds)));
    }
    EXPECT_TRUE(FailedWith(
        SetTimeout(kStockDomainName, v1::AGENT_RESPONSE_TIMEOUT_MODE_UNSPECIFIED),
        grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    v1::SetDomainAgentResponseTimeoutResponse response;
    grpc::Status status = agent_->SetDomainAgentResponseTimeout(
        ContextWithDeadline().get(),
        RequestFor<v1::SetDomainAgentResponseTimeoutRequest>(kStockDomainName), &response);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'seconds'"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(GuestAgentTest, GuestInfoRejectsAnUnspecifiedType)
{
    auto request = RequestFor<v1::GetDomainGuestInfoRequest>(kStockDomainName);
    request.add_types(v1::GUEST_INFO_TYPE_UNSPECIFIED);
    v1::GetDomainGuestInfoResponse response;
    grpc::Status status =
        agent_->GetDomainGuestInfo(ContextWithDeadline().get(), request, &response);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("types"));
}

} // namespace
} // namespace virtgrpc::testing
