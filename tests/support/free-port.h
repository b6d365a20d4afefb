// A free TCP port on loopback, for a server option that takes a fixed HOST:PORT and
// has no port file (e.g. virtgrpcd's --health-listen). The port is free when this
// returns; a server started right after binds it (virtgrpcd refuses to share a port,
// so a lost race fails the start loudly rather than silently).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace virtgrpc::testing {

// 0 when no port could be found.
inline int FreeLoopbackPort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0)
        port = ntohs(address.sin_port);
    close(fd);
    return port;
}

}  // namespace virtgrpc::testing
