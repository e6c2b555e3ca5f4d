// Unix sockets: passing a file descriptor (SCM_RIGHTS), as the console
// socket and the seccomp listener protocols do, and connecting by path.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::sys {

// Send `data` (at least one byte is sent: "\0" when empty) with `fd`
// attached (none when fd < 0). One message on a SOCK_SEQPACKET socket.
Status send_fd(int sock, int fd, std::string_view data);

struct ReceivedFd {
    UniqueFd fd;       // invalid when the message carried none
    std::string data;
};
// One message and the fd it carries; EOF is an error with err == 0, "eof".
Result<ReceivedFd> recv_fd(int sock);
// The same into `buf` (the message's size at most).
Result<ReceivedFd> recv_fd(int sock, std::span<char> buf);

// A SOCK_STREAM connection to the unix socket at `path` (close-on-exec).
Result<UniqueFd> connect_unix(const std::string& path);

}  // namespace hako::sys
