// DomainService's save, restore, managed-save and core-dump RPCs against the real
// virtgrpcd and libvirt's embedded test driver, which runs inside virtgrpcd: the files
// land in the test's own temporary directory, so each test sees exactly what the server
// wrote. States are read back after every call; every bad request is shown to change
// nothing (no file, same state) and to leave the server serving.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-call.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;

using Stub = v1::DomainService::Stub;

class DomainSaveTest : public DomainCalls<ServerTest>
{
  protected:
    // An absolute path in a directory of this test's own (Bazel's TEST_TMPDIR).
    static std::string
    TempPath(const std::string &file)
    {
        const char *tmp = std::getenv("TEST_TMPDIR");
        std::filesystem::path dir =
            std::filesystem::path(tmp ? tmp : "/tmp") /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
        std::filesystem::create_directories(dir);
        return (dir / file).string();
    }

    static uintmax_t
    FileSize(const std::string &path)
    {
        std::error_code error;
        uintmax_t size = std::filesystem::file_size(path, error);
        return error ? 0 : size;
    }

    grpc::Status
    Save(const std::string &name, const std::string &path,
         std::initializer_list<v1::SaveFlag> flags = {}, v1::Domain *domain = nullptr,
         const std::string &xml = "")
    {
        v1::SaveDomainRequest request;
        *request.mutable_domain() = RefByName(name);
        request.set_path(path);
        request.set_xml(xml);
        for (v1::SaveFlag flag : flags)
            request.add_flags(flag);
        v1::Domain ignored;
        return Call(&Stub::SaveDomain, request, domain ? domain : &ignored);
    }

    grpc::Status
    Restore(const std::string &path, std::initializer_list<v1::SaveFlag> flags = {},
            const std::string &xml = "")
    {
        v1::RestoreDomainRequest request;
        request.set_path(path);
        request.set_xml(xml);
        for (v1::SaveFlag flag : flags)
            request.add_flags(flag);
        v1::RestoreDomainResponse response;
        return Call(&Stub::RestoreDomain, request, &response);
    }

    grpc::Status
    ManagedSave(const std::string &name, v1::Domain *domain = nullptr)
    {
        v1::ManagedSaveDomainRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::Domain ignored;
        return Call(&Stub::ManagedSaveDomain, request, domain ? domain : &ignored);
    }

    bool
    HasManagedSaveImage(const std::string &name)
    {
        v1::HasDomainManagedSaveImageRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::HasDomainManagedSaveImageResponse response;
        EXPECT_TRUE(Succeeded(Call(&Stub::HasDomainManagedSaveImage, request, &response)));
        return response.has_image();
    }

    grpc::Status
    Start(const std::string &name, v1::Domain *domain)
    {
        v1::StartDomainRequest request;
        *request.mutable_domain() = RefByName(name);
        return Call(&Stub::StartDomain, request, domain);
    }

    grpc::Status
    CoreDump(const std::string &name, const std::string &path,
             v1::CoreDumpFormat format = v1::CORE_DUMP_FORMAT_UNSPECIFIED,
             std::initializer_list<v1::CoreDumpFlag> flags = {},
             v1::Domain *domain = nullptr)
    {
        v1::CoreDumpDomainRequest request;
        *request.mutable_domain() = RefByName(name);
        request.set_path(path);
        request.set_format(format);
        for (v1::CoreDumpFlag flag : flags)
            request.add_flags(flag);
        v1::Domain ignored;
        return Call(&Stub::CoreDumpDomain, request, domain ? domain : &ignored);
    }

    void
    ExpectRunning(const std::string &name)
    {
        EXPECT_EQ(StateOf(name).state(), v1::DOMAIN_STATE_RUNNING) << name;
    }
};

// --- save / restore ----------------------------------------------------------------

TEST_F(DomainSaveTest, SaveDomainShutsItOffAsSavedAndRestoreRunsItAsRestored)
{
    v1::Domain started = DefineRunningDomain("web1");
    std::string path = TempPath("web1.save");

    v1::Domain saved;
    ASSERT_TRUE(Succeeded(Save("web1", path, {}, &saved)));
    EXPECT_EQ(saved.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(saved.state().shutoff_reason(), v1::SHUTOFF_REASON_SAVED);
    EXPECT_EQ(saved.id(), -1);
    EXPECT_EQ(StateOf("web1").shutoff_reason(), v1::SHUTOFF_REASON_SAVED);
    EXPECT_GT(FileSize(path), 0u);

    ASSERT_TRUE(Succeeded(Restore(path)));
    v1::Domain restored;
    ASSERT_TRUE(Succeeded(GetDomain("web1", &restored)));
    EXPECT_EQ(restored.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(restored.state().running_reason(), v1::RUNNING_REASON_RESTORED);
    EXPECT_EQ(restored.uuid(), started.uuid());
    EXPECT_GT(restored.id(), 0);
}

TEST_F(DomainSaveTest, SaveTransientDomainReportsItSavedAndRestoreBringsItBack)
{
    v1::CreateDomainRequest create;
    create.set_xml(MinimalDomainXml("transient1"));
    v1::Domain created;
    ASSERT_TRUE(Succeeded(Call(&Stub::CreateDomain, create, &created)));
    std::string path = TempPath("transient1.save");

    v1::Domain saved;
    ASSERT_TRUE(Succeeded(Save("transient1", path, {}, &saved)));
    EXPECT_EQ(saved.name(), "transient1");
    EXPECT_EQ(saved.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(saved.state().shutoff_reason(), v1::SHUTOFF_REASON_SAVED);
    v1::Domain found;
    EXPECT_TRUE(FailedWith(GetDomain("transient1", &found), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));

    ASSERT_TRUE(Succeeded(Restore(path)));
    ASSERT_TRUE(Succeeded(GetDomain("transient1", &found)));
    EXPECT_EQ(found.uuid(), created.uuid());
    EXPECT_EQ(found.state().state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(DomainSaveTest, SaveShutOffDomainFailsPreconditionAndWritesNothing)
{
    DefineDomain("web1");
    std::string path = TempPath("web1.save");

    EXPECT_TRUE(FailedWith(Save("web1", path), grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_SHUTOFF);
}

TEST_F(DomainSaveTest, SaveToAnEmptyOrRelativePathIsInvalidAndLeavesTheDomainRunning)
{
    grpc::Status empty = Save(kStockDomainName, "");
    EXPECT_TRUE(
        FailedWith(empty, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(empty.error_message(), HasSubstr("'path'"));

    grpc::Status relative = Save(kStockDomainName, "test.save");
    EXPECT_TRUE(FailedWith(relative, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(relative.error_message(), HasSubstr("'test.save'"));
    EXPECT_THAT(relative.error_message(), HasSubstr("absolute"));

    ExpectRunning(kStockDomainName);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainSaveTest, SaveWithAnUnknownFlagIsInvalidAndLeavesTheDomainRunning)
{
    std::string path = TempPath("test.save");
    grpc::Status status = Save(kStockDomainName, path, {static_cast<v1::SaveFlag>(9)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'flags'"));
    EXPECT_FALSE(std::filesystem::exists(path));
    ExpectRunning(kStockDomainName);
}

// The test driver implements no save flags and no XML replacement.
TEST_F(DomainSaveTest, SaveWithFlagsOrXmlTheTestDriverLacksFailsAndLeavesTheDomainRunning)
{
    std::string path = TempPath("test.save");

    EXPECT_TRUE(FailedWith(Save(kStockDomainName, path, {v1::SAVE_FLAG_RUNNING}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(
        FailedWith(Save(kStockDomainName, path, {}, nullptr, MinimalDomainXml("test")),
                   grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_ARGUMENT_UNSUPPORTED"));
    ExpectRunning(kStockDomainName);
}

TEST_F(DomainSaveTest, SaveAnUnknownDomainIsNotFound)
{
    EXPECT_TRUE(FailedWith(Save("no-such-domain", TempPath("x.save")),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

TEST_F(DomainSaveTest, RestoreAMissingFileFailsWithLibvirtsSystemError)
{
    std::string path = TempPath("missing.save");
    grpc::Status status = Restore(path);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_SYSTEM_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr(path));
    EXPECT_THAT(DomainNames({}), ::testing::ElementsAre(kStockDomainName));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainSaveTest, RestoreFromAnEmptyOrRelativePathIsInvalid)
{
    EXPECT_TRUE(FailedWith(Restore(""), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(Restore("web1.save"), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainSaveTest, RestoreWithFlagsTheTestDriverLacksFailsAndLeavesTheDomainSaved)
{
    DefineRunningDomain("web1");
    std::string path = TempPath("web1.save");
    ASSERT_TRUE(Succeeded(Save("web1", path)));

    EXPECT_TRUE(FailedWith(Restore(path, {v1::SAVE_FLAG_PAUSED}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    v1::DomainStateInfo state = StateOf("web1");
    EXPECT_EQ(state.state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(state.shutoff_reason(), v1::SHUTOFF_REASON_SAVED);
}

// --- managed save ------------------------------------------------------------------

TEST_F(DomainSaveTest, ManagedSaveKeepsAnImageThatTheNextStartConsumes)
{
    DefineRunningDomain("web1");
    ASSERT_FALSE(HasManagedSaveImage("web1"));

    v1::Domain saved;
    ASSERT_TRUE(Succeeded(ManagedSave("web1", &saved)));
    EXPECT_EQ(saved.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(saved.state().shutoff_reason(), v1::SHUTOFF_REASON_SAVED);
    EXPECT_TRUE(HasManagedSaveImage("web1"));
    EXPECT_THAT(DomainNames({v1::LIST_DOMAINS_FILTER_MANAGEDSAVE}),
                ::testing::ElementsAre("web1"));

    v1::Domain started;
    ASSERT_TRUE(Succeeded(Start("web1", &started)));
    EXPECT_EQ(started.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_FALSE(HasManagedSaveImage("web1"));
}

TEST_F(DomainSaveTest, RemoveDomainManagedSaveImageDeletesIt)
{
    DefineRunningDomain("web1");
    ASSERT_TRUE(Succeeded(ManagedSave("web1")));
    ASSERT_TRUE(HasManagedSaveImage("web1"));

    v1::RemoveDomainManagedSaveImageRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(Call(&Stub::RemoveDomainManagedSaveImage, request, &domain)));

    EXPECT_FALSE(HasManagedSaveImage("web1"));
    EXPECT_EQ(domain.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    // Removing what is not there succeeds.
    EXPECT_TRUE(Succeeded(Call(&Stub::RemoveDomainManagedSaveImage, request, &domain)));
    v1::Domain started;
    ASSERT_TRUE(Succeeded(Start("web1", &started)));
    EXPECT_EQ(started.state().running_reason(), v1::RUNNING_REASON_BOOTED);
}

TEST_F(DomainSaveTest, ManagedSaveOfAShutOffDomainFailsPreconditionAndKeepsNoImage)
{
    DefineDomain("web1");

    EXPECT_TRUE(FailedWith(ManagedSave("web1"), grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_FALSE(HasManagedSaveImage("web1"));
}

TEST_F(DomainSaveTest, ManagedSaveWithAnUnknownFlagIsInvalidAndLeavesTheDomainRunning)
{
    v1::ManagedSaveDomainRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    request.add_flags(v1::SAVE_FLAG_UNSPECIFIED);
    v1::Domain domain;

    EXPECT_TRUE(FailedWith(Call(&Stub::ManagedSaveDomain, request, &domain),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    ExpectRunning(kStockDomainName);
    EXPECT_FALSE(HasManagedSaveImage(kStockDomainName));
}

TEST_F(DomainSaveTest, HasDomainManagedSaveImageOfAnUnknownDomainIsNotFound)
{
    v1::HasDomainManagedSaveImageRequest request;
    *request.mutable_domain() = RefByName("no-such-domain");
    v1::HasDomainManagedSaveImageResponse response;

    EXPECT_TRUE(FailedWith(Call(&Stub::HasDomainManagedSaveImage, request, &response),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

TEST_F(DomainSaveTest, ManagedSaveXmlIsUnsupportedByTheTestDriver)
{
    DefineRunningDomain("web1");
    ASSERT_TRUE(Succeeded(ManagedSave("web1")));

    v1::GetDomainManagedSaveXMLRequest get;
    *get.mutable_domain() = RefByName("web1");
    v1::GetDomainManagedSaveXMLResponse xml;
    EXPECT_TRUE(FailedWith(Call(&Stub::GetDomainManagedSaveXML, get, &xml),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));

    v1::DefineDomainManagedSaveXMLRequest define;
    *define.mutable_domain() = RefByName("web1");
    define.set_xml(MinimalDomainXml("web1"));
    v1::Domain domain;
    EXPECT_TRUE(FailedWith(Call(&Stub::DefineDomainManagedSaveXML, define, &domain),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(HasManagedSaveImage("web1"));
}

TEST_F(DomainSaveTest, ManagedSaveXmlWithEmptyXmlOrUnknownFlagIsInvalid)
{
    v1::DefineDomainManagedSaveXMLRequest define;
    *define.mutable_domain() = RefByName(kStockDomainName);
    v1::Domain domain;
    grpc::Status empty = Call(&Stub::DefineDomainManagedSaveXML, define, &domain);
    EXPECT_TRUE(
        FailedWith(empty, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(empty.error_message(), HasSubstr("'xml'"));

    v1::GetDomainManagedSaveXMLRequest get;
    *get.mutable_domain() = RefByName(kStockDomainName);
    get.add_flags(static_cast<v1::SaveImageXMLFlag>(3));
    v1::GetDomainManagedSaveXMLResponse xml;
    EXPECT_TRUE(FailedWith(Call(&Stub::GetDomainManagedSaveXML, get, &xml),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

// --- core dumps --------------------------------------------------------------------

TEST_F(DomainSaveTest, CoreDumpDomainWritesAFileAndKeepsTheDomainRunning)
{
    std::string path = TempPath("test.core");

    v1::Domain domain;
    ASSERT_TRUE(Succeeded(
        CoreDump(kStockDomainName, path, v1::CORE_DUMP_FORMAT_UNSPECIFIED, {}, &domain)));

    EXPECT_GT(FileSize(path), 0u);
    EXPECT_EQ(domain.state().state(), v1::DOMAIN_STATE_RUNNING);
    ExpectRunning(kStockDomainName);
}

TEST_F(DomainSaveTest, CoreDumpDomainInRawFormatWritesAFile)
{
    std::string path = TempPath("test-raw.core");

    ASSERT_TRUE(Succeeded(CoreDump(kStockDomainName, path, v1::CORE_DUMP_FORMAT_RAW)));

    EXPECT_GT(FileSize(path), 0u);
    ExpectRunning(kStockDomainName);
}

TEST_F(DomainSaveTest, CoreDumpDomainWithCrashLeavesTheDomainShutOffAsCrashed)
{
    std::string path = TempPath("test-crash.core");

    v1::Domain domain;
    ASSERT_TRUE(Succeeded(CoreDump(kStockDomainName, path, v1::CORE_DUMP_FORMAT_UNSPECIFIED,
                                   {v1::CORE_DUMP_FLAG_CRASH}, &domain)));

    EXPECT_GT(FileSize(path), 0u);
    EXPECT_EQ(domain.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(domain.state().shutoff_reason(), v1::SHUTOFF_REASON_CRASHED);
    EXPECT_EQ(StateOf(kStockDomainName).shutoff_reason(), v1::SHUTOFF_REASON_CRASHED);
}

TEST_F(DomainSaveTest, CoreDumpFlagTheTestDriverLacksFailsAndWritesNothing)
{
    std::string path = TempPath("test.core");

    EXPECT_TRUE(
        FailedWith(CoreDump(kStockDomainName, path, v1::CORE_DUMP_FORMAT_UNSPECIFIED,
                            {v1::CORE_DUMP_FLAG_LIVE}),
                   grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_FALSE(std::filesystem::exists(path));
    ExpectRunning(kStockDomainName);
}

// (The test driver writes its canned dump before it looks at the format, so the file
// is there all the same.)
TEST_F(DomainSaveTest, CoreDumpInAKdumpFormatIsUnsupportedByTheTestDriver)
{
    std::string path = TempPath("test.core");

    EXPECT_TRUE(
        FailedWith(CoreDump(kStockDomainName, path, v1::CORE_DUMP_FORMAT_KDUMP_ZLIB),
                   grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_OPERATION_UNSUPPORTED"));
    ExpectRunning(kStockDomainName);
}

TEST_F(DomainSaveTest, CoreDumpWithAnUnknownFormatOrFlagIsInvalidAndWritesNothing)
{
    std::string path = TempPath("test.core");

    grpc::Status format =
        CoreDump(kStockDomainName, path, static_cast<v1::CoreDumpFormat>(17));
    EXPECT_TRUE(
        FailedWith(format, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(format.error_message(), HasSubstr("'format'"));

    grpc::Status flag = CoreDump(kStockDomainName, path, v1::CORE_DUMP_FORMAT_RAW,
                                 {static_cast<v1::CoreDumpFlag>(17)});
    EXPECT_TRUE(
        FailedWith(flag, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(flag.error_message(), HasSubstr("'flags'"));

    EXPECT_FALSE(std::filesystem::exists(path));
    ExpectRunning(kStockDomainName);
}

TEST_F(DomainSaveTest, CoreDumpToARelativePathIsInvalidAndWritesNothing)
{
    grpc::Status status = CoreDump(kStockDomainName, "test.core");

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'test.core'"));
    EXPECT_FALSE(std::filesystem::exists("test.core"));
    ExpectRunning(kStockDomainName);
}

TEST_F(DomainSaveTest, CoreDumpIntoAMissingDirectoryFailsWithLibvirtsSystemError)
{
    std::string path = TempPath("no-such-dir") + "/test.core";
    grpc::Status status = CoreDump(kStockDomainName, path);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_SYSTEM_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr(path));
    ExpectRunning(kStockDomainName);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainSaveTest, CoreDumpOfAShutOffDomainFailsPrecondition)
{
    DefineDomain("web1");
    std::string path = TempPath("web1.core");

    EXPECT_TRUE(FailedWith(CoreDump("web1", path), grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_FALSE(std::filesystem::exists(path));
}

} // namespace
} // namespace virtgrpc::testing
