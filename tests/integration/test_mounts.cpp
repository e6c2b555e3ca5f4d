// Mounts, masked and read-only paths, the read-only root, devices.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "harness.hpp"

namespace hako::test {
namespace {

using Mounts = ContainerTest;

// The mount options of `target` as the container sees them (field 6 of
// /proc/self/mountinfo), from the output of `cat /proc/self/mountinfo`.
std::string mount_options(const std::string& mountinfo, const std::string& target) {
    std::string opts;
    for (auto& l : lines(mountinfo)) {
        auto w = words(l);
        if (w.size() > 5 && w[4] == target) opts = w[5];  // the last one is on top
    }
    return opts;
}

bool has_option(const std::string& opts, const std::string& opt) {
    for (size_t start = 0;;) {
        size_t comma = opts.find(',', start);
        if (opts.substr(start, comma - start) == opt) return true;
        if (comma == std::string::npos) return false;
        start = comma + 1;
    }
}

TEST_F(Mounts, BindMountReadOnlyAndReadWrite) {
    Bundle b;
    std::string src = b.host_dir("src");
    std::string rw = b.host_dir("rw");
    write_file(src + "/f", "hello\n");
    b.bind(src, "/mnt/ro", {"rbind", "ro"});
    b.bind(src, "/mnt/ro2", {"bind", "ro"});
    b.bind(rw, "/mnt/rw", {"bind", "rw"});
    b.script(
        "cat /mnt/ro/f; cat /mnt/ro2/f; "
        "if echo x > /mnt/ro/f; then echo ro-write-ok; else echo ro-write-failed; fi; "
        "if touch /mnt/ro/new; then echo ro-create-ok; else echo ro-create-failed; fi; "
        "if echo x > /mnt/ro2/f; then echo ro2-write-ok; else echo ro2-write-failed; fi; "
        "echo data > /mnt/rw/g && echo rw-write-ok; "
        "echo ===; cat /proc/self/mountinfo");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto parts = r.out.substr(0, r.out.find("==="));
    EXPECT_EQ(lines(parts), (std::vector<std::string>{"hello", "hello", "ro-write-failed", "ro-create-failed",
                                                      "ro2-write-failed", "rw-write-ok"}))
        << r;
    std::string mi = r.out.substr(r.out.find("===") + 3);
    EXPECT_TRUE(has_option(mount_options(mi, "/mnt/ro"), "ro")) << mi;
    EXPECT_TRUE(has_option(mount_options(mi, "/mnt/ro2"), "ro")) << mi;
    EXPECT_TRUE(has_option(mount_options(mi, "/mnt/rw"), "rw")) << mi;
    // On the host: the source is untouched, the rw change is visible.
    EXPECT_EQ(read_file(src + "/f"), "hello\n");
    EXPECT_FALSE(path_exists(src + "/new"));
    ASSERT_TRUE(path_exists(rw + "/g"));
    EXPECT_EQ(read_file(rw + "/g"), "data\n");
    EXPECT_TRUE(mounts_under(b.dir()).empty()) << "a bind mount leaked into the host";
}

TEST_F(Mounts, TmpfsMountIsWritableOnReadOnlyRoot) {
    Bundle b;
    b.tmpfs("/tmp");
    b.script("echo hi > /tmp/x && cat /tmp/x; grep -c ' /tmp ' /proc/self/mountinfo");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"hi", "1"})) << r;
    EXPECT_FALSE(path_exists(fixture_rootfs() + "/tmp/x"));
}

TEST_F(Mounts, MaskedPathsReadEmpty) {
    Bundle b;
    auto& masked = b.config()["linux"]["maskedPaths"];
    masked.push_back("/etc/group");  // a file of the rootfs
    // The default list's /proc entries that exist on this kernel, plus a
    // directory (masked with an empty read-only tmpfs).
    std::string script;
    for (std::string p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/etc/group"}) {
        if (p.starts_with("/proc/") && !path_exists(p)) continue;
        script += "echo \"" + p + " $(wc -c < " + p + ")\"; ";
    }
    if (path_exists("/sys/firmware")) {
        script += "echo \"/sys/firmware $(ls -A /sys/firmware | wc -l)\"; ";
        script += "if touch /sys/firmware/x 2>/dev/null; then echo firmware-writable; fi; ";
    }
    script += "echo \"/etc/passwd $(wc -c < /etc/passwd)\"";
    b.script(script);
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    for (auto& l : lines(r.out)) {
        auto w = words(l);
        ASSERT_EQ(w.size(), 2u) << l << r;
        if (w[0] == "/etc/passwd") {
            EXPECT_NE(w[1], "0") << "an unmasked file reads empty" << r;
        } else {
            EXPECT_EQ(w[1], "0") << w[0] << " is not masked" << r;
        }
    }
    EXPECT_FALSE(contains(r.out, "firmware-writable")) << r;
    EXPECT_TRUE(contains(r.out, "/etc/group 0")) << r;
    EXPECT_NE(read_file(fixture_rootfs() + "/etc/group"), "") << "masking changed the rootfs";
}

TEST_F(Mounts, ReadonlyPathsCannotBeWritten) {
    Bundle b;
    b.tmpfs("/tmp");
    b.config()["linux"]["readonlyPaths"].push_back("/tmp");
    // Root owns /proc/sys/kernel/domainname (0644), so only the read-only
    // mount can make this write fail with EROFS.
    b.script(
        "echo x > /proc/sys/kernel/domainname; echo rc=$?; "
        "touch /tmp/f; echo rc=$?; "
        "echo ===; cat /proc/self/mountinfo");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto head = lines(r.out.substr(0, r.out.find("===")));
    ASSERT_EQ(head.size(), 2u) << r;
    EXPECT_NE(head[0], "rc=0") << "/proc/sys is writable" << r;
    EXPECT_NE(head[1], "rc=0") << "readonlyPaths /tmp is writable" << r;
    EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
    std::string mi = r.out.substr(r.out.find("===") + 3);
    EXPECT_TRUE(has_option(mount_options(mi, "/proc/sys"), "ro")) << mi;
    EXPECT_TRUE(has_option(mount_options(mi, "/tmp"), "ro")) << mi;
}

TEST_F(Mounts, RootReadonly) {
    Bundle b;  // the default config has root.readonly = true
    b.script("touch /x; echo rc=$?; echo ===; cat /proc/self/mountinfo");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out)[0], "rc=1") << r;
    EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
    std::string mi = r.out.substr(r.out.find("===") + 3);
    EXPECT_TRUE(has_option(mount_options(mi, "/"), "ro")) << mi;
    EXPECT_FALSE(path_exists(fixture_rootfs() + "/x"));
}

TEST_F(Mounts, RootWritable) {
    Bundle b;
    std::string rootfs = b.writable_rootfs();
    b.script("echo made > /x && cat /x");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(r.out), "made") << r;
    ASSERT_TRUE(path_exists(rootfs + "/x"));
    EXPECT_EQ(read_file(rootfs + "/x"), "made\n");
}

TEST_F(Mounts, DefaultDevices) {
    Bundle b;
    // stat %t/%T print major/minor in hex
    b.script(
        "for d in null zero full random urandom tty; do "
        "  if [ -c /dev/$d ]; then echo \"chr $d $(stat -c '%t:%T' /dev/$d)\"; else echo \"missing $d\"; fi; "
        "done; "
        "for l in fd stdin stdout stderr; do echo \"link $l $(readlink /dev/$l)\"; done; "
        "if [ -L /dev/ptmx ]; then echo \"ptmx link $(readlink /dev/ptmx)\"; "
        "elif [ -c /dev/ptmx ]; then echo \"ptmx chr $(stat -c '%t:%T' /dev/ptmx)\"; else echo ptmx missing; fi; "
        "[ -d /dev/pts ] && echo dir pts; [ -d /dev/shm ] && echo dir shm; "
        "echo \"zero $(head -c 4 /dev/zero | od -An -tx1 | tr -d ' ')\"; "
        "echo \"urandom $(head -c 16 /dev/urandom | wc -c)\"; "
        "echo x > /dev/null && echo null-write-ok; "
        "echo \"null-read $(wc -c < /dev/null)\"; "
        "if echo x > /dev/full; then echo full-write-ok; else echo full-write-failed; fi; "
        "exit 0");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    for (const char* want :
         {"chr null 1:3", "chr zero 1:5", "chr full 1:7", "chr random 1:8", "chr urandom 1:9", "chr tty 5:0",
          "link fd /proc/self/fd", "link stdin /proc/self/fd/0", "link stdout /proc/self/fd/1",
          "link stderr /proc/self/fd/2", "dir pts", "dir shm", "zero 00000000", "urandom 16", "null-write-ok",
          "null-read 0", "full-write-failed"})
        EXPECT_TRUE(contains_line(r.out, want)) << "missing: " << want << r;
    EXPECT_TRUE(contains_line(r.out, "ptmx link pts/ptmx") || contains_line(r.out, "ptmx link /dev/pts/ptmx") ||
                contains_line(r.out, "ptmx chr 5:2"))
        << r;
}

TEST_F(Mounts, LinuxDevicesAreCreated) {
    Bundle b;
    b.config()["linux"]["devices"] = json::array(
        {{{"path", "/dev/mynull"}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"fileMode", 0666},
          {"uid", 0}, {"gid", 0}}});
    b.script(
        "stat -c '%F %t:%T %a %u:%g' /dev/mynull; "
        "echo x > /dev/mynull && echo write-ok; echo \"read $(wc -c < /dev/mynull)\"");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out),
              (std::vector<std::string>{"character special file 1:3 666 0:0", "write-ok", "read 0"}))
        << r;
    EXPECT_FALSE(path_exists(fixture_rootfs() + "/dev/mynull"));
}

// tmpcopyup (crun's and Podman's option): the tmpfs starts with what the
// directory under it held; writes go to the tmpfs, never to the rootfs.
TEST_F(Mounts, TmpfsTmpcopyupStartsWithTheDirectorysContents) {
    Bundle b;
    b.add_mount({{"destination", "/etc"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                 {"options", {"nosuid", "nodev", "tmpcopyup"}}});
    b.add_mount({{"destination", "/bin"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                 {"options", {"ro", "tmpcopyup"}}});
    b.script(
        "head -n 1 /etc/passwd; "
        "echo new > /etc/new && cat /etc/new; "
        "if touch /bin/x 2>/dev/null; then echo bin-writable; else echo bin-ro; fi; "
        "echo ===; cat /proc/self/mountinfo");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto parts = r.out.substr(0, r.out.find("==="));
    EXPECT_EQ(lines(parts), (std::vector<std::string>{"root:x:0:0:root:/root:/bin/sh", "new", "bin-ro"})) << r;
    std::string mi = r.out.substr(r.out.find("===") + 3);
    EXPECT_TRUE(has_option(mount_options(mi, "/bin"), "ro")) << mi;
    EXPECT_FALSE(path_exists(b.rootfs() + "/etc/new"));
}

// --no-pivot leaves the old root in the namespace under the chroot: its
// fully visible /proc would let a nested user namespace mount a fresh,
// unmasked procfs. The runtime detaches it, as with pivot_root.
TEST_F(Mounts, NoPivotLeavesNoFullyVisibleProc) {
    if (!path_exists(test_helper())) GTEST_SKIP() << "no test helper `" << test_helper() << "`";
    for (bool no_pivot : {true, false}) {
        Bundle b({"/bin/test-helper", "nested-proc", "/mnt"});
        // (not root: mapping the host's uid 0 would need CAP_SETFCAP)
        b.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
        std::string rootfs = b.writable_rootfs();
        write_file(rootfs + "/bin/test-helper", read_file(test_helper()), 0755);
        std::string id = rt.new_id("np");
        std::vector<std::string> extra;
        if (no_pivot) extra.push_back("--no-pivot");
        auto r = rt.run(b, id, extra);
        ASSERT_EQ(r.exit_code, 0) << r;
        EXPECT_TRUE(contains(r.out, "refused")) << (no_pivot ? "--no-pivot: " : "pivot_root: ") << r;
    }
}

// A read-only /dev: /dev/pts, /dev/shm, /dev/mqueue and the device nodes are
// made under it first, then it turns read-only.
TEST_F(Mounts, ReadOnlyDev) {
    Bundle b;
    for (auto& m : b.config()["mounts"])
        if (m["destination"] == "/dev") m["options"].push_back("ro");
    b.script("cat /proc/self/mountinfo; echo ---; ls /dev/pts/ptmx /dev/null /dev/shm >/dev/null && echo present; "
             "touch /dev/new 2>/dev/null && echo writable || echo refused; echo ok > /dev/null && echo null-ok");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto parts = r.out.substr(0, r.out.find("---"));
    EXPECT_TRUE(contains("," + mount_options(parts, "/dev") + ",", ",ro,")) << r;
    auto tail = r.out.substr(r.out.find("---") + 4);
    EXPECT_EQ(lines(tail), (std::vector<std::string>{"present", "refused", "null-ok"})) << r;
}

// A /proc that is a symlink in the rootfs (CVE-2019-19921's shape): a proc
// mount on it, or maskedPaths through it, are refused with runc's words.
TEST_F(Mounts, SymlinkedProcIsRefused) {
    for (bool with_proc_mount : {true, false}) {
        Bundle b({"true"});
        std::string rootfs = b.writable_rootfs();
        ASSERT_EQ(rmdir((rootfs + "/proc").c_str()), 0);
        ASSERT_EQ(symlink("tmp", (rootfs + "/proc").c_str()), 0);
        if (!with_proc_mount) {
            json kept = json::array();
            for (auto& m : b.config()["mounts"])
                if (m["type"] != "proc") kept.push_back(m);
            b.config()["mounts"] = kept;
        }
        auto r = run(b);
        EXPECT_NE(r.exit_code, 0) << r;
        EXPECT_TRUE(contains(r.err, "must be mounted on ordinary directory")) << r;
    }
}

}  // namespace
}  // namespace hako::test
