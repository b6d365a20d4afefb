// Waiting on what virtgrpcd logs, for the few events a client cannot observe (a reload
// that was refused, a setting that needs a restart).
#pragma once

#include <chrono>
#include <regex>
#include <string>

#include "tests/support/rpc-status.h"
#include "tests/support/virtgrpcd-process.h"

namespace virtgrpc::testing {

// True once the server's log matches `pattern` (std::regex, ECMAScript), within `timeout`.
inline bool LogShows(const VirtgrpcdProcess &server, const std::string &pattern,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::regex re(pattern);
    return WaitUntil([&] { return std::regex_search(server.Log(), re); }, timeout);
}

}  // namespace virtgrpc::testing
