// ConsoleService against the real virtgrpcd and libvirt's embedded test driver. The test
// driver fakes screenshots (always /usr/share/libvirt/test-screenshot.png, even for a
// shut-off domain) and implements no console, channel or graphics: those fail with
// UNIMPLEMENTED (VIR_ERR_NO_SUPPORT) here and are proven on a real guest in
// tests/qemu/console-qemu-test.cc. Bad requests fail before libvirt is asked.
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/byte-stream-client.h"
#include "tests/support/png-image.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/console.grpc.pb.h"

namespace virtgrpc::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char kTestScreenshot[] = "/usr/share/libvirt/test-screenshot.png";
constexpr std::chrono::milliseconds kStreamWait{10000};

std::string ReadWholeFile(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

class ConsoleTest : public ServerTest {
  protected:
    ConsoleTest() = default;
    explicit ConsoleTest(VirtgrpcdProcess::Options options) : ServerTest(std::move(options)) {}

    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure())
            return;
        console_ = v1::ConsoleService::NewStub(channel());
    }

    void TearDown() override {
        console_.reset();
        ServerTest::TearDown();
    }

    // The whole screenshot stream: its status, MIME type, image and message count.
    grpc::Status Screenshot(const v1::DomainRef &domain, uint32_t screen, std::string *mime,
                            std::string *image, int *chunks = nullptr) {
        v1::GetDomainScreenshotRequest request;
        *request.mutable_domain() = domain;
        request.set_screen(screen);
        auto context = ContextWithDeadline();
        auto reader = console_->GetDomainScreenshot(context.get(), request);
        v1::ScreenshotChunk chunk;
        int n = 0;
        while (reader->Read(&chunk)) {
            if (n++ == 0) {
                EXPECT_EQ(chunk.chunk_case(), v1::ScreenshotChunk::kMimeType);
                *mime = chunk.mime_type();
            } else {
                EXPECT_EQ(chunk.chunk_case(), v1::ScreenshotChunk::kData);
                *image += chunk.data();
            }
        }
        if (chunks)
            *chunks = n - 1;
        return reader->Finish();
    }

    std::unique_ptr<v1::ConsoleService::Stub> console_;
};

// The stock domain's screenshot is the test driver's PNG, byte for byte.
TEST_F(ConsoleTest, ScreenshotStreamsTheDriversImage) {
    std::string mime, image;
    ASSERT_TRUE(Succeeded(Screenshot(RefByName(kStockDomainName), 0, &mime, &image)));
    EXPECT_EQ(mime, "image/png");
    EXPECT_EQ(image, ReadWholeFile(kTestScreenshot));
    png_uint_32 width = 0, height = 0;
    EXPECT_TRUE(DecodePng(image, &width, &height));
    EXPECT_EQ(width, 1120u);
    EXPECT_EQ(height, 832u);
}

// Bad requests: unknown domain, empty reference.
TEST_F(ConsoleTest, ScreenshotOfUnknownDomainIsNotFound) {
    std::string mime, image;
    EXPECT_TRUE(FailedWith(Screenshot(RefByName("no-such-domain"), 0, &mime, &image),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(Screenshot(v1::DomainRef(), 0, &mime, &image),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(mime.empty());
    EXPECT_TRUE(ServerStillServes());
}

// The test driver has no consoles, channels or graphics: NO_SUPPORT, mapped.
TEST_F(ConsoleTest, StreamsTheDriverLacksAreUnimplemented) {
    v1::ConsoleOpen console;
    *console.mutable_domain() = RefByName(kStockDomainName);
    ConsoleClient c(console_.get(), &v1::ConsoleService::Stub::OpenDomainConsole, console);
    ASSERT_TRUE(c.WaitEnded(kStreamWait));
    EXPECT_TRUE(FailedWith(c.status(), grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));

    v1::ChannelOpen channel;
    *channel.mutable_domain() = RefByName(kStockDomainName);
    ChannelClient ch(console_.get(), &v1::ConsoleService::Stub::OpenDomainChannel, channel);
    ASSERT_TRUE(ch.WaitEnded(kStreamWait));
    EXPECT_TRUE(FailedWith(ch.status(), grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));

    v1::GraphicsOpen graphics;
    *graphics.mutable_domain() = RefByName(kStockDomainName);
    GraphicsClient g(console_.get(), &v1::ConsoleService::Stub::OpenDomainGraphics, graphics);
    ASSERT_TRUE(g.WaitEnded(kStreamWait));
    // The stock domain's XML has no <graphics>: the server's own check answers.
    EXPECT_EQ(g.status().error_code(), grpc::StatusCode::NOT_FOUND) << Describe(g.status());
    EXPECT_TRUE(ServerStillServes());
}

// Malformed opens fail with INVALID_ARGUMENT before libvirt is asked; the server serves on.
TEST_F(ConsoleTest, MalformedOpensAreInvalidArguments) {
    {
        v1::ConsoleOpen open;
        *open.mutable_domain() = RefByName(kStockDomainName);
        open.add_flags(static_cast<v1::ConsoleFlag>(99));
        ConsoleClient c(console_.get(), &v1::ConsoleService::Stub::OpenDomainConsole, open);
        ASSERT_TRUE(c.WaitEnded(kStreamWait));
        EXPECT_TRUE(FailedWith(c.status(), grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"));
        EXPECT_THAT(c.status().error_message(), HasSubstr("flags"));
    }
    {
        v1::ConsoleOpen open;
        *open.mutable_domain() = RefByName(kStockDomainName);
        open.set_device("serial0 && reboot");
        ConsoleClient c(console_.get(), &v1::ConsoleService::Stub::OpenDomainConsole, open);
        ASSERT_TRUE(c.WaitEnded(kStreamWait));
        EXPECT_TRUE(FailedWith(c.status(), grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"));
    }
    {
        ConsoleClient c(console_.get(), &v1::ConsoleService::Stub::OpenDomainConsole,
                        v1::ConsoleOpen());
        ASSERT_TRUE(c.WaitEnded(kStreamWait));
        EXPECT_TRUE(FailedWith(c.status(), grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"));
    }
    {
        // Input before open; then a stream closed with no message at all.
        auto context = ContextWithDeadline(kStreamWait);
        auto stream = console_->OpenDomainConsole(context.get());
        v1::OpenDomainConsoleRequest input;
        input.set_input("ls\r");
        stream->Write(input);
        v1::GuestOutput output;
        EXPECT_FALSE(stream->Read(&output));
        EXPECT_TRUE(FailedWith(stream->Finish(), grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"));

        auto empty_context = ContextWithDeadline(kStreamWait);
        auto empty = console_->OpenDomainConsole(empty_context.get());
        empty->WritesDone();
        EXPECT_FALSE(empty->Read(&output));
        EXPECT_TRUE(FailedWith(empty->Finish(), grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"));
    }
    EXPECT_TRUE(ServerStillServes());
}

// A client that reads slowly: with a send queue of one message the screenshot still
// arrives whole (the server waits for room instead of dropping chunks).
class SlowClientConsoleTest : public ConsoleTest {
  protected:
    SlowClientConsoleTest() : ConsoleTest([] {
        VirtgrpcdProcess::Options options;
        options.extra_args = {"--max-queued-messages=1"};
        return options;
    }()) {}
};

TEST_F(SlowClientConsoleTest, ScreenshotArrivesWholeThroughAOneMessageQueue) {
    std::string mime, image;
    int chunks = 0;
    ASSERT_TRUE(Succeeded(Screenshot(RefByName(kStockDomainName), 0, &mime, &image, &chunks)));
    EXPECT_EQ(image, ReadWholeFile(kTestScreenshot));
    EXPECT_EQ(chunks, 1); // 33443 bytes: one chunk after the MIME message
    EXPECT_TRUE(ServerStillServes());
}

}  // namespace
}  // namespace virtgrpc::testing
