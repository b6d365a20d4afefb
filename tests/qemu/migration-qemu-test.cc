// MigrationService on a real QEMU guest (TCG), through virtgrpcd and grpc++ stubs: the
// tunables set and read back (maximum downtime, maximum speed of the pre-copy and the
// post-copy phase, xbzrle cache), each cross-checked with libvirt's own getter on a
// connection of the test's; switching to post-copy without a migration; and
// MigrateDomain to this same host, the only destination there is, peer-to-peer and
// direct, each refused by libvirt with its own status while the guest runs on.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tests/support/domain-request.h"
#include "tests/support/migration-client.h"
#include "tests/support/qemu-guest.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;

constexpr const char kQemuUri[] = "qemu:///system";

class MigrationQemuTest : public BootedQemuGuestTest
{
  protected:
    void
    SetUp() override
    {
        BootedQemuGuestTest::SetUp();
        if (HasFatalFailure())
            return;
        migration_ = std::make_unique<MigrationClient>(channel(), kHypervisorCallTimeout);
        conn_ = virConnectOpen(kQemuUri);
        ASSERT_NE(conn_, nullptr) << virGetLastErrorMessage();
        domain_ = virDomainLookupByName(conn_, name().c_str());
        ASSERT_NE(domain_, nullptr) << virGetLastErrorMessage();
    }

    void
    TearDown() override
    {
        if (domain_)
            virDomainFree(domain_);
        if (conn_)
            virConnectClose(conn_);
        migration_.reset();
        BootedQemuGuestTest::TearDown();
    }

    // The guest still runs and its agent answers.
    ::testing::AssertionResult
    GuestStillRuns()
    {
        v1::DomainStateInfo state = StateOf(name());
        if (state.state() != v1::DOMAIN_STATE_RUNNING)
            return ::testing::AssertionFailure() << "state now " << DescribeState(state);
        std::string hostname;
        grpc::Status status = AgentHostname(&hostname);
        if (!status.ok())
            return ::testing::AssertionFailure() << "agent: " << Describe(status);
        return ::testing::AssertionSuccess();
    }

    std::unique_ptr<MigrationClient> migration_;
    virConnectPtr conn_ = nullptr;
    virDomainPtr domain_ = nullptr;
};

TEST_F(MigrationQemuTest, MaxDowntimeSetIsReadBackThroughVirtgrpcdAndLibvirt)
{
    uint64_t ms = 0;
    ASSERT_TRUE(Succeeded(migration_->GetMaxDowntime(name(), &ms)));
    EXPECT_EQ(ms, 300u); // QEMU's default

    ASSERT_TRUE(Succeeded(migration_->SetMaxDowntime(name(), 1234)));

    ASSERT_TRUE(Succeeded(migration_->GetMaxDowntime(name(), &ms)));
    EXPECT_EQ(ms, 1234u);
    unsigned long long direct = 0;
    ASSERT_EQ(virDomainMigrateGetMaxDowntime(domain_, &direct, 0), 0)
        << virGetLastErrorMessage();
    EXPECT_EQ(direct, 1234u);
}

TEST_F(MigrationQemuTest, MaxSpeedOfPreCopyAndPostCopyAreSetAndReadBackSeparately)
{
    ASSERT_TRUE(Succeeded(migration_->SetMaxSpeed(name(), 100)));
    ASSERT_TRUE(Succeeded(migration_->SetMaxSpeed(name(), 50, /*postcopy=*/true)));

    uint64_t mibs = 0;
    ASSERT_TRUE(Succeeded(migration_->GetMaxSpeed(name(), &mibs)));
    EXPECT_EQ(mibs, 100u);
    ASSERT_TRUE(Succeeded(migration_->GetMaxSpeed(name(), &mibs, /*postcopy=*/true)));
    EXPECT_EQ(mibs, 50u);
    unsigned long direct = 0;
    ASSERT_EQ(virDomainMigrateGetMaxSpeed(domain_, &direct, 0), 0)
        << virGetLastErrorMessage();
    EXPECT_EQ(direct, 100u);
    ASSERT_EQ(virDomainMigrateGetMaxSpeed(domain_, &direct,
                                          VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY),
              0)
        << virGetLastErrorMessage();
    EXPECT_EQ(direct, 50u);
}

TEST_F(MigrationQemuTest, CompressionCacheSetIsReadBackThroughVirtgrpcdAndLibvirt)
{
    constexpr uint64_t kCacheBytes = 16ull << 20;
    uint64_t bytes = 0;
    ASSERT_TRUE(Succeeded(migration_->GetCompressionCache(name(), &bytes)));
    ASSERT_NE(bytes, kCacheBytes);

    ASSERT_TRUE(Succeeded(migration_->SetCompressionCache(name(), kCacheBytes)));

    ASSERT_TRUE(Succeeded(migration_->GetCompressionCache(name(), &bytes)));
    EXPECT_EQ(bytes, kCacheBytes);
    unsigned long long direct = 0;
    ASSERT_EQ(virDomainMigrateGetCompressionCache(domain_, &direct, 0), 0)
        << virGetLastErrorMessage();
    EXPECT_EQ(direct, kCacheBytes);
}

TEST_F(MigrationQemuTest, StartPostCopyWithoutAMigrationFailsPrecondition)
{
    grpc::Status status = migration_->StartPostCopy(name());

    // libvirt: "post-copy can only be started while outgoing migration is in progress".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(GuestStillRuns());
}

TEST_F(MigrationQemuTest, DirectMigrateDomainToThisHostIsUnsafeWithoutSharedStorage)
{
    grpc::Status status = migration_->Migrate(
        MigrationClient::MigrateRequest(name(), kQemuUri, {v1::MIGRATE_FLAG_LIVE}));

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_MIGRATE_UNSAFE"));
    EXPECT_TRUE(GuestStillRuns());
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MigrationQemuTest, DirectUnsafeMigrateDomainToThisHostIsRefusedAsTheSameHost)
{
    grpc::Status status = migration_->Migrate(MigrationClient::MigrateRequest(
        name(), kQemuUri, {v1::MIGRATE_FLAG_LIVE, v1::MIGRATE_FLAG_UNSAFE}));

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr("same host"));
    EXPECT_TRUE(GuestStillRuns());
}

TEST_F(MigrationQemuTest, PeerToPeerMigrateDomainToThisHostIsRefusedAsTheSameHost)
{
    grpc::Status status = migration_->Migrate(MigrationClient::MigrateRequest(
        name(), kQemuUri, {v1::MIGRATE_FLAG_LIVE, v1::MIGRATE_FLAG_PEER2PEER}));

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("same host"));
    EXPECT_TRUE(GuestStillRuns());
    EXPECT_TRUE(ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
