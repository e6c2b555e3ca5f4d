// The parent/child sync protocol, over a SOCK_SEQPACKET socketpair.
//
//   parent (hako-runtime)                 child (container init)
//   ---------------------                 ----------------------
//   clone (new namespaces)
//   [writes uid_map/gid_map]        ->    Continue           (user ns made by clone)
//                                         [joins namespaces by path, mounts...]
//                                         [moves itself into its cgroups: v1 `tasks`
//                                          "0", no global lock; unless clone3 put it
//                                          there, or it is in a new user namespace:]
//   [adds it to its cgroups]        ->    CgroupJoined       (then the parent does it;
//                                                             awaited only before the
//                                                             first step that needs it:
//                                                             the cgroup namespace, a
//                                                             cgroup mount, a fork, the
//                                                             end of the rootfs setup.
//                                                             v1's slow cgroup.procs
//                                                             write overlaps the mounts)
//                                   <-    MapsRequest(pid)   (user ns made by unshare)
//   writes uid_map/gid_map          ->    MapsDone
//                                   <-    ChildPid(pid)      (when an extra fork put init
//                                                             into its pid namespace)
//                                   <-    Ready              (setup done; init blocks on
//                                                             the exec fifo until start)
//   [prestart, createRuntime hooks] <-    Hooks              (mounts done, before pivot_root,
//                                                             when the spec has hooks)
//   state JSON for the in-container ->    HooksDone(text)    (init runs createContainer now,
//   hooks                                                     startContainer after start)
//                                   <-    SeccompListener(fd) (SCMP_ACT_NOTIFY: the
//   sends it to listenerPath        ->    Continue            listener fd)
//                                   <-    Error(errno, text) (any step failed; init exits)
//
// One message per packet: a fixed header and optional text.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::proc {

enum class MsgType : uint32_t {
    MapsRequest = 1,
    MapsDone = 2,
    ChildPid = 3,
    Ready = 4,
    Error = 5,
    Continue = 6,
    CgroupJoined = 7,
    Hooks = 8,
    HooksDone = 9,
    SeccompListener = 10,
};

struct Message {
    Message() = default;
    Message(MsgType t, int32_t e = 0, int32_t p = 0, std::string s = {})  // NOLINT: implicit
        : type(t), err(e), pid(p), text(std::move(s)) {}
    MsgType type{};
    int32_t err = 0;    // Error: errno
    int32_t pid = 0;    // MapsRequest / ChildPid
    std::string text;   // Error: the message; HooksDone: the state JSON
    int fd = -1;        // sent along (SCM_RIGHTS) when >= 0; not owned
};

// A received message owns the fd it carried.
struct Received : Message {
    UniqueFd owned_fd;
};

Status send_msg(int fd, const Message& m);
// EOF (peer gone) is an error with err == 0 and msg "eof".
Result<Received> recv_msg(int fd);

// For the child: report an error and nothing else.
void send_error(int fd, const Error& e) noexcept;

}  // namespace hako::proc
