// The attach protocol's frames, detach keys, and the client side of
// `hako attach` / `start -a` / `run -d -t` then attach.
#include "frontend/attach.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/strings.hpp"
#include "sys/fd.hpp"
#include "sys/socket.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {

void put_frame(std::string& out, Frame type, std::string_view data) {
    uint32_t n = static_cast<uint32_t>(data.size());
    char h[5] = {static_cast<char>(type), static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                 static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
    out.append(h, 5);
    out.append(data);
}

bool take_frames(std::string& buf, std::vector<FrameIn>& out) {
    size_t pos = 0;
    while (buf.size() - pos >= 5) {
        auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(buf[pos + i])); };
        uint32_t n = b(1) | b(2) << 8 | b(3) << 16 | b(4) << 24;
        if (n > (1u << 20)) return false;
        if (buf.size() - pos - 5 < n) break;
        out.push_back({static_cast<Frame>(buf[pos]), buf.substr(pos + 5, n)});
        pos += 5 + n;
    }
    buf.erase(0, pos);
    return true;
}

Result<std::string> parse_detach_keys(const std::string& spec) {
    std::string out;
    if (spec.empty()) return out;
    for (auto k : split(spec, ',')) {
        std::string key(k);
        if (key.size() == 1) {
            out += key;
        } else if (key.size() == 6 && key.rfind("ctrl-", 0) == 0) {
            char c = key[5];
            if (c >= 'a' && c <= 'z') out += static_cast<char>(c - 'a' + 1);
            else if (c == '@') out += '\0';
            else if (c >= '[' && c <= '_') out += static_cast<char>(c - '[' + 27);
            else return error("--detach-keys `" + spec + "`: unknown key `" + key + "`");
        } else {
            return error("--detach-keys `" + spec + "`: unknown key `" + key + "` (a letter, or ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_)");
        }
    }
    return out;
}

namespace {

// Our terminal in raw mode while attached to a container's terminal.
struct RawTerminal {
    termios saved{};
    bool active = false;
    void enter(int fd) {
        if (!isatty(fd) || tcgetattr(fd, &saved) < 0) return;
        termios raw = saved;
        cfmakeraw(&raw);
        // (output processing off too: the container's own pty does it)
        if (tcsetattr(fd, TCSANOW, &raw) == 0) active = true;
    }
    ~RawTerminal() {
        if (active) tcsetattr(0, TCSANOW, &saved);
    }
};

std::string size_frame() {
    winsize ws{};
    if (ioctl(0, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0) return {};
    std::string data(4, '\0');
    data[0] = static_cast<char>(ws.ws_row & 0xff);
    data[1] = static_cast<char>(ws.ws_row >> 8);
    data[2] = static_cast<char>(ws.ws_col & 0xff);
    data[3] = static_cast<char>(ws.ws_col >> 8);
    std::string f;
    put_frame(f, Frame::Resize, data);
    return f;
}

}  // namespace

Result<UniqueFd> connect_attach(const std::string& dir) {
    UniqueFd d(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!d) return sys_error("open `" + dir + "`");
    auto sock = sys::connect_unix("/proc/self/fd/" + std::to_string(d.get()) + "/attach.sock");
    if (!sock) return error("attach: the container's monitor is not listening (is it running?)");
    return sock;
}

Result<int> attach_to(const std::string& dir, const AttachOptions& o, const std::function<void(int)>& kill) {
    auto sock = HAKO_TRY(connect_attach(dir));
    return attach_on(std::move(sock), o, kill);
}

Result<int> attach_on(UniqueFd conn, const AttachOptions& o, const std::function<void(int)>& kill) {
    UniqueFd* sock = &conn;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGWINCH);
    if (o.sig_proxy)
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&mask, s);
    sigset_t old;
    sigprocmask(SIG_BLOCK, &mask, &old);
    UniqueFd sfd(signalfd(-1, &mask, SFD_CLOEXEC));
    struct Restore {
        sigset_t m;
        ~Restore() { sigprocmask(SIG_SETMASK, &m, nullptr); }
    } restore{old};
    RawTerminal raw;
    if (o.tty && o.stdin) raw.enter(0);
    std::string out;  // to the monitor
    if (o.tty) out += size_frame();
    std::string in;   // from the monitor
    bool stdin_open = o.stdin;
    size_t matched = 0;  // of the detach keys
    std::string held;    // typed keys that may start the detach sequence
    for (;;) {
        if (!out.empty()) {
            auto st = sys::write_all(sock->get(), out.data(), out.size());
            if (!st) return error("attach: the monitor went away");
            out.clear();
        }
        pollfd p[3] = {{sock->get(), POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}, {sfd.get(), POLLIN, 0}};
        if (::poll(p, 3, -1) < 0) {
            if (errno == EINTR) continue;
            return sys_error("attach: poll");
        }
        if (p[2].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGWINCH) out += size_frame();
                else if (kill) kill(static_cast<int>(si.ssi_signo));
            }
        }
        if (p[1].revents & (POLLIN | POLLHUP)) {
            char buf[4096];
            ssize_t n = ::read(0, buf, sizeof buf);
            if (n <= 0) {
                stdin_open = false;
                put_frame(out, Frame::CloseStdin, {});
            } else {
                std::string data;
                for (ssize_t i = 0; i < n; ++i) {
                    char c = buf[i];
                    if (!o.detach_keys.empty() && c == o.detach_keys[matched]) {
                        held += c;
                        if (++matched == o.detach_keys.size()) {
                            if (!data.empty()) put_frame(out, Frame::Stdin, data);
                            (void)sys::write_all(sock->get(), out.data(), out.size());
                            return -1;  // detached
                        }
                        continue;
                    }
                    data += held;
                    held.clear();
                    matched = 0;
                    data += c;
                }
                if (!data.empty()) put_frame(out, Frame::Stdin, data);
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[16384];
            ssize_t n = ::read(sock->get(), buf, sizeof buf);
            if (n <= 0) return error("attach: the container's monitor closed the connection");
            in.append(buf, static_cast<size_t>(n));
            std::vector<FrameIn> frames;
            if (!take_frames(in, frames)) return error("attach: a malformed frame from the monitor");
            for (const auto& f : frames) {
                if (f.type == Frame::Stdout) (void)sys::write_all(1, f.data.data(), f.data.size());
                else if (f.type == Frame::Stderr) (void)sys::write_all(2, f.data.data(), f.data.size());
                else if (f.type == Frame::Exit) return atoi(f.data.c_str());
            }
        }
    }
}

}  // namespace hako::frontend
