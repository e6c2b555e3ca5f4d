#include "process/sync.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "sys/socket.hpp"

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
    HAKO_TRY_CTX(sys::send_fd(fd, m.fd, std::string_view(buf, sizeof h + len)), "sync socket");
    return {};
}

Result<Received> recv_msg(int fd) {
    static char buf[sizeof(Header) + kMaxText];
    auto got = sys::recv_fd(fd, buf);
    if (!got) {
        if (got.error().err == 0) return std::unexpected(std::move(got).error());  // "eof"
        return std::unexpected(Error{got.error().err, "sync socket: recv"});
    }
    if (got->data.size() < sizeof(Header)) return error("sync socket: short message");
    Header h{};
    std::memcpy(&h, got->data.data(), sizeof h);
    Received m;
    m.type = static_cast<MsgType>(h.type);
    m.err = h.err;
    m.pid = h.pid;
    size_t len = std::min<size_t>(h.len, got->data.size() - sizeof h);
    m.text.assign(got->data.data() + sizeof h, len);
    m.owned_fd = std::move(got->fd);
    m.fd = m.owned_fd.get();
    return m;
}

void send_error(int fd, const Error& e) noexcept {
    Message m{MsgType::Error, e.err, 0, e.msg};
    (void)send_msg(fd, m);
}

}  // namespace hako::proc
