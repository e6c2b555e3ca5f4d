#include "sys/syscalls.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace hako::sys {

Result<pid_t> clone_process(uint64_t flags, UniqueFd* pidfd, int cgroup_fd) {
    int pfd = -1;
    clone_args args{};
    args.flags = flags | (pidfd ? CLONE_PIDFD : 0) | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
    args.pidfd = reinterpret_cast<uint64_t>(&pfd);
    args.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0) args.cgroup = static_cast<uint64_t>(cgroup_fd);
    long r = syscall(SYS_clone3, &args, sizeof(args));
    if (r < 0 && cgroup_fd < 0 && (errno == ENOSYS || errno == E2BIG)) {
        // Old kernel: plain clone(2), fork-like (no new stack). (Asked for a
        // cgroup, the caller gets the error and places the child itself.)
        unsigned long f = flags | SIGCHLD | (pidfd ? CLONE_PIDFD : 0);
        r = syscall(SYS_clone, f, nullptr, pidfd ? &pfd : nullptr, nullptr, 0);
    }
    if (r < 0) return sys_error("clone");
    if (r > 0 && pidfd) pidfd->reset(pfd);
    return static_cast<pid_t>(r);
}

Result<UniqueFd> pidfd_open(pid_t pid) {
    long r = syscall(SYS_pidfd_open, pid, 0);
    if (r < 0) return sys_error("pidfd_open " + std::to_string(pid));
    return UniqueFd(static_cast<int>(r));
}

Status pidfd_send_signal(int pidfd, int sig) {
    if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0)
        return sys_error("pidfd_send_signal");
    return {};
}

Result<UniqueFd> openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t mode,
                         uint64_t resolve) {
    open_how how{};
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    long r = syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof(how));
    if (r < 0) return sys_error("openat2 `" + path + "`");
    return UniqueFd(static_cast<int>(r));
}

Status pivot_root(const char* new_root, const char* put_old) {
    if (syscall(SYS_pivot_root, new_root, put_old) < 0) return sys_error("pivot_root");
    return {};
}

Status close_fds_from(int first, bool cloexec_only) {
    unsigned flags = cloexec_only ? 4u /* CLOSE_RANGE_CLOEXEC */ : 0u;
    if (syscall(SYS_close_range, first, ~0u, flags) == 0) return {};
    // Fallback: walk /proc/self/fd.
    DIR* d = opendir("/proc/self/fd");
    if (!d) return sys_error("open /proc/self/fd");
    int self = dirfd(d);
    while (dirent* e = readdir(d)) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd < first || fd == self) continue;
        if (cloexec_only)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        else
            close(fd);
    }
    closedir(d);
    return {};
}

Status mount(const char* source, const char* target, const char* fstype, unsigned long flags,
             const void* data, std::string_view what) {
    if (::mount(source, target, fstype, flags, data) < 0) return sys_error(std::string(what));
    return {};
}

Status mkdir_all(const std::string& path, mode_t mode) {
    struct stat st{};
    if (path.empty() || stat(path.c_str(), &st) == 0) return {};
    size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) HAKO_TRY(mkdir_all(path.substr(0, slash), mode));
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return sys_error("mkdir `" + path + "`");
    return {};
}

Status write_file(const std::string& path, std::string_view content) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return sys_error("open `" + path + "`");
    ssize_t n = ::write(fd.get(), content.data(), content.size());
    if (n < 0) return sys_error("write `" + path + "`");
    if (static_cast<size_t>(n) != content.size())
        return error("write `" + path + "`: short write");
    return {};
}

Status write_all(int fd, const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
        ssize_t w = ::write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return sys_error("write");
        c += w;
        n -= static_cast<size_t>(w);
    }
    return {};
}

Status write_file_atomic(int dirfd, const std::string& path, std::string_view content) {
    // (a temporary of this process's own: writers of one file may race)
    std::string tmp = path + ".tmp-" + std::to_string(getpid());
    UniqueFd fd(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return sys_error("write `" + tmp + "`");
    if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
        int e = errno;
        unlinkat(dirfd, tmp.c_str(), 0);
        return sys_error("write `" + tmp + "`", e);
    }
    fd.reset();
    if (renameat(dirfd, tmp.c_str(), dirfd, path.c_str()) < 0) {
        int e = errno;
        unlinkat(dirfd, tmp.c_str(), 0);
        return sys_error("rename `" + tmp + "` to `" + path + "`", e);
    }
    return {};
}

Status flock_wait(int fd, int op, const std::string& path) {
    while (::flock(fd, op) < 0)
        if (errno != EINTR) return sys_error("lock `" + path + "`");
    return {};
}

Result<UniqueFd> lock_file(const std::string& path, int op) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return sys_error("open `" + path + "`");
    HAKO_TRY(flock_wait(fd.get(), op, path));
    return fd;
}

Result<std::string> read_file(const std::string& path, int dirfd) {
    UniqueFd fd(::openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return sys_error("open `" + path + "`");
    return read_fd(fd.get(), path);
}

Result<std::string> read_kernel_file(const std::string& path, int dirfd) {
    UniqueFd fd(::openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return sys_error("open `" + path + "`");
    char buf[4096];
    ssize_t n;
    do n = ::read(fd.get(), buf, sizeof buf);
    while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("read `" + path + "`");
    std::string out(buf, static_cast<size_t>(n));
    if (static_cast<size_t>(n) < sizeof buf) return out;
    out += HAKO_TRY(read_fd(fd.get(), path));  // (a longer one: the rest)
    return out;
}

Result<std::string> read_fd(int fd, const std::string& what) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("read `" + what + "`");
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

bool path_exists(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace hako::sys
