// Regression tests for container-escape CVEs of OCI runtimes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <cerrno>
#include <cstring>
#include <regex>
#include <thread>

#include "harness.hpp"

namespace hako::test {
namespace {

using Security = ContainerTest;

std::vector<int> mount_ids_for(const std::vector<std::string>& paths) {
    std::vector<int> out;
    for (auto& m : host_mounts())
        for (auto& p : paths)
            if (m.target == p || m.target.starts_with(p + "/")) out.push_back(m.id);
    return out;
}

// ---------------------------------------------------------------------------
// CVE-2021-30465 (runc < 1.0.0-rc95): mount destinations were resolved with
// symlinks followed on the host, so a rootfs symlink used as a mount
// destination could put the mount outside the rootfs, onto the host. A
// runtime must resolve every destination inside the rootfs (as if chrooted).
// The original exploit raced symlink swaps; the static forms here must hold
// deterministically: an absolute symlink, a relative one climbing with "..",
// and a destination that itself climbs with "..".
TEST_F(Security, Cve2021_30465_SymlinkMountDestinationStaysInRootfs) {
    TempDir outside1("outside"), outside2("outside"), outside3("outside");
    write_file(outside1 / "host-marker", "host\n");
    write_file(outside2 / "host-marker", "host\n");
    write_file(outside3 / "host-marker", "host\n");

    Bundle b;
    std::string src = b.host_dir("src");
    write_file(src + "/src-marker", "from-src\n");
    std::string rootfs = b.private_rootfs();
    ASSERT_EQ(symlink(outside1.path().c_str(), (rootfs + "/evil").c_str()), 0);
    ASSERT_EQ(symlink(("../../../../../../../../../.." + outside2.path()).c_str(), (rootfs + "/evil2").c_str()), 0);
    b.bind(src, "/evil", {"rbind", "rw"});
    b.tmpfs("/evil2");
    b.bind(src, "/../../../../.." + outside3.path(), {"rbind", "ro"});
    b.script("cat /evil/src-marker; echo inside > /evil2/t2 && echo t2-ok; "
             "ls " + outside1.path() + "; ls " + outside3.path() + "; exit 0");

    std::vector<std::string> watched{outside1.path(), outside2.path(), outside3.path(), b.dir()};
    auto mounts_before = mount_ids_for(watched);
    auto all_before = host_mounts().size();
    auto r = run(b);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(contains_line(r.out, "from-src")) << r;
    EXPECT_TRUE(contains_line(r.out, "t2-ok")) << r;
    // Inside the container the symlink targets are the rootfs's own dirs,
    // where the mounts are: they show the source, not the host's marker.
    EXPECT_FALSE(contains(r.out, "host-marker")) << "a host directory is visible in the container" << r;

    // On the host: nothing mounted on or below the outside dirs, nothing new
    // there, the mounts' would-be targets were created inside the rootfs.
    EXPECT_EQ(mount_ids_for(watched), mounts_before) << "a mount escaped onto the host";
    EXPECT_EQ(host_mounts().size(), all_before) << "the host mount table changed";
    for (auto* d : {&outside1, &outside2, &outside3}) {
        EXPECT_TRUE(mounts_under(d->path()).empty()) << d->path();
        EXPECT_FALSE(path_exists(*d / "src-marker")) << d->path();
        EXPECT_FALSE(path_exists(*d / "t2")) << d->path();
        EXPECT_EQ(read_file(*d / "host-marker"), "host\n");
    }
    EXPECT_TRUE(path_exists(rootfs + outside1.path())) << "the /evil mount did not land inside the rootfs";
    EXPECT_TRUE(path_exists(rootfs + outside2.path())) << "the /evil2 mount did not land inside the rootfs";
    EXPECT_TRUE(path_exists(rootfs + outside3.path())) << "the ../ mount did not land inside the rootfs";
    EXPECT_FALSE(path_exists(src + "/t2"));
}

// ---------------------------------------------------------------------------
// CVE-2025-31133 (runc < 1.2.8): runc masked a maskedPaths file by bind
// mounting the container's /dev/null over it. A /dev/null swapped for a
// symlink after the runtime made it (through a mount another container
// shares, in the original) turned the mask into a bind mount of the
// symlink's target: /proc/sys/kernel/core_pattern, writable, in the exploit.
// Here a createContainer hook (after /dev is made, before pivot_root)
// swaps it for a symlink to a marker file: the mask must not show the
// marker; the runtime refuses, naming /dev/null.
TEST_F(Security, Cve2025_31133_MaskSourceMustBeTheNullDevice) {
    Bundle b;
    std::string rootfs = b.private_rootfs();
    write_file(rootfs + "/marker", "not the null device\n");
    b.config()["linux"]["maskedPaths"] = {"/proc/keys", "/proc/timer_list"};
    b.config()["hooks"]["createContainer"] = {
        {{"path", "/bin/sh"}, {"args", {"sh", "-c", "rm -f " + rootfs + "/dev/null && ln -s /marker " + rootfs + "/dev/null"}}}};
    b.script("cat /proc/keys; echo end");
    auto r = run(b);
    EXPECT_FALSE(contains(r.out, "not the null device")) << "a masked path shows the symlink's target" << r;
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.err, "/dev/null")) << r;
    EXPECT_TRUE(contains(r.err, "linux.maskedPaths")) << r;
    // the container's own /dev/null (a real one) masks as before
    Bundle ok;
    ok.config()["linux"]["maskedPaths"] = {"/proc/keys"};
    ok.script("wc -c < /proc/keys");
    auto r2 = run(ok);
    EXPECT_EQ(r2.exit_code, 0) << r2;
    EXPECT_EQ(trim(r2.out), "0") << r2;
}

// ---------------------------------------------------------------------------
// CVE-2024-21626 (runc < 1.1.12): runc leaked a host directory fd (its
// /sys/fs/cgroup handle) into the container's init; with process.cwd set to
// /proc/self/fd/N the container started with its cwd on the host filesystem.
// Here the runtime is started with an extra, inheritable descriptor to a host
// directory holding a marker, so a runtime that passes unknown descriptors
// through is caught too.

constexpr int kLeakFd = 7;

struct HostSecret {
    TempDir dir{"secret"};
    int fd = -1;
    HostSecret() {
        write_file(dir / "secret-marker", "host secret\n");
        fd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);  // no O_CLOEXEC: inheritable
    }
    ~HostSecret() {
        if (fd >= 0) close(fd);
    }
    SpawnOptions spawn_options() const {
        SpawnOptions o;
        o.inherit_fds = {{fd, kLeakFd}, {fd, kLeakFd - 2}, {fd, kLeakFd + 2}};
        o.timeout = 60s;
        return o;
    }
};

// fd number → link target, from `ls -l /proc/.../fd` output
std::map<int, std::string> parse_fd_listing(const std::string& text) {
    std::map<int, std::string> out;
    static const std::regex re(R"(\s(\d+)(?: -> (.*))?$)");
    for (auto& l : lines(text)) {
        std::smatch m;
        if (l.starts_with("total")) continue;
        if (std::regex_search(l, m, re)) out[std::stoi(m[1])] = m[2];
    }
    return out;
}

TEST_F(Security, Cve2024_21626_NoHostFdLeaksIntoContainer) {
    HostSecret secret;
    ASSERT_GE(secret.fd, 0);
    Bundle b;
    b.script("ls -l /proc/1/fd; echo ===; ls -l /proc/self/fd; echo ===; "
             "readlink /proc/1/cwd; "
             "a=$(stat -L -c %d:%i /proc/1/cwd); b=$(stat -c %d:%i \"$(readlink /proc/1/cwd)\"); "
             "[ \"$a\" = \"$b\" ] && echo cwd-inside || echo cwd-outside; exit 0");
    auto r = rt.run(b, rt.new_id(), {}, secret.spawn_options());
    ASSERT_EQ(r.exit_code, 0) << r;
    auto parts = r.out;
    auto p1 = parts.find("===");
    auto p2 = parts.find("===", p1 + 3);
    ASSERT_NE(p2, std::string::npos) << r;
    auto init_fds = parse_fd_listing(parts.substr(0, p1));
    auto self_fds = parse_fd_listing(parts.substr(p1 + 3, p2 - p1 - 3));
    auto tail = lines(parts.substr(p2 + 3));

    std::set<int> init_set;
    for (auto& [n, _] : init_fds) init_set.insert(n);
    EXPECT_EQ(init_set, (std::set<int>{0, 1, 2})) << "the container's init has extra descriptors" << r;
    for (auto& [n, target] : self_fds) {
        EXPECT_TRUE(n <= 2 || (n == 3 && (target.empty() || target.starts_with("/proc/"))))
            << "unexpected fd " << n << " -> " << target << r;
        EXPECT_FALSE(contains(target, secret.dir.path())) << r;
    }
    EXPECT_FALSE(contains(r.out, secret.dir.path())) << r;
    ASSERT_GE(tail.size(), 3u) << r;
    EXPECT_EQ(tail[1], "/") << r;
    EXPECT_EQ(tail[2], "cwd-inside") << r;
}

TEST_F(Security, Cve2024_21626_CwdThroughProcSelfFdCannotEscape) {
    HostSecret secret;
    ASSERT_GE(secret.fd, 0);
    for (int n = 3; n <= 10; ++n) {
        SCOPED_TRACE("process.cwd = /proc/self/fd/" + std::to_string(n));
        Bundle b;
        b.config()["process"]["cwd"] = "/proc/self/fd/" + std::to_string(n);
        b.script("ls; echo ===; readlink /proc/1/cwd; "
                 "a=$(stat -L -c %d:%i /proc/1/cwd); b=$(stat -c %d:%i \"$(readlink /proc/1/cwd)\" 2>/dev/null); "
                 "[ \"$a\" = \"$b\" ] && echo cwd-inside || echo cwd-outside; exit 0");
        auto r = rt.run(b, rt.new_id(), {}, secret.spawn_options());
        // Refusing the config is fine; running with a cwd outside is not.
        EXPECT_FALSE(contains(r.out, "secret-marker")) << "the container's cwd is a host directory" << r;
        EXPECT_FALSE(contains(r.out, "cwd-outside")) << r;
        if (r.exit_code == 0) {
            EXPECT_TRUE(contains_line(r.out, "cwd-inside")) << r;
        }
        EXPECT_FALSE(r.timed_out) << r;
    }
}

// CVE-2019-5736 by way of a script in the image: a program, or a
// startContainer hook, whose interpreter line is `#!/proc/self/exe
// --version` runs the host's hako-runtime in the container when the process
// that execs it runs the runtime's binary. It must be the exec stub, from a
// sealed memfd, every time (which refuses to be an interpreter): with
// startContainer hooks too, which init runs itself after start (it had
// exec'd them, and then the process, from the host's binary), and exec's
// process (it had exec'd from the host's binary: the very attack on runc).
TEST_F(Security, Cve2019_5736_NoScriptInTheImageRunsTheRuntimeBinary) {
    struct Case {
        const char* what;
        bool hook, evil_hook;
    };
    for (const auto& c : {Case{"the process", false, false}, Case{"the process after a startContainer hook", true, false},
                          Case{"a startContainer hook", true, true}}) {
        Bundle b;
        std::string rootfs = b.private_rootfs();
        write_file(rootfs + "/evil.sh", "#!/proc/self/exe --version\n", 0755);
        if (c.evil_hook) b.script("echo the-process-ran");
        else b.args({"/evil.sh"});
        if (c.hook) b.config()["hooks"]["startContainer"] = json::array({json{{"path", c.evil_hook ? "/evil.sh" : "/bin/true"}}});
        auto r = rt.run(b, rt.new_id("cve5736-script"));
        // (the stub as an interpreter: too few arguments; hako-runtime: "unknown command `/evil.sh`")
        EXPECT_TRUE(contains(r.err, "exec `(missing arguments)`")) << c.what << " ran the host's runtime binary: " << r;
        EXPECT_NE(r.exit_code, 0) << c.what << ": " << r;
        EXPECT_FALSE(contains(r.out, "the-process-ran")) << c.what << ": " << r;
        if (c.evil_hook) {
            EXPECT_TRUE(contains(r.err, "hooks.startContainer[0] `/evil.sh`")) << r;
        }
    }
    // exec: the original attack (runc exec of such a script)
    Bundle b({"sleep", "60"});
    write_file(b.private_rootfs() + "/evil.sh", "#!/proc/self/exe --version\n", 0755);
    std::string id = rt.new_id("cve5736-exec");
    ASSERT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
    auto e = rt({"exec", id, "/evil.sh"});
    EXPECT_TRUE(contains(e.err, "exec `(missing arguments)`")) << "exec ran the host's runtime binary: " << e;
    EXPECT_NE(e.exit_code, 0) << e;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

// ---------------------------------------------------------------------------
// CVE-2019-5736 (runc < 1.0-rc6): the container's init is the runtime binary
// until it execs the container's program, so /proc/<init>/exe was the host's
// runtime binary. A container whose program is a script starting with
// `#!/proc/self/exe` made the runtime's init exec *the host runtime binary*
// inside the container; a process of the container then got a handle on
// /proc/<pid>/exe (opening it for writing fails with ETXTBSY while it runs),
// and once it had exited reopened /proc/self/fd/N for writing and overwrote
// the host's runtime binary: code execution as host root on the next runtime
// call. Fixes: init runs from a sealed memfd copy of the binary (runc 1.0,
// crun), from a read-only bind mount of it (runc 1.1's default: the handle
// reaches the same inode, but reopening it for writing fails with EROFS), or
// from a minimal separate binary (runc 1.2's runc-dmz).
//
// What this test checks (without an `exec` command):
//  1. A handle on the created container's /proc/<init>/exe (taken from the
//     host while the init waits for `start`: the most any container process
//     could get) cannot be reopened for writing onto the host runtime binary
//     once the container has exited. The reopen uses O_APPEND and writes
//     nothing, so even a vulnerable runtime's binary stays intact.
//  2. The same from inside: an "attacker" container A runs; a victim B joins
//     A's pid namespace, so A sees B's processes. B's program is /evil.sh with
//     the interpreter `#!/proc/self/exe`. A scans /proc for processes not
//     running its busybox, holds /proc/<pid>/exe open and keeps trying to
//     reopen it for writing (O_APPEND, no write). A write handle on the host
//     runtime binary (same device and inode) is a failure. (Catching B's
//     short-lived re-exec is racy; the created-state window is not.)
//  3. The runtime binary's sha256, size and mtime are unchanged.
TEST_F(Security, Cve2019_5736_RuntimeBinaryNotReachableFromContainer) {
    const std::string bin = rt.binary();
    struct stat bin_st{};
    ASSERT_EQ(stat(bin.c_str(), &bin_st), 0);
    const std::string bin_devino = std::to_string(bin_st.st_dev) + ":" + std::to_string(bin_st.st_ino);
    const std::string sha_before = sha256_file(bin);

    // A: the attacker
    Bundle a;
    std::string shared = a.host_dir("shared", 0777);
    std::string log = shared + "/log";
    a.bind(shared, "/mnt", {"rbind", "rw"});
    a.script(R"SH(
log=/mnt/log
echo ready >> $log
end=$(( $(date +%s) + 60 ))
seen=" "
holders=""
while [ ! -e /mnt/stop ] && [ $(date +%s) -lt $end ]; do
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    case "$seen" in *" $p "*) continue;; esac
    t=$(readlink $d/exe 2>/dev/null)
    [ -n "$t" ] || continue
    case "$t" in /bin/busybox) continue;; esac
    seen="$seen$p "
    echo "found $p $t" >> $log
    sleep 1000 3< $d/exe 2>/dev/null &
    h=$!
    sleep 0.2
    if [ -e /proc/$h/fd/3 ]; then
      echo "opened $p $(stat -L -c %d:%i /proc/$h/fd/3)" >> $log
      holders="$holders $h"
    else
      echo "open-denied $p" >> $log
    fi
  done
  for h in $holders; do
    if ( : >> /proc/$h/fd/3 ) 2>/dev/null; then
      echo "write-opened $(stat -L -c %d:%i /proc/$h/fd/3)" >> $log
    fi
  done
  sleep 0.05
done
echo done >> $log
)SH");
    std::string ida = rt.new_id("cve5736-a");
    ASSERT_EQ(rt.create(a, ida).exit_code, 0);
    ASSERT_EQ(rt.start(ida).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return path_exists(log) && contains(read_file(log), "ready"); }, 10s));
    int pida = rt.state(ida).value_or(json::object()).value("pid", 0);
    ASSERT_GT(pida, 0);

    // B: the victim, in A's pid namespace
    Bundle bb;
    std::string rootfs = bb.private_rootfs();
    write_file(rootfs + "/evil.sh", "#!/proc/self/exe\n", 0755);
    bb.args({"/evil.sh"});
    for (auto& ns : bb.config()["linux"]["namespaces"])
        if (ns["type"] == "pid") ns["path"] = "/proc/" + std::to_string(pida) + "/ns/pid";
    std::string idb = rt.new_id("cve5736-b");
    auto cb = rt.create(bb, idb);
    ASSERT_EQ(cb.exit_code, 0) << cb;
    int pidb = rt.state(idb).value_or(json::object()).value("pid", 0);
    ASSERT_GT(pidb, 0);

    // (1) take a handle on the created container's init executable
    int exe_fd = open(("/proc/" + std::to_string(pidb) + "/exe").c_str(), O_PATH | O_CLOEXEC);
    EXPECT_GE(exe_fd, 0) << "cannot open /proc/" << pidb << "/exe: " << std::strerror(errno);

    // (2) give A time to look at B's init, then let B exec /evil.sh
    std::this_thread::sleep_for(1s);
    auto sb = rt.start(idb);
    EXPECT_EQ(sb.exit_code, 0) << sb;
    EXPECT_TRUE(rt.wait_status(idb, "stopped", 20s)) << rt({"state", idb});
    std::this_thread::sleep_for(1s);  // A keeps trying to reopen for writing
    write_file(shared + "/stop", "");
    EXPECT_TRUE(wait_until([&] { return contains(read_file(log), "done"); }, 20s)) << read_file(log);

    // (1) reopen the handle for writing, now that B's processes are gone
    if (exe_fd >= 0) {
        std::string via = "/proc/self/fd/" + std::to_string(exe_fd);
        int w = -1, err = 0;
        wait_until([&] {
            w = open(via.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
            err = errno;
            return w >= 0 || err != ETXTBSY;  // ETXTBSY: something still runs it
        }, 5s);
        if (w >= 0) {
            struct stat wst{};
            fstat(w, &wst);
            EXPECT_FALSE(wst.st_dev == bin_st.st_dev && wst.st_ino == bin_st.st_ino)
                << "the init's /proc/<pid>/exe of a created container reopens the host's runtime binary " << bin
                << " for writing";
            close(w);
        } else {
            RecordProperty("exe_reopen_errno", std::strerror(err));
            EXPECT_NE(err, ETXTBSY) << "inconclusive: the runtime binary stayed busy";
        }
        close(exe_fd);
    }

    std::string l = read_file(log);
    for (auto& line : lines(l)) {
        auto w = words(line);
        if (w.size() >= 2 && w[0] == "write-opened") {
            EXPECT_NE(w[1], bin_devino) << "a container process opened the host runtime binary for writing";
        }
    }
    RecordProperty("attacker_log", l);

    // (3)
    struct stat after{};
    ASSERT_EQ(stat(bin.c_str(), &after), 0);
    EXPECT_EQ(sha256_file(bin), sha_before) << "the runtime binary was modified";
    EXPECT_EQ(after.st_size, bin_st.st_size);
    EXPECT_EQ(after.st_mtim.tv_sec, bin_st.st_mtim.tv_sec);
    EXPECT_EQ(after.st_mtim.tv_nsec, bin_st.st_mtim.tv_nsec);
}

// CVE-2016-9962: while `exec` joins the container, its processes must not be
// open to the container (ptrace, /proc/<pid>/fd, /proc/<pid>/exe: the
// runtime binary and the runtime's fds). A container process watches for
// new processes during many execs and tries their fds and exe. (The exec
// stub, which the process execs through, is open for a moment: a sealed
// memfd, and only the process's own stdio.)
TEST_F(Security, Cve2016_9962_ExecJoiningIsNotOpenToTheContainer) {
    HostSecret secret;
    ASSERT_GE(secret.fd, 0);
    struct stat bin_st{};
    ASSERT_EQ(stat(rt.binary().c_str(), &bin_st), 0);
    const std::string bin_devino = std::to_string(bin_st.st_dev) + ":" + std::to_string(bin_st.st_ino);
    Bundle a;
    std::string shared = a.host_dir("shared", 0777);
    std::string log = shared + "/log";
    a.bind(shared, "/mnt", {"rbind", "rw"});
    a.script(R"SH(
echo ready >> /mnt/log
while [ ! -e /mnt/stop ]; do
  for d in /proc/[0-9]*; do
    t=$(readlink $d/exe 2>/dev/null) || continue
    case "$t" in /bin/busybox|/bin/true) continue;; esac
    echo "saw ${d#/proc/} $t" >> /mnt/log
    fds=$(ls $d/fd/ 2>/dev/null) && echo "fds-listed ${d#/proc/} [$t]" $fds >> /mnt/log
    stat -L -c "exe-opened %d:%i" $d/exe >> /mnt/log 2>/dev/null
  done
done
echo done >> /mnt/log
)SH");
    std::string id = rt.new_id("cve9962");
    ASSERT_EQ(rt.run(a, id, {"--detach"}).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return path_exists(log) && contains(read_file(log), "ready"); }, 10s));
    for (int i = 0; i < 30; ++i) {
        auto e = rt({"exec", id, "true"}, secret.spawn_options());
        EXPECT_EQ(e.exit_code, 0) << e;
    }
    write_file(shared + "/stop", "");
    EXPECT_TRUE(wait_until([&] { return contains(read_file(log), "done"); }, 20s));
    std::string l = read_file(log);
    // Only the exec stub may be seen for a moment (exec'd, not yet
    // non-dumpable: its first step), with nothing open but the process's own
    // stdio. (The joiner and the process before it execs are never open.)
    for (const auto& line : lines(l)) {
        if (!line.starts_with("fds-listed ")) continue;
        EXPECT_TRUE(contains(line, "[/memfd:hako-exec (deleted)]")) << line << "\n" << l;
        auto w = words(line.substr(line.find(']') + 1));
        for (const auto& fd : w) EXPECT_TRUE(fd == "0" || fd == "1" || fd == "2") << line << "\n" << l;
    }
    EXPECT_FALSE(contains(l, "exe-opened " + bin_devino)) << l;
    EXPECT_FALSE(contains(l, secret.dir.path())) << l;
    RecordProperty("watcher_log", l);
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

}  // namespace
}  // namespace hako::test
