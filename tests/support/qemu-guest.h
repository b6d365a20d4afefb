// Fixtures for tests on a real QEMU guest (tests/guest/README.md), driven only through
// virtgrpcd: every test gets its own `virtgrpcd --connect qemu:///system` and its own
// uniquely named domain, made by tests/guest/make-domain.sh (a fresh qcow2 overlay on the
// cached guest disk) and defined through DefineDomain. QemuGuestTest leaves the domain
// shut off; BootedQemuGuestTest also starts it and waits until its guest agent answers.
//
// Teardown always removes the domain (DestroyDomain, UndefineDomain with every metadata
// flag) and its files, also when the test failed. When virtgrpcd can no longer do it
// (it died, or it hangs), the fixture falls back to virsh for that one domain name and
// fails the test: such a server is a bug. Nothing here touches any other domain.
//
// The guest is slow to boot under TCG (~5 s, twice that on a busy host): waits poll a
// condition every 200 ms up to a generous deadline, never sleep a fixed time.
#pragma once

#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/domain.grpc.pb.h"

namespace virtgrpc::testing {

// The domain template's fixed facts (tests/guest/domain-template.xml, rootfs/etc/hostname).
constexpr const char kGuestHostname[] = "vg-guest";
constexpr uint64_t kGuestMemoryKiB = 131072;
constexpr uint32_t kGuestVcpus = 1;
// Printed on the serial console by the guest's rcS at the end of each boot, and by rcK
// when it shuts down in an orderly way (not on a reset or a destroy).
constexpr const char kReadyBanner[] = "VIRTGRPC-GUEST-READY";
constexpr const char kShutdownBanner[] = "VIRTGRPC-GUEST-SHUTDOWN";

// Deadlines for what the guest does: a boot or reboot until the agent answers, and an
// orderly shutdown. About ten times what an idle host needs.
constexpr std::chrono::milliseconds kBootTimeout{60000};
constexpr std::chrono::milliseconds kShutdownTimeout{60000};
// Calls that wait for QEMU (start, destroy): longer than kCallTimeout on a busy host.
constexpr std::chrono::milliseconds kHypervisorCallTimeout{60000};
// How often waits poll.
constexpr std::chrono::milliseconds kPollInterval{200};

// Where the per-test directories live: root-owned and 0755, so that libvirt's QEMU user
// (libvirt-qemu) can reach the overlays (it cannot enter the Bazel sandbox or /root).
constexpr const char kGuestFilesRoot[] = "/var/lib/libvirt/images/virtgrpc-tests";

class QemuGuestTest : public ServerTest {
  protected:
    QemuGuestTest();

    // Starts virtgrpcd on qemu:///system, makes the domain's files and defines it.
    void SetUp() override;
    // Removes the domain and its files, then stops the server.
    void TearDown() override;
    // Prints the boot-to-agent times of the whole suite.
    static void TearDownTestSuite();

    // The test's domain.
    const std::string &name() const { return name_; }
    v1::DomainRef ref() const { return RefByName(name_); }
    // The Domain DefineDomain returned.
    const v1::Domain &defined() const { return defined_; }

    // StartDomain, WaitForAgent, then waits for the ready banner (the agent may answer
    // just before it is printed); records and prints the boot-to-agent time. Returns the
    // domain StartDomain reported. Fails the test when any of this fails.
    v1::Domain Boot();

    // The lifecycle RPCs on the test's domain, with deadlines long enough for QEMU.
    // `domain` (optional) receives the response.
    grpc::Status Start(std::initializer_list<v1::StartFlag> flags = {},
                       v1::Domain *domain = nullptr);
    grpc::Status Shutdown(std::initializer_list<v1::ShutdownMode> modes,
                          v1::Domain *domain = nullptr);
    grpc::Status Reboot(std::initializer_list<v1::RebootMode> modes,
                        v1::Domain *domain = nullptr);
    grpc::Status Reset(v1::Domain *domain = nullptr);
    grpc::Status Destroy(v1::Domain *domain = nullptr);
    grpc::Status Suspend(v1::Domain *domain = nullptr);
    grpc::Status Resume(v1::Domain *domain = nullptr);
    grpc::Status Undefine(std::initializer_list<v1::UndefineFlag> flags,
                          v1::Domain *domain = nullptr);
    grpc::Status Info(v1::DomainInfo *info);
    // GetDomainHostname with sources [HOSTNAME_SOURCE_AGENT].
    grpc::Status AgentHostname(std::string *hostname,
                               std::chrono::milliseconds timeout = kCallTimeout);

    // Polls GetDomainState until `domain` is in `state`; `last` receives the last state
    // read. The failure message lists every state seen on the way.
    ::testing::AssertionResult WaitForState(const std::string &domain, v1::DomainState state,
                                            std::chrono::milliseconds timeout,
                                            v1::DomainStateInfo *last = nullptr);
    ::testing::AssertionResult WaitForState(v1::DomainState state,
                                            std::chrono::milliseconds timeout,
                                            v1::DomainStateInfo *last = nullptr) {
        return WaitForState(name_, state, timeout, last);
    }
    // Polls GetDomainHostname(AGENT) until it answers; `hostname` receives the answer.
    // Note that an agent still running in the guest before a reboot also answers: wait
    // for a new ready banner first.
    ::testing::AssertionResult WaitForAgent(std::chrono::milliseconds timeout,
                                            std::string *hostname = nullptr);

    // The guest's serial console since QEMU last started (virtlogd truncates the log on
    // each start, not on reboots), "" when there is none yet.
    std::string ReadSerialLog() const;
    // How often the guest printed kReadyBanner: the number of boots since QEMU started.
    int CountReadyBanners() const;
    // Polls the serial log until it holds at least `count` ready banners.
    ::testing::AssertionResult WaitForReadyBanners(int count, std::chrono::milliseconds timeout);

  private:
    // Makes the directory and files; fails the test on error.
    void MakeDomainFiles();
    // Removes the domain through virtgrpcd; false when the server could not.
    bool RemoveDomainThroughServer(std::string *why);
    // virsh destroy + undefine for this one name, when virtgrpcd cannot.
    void RemoveDomainWithVirsh();

    std::string name_;
    std::string dir_;
    std::string xml_path_;
    std::string overlay_path_;
    std::string log_path_;
    bool is_defined_ = false;
    v1::Domain defined_;

    // Boot-to-agent times of every Boot() in this test program.
    static std::vector<double> boot_seconds_;
};

// QemuGuestTest whose SetUp also boots the guest: it is RUNNING and its agent answers.
class BootedQemuGuestTest : public QemuGuestTest {
  protected:
    void SetUp() override;

    // The domain StartDomain returned.
    const v1::Domain &started() const { return started_; }

  private:
    v1::Domain started_;
};

// "DOMAIN_STATE_RUNNING/RUNNING_REASON_BOOTED", for messages.
std::string DescribeState(const v1::DomainStateInfo &state);

}  // namespace virtgrpc::testing
