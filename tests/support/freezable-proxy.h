// A Unix-socket proxy that can stop forwarding: put between virtgrpcd and libvirtd
// (`test+unix:///default?socket=<path()>`), Freeze() makes every libvirt call in
// flight hang as a stuck or overloaded libvirtd would, and Thaw() lets them finish.
// Bytes are never dropped: while frozen they wait in the kernel's socket buffers.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace virtgrpc::testing {

class FreezableProxy {
  public:
    // Listens on a new socket in /tmp, forwarding each connection to `target_socket`.
    explicit FreezableProxy(const std::string &target_socket);
    ~FreezableProxy();

    FreezableProxy(const FreezableProxy &) = delete;
    FreezableProxy &operator=(const FreezableProxy &) = delete;

    bool ok() const { return listen_fd_ >= 0; }
    const std::string &path() const { return path_; }

    void Freeze() { frozen_ = true; }
    void Thaw() { frozen_ = false; }

  private:
    void Run();

    std::string target_;
    std::string path_;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::atomic<bool> frozen_{false};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace virtgrpc::testing
