// GuestAgentService on a real QEMU guest (TCG) and its qemu-guest-agent, through virtgrpcd
// and grpc++ stubs only: guest info (host name, OS from the guest's /etc/os-release, the
// data disk's file system), the file system list, freezing / thawing / trimming the data
// disk's ext4 on /mnt/data, root's password (shown in the guest's /etc/shadow, read by
// typing a command into the guest's VGA console whose output goes to the serial log),
// root's SSH authorized keys, the agent response timeout; and the statuses libvirt gives
// for a shut-off guest and for a guest without an agent channel.
//
// Each test has its own server and domain (tests/support/qemu-guest.h); checks that
// need a booted guest share one boot per test.
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/qemu-guest.h"
#include "virtgrpc/v1/guest_agent.grpc.pb.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr const char kDataMount[] = "/mnt/data";
constexpr const char kKey1[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGK3ZXVpV2d2dmdydHBjdGVzdGtleW9uZTEyMzQ1Njc4 "
    "one@vg";
constexpr const char kKey2[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZndGVzdGtleXR3b3Zndml0Z3JwY3Rlc3RrZXl0d28x "
    "two@vg";

template <typename Base> class GuestAgentQemuTest : public Base
{
  protected:
    void
    SetUp() override
    {
        Base::SetUp();
        if (this->HasFatalFailure())
            return;
        agent_ = v1::GuestAgentService::NewStub(this->channel());
    }

    void
    TearDown() override
    {
        agent_.reset();
        Base::TearDown();
    }

    template <typename Request>
    Request
    Req()
    {
        Request request;
        *request.mutable_domain() = this->ref();
        return request;
    }

    std::unique_ptr<grpc::ClientContext>
    Ctx()
    {
        return ContextWithDeadline(kHypervisorCallTimeout);
    }

    grpc::Status
    GuestInfo(std::vector<v1::GuestInfoType> types,
              v1::GetDomainGuestInfoResponse *response)
    {
        auto request = Req<v1::GetDomainGuestInfoRequest>();
        for (v1::GuestInfoType t : types)
            request.add_types(t);
        return agent_->GetDomainGuestInfo(Ctx().get(), request, response);
    }

    grpc::Status
    FsInfo(v1::GetDomainFsInfoResponse *response)
    {
        return agent_->GetDomainFsInfo(Ctx().get(), Req<v1::GetDomainFsInfoRequest>(),
                                       response);
    }

    grpc::Status
    Freeze(std::vector<std::string> mountpoints, uint32_t *frozen = nullptr)
    {
        auto request = Req<v1::FreezeDomainFilesystemsRequest>();
        for (const std::string &m : mountpoints)
            request.add_mountpoints(m);
        v1::FreezeDomainFilesystemsResponse response;
        grpc::Status status =
            agent_->FreezeDomainFilesystems(Ctx().get(), request, &response);
        if (frozen)
            *frozen = response.frozen();
        return status;
    }

    grpc::Status
    Thaw(std::vector<std::string> mountpoints, uint32_t *thawed = nullptr)
    {
        auto request = Req<v1::ThawDomainFilesystemsRequest>();
        for (const std::string &m : mountpoints)
            request.add_mountpoints(m);
        v1::ThawDomainFilesystemsResponse response;
        grpc::Status status =
            agent_->ThawDomainFilesystems(Ctx().get(), request, &response);
        if (thawed)
            *thawed = response.thawed();
        return status;
    }

    grpc::Status
    Trim(const std::string &mountpoint, uint64_t minimum_bytes = 0)
    {
        auto request = Req<v1::TrimDomainFilesystemsRequest>();
        request.set_mountpoint(mountpoint);
        request.set_minimum_bytes(minimum_bytes);
        v1::TrimDomainFilesystemsResponse response;
        return agent_->TrimDomainFilesystems(Ctx().get(), request, &response);
    }

    grpc::Status
    SetPassword(const std::string &user, const std::string &password,
                std::vector<v1::UserPasswordFlag> flags = {})
    {
        auto request = Req<v1::SetDomainUserPasswordRequest>();
        request.set_user(user);
        request.set_password(password);
        for (v1::UserPasswordFlag f : flags)
            request.add_flags(f);
        v1::SetDomainUserPasswordResponse response;
        return agent_->SetDomainUserPassword(Ctx().get(), request, &response);
    }

    grpc::Status
    GetKeys(const std::string &user, std::vector<std::string> *keys)
    {
        auto request = Req<v1::GetDomainAuthorizedSshKeysRequest>();
        request.set_user(user);
        v1::GetDomainAuthorizedSshKeysResponse response;
        grpc::Status status =
            agent_->GetDomainAuthorizedSshKeys(Ctx().get(), request, &response);
        keys->assign(response.keys().begin(), response.keys().end());
        return status;
    }

    grpc::Status
    SetKeys(const std::string &user, std::vector<std::string> keys,
            std::vector<v1::AuthorizedSshKeysSetFlag> flags = {})
    {
        auto request = Req<v1::SetDomainAuthorizedSshKeysRequest>();
        request.set_user(user);
        for (const std::string &k : keys)
            request.add_keys(k);
        for (v1::AuthorizedSshKeysSetFlag f : flags)
            request.add_flags(f);
        v1::SetDomainAuthorizedSshKeysResponse response;
        return agent_->SetDomainAuthorizedSshKeys(Ctx().get(), request, &response);
    }

    grpc::Status
    SetTimeout(v1::AgentResponseTimeoutMode mode)
    {
        auto request = Req<v1::SetDomainAgentResponseTimeoutRequest>();
        request.set_mode(mode);
        v1::SetDomainAgentResponseTimeoutResponse response;
        return agent_->SetDomainAgentResponseTimeout(Ctx().get(), request, &response);
    }

    grpc::Status
    SetTimeoutSeconds(int32_t seconds)
    {
        auto request = Req<v1::SetDomainAgentResponseTimeoutRequest>();
        request.set_seconds(seconds);
        v1::SetDomainAgentResponseTimeoutResponse response;
        return agent_->SetDomainAgentResponseTimeout(Ctx().get(), request, &response);
    }

    // Types `text` (lower-case letters, digits, space, '/', '.', '>', 'S') into the
    // guest's VGA console and presses Enter; the first call activates its shell.
    void
    Type(const std::string &text)
    {
        static const std::string kLetters = "abcdefghijklmnopqrstuvwxyz";
        static const uint32_t kLetterCodes[] = {30, 48, 46, 32, 18, 33, 34, 35, 23,
                                                36, 37, 38, 50, 49, 24, 25, 16, 19,
                                                31, 20, 22, 47, 17, 45, 21, 44};
        constexpr uint32_t kShift = 42;
        std::vector<std::vector<uint32_t>> presses;
        if (!console_active_) {
            presses.push_back({28}); // "Please press Enter to activate this console."
            console_active_ = true;
        }
        for (char c : text) {
            size_t letter = kLetters.find(c);
            if (letter != std::string::npos)
                presses.push_back({kLetterCodes[letter]});
            else if (c == 'S')
                presses.push_back({kShift, 31});
            else if (c >= '1' && c <= '9')
                presses.push_back({uint32_t(c - '1' + 2)});
            else if (c == '0')
                presses.push_back({11});
            else if (c == ' ')
                presses.push_back({57});
            else if (c == '/')
                presses.push_back({53});
            else if (c == '.')
                presses.push_back({52});
            else if (c == '>')
                presses.push_back({kShift, 52});
            else
                FAIL() << "cannot type '" << c << "'";
        }
        presses.push_back({28});
        for (const std::vector<uint32_t> &keys : presses) {
            v1::SendDomainKeyRequest request;
            *request.mutable_domain() = this->ref();
            request.set_keycode_set(v1::KEYCODE_SET_LINUX);
            for (uint32_t key : keys)
                request.add_keycodes(key);
            v1::Domain domain;
            ASSERT_TRUE(
                Succeeded(this->domains_->SendDomainKey(Ctx().get(), request, &domain)));
        }
    }

    // root's /etc/shadow line, printed by the guest on the serial console after
    // `marker` lines were typed before (each Type of the cat adds one).
    std::string
    ShadowRootLine(int occurrence)
    {
        std::string line;
        const std::regex root_line("root:[^:\\r\\n]*:[0-9]*:[^\\r\\n]*");
        EXPECT_TRUE(WaitUntil(
            [&] {
                std::string log = this->ReadSerialLog();
                int seen = 0;
                for (auto it = std::sregex_iterator(log.begin(), log.end(), root_line);
                     it != std::sregex_iterator(); ++it) {
                    if (++seen == occurrence) {
                        line = it->str();
                        return true;
                    }
                }
                return false;
            },
            kBootTimeout))
            << "the shadow line #" << occurrence
            << " never appeared on the serial console:\n"
            << this->ReadSerialLog();
        return line;
    }

    std::unique_ptr<v1::GuestAgentService::Stub> agent_;
    bool console_active_ = false;
};

using BootedGuestAgentTest = GuestAgentQemuTest<BootedQemuGuestTest>;
using GuestAgentTest = GuestAgentQemuTest<QemuGuestTest>;

// --- guest info and file systems ----------------------------------------------------

TEST_F(BootedGuestAgentTest, GuestInfoReportsHostnameOsAndTheDataFilesystem)
{
    v1::GetDomainGuestInfoResponse info;
    ASSERT_TRUE(Succeeded(GuestInfo({}, &info)));
    EXPECT_EQ(info.hostname(), kGuestHostname);
    ASSERT_TRUE(info.has_os());
    EXPECT_EQ(info.os().id(), "virtgrpc-guest");
    EXPECT_EQ(info.os().name(), "virtgrpc test guest");
    EXPECT_EQ(info.os().version_id(), "1");
    EXPECT_EQ(info.os().pretty_name(), "virtgrpc test guest 1 (busybox)");
    EXPECT_THAT(info.os().kernel_release(), HasSubstr("cloud-amd64"));
    EXPECT_EQ(info.os().machine(), "x86_64");

    const v1::GuestFilesystem *data = nullptr;
    for (const v1::GuestFilesystem &fs : info.filesystems())
        if (fs.mountpoint() == kDataMount)
            data = &fs;
    ASSERT_NE(data, nullptr) << info.DebugString();
    EXPECT_EQ(data->fstype(), "ext4");
    EXPECT_EQ(data->name(), "vda");
    // 64 MiB of ext4: less than that usable, and some of it used.
    EXPECT_GT(data->total_bytes(), 32u << 20);
    EXPECT_LE(data->total_bytes(), 64u << 20);
    EXPECT_GT(data->used_bytes(), 0u);
    EXPECT_LT(data->used_bytes(), data->total_bytes());

    // The guest has no TZ setting and nobody logged in (its shells run without login).
    ASSERT_TRUE(info.has_timezone()) << info.DebugString();
    EXPECT_EQ(info.timezone().name(), "UTC");
    EXPECT_EQ(info.timezone().offset_seconds(), 0);
    EXPECT_THAT(info.users(), IsEmpty());

    // The raw parameters carry the same values under libvirt's names, and the groups
    // virtgrpc does not decode (disks, interfaces: the data disk; lo and eth0).
    std::map<std::string, v1::TypedParameter> raw;
    for (const v1::TypedParameter &p : info.parameters())
        raw[p.name()] = p;
    EXPECT_EQ(raw["hostname"].string_value(), kGuestHostname);
    EXPECT_EQ(raw["os.id"].string_value(), "virtgrpc-guest");
    EXPECT_TRUE(raw["user.count"].has_uint32_value());
    EXPECT_EQ(raw["user.count"].uint32_value(), 0u);
    EXPECT_EQ(raw["disk.count"].uint32_value(), 1u) << info.DebugString();
    EXPECT_EQ(raw["if.count"].uint32_value(), 2u) << info.DebugString();

    // Asking for one group returns only that group.
    v1::GetDomainGuestInfoResponse only_hostname;
    ASSERT_TRUE(Succeeded(GuestInfo({v1::GUEST_INFO_TYPE_HOSTNAME}, &only_hostname)));
    EXPECT_EQ(only_hostname.hostname(), kGuestHostname);
    EXPECT_FALSE(only_hostname.has_os());
    EXPECT_THAT(only_hostname.filesystems(), IsEmpty());
    ASSERT_EQ(only_hostname.parameters_size(), 1) << only_hostname.DebugString();
}

TEST_F(BootedGuestAgentTest, DataFilesystemIsListedFrozenThawedAndTrimmed)
{
    v1::GetDomainFsInfoResponse fsinfo;
    ASSERT_TRUE(Succeeded(FsInfo(&fsinfo)));
    const v1::DomainFsInfo *data = nullptr;
    for (const v1::DomainFsInfo &fs : fsinfo.filesystems())
        if (fs.mountpoint() == kDataMount)
            data = &fs;
    ASSERT_NE(data, nullptr) << fsinfo.DebugString();
    EXPECT_EQ(data->fstype(), "ext4");
    EXPECT_EQ(data->name(), "vda");
    EXPECT_THAT(data->disk_aliases(), Not(IsEmpty())) << fsinfo.DebugString();

    // QEMU trims every file system: one mount point is not supported.
    EXPECT_TRUE(Succeeded(Trim("")));
    EXPECT_TRUE(Succeeded(Trim("", 1 << 20)));
    EXPECT_TRUE(FailedWith(Trim(kDataMount), grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_ARGUMENT_UNSUPPORTED"));

    uint32_t frozen = 0;
    ASSERT_TRUE(Succeeded(Freeze({kDataMount}, &frozen)));
    EXPECT_EQ(frozen, 1u);
    // While frozen, the agent refuses other commands (qemu-ga disables them).
    grpc::Status during = Trim("");
    EXPECT_TRUE(FailedWith(during, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(during.error_message(), HasSubstr("frozen state"));
    // QEMU thaws every frozen file system: naming mount points is not supported.
    EXPECT_TRUE(FailedWith(Thaw({kDataMount}), grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_ARGUMENT_UNSUPPORTED"));

    uint32_t thawed = 0;
    ASSERT_TRUE(Succeeded(Thaw({}, &thawed)));
    EXPECT_EQ(thawed, 1u);
    // Thawed: the agent works again, nothing is left to thaw.
    EXPECT_TRUE(Succeeded(Trim("")));
    ASSERT_TRUE(Succeeded(Thaw({}, &thawed)));
    EXPECT_EQ(thawed, 0u);

    // Freezing everything freezes at least the data disk; thawing everything thaws them.
    ASSERT_TRUE(Succeeded(Freeze({}, &frozen)));
    EXPECT_GE(frozen, 1u);
    ASSERT_TRUE(Succeeded(Thaw({}, &thawed)));
    EXPECT_EQ(thawed, frozen);
    EXPECT_TRUE(ServerStillServes());
}

// --- password and SSH keys ------------------------------------------------------------

TEST_F(BootedGuestAgentTest, SetUserPasswordChangesRootsShadowEntry)
{
    ASSERT_NO_FATAL_FAILURE(Type("cat /etc/shadow >/dev/ttyS0"));
    std::string before = ShadowRootLine(1);
    EXPECT_THAT(before, HasSubstr("root::")) << "root starts without a password";

    ASSERT_TRUE(Succeeded(SetPassword("root", "virtgrpc-s3cret")));
    ASSERT_NO_FATAL_FAILURE(Type("cat /etc/shadow >/dev/ttyS0"));
    std::string hashed = ShadowRootLine(2);
    EXPECT_THAT(hashed, HasSubstr("root:$6$")) << "a SHA-512 hash from the chpasswd shim";

    // ENCRYPTED stores the hash as given.
    const std::string hash = "$6$vgsalt$0123456789abcdefABCDEF";
    ASSERT_TRUE(Succeeded(SetPassword("root", hash, {v1::USER_PASSWORD_FLAG_ENCRYPTED})));
    ASSERT_NO_FATAL_FAILURE(Type("cat /etc/shadow >/dev/ttyS0"));
    EXPECT_THAT(ShadowRootLine(3), HasSubstr("root:" + hash + ":"));

    // A user the guest does not have: the agent's chpasswd fails.
    grpc::Status status = SetPassword("nosuchuser", "x");
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr("guest-set-user-password"));
}

TEST_F(BootedGuestAgentTest, AuthorizedSshKeysAreSetAppendedReadAndRemoved)
{
    std::vector<std::string> keys;
    // root has no ~/.ssh/authorized_keys yet: qemu-ga fails to read it.
    grpc::Status first = GetKeys("root", &keys);
    EXPECT_TRUE(FailedWith(first, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(first.error_message(), HasSubstr("/root/.ssh/authorized_keys"));

    ASSERT_TRUE(Succeeded(SetKeys("root", {kKey1})));
    ASSERT_TRUE(Succeeded(GetKeys("root", &keys)));
    EXPECT_THAT(keys, ElementsAre(kKey1));

    ASSERT_TRUE(
        Succeeded(SetKeys("root", {kKey2}, {v1::AUTHORIZED_SSH_KEYS_SET_FLAG_APPEND})));
    ASSERT_TRUE(Succeeded(GetKeys("root", &keys)));
    EXPECT_THAT(keys, UnorderedElementsAre(kKey1, kKey2)); // qemu-ga puts new keys first

    ASSERT_TRUE(
        Succeeded(SetKeys("root", {kKey1}, {v1::AUTHORIZED_SSH_KEYS_SET_FLAG_REMOVE})));
    ASSERT_TRUE(Succeeded(GetKeys("root", &keys)));
    EXPECT_THAT(keys, ElementsAre(kKey2));

    // APPEND and REMOVE together: libvirt refuses, the keys stay.
    grpc::Status both = SetKeys(
        "root", {kKey1},
        {v1::AUTHORIZED_SSH_KEYS_SET_FLAG_APPEND, v1::AUTHORIZED_SSH_KEYS_SET_FLAG_REMOVE});
    EXPECT_TRUE(
        FailedWith(both, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    ASSERT_TRUE(Succeeded(GetKeys("root", &keys)));
    EXPECT_THAT(keys, ElementsAre(kKey2));

    // Bad input never reaches the guest.
    EXPECT_TRUE(FailedWith(SetKeys("root", {}), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(SetKeys("", {kKey1}), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    ASSERT_TRUE(Succeeded(GetKeys("root", &keys)));
    EXPECT_THAT(keys, ElementsAre(kKey2));
}

// --- agent timeout --------------------------------------------------------------------

TEST_F(BootedGuestAgentTest,
       AgentResponseTimeoutAcceptsSpecialsAndSecondsAndAgentStillAnswers)
{
    EXPECT_TRUE(Succeeded(SetTimeout(v1::AGENT_RESPONSE_TIMEOUT_MODE_BLOCK)));
    std::string hostname;
    EXPECT_TRUE(Succeeded(this->AgentHostname(&hostname, kHypervisorCallTimeout)));
    EXPECT_EQ(hostname, kGuestHostname);
    EXPECT_TRUE(Succeeded(SetTimeoutSeconds(30)));
    EXPECT_TRUE(Succeeded(SetTimeout(v1::AGENT_RESPONSE_TIMEOUT_MODE_NOWAIT)));
    EXPECT_TRUE(Succeeded(SetTimeout(v1::AGENT_RESPONSE_TIMEOUT_MODE_DEFAULT)));
    EXPECT_TRUE(Succeeded(this->AgentHostname(&hostname, kHypervisorCallTimeout)));
    EXPECT_EQ(hostname, kGuestHostname);

    grpc::Status status = SetTimeoutSeconds(-5);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("-5"));
}

// --- a shut-off guest; a guest without an agent channel --------------------------------

TEST_F(GuestAgentTest, AgentCallsOnAShutOffGuestFailPreconditionButTheTimeoutIsAccepted)
{
    const auto not_running = [](const grpc::Status &status) {
        return FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                          "VIR_ERR_OPERATION_INVALID");
    };
    v1::GetDomainGuestInfoResponse info;
    EXPECT_TRUE(not_running(GuestInfo({}, &info)));
    v1::GetDomainFsInfoResponse fsinfo;
    EXPECT_TRUE(not_running(FsInfo(&fsinfo)));
    EXPECT_TRUE(not_running(Freeze({})));
    EXPECT_TRUE(not_running(Thaw({})));
    EXPECT_TRUE(not_running(Trim("")));
    EXPECT_TRUE(not_running(SetPassword("root", "x")));
    std::vector<std::string> keys;
    EXPECT_TRUE(not_running(GetKeys("root", &keys)));
    EXPECT_TRUE(not_running(SetKeys("root", {kKey1})));
    // libvirt keeps the timeout for the agent of the next start.
    EXPECT_TRUE(Succeeded(SetTimeout(v1::AGENT_RESPONSE_TIMEOUT_MODE_BLOCK)));
    EXPECT_TRUE(Succeeded(SetTimeoutSeconds(10)));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(GuestAgentTest, AgentCallsOnAGuestWithoutAnAgentChannelAreUnimplemented)
{
    // Redefine the test's domain without its org.qemu.guest_agent.0 channel.
    auto xml_request = RequestFor<v1::GetDomainXMLRequest>(this->name());
    xml_request.add_flags(v1::DOMAIN_XML_FLAG_INACTIVE);
    v1::GetDomainXMLResponse xml;
    ASSERT_TRUE(Succeeded(this->domains_->GetDomainXML(Ctx().get(), xml_request, &xml)));
    const std::regex channel("<channel type='unix'>[\\s\\S]*?</channel>\\s*");
    std::string without = std::regex_replace(xml.xml(), channel, "");
    ASSERT_NE(without, xml.xml()) << xml.xml();
    ASSERT_THAT(without, Not(HasSubstr("org.qemu.guest_agent.0")));
    v1::DefineDomainRequest define;
    define.set_xml(without);
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(this->domains_->DefineDomain(Ctx().get(), define, &domain)));
    ASSERT_TRUE(Succeeded(this->Start()));

    const auto no_agent = [](const grpc::Status &status) {
        return FailedWith(status, grpc::StatusCode::UNIMPLEMENTED,
                          "VIR_ERR_ARGUMENT_UNSUPPORTED");
    };
    v1::GetDomainGuestInfoResponse info;
    EXPECT_TRUE(no_agent(GuestInfo({}, &info)));
    v1::GetDomainFsInfoResponse fsinfo;
    EXPECT_TRUE(no_agent(FsInfo(&fsinfo)));
    EXPECT_TRUE(no_agent(Freeze({kDataMount})));
    EXPECT_TRUE(no_agent(Thaw({})));
    EXPECT_TRUE(no_agent(Trim("")));
    EXPECT_TRUE(no_agent(SetPassword("root", "x")));
    std::vector<std::string> keys;
    EXPECT_TRUE(no_agent(GetKeys("root", &keys)));
    EXPECT_TRUE(no_agent(SetKeys("root", {kKey1})));
    // The timeout is libvirt's own setting: accepted without an agent.
    EXPECT_TRUE(Succeeded(SetTimeout(v1::AGENT_RESPONSE_TIMEOUT_MODE_BLOCK)));
    EXPECT_TRUE(this->ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
