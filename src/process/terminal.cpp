#include "process/terminal.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "sys/inroot.hpp"
#include "sys/socket.hpp"
#include "sys/syscalls.hpp"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace hako::proc {

gid_t pty_group(const oci::Spec& spec, const oci::Process& p) {
    for (const auto& m : spec.mounts) {
        if (m.type != "devpts") continue;
        for (const auto& o : m.options) {
            if (!o.starts_with("gid=")) continue;
            char* end = nullptr;
            unsigned long gid = strtoul(o.c_str() + 4, &end, 10);
            if (*end != '\0' || gid > 0xfffffffeUL) continue;
            if (!spec.linux || spec.linux->gid_mappings.empty()) return static_cast<gid_t>(gid);
            for (const auto& map : spec.linux->gid_mappings)
                if (gid >= map.container_id && gid < uint64_t(map.container_id) + map.size)
                    return static_cast<gid_t>(gid);
        }
    }
    return p.user.gid;
}

namespace {

// The container's /dev/ptmx (our symlink to pts/ptmx, or whatever the image
// or a hook left there), resolved inside the root and checked to be the pty
// multiplexer, 5:2: a planted symlink can't hand us another file (CVE-2025-52565).
Result<UniqueFd> open_ptmx() {
    const char* what = "open `/dev/ptmx` (process.terminal)";
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open /");
    auto path = HAKO_TRY_CTX(sys::open_in_root(root.get(), "/dev/ptmx", O_PATH), what);
    struct stat st{};
    if (fstat(path.get(), &st) < 0) return sys_error(what);
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2)
        return error(std::string(what) + ": not the pty multiplexer (a character device 5:2) but " +
                     (S_ISCHR(st.st_mode) ? "the device " + std::to_string(major(st.st_rdev)) + ":" +
                                                std::to_string(minor(st.st_rdev))
                                          : std::string("a file of another type")) +
                     "; refusing it (CVE-2025-52565)");
    UniqueFd master(::open(sys::fd_path(path.get()).c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return sys_error(what);
    return master;
}

// The pty (`slave`) bound onto the container's /dev/console, as runc does,
// by file descriptors: /dev/console is never followed, a symlink or other
// non-file planted there is replaced (CVE-2025-52565: runc bound the pty
// over whatever such a symlink named, /proc/sys/kernel/core_pattern say).
Status mount_console(int slave) {
    const char* what = "bind the pty onto `/dev/console` (process.terminal)";
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open /");
    auto devp = HAKO_TRY_CTX(sys::mkdir_all_in_root(root.get(), "/dev", 0755), what);
    UniqueFd dev(::openat(devp.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dev) return sys_error(std::string(what) + ": open /dev");
    struct stat st{};
    if (fstatat(dev.get(), "console", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
        !S_ISCHR(st.st_mode) && unlinkat(dev.get(), "console", S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
        return sys_error(std::string(what) + ": remove what is at /dev/console");
    UniqueFd made(::openat(dev.get(), "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!made && errno != EEXIST) return sys_error(std::string(what) + ": create /dev/console");
    made.reset();
    UniqueFd target(::openat(dev.get(), "console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!target) return sys_error(std::string(what) + ": open /dev/console");
    if (fstat(target.get(), &st) < 0) return sys_error(what);
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))  // (raced: replaced again)
        return error(std::string(what) + ": /dev/console is neither a file nor a device");
    return sys::mount(sys::fd_path(slave).c_str(), sys::fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr,
                      what);
}

}  // namespace

Status setup_terminal(int console_sock, const oci::Process& p, gid_t tty_gid, bool console) {
    UniqueFd master = HAKO_TRY(open_ptmx());
    int unlock = 0;
    if (ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) return sys_error("unlock the pty (process.terminal)");
    // The peer by the master, not by a path the container could swap.
    UniqueFd slave(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) {
        int n = 0;
        if (ioctl(master.get(), TIOCGPTN, &n) < 0) return sys_error("get the pty number (process.terminal)");
        std::string path = "/dev/pts/" + std::to_string(n);
        slave.reset(::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
        if (!slave) return sys_error("open `" + path + "` (process.terminal)");
    }
    // The slave as the process will use it: its uid, the tty group (or its gid).
    if (fchown(slave.get(), p.user.uid, tty_gid) < 0)
        return sys_error("chown the pty to " + std::to_string(p.user.uid) + ":" + std::to_string(tty_gid) +
                         " (process.user)");
    if (p.console_size) {
        winsize ws{};
        ws.ws_row = static_cast<unsigned short>(p.console_size->height);
        ws.ws_col = static_cast<unsigned short>(p.console_size->width);
        if (ioctl(master.get(), TIOCSWINSZ, &ws) < 0) return sys_error("set the pty size (process.consoleSize)");
    }
    if (console) HAKO_TRY(mount_console(slave.get()));
    HAKO_TRY_CTX(sys::send_fd(console_sock, master.get(), "/dev/ptmx"), "send the pty master (--console-socket)");
    master.reset();
    if (setsid() < 0) return sys_error("setsid (process.terminal)");
    if (ioctl(slave.get(), TIOCSCTTY, 0) < 0) return sys_error("make the pty our controlling terminal");
    for (int fd = 0; fd < 3; ++fd)
        if (dup2(slave.get(), fd) < 0) return sys_error("dup2 the pty onto stdio");
    return {};
}

Result<Console> open_console(const std::string& socket_path, bool terminal) {
    Console c;
    if (!socket_path.empty()) {
        c.theirs = HAKO_TRY_CTX(sys::connect_unix(socket_path), "--console-socket");
    } else if (terminal) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return sys_error("socketpair (console)");
        c.ours.reset(sv[0]);
        c.theirs.reset(sv[1]);
    }
    return c;
}

Result<UniqueFd> receive_master(int sock) {
    auto got = HAKO_TRY_CTX(sys::recv_fd(sock), "receive the pty master");
    if (!got.fd) return error("receive the pty master: no file descriptor in the message");
    return std::move(got.fd);
}

namespace {

// Our terminal in raw mode for as long as we relay; restored after.
class RawMode {
public:
    explicit RawMode(int fd) : fd_(fd) {
        if (!isatty(fd) || tcgetattr(fd, &saved_) < 0) return;
        termios raw = saved_;
        cfmakeraw(&raw);  // (output too: the container's pty already turned \n into \r\n)
        active_ = tcsetattr(fd, TCSANOW, &raw) == 0;
    }
    RawMode(const RawMode&) = delete;
    RawMode& operator=(const RawMode&) = delete;
    ~RawMode() {
        if (active_) tcsetattr(fd_, TCSANOW, &saved_);
    }

private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

void copy_size(int from, int to) {
    winsize ws{};
    if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) ioctl(to, TIOCSWINSZ, &ws);
}

// Write all of buf (the master and our stdout may be non-blocking peers).
void write_all(int fd, const char* buf, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            pollfd p{fd, POLLOUT, 0};
            poll(&p, 1, 1000);
            continue;
        }
        if (w <= 0) return;
        buf += w;
        n -= size_t(w);
    }
}

// Copy what the master has; false at EOF / EIO (no slave left).
bool pump(int from, int to) {
    char buf[16384];
    ssize_t r = ::read(from, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (r <= 0) return false;
    write_all(to, buf, size_t(r));
    return true;
}

}  // namespace

int relay_and_wait(pid_t pid, int master, const sigset_t& forward) {
    UniqueFd sfd(signalfd(-1, &forward, SFD_CLOEXEC));
    auto pidfd = sys::pidfd_open(pid);
    std::optional<RawMode> raw;
    bool stdin_open = master >= 0;
    if (master >= 0) {
        raw.emplace(0);
        copy_size(0, master);
        fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    }
    if (sfd && pidfd) {
        for (;;) {
            pollfd fds[4] = {{pidfd->get(), POLLIN, 0},
                             {sfd.get(), POLLIN, 0},
                             {master, POLLIN, 0},
                             {stdin_open ? 0 : -1, POLLIN, 0}};
            int n = poll(fds, 4, -1);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) break;
            if (fds[1].revents & POLLIN) {
                signalfd_siginfo si{};
                if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
                    if (si.ssi_signo == SIGWINCH && master >= 0) copy_size(0, master);
                    else ::kill(pid, static_cast<int>(si.ssi_signo));
                }
            }
            if (fds[2].revents && !pump(master, 1)) master = -1;
            if (fds[3].revents && (master < 0 || !pump(0, master))) stdin_open = false;
            if (fds[0].revents) break;
        }
    }
    if (master >= 0)  // what the process wrote before it exited
        while (pump(master, 1)) {
            pollfd p{master, POLLIN, 0};
            if (poll(&p, 1, 0) <= 0) break;
        }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

}  // namespace hako::proc
