#include "tests/support/valgrind-virtgrpcd.h"

#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace virtgrpc::testing
{

ValgrindVirtgrpcd::ValgrindVirtgrpcd(const VirtgrpcdProcess::Options &options)
{
    const std::string real = VirtgrpcdProcess::BinaryPath();
    const char *tmp = std::getenv("TEST_TMPDIR");
    root_ = std::string(tmp ? tmp : "/tmp") + "/valgrind-srcdir";
    log_ = root_ + "/valgrind.log";
    mkdir(root_.c_str(), 0755);
    mkdir((root_ + "/virtgrpc").c_str(), 0755);
    mkdir((root_ + "/virtgrpc/server").c_str(), 0755);
    const std::string script = root_ + "/virtgrpc/server/virtgrpcd";
    std::ofstream(script) << "#!/bin/sh\nexec valgrind --leak-check=full "
                             "--errors-for-leak-kinds=definite --error-exitcode=99 "
                             "--track-fds=no --log-file="
                          << log_ << " " << real << " \"$@\"\n";
    chmod(script.c_str(), 0755);

    const char *srcdir = std::getenv("TEST_SRCDIR");
    const char *workspace = std::getenv("TEST_WORKSPACE");
    const std::string saved_srcdir = srcdir ? srcdir : "";
    const std::string saved_workspace = workspace ? workspace : "";
    setenv("TEST_SRCDIR", root_.c_str(), 1);
    setenv("TEST_WORKSPACE", "virtgrpc", 1);
    process_ = std::make_unique<VirtgrpcdProcess>(options);
    setenv("TEST_SRCDIR", saved_srcdir.c_str(), 1);
    setenv("TEST_WORKSPACE", saved_workspace.c_str(), 1);
}

int
ValgrindVirtgrpcd::Stop(std::chrono::seconds timeout)
{
    return process_->Stop(SIGTERM, timeout);
}

std::string
ValgrindVirtgrpcd::Log() const
{
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

::testing::AssertionResult
ValgrindVirtgrpcd::Clean(const std::string &log)
{
    if (log.find("ERROR SUMMARY: 0 errors") == std::string::npos)
        return ::testing::AssertionFailure() << "valgrind found errors:\n" << log;
    std::smatch lost;
    if (std::regex_search(log, lost, std::regex("definitely lost: ([0-9,]+) bytes")) &&
        lost[1] != "0")
        return ::testing::AssertionFailure() << "definite leaks:\n" << log;
    return ::testing::AssertionSuccess();
}

std::string
ValgrindVirtgrpcd::Summary(const std::string &log)
{
    size_t at = log.find("HEAP SUMMARY");
    return at == std::string::npos ? log : log.substr(at);
}

} // namespace virtgrpc::testing
