// The virtgrpc CLI binary (client/cli) against the real virtgrpcd on test:///default:
// each test runs the command as a user would, checks its exit code and output, and reads
// the effect back through the fixture's independent grpc++ client. --json output is
// parsed with protobuf's own JSON parser into the response message, which proves the
// CLI speaks the proto3 JSON mapping.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "tests/support/cli-process.h"
#include "tests/support/client-test-certs.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/events.pb.h"
#include "virtgrpc/v1/jobs.grpc.pb.h"
#include "virtgrpc/v1/snapshots.grpc.pb.h"
#include "virtgrpc/v1/stats.pb.h"

namespace virtgrpc::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string TempPath(const std::string &name) {
    const char *dir = std::getenv("TEST_TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

struct CliResult {
    int exit_code;
    std::string out;
    std::string err;
};

std::ostream &operator<<(std::ostream &os, const CliResult &result) {
    return os << "exit " << result.exit_code << "\nstdout:\n"
              << result.out << "\nstderr:\n"
              << result.err;
}

template <typename Message>
Message ParseJson(const std::string &json) {
    Message message;
    auto status = google::protobuf::util::JsonStringToMessage(json, &message);
    EXPECT_TRUE(status.ok()) << status.ToString() << "\nin: " << json;
    return message;
}

class CliTest : public ServerTest {
  protected:
    // Runs `virtgrpc --server=<the fixture's server> --timeout=10 ARGS...`.
    CliResult Run(std::vector<std::string> args, const std::string &input = "") {
        args.insert(args.begin(), {"--server=" + server().target(), "--timeout=10"});
        return RunRaw(args, input);
    }

    static CliResult RunRaw(const std::vector<std::string> &args, const std::string &input = "") {
        CliProcess process(args, {input});
        CliResult result;
        result.exit_code = process.Wait(&result.out, &result.err);
        return result;
    }

    std::unique_ptr<CliProcess> Start(std::vector<std::string> args, bool on_terminal = false) {
        args.insert(args.begin(), "--server=" + server().target());
        CliProcess::Options options;
        options.on_terminal = on_terminal;
        return std::make_unique<CliProcess>(args, options);
    }
};

// --- list, dominfo -----------------------------------------------------------------

TEST_F(CliTest, ListShowsTheRunningStockDomainInATable) {
    CliResult result = Run({"list"});

    ASSERT_EQ(result.exit_code, 0) << result;
    EXPECT_THAT(result.out, StartsWith(" Id  Name  State\n")) << result;
    EXPECT_THAT(result.out, HasSubstr(" 1   test  running\n")) << result;
    EXPECT_EQ(result.err, "");
}

TEST_F(CliTest, ListAllJsonIsAListDomainsResponseWithInactiveDomains) {
    DefineDomain("cli-inactive");

    CliResult all = Run({"list", "--all", "--json"});
    CliResult active = Run({"list", "--json"});

    ASSERT_EQ(all.exit_code, 0) << all;
    auto listed = ParseJson<v1::ListDomainsResponse>(all.out);
    ASSERT_EQ(listed.domains_size(), 2) << all;
    std::map<std::string, v1::DomainState> states;
    for (const auto &domain : listed.domains())
        states[domain.name()] = domain.state().state();
    EXPECT_EQ(states["test"], v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(states["cli-inactive"], v1::DOMAIN_STATE_SHUTOFF);

    ASSERT_EQ(active.exit_code, 0) << active;
    auto running = ParseJson<v1::ListDomainsResponse>(active.out);
    ASSERT_EQ(running.domains_size(), 1) << active;
    EXPECT_EQ(running.domains(0).uuid(), kStockDomainUuid);
}

TEST_F(CliTest, ListNameAndUuidPrintOnePerLine) {
    DefineDomain("cli-second");

    EXPECT_EQ(Run({"list", "--all", "--name"}).out, "cli-second\ntest\n");
    EXPECT_EQ(Run({"list", "--uuid"}).out, std::string(kStockDomainUuid) + "\n");
}

TEST_F(CliTest, DominfoPrintsWhatGetDomainInfoSays) {
    CliResult text = Run({"dominfo", "test"});
    CliResult json = Run({"dominfo", kStockDomainUuid, "--json"});

    ASSERT_EQ(text.exit_code, 0) << text;
    EXPECT_THAT(text.out, AllOf(HasSubstr("Name:           test\n"),
                                HasSubstr(std::string("UUID:           ") + kStockDomainUuid),
                                HasSubstr("State:          running"),
                                HasSubstr("Max memory:     8388608 KiB\n")))
        << text;
    ASSERT_EQ(json.exit_code, 0) << json;
    auto info = ParseJson<v1::DomainInfo>(json.out);
    EXPECT_EQ(info.domain().name(), "test");
    EXPECT_EQ(info.max_memory_kib(), 8388608u);
    EXPECT_EQ(info.vcpus(), 2u);
}

// --- lifecycle, define, dumpxml ------------------------------------------------------

TEST_F(CliTest, LifecycleCommandsChangeTheDomainsState) {
    CliResult suspend = Run({"suspend", "test"});
    ASSERT_EQ(suspend.exit_code, 0) << suspend;
    EXPECT_EQ(suspend.out, "Domain 'test' suspended\n");
    EXPECT_EQ(StateOf("test").state(), v1::DOMAIN_STATE_PAUSED);

    ASSERT_EQ(Run({"resume", "test"}).exit_code, 0);
    EXPECT_EQ(StateOf("test").state(), v1::DOMAIN_STATE_RUNNING);

    ASSERT_EQ(Run({"reboot", "test"}).exit_code, 0);
    EXPECT_EQ(StateOf("test").state(), v1::DOMAIN_STATE_RUNNING);

    ASSERT_EQ(Run({"shutdown", "test"}).exit_code, 0);
    EXPECT_EQ(StateOf("test").shutoff_reason(), v1::SHUTOFF_REASON_SHUTDOWN);

    CliResult start = Run({"start", "test", "--json"});
    ASSERT_EQ(start.exit_code, 0) << start;
    EXPECT_EQ(ParseJson<v1::Domain>(start.out).state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(StateOf("test").state(), v1::DOMAIN_STATE_RUNNING);

    ASSERT_EQ(Run({"destroy", "test"}).exit_code, 0);
    EXPECT_EQ(StateOf("test").shutoff_reason(), v1::SHUTOFF_REASON_DESTROYED);
}

TEST_F(CliTest, WrongStateIsAServerErrorWithLibvirtsCode) {
    CliResult result = Run({"resume", "test"});

    EXPECT_EQ(result.exit_code, 1) << result;
    EXPECT_THAT(result.err, AllOf(StartsWith("virtgrpc: error: "),
                                  HasSubstr("(INTERNAL, VIR_ERR_INTERNAL_ERROR)\n")))
        << result;
    EXPECT_EQ(StateOf("test").state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(CliTest, DefineFromAFileAndUndefine) {
    std::string path = TempPath("cli-define.xml");
    std::ofstream(path) << MinimalDomainXml("cli-defined");

    CliResult define = Run({"define", path});
    ASSERT_EQ(define.exit_code, 0) << define;
    EXPECT_EQ(define.out, "Domain 'cli-defined' defined from " + path + "\n");
    EXPECT_EQ(StateOf("cli-defined").state(), v1::DOMAIN_STATE_SHUTOFF);

    CliResult undefine = Run({"undefine", "cli-defined"});
    ASSERT_EQ(undefine.exit_code, 0) << undefine;
    v1::Domain gone;
    EXPECT_EQ(GetDomain("cli-defined", &gone).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CliTest, DefineFromStdinAndAMissingFileIsAUsageError) {
    CliResult from_stdin = Run({"define", "-"}, MinimalDomainXml("cli-stdin"));
    CliResult missing = Run({"define", TempPath("no-such-file.xml")});

    ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin;
    EXPECT_EQ(StateOf("cli-stdin").state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(missing.exit_code, 2) << missing;
    EXPECT_THAT(missing.err, HasSubstr("cannot read"));
}

TEST_F(CliTest, DumpxmlPrintsTheXmlGetDomainXMLReturns) {
    v1::GetDomainXMLRequest request;
    *request.mutable_domain() = RefByName("test");
    request.add_flags(v1::DOMAIN_XML_FLAG_INACTIVE);
    v1::GetDomainXMLResponse expected;
    grpc::ClientContext context;
    ASSERT_TRUE(domains_->GetDomainXML(&context, request, &expected).ok());

    CliResult result = Run({"dumpxml", "--inactive", "test"});

    ASSERT_EQ(result.exit_code, 0) << result;
    EXPECT_THAT(result.out, HasSubstr("<name>test</name>"));
    EXPECT_EQ(result.out, expected.xml() + (expected.xml().back() == '\n' ? "" : "\n"));
}

// --- events -------------------------------------------------------------------------

TEST_F(CliTest, EventsPrintsLifecycleEventsAndStopsAfterCount) {
    auto events = Start({"events", "--domain", "test", "--kind", "lifecycle", "--count", "2"});
    std::string line;
    // The stream opens with the current state: the watch is registered from here on.
    ASSERT_TRUE(events->ReadLine(&line));
    EXPECT_THAT(line, HasSubstr("current: test (running)"));

    ASSERT_EQ(Run({"suspend", "test"}).exit_code, 0);
    ASSERT_EQ(Run({"resume", "test"}).exit_code, 0);

    std::string out, err;
    ASSERT_EQ(events->Wait(&out, &err), 0) << out << err;
    EXPECT_THAT(out, HasSubstr(" test lifecycle: suspended paused\n"));
    EXPECT_THAT(out, HasSubstr(" test lifecycle: resumed unpaused\n"));
}

TEST_F(CliTest, EventsJsonIsOneDomainEventPerLine) {
    auto events = Start({"--json", "events", "--count", "1"});
    std::string first, second;
    ASSERT_TRUE(events->ReadLine(&first));
    EXPECT_EQ(ParseJson<v1::DomainEvent>(first).current_domains().domains_size(), 1);

    ASSERT_EQ(Run({"suspend", "test"}).exit_code, 0);

    ASSERT_TRUE(events->ReadLine(&second));
    auto event = ParseJson<v1::DomainEvent>(second);
    EXPECT_EQ(event.domain().name(), "test");
    EXPECT_EQ(event.lifecycle().type(), v1::LIFECYCLE_EVENT_TYPE_SUSPENDED);
    EXPECT_GT(event.time().seconds(), 0);
    std::string rest, err;
    EXPECT_EQ(events->Wait(&rest, &err), 0) << err;
}

// --- snapshots ----------------------------------------------------------------------

TEST_F(CliTest, SnapshotCreateListDumpRevertDelete) {
    CliResult create = Run({"snapshot-create-as", "test", "cli-snap", "--description", "a <b>"});
    ASSERT_EQ(create.exit_code, 0) << create;
    EXPECT_EQ(create.out, "Domain snapshot cli-snap created\n");

    CliResult list = Run({"snapshot-list", "test"});
    EXPECT_THAT(list.out, HasSubstr(" cli-snap ")) << list;
    CliResult xml = Run({"snapshot-dumpxml", "test", "cli-snap"});
    EXPECT_THAT(xml.out, HasSubstr("<description>a &lt;b&gt;</description>")) << xml;

    // Taken while running: reverting a destroyed domain runs it again.
    ASSERT_EQ(Run({"destroy", "test"}).exit_code, 0);
    CliResult revert = Run({"snapshot-revert", "test", "cli-snap"});
    ASSERT_EQ(revert.exit_code, 0) << revert;
    EXPECT_EQ(StateOf("test").state(), v1::DOMAIN_STATE_RUNNING);

    ASSERT_EQ(Run({"snapshot-delete", "test", "cli-snap"}).exit_code, 0);
    CliResult after = Run({"snapshot-list", "test", "--json"});
    ASSERT_EQ(after.exit_code, 0) << after;
    EXPECT_EQ(ParseJson<v1::ListDomainSnapshotsResponse>(after.out).snapshots_size(), 0);
    EXPECT_EQ(Run({"snapshot-dumpxml", "test", "cli-snap"}).exit_code, 3);
}

// --- jobs ---------------------------------------------------------------------------

TEST_F(CliTest, JobStartedWithCallIsListedWatchedAndNotCancellableOnceDone) {
    std::string path = TempPath("cli-job.save");
    CliResult started = Run({"call", "JobService.StartJob",
                             R"({"save": {"domain": {"name": "test"}, "path": ")" + path +
                                 R"("}})"});
    ASSERT_EQ(started.exit_code, 0) << started;
    auto job = ParseJson<v1::Job>(started.out);
    ASSERT_FALSE(job.id().empty());
    EXPECT_EQ(job.kind(), v1::JOB_KIND_SAVE);

    CliResult watch = Run({"job-watch", job.id()});
    ASSERT_EQ(watch.exit_code, 0) << watch;
    EXPECT_THAT(watch.out, HasSubstr(job.id() + " save completed 100%\n"));
    EXPECT_EQ(StateOf("test").shutoff_reason(), v1::SHUTOFF_REASON_SAVED);

    CliResult jobs = Run({"jobs", "--domain", "test", "--json"});
    ASSERT_EQ(jobs.exit_code, 0) << jobs;
    auto listed = ParseJson<v1::ListJobsResponse>(jobs.out);
    ASSERT_EQ(listed.jobs_size(), 1);
    EXPECT_EQ(listed.jobs(0).state(), v1::JOB_STATE_COMPLETED);
    // The result is an Any holding the Domain SaveDomain returned.
    v1::Domain result;
    ASSERT_TRUE(listed.jobs(0).result().UnpackTo(&result));
    EXPECT_EQ(result.name(), "test");
    EXPECT_THAT(Run({"jobs"}).out, HasSubstr(job.id() + "  test    save  completed  100%"));

    CliResult cancel = Run({"job-cancel", job.id()});
    EXPECT_EQ(cancel.exit_code, 1) << cancel;
    EXPECT_THAT(cancel.err, HasSubstr("(FAILED_PRECONDITION"));
    EXPECT_EQ(Run({"job-watch", "no-such-job"}).exit_code, 3);
}

// --- screenshot, console --------------------------------------------------------------

TEST_F(CliTest, ScreenshotWritesTheDriversPng) {
    std::string path = TempPath("cli-shot.png");

    CliResult result = Run({"screenshot", "test", path});

    ASSERT_EQ(result.exit_code, 0) << result;
    EXPECT_EQ(result.out, "Screenshot saved to " + path + ", with type of image/png\n");
    EXPECT_EQ(ReadFile(path), ReadFile("/usr/share/libvirt/test-screenshot.png"));
}

TEST_F(CliTest, ScreenshotOfAnUnknownDomainExitsThreeAndWritesNoFile) {
    std::string path = TempPath("cli-no-shot.png");

    CliResult result = Run({"screenshot", "nope", path});

    EXPECT_EQ(result.exit_code, 3) << result;
    EXPECT_NE(access(path.c_str(), F_OK), 0) << "a file was created";
}

TEST_F(CliTest, ConsoleThroughAPipeReportsTheTestDriversNoSupport) {
    // The test driver has no console (tests/qemu/console-qemu-test.cc has a real one):
    // the CLI sends the open and the piped input, and reports libvirt's answer.
    CliResult result = Run({"console", "test"}, "hello\n");

    EXPECT_EQ(result.exit_code, 1) << result;
    EXPECT_THAT(result.err, HasSubstr("(UNIMPLEMENTED, VIR_ERR_NO_SUPPORT)\n")) << result;
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(CliTest, ConsoleOnATerminalGivesItBackWhenTheServerRefuses) {
    auto console = Start({"console", "test"}, /*on_terminal=*/true);

    std::string out, err;
    EXPECT_EQ(console->Wait(&out, &err), 1) << out;
    // The banner comes right before raw mode; the error after libvirt's refusal.
    EXPECT_THAT(out, HasSubstr("Escape character is ^] (Ctrl + ])"));
    EXPECT_THAT(out, HasSubstr("(UNIMPLEMENTED, VIR_ERR_NO_SUPPORT)"));
    EXPECT_FALSE(console->TerminalIsRaw()) << "the terminal was left in raw mode";
}

TEST_F(CliTest, JobWatchOnATerminalDrawsAProgressBar) {
    CliResult started =
        Run({"call", "JobService.StartJob",
             R"({"save": {"domain": {"name": "test"}, "path": ")" + TempPath("bar.save") +
                 R"("}})"});
    ASSERT_EQ(started.exit_code, 0) << started;
    auto job = ParseJson<v1::Job>(started.out);

    auto watch = Start({"job-watch", job.id()}, /*on_terminal=*/true);

    std::string out, err;
    EXPECT_EQ(watch->Wait(&out, &err), 0) << out;
    EXPECT_THAT(out, HasSubstr("\rsave test [##############################] 100% completed"));
}

// --- generic access ------------------------------------------------------------------

TEST_F(CliTest, CallTakesJsonWithEitherFieldNameAndPrintsTheResponse) {
    CliResult camel = Run({"call", "DomainService.GetDomainState", R"({"domain": {"name": "test"}})"});
    CliResult full = Run({"call", "/virtgrpc.v1.DomainService/SetDomainAutostart",
                          R"({"domain": {"uuid": ")" + std::string(kStockDomainUuid) +
                              R"("}, "autostart": true})"});
    CliResult piped = Run({"call", "virtgrpc.v1.DomainService.GetDomainAutostart", "-"},
                          R"({"domain": {"id": 1}})");

    ASSERT_EQ(camel.exit_code, 0) << camel;
    EXPECT_EQ(ParseJson<v1::DomainStateInfo>(camel.out).state(), v1::DOMAIN_STATE_RUNNING);
    ASSERT_EQ(full.exit_code, 0) << full;
    ASSERT_EQ(piped.exit_code, 0) << piped;
    EXPECT_TRUE(ParseJson<v1::DomainAutostart>(piped.out).autostart()) << piped;
}

TEST_F(CliTest, CallOfAServerStreamPrintsJsonLinesUpToCount) {
    CliResult result =
        Run({"call", "StatsService.WatchDomainStats", R"({"intervalMs": 100})", "--count", "2"});

    ASSERT_EQ(result.exit_code, 0) << result;
    std::istringstream lines(result.out);
    std::string line;
    int samples = 0;
    while (std::getline(lines, line)) {
        auto sample = ParseJson<v1::DomainStatsSample>(line);
        EXPECT_EQ(sample.domains(0).domain().name(), "test");
        samples++;
    }
    EXPECT_EQ(samples, 2);
}

TEST_F(CliTest, MethodsListsEveryRpc) {
    CliResult result = Run({"methods", "--json"});

    ASSERT_EQ(result.exit_code, 0) << result;
    EXPECT_THAT(result.out, AllOf(HasSubstr(R"("method": "DomainService.GetDomain")"),
                                  HasSubstr(R"("kind": "bidi-streaming")"),
                                  HasSubstr(R"("path": "/virtgrpc.v1.EventService/WatchEvents")")));
    EXPECT_THAT(Run({"methods", "snapshot"}).out,
                AllOf(HasSubstr("SnapshotService.RevertDomainSnapshot"),
                      Not(HasSubstr("DomainService.GetDomain "))));
}

// --- errors and exit codes -------------------------------------------------------------

TEST_F(CliTest, UsageErrorsExitTwoWithoutCallingTheServer) {
    const std::vector<std::vector<std::string>> usage_errors = {
        {},                                            // no command
        {"no-such-command"},                           // unknown command
        {"list", "--no-such-option"},                  // unknown option
        {"dominfo"},                                   // missing argument
        {"dominfo", "a", "b"},                         // too many arguments
        {"events", "--count", "many"},                 // not a number
        {"call", "Nope.Method"},                       // unknown RPC
        {"call", "DomainService.GetDomain", "{bad"},   // not JSON
        {"call", "DomainService.GetDomain", R"({"domain": {"nam": "x"}})"},  // no such field
        {"shutdown", "test", "--mode", "politely"},    // no such enum value
        {"--timeout=soon", "list"},                    // bad global option
    };
    for (const auto &args : usage_errors) {
        CliResult result = Run(args);
        EXPECT_EQ(result.exit_code, 2) << result;
        EXPECT_THAT(result.err, StartsWith("virtgrpc: error: ")) << result;
    }
    EXPECT_EQ(StateOf("test").state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(CliTest, UnknownDomainExitsThreeWithLibvirtsErrorName) {
    CliResult result = Run({"dominfo", "no-such-domain"});

    EXPECT_EQ(result.exit_code, 3) << result;
    EXPECT_THAT(result.err, AllOf(StartsWith("virtgrpc: error: "),
                                  HasSubstr("no-such-domain"),
                                  HasSubstr("(NOT_FOUND, VIR_ERR_NO_DOMAIN)\n")));
}

TEST(CliWithoutServerTest, ServerDownExitsFour) {
    // A loopback port bound but not listening: connections are refused.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)), 0);
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length), 0);
    std::string target = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));

    CliProcess process({"--server=" + target, "--timeout=5", "list"}, {});
    std::string out, err;
    int exit_code = process.Wait(&out, &err);
    close(fd);

    EXPECT_EQ(exit_code, 4) << err;
    EXPECT_THAT(err, AllOf(StartsWith("virtgrpc: error: "), HasSubstr("(UNAVAILABLE)")));
}

TEST(CliWithoutServerTest, UnreadableTlsFileIsAUsageError) {
    CliProcess process({"--cacert=/nonexistent/ca.pem", "list"}, {});
    std::string out, err;

    EXPECT_EQ(process.Wait(&out, &err), 2) << err;
    EXPECT_THAT(err, HasSubstr("/nonexistent/ca.pem"));
}

// --- TLS -------------------------------------------------------------------------------

// virtgrpcd with mutual TLS: the test CA's server certificate, client certificates of
// the test CA required, the test client (CN virtgrpc-test-client) read-only.
class CliMutualTlsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        server_ = std::make_unique<VirtgrpcdProcess>(MutualTlsServerOptions());
        ASSERT_TRUE(server_->running());
    }

    int Run(std::vector<std::string> args, std::string *out, std::string *err) {
        args.insert(args.begin(), {"--server=" + server_->target(), "--timeout=5"});
        CliProcess process(args, {});
        return process.Wait(out, err);
    }

    std::unique_ptr<VirtgrpcdProcess> server_;
};

TEST_F(CliMutualTlsTest, ClientCertificateListsAndItsReadOnlyRoleIsEnforced) {
    std::string out, err;
    const std::vector<std::string> tls = {"--cacert=" + ClientTestCert("ca.pem"),
                                          "--cert=" + ClientTestCert("client.pem"),
                                          "--key=" + ClientTestCert("client.key")};
    std::vector<std::string> list = tls, destroy = tls;
    list.push_back("list");
    destroy.insert(destroy.end(), {"destroy", "test"});

    EXPECT_EQ(Run(list, &out, &err), 0) << err;
    EXPECT_THAT(out, HasSubstr(" test  running"));
    EXPECT_EQ(Run(destroy, &out, &err), 1) << err;
    EXPECT_THAT(err, HasSubstr("(PERMISSION_DENIED, VIRTGRPC_PERMISSION_DENIED)"));
}

TEST_F(CliMutualTlsTest, WithoutAClientCertificateTheServerIsUnavailable) {
    std::string out, err;

    EXPECT_EQ(Run({"--cacert=" + ClientTestCert("ca.pem"), "list"}, &out, &err), 4) << err;
}

TEST(CliWithoutServerTest, EveryCommandHasHelpFromItsTable) {
    CliProcess top({"--help"}, {});
    std::string help, err;
    ASSERT_EQ(top.Wait(&help, &err), 0) << err;
    EXPECT_THAT(help, AllOf(HasSubstr("Exit status:"), HasSubstr("  3  not found")));

    // Every line "  NAME   summary" under "Commands:".
    std::istringstream lines(help.substr(help.find("Commands:\n")));
    std::string line;
    std::getline(lines, line);
    int commands = 0;
    while (std::getline(lines, line) && line.rfind("  ", 0) == 0) {
        std::string name = line.substr(2, line.find(' ', 2) - 2);
        CliProcess process({name, "--help"}, {});
        std::string out;
        EXPECT_EQ(process.Wait(&out, &err), 0) << name << ": " << err;
        EXPECT_THAT(out, StartsWith("Usage: virtgrpc " + name + " [OPTIONS]")) << name;
        commands++;
    }
    EXPECT_GE(commands, 25);
}

}  // namespace
}  // namespace virtgrpc::testing
