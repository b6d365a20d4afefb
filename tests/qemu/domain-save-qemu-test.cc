// DomainService's save, restore, managed-save and core-dump RPCs on a real QEMU guest
// (TCG): the guest's memory goes to a file on the server's host and back, and the guest
// carries on with the same boot (its agent answers at once, no new ready banner: a
// fresh QEMU truncates the serial log, so a restored guest shows none at all). Also
// what the test driver lacks: XML replacement on restore, the managed-save image's XML,
// and core dumps in kdump format.
//
// Each test has its own server and domain (tests/support/qemu-guest.h); the files go to
// the domain's own directory, which the fixture removes.
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-call.h"
#include "tests/support/qemu-guest.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using Stub = v1::DomainService::Stub;

// Writing or reading 128 MiB of guest memory under TCG on a busy host.
constexpr std::chrono::milliseconds kMemoryFileTimeout{120000};

template <typename Base> class SaveCalls : public DomainCalls<Base>
{
  protected:
    // A file in the domain's own directory on this (the server's) host.
    std::string
    GuestFile(const std::string &file) const
    {
        return std::string(kGuestFilesRoot) + "/" + this->name() + "/" + file;
    }

    static uintmax_t
    FileSize(const std::string &path)
    {
        std::error_code error;
        uintmax_t size = std::filesystem::file_size(path, error);
        return error ? 0 : size;
    }

    static std::string
    FileStart(const std::string &path, size_t length)
    {
        std::ifstream in(path, std::ios::binary);
        std::string start(length, '\0');
        in.read(start.data(), static_cast<std::streamsize>(length));
        start.resize(static_cast<size_t>(in.gcount()));
        return start;
    }

    grpc::Status
    Save(const std::string &path, v1::Domain *domain)
    {
        v1::SaveDomainRequest request;
        *request.mutable_domain() = this->ref();
        request.set_path(path);
        return this->Call(&Stub::SaveDomain, request, domain, kMemoryFileTimeout);
    }

    grpc::Status
    Restore(const std::string &path, const std::string &xml = "")
    {
        v1::RestoreDomainRequest request;
        request.set_path(path);
        request.set_xml(xml);
        v1::RestoreDomainResponse response;
        return this->Call(&Stub::RestoreDomain, request, &response, kMemoryFileTimeout);
    }

    grpc::Status
    ManagedSave(v1::Domain *domain)
    {
        v1::ManagedSaveDomainRequest request;
        *request.mutable_domain() = this->ref();
        return this->Call(&Stub::ManagedSaveDomain, request, domain, kMemoryFileTimeout);
    }

    bool
    HasManagedSaveImage()
    {
        v1::HasDomainManagedSaveImageRequest request;
        *request.mutable_domain() = this->ref();
        v1::HasDomainManagedSaveImageResponse response;
        EXPECT_TRUE(
            Succeeded(this->Call(&Stub::HasDomainManagedSaveImage, request, &response)));
        return response.has_image();
    }

    grpc::Status
    ManagedSaveXml(std::string *xml)
    {
        v1::GetDomainManagedSaveXMLRequest request;
        *request.mutable_domain() = this->ref();
        v1::GetDomainManagedSaveXMLResponse response;
        grpc::Status status =
            this->Call(&Stub::GetDomainManagedSaveXML, request, &response);
        *xml = response.xml();
        return status;
    }

    grpc::Status
    CoreDump(const std::string &path, v1::CoreDumpFormat format,
             std::initializer_list<v1::CoreDumpFlag> flags, v1::Domain *domain)
    {
        v1::CoreDumpDomainRequest request;
        *request.mutable_domain() = this->ref();
        request.set_path(path);
        request.set_format(format);
        for (v1::CoreDumpFlag flag : flags)
            request.add_flags(flag);
        return this->Call(&Stub::CoreDumpDomain, request, domain, kMemoryFileTimeout);
    }

    std::string
    Title()
    {
        v1::GetDomainMetadataRequest request;
        *request.mutable_domain() = this->ref();
        request.set_type(v1::METADATA_TYPE_TITLE);
        v1::GetDomainMetadataResponse response;
        grpc::Status status = this->Call(&Stub::GetDomainMetadata, request, &response);
        return status.ok() ? response.metadata() : "<" + Describe(status) + ">";
    }

    std::string
    InactiveXml()
    {
        v1::GetDomainXMLRequest request;
        *request.mutable_domain() = this->ref();
        request.add_flags(v1::DOMAIN_XML_FLAG_INACTIVE);
        request.add_flags(v1::DOMAIN_XML_FLAG_MIGRATABLE);
        v1::GetDomainXMLResponse response;
        EXPECT_TRUE(Succeeded(this->Call(&Stub::GetDomainXML, request, &response)));
        return response.xml();
    }
};

using SaveQemuTest = SaveCalls<QemuGuestTest>;
using BootedSaveQemuTest = SaveCalls<BootedQemuGuestTest>;

// `xml` with a <title> right after its <name>.
std::string
WithTitle(const std::string &xml, const std::string &title)
{
    std::string result = xml;
    size_t end_of_name = result.find("</name>");
    EXPECT_NE(end_of_name, std::string::npos) << xml;
    if (end_of_name != std::string::npos)
        result.insert(end_of_name + 7, "\n  <title>" + title + "</title>");
    return result;
}

// --- save / restore ----------------------------------------------------------------

TEST_F(BootedSaveQemuTest, SaveAndRestoreContinueTheSameBoot)
{
    std::string path = GuestFile("guest.save");

    v1::Domain saved;
    ASSERT_TRUE(Succeeded(Save(path, &saved)));
    EXPECT_EQ(DescribeState(saved.state()), "DOMAIN_STATE_SHUTOFF/SHUTOFF_REASON_SAVED");
    EXPECT_EQ(DescribeState(StateOf(name())), "DOMAIN_STATE_SHUTOFF/SHUTOFF_REASON_SAVED");
    EXPECT_GT(FileSize(path), 1u << 20) << "the image holds the guest's memory";

    ASSERT_TRUE(Succeeded(Restore(path)));
    v1::Domain restored;
    ASSERT_TRUE(Succeeded(GetDomain(name(), &restored)));
    EXPECT_EQ(DescribeState(restored.state()),
              "DOMAIN_STATE_RUNNING/RUNNING_REASON_RESTORED");
    EXPECT_EQ(restored.uuid(), defined().uuid());
    EXPECT_TRUE(WaitForAgent(kBootTimeout));
    EXPECT_EQ(CountReadyBanners(), 0) << "a restored guest does not boot:\n"
                                      << ReadSerialLog();
}

TEST_F(BootedSaveQemuTest, RestoreWithXmlReplacesTheSavedDefinition)
{
    std::string path = GuestFile("guest.save");
    std::string xml = WithTitle(InactiveXml(), "restored with new XML");
    v1::Domain saved;
    ASSERT_TRUE(Succeeded(Save(path, &saved)));

    ASSERT_TRUE(Succeeded(Restore(path, xml)));

    EXPECT_EQ(Title(), "restored with new XML");
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(SaveQemuTest, RestoreAFileThatIsNoSaveImageFailsAndStartsNothing)
{
    std::string path = GuestFile("not-an-image.save");
    std::ofstream(path) << "this is not a libvirt save image\n";

    grpc::Status status = Restore(path);

    // libvirt's generic "operation failed" (the one error table maps it to
    // FAILED_PRECONDITION).
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_FAILED"));
    EXPECT_THAT(status.error_message(), HasSubstr("header"));
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_TRUE(ServerStillServes());
}

// --- managed save ------------------------------------------------------------------

TEST_F(BootedSaveQemuTest, ManagedSaveImageXmlCanBeReadAndReplacedBeforeStartResumesIt)
{
    v1::Domain saved;
    ASSERT_TRUE(Succeeded(ManagedSave(&saved)));
    EXPECT_EQ(DescribeState(saved.state()), "DOMAIN_STATE_SHUTOFF/SHUTOFF_REASON_SAVED");
    ASSERT_TRUE(HasManagedSaveImage());

    std::string image_xml;
    ASSERT_TRUE(Succeeded(ManagedSaveXml(&image_xml)));
    EXPECT_THAT(image_xml, HasSubstr("<name>" + name() + "</name>"));
    EXPECT_THAT(image_xml, Not(HasSubstr("<title>")));

    // Store a title in the image and ask for the guest to come back paused.
    v1::DefineDomainManagedSaveXMLRequest define;
    *define.mutable_domain() = ref();
    define.set_xml(WithTitle(image_xml, "from the managed image"));
    define.add_flags(v1::SAVE_FLAG_PAUSED);
    v1::Domain defined_image;
    ASSERT_TRUE(Succeeded(Call(&Stub::DefineDomainManagedSaveXML, define, &defined_image)));
    ASSERT_TRUE(Succeeded(ManagedSaveXml(&image_xml)));
    EXPECT_THAT(image_xml, HasSubstr("<title>from the managed image</title>"));

    v1::Domain started;
    ASSERT_TRUE(Succeeded(Start({}, &started)));
    EXPECT_EQ(started.state().state(), v1::DOMAIN_STATE_PAUSED)
        << DescribeState(started.state());
    EXPECT_FALSE(HasManagedSaveImage());
    EXPECT_EQ(Title(), "from the managed image");

    ASSERT_TRUE(Succeeded(Resume()));
    EXPECT_TRUE(WaitForAgent(kBootTimeout));
    EXPECT_EQ(CountReadyBanners(), 0) << "a restored guest does not boot:\n"
                                      << ReadSerialLog();
}

TEST_F(BootedSaveQemuTest, RemovedManagedSaveImageMakesTheNextStartBootAfresh)
{
    v1::Domain saved;
    ASSERT_TRUE(Succeeded(ManagedSave(&saved)));
    v1::RemoveDomainManagedSaveImageRequest remove;
    *remove.mutable_domain() = ref();
    v1::Domain removed;
    ASSERT_TRUE(Succeeded(Call(&Stub::RemoveDomainManagedSaveImage, remove, &removed)));
    EXPECT_FALSE(HasManagedSaveImage());

    v1::Domain started;
    ASSERT_TRUE(Succeeded(Start({}, &started)));
    EXPECT_EQ(DescribeState(started.state()), "DOMAIN_STATE_RUNNING/RUNNING_REASON_BOOTED");
    EXPECT_TRUE(WaitForReadyBanners(1, kBootTimeout));
}

TEST_F(SaveQemuTest, ManagedSaveXmlOfAGuestWithoutImageFailsPrecondition)
{
    std::string xml;
    grpc::Status status = ManagedSaveXml(&xml);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_FALSE(HasManagedSaveImage());
}

// --- core dumps --------------------------------------------------------------------

// The default dump is the whole QEMU state, as a QEMU migration stream ("QEVM").
TEST_F(SaveQemuTest, CoreDumpWritesTheQemuStateAndTheGuestRunsOn)
{
    ASSERT_TRUE(Succeeded(Start()));
    std::string path = GuestFile("guest.core");

    v1::Domain domain;
    ASSERT_TRUE(Succeeded(CoreDump(path, v1::CORE_DUMP_FORMAT_UNSPECIFIED, {}, &domain)));

    EXPECT_GT(FileSize(path), 1u << 20);
    EXPECT_EQ(FileStart(path, 4), "QEVM");
    EXPECT_EQ(domain.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(SaveQemuTest, MemoryOnlyRawCoreDumpWritesAnElfFile)
{
    ASSERT_TRUE(Succeeded(Start()));
    std::string path = GuestFile("guest.elf");

    v1::Domain domain;
    ASSERT_TRUE(Succeeded(CoreDump(path, v1::CORE_DUMP_FORMAT_RAW,
                                   {v1::CORE_DUMP_FLAG_MEMORY_ONLY}, &domain)));

    EXPECT_GT(FileSize(path), 1u << 20);
    EXPECT_EQ(FileStart(path, 4), "\x7f"
                                  "ELF");
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

// QEMU writes kdump-compressed dumps in makedumpfile's flattened format.
TEST_F(SaveQemuTest, MemoryOnlyCoreDumpInKdumpZlibFormatWritesAKdumpFile)
{
    ASSERT_TRUE(Succeeded(Start()));
    std::string path = GuestFile("guest.kdump");

    v1::Domain domain;
    ASSERT_TRUE(Succeeded(CoreDump(path, v1::CORE_DUMP_FORMAT_KDUMP_ZLIB,
                                   {v1::CORE_DUMP_FLAG_MEMORY_ONLY}, &domain)));

    EXPECT_THAT(FileStart(path, 16), StartsWith("makedumpfile"));
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(SaveQemuTest, KdumpFormatWithoutMemoryOnlyIsRefusedAndWritesNothing)
{
    ASSERT_TRUE(Succeeded(Start()));
    std::string path = GuestFile("guest.kdump");

    v1::Domain domain;
    grpc::Status status = CoreDump(path, v1::CORE_DUMP_FORMAT_KDUMP_ZLIB, {}, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_OPERATION_UNSUPPORTED"));
    EXPECT_THAT(status.error_message(), HasSubstr("memory-only"));
    EXPECT_EQ(FileSize(path), 0u);
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(SaveQemuTest, CoreDumpWithCrashLeavesTheGuestShutOffAsCrashed)
{
    ASSERT_TRUE(Succeeded(Start()));
    std::string path = GuestFile("guest.core");

    v1::Domain domain;
    ASSERT_TRUE(Succeeded(CoreDump(path, v1::CORE_DUMP_FORMAT_UNSPECIFIED,
                                   {v1::CORE_DUMP_FLAG_CRASH}, &domain)));

    EXPECT_GT(FileSize(path), 1u << 20);
    EXPECT_EQ(DescribeState(domain.state()), "DOMAIN_STATE_SHUTOFF/SHUTOFF_REASON_CRASHED");
}

} // namespace
} // namespace virtgrpc::testing
