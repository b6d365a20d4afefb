#include "tests/support/qemu-guest.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

extern char **environ;

namespace virtgrpc::testing {

std::vector<double> QemuGuestTest::boot_seconds_;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char kConnectUri[] = "qemu:///system";
// Every test domain's name starts with this; nothing else is ever touched.
constexpr const char kNamePrefix[] = "vgtest-";
// Keeps names (and libvirt's per-domain paths built from them) short.
constexpr size_t kMaxTestNameChars = 40;
// Bazel's strict action environment has no /usr/sbin, where make-domain.sh's runuser
// (it checks that libvirt-qemu can read the overlay) lives.
constexpr const char kToolPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

double SecondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Seconds(double seconds) {
    std::ostringstream text;
    text << std::fixed << std::setprecision(2) << seconds << " s";
    return text.str();
}

// The first program called `tool` on kToolPath, or "" when there is none.
std::string FindTool(const std::string &tool) {
    std::istringstream dirs(kToolPath);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::string path = dir + "/" + tool;
        if (access(path.c_str(), X_OK) == 0)
            return path;
    }
    return "";
}

// Runs argv (argv[0] looked up on kToolPath) with PATH=kToolPath, stderr going to the
// test log, and returns its exit code (-1 when it could not run or was killed);
// `output` receives its stdout.
int RunTool(const std::vector<std::string> &argv, std::string *output = nullptr) {
    std::string program = FindTool(argv[0]);
    if (program.empty()) {
        std::cerr << "cannot find '" << argv[0] << "' on " << kToolPath << "\n";
        return -1;
    }
    std::vector<std::string> env_strings = {std::string("PATH=") + kToolPath};
    for (char **entry = environ; *entry; ++entry) {
        if (std::strncmp(*entry, "PATH=", 5) != 0)
            env_strings.push_back(*entry);
    }
    std::vector<char *> envp;
    for (auto &entry : env_strings)
        envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char *> argvp;
    for (auto &arg : args)
        argvp.push_back(arg.data());
    argvp.push_back(nullptr);

    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    pid_t pid;
    int error = posix_spawn(&pid, program.c_str(), &actions, nullptr, argvp.data(),
                            envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (error != 0) {
        close(out[0]);
        std::cerr << "cannot run '" << program << "': " << std::strerror(error) << "\n";
        return -1;
    }
    std::string text;
    char buffer[4096];
    ssize_t got;
    while ((got = read(out[0], buffer, sizeof(buffer))) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        text.append(buffer, static_cast<size_t>(got));
    }
    close(out[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (output)
        *output = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The value of a "KEY=value" line in `text`, or "".
std::string ValueOf(const std::string &text, const std::string &key) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(key + "=", 0) == 0)
            return line.substr(key.size() + 1);
    }
    return "";
}

std::string ReadFile(const std::string &path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// A unique, libvirt- and make-domain.sh-safe name: vgtest-<pid>-<counter>-<test name>.
std::string UniqueDomainName() {
    static std::atomic<int> counter{0};
    const ::testing::TestInfo *test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string test_name = test ? test->name() : "test";
    for (char &c : test_name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
            c = '_';
    }
    test_name.resize(std::min(test_name.size(), kMaxTestNameChars));
    return kNamePrefix + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
           test_name;
}

std::string MakeDomainScript() {
    const char *srcdir = std::getenv("TEST_SRCDIR");
    const char *workspace = std::getenv("TEST_WORKSPACE");
    if (srcdir && workspace)
        return std::string(srcdir) + "/" + workspace + "/tests/guest/make-domain.sh";
    return "tests/guest/make-domain.sh";
}

// Whether process `pid` still runs (a zombie does not), without reaping it: the
// VirtgrpcdProcess that owns it does that.
bool ProcessRuns(pid_t pid) {
    std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size())
        return false;
    char state = stat[paren + 2];
    return state != 'Z' && state != 'X';
}

VirtgrpcdProcess::Options QemuServerOptions() {
    VirtgrpcdProcess::Options options;
    options.connect_uri = kConnectUri;
    return options;
}

// Sleeps until the next poll, `started` being when the previous one began.
void WaitForNextPoll(Clock::time_point started) {
    std::this_thread::sleep_until(started + kPollInterval);
}

}  // namespace

QemuGuestTest::QemuGuestTest() : ServerTest(QemuServerOptions()) {}

std::string DescribeState(const v1::DomainStateInfo &state) {
    std::string text = v1::DomainState_Name(state.state());
    switch (state.reason_case()) {
    case v1::DomainStateInfo::kNostateReason:
        return text + "/" + v1::NostateReason_Name(state.nostate_reason());
    case v1::DomainStateInfo::kRunningReason:
        return text + "/" + v1::RunningReason_Name(state.running_reason());
    case v1::DomainStateInfo::kBlockedReason:
        return text + "/" + v1::BlockedReason_Name(state.blocked_reason());
    case v1::DomainStateInfo::kPausedReason:
        return text + "/" + v1::PausedReason_Name(state.paused_reason());
    case v1::DomainStateInfo::kShutdownReason:
        return text + "/" + v1::ShutdownReason_Name(state.shutdown_reason());
    case v1::DomainStateInfo::kShutoffReason:
        return text + "/" + v1::ShutoffReason_Name(state.shutoff_reason());
    case v1::DomainStateInfo::kCrashedReason:
        return text + "/" + v1::CrashedReason_Name(state.crashed_reason());
    case v1::DomainStateInfo::kPmSuspendedReason:
        return text + "/" + v1::PMSuspendedReason_Name(state.pm_suspended_reason());
    case v1::DomainStateInfo::REASON_NOT_SET:
        break;
    }
    return text + "/(no reason)";
}

void QemuGuestTest::SetUp() {
    ASSERT_NO_FATAL_FAILURE(ServerTest::SetUp());
    name_ = UniqueDomainName();

    // A left-over domain of a crashed run with the same pid and counter: not ours to
    // remove, and defining over it would take it over.
    v1::Domain existing;
    grpc::Status lookup = GetDomain(name_, &existing);
    ASSERT_TRUE(FailedWith(lookup, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"))
        << "a domain '" << name_ << "' exists already; left alone";

    ASSERT_NO_FATAL_FAILURE(MakeDomainFiles());

    v1::DefineDomainRequest request;
    request.set_xml(ReadFile(xml_path_));
    ASSERT_FALSE(request.xml().empty()) << "cannot read '" << xml_path_ << "'";
    // Set first: a define that reaches libvirt but whose reply is lost still needs the
    // teardown.
    is_defined_ = true;
    ASSERT_TRUE(Succeeded(
        domains_->DefineDomain(ContextWithDeadline().get(), request, &defined_)))
        << "defining '" << name_ << "' from " << xml_path_;
}

void QemuGuestTest::MakeDomainFiles() {
    std::error_code error;
    namespace fs = std::filesystem;
    // libvirt-qemu must search every directory on the way to the overlay.
    constexpr fs::perms kSearchable = fs::perms::owner_all | fs::perms::group_read |
                                      fs::perms::group_exec | fs::perms::others_read |
                                      fs::perms::others_exec;
    if (fs::create_directory(kGuestFilesRoot, error))
        fs::permissions(kGuestFilesRoot, kSearchable, error);
    ASSERT_FALSE(error) << "cannot create '" << kGuestFilesRoot << "': " << error.message();

    std::string dir = std::string(kGuestFilesRoot) + "/" + name_;
    // Files of a crashed run with the same name; its domain does not exist (SetUp
    // checked), so nothing uses them.
    fs::remove_all(dir, error);
    ASSERT_TRUE(fs::create_directory(dir, error))
        << "cannot create '" << dir << "': " << error.message();
    dir_ = dir;
    fs::permissions(dir_, kSearchable, error);
    ASSERT_FALSE(error) << "cannot chmod '" << dir_ << "': " << error.message();

    std::string output;
    int code = RunTool({"bash", MakeDomainScript(), name_, dir_}, &output);
    ASSERT_EQ(code, 0) << "make-domain.sh " << name_ << " " << dir_
                       << " failed (its stderr is above); stdout:\n"
                       << output;
    xml_path_ = ValueOf(output, "XML");
    overlay_path_ = ValueOf(output, "OVERLAY");
    log_path_ = ValueOf(output, "LOGFILE");
    ASSERT_FALSE(xml_path_.empty() || overlay_path_.empty() || log_path_.empty())
        << "make-domain.sh printed no XML=, OVERLAY= or LOGFILE=:\n"
        << output;
}

void QemuGuestTest::TearDown() {
    if (is_defined_) {
        std::string why;
        if (!RemoveDomainThroughServer(&why)) {
            ADD_FAILURE() << "virtgrpcd could not remove '" << name_ << "': " << why
                          << "; removing it with virsh";
            RemoveDomainWithVirsh();
        }
        is_defined_ = false;
    }
    if (!dir_.empty()) {
        std::error_code error;
        std::filesystem::remove_all(dir_, error);
        EXPECT_FALSE(error) << "cannot remove '" << dir_ << "': " << error.message();
        dir_.clear();
    }
    ServerTest::TearDown();
}

bool QemuGuestTest::RemoveDomainThroughServer(std::string *why) {
    if (!domains_ || !server().running() || !ProcessRuns(server().pid())) {
        *why = "virtgrpcd is not running";
        return false;
    }
    v1::GetDomainStateRequest state_request;
    *state_request.mutable_domain() = ref();
    v1::DomainStateInfo state;
    grpc::Status status =
        domains_->GetDomainState(ContextWithDeadline().get(), state_request, &state);
    if (FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"))
        return true; // The test removed it.
    if (!status.ok()) {
        *why = "GetDomainState: " + Describe(status);
        return false;
    }
    if (state.state() != v1::DOMAIN_STATE_SHUTOFF) {
        status = Destroy();
        // A guest that shut off in between is fine.
        if (!status.ok() && !FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                                        "VIR_ERR_OPERATION_INVALID")) {
            *why = "DestroyDomain: " + Describe(status);
            return false;
        }
    }
    status = Undefine({v1::UNDEFINE_FLAG_MANAGED_SAVE, v1::UNDEFINE_FLAG_SNAPSHOTS_METADATA,
                       v1::UNDEFINE_FLAG_CHECKPOINTS_METADATA, v1::UNDEFINE_FLAG_NVRAM});
    // A domain the test had made transient disappeared with the destroy.
    if (!status.ok() &&
        !FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN")) {
        *why = "UndefineDomain: " + Describe(status);
        return false;
    }
    v1::Domain domain;
    status = GetDomain(name_, &domain);
    if (!FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN")) {
        *why = "the domain is still there after destroy and undefine: GetDomain says " +
               (status.ok() ? DescribeState(domain.state()) : Describe(status));
        return false;
    }
    return true;
}

void QemuGuestTest::RemoveDomainWithVirsh() {
    std::string output;
    if (RunTool({"virsh", "-c", kConnectUri, "domstate", name_}, &output) != 0) {
        std::cerr << "virsh: no domain '" << name_ << "' left\n";
        return;
    }
    std::cerr << "virsh: '" << name_ << "' is " << output;
    if (output.find("shut off") == std::string::npos)
        RunTool({"virsh", "-c", kConnectUri, "destroy", name_});
    int code = RunTool({"virsh", "-c", kConnectUri, "undefine", name_, "--managed-save",
                        "--snapshots-metadata", "--checkpoints-metadata", "--nvram"});
    EXPECT_EQ(code, 0) << "virsh undefine '" << name_ << "' failed; remove it by hand";
}

void QemuGuestTest::TearDownTestSuite() {
    if (boot_seconds_.empty())
        return;
    std::vector<double> sorted = boot_seconds_;
    std::sort(sorted.begin(), sorted.end());
    size_t n = sorted.size();
    double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    std::cerr << "[ qemu-guest ] boot-to-agent through virtgrpcd so far, " << n
              << " boots: min " << Seconds(sorted.front()) << ", median " << Seconds(median)
              << ", max " << Seconds(sorted.back()) << "\n";
}

v1::Domain QemuGuestTest::Boot() {
    v1::Domain domain;
    Clock::time_point begin = Clock::now();
    grpc::Status status = Start({}, &domain);
    double start_seconds = SecondsSince(begin);
    if (!status.ok()) {
        ADD_FAILURE() << "StartDomain '" << name_ << "' failed: " << Describe(status);
        return domain;
    }
    ::testing::AssertionResult answered = WaitForAgent(kBootTimeout);
    double boot_seconds = SecondsSince(begin);
    if (!answered) {
        ADD_FAILURE() << "'" << name_ << "' started, but " << answered.message()
                      << "\nserial console:\n"
                      << ReadSerialLog();
        return domain;
    }
    // rcS starts the agent just before it prints the banner: the agent may answer first.
    ::testing::AssertionResult banner = WaitForReadyBanners(1, kBootTimeout);
    if (!banner) {
        ADD_FAILURE() << "the agent of '" << name_ << "' answers, but " << banner.message();
        return domain;
    }
    boot_seconds_.push_back(boot_seconds);
    RecordProperty("boot_to_agent_ms", static_cast<int>(boot_seconds * 1000));
    std::cerr << "[ qemu-guest ] '" << name_ << "': StartDomain returned after "
              << Seconds(start_seconds) << ", the agent answered " << Seconds(boot_seconds)
              << " after the start\n";
    return domain;
}

grpc::Status QemuGuestTest::Start(std::initializer_list<v1::StartFlag> flags,
                                  v1::Domain *domain) {
    v1::StartDomainRequest request;
    *request.mutable_domain() = ref();
    for (v1::StartFlag flag : flags)
        request.add_flags(flag);
    v1::Domain response;
    grpc::Status status = domains_->StartDomain(
        ContextWithDeadline(kHypervisorCallTimeout).get(), request, &response);
    if (domain)
        *domain = response;
    return status;
}

grpc::Status QemuGuestTest::Shutdown(std::initializer_list<v1::ShutdownMode> modes,
                                     v1::Domain *domain) {
    v1::ShutdownDomainRequest request;
    *request.mutable_domain() = ref();
    for (v1::ShutdownMode mode : modes)
        request.add_modes(mode);
    v1::Domain response;
    grpc::Status status = domains_->ShutdownDomain(
        ContextWithDeadline(kHypervisorCallTimeout).get(), request, &response);
    if (domain)
        *domain = response;
    return status;
}

grpc::Status QemuGuestTest::Reboot(std::initializer_list<v1::RebootMode> modes,
                                   v1::Domain *domain) {
    v1::RebootDomainRequest request;
    *request.mutable_domain() = ref();
    for (v1::RebootMode mode : modes)
        request.add_modes(mode);
    v1::Domain response;
    grpc::Status status = domains_->RebootDomain(
        ContextWithDeadline(kHypervisorCallTimeout).get(), request, &response);
    if (domain)
        *domain = response;
    return status;
}

grpc::Status QemuGuestTest::Reset(v1::Domain *domain) {
    v1::ResetDomainRequest request;
    *request.mutable_domain() = ref();
    v1::Domain response;
    grpc::Status status = domains_->ResetDomain(
        ContextWithDeadline(kHypervisorCallTimeout).get(), request, &response);
    if (domain)
        *domain = response;
    return status;
}

grpc::Status QemuGuestTest::Destroy(v1::Domain *domain) {
    v1::DestroyDomainRequest request;
    *request.mutable_domain() = ref();
    v1::Domain response;
    grpc::Status status = domains_->DestroyDomain(
        ContextWithDeadline(kHypervisorCallTimeout).get(), request, &response);
    if (domain)
        *domain = response;
    return status;
}

grpc::Status QemuGuestTest::Suspend(v1::Domain *domain) {
    v1::SuspendDomainRequest request;
    *request.mutable_domain() = ref();
    v1::Domain response;
    grpc::Status status =
        domains_->SuspendDomain(ContextWithDeadline().get(), request, &response);
    if (domain)
        *domain = response;
    return status;
}

grpc::Status QemuGuestTest::Resume(v1::Domain *domain) {
    v1::ResumeDomainRequest request;
    *request.mutable_domain() = ref();
    v1::Domain response;
    grpc::Status status =
        domains_->ResumeDomain(ContextWithDeadline().get(), request, &response);
    if (domain)
        *domain = response;
    return status;
}

grpc::Status QemuGuestTest::Undefine(std::initializer_list<v1::UndefineFlag> flags,
                                     v1::Domain *domain) {
    v1::UndefineDomainRequest request;
    *request.mutable_domain() = ref();
    for (v1::UndefineFlag flag : flags)
        request.add_flags(flag);
    v1::Domain response;
    grpc::Status status =
        domains_->UndefineDomain(ContextWithDeadline().get(), request, &response);
    if (domain)
        *domain = response;
    return status;
}

grpc::Status QemuGuestTest::Info(v1::DomainInfo *info) {
    v1::GetDomainInfoRequest request;
    *request.mutable_domain() = ref();
    return domains_->GetDomainInfo(ContextWithDeadline().get(), request, info);
}

grpc::Status QemuGuestTest::AgentHostname(std::string *hostname,
                                          std::chrono::milliseconds timeout) {
    v1::GetDomainHostnameRequest request;
    *request.mutable_domain() = ref();
    request.add_sources(v1::HOSTNAME_SOURCE_AGENT);
    v1::GetDomainHostnameResponse response;
    grpc::Status status =
        domains_->GetDomainHostname(ContextWithDeadline(timeout).get(), request, &response);
    if (hostname)
        *hostname = response.hostname();
    return status;
}

::testing::AssertionResult QemuGuestTest::WaitForState(const std::string &domain,
                                                       v1::DomainState state,
                                                       std::chrono::milliseconds timeout,
                                                       v1::DomainStateInfo *last) {
    Clock::time_point begin = Clock::now();
    Clock::time_point deadline = begin + timeout;
    // Every change seen, for the failure message.
    std::vector<std::string> seen;
    v1::DomainStateInfo current;
    for (;;) {
        Clock::time_point poll = Clock::now();
        v1::GetDomainStateRequest request;
        *request.mutable_domain() = RefByName(domain);
        grpc::Status status =
            domains_->GetDomainState(ContextWithDeadline().get(), request, &current);
        std::string now = status.ok() ? DescribeState(current) : Describe(status);
        if (seen.empty() || seen.back() != now)
            seen.push_back(now);
        if (last && status.ok())
            *last = current;
        if (status.ok() && current.state() == state)
            return ::testing::AssertionSuccess();
        if (Clock::now() >= deadline)
            break;
        WaitForNextPoll(poll);
    }
    ::testing::AssertionResult failure = ::testing::AssertionFailure();
    failure << "'" << domain << "' did not reach " << v1::DomainState_Name(state) << " within "
            << Seconds(std::chrono::duration<double>(timeout).count()) << "; states seen:";
    for (const std::string &text : seen)
        failure << " " << text;
    return failure;
}

::testing::AssertionResult QemuGuestTest::WaitForAgent(std::chrono::milliseconds timeout,
                                                       std::string *hostname) {
    Clock::time_point begin = Clock::now();
    Clock::time_point deadline = begin + timeout;
    grpc::Status status;
    std::string answer;
    int calls = 0;
    for (;;) {
        Clock::time_point poll = Clock::now();
        // libvirt waits up to 5 s for an agent it believes connected.
        status = AgentHostname(&answer);
        ++calls;
        if (status.ok()) {
            if (hostname)
                *hostname = answer;
            return ::testing::AssertionSuccess();
        }
        if (Clock::now() >= deadline)
            break;
        WaitForNextPoll(poll);
    }
    return ::testing::AssertionFailure()
           << "the guest agent of '" << name_ << "' did not answer within "
           << Seconds(std::chrono::duration<double>(timeout).count()) << " (" << calls
           << " calls); the last GetDomainHostname said " << Describe(status);
}

std::string QemuGuestTest::ReadSerialLog() const {
    return log_path_.empty() ? "" : ReadFile(log_path_);
}

int QemuGuestTest::CountReadyBanners() const {
    std::string log = ReadSerialLog();
    int count = 0;
    for (size_t at = log.find(kReadyBanner); at != std::string::npos;
         at = log.find(kReadyBanner, at + 1)) {
        ++count;
    }
    return count;
}

::testing::AssertionResult QemuGuestTest::WaitForReadyBanners(
    int count, std::chrono::milliseconds timeout) {
    Clock::time_point deadline = Clock::now() + timeout;
    int seen = 0;
    for (;;) {
        Clock::time_point poll = Clock::now();
        seen = CountReadyBanners();
        if (seen >= count)
            return ::testing::AssertionSuccess();
        if (Clock::now() >= deadline)
            break;
        WaitForNextPoll(poll);
    }
    return ::testing::AssertionFailure()
           << "the serial log of '" << name_ << "' shows " << seen << " ready banners, not "
           << count << ", after " << Seconds(std::chrono::duration<double>(timeout).count())
           << "; it reads:\n"
           << ReadSerialLog();
}

void BootedQemuGuestTest::SetUp() {
    ASSERT_NO_FATAL_FAILURE(QemuGuestTest::SetUp());
    started_ = Boot();
    ASSERT_FALSE(HasFailure()) << "the guest did not boot";
}

}  // namespace virtgrpc::testing
