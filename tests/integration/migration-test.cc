// MigrationService against the real virtgrpcd and libvirt's embedded test driver, which
// implements no migration at all: every tunable answers UNIMPLEMENTED
// (VIR_ERR_NO_SUPPORT), a peer-to-peer MigrateDomain UNIMPLEMENTED
// (VIR_ERR_ARGUMENT_UNSUPPORTED: "p2p migration is not supported by the source host"),
// a direct one UNIMPLEMENTED (VIR_ERR_NO_SUPPORT), and the domain keeps running. What
// the test driver does show is virtgrpcd's own part: every flag rule and every
// parameter's range is checked before libvirt is asked, each refused with
// INVALID_ARGUMENT naming its field; a request with every parameter set in range gets
// through to libvirt (which then says, for a direct migration, that the test driver
// takes no parameters); unknown domains are NOT_FOUND. The tunables' real effect is proven
// on QEMU in tests/qemu/migration-qemu-test.cc.
#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/migration-client.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;

constexpr const char kTestUri[] = "test:///default";
// 2^63 bytes/s in MiB/s: the largest speed virtgrpcd passes on.
constexpr uint64_t kMaxBandwidthMiBs = 8796093022207;

class MigrationTest : public ServerTest
{
  protected:
    void
    SetUp() override
    {
        ServerTest::SetUp();
        if (HasFatalFailure())
            return;
        migration_ = std::make_unique<MigrationClient>(channel());
    }

    void
    TearDown() override
    {
        migration_.reset();
        ServerTest::TearDown();
    }

    // The stock domain still runs, booted (no migration touched it).
    ::testing::AssertionResult
    StockDomainUntouched()
    {
        v1::DomainStateInfo state = StateOf(kStockDomainName);
        if (state.state() == v1::DOMAIN_STATE_RUNNING)
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << "state now " << state.ShortDebugString();
    }

    std::unique_ptr<MigrationClient> migration_;
};

// Sets every migration parameter to a value in its range.
void
SetEveryParameter(v1::MigrateDomainRequest *request)
{
    request->set_migrate_uri("tcp://127.0.0.1:49152");
    request->set_dest_name("test-moved");
    request->set_dest_xml("<domain type='test'><name>test</name></domain>");
    request->set_persist_xml("<domain type='test'><name>test</name></domain>");
    request->set_graphics_uri("vnc://127.0.0.1:5901");
    request->set_bandwidth_mibs(kMaxBandwidthMiBs);
    request->set_bandwidth_postcopy_mibs(0);
    request->set_listen_address("127.0.0.1");
    request->set_disks_port(65535);
    request->add_migrate_disks("vda");
    request->add_migrate_disks("vdb");
    request->set_disks_uri("tcp://127.0.0.1:49153");
    request->add_compression(v1::MIGRATION_COMPRESSION_XBZRLE);
    request->add_compression(v1::MIGRATION_COMPRESSION_MT);
    request->set_compression_mt_level(0);
    request->set_compression_mt_threads(255);
    request->set_compression_mt_dthreads(1);
    request->set_compression_xbzrle_cache_bytes(64ull << 20);
    request->set_auto_converge_initial_percent(1);
    request->set_auto_converge_increment_percent(99);
    request->set_parallel_connections(2);
    request->set_tls_destination("host2.example.com");
}

// ---- The tunables: the test driver has none ----

TEST_F(MigrationTest, EveryTunableOnTheTestDriverIsUnimplementedNoSupport)
{
    uint64_t value = 0;
    const std::vector<std::pair<std::string, grpc::Status>> calls = {
        {"GetDomainMigrationMaxDowntime",
         migration_->GetMaxDowntime(kStockDomainName, &value)},
        {"SetDomainMigrationMaxDowntime",
         migration_->SetMaxDowntime(kStockDomainName, 500)},
        {"GetDomainMigrationMaxSpeed", migration_->GetMaxSpeed(kStockDomainName, &value)},
        {"GetDomainMigrationMaxSpeed POSTCOPY",
         migration_->GetMaxSpeed(kStockDomainName, &value, true)},
        {"SetDomainMigrationMaxSpeed", migration_->SetMaxSpeed(kStockDomainName, 100)},
        {"SetDomainMigrationMaxSpeed POSTCOPY",
         migration_->SetMaxSpeed(kStockDomainName, 100, true)},
        {"GetDomainMigrationCompressionCache",
         migration_->GetCompressionCache(kStockDomainName, &value)},
        {"SetDomainMigrationCompressionCache",
         migration_->SetCompressionCache(kStockDomainName, 64ull << 20)},
        {"StartDomainMigrationPostCopy", migration_->StartPostCopy(kStockDomainName)},
    };
    for (const auto &[call, status] : calls) {
        EXPECT_TRUE(
            FailedWith(status, grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"))
            << call;
    }
    EXPECT_TRUE(StockDomainUntouched());
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MigrationTest, TunablesOfAnUnknownDomainAreNotFound)
{
    uint64_t value = 0;
    EXPECT_TRUE(FailedWith(migration_->GetMaxDowntime("no-such-domain", &value),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(migration_->SetMaxSpeed("no-such-domain", 10),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(migration_->SetCompressionCache("no-such-domain", 4096),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(migration_->StartPostCopy("no-such-domain"),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

TEST_F(MigrationTest, SettersWithoutAValueAreInvalidNamingTheField)
{
    v1::SetDomainMigrationMaxDowntimeResponse downtime;
    grpc::Status status = migration_->stub().SetDomainMigrationMaxDowntime(
        ContextWithDeadline().get(),
        RequestFor<v1::SetDomainMigrationMaxDowntimeRequest>(kStockDomainName), &downtime);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'downtime_ms' is not set"));

    v1::SetDomainMigrationMaxSpeedResponse speed;
    status = migration_->stub().SetDomainMigrationMaxSpeed(
        ContextWithDeadline().get(),
        RequestFor<v1::SetDomainMigrationMaxSpeedRequest>(kStockDomainName), &speed);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'bandwidth_mibs' is not set"));

    v1::SetDomainMigrationCompressionCacheResponse cache;
    status = migration_->stub().SetDomainMigrationCompressionCache(
        ContextWithDeadline().get(),
        RequestFor<v1::SetDomainMigrationCompressionCacheRequest>(kStockDomainName),
        &cache);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'cache_bytes' is not set"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MigrationTest, MaxSpeedAboveTwoToTheSixtyThreeBytesIsInvalid)
{
    grpc::Status status = migration_->SetMaxSpeed(kStockDomainName, kMaxBandwidthMiBs + 1);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'bandwidth_mibs' is 8796093022208"));

    auto request = RequestFor<v1::GetDomainMigrationMaxSpeedRequest>(kStockDomainName);
    request.add_flags(v1::MIGRATE_MAX_SPEED_FLAG_UNSPECIFIED);
    v1::GetDomainMigrationMaxSpeedResponse response;
    status = migration_->stub().GetDomainMigrationMaxSpeed(ContextWithDeadline().get(),
                                                           request, &response);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'flags'"));
}

// ---- MigrateDomain: libvirt's answers ----

TEST_F(MigrationTest, PeerToPeerMigrateDomainIsUnimplementedArgumentUnsupported)
{
    grpc::Status status = migration_->Migrate(MigrationClient::MigrateRequest(
        kStockDomainName, kTestUri, {v1::MIGRATE_FLAG_LIVE, v1::MIGRATE_FLAG_PEER2PEER}));

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_ARGUMENT_UNSUPPORTED"));
    EXPECT_THAT(status.error_message(), HasSubstr("p2p migration is not supported"));
    EXPECT_TRUE(StockDomainUntouched());
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MigrationTest, DirectMigrateDomainOverASecondConnectionIsUnimplementedNoSupport)
{
    // virtgrpcd opens test:///default a second time as the destination.
    grpc::Status status = migration_->Migrate(MigrationClient::MigrateRequest(
        kStockDomainName, kTestUri, {v1::MIGRATE_FLAG_LIVE}));

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(StockDomainUntouched());
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MigrationTest, EveryParameterInRangeGetsThroughToLibvirt)
{
    for (bool peer2peer : {true, false}) {
        SCOPED_TRACE(peer2peer ? "peer-to-peer" : "direct");
        auto request = MigrationClient::MigrateRequest(kStockDomainName, kTestUri,
                                                       {v1::MIGRATE_FLAG_LIVE});
        if (peer2peer)
            request.add_flags(v1::MIGRATE_FLAG_PEER2PEER);
        SetEveryParameter(&request);

        grpc::Status status = migration_->Migrate(request);

        // libvirt's own refusal, not virtgrpcd's INVALID_ARGUMENT. Without P2P, libvirt
        // falls back to the parameter-less protocol of a driver without migration and
        // says that parameters were passed: they reached it.
        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED,
                               "VIR_ERR_ARGUMENT_UNSUPPORTED"));
        EXPECT_THAT(status.error_message(),
                    HasSubstr(peer2peer ? "p2p migration is not supported"
                                        : "extended parameters were passed"));
    }
    EXPECT_TRUE(StockDomainUntouched());
}

TEST_F(MigrationTest, DirectMigrateDomainToAnUnopenableDestinationNamesIt)
{
    grpc::Status status = migration_->Migrate(MigrationClient::MigrateRequest(
        kStockDomainName, "nosuchdriver:///system", {v1::MIGRATE_FLAG_LIVE}));

    // libvirt: "no connection driver available for nosuchdriver:///system".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNAVAILABLE, "VIR_ERR_NO_CONNECT"));
    EXPECT_THAT(status.error_message(), HasSubstr("nosuchdriver:///system"));
    EXPECT_TRUE(StockDomainUntouched());
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MigrationTest, MigrateDomainOfAnUnknownDomainIsNotFound)
{
    grpc::Status status = migration_->Migrate(MigrationClient::MigrateRequest(
        "no-such-domain", kTestUri, {v1::MIGRATE_FLAG_LIVE, v1::MIGRATE_FLAG_PEER2PEER}));

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

// ---- MigrateDomain: what virtgrpcd refuses itself ----

struct BadMigration {
    std::string what;
    std::function<void(v1::MigrateDomainRequest *)> edit;
    // Expected in the message: the field (or flag) named.
    std::string named;
};

const std::vector<BadMigration> &
BadMigrations()
{
    static const std::vector<BadMigration> cases = {
        {"no dest_uri", [](auto *r) { r->clear_dest_uri(); }, "'dest_uri' is empty"},
        {"empty dest_uri", [](auto *r) { r->set_dest_uri(""); }, "'dest_uri' is empty"},
        {"unspecified flag", [](auto *r) { r->add_flags(v1::MIGRATE_FLAG_UNSPECIFIED); },
         "'flags'"},
        {"tunnelled without peer2peer",
         [](auto *r) {
             r->clear_flags();
             r->add_flags(v1::MIGRATE_FLAG_TUNNELLED);
         },
         "MIGRATE_FLAG_TUNNELLED without MIGRATE_FLAG_PEER2PEER"},
        {"tunnelled with migrate_uri",
         [](auto *r) {
             r->add_flags(v1::MIGRATE_FLAG_TUNNELLED);
             r->set_migrate_uri("tcp://127.0.0.1:49152");
         },
         "'migrate_uri' is set with MIGRATE_FLAG_TUNNELLED"},
        {"both non-shared modes",
         [](auto *r) {
             r->add_flags(v1::MIGRATE_FLAG_NON_SHARED_DISK);
             r->add_flags(v1::MIGRATE_FLAG_NON_SHARED_INC);
         },
         "MIGRATE_FLAG_NON_SHARED_DISK and MIGRATE_FLAG_NON_SHARED_INC"},
        {"synchronous writes without a disk copy",
         [](auto *r) { r->add_flags(v1::MIGRATE_FLAG_NON_SHARED_SYNCHRONOUS_WRITES); },
         "MIGRATE_FLAG_NON_SHARED_SYNCHRONOUS_WRITES without"},
        {"offline without persist_dest",
         [](auto *r) { r->add_flags(v1::MIGRATE_FLAG_OFFLINE); },
         "MIGRATE_FLAG_OFFLINE without MIGRATE_FLAG_PERSIST_DEST"},
        {"empty migrate_uri", [](auto *r) { r->set_migrate_uri(""); },
         "'migrate_uri' is set but empty"},
        {"empty dest_name", [](auto *r) { r->set_dest_name(""); },
         "'dest_name' is set but empty"},
        {"empty dest_xml", [](auto *r) { r->set_dest_xml(""); },
         "'dest_xml' is set but empty"},
        {"empty persist_xml", [](auto *r) { r->set_persist_xml(""); },
         "'persist_xml' is set but empty"},
        {"empty graphics_uri", [](auto *r) { r->set_graphics_uri(""); },
         "'graphics_uri' is set but empty"},
        {"empty listen_address", [](auto *r) { r->set_listen_address(""); },
         "'listen_address' is set but empty"},
        {"empty disks_uri", [](auto *r) { r->set_disks_uri(""); },
         "'disks_uri' is set but empty"},
        {"empty tls_destination", [](auto *r) { r->set_tls_destination(""); },
         "'tls_destination' is set but empty"},
        {"empty migrate_disks entry",
         [](auto *r) {
             r->add_migrate_disks("vda");
             r->add_migrate_disks("");
         },
         "'migrate_disks' is set but empty"},
        {"bandwidth above 2^63 bytes/s",
         [](auto *r) { r->set_bandwidth_mibs(kMaxBandwidthMiBs + 1); },
         "'bandwidth_mibs' is 8796093022208, outside 0 to 8796093022207"},
        {"postcopy bandwidth above 2^63 bytes/s",
         [](auto *r) { r->set_bandwidth_postcopy_mibs(UINT64_MAX); },
         "'bandwidth_postcopy_mibs' is 18446744073709551615"},
        {"disks_port beyond TCP", [](auto *r) { r->set_disks_port(65536); },
         "'disks_port' is 65536, outside 0 to 65535"},
        {"mt level 10", [](auto *r) { r->set_compression_mt_level(10); },
         "'compression_mt_level' is 10, outside 0 to 9"},
        {"no mt threads", [](auto *r) { r->set_compression_mt_threads(0); },
         "'compression_mt_threads' is 0, outside 1 to 255"},
        {"256 mt threads", [](auto *r) { r->set_compression_mt_threads(256); },
         "'compression_mt_threads' is 256"},
        {"no mt dthreads", [](auto *r) { r->set_compression_mt_dthreads(0); },
         "'compression_mt_dthreads' is 0, outside 1 to 255"},
        {"256 mt dthreads", [](auto *r) { r->set_compression_mt_dthreads(256); },
         "'compression_mt_dthreads' is 256"},
        {"auto-converge initial 0",
         [](auto *r) { r->set_auto_converge_initial_percent(0); },
         "'auto_converge_initial_percent' is 0, outside 1 to 99"},
        {"auto-converge initial 100",
         [](auto *r) { r->set_auto_converge_initial_percent(100); },
         "'auto_converge_initial_percent' is 100"},
        {"auto-converge increment 0",
         [](auto *r) { r->set_auto_converge_increment_percent(0); },
         "'auto_converge_increment_percent' is 0, outside 1 to 99"},
        {"auto-converge increment 100",
         [](auto *r) { r->set_auto_converge_increment_percent(100); },
         "'auto_converge_increment_percent' is 100"},
        {"no parallel connections", [](auto *r) { r->set_parallel_connections(0); },
         "'parallel_connections' is 0, outside 1 to 255"},
        {"256 parallel connections", [](auto *r) { r->set_parallel_connections(256); },
         "'parallel_connections' is 256"},
        {"unspecified compression",
         [](auto *r) { r->add_compression(v1::MIGRATION_COMPRESSION_UNSPECIFIED); },
         "'compression' has 0"},
        {"compression method twice",
         [](auto *r) {
             r->add_compression(v1::MIGRATION_COMPRESSION_MT);
             r->add_compression(v1::MIGRATION_COMPRESSION_XBZRLE);
             r->add_compression(v1::MIGRATION_COMPRESSION_MT);
         },
         "'compression' names 'mt' twice"},
    };
    return cases;
}

TEST_F(MigrationTest, EveryBadFlagCombinationAndParameterIsInvalidNamingIt)
{
    for (const BadMigration &bad : BadMigrations()) {
        SCOPED_TRACE(bad.what);
        // Without virtgrpcd's checks this request would reach libvirt and come back
        // UNIMPLEMENTED (VIR_ERR_ARGUMENT_UNSUPPORTED).
        auto request = MigrationClient::MigrateRequest(
            kStockDomainName, kTestUri,
            {v1::MIGRATE_FLAG_LIVE, v1::MIGRATE_FLAG_PEER2PEER});
        bad.edit(&request);

        grpc::Status status = migration_->Migrate(request);

        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"));
        EXPECT_THAT(status.error_message(), HasSubstr(bad.named));
    }
    EXPECT_TRUE(StockDomainUntouched());
    EXPECT_TRUE(ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
