// SIGHUP and the limits: a server started with --config takes a changed [limits] value
// for the next call without a restart and without ending the calls and streams it has;
// a bad file keeps the limits running; max-message-bytes (held by gRPC core for the
// server's life) is reported as needing a restart and keeps its value.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/rpc-status.h"
#include "tests/support/server-log.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/memory.grpc.pb.h"
#include "virtgrpc/v1/stats.grpc.pb.h"

namespace virtgrpc::testing {
namespace {

using ::testing::HasSubstr;

std::string ConfigPath() {
    const char *dir = std::getenv("TEST_TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/limits-reload.conf";
}

void WriteConfig(const std::string &text) {
    std::ofstream out(ConfigPath(), std::ios::trunc);
    out << text;
}

// The configuration the fixture being built starts with: the base class starts the
// server before a member could write it.
VirtgrpcdProcess::Options StartingWith(const std::string &config) {
    WriteConfig(config);
    VirtgrpcdProcess::Options options;
    options.extra_args = {"--config=" + ConfigPath()};
    return options;
}

class LimitsReloadTest : public ServerTest {
  protected:
    explicit LimitsReloadTest(const std::string &config) : ServerTest(StartingWith(config)) {}

    // Writes the file and sends SIGHUP.
    void Reload(const std::string &config) {
        WriteConfig(config);
        ASSERT_EQ(kill(server().pid(), SIGHUP), 0);
    }

    // DefineDomain of a domain whose XML is `bytes` long.
    grpc::Status DefineOfSize(const std::string &name, size_t bytes) {
        std::string xml = MinimalDomainXml(name);
        const std::string tail = "</domain>";
        std::string padded = xml.substr(0, xml.size() - tail.size()) + "<description>" +
                             std::string(bytes - xml.size() - 27, 'x') + "</description>" +
                             tail;
        EXPECT_EQ(padded.size(), bytes);
        v1::DefineDomainRequest request;
        request.set_xml(padded);
        v1::Domain domain;
        return domains_->DefineDomain(ContextWithDeadline().get(), request, &domain);
    }
};

class XmlLimitReloadTest : public LimitsReloadTest {
  protected:
    XmlLimitReloadTest() : LimitsReloadTest("[limits]\nmax-xml-bytes = 4096\n") {}
};

TEST_F(XmlLimitReloadTest, SighupRaisesTheLimitForTheNextCall) {
    ASSERT_TRUE(FailedWith(DefineOfSize("big", 6000), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_LIMIT_EXCEEDED"));

    Reload("[limits]\nmax-xml-bytes = 8192\n");

    // Refused calls change nothing, so retrying until the reload took effect is safe.
    EXPECT_TRUE(WaitUntil([&] { return DefineOfSize("big", 6000).ok(); }, kCallTimeout))
        << server().Log();
    EXPECT_TRUE(LogShows(server(), "reload: max-xml-bytes 4096 -> 8192"));
}

TEST_F(XmlLimitReloadTest, SighupWithABadFileKeepsTheRunningLimitAndSaysWhy) {
    Reload("[limits]\nmax-xml-bytes = lots\n");

    ASSERT_TRUE(LogShows(server(), "reload: .*max-xml-bytes takes a whole number.*not 'lots'.*"
                                   "keeping the running configuration"))
        << server().Log();
    grpc::Status status = DefineOfSize("big", 6000);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_LIMIT_EXCEEDED"));
    EXPECT_THAT(status.error_message(), HasSubstr("4096"));
    EXPECT_TRUE(Succeeded(DefineOfSize("small", 3000)));
}

class StreamLimitReloadTest : public LimitsReloadTest {
  protected:
    StreamLimitReloadTest() : LimitsReloadTest("[limits]\nmax-streams-per-client = 3\n") {}

    // A WatchDomainStats stream sampling every 100 ms.
    struct StatsWatch {
        std::unique_ptr<grpc::ClientContext> context = ContextWithDeadline();
        std::unique_ptr<grpc::ClientReader<v1::DomainStatsSample>> reader;
        grpc::Status failure;

        bool Open(v1::StatsService::Stub &stats) {
            v1::WatchDomainStatsRequest request;
            request.set_interval_ms(100);
            reader = stats.WatchDomainStats(context.get(), request);
            v1::DomainStatsSample sample;
            if (reader->Read(&sample))
                return true;
            failure = reader->Finish();
            reader.reset();
            return false;
        }
        bool ReadOne() {
            v1::DomainStatsSample sample;
            return reader && reader->Read(&sample);
        }
        ~StatsWatch() {
            if (reader) {
                context->TryCancel();
                reader->Finish();
            }
        }
    };
};

// Lowering a limit under what is open refuses new streams and ends none.
TEST_F(StreamLimitReloadTest, SighupLowersTheLimitWithoutEndingOpenStreams) {
    auto stats = v1::StatsService::NewStub(channel());
    StatsWatch first, second;
    ASSERT_TRUE(first.Open(*stats)) << Describe(first.failure);
    ASSERT_TRUE(second.Open(*stats)) << Describe(second.failure);

    Reload("[limits]\nmax-streams-per-client = 1\n");
    ASSERT_TRUE(LogShows(server(), "reload: max-streams-per-client 3 -> 1")) << server().Log();

    StatsWatch third;
    EXPECT_FALSE(third.Open(*stats));
    EXPECT_TRUE(FailedWith(third.failure, grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"));
    EXPECT_THAT(third.failure.error_message(), HasSubstr("max-streams-per-client"));
    // The streams opened before the reload still deliver samples.
    for (int i = 0; i < 3; i++) {
        EXPECT_TRUE(first.ReadOne());
        EXPECT_TRUE(second.ReadOne());
    }
}

class MessageLimitReloadTest : public LimitsReloadTest {
  protected:
    MessageLimitReloadTest() : LimitsReloadTest("[limits]\nmax-message-bytes = 2048\n") {}

    grpc::Status Peek(uint32_t size) {
        auto memory = v1::MemoryService::NewStub(channel());
        v1::PeekDomainMemoryRequest request;
        *request.mutable_domain() = RefByName(kStockDomainName);
        request.set_address_space(v1::MEMORY_ADDRESS_SPACE_VIRTUAL);
        request.set_size_bytes(size);
        v1::PeekDomainMemoryResponse response;
        return memory->PeekDomainMemory(ContextWithDeadline().get(), request, &response);
    }
};

// gRPC core holds the request limit for the server's life: the response limit keeps the
// same value rather than disagree with it.
TEST_F(MessageLimitReloadTest, SighupReportsTheMessageLimitNeedsARestartAndKeepsIt) {
    ASSERT_TRUE(FailedWith(Peek(4096), grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"));

    Reload("[limits]\nmax-message-bytes = 65536\n");

    EXPECT_TRUE(LogShows(server(), "reload: max-message-bytes changed \\(2048 -> 65536\\) but "
                                   "takes effect only at restart"))
        << server().Log();
    EXPECT_TRUE(FailedWith(Peek(4096), grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"));
    EXPECT_TRUE(ServerStillServes());
}

}  // namespace
}  // namespace virtgrpc::testing
