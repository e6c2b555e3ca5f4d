// Escape regressions around /dev and /proc: runc's 2025 console and procfs
// CVEs (2025-52565, 2025-52881) and the older /proc ones (2019-16884,
// 2019-19921 / 2023-27561), and inheritable capabilities (2022-29162). A
// createContainer hook plays the attacker: it runs in the container's mount
// namespace after the mounts, before pivot_root, as an image's tricks or a
// racing container would have the rootfs look.
#include <unistd.h>

#include "harness.hpp"

namespace hako::test {
namespace {

using SecurityProc = ContainerTest;

json hook(const std::string& script) { return {{{"path", "/bin/sh"}, {"args", {"sh", "-c", script}}}}; }

// Creates `b` with a terminal and --console-socket, starts it, and returns
// what its pty printed until `until` (the container's script ends with it).
std::string run_with_terminal(Runtime& rt, Bundle& b, const std::string& until, Result* created = nullptr) {
    b.config()["process"]["terminal"] = true;
    UnixListener console(b.dir() + "/console.sock");
    std::string id = rt.new_id("con");
    auto c = rt.create(b, id, {"--console-socket", console.path()});
    if (created) *created = c;
    if (c.exit_code != 0) return "";
    int conn = console.accept(5s);
    if (conn < 0) return "";
    int master = recv_fd(conn, nullptr, 5s);
    close(conn);
    if (master < 0) return "";
    std::string out;
    if (rt.start(id).exit_code == 0) out = read_until(master, until, 10s);
    close(master);
    rt.wait_status(id, "stopped");
    rt.remove(id, true);
    return out;
}

// ---------------------------------------------------------------------------
// CVE-2025-52565 (runc < 1.2.8): with a terminal, runc bound the pty onto
// /dev/console by path; a symlink planted there (to /proc/sys/kernel/core_pattern,
// say) moved the bind onto its target, and the masking of that procfs file
// was undone. And /dev/ptmx was opened by path. Here /dev/console is the pty
// whatever was planted, and a /dev/ptmx that is not the multiplexer is refused.
TEST_F(SecurityProc, Cve2025_52565_ConsoleIsThePtyNeverASymlinksTarget) {
    const std::string check =
        "echo mounts-on-core-pattern=$(grep -c core_pattern /proc/self/mountinfo); "
        "[ -L /dev/console ] && echo console-is-a-symlink; "
        "[ \"$(stat -L -c %t:%T /dev/console)\" = \"$(stat -L -c %t:%T $(tty))\" ] && echo console-is-the-pty; "
        "echo END";
    for (bool planted : {false, true}) {
        Bundle b;
        std::string rootfs = b.rootfs();
        if (planted)
            b.config()["hooks"]["createContainer"] =
                hook("ln -sf /proc/sys/kernel/core_pattern " + rootfs + "/dev/console");
        b.script(check);
        Result created;
        std::string out = run_with_terminal(rt, b, "END", &created);
        ASSERT_EQ(created.exit_code, 0) << created;
        EXPECT_TRUE(contains(out, "mounts-on-core-pattern=0")) << "planted=" << planted << "\n" << out;
        EXPECT_FALSE(contains(out, "console-is-a-symlink")) << out;
        EXPECT_TRUE(contains(out, "console-is-the-pty")) << "planted=" << planted << "\n" << out;
    }
    EXPECT_TRUE(rt.list_ids().empty());
}

TEST_F(SecurityProc, Cve2025_52565_PtmxMustBeThePtyMultiplexer) {
    for (std::string target : {"/marker", "/dev/null"}) {
        Bundle b;
        std::string rootfs = b.private_rootfs();
        write_file(rootfs + "/marker", "not a pty\n");
        b.config()["hooks"]["createContainer"] =
            hook("rm -f " + rootfs + "/dev/ptmx && ln -s " + target + " " + rootfs + "/dev/ptmx");
        b.script("echo started; echo END");
        Result created;
        std::string out = run_with_terminal(rt, b, "END", &created);
        EXPECT_NE(created.exit_code, 0) << created;
        EXPECT_TRUE(contains(created.err, "/dev/ptmx")) << created;
        EXPECT_TRUE(contains(created.err, "CVE-2025-52565")) << created;
        EXPECT_EQ(read_file(rootfs + "/marker"), "not a pty\n");
    }
    EXPECT_TRUE(rt.list_ids().empty());
}

// ---------------------------------------------------------------------------
// CVE-2025-52881 (runc < 1.2.8): init's writes into procfs (sysctls, the LSM
// label) went wherever a mount over the file pointed: a bind of a host file
// (or of /proc/sys/kernel/core_pattern) onto /proc/sys/kernel/domainname made
// a harmless sysctl a write to it. Here the write is refused, the file untouched.
TEST_F(SecurityProc, Cve2025_52881_SysctlWritesOnlyIntoProcfsItself) {
    Bundle b({"true"});
    std::string rootfs = b.rootfs();
    std::string canary = b.host_dir("host") + "/canary";
    write_file(canary, "host file\n");
    b.config()["linux"]["sysctl"] = {{"kernel.domainname", "pwned"}};
    b.config()["hooks"]["createContainer"] =
        hook("mount --bind " + canary + " " + rootfs + "/proc/sys/kernel/domainname");
    auto r = run(b);
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.err, "linux.sysctl")) << r;
    EXPECT_TRUE(contains(r.err, "/proc/sys/kernel/domainname")) << r;
    EXPECT_TRUE(contains(r.err, "CVE-2025-52881")) << r;
    EXPECT_EQ(read_file(canary), "host file\n");
    // Without the mount, the sysctl is set in the container's own UTS namespace.
    Bundle ok;
    ok.config()["linux"]["sysctl"] = {{"kernel.domainname", "box.test"}};
    ok.script("cat /proc/sys/kernel/domainname");
    auto r2 = run(ok);
    EXPECT_EQ(r2.exit_code, 0) << r2;
    EXPECT_EQ(trim(r2.out), "box.test") << r2;
}

// ---------------------------------------------------------------------------
// CVE-2019-16884 (runc < 1.0.0-rc9): a volume mounted over /proc made the
// write of the AppArmor profile land in a plain file, and the container ran
// unconfined. Only a procfs may go on /proc, and under /proc only the files
// lxcfs emulates (as runc allows), also when a symlink leads there.
TEST_F(SecurityProc, Cve2019_16884_OnlyProcfsOnProcAndLxcfsFilesUnderIt) {
    struct Case {
        const char* name;
        std::function<void(Bundle&)> setup;
        const char* error;
    };
    const Case refused[] = {
        {"tmpfs on /proc", [](Bundle& b) { b.tmpfs("/proc"); }, "only a procfs"},
        {"bind of a directory on /proc",
         [](Bundle& b) { b.bind(b.host_dir("fakeproc"), "/proc", {"bind", "ro"}); }, "only a procfs"},
        {"bind on a /proc/sys file",
         [](Bundle& b) {
             write_file(b.host_dir("f") + "/x", "1\n");
             b.bind(b.dir() + "/f/x", "/proc/sys/kernel/domainname", {"bind"});
         },
         "is inside /proc"},
        {"bind through a symlink into /proc",
         [](Bundle& b) {
             std::string rootfs = b.writable_rootfs();
             ASSERT_EQ(symlink("/proc/sys/kernel", (rootfs + "/kern").c_str()), 0);
             write_file(b.host_dir("f") + "/x", "1\n");
             b.bind(b.dir() + "/f/x", "/kern/hostname", {"bind"});
         },
         "(through a symlink)"},
    };
    for (const auto& c : refused) {
        Bundle b({"true"});
        c.setup(b);
        auto r = run(b);
        EXPECT_NE(r.exit_code, 0) << c.name << "\n" << r;
        EXPECT_TRUE(contains(r.err, c.error)) << c.name << "\n" << r;
        EXPECT_TRUE(contains(r.err, "mounts[")) << c.name << "\n" << r;
    }
    // lxcfs's files: allowed, and the container reads what was bound.
    Bundle ok;
    write_file(ok.host_dir("lxcfs") + "/meminfo", "MemTotal: 42 kB\n");
    ok.bind(ok.dir() + "/lxcfs/meminfo", "/proc/meminfo", {"bind", "ro"});
    ok.script("cat /proc/meminfo");
    auto r = run(ok);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(r.out), "MemTotal: 42 kB") << r;
}

// CVE-2019-19921 / CVE-2023-27561 (runc < 1.1.5): /proc or /sys as a
// symlink in the rootfs (or swapped for one by a racing container sharing a
// volume) took the procfs/sysfs mount, and the masking under it, elsewhere.
TEST_F(SecurityProc, Cve2023_27561_ProcAndSysMustBeDirectories) {
    for (std::string dir : {"/proc", "/sys"}) {
        Bundle b({"true"});
        std::string rootfs = b.writable_rootfs();
        ASSERT_EQ(rmdir((rootfs + dir).c_str()), 0) << dir;
        ASSERT_EQ(symlink("tmp", (rootfs + dir).c_str()), 0);
        auto r = run(b);
        EXPECT_NE(r.exit_code, 0) << dir << "\n" << r;
        EXPECT_TRUE(contains(r.err, "must be mounted on ordinary directory")) << dir << "\n" << r;
        EXPECT_TRUE(contains(r.err, "`" + dir + "` is a symlink")) << dir << "\n" << r;
    }
}

// ---------------------------------------------------------------------------
// CVE-2022-29162 (runc < 1.1.2): runc gave processes inheritable
// capabilities (exec --cap added them too), which an executable with
// inheritable file capabilities would turn into permitted ones. No
// inheritable capability unless the spec asks for it, for init and exec.
TEST_F(SecurityProc, Cve2022_29162_NoInheritableCapabilities) {
    Bundle b({"sleep", "1000"});
    std::string id = rt.new_id("inh");
    ASSERT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
    auto init = rt({"exec", id, "grep", "CapInh", "/proc/1/status"});
    EXPECT_EQ(init.exit_code, 0) << init;
    EXPECT_TRUE(contains(init.out, "0000000000000000")) << init;
    auto exec = rt({"exec", "--cap", "CAP_SYS_ADMIN", id, "grep", "-E", "CapInh|CapEff", "/proc/self/status"});
    EXPECT_EQ(exec.exit_code, 0) << exec;
    auto ls = lines(exec.out);
    ASSERT_EQ(ls.size(), 2u) << exec;
    EXPECT_TRUE(contains(ls[0], "0000000000000000")) << exec;  // CapInh
    auto eff = std::stoull(words(ls[1]).back(), nullptr, 16);  // CapEff: CAP_SYS_ADMIN (21) added
    EXPECT_TRUE(eff & (1ULL << 21)) << exec;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

}  // namespace
}  // namespace hako::test
