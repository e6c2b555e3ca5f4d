// The container process: exit status, capabilities, rlimits, user, cwd, env,
// noNewPrivileges, oomScoreAdj, sysctl.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "harness.hpp"

namespace hako::test {
namespace {

using Process = ContainerTest;

// "CapEff:\t0000000000000001" from /proc/self/status → the value
unsigned long long cap_field(const std::string& status, const std::string& name) {
    for (auto& l : lines(status)) {
        auto w = words(l);
        if (w.size() == 2 && w[0] == name + ":") return std::stoull(w[1], nullptr, 16);
    }
    return ~0ull;
}

TEST_F(Process, ExitStatusComesBackThroughRun) {
    for (int code : {0, 1, 42, 255}) {
        Bundle b;
        b.script("exit " + std::to_string(code));
        auto r = run(b);
        EXPECT_EQ(r.exit_code, code) << r;
        EXPECT_FALSE(r.timed_out);
    }
}

// A child of the container's init killed by SIGKILL: sh reports 128+9 and
// exits with it. (`sh -c 'kill -9 $$'` as the init itself does nothing: pid 1
// of a pid namespace cannot be sent SIGKILL from inside its namespace.)
TEST_F(Process, ExitStatusOfKilledChild) {
    Bundle b;
    b.script("sh -c 'kill -9 $$'; exit $?");
    auto r = run(b);
    EXPECT_EQ(r.exit_code, 137) << r;
}

// The container's init itself dies from a signal (sent by the runtime's
// `kill`, from outside its pid namespace): `run` returns 128+N.
TEST_F(Process, ExitStatusOfSignalledInit) {
    Bundle b;
    b.script("echo up; exec sleep 1000");
    b.write();
    std::string id = rt.new_id();
    auto running = rt.spawn({"run", "--bundle", b.dir(), id}, with_timeout(60s));
    ASSERT_TRUE(rt.wait_status(id, "running", 20s)) << "container never ran";
    auto k = rt.kill(id, "KILL");
    ASSERT_EQ(k.exit_code, 0) << k;
    auto r = running->wait();
    EXPECT_EQ(r.exit_code, 137) << r;
    EXPECT_FALSE(r.timed_out);
}

TEST_F(Process, CapabilitiesWithoutChown) {
    Bundle b;  // default caps: AUDIT_WRITE, KILL, NET_BIND_SERVICE
    b.tmpfs("/tmp");
    b.script("touch /tmp/f; chown 1 /tmp/f; echo rc=$?; stat -c owner=%u /tmp/f; cat /proc/self/status");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto ls = lines(r.out);
    ASSERT_GE(ls.size(), 2u) << r;
    EXPECT_NE(ls[0], "rc=0") << "chown worked without CAP_CHOWN" << r;
    EXPECT_EQ(ls[1], "owner=0") << r;
    // CAP_CHOWN is bit 0; CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
    const unsigned long long want = (1ull << 5) | (1ull << 10) | (1ull << 29);
    EXPECT_EQ(cap_field(r.out, "CapEff"), want) << r;
    EXPECT_EQ(cap_field(r.out, "CapPrm"), want) << r;
    EXPECT_EQ(cap_field(r.out, "CapBnd"), want) << r;
}

TEST_F(Process, CapabilitiesWithChown) {
    Bundle b;
    b.tmpfs("/tmp");
    auto& caps = b.config()["process"]["capabilities"];
    for (const char* set : {"bounding", "effective", "permitted"}) caps[set].push_back("CAP_CHOWN");
    b.script("touch /tmp/f; chown 1 /tmp/f; echo rc=$?; stat -c owner=%u /tmp/f; cat /proc/self/status");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto ls = lines(r.out);
    ASSERT_GE(ls.size(), 2u) << r;
    EXPECT_EQ(ls[0], "rc=0") << r;
    EXPECT_EQ(ls[1], "owner=1") << r;
    EXPECT_EQ(cap_field(r.out, "CapEff") & 1, 1u) << r;
    EXPECT_EQ(cap_field(r.out, "CapBnd") & 1, 1u) << r;
}

TEST_F(Process, Rlimits) {
    Bundle b;
    b.config()["process"]["rlimits"] = json::array({
        {{"type", "RLIMIT_NOFILE"}, {"soft", 256}, {"hard", 512}},
        {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 4096}},
    });
    b.script("ulimit -n; ulimit -Hn; grep -E '^Max (open files|core file size)' /proc/self/limits");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto ls = lines(r.out);
    ASSERT_EQ(ls.size(), 4u) << r;
    EXPECT_EQ(ls[0], "256");
    EXPECT_EQ(ls[1], "512");
    for (size_t i = 2; i < ls.size(); ++i) {
        auto w = words(ls[i]);
        ASSERT_GE(w.size(), 6u) << ls[i];
        if (contains(ls[i], "open files")) {
            EXPECT_EQ(w[3], "256") << ls[i];
            EXPECT_EQ(w[4], "512") << ls[i];
        } else {
            EXPECT_EQ(w[4], "0") << ls[i];
            EXPECT_EQ(w[5], "4096") << ls[i];
        }
    }
}

TEST_F(Process, UserUidGidAdditionalGids) {
    Bundle b;
    b.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 65534}}};
    b.script("id -un; id -u; id -g; grep -E '^(Uid|Gid|Groups):' /proc/self/status; cat /proc/self/status");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto ls = lines(r.out);
    ASSERT_GE(ls.size(), 6u) << r;
    EXPECT_EQ(ls[0], "test") << r;
    EXPECT_EQ(ls[1], "1000");
    EXPECT_EQ(ls[2], "1000");
    EXPECT_EQ(words(ls[3]), (std::vector<std::string>{"Uid:", "1000", "1000", "1000", "1000"}));
    EXPECT_EQ(words(ls[4]), (std::vector<std::string>{"Gid:", "1000", "1000", "1000", "1000"}));
    auto groups = words(ls[5]);
    std::set<std::string> g(groups.begin() + 1, groups.end());
    EXPECT_EQ(g, (std::set<std::string>{"10", "65534"})) << ls[5];
    // A non-root user has no capabilities left.
    EXPECT_EQ(cap_field(r.out, "CapEff"), 0u) << r;
}

TEST_F(Process, Umask) {
    Bundle b;
    b.config()["process"]["user"]["umask"] = 027;
    b.tmpfs("/tmp");
    b.script("umask; touch /tmp/f; stat -c %a /tmp/f");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"0027", "640"})) << r;
}

TEST_F(Process, Cwd) {
    Bundle b;
    b.config()["process"]["cwd"] = "/etc";
    b.script("pwd; readlink /proc/self/cwd; ls passwd");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"/etc", "/etc", "passwd"})) << r;
}

TEST_F(Process, Env) {
    setenv("HAKO_LEAK_CANARY", "leaked", 1);  // must not reach the container
    Bundle b;
    b.config()["process"]["env"] = {"PATH=/bin", "FOO=bar baz", "EMPTY=", "HOME=/root"};
    b.script("echo \"FOO=[$FOO]\"; echo ---; env");
    auto r = run(b);
    unsetenv("HAKO_LEAK_CANARY");
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out)[0], "FOO=[bar baz]") << r;
    EXPECT_TRUE(contains_line(r.out, "EMPTY=")) << r;
    EXPECT_TRUE(contains_line(r.out, "PATH=/bin")) << r;
    EXPECT_TRUE(contains_line(r.out, "HOME=/root")) << r;
    EXPECT_FALSE(contains(r.out, "HAKO_LEAK_CANARY")) << r;
}

TEST_F(Process, NoNewPrivileges) {
    for (bool nnp : {true, false}) {
        Bundle b;
        b.config()["process"]["noNewPrivileges"] = nnp;
        b.script("grep NoNewPrivs /proc/self/status");
        auto r = run(b);
        ASSERT_EQ(r.exit_code, 0) << r;
        EXPECT_EQ(words(r.out), (std::vector<std::string>{"NoNewPrivs:", nnp ? "1" : "0"})) << r;
    }
}

TEST_F(Process, OomScoreAdj) {
    std::string host_before = trim(read_file("/proc/self/oom_score_adj"));
    Bundle b;
    b.config()["process"]["oomScoreAdj"] = 300;
    b.script("cat /proc/self/oom_score_adj");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(r.out), "300") << r;
    EXPECT_EQ(trim(read_file("/proc/self/oom_score_adj")), host_before);
}

TEST_F(Process, Sysctl) {
    std::string host_before = read_file("/proc/sys/net/ipv4/ip_forward");
    Bundle b;
    b.config()["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shm_rmid_forced", "1"}};
    b.script("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"1", "1"})) << r;
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), host_before) << "the host's sysctl changed";
}

TEST_F(Process, PreserveFdsAndSocketActivation) {
    // fd 3: "listen" (LISTEN_FDS=1 for the runtime's own pid), fd 4: preserved.
    Bundle b({"sh", "-c", "ls /proc/$$/fd; echo LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID; cat <&3; cat <&4"});
    b.write();
    TempDir tmp("fds");
    write_file(tmp / "three", "from-fd-3\n");
    write_file(tmp / "four", "from-fd-4\n");
    int three = open((tmp / "three").c_str(), O_RDONLY | O_CLOEXEC);
    int four = open((tmp / "four").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(three, 0);
    ASSERT_GE(four, 0);
    SpawnOptions o;
    o.inherit_fds = {{three, 3}, {four, 4}};
    std::string id = rt.new_id("fds");
    auto r = run_command({"sh", "-c", "LISTEN_FDS=1 LISTEN_PID=$$ exec \"$0\" \"$@\"", rt.binary(), "--root",
                          rt.root(), "run", "--preserve-fds", "1", "--bundle", b.dir(), id},
                         o);
    close(three);
    close(four);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.out, "LISTEN_FDS=1 LISTEN_PID=1")) << r;
    EXPECT_TRUE(contains(r.out, "from-fd-3")) << r;
    EXPECT_TRUE(contains(r.out, "from-fd-4")) << r;
    auto fds = words(r.out.substr(0, r.out.find("LISTEN_FDS")));
    EXPECT_EQ(fds, (std::vector<std::string>{"0", "1", "2", "3", "4"})) << r;  // and nothing else
}

// No HOME in process.env: the user's home from the rootfs's /etc/passwd
// (runc's rule), "/" for a uid it lacks; a HOME given stays. exec too.
TEST_F(Process, HomeFromPasswd) {
    struct Case {
        int uid;
        std::vector<std::string> env;
        std::string want;
    };
    std::vector<Case> cases = {{0, {}, "/root"}, {1000, {}, "/tmp"}, {4242, {}, "/"}, {0, {"HOME=/given"}, "/given"}};
    for (const auto& c : cases) {
        Bundle b;
        b.config()["process"]["user"] = {{"uid", c.uid}, {"gid", c.uid}};
        for (const auto& e : c.env) b.config()["process"]["env"].push_back(e);
        b.script("echo $HOME");
        auto r = run(b);
        ASSERT_EQ(r.exit_code, 0) << r;
        EXPECT_EQ(trim(r.out), c.want) << "uid " << c.uid;
    }
    Bundle b({"sleep", "1000"});
    std::string id = rt.new_id("home");
    ASSERT_EQ(rt.run(b, id, {"-d"}).exit_code, 0);
    auto as_root = rt({"exec", id, "sh", "-c", "echo $HOME"});
    EXPECT_EQ(trim(as_root.out), "/root") << as_root;
    auto as_test = rt({"exec", "--user", "1000:1000", id, "sh", "-c", "echo $HOME"});
    EXPECT_EQ(trim(as_test.out), "/tmp") << as_test;
    auto given = rt({"exec", "--env", "HOME=/x", id, "sh", "-c", "echo $HOME"});
    EXPECT_EQ(trim(given.out), "/x") << given;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

// process.cwd that only root may enter (/root is 0700) works for another
// user: entered before the switch, as runc does.
TEST_F(Process, CwdOnlyRootMayEnter) {
    Bundle b;
    b.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    b.config()["process"]["cwd"] = "/root";
    b.script("pwd; id -u");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"/root", "1000"})) << r;
}

}  // namespace
}  // namespace hako::test
