#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef HAKO_RUNTIME_BIN
#error "HAKO_RUNTIME_BIN must be defined (path of the runtime binary under test)"
#endif
#ifndef HAKO_TEST_ROOTFS
#error "HAKO_TEST_ROOTFS must be defined (the busybox rootfs fixture)"
#endif

namespace fs = std::filesystem;

namespace hako::test {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("harness: " + what + (errno ? std::string(": ") + std::strerror(errno) : ""));
}

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return (v && *v) ? std::string(v) : std::string(fallback);
}

// Decodes the octal escapes (\040 etc.) of /proc/self/mountinfo.
std::string unescape_mount(std::string_view s) {
    auto oct = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
            continue;
        }
        out += s[i];
    }
    return out;
}

bool under(const std::string& path, const std::string& dir) {
    if (path == dir) return true;
    std::string d = dir;
    if (d.empty() || d.back() != '/') d += '/';
    return path.compare(0, d.size(), d) == 0;
}

// starttime (field 22) of /proc/PID/stat, or "" if the process is gone.
std::string proc_starttime(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    if (!std::getline(f, s)) return "";
    auto p = s.rfind(')');
    if (p == std::string::npos) return "";
    std::istringstream is(s.substr(p + 2));
    std::string field;
    for (int i = 3; i <= 22 && (is >> field); ++i)
        if (i == 22) return field;
    return "";
}

char proc_state(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    if (!std::getline(f, s)) return 0;
    auto p = s.rfind(')');
    return (p != std::string::npos && p + 2 < s.size()) ? s[p + 2] : 0;
}

// Lowercase test name for container ids: [a-z0-9-]
std::string current_test_slug() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->name()) : std::string("t");
    std::string out;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)))
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else
            out += '-';
    }
    if (out.size() > 40) out.resize(40);
    return out;
}

constexpr const char* kDefaultConfig = R"json({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": [ "sh" ],
    "env": [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm"
    ],
    "cwd": "/",
    "capabilities": {
      "bounding": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
      "effective": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
      "permitted": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
      "ambient": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ]
    },
    "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": true },
  "hostname": "runc",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": [ "nosuid", "strictatime", "mode=755", "size=65536k" ] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
      "options": [ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" ] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
      "options": [ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" ] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
      "options": [ "nosuid", "noexec", "nodev" ] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs",
      "options": [ "nosuid", "noexec", "nodev", "ro" ] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
      "options": [ "nosuid", "noexec", "nodev", "relatime", "ro" ] }
  ],
  "linux": {
    "resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
    "namespaces": [
      { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
      { "type": "uts" }, { "type": "mount" }
    ],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
      "/proc/scsi"
    ],
    "readonlyPaths": [
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
    ]
  }
})json";

}  // namespace

// --- configuration ------------------------------------------------------------

std::string runtime_binary() { return env_or("HAKO_TEST_RUNTIME", HAKO_RUNTIME_BIN); }
std::string fixture_rootfs() { return env_or("HAKO_TEST_ROOTFS", HAKO_TEST_ROOTFS); }
#ifndef HAKO_TEST_HELPER
#define HAKO_TEST_HELPER ""
#endif
std::string test_helper() { return env_or("HAKO_TEST_HELPER", HAKO_TEST_HELPER); }

// --- Result ----------------------------------------------------------------------

std::ostream& operator<<(std::ostream& os, const Result& r) {
    os << "\n  exit=" << r.exit_code;
    if (r.term_signal) os << " (signal " << r.term_signal << ")";
    if (r.timed_out) os << " TIMED OUT";
    os << "\n  --- stdout ---\n" << r.out << (r.out.empty() || r.out.back() == '\n' ? "" : "\n")
       << "  --- stderr ---\n" << r.err << (r.err.empty() || r.err.back() == '\n' ? "" : "\n");
    return os;
}

// --- Child -------------------------------------------------------------------------

Child::Child(const std::vector<std::string>& argv, const SpawnOptions& opts) {
    if (argv.empty()) fail("empty argv");
    deadline_ = std::chrono::steady_clock::now() + opts.timeout;

    // stdout/stderr go to memfds, not pipes: a container started by `create`
    // or `run --detach` inherits them and may write long after the runtime
    // exited (no SIGPIPE for it, no waiting for EOF for us).
    out_ = memfd_create("hako-test-stdout", MFD_CLOEXEC);
    err_ = memfd_create("hako-test-stderr", MFD_CLOEXEC);
    if (out_ < 0 || err_ < 0) fail("memfd_create");
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) fail("open /dev/null");

    // Move inherited fds out of the way of their targets first (CLOEXEC copies
    // at >= 100), so dup2 to the target clears CLOEXEC in the child only.
    std::vector<std::pair<int, int>> moves;
    for (auto [from, to] : opts.inherit_fds) {
        int tmp = fcntl(from, F_DUPFD_CLOEXEC, 100);
        if (tmp < 0) fail("dup inherited fd");
        moves.push_back({tmp, to});
    }
    std::vector<int> keep;
    for (auto& m : moves) keep.push_back(m.second);

    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::string cwd = opts.cwd;
    int out = out_, err = err_;

    pid_t pid = fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        // Child: async-signal-safe calls only until exec.
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        dup2(devnull, 0);
        dup2(out, 1);
        dup2(err, 2);
        for (auto& m : moves) dup2(m.first, m.second);
        for (int fd = 3; fd < 1024; ++fd) {
            bool kept = false;
            for (int k : keep) kept |= (k == fd);
            if (!kept) close(fd);
        }
        if (!cwd.empty() && chdir(cwd.c_str()) < 0) {
            const char msg[] = "harness: chdir failed\n";
            (void)!write(2, msg, sizeof msg - 1);
            _exit(127);
        }
        execvp(cargv[0], cargv.data());
        const char msg[] = "harness: exec failed: ";
        (void)!write(2, msg, sizeof msg - 1);
        (void)!write(2, cargv[0], strlen(cargv[0]));
        (void)!write(2, "\n", 1);
        _exit(127);
    }
    pid_ = pid;
    setpgid(pid, pid);  // also from here, so it holds before we might signal the group
    close(devnull);
    for (auto& m : moves) close(m.first);
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd_ < 0) fail("pidfd_open");
}

Child::~Child() {
    if (!reaped_ && pid_ > 0) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        int st;
        while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
    }
    for (int fd : {out_, err_, pidfd_})
        if (fd >= 0) close(fd);
}

bool Child::running() {
    if (reaped_) return false;
    struct pollfd p{pidfd_, POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}

namespace {
std::string read_all_from_start(int fd) {
    std::string out;
    char buf[8192];
    off_t off = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        out.append(buf, static_cast<size_t>(r));
        off += r;
    }
    return out;
}
}  // namespace

Result Child::wait() {
    if (reaped_) return result_;
    bool killed = false;
    while (running()) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline_ && !killed) {
            result_.timed_out = true;
            ::kill(-pid_, SIGKILL);
            ::kill(pid_, SIGKILL);
            killed = true;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now).count();
        int ms = killed ? 50 : static_cast<int>(std::clamp<long long>(left, 1, 1000));
        struct pollfd p{pidfd_, POLLIN, 0};
        poll(&p, 1, ms);
    }
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0) {
        if (errno != EINTR) fail("waitpid");
    }
    reaped_ = true;
    if (WIFEXITED(st)) {
        result_.exit_code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        result_.term_signal = WTERMSIG(st);
        result_.exit_code = 128 + WTERMSIG(st);
    }
    // What was written up to now; a detached container may add more later.
    result_.out = read_all_from_start(out_);
    result_.err = read_all_from_start(err_);
    return result_;
}

Result run_command(const std::vector<std::string>& argv, const SpawnOptions& opts) {
    Child c(argv, opts);
    return c.wait();
}

// --- files and mounts -------------------------------------------------------------

TempDir::TempDir(std::string_view tag, mode_t mode) {
    std::string tmpl = "/tmp/hako-test-" + std::string(tag) + ".XXXXXX";
    if (!mkdtemp(tmpl.data())) fail("mkdtemp " + tmpl);
    path_ = tmpl;
    if (chmod(path_.c_str(), mode) < 0) fail("chmod " + path_);
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    // Anything still mounted below us was leaked by the runtime (or a test):
    // report it, then detach it (deepest first) so removing the tree cannot
    // reach into a bind-mounted host directory.
    auto left = mounts_under(path_);
    if (!left.empty()) {
        std::string list;
        for (auto& m : left) list += "\n  " + m.target + " (" + m.fstype + ")";
        ADD_FAILURE() << "mounts left behind under " << path_ << ":" << list;
        std::sort(left.begin(), left.end(),
                  [](const MountEntry& a, const MountEntry& b) { return a.target.size() > b.target.size(); });
        for (auto& m : left) umount2(m.target.c_str(), MNT_DETACH);
    }
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (ec && fs::exists(path_)) {
        // e.g. a file made immutable; do not throw from a destructor
        ADD_FAILURE() << "could not remove " << path_ << ": " << ec.message();
    }
}

std::string TempDir::operator/(std::string_view rel) const {
    std::string r(rel);
    while (!r.empty() && r.front() == '/') r.erase(0, 1);
    return path_ + "/" + r;
}

std::vector<MountEntry> host_mounts() {
    std::vector<MountEntry> out;
    std::ifstream f("/proc/self/mountinfo");
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        std::vector<std::string> fields;
        std::string w;
        while (is >> w) fields.push_back(w);
        if (fields.size() < 10) continue;
        MountEntry m;
        m.id = std::atoi(fields[0].c_str());
        m.target = unescape_mount(fields[4]);
        m.options = fields[5];
        auto dash = std::find(fields.begin() + 6, fields.end(), "-");
        if (dash != fields.end() && dash + 2 < fields.end()) {
            m.fstype = *(dash + 1);
            m.source = unescape_mount(*(dash + 2));
        }
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<MountEntry> mounts_under(const std::string& dir) {
    std::vector<MountEntry> out;
    for (auto& m : host_mounts())
        if (under(m.target, dir)) out.push_back(m);
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        errno = 0;
        fail("cannot read " + path);
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, std::string_view content, mode_t mode) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) fail("create " + path);
    size_t done = 0;
    while (done < content.size()) {
        ssize_t w = ::write(fd, content.data() + done, content.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            close(fd);
            fail("write " + path);
        }
        done += static_cast<size_t>(w);
    }
    fchmod(fd, mode);
    close(fd);
}

bool path_exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> cgroups_named(const std::vector<std::string>& names) {
    std::vector<std::string> out;
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it("/sys/fs/cgroup",
                                                     std::filesystem::directory_options::skip_permission_denied, ec);
    for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it.depth() > 5) {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_directory(ec) && std::find(names.begin(), names.end(), it->path().filename()) != names.end())
            out.push_back(it->path());
    }
    return out;
}

bool process_alive(pid_t pid) {
    char st = proc_state(pid);
    return pid > 0 && st != 0 && st != 'Z' && st != 'X';
}

std::string sha256_file(const std::string& path) {
    auto r = run_command({"sha256sum", path}, with_timeout(30s));
    if (!r.ok()) {
        errno = 0;
        fail("sha256sum " + path + " failed: " + r.err);
    }
    auto w = words(r.out);
    return w.empty() ? std::string() : w[0];
}

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

std::vector<std::string> lines(std::string_view s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < s.size()) {
        size_t nl = s.find('\n', start);
        if (nl == std::string_view::npos) {
            out.emplace_back(s.substr(start));
            break;
        }
        out.emplace_back(s.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::istringstream is{std::string(s)};
    std::string w;
    while (is >> w) out.push_back(w);
    return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

bool contains_line(std::string_view text, std::string_view line) {
    std::string want = trim(line);
    for (auto& l : lines(text))
        if (trim(l) == want) return true;
    return false;
}

// --- unix sockets ---------------------------------------------------------------------------

UnixListener::UnixListener(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::string(strerror(errno)));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path_);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(fd_, 4) < 0)
        throw std::runtime_error("bind/listen " + path_ + ": " + strerror(errno));
}

UnixListener::~UnixListener() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
}

int UnixListener::accept(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
    return ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
}

int recv_fd(int sock, std::string* data, std::chrono::milliseconds timeout) {
    pollfd p{sock, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
    char buf[65536];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return -1;
    if (data) data->assign(buf, static_cast<size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return fd;
        }
    return -1;
}

std::string read_until(int fd, std::string_view until, std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.find(until) == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[4096];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (pred()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

// --- Bundle ------------------------------------------------------------------------------

json default_config() { return json::parse(kDefaultConfig); }

Bundle::Bundle(std::vector<std::string> argv) : dir_("bundle", 0755), config_(default_config()) {
    std::string fixture = fixture_rootfs();
    if (!path_exists(fixture + "/.stamp") || !path_exists(fixture + "/bin/busybox")) {
        errno = 0;
        fail("test rootfs " + fixture + " is missing; build it with `ninja -C build test-rootfs`");
    }
    config_["root"]["path"] = fixture;
    args(std::move(argv));
}

Bundle& Bundle::args(std::vector<std::string> argv) {
    config_["process"]["args"] = argv;
    return *this;
}

std::string Bundle::host_dir(std::string_view name, mode_t mode) {
    std::string p = dir_ / name;
    if (mkdir(p.c_str(), mode) < 0 && errno != EEXIST) fail("mkdir " + p);
    if (chmod(p.c_str(), mode) < 0) fail("chmod " + p);
    return p;
}

Bundle& Bundle::add_mount(json mount) {
    config_["mounts"].push_back(std::move(mount));
    return *this;
}

Bundle& Bundle::bind(const std::string& source, const std::string& destination,
                     std::vector<std::string> options) {
    return add_mount({{"destination", destination}, {"type", "bind"}, {"source", source},
                      {"options", options}});
}

Bundle& Bundle::tmpfs(const std::string& destination) {
    return add_mount({{"destination", destination}, {"type", "tmpfs"}, {"source", "tmpfs"},
                      {"options", {"nosuid", "nodev", "mode=1777"}}});
}

std::string Bundle::private_rootfs() {
    std::string dst = dir_ / "rootfs";
    if (!private_) {
        auto r = run_command({"cp", "-a", "--", fixture_rootfs(), dst}, with_timeout(60s));
        if (!r.ok()) {
            errno = 0;
            fail("copying the rootfs failed:" + r.err);
        }
        private_ = true;
        config_["root"]["path"] = "rootfs";
    }
    return dst;
}

std::string Bundle::writable_rootfs() {
    std::string p = private_rootfs();
    config_["root"]["readonly"] = false;
    return p;
}

std::string Bundle::rootfs() const {
    std::string p = config_["root"].value("path", std::string("rootfs"));
    return (!p.empty() && p.front() == '/') ? p : dir_ / p;
}

bool Bundle::needs_private_rootfs() const {
    if (private_ || rootfs() != fixture_rootfs()) return false;
    if (!config_["root"].value("readonly", false)) return true;
    // Would the runtime have to create something in the rootfs? A destination
    // that exists as a real path (no symlink on the way) needs nothing.
    auto exists_plainly = [&](const std::string& dest) {
        std::string p = fixture_rootfs();
        for (auto& comp : fs::path(dest)) {
            std::string c = comp.string();
            if (c == "/" || c.empty() || c == ".") continue;
            if (c == "..") return false;
            p += "/" + c;
            struct stat st;
            if (lstat(p.c_str(), &st) < 0 || S_ISLNK(st.st_mode)) return false;
        }
        return true;
    };
    std::set<std::string> inside_mounts;  // dirs provided by earlier mounts (tmpfs /dev …)
    for (auto& m : config_.value("mounts", json::array())) {
        std::string dest = m.value("destination", std::string());
        bool covered = false;
        for (auto& d : inside_mounts) covered |= under(dest, d) && dest != d;
        if (!covered && !exists_plainly(dest)) return true;
        std::string type = m.value("type", std::string());
        if (type == "tmpfs" || type == "proc" || type == "sysfs" || type == "devpts" || type == "mqueue" ||
            type == "cgroup" || type == "cgroup2")
            inside_mounts.insert(dest);
    }
    std::string cwd = config_["process"].value("cwd", std::string("/"));
    bool cwd_covered = false;
    for (auto& d : inside_mounts) cwd_covered |= under(cwd, d);
    if (!cwd_covered && !exists_plainly(cwd)) return true;
    return false;
}

void Bundle::write() {
    if (needs_private_rootfs()) private_rootfs();
    write_file(dir_ / "config.json", config_.dump(2) + "\n");
}

// --- Runtime ---------------------------------------------------------------------------------

Runtime::Runtime() : bin_(runtime_binary()), root_("state", 0700) {}

Runtime::~Runtime() {
    // Containers to clean up: whatever `list -q` knows plus every id we handed out.
    std::set<std::string> ids(ids_.begin(), ids_.end());
    auto listed = run_command({bin_, "--root", root(), "list", "-q"}, with_timeout(20s));
    if (listed.ok())
        for (auto& l : lines(listed.out))
            if (!trim(l).empty()) ids.insert(trim(l));

    struct Proc {
        pid_t pid;
        std::string start;
        std::string id;
    };
    std::vector<Proc> procs;
    for (auto& id : ids) {
        auto st = run_command({bin_, "--root", root(), "state", id}, with_timeout(20s));
        if (!st.ok()) continue;
        try {
            auto j = json::parse(st.out);
            pid_t pid = j.value("pid", 0);
            if (pid > 0) procs.push_back({pid, proc_starttime(pid), id});
        } catch (...) {
        }
        run_command({bin_, "--root", root(), "kill", id, "KILL"}, with_timeout(20s));
        run_command({bin_, "--root", root(), "delete", "--force", id}, with_timeout(20s));
    }
    // No container process may survive a forced delete.
    for (auto& p : procs) {
        if (p.start.empty()) continue;
        bool gone = wait_until([&] {
            std::string s = proc_starttime(p.pid);
            return s != p.start || proc_state(p.pid) == 'Z';
        }, 5s);
        if (!gone) {
            ADD_FAILURE() << "container " << p.id << " process " << p.pid << " survived delete --force";
            ::kill(p.pid, SIGKILL);
        }
    }
}

std::string Runtime::new_id(std::string_view prefix) {
    static std::atomic<int> counter{0};
    std::string id = prefix.empty() ? current_test_slug() : std::string(prefix);
    id += "-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
    remember(id);
    return id;
}

Result Runtime::operator()(const std::vector<std::string>& args, const SpawnOptions& opts) {
    std::vector<std::string> argv{bin_, "--root", root()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, opts);
}

std::unique_ptr<Child> Runtime::spawn(const std::vector<std::string>& args, const SpawnOptions& opts) {
    std::vector<std::string> argv{bin_, "--root", root()};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<Child>(argv, opts);
}

Result Runtime::run(Bundle& b, const std::string& id, std::vector<std::string> extra, const SpawnOptions& opts) {
    b.write();
    remember(id);
    std::vector<std::string> args{"run", "--bundle", b.dir()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    return (*this)(args, opts);
}

Result Runtime::create(Bundle& b, const std::string& id, std::vector<std::string> extra,
                       const SpawnOptions& opts) {
    b.write();
    remember(id);
    std::vector<std::string> args{"create", "--bundle", b.dir()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    return (*this)(args, opts);
}

Result Runtime::start(const std::string& id) { return (*this)({"start", id}); }

Result Runtime::kill(const std::string& id, const std::string& signal, bool all) {
    std::vector<std::string> args{"kill"};
    if (all) args.push_back("--all");
    args.push_back(id);
    if (!signal.empty()) args.push_back(signal);
    return (*this)(args);
}

Result Runtime::remove(const std::string& id, bool force) {
    if (force) return (*this)({"delete", "--force", id});
    return (*this)({"delete", id});
}

std::optional<json> Runtime::state(const std::string& id) {
    auto r = (*this)({"state", id}, with_timeout(20s));
    if (!r.ok()) return std::nullopt;
    try {
        return json::parse(r.out);
    } catch (...) {
        return std::nullopt;
    }
}

std::string Runtime::status(const std::string& id) {
    auto s = state(id);
    if (!s || !s->is_object()) return "";
    return s->value("status", std::string());
}

bool Runtime::wait_status(const std::string& id, const std::string& want, std::chrono::milliseconds timeout) {
    return wait_until([&] { return status(id) == want; }, timeout);
}

std::vector<std::string> Runtime::list_ids() {
    std::vector<std::string> out;
    auto r = (*this)({"list", "-q"}, with_timeout(20s));
    for (auto& l : lines(r.out))
        if (!trim(l).empty()) out.push_back(trim(l));
    return out;
}

Result run_container(Bundle& bundle, const std::string& id, const SpawnOptions& opts) {
    Runtime rt;
    return rt.run(bundle, id.empty() ? rt.new_id() : id, {}, opts);
}

// --- fixture integrity ------------------------------------------------------------------------

namespace {

// Path, type, mode, size, mtime, ctime of every entry of the shared rootfs.
std::map<std::string, std::string> fingerprint(const std::string& root) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    auto record = [&](const fs::path& p) {
        struct stat st;
        if (lstat(p.c_str(), &st) < 0) return;
        out[p.string()] = std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
                          std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " +
                          std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + " " +
                          std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
    };
    record(root);
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        record(it->path());
    return out;
}

// Fails the run if the shared rootfs fixture changed: containers must only
// ever use it read-only (the Bundle makes private copies for anything else).
class FixtureGuard : public ::testing::Environment {
public:
    void SetUp() override {
        if (path_exists(fixture_rootfs() + "/.stamp")) before_ = fingerprint(fixture_rootfs());
    }
    void TearDown() override {
        if (before_.empty()) return;
        auto after = fingerprint(fixture_rootfs());
        std::string diff;
        for (auto& [p, v] : after)
            if (!before_.contains(p)) diff += "\n  added: " + p;
            else if (before_[p] != v) diff += "\n  changed: " + p;
        for (auto& [p, v] : before_)
            if (!after.contains(p)) diff += "\n  removed: " + p;
        if (!diff.empty()) ADD_FAILURE() << "the shared test rootfs " << fixture_rootfs() << " was modified:" << diff;
    }

private:
    std::map<std::string, std::string> before_;
};

[[maybe_unused]] auto* const fixture_guard = ::testing::AddGlobalTestEnvironment(new FixtureGuard);

}  // namespace

// --- fixture -------------------------------------------------------------------------------------

void ContainerTest::SetUp() {
    if (geteuid() != 0) GTEST_SKIP() << "integration tests start containers and must run as root";
    struct stat st;
    ASSERT_EQ(stat(rt.binary().c_str(), &st), 0)
        << "runtime binary " << rt.binary() << " not found (set HAKO_TEST_RUNTIME to test another runtime)";
    ASSERT_TRUE(path_exists(fixture_rootfs() + "/.stamp"))
        << "test rootfs " << fixture_rootfs() << " missing; run `ninja -C build test-rootfs`";
}

Result ContainerTest::run(Bundle& bundle, const SpawnOptions& opts) {
    return rt.run(bundle, rt.new_id(), {}, opts);
}

}  // namespace hako::test
