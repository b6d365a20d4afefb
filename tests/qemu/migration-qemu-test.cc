// MigrationService on a real QEMU guest (TCG), through virtgrpcd and grpc++ stubs: the
// tunables set and read back (maximum downtime, maximum speed of the pre-copy and the
// post-copy phase, xbzrle cache), each cross-checked with libvirt's own getter on a
// connection of the test's; switching to post-copy without a migration; and
// MigrateDomain to this same host, the only destination there is, peer-to-peer and
// direct, each refused by libvirt with its own status while the guest runs on; and a
// real live migration to a second libvirtd on this machine that libvirt takes for
// another host (tests/support/second-libvirtd.h) and back: there peer-to-peer through
// the test's virtgrpcd, back directly through a virtgrpcd connected to that daemon;
// and a slow migration switched to post-copy with StartDomainMigrationPostCopy.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tests/support/domain-request.h"
#include "tests/support/migration-client.h"
#include "tests/support/qemu-guest.h"
#include "virtgrpc/v1/jobs.grpc.pb.h"
#include "tests/support/second-libvirtd.h"

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

// ---- A real live migration to a second libvirtd and back ----

class RealMigrationQemuTest : public MigrationQemuTest
{
  protected:
    void
    SetUp() override
    {
        MigrationQemuTest::SetUp();
        if (HasFatalFailure())
            return;
        dest_ = std::make_unique<SecondLibvirtd>();
        ASSERT_TRUE(dest_->ok()) << dest_->error();
    }

    void
    TearDown() override
    {
        // Destroys the guest's copy there, if a failure left one.
        dest_.reset();
        MigrationQemuTest::TearDown();
    }

    // A live migration request to `dest_uri`: UNSAFE because the template's disk has
    // QEMU's default cache mode (the two "hosts" share the image as a cluster file
    // system would), the data over loopback (the second daemon's hostname resolves
    // nowhere), a port of libvirt's choosing.
    v1::MigrateDomainRequest
    LiveRequest(const std::string &dest_uri, std::initializer_list<v1::MigrateFlag> more)
    {
        auto request = MigrationClient::MigrateRequest(
            name(), dest_uri, {v1::MIGRATE_FLAG_LIVE, v1::MIGRATE_FLAG_UNSAFE});
        for (v1::MigrateFlag flag : more)
            request.add_flags(flag);
        request.set_migrate_uri("tcp://127.0.0.1");
        return request;
    }

    std::unique_ptr<SecondLibvirtd> dest_;
};

double
SecondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_F(RealMigrationQemuTest, LiveMigrationToASecondLibvirtdAndBackKeepsTheGuestRunning)
{
    // There: peer-to-peer, the main libvirtd connects to the second one.
    v1::MigrateDomainResponse there;
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(Succeeded(migration_->Migrate(
        LiveRequest(dest_->uri(), {v1::MIGRATE_FLAG_PEER2PEER}), &there)))
        << dest_->LogTail();
    double there_s = SecondsSince(start);

    EXPECT_EQ(there.source().state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(there.source().state().shutoff_reason(), v1::SHUTOFF_REASON_MIGRATED);
    EXPECT_FALSE(there.has_destination()); // peer-to-peer: virtgrpcd holds no connection
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_SHUTOFF);

    // The guest runs over there, migrated, and its agent answers there.
    virConnectPtr dconn = virConnectOpen(dest_->uri().c_str());
    ASSERT_NE(dconn, nullptr) << virGetLastErrorMessage();
    char *dest_host = virConnectGetHostname(dconn);
    EXPECT_STREQ(dest_host, SecondLibvirtd::kHostname);
    free(dest_host);
    virDomainPtr moved = virDomainLookupByName(dconn, name().c_str());
    EXPECT_NE(moved, nullptr) << virGetLastErrorMessage();
    if (moved) {
        int state = 0, reason = 0;
        EXPECT_EQ(virDomainGetState(moved, &state, &reason, 0), 0);
        EXPECT_EQ(state, VIR_DOMAIN_RUNNING);
        EXPECT_EQ(reason, VIR_DOMAIN_RUNNING_MIGRATED);
        char *guest = nullptr;
        EXPECT_TRUE(WaitUntil(
            [&] {
                guest = virDomainGetHostname(moved, VIR_DOMAIN_GET_HOSTNAME_AGENT);
                return guest != nullptr;
            },
            kBootTimeout))
            << "the migrated guest's agent does not answer; guest serial log:\n"
            << ReadSerialLog() << "\nsecond libvirtd:\n"
            << dest_->LogTail();
        EXPECT_STREQ(guest, kGuestHostname);
        free(guest);
        virDomainFree(moved);
    }
    virConnectClose(dconn);

    // Back: a direct migration, driven by a virtgrpcd connected to the second daemon,
    // which opens the main libvirtd as the destination itself.
    VirtgrpcdProcess remote(VirtgrpcdProcess::Options{dest_->uri(), {}});
    ASSERT_TRUE(remote.running());
    MigrationClient remote_migration(
        grpc::CreateChannel(remote.target(), grpc::InsecureChannelCredentials()),
        kHypervisorCallTimeout);
    v1::MigrateDomainResponse back;
    start = std::chrono::steady_clock::now();
    ASSERT_TRUE(Succeeded(remote_migration.Migrate(LiveRequest(kQemuUri, {}), &back)))
        << remote.Log() << dest_->LogTail();
    double back_s = SecondsSince(start);

    // Transient over there, so gone from it now.
    EXPECT_EQ(back.source().state().shutoff_reason(), v1::SHUTOFF_REASON_MIGRATED);
    ASSERT_TRUE(back.has_destination());
    EXPECT_EQ(back.destination().uuid(), defined().uuid());
    EXPECT_EQ(back.destination().state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(back.destination().state().running_reason(), v1::RUNNING_REASON_MIGRATED);
    EXPECT_TRUE(GuestStillRuns());
    std::printf(
        "live migration of the 128 MiB TCG guest: there (P2P) %.2f s, back (direct) "
        "%.2f s\n",
        there_s, back_s);
}

TEST_F(RealMigrationQemuTest, LiveMigrationWithTunedParametersIsAcceptedByQemu)
{
    // libvirt's QEMU driver checks every parameter's name and type
    // (virTypedParamsValidate) and QEMU each value: the typed fields arrive as the
    // types libvirt expects.
    auto request = LiveRequest(
        dest_->uri(), {v1::MIGRATE_FLAG_PEER2PEER, v1::MIGRATE_FLAG_COMPRESSED,
                       v1::MIGRATE_FLAG_AUTO_CONVERGE, v1::MIGRATE_FLAG_ABORT_ON_ERROR});
    request.set_bandwidth_mibs(1000);
    request.set_listen_address("127.0.0.1");
    request.add_compression(v1::MIGRATION_COMPRESSION_XBZRLE);
    request.add_compression(v1::MIGRATION_COMPRESSION_MT);
    request.set_compression_xbzrle_cache_bytes(8ull << 20);
    request.set_compression_mt_level(1);
    request.set_compression_mt_threads(2);
    request.set_compression_mt_dthreads(2);
    request.set_auto_converge_initial_percent(20);
    request.set_auto_converge_increment_percent(10);
    v1::MigrateDomainResponse there;

    ASSERT_TRUE(Succeeded(migration_->Migrate(request, &there))) << dest_->LogTail();

    EXPECT_EQ(there.source().state().shutoff_reason(), v1::SHUTOFF_REASON_MIGRATED);
    virConnectPtr dconn = virConnectOpen(dest_->uri().c_str());
    ASSERT_NE(dconn, nullptr) << virGetLastErrorMessage();
    virDomainPtr moved = virDomainLookupByName(dconn, name().c_str());
    EXPECT_NE(moved, nullptr) << virGetLastErrorMessage();
    if (moved) {
        EXPECT_EQ(virDomainIsActive(moved), 1);
        virDomainFree(moved);
    }
    virConnectClose(dconn);
}

TEST_F(RealMigrationQemuTest, StartPostCopyDuringASlowMigrationFinishesItInPostCopy)
{
    // At 1 MiB/s the 128 MiB guest's pre-copy would take minutes: the migration is still
    // running when post-copy is started, and then ends at full speed.
    auto request =
        LiveRequest(dest_->uri(), {v1::MIGRATE_FLAG_PEER2PEER, v1::MIGRATE_FLAG_POSTCOPY});
    request.set_bandwidth_mibs(1);
    grpc::Status migrated;
    v1::MigrateDomainResponse there;
    std::thread migration([&] { migrated = migration_->Migrate(request, &there); });

    // FAILED_PRECONDITION until libvirt's outgoing migration job has started.
    grpc::Status post_copy;
    bool started = WaitUntil(
        [&] {
            post_copy = migration_->StartPostCopy(name());
            return post_copy.ok();
        },
        std::chrono::milliseconds(30000));
    migration.join();

    ASSERT_TRUE(started) << Describe(post_copy);
    ASSERT_TRUE(Succeeded(migrated)) << dest_->LogTail();
    EXPECT_EQ(there.source().state().shutoff_reason(), v1::SHUTOFF_REASON_MIGRATED);
    virConnectPtr dconn = virConnectOpen(dest_->uri().c_str());
    ASSERT_NE(dconn, nullptr) << virGetLastErrorMessage();
    virDomainPtr moved = virDomainLookupByName(dconn, name().c_str());
    EXPECT_NE(moved, nullptr) << virGetLastErrorMessage();
    if (moved) {
        int state = 0, reason = 0;
        EXPECT_EQ(virDomainGetState(moved, &state, &reason, 0), 0);
        EXPECT_EQ(state, VIR_DOMAIN_RUNNING);
        // Post-copy ended: no longer RUNNING_POSTCOPY.
        EXPECT_EQ(reason, VIR_DOMAIN_RUNNING_MIGRATED);
        virDomainFree(moved);
    }
    virConnectClose(dconn);
}

// A slow live migration run as a Job: WatchJob shows libvirt's migration statistics
// while it runs, CancelJob aborts it (virDomainAbortJob), the Job ends CANCELLED and the
// guest keeps running here.
TEST_F(RealMigrationQemuTest, MigrationJobShowsProgressAndCancelJobKeepsTheGuestHere)
{
    auto jobs = v1::JobService::NewStub(channel());
    v1::StartJobRequest start;
    *start.mutable_migrate() = LiveRequest(dest_->uri(), {v1::MIGRATE_FLAG_PEER2PEER});
    start.mutable_migrate()->set_bandwidth_mibs(1);
    v1::Job job;
    {
        auto context = ContextWithDeadline();
        ASSERT_TRUE(Succeeded(jobs->StartJob(context.get(), start, &job)));
    }
    EXPECT_EQ(job.kind(), v1::JOB_KIND_MIGRATION);

    auto context = ContextWithDeadline(std::chrono::milliseconds(120000));
    v1::WatchJobRequest watch;
    watch.set_id(job.id());
    watch.set_interval_ms(200);
    auto reader = jobs->WatchJob(context.get(), watch);
    v1::Job seen;
    bool cancelled = false;
    bool progressed = false;
    while (reader->Read(&seen)) {
        if (seen.has_progress() && seen.progress().operation() == v1::JOB_OPERATION_MIGRATION_OUT &&
            seen.progress().memory_processed() > 0)
            progressed = true;
        if (progressed && !cancelled) {
            auto cancel_context = ContextWithDeadline();
            v1::CancelJobRequest cancel;
            v1::Job reply;
            cancel.set_id(job.id());
            EXPECT_TRUE(Succeeded(jobs->CancelJob(cancel_context.get(), cancel, &reply)));
            cancelled = true;
        }
    }
    ASSERT_TRUE(Succeeded(reader->Finish()));
    EXPECT_TRUE(progressed) << "no migration statistics while it ran: " << seen.DebugString();
    EXPECT_EQ(seen.state(), v1::JOB_STATE_CANCELLED) << seen.DebugString();
    EXPECT_TRUE(WaitForState(v1::DOMAIN_STATE_RUNNING, kCallTimeout)) << "the guest stays here";
}

} // namespace
} // namespace virtgrpc::testing
