// virtgrpcd under valgrind (Debian's valgrind: --leak-check=full
// --errors-for-leak-kinds=definite --error-exitcode=99). VirtgrpcdProcess finds the
// binary through TEST_SRCDIR, so while it starts, TEST_SRCDIR points at a directory
// whose server/virtgrpcd is a script that execs the real one under valgrind.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/virtgrpcd-process.h"

namespace virtgrpc::testing
{

class ValgrindVirtgrpcd
{
  public:
    explicit ValgrindVirtgrpcd(const VirtgrpcdProcess::Options &options);

    VirtgrpcdProcess &
    process()
    {
        return *process_;
    }
    // SIGTERM, then the exit code: 0 clean, 99 valgrind found errors or definite leaks,
    // -1 no exit within `timeout`.
    int Stop(std::chrono::seconds timeout);
    // valgrind's report.
    std::string Log() const;

    // Succeeds when the report says 0 errors and 0 bytes definitely lost.
    static ::testing::AssertionResult Clean(const std::string &log);
    // The report from "HEAP SUMMARY" on.
    static std::string Summary(const std::string &log);

  private:
    std::string root_;
    std::string log_;
    std::unique_ptr<VirtgrpcdProcess> process_;
};

} // namespace virtgrpc::testing
