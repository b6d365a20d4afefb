#include "tests/support/private-libvirtd.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

namespace virtgrpc::testing
{
namespace
{

using namespace std::chrono_literals;

constexpr auto kStartTimeout = 20s;
// `nobody` / `nogroup` on Debian.
constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

// libvirt prints failed connection attempts to stderr: the start-up probe expects some.
void
Quiet(void *, virErrorPtr)
{
}

} // namespace

PrivateLibvirtd::PrivateLibvirtd()
{
    // Under /tmp, not TEST_TMPDIR: `nobody` must reach it (Bazel's output tree is under
    // /root) and a socket path must stay short.
    char dir_template[] = "/tmp/vg-private-libvirtd-XXXXXX";
    if (!mkdtemp(dir_template)) {
        error_ = "mkdtemp failed";
        return;
    }
    dir_ = dir_template;
    for (const char *sub : {"home", "run", "config", "cache"})
        std::filesystem::create_directories(dir_ + "/" + sub);
    if (geteuid() == 0) {
        chmod(dir_.c_str(), 0755);
        for (const auto &entry : std::filesystem::recursive_directory_iterator(dir_))
            chown(entry.path().c_str(), kNobody, kNogroup);
        chown(dir_.c_str(), kNobody, kNogroup);
    }
    socket_ = dir_ + "/run/libvirt/libvirt-sock";
    uri_ = "test+unix:///default?socket=" + socket_;
    Start();
}

PrivateLibvirtd::~PrivateLibvirtd()
{
    if (paused_)
        Resume();
    Kill();
    if (!dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
}

bool
PrivateLibvirtd::Start()
{
    if (dir_.empty())
        return false;
    error_.clear();
    // Everything the child needs is made before fork: only async-signal-safe calls after.
    std::vector<std::string> env = {
        "HOME=" + dir_ + "/home", "XDG_RUNTIME_DIR=" + dir_ + "/run",
        "XDG_CONFIG_HOME=" + dir_ + "/config", "XDG_CACHE_HOME=" + dir_ + "/cache",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    std::vector<char *> envp;
    for (auto &e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string out = dir_ + "/daemon.out";
    const bool drop_root = geteuid() == 0;

    pid_ = fork();
    if (pid_ == 0) {
        setsid();
        int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        if (drop_root &&
            (setgroups(0, nullptr) < 0 || setgid(kNogroup) < 0 || setuid(kNobody) < 0))
            _exit(126);
        char *argv[] = {const_cast<char *>("libvirtd"), nullptr};
        execve("/usr/sbin/libvirtd", argv, envp.data());
        _exit(127);
    }
    if (pid_ < 0) {
        error_ = "fork failed";
        return false;
    }

    virSetErrorFunc(nullptr, Quiet);
    auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (std::filesystem::exists(socket_)) {
            if (virConnectPtr conn = virConnectOpen(uri_.c_str())) {
                virConnectClose(conn);
                virSetErrorFunc(nullptr, nullptr);
                return true;
            }
        }
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            error_ = "the private libvirtd exited: " + Log();
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    virSetErrorFunc(nullptr, nullptr);
    if (error_.empty())
        error_ = "the private libvirtd did not answer within 20 s: " + Log();
    return false;
}

void
PrivateLibvirtd::Kill()
{
    if (pid_ <= 0)
        return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    paused_ = false;
    // A killed daemon leaves its socket file behind; the next one replaces it.
}

void
PrivateLibvirtd::Pause()
{
    if (pid_ > 0 && kill(pid_, SIGSTOP) == 0)
        paused_ = true;
}

void
PrivateLibvirtd::Resume()
{
    if (pid_ > 0 && kill(pid_, SIGCONT) == 0)
        paused_ = false;
}

std::string
PrivateLibvirtd::Log() const
{
    std::ifstream in(dir_ + "/daemon.out");
    std::stringstream all;
    all << in.rdbuf();
    std::string text = all.str();
    return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

} // namespace virtgrpc::testing
