#include "process/sync.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace hako::proc {
namespace {
struct Header {
    uint32_t type;
    int32_t err;
    int32_t pid;
    uint32_t len;
};
constexpr size_t kMaxText = 32768;
}  // namespace

Status send_msg(int fd, const Message& m) {
    static char buf[sizeof(Header) + kMaxText];
    size_t len = std::min(m.text.size(), kMaxText);
    Header h{static_cast<uint32_t>(m.type), m.err, m.pid, static_cast<uint32_t>(len)};
    std::memcpy(buf, &h, sizeof h);
    std::memcpy(buf + sizeof h, m.text.data(), len);
    iovec iov{buf, sizeof h + len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
    if (m.fd >= 0) {
        msg.msg_control = ctrl;
        msg.msg_controllen = sizeof ctrl;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &m.fd, sizeof(int));
    }
    for (;;) {
        ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n >= 0) return {};
        if (errno != EINTR) return sys_error("sync socket: send");
    }
}

Result<Received> recv_msg(int fd) {
    static char buf[sizeof(Header) + kMaxText];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n;
    do {
        n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("sync socket: recv");
    Received m;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int got;
            std::memcpy(&got, CMSG_DATA(c), sizeof got);
            m.owned_fd.reset(got);
        }
    }
    if (n == 0) return error("eof");
    if (static_cast<size_t>(n) < sizeof(Header)) return error("sync socket: short message");
    Header h{};
    std::memcpy(&h, buf, sizeof h);
    m.type = static_cast<MsgType>(h.type);
    m.err = h.err;
    m.pid = h.pid;
    size_t len = std::min<size_t>(h.len, static_cast<size_t>(n) - sizeof h);
    m.text.assign(buf + sizeof h, len);
    m.fd = m.owned_fd.get();
    return m;
}

void send_error(int fd, const Error& e) noexcept {
    Message m{MsgType::Error, e.err, 0, e.msg};
    (void)send_msg(fd, m);
}

}  // namespace hako::proc
