// `hako`, as a user types it: images in, containers out, copy-on-write,
// limits, volumes, the detached life cycle, and nothing left behind.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <thread>

#include "hako_fixture.hpp"

namespace hako::test {
namespace {

// A gzip tarball of the busybox fixture, as the seed's rootfs.tar.gz.
std::string seed_tarball(const TempDir& dir) {
    std::string tgz = dir / "rootfs.tar.gz";
    // (tar and gzip apart: busybox's tar, in the cgroup v2 VM, may lack -z)
    auto r = run_command({"sh", "-c", "tar -C '" + fixture_rootfs() + "' -cf - . | gzip -c > '" + tgz + "'"});
    EXPECT_EQ(r.exit_code, 0) << r;
    return tgz;
}

TEST_F(Hako, ImportTheSeedTarballAndRunAShell) {
    TempDir tmp("seed");
    auto i = (*this)({"import", seed_tarball(tmp), "seed:1"});
    ASSERT_EQ(i.exit_code, 0) << i;
    EXPECT_TRUE(contains(i.out, "sha256:")) << i;
    auto imgs = (*this)({"images"});
    EXPECT_TRUE(contains(imgs.out, "seed")) << imgs;
    // The same tree uncompressed: the same layer (named by its uncompressed
    // digest), unpacked once and shared.
    std::string plain = tmp / "rootfs.tar";
    ASSERT_EQ(run_command({"sh", "-c", "gzip -dc " + tmp.path() + "/rootfs.tar.gz > " + plain}).exit_code, 0);
    ASSERT_EQ((*this)({"import", plain, "seed-plain:1"}).exit_code, 0);
    auto layers = run_command({"sh", "-c", "ls " + store.path() + "/layers | wc -l"});
    EXPECT_EQ(trim(layers.out), "1") << layers;
    auto r = (*this)({"run", "--rm", "seed:1", "sh", "-c", "echo hello from $(hostname); ls /bin/busybox"});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.out, "hello from")) << r;
    EXPECT_TRUE(contains(r.out, "/bin/busybox")) << r;
}

// gzip as registries and tools write it: several members in one stream (the
// same layer as one member), and a stream whose CRC is wrong (refused,
// nothing kept). (The fast inflater, ISA-L's igzip, handles these itself.)
TEST_F(Hako, GzipMembersAndACorruptCrc) {
    TempDir tmp("gz");
    std::string one = seed_tarball(tmp);
    std::string tar = tmp / "rootfs.tar", two = tmp / "two.tar.gz", bad = tmp / "bad.tar.gz";
    ASSERT_TRUE(run_command({"sh", "-c", "gzip -dc " + one + " > " + tar}).ok());
    ASSERT_TRUE(run_command({"sh", "-c", "head -c 100000 " + tar + " | gzip > " + two + " && tail -c +100001 " + tar +
                                             " | gzip >> " + two}).ok());
    auto a = (*this)({"import", one, "one:1"});
    auto b = (*this)({"import", two, "two:1"});
    ASSERT_TRUE(a.ok() && b.ok()) << a << b;
    EXPECT_EQ(trim(run_command({"sh", "-c", "ls " + store.path() + "/layers | grep -v '^\\.' | wc -l"}).out), "1");
    auto r = (*this)({"run", "--rm", "--network", "none", "two:1", "ls", "/bin/busybox"});
    EXPECT_TRUE(r.ok()) << r;
    // The CRC (the trailer's first 4 bytes) flipped.
    ASSERT_TRUE(run_command({"sh", "-c", "cp " + one + " " + bad + " && size=$(stat -c %s " + bad +
                                             ") && printf '\\377\\377\\377\\377' | dd of=" + bad +
                                             " bs=1 seek=$((size-8)) conv=notrunc status=none"}).ok());
    auto c = (*this)({"import", bad, "bad:1"});
    EXPECT_EQ(c.exit_code, 125) << c;
    EXPECT_TRUE(contains(c.err, "CRC") || contains(c.err, "crc")) << c;
    EXPECT_FALSE(contains((*this)({"images"}).out, "bad")) << "a corrupt import is listed";
}

TEST_F(Hako, BuiltinBusyboxAndExitCodes) {
    auto r = (*this)({"run", "--rm", "busybox", "sh", "-c", "exit 7"});
    EXPECT_EQ(r.exit_code, 7) << r;
    auto nf = (*this)({"run", "--rm", "busybox", "no-such-command"});
    EXPECT_EQ(nf.exit_code, 127) << nf;
    auto ni = (*this)({"run", "--rm", "--pull=never", "no-such-image:1", "true"});
    EXPECT_EQ(ni.exit_code, 125) << ni;
    EXPECT_TRUE(contains(ni.err, "no such image `no-such-image:1`")) << ni;
    auto bf = (*this)({"run", "--no-such-flag", "busybox", "true"});
    EXPECT_EQ(bf.exit_code, 125) << bf;
    EXPECT_TRUE(contains(bf.err, "--no-such-flag")) << bf;
    auto ps = (*this)({"ps", "-a", "-q"});
    EXPECT_EQ(trim(ps.out), "") << ps;  // nothing half-made
}

// Malformed flag values: exit 125 with the flag and its value named, never
// a crash or a hang, and nothing half-made (no container, no volume).
TEST_F(Hako, MalformedRunFlagsNameTheFlag) {
    const std::string big(100000, 'x');  // (execve takes no string of 128 KiB or more)
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--memory", "lots"}, "--memory"},
        {{"--memory", "99999999999999999999999g"}, "--memory"},
        {{"--cpus", "-1"}, "--cpus"},
        {{"-p", "80:80:80:80"}, "-p"},
        {{"-p", "99999:80"}, "99999"},
        {{"-v", ""}, "-v"},
        {{"-v", "/dst:"}, "-v"},
        {{"-v", "rel/dir:/x"}, "rel/dir"},
        {{"--mount", "type=nfs,dst=/x"}, "--mount"},
        {{"--tmpfs", "relative"}, "--tmpfs"},
        {{"--restart", "sometimes"}, "--restart"},
        {{"--health-interval", "soon"}, "--health-interval"},
        {{"--name", "bad name!"}, "bad name!"},
        {{"--network", "no-such-net"}, "no-such-net"},
        {{"--ulimit", "nofile=abc"}, "--ulimit"},
        {{"-e", "=x"}, "=x"},
        {{"--memory", big}, "--memory"},
        {{"-v", big}, "-v"},
        {{"--hostname", big}, "--hostname"},
    };
    for (const auto& [flags, named] : cases) {
        std::vector<std::string> args{"run", "--rm"};
        args.insert(args.end(), flags.begin(), flags.end());
        args.insert(args.end(), {"busybox", "true"});
        auto r = (*this)(args);
        std::string shown = flags[0] + " " + flags[1].substr(0, 40);
        EXPECT_EQ(r.exit_code, 125) << shown << r;
        EXPECT_LT(r.err.size(), 4096u) << shown << ": the error quotes a huge value whole";
        EXPECT_TRUE(contains(r.err, named)) << shown << " (stderr must name `" << named.substr(0, 40) << "`)" << r;
    }
    EXPECT_EQ(trim((*this)({"ps", "-a", "-q"}).out), "");
    EXPECT_EQ(trim((*this)({"volume", "ls", "-q"}).out), "");
}

TEST_F(Hako, LoadADockerArchiveWithAWhiteout) {
    TempDir tmp("load");
    // layer 1: the busybox tree plus /etc/gone and /opt/keep/a; layer 2
    // deletes /etc/gone (whiteout), makes /opt/keep opaque, adds /etc/new.
    std::string l1 = tmp / "l1", l2 = tmp / "l2", arch = tmp / "arch";
    ASSERT_EQ(run_command({"cp", "-a", fixture_rootfs(), l1}).exit_code, 0);
    unlink((l1 + "/.stamp").c_str());
    write_file(l1 + "/etc/gone", "old\n");
    mkdir((l1 + "/opt").c_str(), 0755);
    mkdir((l1 + "/opt/keep").c_str(), 0755);
    write_file(l1 + "/opt/keep/a", "a\n");
    mkdir(l2.c_str(), 0755);
    mkdir((l2 + "/etc").c_str(), 0755);
    mkdir((l2 + "/opt").c_str(), 0755);
    mkdir((l2 + "/opt/keep").c_str(), 0755);
    write_file(l2 + "/etc/.wh.gone", "");
    write_file(l2 + "/opt/keep/.wh..wh..opq", "");
    write_file(l2 + "/opt/keep/b", "b\n");
    write_file(l2 + "/etc/new", "new\n");
    mkdir(arch.c_str(), 0755);
    ASSERT_EQ(run_command({"tar", "-C", l1, "-cf", arch + "/l1.tar", "."}).exit_code, 0);
    ASSERT_EQ(run_command({"tar", "-C", l2, "-cf", arch + "/l2.tar", "."}).exit_code, 0);
    // The config names each layer by the sha256 of its tar (diff_ids): load verifies them.
    auto config = [&](const std::string& second_id) {
        return R"({"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","FOO=from-image"],"Cmd":["sh","-c","echo $FOO"],"WorkingDir":"/opt"},"rootfs":{"type":"layers","diff_ids":["sha256:)" +
               sha256_file(arch + "/l1.tar") + R"(","sha256:)" + second_id + R"("]}})";
    };
    write_file(arch + "/manifest.json",
               R"([{"Config":"config.json","RepoTags":["layered:v1"],"Layers":["l1.tar","l2.tar"]}])");
    write_file(arch + "/config.json", config(std::string(64, '0')));  // a wrong id for l2.tar
    ASSERT_EQ(run_command({"tar", "-C", arch, "-cf", tmp / "bad.tar", "manifest.json", "config.json", "l1.tar", "l2.tar"}).exit_code, 0);
    auto bad = (*this)({"load", "-i", tmp / "bad.tar"});
    EXPECT_EQ(bad.exit_code, 125) << bad;
    EXPECT_TRUE(contains(bad.err, "sha256 mismatch")) << bad;
    EXPECT_FALSE(contains((*this)({"images"}).out, "layered")) << "a corrupt image was listed";
    write_file(arch + "/config.json", config(sha256_file(arch + "/l2.tar")));
    ASSERT_EQ(run_command({"tar", "-C", arch, "-cf", tmp / "image.tar", "manifest.json", "config.json", "l1.tar", "l2.tar"}).exit_code, 0);
    auto l = (*this)({"load", "-i", tmp / "image.tar"});
    ASSERT_EQ(l.exit_code, 0) << l;
    EXPECT_TRUE(contains(l.out, "Loaded image: layered:v1")) << l;
    auto def = (*this)({"run", "--rm", "layered:v1"});
    EXPECT_EQ(trim(def.out), "from-image") << def;  // the image's Cmd and Env
    auto r = (*this)({"run", "--rm", "layered:v1", "sh", "-c",
                      "pwd; test -e /etc/gone && echo gone-still-there; cat /etc/new; ls /opt/keep"});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"/opt", "new", "b"})) << r;
}

TEST_F(Hako, WritesStayInTheirContainer) {
    auto a = (*this)({"run", "--name", "writer", "busybox", "sh", "-c", "echo mine > /etc/written; rm /bin/ls"});
    ASSERT_EQ(a.exit_code, 0) << a;
    auto b = (*this)({"run", "--rm", "busybox", "sh", "-c", "ls /etc/written; ls /bin/ls"});
    EXPECT_TRUE(contains(b.err, "/etc/written")) << b;  // not there
    EXPECT_TRUE(contains(b.out, "/bin/ls")) << b;       // still there
    // the image's layer has neither change
    auto layers = run_command({"sh", "-c", "ls " + store.path() + "/layers/*/etc/written 2>/dev/null; ls -d " +
                                               store.path() + "/layers/*/bin/ls"});
    EXPECT_FALSE(contains(layers.out, "written")) << layers;
    EXPECT_TRUE(contains(layers.out, "/bin/ls")) << layers;
    EXPECT_EQ((*this)({"rm", "writer"}).exit_code, 0);
}

TEST_F(Hako, VolumesReadOnlyAndReadWrite) {
    TempDir vol("vol");
    write_file(vol / "in", "host\n");
    auto r = (*this)({"run", "--rm", "-v", vol.path() + ":/ro:ro", "-v", vol.path() + ":/rw", "busybox", "sh", "-c",
                      "cat /ro/in; touch /ro/x && echo ro-writable; echo c > /rw/out"});
    EXPECT_TRUE(contains(r.out, "host")) << r;
    EXPECT_FALSE(contains(r.out, "ro-writable")) << r;
    EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
    EXPECT_EQ(read_file(vol / "out"), "c\n");
}

TEST_F(Hako, MemoryLimitKillsTheHog) {
    auto r = (*this)({"run", "--rm", "--memory", "100m", "busybox", "sh", "-c",
                      "x=0123456789abcdef; while true; do x=\"$x$x\"; done"},
                     with_timeout(120s));
    EXPECT_EQ(r.exit_code, 137) << r;
}

TEST_F(Hako, CapDropChownStopsChown) {
    auto ok = (*this)({"run", "--rm", "busybox", "sh", "-c", "touch /tmp/f && chown 1000 /tmp/f && echo chowned"});
    EXPECT_TRUE(contains(ok.out, "chowned")) << ok;
    auto r = (*this)({"run", "--rm", "--cap-drop", "CHOWN", "busybox", "sh", "-c",
                      "touch /tmp/f && chown 1000 /tmp/f && echo chowned"});
    EXPECT_FALSE(contains(r.out, "chowned")) << r;
    EXPECT_TRUE(contains(r.err, "Operation not permitted")) << r;
}

TEST_F(Hako, DetachedExecPsLogsStopRm) {
    auto d = (*this)({"run", "-d", "--name", "bg", "busybox", "sh", "-c", "echo started; trap 'exit 3' TERM; while true; do sleep 0.1; done"});
    ASSERT_EQ(d.exit_code, 0) << d;
    std::string id = trim(d.out);
    ASSERT_EQ(id.size(), 64u) << d;
    auto ps = (*this)({"ps"});
    EXPECT_TRUE(contains(ps.out, "bg")) << ps;
    EXPECT_TRUE(contains(ps.out, "Up")) << ps;
    auto e = (*this)({"exec", "bg", "sh", "-c", "echo exec-in-$(hostname); exit 4"});
    EXPECT_EQ(e.exit_code, 4) << e;
    EXPECT_TRUE(contains(e.out, "exec-in-" + id.substr(0, 12))) << e;
    EXPECT_TRUE(wait_until([&] { return contains((*this)({"logs", "bg"}).out, "started"); }, 5s));
    auto s = (*this)({"stop", "-t", "5", "bg"});
    EXPECT_EQ(s.exit_code, 0) << s;
    auto w = (*this)({"wait", "bg"});
    EXPECT_EQ(trim(w.out), "3") << w;
    auto all = (*this)({"ps", "-a"});
    EXPECT_TRUE(contains(all.out, "Exited (3)")) << all;
    EXPECT_EQ((*this)({"rm", "bg"}).exit_code, 0);
    EXPECT_FALSE(path_exists(store / ("containers/" + id)));
    EXPECT_TRUE(trim((*this)({"ps", "-a", "-q"}).out).empty());
}

TEST_F(Hako, RmLeavesNothing) {
    auto r = (*this)({"run", "--rm", "--name", "gone", "busybox", "sh", "-c", "cat /proc/self/cgroup"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(trim((*this)({"ps", "-a", "-q"}).out).empty());
    auto left = run_command({"sh", "-c", "find " + store.path() + "/containers " + store.path() + "/runtime -mindepth 1"});
    EXPECT_TRUE(trim(left.out).empty()) << left;
    // its cgroup (hako-<id> below ours) is gone
    for (const auto& line : lines(r.out)) {
        auto path = line.substr(line.rfind(':') + 1);
        auto ctl = line.substr(line.find(':') + 1, line.rfind(':') - line.find(':') - 1);
        if (path == "/" || ctl.empty() || ctl.find('=') != std::string::npos) continue;
        auto first = ctl.substr(0, ctl.find(','));
        EXPECT_FALSE(path_exists("/sys/fs/cgroup/" + first + path)) << line;
    }
}

TEST_F(Hako, TwentyContainersAtOnce) {
    ASSERT_EQ((*this)({"run", "--rm", "busybox", "true"}).exit_code, 0);  // the image made once
    std::vector<std::unique_ptr<Child>> kids;
    for (int i = 0; i < 20; ++i)
        kids.push_back(std::make_unique<Child>(
            std::vector<std::string>{hako_binary(), "--root", store.path(), "run", "--rm", "busybox", "sh", "-c",
                                     fmt::format("echo n{} > /tmp/me; cat /tmp/me", i)}));
    for (int i = 0; i < 20; ++i) {
        auto r = kids[i]->wait();
        EXPECT_EQ(r.exit_code, 0) << r;
        EXPECT_EQ(trim(r.out), fmt::format("n{}", i)) << r;
    }
    EXPECT_TRUE(trim((*this)({"ps", "-a", "-q"}).out).empty());
}

TEST_F(Hako, ImageConfigAndFlags) {
    auto r = (*this)({"run", "--rm", "-e", "A=1", "-w", "/tmp", "-u", "nobody", "-h", "myhost", "--read-only",
                      "--tmpfs", "/scratch", "busybox", "sh", "-c",
                      "echo $A $(pwd) $(id -u) $(hostname); touch /x 2>/dev/null || echo ro; touch /scratch/y && echo tmpfs-ok"});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.out, "1 /tmp 65534 myhost")) << r;
    EXPECT_TRUE(contains(r.out, "ro")) << r;
    EXPECT_TRUE(contains(r.out, "tmpfs-ok")) << r;
    auto ep = (*this)({"run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint"});
    EXPECT_EQ(trim(ep.out), "via entrypoint") << ep;
}

TEST_F(Hako, InitReapsAndForwardsSignals) {
    auto r = (*this)({"run", "--rm", "--init", "busybox", "sh", "-c", "echo $$; (sleep 0.1 &); sleep 0.3; ps -o stat= | grep -c Z; exit 6"});
    EXPECT_EQ(r.exit_code, 6) << r;
    auto out = lines(r.out);
    ASSERT_EQ(out.size(), 2u) << r;
    EXPECT_EQ(out[0], "2");  // the command is PID 2, hako-init PID 1
    EXPECT_EQ(out[1], "0");  // the orphaned sleep was reaped: no zombie
    // `sleep` as PID 1 would ignore SIGTERM; under hako-init it gets it.
    auto d = (*this)({"run", "-d", "--init", "--name", "sleeper", "busybox", "sleep", "100"});
    ASSERT_EQ(d.exit_code, 0) << d;
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ((*this)({"stop", "-t", "10", "sleeper"}).exit_code, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_EQ(trim((*this)({"wait", "sleeper"}).out), "143");  // 128 + SIGTERM
    EXPECT_EQ((*this)({"rm", "sleeper"}).exit_code, 0);
}

TEST_F(Hako, AKilledImportLeavesNoImage) {
    // An import of an endless stream, killed -9 mid-way.
    TempDir tmp("kill");
    std::string fifo = tmp / "stream";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    Child import({hako_binary(), "--root", store.path(), "import", fifo, "half:1"});
    Child feeder({"sh", "-c", "tar -C " + fixture_rootfs() + " -cf - . > " + fifo + "; sleep 30 > " + fifo});
    ASSERT_TRUE(wait_until([&] { return !trim(run_command({"sh", "-c", "ls -a " + store.path() + "/layers 2>/dev/null | grep tmp"}).out).empty(); }, 10s));
    ::kill(import.pid(), SIGKILL);
    import.wait();
    EXPECT_FALSE(contains((*this)({"images"}).out, "half")) ;
    // the next import clears what the killed one left
    TempDir seed("seed2");
    ASSERT_EQ((*this)({"import", seed_tarball(seed), "whole:1"}).exit_code, 0);
    auto tmps = run_command({"sh", "-c", "ls -a " + store.path() + "/layers | grep -c tmp"});
    EXPECT_EQ(trim(tmps.out), "0") << tmps;
    EXPECT_TRUE(contains((*this)({"images"}).out, "whole"));
}

}  // namespace
}  // namespace hako::test
