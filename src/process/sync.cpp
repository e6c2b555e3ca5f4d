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
constexpr size_t kMaxText = 8192;
}  // namespace

Status send_msg(int fd, const Message& m) {
    char buf[sizeof(Header) + kMaxText];
    size_t len = std::min(m.text.size(), kMaxText);
    Header h{static_cast<uint32_t>(m.type), m.err, m.pid, static_cast<uint32_t>(len)};
    std::memcpy(buf, &h, sizeof h);
    std::memcpy(buf + sizeof h, m.text.data(), len);
    for (;;) {
        ssize_t n = ::send(fd, buf, sizeof h + len, MSG_NOSIGNAL);
        if (n >= 0) return {};
        if (errno != EINTR) return sys_error("sync socket: send");
    }
}

Result<Message> recv_msg(int fd) {
    char buf[sizeof(Header) + kMaxText];
    ssize_t n;
    do {
        n = ::recv(fd, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("sync socket: recv");
    if (n == 0) return error("eof");
    if (static_cast<size_t>(n) < sizeof(Header)) return error("sync socket: short message");
    Header h{};
    std::memcpy(&h, buf, sizeof h);
    Message m;
    m.type = static_cast<MsgType>(h.type);
    m.err = h.err;
    m.pid = h.pid;
    size_t len = std::min<size_t>(h.len, static_cast<size_t>(n) - sizeof h);
    m.text.assign(buf + sizeof h, len);
    return m;
}

void send_error(int fd, const Error& e) noexcept {
    Message m{MsgType::Error, e.err, 0, e.msg};
    (void)send_msg(fd, m);
}

}  // namespace hako::proc
