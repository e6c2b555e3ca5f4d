// The daily CLI, as a user types it: create/start/restart/rename/wait,
// restart policies, healthchecks, named volumes, cp, attach and detach keys,
// --format/--filter, docker's inspect, unknown commands and flags.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "hako_fixture.hpp"

namespace hako::test {
namespace {

using json = nlohmann::json;

class Daily : public Hako {
protected:
    std::string out(std::vector<std::string> args) {
        auto r = (*this)(args);
        EXPECT_EQ(r.exit_code, 0) << r;
        return trim(r.out);
    }
    std::string fmt(const std::string& ref, const std::string& tmpl) { return out({"inspect", "-f", tmpl, ref}); }
};

TEST_F(Daily, CreateStartRenameRestartStopWait) {
    auto id = out({"create", "--name", "c1", "busybox", "sh", "-c", "echo started; sleep 600"});
    EXPECT_EQ(id.size(), 64u) << id;
    EXPECT_EQ(fmt("c1", "{{.State.Status}}"), "created");
    EXPECT_TRUE(contains(out({"ps", "-a"}), "Created"));
    EXPECT_EQ(out({"start", "c1"}), "c1");
    EXPECT_EQ(fmt("c1", "{{.State.Status}} {{.State.Running}} {{.Name}}"), "running true /c1");
    ASSERT_TRUE(wait_until([&] { return contains((*this)({"logs", "c1"}).out, "started"); }, 5s));
    EXPECT_EQ((*this)({"rename", "c1", "c2"}).exit_code, 0);
    EXPECT_EQ(fmt("c2", "{{.Name}}"), "/c2");
    EXPECT_EQ((*this)({"inspect", "c1"}).exit_code, 125);
    std::string pid = fmt("c2", "{{.State.Pid}}");
    EXPECT_EQ(out({"restart", "-t", "1", "c2"}), "c2");
    EXPECT_EQ(fmt("c2", "{{.State.Status}}"), "running");
    EXPECT_NE(fmt("c2", "{{.State.Pid}}"), pid);
    // sh ignores SIGTERM as PID 1: killed after -t
    auto stop = (*this)({"stop", "-t", "1", "c2"});
    EXPECT_EQ(stop.exit_code, 0) << stop;
    EXPECT_EQ(out({"wait", "c2"}), "137");
    EXPECT_EQ(fmt("c2", "{{.State.Status}} {{.State.ExitCode}}"), "exited 137");
    // a second rename onto a taken name fails
    out({"create", "--name", "other", "busybox", "true"});
    auto taken = (*this)({"rename", "c2", "other"});
    EXPECT_EQ(taken.exit_code, 125);
    EXPECT_TRUE(contains(taken.err, "is in use")) << taken;
    EXPECT_EQ((*this)({"rm", "c2", "other"}).exit_code, 0);
    // start -a: attached from the first line, its exit code
    out({"create", "--name", "sa", "busybox", "sh", "-c", "echo from-start; exit 6"});
    auto sa = (*this)({"start", "-a", "sa"});
    EXPECT_EQ(sa.exit_code, 6) << sa;
    EXPECT_EQ(sa.out, "from-start\n") << sa;
}

TEST_F(Daily, StopSignalAndTimeout) {
    out({"run", "-d", "--name", "s", "--stop-signal", "USR1", "busybox", "sh", "-c",
         "trap 'exit 7' USR1; while :; do sleep 0.1; done"});
    EXPECT_EQ(fmt("s", "{{.Config.StopSignal}}"), "USR1");
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(out({"stop", "s"}), "s");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_EQ(fmt("s", "{{.State.ExitCode}}"), "7");
}

TEST_F(Daily, OnFailureRestartsTwiceThenGivesUp) {
    out({"run", "-d", "--name", "f", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 3"});
    ASSERT_TRUE(wait_until([&] { return fmt("f", "{{.State.Status}} {{.RestartCount}}") == "exited 2"; }, 20s))
        << fmt("f", "{{json .State}} {{.RestartCount}}");
    EXPECT_EQ(fmt("f", "{{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}"),
              "3 on-failure 2");
    auto logs = (*this)({"logs", "f"});
    EXPECT_EQ(lines(logs.out), (std::vector<std::string>{"run", "run", "run"})) << logs;
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(fmt("f", "{{.RestartCount}}"), "2");  // and no more
    // in the foreground: attached before the first start, through every run
    auto fg = (*this)({"run", "--name", "fg", "--restart", "on-failure:1", "busybox", "sh", "-c", "echo hi; exit 3"});
    EXPECT_EQ(fg.exit_code, 3) << fg;
    EXPECT_EQ(lines(fg.out), (std::vector<std::string>{"hi", "hi"})) << fg;
    EXPECT_EQ(fmt("fg", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}"), "exited 1 3");
}

TEST_F(Daily, AlwaysBringsBackAnInitKilledFromTheHost) {
    out({"run", "-d", "--name", "a", "--restart", "always", "busybox", "sleep", "600"});
    pid_t pid = std::stoi(fmt("a", "{{.State.Pid}}"));
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] {
        auto s = fmt("a", "{{.State.Status}} {{.RestartCount}}");
        return s == "running 1";
    }, 10s)) << fmt("a", "{{json .State}}");
    EXPECT_NE(std::stoi(fmt("a", "{{.State.Pid}}")), pid);
    EXPECT_TRUE(contains(out({"ps"}), "Up")) << out({"ps"});
    // stop ends it for good
    EXPECT_EQ((*this)({"stop", "-t", "1", "a"}).exit_code, 0);
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(fmt("a", "{{.State.Status}}"), "exited");
    auto bad = (*this)({"run", "--rm", "--restart", "always", "busybox", "true"});
    EXPECT_EQ(bad.exit_code, 125);
    EXPECT_TRUE(contains(bad.err, "--rm conflicts with --restart")) << bad;
    auto worse = (*this)({"run", "--restart", "sometimes", "busybox", "true"});
    EXPECT_TRUE(contains(worse.err, "--restart `sometimes`")) << worse;
}

TEST_F(Daily, AHealthcheckTurnsUnhealthy) {
    out({"run", "-d", "--name", "h", "--health-cmd", "test -e /tmp/ok", "--health-interval", "200ms", "--health-retries",
         "2", "busybox", "sh", "-c", "touch /tmp/ok; sleep 600"});
    ASSERT_TRUE(wait_until([&] { return fmt("h", "{{.State.Health.Status}}") == "healthy"; }, 10s))
        << fmt("h", "{{json .State}}");
    EXPECT_TRUE(contains(out({"ps"}), "(healthy)"));
    EXPECT_EQ((*this)({"exec", "h", "rm", "/tmp/ok"}).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return fmt("h", "{{.State.Health.Status}}") == "unhealthy"; }, 10s))
        << fmt("h", "{{json .State.Health}}");
    EXPECT_TRUE(contains(out({"ps", "--filter", "name=h"}), "(unhealthy)"));
    auto health = json::parse(fmt("h", "{{json .State.Health}}"));
    EXPECT_GE(health["FailingStreak"].get<int>(), 2) << health;
    EXPECT_EQ(health["Log"].back()["ExitCode"], 1) << health;
    EXPECT_EQ(fmt("h", "{{index .Config.Healthcheck.Test 1}}"), "test -e /tmp/ok");
    auto bad = (*this)({"run", "--rm", "--health-interval", "soon", "--health-cmd", "true", "busybox", "true"});
    EXPECT_TRUE(contains(bad.err, "--health-interval: invalid duration `soon`")) << bad;
}

TEST_F(Daily, ANamedVolumeOutlivesTwoContainersFilledFromTheImage) {
    // a new volume at /etc is filled with the image's /etc
    auto first = (*this)({"run", "--rm", "-v", "data:/etc", "busybox", "sh", "-c", "cat /etc/passwd | head -1; echo x > /etc/marker"});
    ASSERT_EQ(first.exit_code, 0) << first;
    EXPECT_TRUE(contains(first.out, "root:")) << first;
    auto second = (*this)({"run", "--rm", "-v", "data:/etc:ro", "busybox", "sh", "-c", "cat /etc/marker; touch /etc/y"});
    EXPECT_EQ(trim(second.out), "x") << second;
    EXPECT_TRUE(contains(second.err, "Read-only file system")) << second;
    EXPECT_EQ(out({"volume", "ls", "-q"}), "data");
    std::string mp = out({"volume", "inspect", "-f", "{{.Mountpoint}}", "data"});
    EXPECT_EQ(read_file(mp + "/marker"), "x\n");
    // in use: rm refuses; then it goes
    out({"create", "--name", "user", "-v", "data:/d", "busybox", "true"});
    auto busy = (*this)({"volume", "rm", "data"});
    EXPECT_EQ(busy.exit_code, 125);
    EXPECT_TRUE(contains(busy.err, "in use by container(s) user")) << busy;
    EXPECT_EQ((*this)({"rm", "user"}).exit_code, 0);
    EXPECT_EQ(out({"volume", "rm", "data"}), "data");
    // anonymous volumes: -v /path, removed with rm -v
    out({"run", "--name", "anon", "-v", "/scratch", "busybox", "sh", "-c", "echo a > /scratch/f"});
    auto anon = fmt("anon", "{{range .Mounts}}{{.Name}}{{end}}");
    EXPECT_EQ(anon.size(), 64u) << anon;
    EXPECT_EQ(out({"volume", "ls", "-q"}), anon);
    EXPECT_EQ((*this)({"rm", "-v", "anon"}).exit_code, 0);
    EXPECT_EQ(out({"volume", "ls", "-q"}), "");
    // --mount and tmpfs volumes
    out({"volume", "create", "--label", "team=a", "--opt", "type=tmpfs", "--opt", "o=size=1m", "fast"});
    auto t = (*this)({"run", "--rm", "--mount", "type=volume,src=fast,dst=/fast", "busybox", "sh", "-c", "grep ' /fast ' /proc/mounts"});
    EXPECT_TRUE(contains(t.out, "tmpfs")) << t;
    EXPECT_EQ(out({"volume", "ls", "-q", "--filter", "label=team=a"}), "fast");
    // the journal: `events` up to now, filtered and formatted
    auto ev = out({"events", "--since", "1m", "--until", "0s", "--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}}"});
    EXPECT_TRUE(contains(ev, "create fast")) << ev;
    EXPECT_TRUE(contains(ev, "destroy data")) << ev;
    auto cev = out({"events", "--until", "0s", "--filter", "event=destroy", "--filter", "type=container", "--format", "{{.Actor.Attributes.name}}"});
    EXPECT_TRUE(contains(cev, "user")) << cev;
    EXPECT_EQ(out({"volume", "prune", "-a"}).find("fast") != std::string::npos, true);
    auto bad = (*this)({"volume", "create", "--opt", "color=red", "v2"});
    EXPECT_TRUE(contains(bad.err, "--opt `color`")) << bad;
}

TEST_F(Daily, CpStaysInsideTheContainer) {
    TempDir host("cp-host"), src("cp-src");
    write_file(host / "secret", "host secret\n");
    write_file(src / "in.txt", "into the container\n");
    // (the container has a directory of the host dir's name too: the link resolves there)
    out({"run", "-d", "--name", "c", "busybox", "sh", "-c",
         "ln -s " + host.path() + "/secret /evil; mkdir /d; echo hi > /d/f; ln -s " + host.path() + " /outdir; mkdir -p " +
             host.path() + "; sleep 600"});
    ASSERT_TRUE(wait_until([&] { return (*this)({"exec", "c", "test", "-L", "/outdir"}).ok(); }, 5s));
    // out: the link itself, never the host file it names
    TempDir dst("cp-dst");
    EXPECT_EQ((*this)({"cp", "c:/evil", dst / "evil"}).exit_code, 0);
    struct stat st{};
    ASSERT_EQ(lstat((dst / "evil").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    auto follow = (*this)({"cp", "-L", "c:/evil", dst / "followed"});
    EXPECT_NE(follow.exit_code, 0) << follow;  // the target is not in the container
    EXPECT_FALSE(path_exists(dst / "followed"));
    // in: through a container symlink to a host path: lands inside the container
    auto in = (*this)({"cp", src / "in.txt", "c:/outdir/"});
    EXPECT_EQ(in.exit_code, 0) << in;
    EXPECT_FALSE(path_exists(host / "in.txt"));
    EXPECT_EQ(read_file(host / "secret"), "host secret\n");
    auto inside = (*this)({"exec", "c", "sh", "-c", "cat " + host.path() + "/in.txt"});
    EXPECT_EQ(inside.out, "into the container\n") << inside;
    // a directory out, and on a stopped container
    EXPECT_EQ((*this)({"cp", "c:/d", dst / "d"}).exit_code, 0);
    EXPECT_EQ(read_file(dst / "d/f"), "hi\n");
    EXPECT_EQ((*this)({"stop", "-t", "0", "c"}).exit_code, 0);
    EXPECT_EQ((*this)({"cp", src / "in.txt", "c:/d/g"}).exit_code, 0);
    EXPECT_EQ((*this)({"cp", "c:/d/g", dst / "g"}).exit_code, 0);
    EXPECT_EQ(read_file(dst / "g"), "into the container\n");
    // diff of the upper dir
    auto diff = out({"diff", "c"});
    EXPECT_TRUE(contains(diff, "A /evil")) << diff;
    EXPECT_TRUE(contains(diff, "A /d/g")) << diff;
}

// A pty for the attach client: the test types into the master.
struct Pty {
    int master = -1;
    pid_t child = -1;
    std::string seen;
    Pty(const std::vector<std::string>& argv) {
        int slave = -1;
        EXPECT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
        child = fork();
        if (child == 0) {
            setsid();
            ioctl(slave, TIOCSCTTY, 0);
            dup2(slave, 0);
            dup2(slave, 1);
            dup2(slave, 2);
            std::vector<char*> a;
            for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
            a.push_back(nullptr);
            execv(a[0], a.data());
            _exit(127);
        }
        close(slave);
    }
    void type(const std::string& s) { EXPECT_EQ(write(master, s.data(), s.size()), ssize_t(s.size())); }
    bool read_until(const std::string& want, std::chrono::milliseconds t) {
        auto end = std::chrono::steady_clock::now() + t;
        while (std::chrono::steady_clock::now() < end) {
            if (seen.find(want) != std::string::npos) return true;
            pollfd p{master, POLLIN, 0};
            if (poll(&p, 1, 100) > 0) {
                char buf[4096];
                ssize_t n = read(master, buf, sizeof buf);
                if (n > 0) seen.append(buf, size_t(n));
            }
        }
        return seen.find(want) != std::string::npos;
    }
    int wait(std::chrono::milliseconds t) {
        auto end = std::chrono::steady_clock::now() + t;
        while (std::chrono::steady_clock::now() < end) {
            int st = 0;
            if (waitpid(child, &st, WNOHANG) == child) {
                child = -1;
                return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            read_until("\x01never", 50ms);
        }
        return -1;
    }
    ~Pty() {
        if (child > 0) {
            ::kill(child, SIGKILL);
            waitpid(child, nullptr, 0);
        }
        if (master >= 0) close(master);
    }
};

TEST_F(Daily, AttachAndDetachKeysUnderAPty) {
    out({"run", "-d", "-t", "-i", "--name", "t", "busybox", "sh"});
    {
        Pty p({hako_binary(), "--root", store.path(), "attach", "t"});
        p.type("echo hello-$((40+2))\r");
        ASSERT_TRUE(p.read_until("hello-42", 10s)) << p.seen;
        p.type("\x10\x11");  // ctrl-p ctrl-q
        EXPECT_EQ(p.wait(5s), 0) << p.seen;
    }
    EXPECT_EQ(fmt("t", "{{.State.Status}}"), "running");
    {
        // custom keys, then `exit` ends the container and attach returns its code
        Pty p({hako_binary(), "--root", store.path(), "attach", "--detach-keys", "ctrl-x", "t"});
        p.type("exit 5\r");
        EXPECT_EQ(p.wait(10s), 5) << p.seen;
    }
    EXPECT_EQ(fmt("t", "{{.State.Status}} {{.State.ExitCode}}"), "exited 5");
    EXPECT_TRUE(contains(out({"logs", "t"}), "hello-42"));
    auto bad = (*this)({"run", "-d", "--detach-keys", "ctrl-1", "busybox", "true"});
    EXPECT_TRUE(contains(bad.err, "--detach-keys `ctrl-1`")) << bad;
}

TEST_F(Daily, FormatsAndFilters) {
    out({"run", "-d", "--name", "web", "--label", "tier=front", "busybox", "sleep", "600"});
    EXPECT_EQ((*this)({"run", "--name", "done", "busybox", "sh", "-c", "exit 4"}).exit_code, 4);
    EXPECT_EQ(out({"ps", "--format", "{{.Names}}"}), "web");
    EXPECT_EQ(out({"ps", "-a", "--filter", "exited=4", "--format", "{{.Names}} {{.State}}"}), "done exited");
    EXPECT_EQ(out({"ps", "-a", "--filter", "label=tier=front", "--format", "{{.Names}}"}), "web");
    EXPECT_EQ(out({"ps", "-a", "--filter", "status=running", "-q"}).size(), 12u);
    EXPECT_EQ(out({"ps", "-a", "-n", "1", "--format", "{{.Names}}"}), "done");
    auto table = lines(out({"ps", "--format", "table {{.Names}}\t{{.Image}}"}));
    ASSERT_EQ(table.size(), 2u);
    EXPECT_TRUE(table[0].rfind("NAMES", 0) == 0) << table[0];
    EXPECT_TRUE(contains(table[0], "IMAGE")) << table[0];
    EXPECT_EQ(fmt("web", "{{index .Config.Labels \"tier\"}} {{.HostConfig.AutoRemove}} {{json .Config.Cmd}}"),
              "front false [\"sleep\",\"600\"]");
    EXPECT_EQ(fmt("web", "{{join .Config.Cmd \",\"}}"), "sleep,600");
    auto unknown = (*this)({"inspect", "-f", "{{.Nope}}", "web"});
    EXPECT_EQ(unknown.exit_code, 125);
    EXPECT_TRUE(contains(unknown.err, "Nope")) << unknown;
    auto filter = (*this)({"ps", "--filter", "color=red"});
    EXPECT_EQ(filter.exit_code, 125);
    EXPECT_TRUE(contains(filter.err, "unknown filter `color`")) << filter;
    EXPECT_EQ(out({"images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=busybox"}), "busybox:latest");
    EXPECT_EQ(out({"inspect", "--type", "image", "-f", "{{.Os}}", "busybox"}), "linux");
    EXPECT_EQ(out({"version", "--format", "{{.Client.Version}}"}), HAKO_VERSION);
    auto info = out({"info", "--format", "{{.CgroupVersion}}"});
    EXPECT_TRUE(info == "1" || info == "2") << info;
    EXPECT_TRUE(contains(out({"top", "web"}), "sleep 600"));
    EXPECT_EQ((*this)({"container", "exists", "web"}).exit_code, 0);
    EXPECT_EQ((*this)({"container", "exists", "nope"}).exit_code, 1);
    EXPECT_EQ((*this)({"image", "exists", "busybox"}).exit_code, 0);
    auto prune = out({"container", "prune", "-f"});
    EXPECT_FALSE(contains(out({"ps", "-a"}), "done")) << prune;
}

TEST_F(Daily, UnknownCommandsAndFlagsAreNamed) {
    auto cmd = (*this)({"pul", "busybox"});
    EXPECT_EQ(cmd.exit_code, 125);
    EXPECT_TRUE(contains(cmd.err, "unknown command `pul`")) << cmd;
    EXPECT_TRUE(contains(cmd.err, "pull")) << cmd;
    auto flag = (*this)({"ps", "--al"});
    EXPECT_EQ(flag.exit_code, 125);
    EXPECT_TRUE(contains(flag.err, "unknown flag `--al`")) << flag;
    EXPECT_TRUE(contains(flag.err, "--all")) << flag;
    auto help = (*this)({"start", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_TRUE(contains(help.out, "--attach")) << help;
}

TEST_F(Daily, LogsTimestampsSinceAndTail) {
    out({"run", "--name", "l", "busybox", "sh", "-c", "echo one; echo two >&2; sleep 0.2; echo three"});  // (two pipes: their order only as time tells)
    EXPECT_EQ(out({"logs", "-n", "1", "l"}), "three");
    auto t = out({"logs", "-t", "l"});
    EXPECT_TRUE(t.rfind("20", 0) == 0 && contains(t, "Z one")) << t;
    auto err = (*this)({"logs", "l"});
    EXPECT_EQ(err.err, "two\n") << err;
    EXPECT_EQ(out({"logs", "--since", "1m", "l"}), "one\nthree");
    EXPECT_EQ(out({"logs", "--until", "1h", "l"}), "");
}

// The devices cgroup keeps CAP_MKNOD from reading host devices: a node of
// /dev/mem made in the container cannot be opened.
TEST_F(Daily, MknodOfAHostDeviceCannotBeOpened) {
    auto r = (*this)({"run", "--rm", "busybox", "sh", "-c", "mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem >/dev/null && echo opened"});
    EXPECT_FALSE(contains(r.out, "opened")) << r;
    EXPECT_TRUE(contains(r.err, "Operation not permitted")) << r;
    auto priv = (*this)({"run", "--rm", "--device", "/dev/full:/dev/myfull", "busybox", "sh", "-c", "head -c 1 /dev/myfull | od -An -c"});
    EXPECT_EQ(priv.exit_code, 0) << priv;
}

}  // namespace
}  // namespace hako::test
