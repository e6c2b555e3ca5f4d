// Seccomp: linux.seccomp through libseccomp: errno (with argument
// conditions), kill, and notify (the listener fd and the state go to the
// agent at listenerPath, which answers the container's syscalls).
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "harness.hpp"

namespace hako::test {
namespace {

using Seccomp = ContainerTest;

json rule(std::vector<std::string> names, const std::string& action) {
    return {{"names", names}, {"action", action}};
}

TEST_F(Seccomp, ErrnoWithArgumentConditions) {
    Bundle b;
    json& sc = b.config()["linux"]["seccomp"];
    sc = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {"SCMP_ARCH_X86_64"}}};
    json mkdir = rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO");
    mkdir["errnoRet"] = 13;  // EACCES
    // kill(pid, SIGUSR1) refused; kill(pid, 0) allowed.
    json kill = rule({"kill"}, "SCMP_ACT_ERRNO");
    kill["args"] = {{{"index", 1}, {"value", 10}, {"op", "SCMP_CMP_EQ"}}};
    sc["syscalls"] = {mkdir, kill};
    b.script("mkdir /tmp/x; kill -0 $$ && echo signal-0-ok; kill -USR1 $$ || echo usr1-refused");
    auto r = run(b);
    EXPECT_TRUE(contains(r.err, "Permission denied")) << r;  // EACCES from errnoRet
    EXPECT_TRUE(contains(r.out, "signal-0-ok")) << r;
    EXPECT_TRUE(contains(r.out, "usr1-refused")) << r;
}

TEST_F(Seccomp, DefaultErrnoRet) {
    Bundle b({"sh", "-c", "mkdir /tmp/x"});
    json& sc = b.config()["linux"]["seccomp"];
    sc = {{"defaultAction", "SCMP_ACT_ALLOW"}};
    json r1 = rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO");  // no errnoRet: EPERM
    sc["syscalls"] = json::array({r1});
    auto r = run(b);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.err, "Operation not permitted")) << r;
}

TEST_F(Seccomp, KillProcess) {
    Bundle b({"mkdir", "/tmp/x"});
    json& sc = b.config()["linux"]["seccomp"];
    sc = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", json::array({rule({"mkdir", "mkdirat"}, "SCMP_ACT_KILL_PROCESS")})}};
    auto r = run(b);
    EXPECT_EQ(r.exit_code, 128 + SIGSYS) << r;
}

TEST_F(Seccomp, AFilterIsCompiledOnceAndCached) {
    // The same profile twice: the second start finds its BPF in the cache.
    Bundle b({"sh", "-c", "mkdir /tmp/x"});
    json& sc = b.config()["linux"]["seccomp"];
    json r1 = rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO");
    r1["errnoRet"] = 28;  // ENOSPC: a profile no other test uses
    sc = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", {r1}}};
    for (int i = 0; i < 2; ++i) {
        auto r = run(b);
        EXPECT_TRUE(contains(r.err, "No space left on device")) << r;
    }
}

TEST_F(Seccomp, NotifySendsTheListenerToTheAgent) {
    Bundle b({"sh", "-c", "mkdir /tmp/x && test ! -d /tmp/x && echo faked-by-agent"});
    std::string sock = b.dir() + "/agent.sock";
    json& sc = b.config()["linux"]["seccomp"];
    sc = {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"listenerPath", sock},
          {"listenerMetadata", "hello-agent"},
          {"syscalls", json::array({rule({"mkdir", "mkdirat"}, "SCMP_ACT_NOTIFY")})}};
    b.writable_rootfs();
    b.write();
    UnixListener agent(sock);
    std::string id = rt.new_id("notify");
    auto child = rt.spawn({"run", "--bundle", b.dir(), id});

    int conn = agent.accept(10s);
    ASSERT_GE(conn, 0);
    std::string text;
    int listener = recv_fd(conn, &text, 5s);
    close(conn);
    ASSERT_GE(listener, 0) << text;
    auto st = json::parse(text, nullptr, false);
    ASSERT_FALSE(st.is_discarded()) << text;
    EXPECT_EQ(st["fds"], json({"seccompFd"}));
    EXPECT_EQ(st.value("metadata", ""), "hello-agent");
    EXPECT_GT(st.value("pid", 0), 0);
    EXPECT_EQ(st["state"].value("id", ""), id);
    EXPECT_EQ(st["state"].value("bundle", ""), b.dir());

    // Answer each mkdir with success, without making the directory.
    bool answered = false;
    for (;;) {
        pollfd p{listener, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0 || !(p.revents & POLLIN)) break;
        seccomp_notif req{};
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) break;
        seccomp_notif_resp resp{};
        resp.id = req.id;
        resp.val = 0;
        resp.error = 0;
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0) answered = true;
    }
    close(listener);
    auto r = child->wait();
    EXPECT_TRUE(answered);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.out, "faked-by-agent")) << r;
}

TEST_F(Seccomp, NotifyWithoutAListenerPathIsAnError) {
    Bundle b({"true"});
    b.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                      {"syscalls", json::array({rule({"mkdir"}, "SCMP_ACT_NOTIFY")})}};
    auto r = run(b);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.err, "linux.seccomp.listenerPath")) << r;
}

TEST_F(Seccomp, ExecTakesTheFilter) {
    Bundle b({"sleep", "1000"});
    json r1 = rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO");
    r1["errnoRet"] = 13;
    b.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", {r1}}};
    std::string id = rt.new_id("seccompexec");
    ASSERT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
    auto e = rt({"exec", id, "mkdir", "/tmp/y"});
    EXPECT_NE(e.exit_code, 0);
    EXPECT_TRUE(contains(e.err, "Permission denied")) << e;
    auto s = rt({"exec", id, "sh", "-c", "grep Seccomp: /proc/self/status"});
    EXPECT_TRUE(contains(s.out, "2")) << s;  // SECCOMP_MODE_FILTER
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

// A syscall newer than every syscall the profile names gets ENOSYS, not the
// default errno (runc's and crun's stub): glibc then falls back (clone3 ->
// clone). One the profile leaves out but older than its newest still gets
// the default action.
TEST_F(Seccomp, SyscallsNewerThanTheProfileGetEnosys) {
#if defined(__x86_64__)
    if (!path_exists(test_helper())) GTEST_SKIP() << "no test helper `" << test_helper() << "`";
    Bundle b({"/bin/test-helper", "syscall", "39", "102", "435"});  // getpid, getuid, clone3
    std::string rootfs = b.private_rootfs();
    write_file(rootfs + "/bin/test-helper", read_file(test_helper()), 0755);
    std::vector<std::string> names;
    for (int nr = 0; nr <= 334; ++nr) {  // up to rseq; all but getpid
        if (nr == 39) continue;
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
        if (name) names.emplace_back(name);
        free(name);
    }
    json& sc = b.config()["linux"]["seccomp"];
    sc = {{"defaultAction", "SCMP_ACT_ERRNO"}, {"architectures", {"SCMP_ARCH_X86_64"}},
          {"syscalls", json::array({rule(names, "SCMP_ACT_ALLOW")})}};
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"errno 1", "ok", "errno 38"})) << r;
#else
    GTEST_SKIP() << "x86_64 syscall numbers";
#endif
}

// runc's rules and wording around SCMP_ACT_NOTIFY: a listenerPath without a
// NOTIFY rule is accepted; a NOTIFY whose agent is not there fails with
// "failed to connect with seccomp agent"; NOTIFY on write is refused up front.
TEST_F(Seccomp, NotifyRulesAsRunc) {
    Bundle unused({"true"});
    unused.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                           {"listenerPath", unused.dir() + "/agent.sock"},
                                           {"syscalls", json::array({rule({"mkdir"}, "SCMP_ACT_ERRNO")})}};
    auto ok = run(unused);
    EXPECT_EQ(ok.exit_code, 0) << ok;

    Bundle missing({"true"});
    missing.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                            {"listenerPath", missing.dir() + "/no-agent.sock"},
                                            {"syscalls", json::array({rule({"mkdir"}, "SCMP_ACT_NOTIFY")})}};
    auto m = run(missing);
    EXPECT_NE(m.exit_code, 0);
    EXPECT_TRUE(contains(m.err, "failed to connect with seccomp agent")) << m;
    EXPECT_TRUE(rt.list_ids().empty());

    Bundle write({"true"});
    write.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                          {"listenerPath", write.dir() + "/agent.sock"},
                                          {"syscalls", json::array({rule({"write", "mkdir"}, "SCMP_ACT_NOTIFY")})}};
    auto w = run(write);
    EXPECT_NE(w.exit_code, 0);
    EXPECT_TRUE(contains(w.err, "SCMP_ACT_NOTIFY cannot be used for the write syscall")) << w;
}

// startContainer hooks run with the filter applied: a hook's mkdir under a
// KILL rule fails the start, as in runc.
TEST_F(Seccomp, StartContainerHooksRunUnderTheFilter) {
    Bundle b({"true"});
    std::string rootfs = b.writable_rootfs();  // (so that only the filter can stop the mkdir)
    b.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                      {"syscalls", json::array({rule({"mkdir", "mkdirat"}, "SCMP_ACT_KILL")})}};
    b.config()["hooks"]["startContainer"] = {{{"path", "/bin/mkdir"}, {"args", {"mkdir", "/tmp/hook-dir"}}}};
    std::string id = rt.new_id("schook");
    ASSERT_EQ(rt.create(b, id).exit_code, 0);
    (void)rt.start(id);
    ASSERT_TRUE(rt.wait_status(id, "stopped", 10s));
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
    EXPECT_FALSE(path_exists(rootfs + "/tmp/hook-dir")) << "the hook ran without the filter";
}

}  // namespace
}  // namespace hako::test
