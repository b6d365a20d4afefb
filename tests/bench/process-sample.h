// What the benchmarks read of a process from /proc (RSS, peak RSS, CPU time) and how they
// summarise latencies. Shared by events-fanout and rpc-bench.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace virtgrpc::bench {

struct ProcessSample {
    long rss_kib = 0;
    long hwm_kib = 0;
    double cpu_s = 0;
};

inline ProcessSample Sample(pid_t pid)
{
    ProcessSample sample;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;

    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            sample.rss_kib = std::stol(line.substr(6));
        if (line.rfind("VmHWM:", 0) == 0)
            sample.hwm_kib = std::stol(line.substr(6));
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the ")" that ends the command name; utime and stime are 14 and 15.
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; fields >> field; i++) {
        if (i == 14)
            utime = std::stol(field);
        if (i == 15) {
            stime = std::stol(field);
            break;
        }
    }
    sample.cpu_s = double(utime + stime) / double(sysconf(_SC_CLK_TCK));
    return sample;
}

inline double Percentile(std::vector<double> &values, double p)
{
    if (values.empty())
        return 0;
    size_t index = std::min(values.size() - 1, size_t(p / 100.0 * double(values.size())));
    std::nth_element(values.begin(), values.begin() + long(index), values.end());
    return values[index];
}

} // namespace virtgrpc::bench
