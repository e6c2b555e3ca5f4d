#include "sys/socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace hako::sys {

Status send_fd(int sock, int fd, std::string_view data) {
    char zero = 0;
    iovec iov{data.empty() ? &zero : const_cast<char*>(data.data()), data.empty() ? 1 : data.size()};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        msg.msg_control = ctrl;
        msg.msg_controllen = sizeof ctrl;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    for (;;) {
        if (::sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0) return {};
        if (errno != EINTR) return sys_error("send a file descriptor (SCM_RIGHTS)");
    }
}

Result<ReceivedFd> recv_fd(int sock, std::span<char> buf) {
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * 4)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("receive a file descriptor");
    ReceivedFd out;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (!out.fd) out.fd.reset(fd);
            else ::close(fd);  // one fd per message: extras are not ours to keep
        }
    }
    if (n == 0 && !out.fd) return error("eof");
    out.data.assign(buf.data(), static_cast<size_t>(n));
    return out;
}

Result<ReceivedFd> recv_fd(int sock) {
    char buf[8192];
    return recv_fd(sock, buf);
}

Result<UniqueFd> connect_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return error("socket path `" + path + "` is too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return sys_error("socket");
    int r;
    do {
        r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return sys_error("connect to `" + path + "`");
    return fd;
}

}  // namespace hako::sys
