// 10,000 mixed calls against a virtgrpcd running under valgrind: unary calls of many
// kinds, calls that fail by design (NOT_FOUND, INVALID_ARGUMENT), define + undefine,
// Health.Check, and WatchEvents / WatchDomainStats streams cancelled after their first
// message, from 8 client threads. Every call must end as on any server, and on SIGTERM
// the server must exit 0 with no valgrind error and no definite leak.
#include <cstdlib>

#include <gtest/gtest.h>

#include "tests/support/mixed-load.h"
#include "tests/support/rpc-status.h"
#include "tests/support/valgrind-virtgrpcd.h"

namespace virtgrpc::testing
{
namespace
{

using namespace std::chrono_literals;

// VG_FAULTS_VALGRIND_CALLS overrides the count (a quick local run, or a longer one).
int
CallCount()
{
    const char *text = std::getenv("VG_FAULTS_VALGRIND_CALLS");
    return text ? std::atoi(text) : 10000;
}

TEST(FaultsValgrindTest, TenThousandMixedCallsLeakNothing)
{
    ValgrindVirtgrpcd valgrind(VirtgrpcdProcess::Options{});
    ASSERT_TRUE(valgrind.process().running()) << valgrind.Log();
    auto channel = grpc::CreateChannel(valgrind.process().target(),
                                       grpc::InsecureChannelCredentials());
    ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() + 60s));

    const int calls = CallCount();
    const auto started = std::chrono::steady_clock::now();
    std::vector<CallOutcome> outcomes;
    {
        MixedLoad load(channel, {.threads = 8,
                                 .max_calls = calls,
                                 .deadline = 60000ms,
                                 .name_prefix = "valgrind"});
        load.Start();
        load.Wait();
        outcomes = load.outcomes();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    EXPECT_EQ(static_cast<int>(outcomes.size()), calls);
    int unexpected = 0;
    for (const auto &o : outcomes) {
        if (o.code != o.expected && unexpected++ < 10)
            ADD_FAILURE() << o.kind << ": " << StatusCodeName(o.code) << " " << o.reason
                          << " " << o.message;
    }
    EXPECT_EQ(unexpected, 0) << Summarize(outcomes);

    channel.reset();
    const auto stop_started = std::chrono::steady_clock::now();
    int code = valgrind.Stop(300s);
    const std::string log = valgrind.Log();
    EXPECT_EQ(code, 0) << "virtgrpcd under valgrind exited with " << code << ":\n" << log;
    EXPECT_TRUE(ValgrindVirtgrpcd::Clean(log));
    printf("%zu calls under valgrind in %.1f s (%.1f calls/s), exit %d after %.1f s of "
           "shutdown\n%s\nvalgrind:\n%s\n",
           outcomes.size(), seconds, outcomes.size() / seconds, code,
           std::chrono::duration<double>(std::chrono::steady_clock::now() - stop_started)
               .count(),
           Summarize(outcomes).c_str(), ValgrindVirtgrpcd::Summary(log).c_str());
}

} // namespace
} // namespace virtgrpc::testing
