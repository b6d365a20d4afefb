#include "tests/support/client-process.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

extern char **environ;

namespace virtgrpc::testing
{

ClientProcess::ClientProcess(const std::string &filter,
                             const std::map<std::string, std::string> &env,
                             std::chrono::milliseconds timeout)
{
    int out[2];
    if (pipe(out) != 0)
        return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> env_strings;
    for (const auto &[key, value] : env)
        env_strings.push_back(key + "=" + value);
    for (char **e = environ; *e; e++)
        env_strings.push_back(*e);
    std::vector<char *> envp;
    for (auto &e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string self = "/proc/self/exe";
    std::string filter_arg = "--gtest_filter=" + filter;
    char *argv[] = {self.data(), filter_arg.data(), nullptr};
    int rc = posix_spawn(&pid_, self.c_str(), &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) {
        pid_ = -1;
        close(out[0]);
        return;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[512];
    while (!ready_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        struct pollfd fd = {out[0], POLLIN, 0};
        if (poll(&fd, 1, static_cast<int>(left.count())) <= 0)
            break;
        ssize_t n = read(out[0], buffer, sizeof(buffer));
        if (n <= 0)
            break;
        output_.append(buffer, static_cast<size_t>(n));
        ready_ = output_.find("READY\n") != std::string::npos;
    }
    close(out[0]);
}

ClientProcess::~ClientProcess()
{
    Kill();
}

void
ClientProcess::Kill()
{
    if (pid_ <= 0)
        return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

void
ClientProcess::SignalReadyAndWait()
{
    printf("READY\n");
    fflush(stdout);
    for (;;)
        pause();
}

} // namespace virtgrpc::testing
