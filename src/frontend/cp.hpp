// `hako cp` and `hako diff`: copies between a container's root and the host (docker cp's rules), and an overlay upper dir's changes.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace hako::frontend {

struct CopyOptions {
    bool archive = false;      // -a: keep the source's uid/gid (else: 0:0 in the container, the caller's on the host)
    bool follow_link = false;  // -L: follow a symlink at SRC
};

// docker cp, both ways. `root`: the host path of a container's root (its
// overlay mount). `src`/`dst` in the container are resolved inside `root`:
// the container side runs in a forked child chrooted there, so no symlink in
// the container can lead outside it; a tar stream passes between the sides.
// Host side "-": a tar on fd 1 (copy out) or from fd 0 (copy in).
Status copy_from_container(const std::string& root, const std::string& src, const std::string& host_dst,
                           const CopyOptions& o);
Status copy_to_container(const std::string& host_src, const std::string& root, const std::string& dst,
                         const CopyOptions& o);
// The "-" forms on any fd: a tar of `src` (entries named from its basename)
// written to `out_fd`; a tar read from `in_fd` extracted into the existing
// directory `dst`.
Status copy_tar_from_container(const std::string& root, const std::string& src, int out_fd, const CopyOptions& o);
Status copy_tar_to_container(int in_fd, const std::string& root, const std::string& dst, const CopyOptions& o);

// A tar stream extracted into a container's root as it is written (a
// build's COPY/ADD): a child chrooted in `root` unpacks what comes through
// fd(), at "/", the entries' owners, modes and times kept. Inside the
// chroot, symlinks on the way (/lib -> usr/lib) are followed: they cannot
// lead out of it. finish(): the stream's end; the child's status.
class TarIntoRoot {
public:
    static Result<TarIntoRoot> start(const std::string& root);
    TarIntoRoot(TarIntoRoot&&) noexcept;
    ~TarIntoRoot();
    [[nodiscard]] int fd() const { return fd_; }
    // `writer`: how writing went (its EPIPE means: the child's error says why).
    Status finish(Status writer);

private:
    TarIntoRoot() = default;
    int fd_ = -1;
    pid_t pid_ = -1;
    int err_ = -1;
};

struct Change {
    char kind;         // 'A' added, 'C' changed, 'D' deleted
    std::string path;  // absolute in the container
    bool operator==(const Change&) const = default;
};

// docker diff from an overlay upper dir and the lower dirs (top first):
// whiteouts (0/0 character devices) are deletions, an opaque directory
// (trusted. or user.overlay.opaque "y") hides the lowers' entries below it;
// the parents of every change show as 'C'. In path order, a directory right
// before its entries.
Result<std::vector<Change>> diff_upper(const std::string& upper, const std::vector<std::string>& lowers);

}  // namespace hako::frontend
