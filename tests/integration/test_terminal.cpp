// Terminals: with --console-socket the runtime sends the pty master over the
// socket (SCM_RIGHTS), as Podman's conmon and containerd's shim expect; the
// process has the slave as its controlling terminal and stdio, sized by
// process.consoleSize.
#include <unistd.h>

#include "harness.hpp"

namespace hako::test {
namespace {

using Terminal = ContainerTest;

TEST_F(Terminal, ConsoleSocketGetsTheMaster) {
    Bundle b;
    b.config()["process"]["terminal"] = true;
    b.config()["process"]["consoleSize"] = {{"height", 33}, {"width", 111}};
    b.script("read line; tty; stty size; echo \"got $line\"; exit 4");
    UnixListener console(b.dir() + "/console.sock");
    std::string id = rt.new_id("tty");
    auto c = rt.create(b, id, {"--console-socket", console.path()});
    ASSERT_EQ(c.exit_code, 0) << c;
    int conn = console.accept(5s);
    ASSERT_GE(conn, 0);
    std::string name;
    int master = recv_fd(conn, &name, 5s);
    close(conn);
    ASSERT_GE(master, 0);
    EXPECT_TRUE(isatty(master));
    ASSERT_EQ(rt.start(id).exit_code, 0);
    ASSERT_EQ(write(master, "hello\n", 6), 6);
    std::string out = read_until(master, "got hello", 10s);
    close(master);
    EXPECT_TRUE(contains(out, "/dev/pts/0")) << out;  // the container's own devpts
    EXPECT_TRUE(contains(out, "33 111")) << out;      // consoleSize
    EXPECT_TRUE(contains(out, "got hello")) << out;   // stdin is the terminal too
    ASSERT_TRUE(rt.wait_status(id, "stopped"));
    EXPECT_EQ(rt.remove(id).exit_code, 0);
}

TEST_F(Terminal, ExecTtyWithConsoleSocket) {
    Bundle b({"sleep", "1000"});
    std::string id = rt.new_id("ttyexec");
    ASSERT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
    UnixListener console(b.dir() + "/exec.sock");
    auto e = rt({"exec", "--tty", "--detach", "--console-socket", console.path(), id, "sh", "-c",
                 "tty; echo $$ is-session-leader-$(cut -d' ' -f6 /proc/$$/stat) END"});
    ASSERT_EQ(e.exit_code, 0) << e;
    int conn = console.accept(5s);
    ASSERT_GE(conn, 0);
    int master = recv_fd(conn, nullptr, 5s);
    close(conn);
    ASSERT_GE(master, 0);
    std::string out = read_until(master, "END", 10s);
    close(master);
    EXPECT_TRUE(contains(out, "/dev/pts/")) << out;
    // The shell leads its session (setsid; the pty is its controlling terminal).
    auto ws = words(out.substr(out.rfind("/dev/pts/")));
    ASSERT_GE(ws.size(), 3u) << out;
    EXPECT_EQ(ws[2], "is-session-leader-" + ws[1]) << out;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

TEST_F(Terminal, ConsoleSocketAndTerminalMustAgree) {
    Bundle b({"true"});
    UnixListener console(b.dir() + "/c.sock");
    std::string id = rt.new_id("ttybad");
    auto c = rt.create(b, id, {"--console-socket", console.path()});  // terminal is false
    EXPECT_NE(c.exit_code, 0);
    EXPECT_TRUE(contains(c.err, "process.terminal")) << c;
    b.config()["process"]["terminal"] = true;
    auto d = rt.create(b, id);  // detached: where would the master go?
    EXPECT_NE(d.exit_code, 0);
    EXPECT_TRUE(contains(d.err, "--console-socket")) << d;
    EXPECT_TRUE(rt.list_ids().empty());
}

TEST_F(Terminal, ForegroundRunRelaysTheCallersTerminal) {
    // `script` gives the runtime a terminal of its own (as a person's shell would).
    if (!path_exists("/usr/bin/script")) GTEST_SKIP() << "no script(1) (util-linux)";
    Bundle b;
    b.config()["process"]["terminal"] = true;
    b.script("tty; echo one; echo two; exit 3");
    b.write();
    std::string id = rt.new_id("ttyfg");
    std::string cmd = rt.binary() + " --root " + rt.root() + " run --bundle " + b.dir() + " " + id;
    auto r = run_command({"script", "-qec", cmd, "/dev/null"});
    EXPECT_EQ(r.exit_code, 3) << r;  // the container's exit status, through the relay
    EXPECT_TRUE(contains(r.out, "/dev/pts/0")) << r;
    // One \r\n per line: our side is raw, only the container's pty adds \r.
    EXPECT_FALSE(contains(r.out, "\r\r\n")) << r;
    EXPECT_TRUE(rt.list_ids().empty());
}

// The pty's slave belongs to the process's uid and to the tty group (the
// devpts mount's gid=5), or to the process's gid without one: for the
// container's process and for exec --tty, as runc does.
TEST_F(Terminal, PtyOwnedByTheUserAndTheTtyGroup) {
    auto owner_of_tty = [&](Bundle& b, std::vector<std::string> extra_exec) {
        std::string id = rt.new_id("ttyown");
        UnixListener console(b.dir() + "/own-" + id + ".sock");
        if (extra_exec.empty()) {
            b.config()["process"]["terminal"] = true;
            b.script("stat -c 'owner %u %g' $(tty); echo END");
            EXPECT_EQ(rt.create(b, id, {"--console-socket", console.path()}).exit_code, 0);
        } else {
            b.args({"sleep", "1000"});
            EXPECT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
            std::vector<std::string> cmd = {"exec", "--tty", "--detach", "--console-socket", console.path()};
            cmd.insert(cmd.end(), extra_exec.begin(), extra_exec.end());
            for (const char* a : {"sh", "-c", "stat -c 'owner %u %g' $(tty); echo END"}) cmd.emplace_back(a);
            cmd.insert(cmd.end() - 3, id);
            auto e = rt(cmd);
            EXPECT_EQ(e.exit_code, 0) << e;
        }
        int conn = console.accept(5s);
        if (conn < 0) return std::string("no console");
        int master = recv_fd(conn, nullptr, 5s);
        close(conn);
        if (extra_exec.empty()) (void)rt.start(id);
        std::string out = read_until(master, "END", 10s);
        close(master);
        (void)rt.remove(id, true);
        auto at = out.find("owner ");
        return at == std::string::npos ? out : trim(out.substr(at + 6, out.find('\n', at) - at - 6));
    };
    Bundle run_as;
    run_as.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    EXPECT_EQ(owner_of_tty(run_as, {}), "1000 5");
    Bundle exec_as;
    EXPECT_EQ(owner_of_tty(exec_as, {"--user", "1000:1001"}), "1000 5");
    Bundle no_gid;
    for (auto& m : no_gid.config()["mounts"])
        if (m["type"] == "devpts") {
            json opts = json::array();
            for (auto& o : m["options"])
                if (o != "gid=5") opts.push_back(o);
            m["options"] = opts;
        }
    no_gid.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    EXPECT_EQ(owner_of_tty(no_gid, {}), "1000 1000");
}

}  // namespace
}  // namespace hako::test
