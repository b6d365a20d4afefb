#include "tests/support/freezable-proxy.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace virtgrpc::testing {
namespace {

int ConnectUnix(const std::string &path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

}  // namespace

FreezableProxy::FreezableProxy(const std::string &target_socket) : target_(target_socket) {
    static std::atomic<int> counter{0};
    path_ = "/tmp/vg-proxy-" + std::to_string(getpid()) + "-" + std::to_string(counter++) +
            ".sock";
    unlink(path_.c_str());
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", path_.c_str());
    if (listen_fd_ < 0 ||
        bind(listen_fd_, reinterpret_cast<sockaddr *>(&address), sizeof(address)) < 0 ||
        listen(listen_fd_, 16) < 0 || pipe(wake_) < 0) {
        if (listen_fd_ >= 0)
            close(listen_fd_);
        listen_fd_ = -1;
        return;
    }
    thread_ = std::thread([this] { Run(); });
}

FreezableProxy::~FreezableProxy() {
    if (listen_fd_ < 0)
        return;
    stopping_ = true;
    (void)!write(wake_[1], "x", 1);
    thread_.join();
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
    unlink(path_.c_str());
}

// One thread, one poll over the listener and every pair of sockets. While frozen it
// polls only for new connections and the wake pipe, with a short timeout to notice
// Thaw().
void FreezableProxy::Run() {
    struct Pair {
        int client;
        int server;
    };
    std::vector<Pair> pairs;
    char buffer[65536];

    while (!stopping_) {
        std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        bool frozen = frozen_;
        if (!frozen) {
            for (const Pair &pair : pairs) {
                fds.push_back({pair.client, POLLIN, 0});
                fds.push_back({pair.server, POLLIN, 0});
            }
        }
        // Pairs accepted below have no entry in `fds` yet: only these were polled.
        const size_t polled = frozen ? 0 : pairs.size();
        if (poll(fds.data(), fds.size(), 20) <= 0)
            continue;
        if (fds[0].revents & POLLIN) {
            int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            int server = client >= 0 ? ConnectUnix(target_) : -1;
            if (server >= 0) {
                pairs.push_back({client, server});
            } else if (client >= 0) {
                close(client);
            }
        }
        if (frozen)
            continue;
        std::vector<Pair> alive(pairs.begin() + polled, pairs.end());
        for (size_t i = 0; i < polled; i++) {
            const Pair &pair = pairs[i];
            bool open = true;
            for (int side = 0; side < 2 && open; side++) {
                const pollfd &fd = fds[2 + 2 * i + side];
                if (!(fd.revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                int to = side == 0 ? pair.server : pair.client;
                ssize_t n = read(fd.fd, buffer, sizeof(buffer));
                for (ssize_t done = 0; n > 0 && done < n;) {
                    ssize_t written = write(to, buffer + done, n - done);
                    if (written <= 0)
                        break;
                    done += written;
                }
                open = n > 0;
            }
            if (open) {
                alive.push_back(pair);
            } else {
                close(pair.client);
                close(pair.server);
            }
        }
        pairs = alive;
    }
    for (const Pair &pair : pairs) {
        close(pair.client);
        close(pair.server);
    }
}

}  // namespace virtgrpc::testing
