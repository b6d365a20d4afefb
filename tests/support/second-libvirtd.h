// A second libvirtd on this machine that libvirt takes for another host, so that a real
// live migration can be tested without a second machine. It runs in its own mount and
// UTS namespace (unshare -m -u) with its own host_uuid (libvirt refuses a migration
// between daemons with the same host UUID: "Attempt to migrate guest to the same host"),
// hostname, configuration (/etc/libvirt), run, state, cache and log directories bound
// over the host's inside that namespace only, so it sees none of the main libvirtd's
// domains and the main libvirtd never sees it. It shares the network namespace (the
// migration stream goes over 127.0.0.1) and the disk images (shared storage, as between
// two hosts with NFS). Its socket lives outside the private /run/libvirt so that the
// main libvirtd (peer-to-peer) and virtgrpcd (direct migration) can reach it.
//
// Its qemu.conf keeps it from touching what the main daemon owns: no virtlogd (its
// socket is in the main /run/libvirt), no security labels or chown of the shared images,
// no cgroups (the two daemons would name theirs alike). Its QEMU runs as root with its
// capabilities: a post-copy destination needs userfaultfd, which this host
// (vm.unprivileged_userfaultfd = 0) grants only with CAP_SYS_PTRACE.
#pragma once

#include <sys/types.h>

#include <string>

namespace virtgrpc::testing
{

class SecondLibvirtd
{
  public:
    // Starts the daemon and waits (up to 20 s) until it accepts connections; check ok().
    SecondLibvirtd();
    // Destroys every domain it runs, stops it and removes its directory.
    ~SecondLibvirtd();

    SecondLibvirtd(const SecondLibvirtd &) = delete;
    SecondLibvirtd &operator=(const SecondLibvirtd &) = delete;

    bool
    ok() const
    {
        return error_.empty();
    }
    // Why it did not start, with the end of its log.
    const std::string &
    error() const
    {
        return error_;
    }
    // "qemu+unix:///system?socket=<dir>/sock/libvirt-sock".
    const std::string &
    uri() const
    {
        return uri_;
    }
    // Its host UUID, unlike the main daemon's.
    static constexpr const char kHostUuid[] = "8f3c1f6e-0b9b-4c1e-9a54-5d8e0c1a2b3c";
    static constexpr const char kHostname[] = "vg-dest";

    // The end of its log file, for failure messages.
    std::string LogTail() const;

  private:
    void Start();
    void Stop();

    std::string dir_;
    std::string uri_;
    std::string error_;
    pid_t pid_ = -1;
};

} // namespace virtgrpc::testing
