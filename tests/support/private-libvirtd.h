// A libvirtd of the test's own, serving libvirt's test driver over its own Unix socket,
// that a test may kill (SIGKILL), hang (SIGSTOP / SIGCONT) and restart while a virtgrpcd
// is connected to it. The shared system libvirtd never notices: this one runs
// unprivileged (as `nobody` when the test runs as root), so libvirt starts it in session
// mode with its runtime, configuration and state under its own temporary directory; it
// manages no real guest and needs no namespace.
//
// Each restart gives a fresh test driver (one running domain `test`): libvirtd keeps the
// driver's state only while a client holds it.
#pragma once

#include <sys/types.h>

#include <string>

namespace virtgrpc::testing
{

class PrivateLibvirtd
{
  public:
    // Starts the daemon and waits (up to 20 s) until it serves; check ok().
    PrivateLibvirtd();
    // Kills the daemon and removes its directory.
    ~PrivateLibvirtd();

    PrivateLibvirtd(const PrivateLibvirtd &) = delete;
    PrivateLibvirtd &operator=(const PrivateLibvirtd &) = delete;

    bool
    ok() const
    {
        return error_.empty();
    }
    // Why it did not start, with its log.
    const std::string &
    error() const
    {
        return error_;
    }
    // "test+unix:///default?socket=<dir>/run/libvirt/libvirt-sock".
    const std::string &
    test_uri() const
    {
        return uri_;
    }
    pid_t
    pid() const
    {
        return pid_;
    }

    // SIGKILL, as a crash: no goodbye to its clients. Waits for the exit.
    void Kill();
    // Starts it again (same socket) and waits until it serves; false (see error())
    // when it does not.
    bool Start();
    // SIGSTOP / SIGCONT: a daemon that hangs with its sockets open.
    void Pause();
    void Resume();

    // Its log, for failure messages.
    std::string Log() const;

  private:
    std::string dir_;
    std::string socket_;
    std::string uri_;
    std::string error_;
    pid_t pid_ = -1;
    bool paused_ = false;
};

} // namespace virtgrpc::testing
