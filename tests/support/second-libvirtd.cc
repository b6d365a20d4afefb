#include "tests/support/second-libvirtd.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

namespace virtgrpc::testing
{
namespace
{

using namespace std::chrono_literals;

constexpr auto kStartTimeout = 20s;
constexpr auto kStopTimeout = 10s;

void
WriteFile(const std::string &path, const std::string &text)
{
    std::ofstream(path) << text;
}

} // namespace

SecondLibvirtd::SecondLibvirtd()
{
    Start();
}

SecondLibvirtd::~SecondLibvirtd()
{
    Stop();
}

void
SecondLibvirtd::Start()
{
    // Under /run (root only, short enough for a socket path), outside /run/libvirt.
    char dir_template[] = "/run/vg-second-libvirtd-XXXXXX";
    if (!mkdtemp(dir_template)) {
        error_ = "mkdtemp failed";
        return;
    }
    dir_ = dir_template;
    for (const char *sub : {"sock", "etc", "run", "lib-qemu", "cache", "log"})
        std::filesystem::create_directories(dir_ + "/" + sub);
    uri_ = "qemu+unix:///system?socket=" + dir_ + "/sock/libvirt-sock";

    WriteFile(dir_ + "/libvirtd.conf", "unix_sock_dir = \"" + dir_ +
                                           "/sock\"\n"
                                           "auth_unix_rw = \"none\"\n"
                                           "auth_unix_ro = \"none\"\n"
                                           "host_uuid = \"" +
                                           kHostUuid +
                                           "\"\n"
                                           "log_outputs = \"3:file:" +
                                           dir_ + "/libvirtd.log\"\n");
    WriteFile(dir_ + "/etc/qemu.conf",
              "stdio_handler = \"file\"\n"
              "security_driver = \"none\"\n"
              "dynamic_ownership = 0\n"
              "remember_owner = 0\n"
              "cgroup_controllers = [ ]\n"
              // Post-copy needs userfaultfd in the destination QEMU: with
              // vm.unprivileged_userfaultfd = 0 only a process with CAP_SYS_PTRACE may.
              "user = \"root\"\n"
              "group = \"root\"\n"
              "clear_emulator_capabilities = 0\n");

    // unshare execs sh, which execs libvirtd: pid_ is the daemon's pid. Absolute paths:
    // Bazel's test PATH has no /usr/sbin.
    std::ostringstream script;
    script << "/usr/bin/hostname " << kHostname << " && /usr/bin/mount --bind " << dir_
           << "/etc /etc/libvirt"
           << " && /usr/bin/mount --bind " << dir_ << "/run /run/libvirt"
           << " && /usr/bin/mount --bind " << dir_ << "/lib-qemu /var/lib/libvirt/qemu"
           << " && /usr/bin/mount --bind " << dir_ << "/cache /var/cache/libvirt"
           << " && /usr/bin/mount --bind " << dir_ << "/log /var/log/libvirt"
           << " && exec /usr/sbin/libvirtd --config " << dir_
           << "/libvirtd.conf --pid-file " << dir_ << "/libvirtd.pid";
    // Everything the child needs is made before fork: only async-signal-safe calls after.
    const std::string command = script.str();
    const std::string out = dir_ + "/daemon.out";
    pid_ = fork();
    if (pid_ == 0) {
        setsid();
        int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execl("/usr/bin/unshare", "unshare", "--mount", "--uts", "--propagation", "private",
              "/bin/sh", "-c", command.c_str(), static_cast<char *>(nullptr));
        _exit(127);
    }
    if (pid_ < 0) {
        error_ = "fork failed";
        return;
    }

    auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        // Only once the socket exists: a failed virConnectOpen prints to stderr.
        if (std::filesystem::exists(dir_ + "/sock/libvirt-sock")) {
            if (virConnectPtr conn = virConnectOpen(uri_.c_str())) {
                virConnectClose(conn);
                return;
            }
        }
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            error_ = "the second libvirtd exited: " + LogTail();
            return;
        }
        std::this_thread::sleep_for(200ms);
    }
    error_ = "the second libvirtd did not answer within 20 s: " + LogTail();
}

void
SecondLibvirtd::Stop()
{
    if (pid_ > 0) {
        // Its QEMU processes outlive it otherwise.
        if (virConnectPtr conn = virConnectOpen(uri_.c_str())) {
            virDomainPtr *domains = nullptr;
            int n =
                virConnectListAllDomains(conn, &domains, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
            for (int i = 0; i < n; i++) {
                virDomainDestroy(domains[i]);
                virDomainFree(domains[i]);
            }
            free(domains);
            virConnectClose(conn);
        }
        kill(pid_, SIGTERM);
        auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
        while (waitpid(pid_, nullptr, WNOHANG) != pid_) {
            if (std::chrono::steady_clock::now() > deadline) {
                kill(pid_, SIGKILL);
                waitpid(pid_, nullptr, 0);
                break;
            }
            std::this_thread::sleep_for(100ms);
        }
        pid_ = -1;
    }
    if (!dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
}

std::string
SecondLibvirtd::LogTail() const
{
    std::string text;
    for (const char *name : {"/daemon.out", "/libvirtd.log"}) {
        std::ifstream in(dir_ + name);
        std::stringstream all;
        all << in.rdbuf();
        std::string content = all.str();
        if (content.size() > 2000)
            content = content.substr(content.size() - 2000);
        text += std::string(name) + ": " + content + "\n";
    }
    return text;
}

} // namespace virtgrpc::testing
