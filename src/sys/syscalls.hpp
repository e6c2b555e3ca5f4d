// Thin wrappers over the syscalls glibc 2.36 lacks or that we want as Result.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::sys {

// fork-like clone with namespace flags: clone3, falling back to clone(2).
// Returns 0 in the child, the child's pid in the parent. When pidfd is not
// null, the parent gets a pidfd for the child (CLONE_PIDFD).
// `cgroup_fd` >= 0 asks for CLONE_INTO_CGROUP (clone3 only).
Result<pid_t> clone_process(uint64_t flags, UniqueFd* pidfd = nullptr, int cgroup_fd = -1);

Result<UniqueFd> pidfd_open(pid_t pid);
Status pidfd_send_signal(int pidfd, int sig);

// openat2(2); ENOSYS when the kernel lacks it (callers fall back).
Result<UniqueFd> openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t mode,
                         uint64_t resolve);

Status pivot_root(const char* new_root, const char* put_old);

// Close (or mark close-on-exec) every fd >= first. Falls back to /proc/self/fd.
Status close_fds_from(int first, bool cloexec_only);

// mount(2) with an error naming the target.
Status mount(const char* source, const char* target, const char* fstype, unsigned long flags,
             const void* data, std::string_view what);

// mkdir -p on the host (not inside a rootfs: see inroot.hpp for that).
Status mkdir_all(const std::string& path, mode_t mode);

// Write a whole small file (proc, sys and cgroup files) in one write.
Status write_file(const std::string& path, std::string_view content);
// All of `n` bytes to `fd` (short writes and EINTR retried); errno on failure.
Status write_all(int fd, const void* p, size_t n);
// Replace `path` (relative to dirfd) atomically: a temporary file, then rename.
Status write_file_atomic(int dirfd, const std::string& path, std::string_view content);
// Read a whole file; `path` relative to dirfd (AT_FDCWD: the cwd).
Result<std::string> read_file(const std::string& path, int dirfd = AT_FDCWD);
// A proc, sys or cgroup file the kernel shows in one piece (/proc/PID/stat,
// freezer.state, cgroup.events), read whole: it hands over all it has (up
// to the buffer) in one read, so a short read is the end - one read(2), not
// two (a listing reads a thousand). Not for a list of records (cgroup.procs,
// mountinfo): those come a page at a time, each read short of a full page.
Result<std::string> read_kernel_file(const std::string& path, int dirfd = AT_FDCWD);
// flock(fd, op), again after EINTR; errors name `path`.
Status flock_wait(int fd, int op, const std::string& path);
// `path` opened (made 0600 when missing) and flock()ed with op (LOCK_EX,
// LOCK_SH): held while the fd lives.
Result<UniqueFd> lock_file(const std::string& path, int op);
// The rest of an open file (`what` names it in errors).
Result<std::string> read_fd(int fd, const std::string& what);
// stat(2) succeeds (follows symlinks).
bool path_exists(const std::string& path);

// "/proc/self/fd/N": the path form of an fd (for mount targets).
std::string fd_path(int fd);

}  // namespace hako::sys
