// hako build, commit and history as a user runs them: the Dockerfiles of
// tests/build, each built from a copy of tests/build/context and then run
// or inspected (files, modes, owners, env, entrypoint/cmd, labels, ports,
// whiteouts); stages, ARG scoping, ONBUILD, ADD, heredocs, RUN --mount, the
// cache (a touch hits, a change misses), reproducible digests, bad files.
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "hako_fixture.hpp"

namespace hako::test {
namespace {

using json = nlohmann::json;

class Build : public Hako {
protected:
    void SetUp() override {
        Hako::SetUp();
        ASSERT_TRUE(run_command({"cp", "-a", std::string(HAKO_SOURCE_DIR) + "/tests/build/context/.", ctx.path()}).ok());
    }
    static std::string dockerfile(const std::string& name) { return std::string(HAKO_SOURCE_DIR) + "/tests/build/" + name; }
    Result build(const std::string& file, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"build", "-f", file.find('/') == std::string::npos ? dockerfile(file) : file};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(ctx.path());
        return (*this)(args, with_timeout(120s));
    }
    std::string built(const std::string& file, std::vector<std::string> extra = {}) {
        auto r = build(file, std::move(extra));
        EXPECT_EQ(r.exit_code, 0) << r;
        return trim(r.out);
    }
    // `sh -c script` in the image (no entrypoint), its stdout.
    std::string in(const std::string& image, const std::string& script) {
        auto r = (*this)({"run", "--rm", "--network", "none", "--entrypoint", "", "-u", "0", image, "sh", "-c", script});
        EXPECT_EQ(r.exit_code, 0) << r;
        return trim(r.out);
    }
    json config(const std::string& image) {
        auto r = (*this)({"inspect", "-f", "{{json .Config}}", image});
        EXPECT_EQ(r.exit_code, 0) << r;
        return json::parse(r.out, nullptr, false);
    }
    void no_leftovers() {
        EXPECT_EQ(trim((*this)({"ps", "-a", "-q"}).out), "");
        EXPECT_FALSE(path_exists(store / "build")) << "a build's scratch dirs are left";
    }
    TempDir ctx{"hako-build-ctx"};
};

TEST_F(Build, BasicInstructions) {
    auto id = built("basic.Dockerfile", {"-t", "basic", "--network", "none"});
    EXPECT_EQ(id.size(), 64u) << id;
    // COPY's rules: into WORKDIR, trailing slash, a directory's contents, several sources, globs, owners, modes
    EXPECT_EQ(in("basic", "cd /srv && find . | sort | while read f; do stat -c '%a %u:%g %F %n' \"$f\"; done"),
              "755 0:0 directory .\n"
              "755 0:0 directory ./app\n"
              "755 0:0 directory ./app/copied\n"
              "644 0:0 regular file ./app/copied/b.txt\n"
              "755 0:0 directory ./app/sub\n"
              "644 0:0 regular file ./app/sub/a.txt\n"
              "755 0:0 directory ./dir-contents\n"
              "644 0:0 regular file ./dir-contents/x\n"
              "644 0:0 regular file ./followed\n"
              "755 0:0 directory ./glob\n"
              "644 0:0 regular file ./glob/a.txt\n"
              "644 0:0 regular file ./glob/b.txt\n"
              "755 0:0 directory ./multi\n"
              "644 0:0 regular file ./multi/a.txt\n"
              "644 0:0 regular file ./multi/b.txt\n"
              "755 0:0 directory ./other\n"
              "644 0:0 regular file ./other/keep.log\n"
              "644 0:0 regular file ./other/o.txt\n"
              "640 65534:65534 regular file ./owned\n"
              "755 1000:1000 regular file ./script.sh");
    EXPECT_EQ(in("basic", "cat /srv/followed /srv/app/sub/a.txt; /srv/script.sh"), "alpha\nalpha\nscript ran");
    // RUN's changes: a deletion is a whiteout, new dirs keep their mode
    EXPECT_EQ(in("basic", "test -e /bin/vi && echo vi-there; test -e /bin/sh && echo sh-there; stat -c '%a' /data/made; cat /data/made/mode"),
              "sh-there\n700\ntest");
    auto c = config("basic");
    EXPECT_EQ(c["Env"], json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP=/srv/app", "MODE=test",
                              "LEGACY=the legacy value"}));
    EXPECT_EQ(c["WorkingDir"], "/srv/app/sub");
    EXPECT_EQ(c["User"], "nobody");
    EXPECT_EQ(c["Entrypoint"], json({"/bin/sh", "-c"}));
    EXPECT_EQ(c["Cmd"], json({"echo hi"}));
    EXPECT_EQ(c["ExposedPorts"], json({{"8080/tcp", json::object()}, {"53/udp", json::object()}}));
    EXPECT_EQ(c["Volumes"], json({{"/data", json::object()}}));
    EXPECT_EQ(c["Labels"], json({{"org.example.name", "basic image"}, {"version", "1"}}));
    EXPECT_EQ(c["StopSignal"], "SIGINT");
    EXPECT_EQ(c["Healthcheck"]["Test"], json({"CMD-SHELL", "true"}));
    EXPECT_EQ(c["Healthcheck"]["Interval"], 5000000000LL);
    EXPECT_EQ(c["Healthcheck"]["Retries"], 4);
    auto ran = (*this)({"run", "--rm", "--network", "none", "basic"});
    EXPECT_EQ(ran.out, "hi\n") << ran;
    // history: one line per step (and the base's), the RUN as run
    auto h = (*this)({"history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}", "basic"});
    EXPECT_EQ(h.exit_code, 0) << h;
    EXPECT_EQ(lines(h.out).size(), 24u) << h;
    EXPECT_TRUE(contains(h.out, "/bin/sh -c rm -rf /srv/dir-contents/sub|")) << h;
    EXPECT_TRUE(contains(h.out, "#(nop) ENTRYPOINT [\"/bin/sh\",\"-c\"]|0B")) << h;
    // the steps' images are the cache: `images` lists the result, `images -a` them too
    EXPECT_EQ(lines((*this)({"images", "-q"}).out).size(), 2u);  // basic, busybox
    EXPECT_GT(lines((*this)({"images", "-a", "-q"}).out).size(), 15u);
    no_leftovers();
}

TEST_F(Build, MultiStageTargetAndUnusedStages) {
    auto r = build("multistage.Dockerfile", {"-t", "ms"});  // (RUN on the default bridge network)
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_FALSE(contains(r.err, "AS unused")) << "a stage the target does not need was built: " << r;
    EXPECT_TRUE(contains(r.err, "STEP 10/10: CMD")) << r;
    EXPECT_EQ((*this)({"run", "--rm", "--network", "none", "ms"}).out, "built global\n");
    EXPECT_EQ(in("ms", "cat /tested; test -x /bin/busybox-copy && echo copied; test -e /out || echo no-out"), "tested\ncopied\nno-out");
    built("multistage.Dockerfile", {"-t", "ms-builder", "--target", "builder", "--build-arg", "GREETING=arg", "--network", "none"});
    EXPECT_EQ(in("ms-builder", "cat /out/artifact; test -e /artifact || echo none"), "built arg\nnone");
    auto bad = build("multistage.Dockerfile", {"--target", "nope"});
    EXPECT_EQ(bad.exit_code, 125);
    EXPECT_TRUE(contains(bad.err, "--target `nope`")) << bad;
    no_leftovers();
}

TEST_F(Build, IndependentStagesBuildAtOnce) {
    built("parallel.Dockerfile", {"-t", "par", "--network", "none"});  // (--jobs 2: the default)
    EXPECT_EQ(in("par", "cat /a /b"), "together\ntogether");
}

TEST_F(Build, ArgScopingAndExpansion) {
    built("args.Dockerfile", {"-t", "args", "--network", "none"});
    EXPECT_EQ(in("args", "cat /args"), "A=from-env B=unset TAG=latest G=not-seen C=from-env-c");
    auto env = config("args")["Env"];
    EXPECT_EQ(env, json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=from-env", "EXPANDED=",
                         "TRIM=lat", "DEFAULTED=fallback", "PREFIX=env", "REPL=from-ENV"}));
    auto r = build("args.Dockerfile", {"-t", "args2", "--network", "none", "--build-arg", "B=bee", "--build-arg", "UNUSED=1"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.err, "not consumed: UNUSED")) << r;
    EXPECT_EQ(in("args2", "cat /args"), "A=from-env B=bee TAG=latest G=not-seen C=from-env-c");
    EXPECT_EQ(config("args2")["Env"][2], "EXPANDED=b-is-set");
    // ARG values reach RUN but are not kept in the image
    EXPECT_FALSE(contains(config("args2")["Env"].dump(), "B=bee"));
}

TEST_F(Build, EntrypointCmdAndOnbuild) {
    built("entrypoint.Dockerfile", {"-t", "ep", "--network", "none"});
    auto c = config("ep");
    EXPECT_EQ(c["Entrypoint"], json({"/bin/sh", "-c", "echo entry"}));
    EXPECT_TRUE(c["Cmd"].empty()) << c;
    EXPECT_EQ((*this)({"run", "--rm", "--network", "none", "ep", "ignored", "args"}).out, "entry\n");
    built("onbuild.Dockerfile", {"-t", "parent", "--network", "none"});
    EXPECT_EQ(config("parent")["OnBuild"].size(), 2u);
    write_file(ctx / "child.Dockerfile", "FROM parent\nCMD [\"cat\", \"/onbuild-ran\"]\n");
    built(ctx / "child.Dockerfile", {"-t", "child", "--network", "none"});
    EXPECT_EQ(in("child", "cat /onbuild-copied /onbuild-ran"), "alpha\ntriggered");
    EXPECT_FALSE(config("child").contains("OnBuild")) << "ONBUILD triggers are not inherited";
}

TEST_F(Build, AddExtractsLocalTars) {
    ASSERT_TRUE(run_command({"mkdir", "-p", ctx / "tree/inner"}).ok());
    write_file(ctx / "tree/inner/file", "in the tar\n");
    ASSERT_TRUE(run_command({"tar", "-C", ctx / "tree", "-czf", ctx / "archive.tar.gz", "."}).ok());
    ASSERT_TRUE(run_command({"tar", "-C", ctx / "tree", "-cJf", ctx / "archive.tar.xz", "inner"}).ok());
    write_file(ctx / "notatar.tar", "just text\n");
    built("add.Dockerfile", {"-t", "add", "--network", "none"});
    EXPECT_EQ(in("add", "cat /extracted/inner/file /xz/inner/file /plain/notatar.tar /added-file"),
              "in the tar\nin the tar\njust text\nalpha");
    // the other compressions, told by content (not by name)
    ASSERT_TRUE(run_command({"tar", "-C", ctx / "tree", "-cf", ctx / "plain.tar", "inner"}).ok());
    ASSERT_TRUE(run_command({"tar", "-C", ctx / "tree", "-cjf", ctx / "bz.data", "inner"}).ok());
    ASSERT_TRUE(run_command({"sh", "-c", "tar -C " + (ctx / "tree") + " -cf - inner | zstd -q -o " + (ctx / "z.tar.zst")}).ok());
    write_file(ctx / "more.Dockerfile", "FROM busybox\nADD plain.tar /p/\nADD bz.data /b/\nADD --chown=1:1 z.tar.zst /z/\n");
    built(ctx / "more.Dockerfile", {"-t", "more", "--network", "none"});
    EXPECT_EQ(in("more", "cat /p/inner/file /b/inner/file; stat -c '%u %n' /z/inner/file"), "in the tar\nin the tar\n1 /z/inner/file");
}

TEST_F(Build, AddUrlFetchesWithModeAndTime) {
    TempDir www("hako-www");
    write_file(www / "file.txt", "served\n");
    ASSERT_TRUE(run_command({"touch", "-d", "2021-02-03 04:05:06 UTC", www / "file.txt"}).ok());
    ASSERT_TRUE(run_command({"ip", "link", "set", "lo", "up"}).ok());
    Child httpd({"busybox", "httpd", "-f", "-p", "127.0.0.1:18089", "-h", www.path()});
    ASSERT_TRUE(wait_until([] { return run_command({"bash", "-c", "echo > /dev/tcp/127.0.0.1/18089"}).ok(); }, 5s));
    write_file(ctx / "url.Dockerfile", "FROM busybox\nADD http://127.0.0.1:18089/file.txt /fetched/\n");
    built(ctx / "url.Dockerfile", {"-t", "url", "--network", "none"});
    EXPECT_EQ(in("url", "stat -c '%a %Y' /fetched/file.txt; cat /fetched/file.txt"), "600 1612325106\nserved");
    // --checksum: the content's sha256, else the build fails
    write_file(ctx / "sum.Dockerfile",
               "FROM busybox\nADD --checksum=sha256:" + sha256_file(www / "file.txt") + " http://127.0.0.1:18089/file.txt /ok\n");
    built(ctx / "sum.Dockerfile", {"--network", "none"});
    write_file(ctx / "badsum.Dockerfile", "FROM busybox\nADD --checksum=sha256:" + std::string(64, '0') + " http://127.0.0.1:18089/file.txt /ok\n");
    auto bad = build(ctx / "badsum.Dockerfile");
    EXPECT_EQ(bad.exit_code, 125);
    EXPECT_TRUE(contains(bad.err, "does not match the content")) << bad;
    write_file(ctx / "url404.Dockerfile", "FROM busybox\nADD http://127.0.0.1:18089/missing /x\n");
    auto r = build(ctx / "url404.Dockerfile");
    EXPECT_EQ(r.exit_code, 125);
    EXPECT_TRUE(contains(r.err, "url404.Dockerfile:2: ADD")) << r;
    EXPECT_TRUE(contains(r.err, "404")) << r;
}

TEST_F(Build, Heredocs) {
    built("heredoc.Dockerfile", {"-t", "hd", "--network", "none"});
    EXPECT_EQ(in("hd", "cat /hd-run /hd-copy /hd-raw /hd-inline"), "first line\nworld\nhello world\nhello ${WHO}\ninline world");
}

TEST_F(Build, RunMountsAndNetwork) {
    write_file(ctx / "token", "s3cret-value");
    auto args = std::vector<std::string>{"-t", "mnt", "--secret", "id=token,src=" + (ctx / "token")};
    built("mounts.Dockerfile", args);
    EXPECT_EQ(in("mnt", "cat /cache-count /bound-x /from-stage /secret-len"), "1\nx\nfrom-stage\n12");
    // what a RUN binds is in its cache key
    write_file(ctx / "dir/x", "x2\n");
    built("mounts.Dockerfile", args);
    EXPECT_EQ(in("mnt", "cat /bound-x"), "x2");
    write_file(ctx / "dir/x", "x\n");
    // RUN --network=none: only lo; the build's default (bridge): lo and eth0
    built("network.Dockerfile", {"-t", "net"});
    EXPECT_EQ(in("net", "cat /links /links-default"), "1\n2");
    // the mounts leave nothing in the image: no secret, no mount points
    EXPECT_EQ(in("mnt", "ls /run/secrets /cache /ctx /sf /scratch 2>&1 | grep -c 'No such file'"), "5");
    // the cache mount persists across builds
    args.push_back("--no-cache");
    built("mounts.Dockerfile", args);
    EXPECT_EQ(in("mnt", "cat /cache-count"), "2");
    // a secret not given is not mounted (the RUN that reads it fails: its status)
    // a rw bind's writes are dropped: neither the context nor the image keeps them
    write_file(ctx / "rw.Dockerfile", "FROM busybox\nRUN --mount=type=bind,source=dir,target=/ctx,rw echo w > /ctx/x && cat /ctx/x > /seen\n");
    built(ctx / "rw.Dockerfile", {"-t", "rw", "--network", "none"});
    EXPECT_EQ(in("rw", "cat /seen; test -e /ctx || echo no-ctx"), "w\nno-ctx");
    EXPECT_EQ(read_file(ctx / "dir/x"), "x\n");
    auto missing = build("mounts.Dockerfile", {"--no-cache", "--network", "none"});
    EXPECT_EQ(missing.exit_code, 1) << missing;
    EXPECT_TRUE(contains(missing.err, "mounts.Dockerfile:10: RUN --mount=type=secret")) << missing;
    auto r = (*this)({"builder", "prune", "-a"});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_FALSE(path_exists(store / "build-cache/mounts"));
}

TEST_F(Build, CacheHitsOnTouchMissesOnChange) {
    auto first = build("basic.Dockerfile", {"-t", "c", "--network", "none"});
    ASSERT_EQ(first.exit_code, 0) << first;
    auto again = build("basic.Dockerfile", {"-t", "c", "--network", "none"});
    ASSERT_EQ(again.exit_code, 0) << again;
    EXPECT_EQ(again.out, first.out);
    EXPECT_FALSE(contains(again.err, "--> " + trim(first.out).substr(0, 12) + "\n")) << "nothing is built again: " << again;
    size_t hits = 0;
    for (const auto& l : lines(again.err)) hits += contains(l, "--> Using cache");
    EXPECT_EQ(hits, 23u) << again;  // every step but FROM
    ASSERT_TRUE(run_command({"touch", ctx / "a.txt", ctx / "dir/x"}).ok());
    EXPECT_EQ(trim(build("basic.Dockerfile", {"-q", "--network", "none"}).out), trim(first.out)) << "a touch changed the cache key";
    write_file(ctx / "b.txt", "changed\n");
    auto changed = build("basic.Dockerfile", {"-t", "c", "--network", "none"});
    ASSERT_EQ(changed.exit_code, 0) << changed;
    EXPECT_NE(changed.out, first.out);
    EXPECT_TRUE(contains(changed.err, "STEP 7/24: COPY a.txt .\n--> Using cache")) << changed;
    EXPECT_TRUE(contains(changed.err, "STEP 8/24: COPY b.txt /srv/app/copied/\n--> ")) << changed;
    EXPECT_FALSE(contains(changed.err.substr(changed.err.find("STEP 8/24")), "Using cache")) << "a step after a miss hit: " << changed;
    auto nocache = build("basic.Dockerfile", {"--no-cache", "--network", "none"});
    EXPECT_FALSE(contains(nocache.err, "Using cache")) << nocache;
    auto df = (*this)({"system", "df", "--format", "{{.Type}}={{.TotalCount}}"});
    EXPECT_TRUE(contains(df.out, "Images=4\n")) << df;  // busybox, c, the old c and the --no-cache one
    EXPECT_FALSE(contains(df.out, "Build Cache=0")) << df;
    EXPECT_EQ((*this)({"builder", "prune"}).exit_code, 0);
    EXPECT_TRUE(contains((*this)({"system", "df", "--format", "{{.Type}}={{.TotalCount}}"}).out, "Build Cache=0"));
    EXPECT_EQ((*this)({"images", "-a", "-q"}).out, (*this)({"images", "-q"}).out) << "intermediate images left after builder prune";
    EXPECT_EQ(in("c", "cat /srv/app/copied/b.txt"), "changed");  // (the tagged image stays whole)
    EXPECT_FALSE(contains(build("basic.Dockerfile", {"--network", "none"}).err, "Using cache"));
}

TEST_F(Build, ReproducibleWithSourceDateEpoch) {
    auto a = built("basic.Dockerfile", {"--no-cache", "--network", "none", "--build-arg", "SOURCE_DATE_EPOCH=1700000000"});
    sleep(1);
    auto b = built("basic.Dockerfile", {"--no-cache", "--network", "none", "--build-arg", "SOURCE_DATE_EPOCH=1700000000"});
    EXPECT_EQ(a, b);
    EXPECT_EQ(trim((*this)({"inspect", "-f", "{{.Created}}", a}).out), "2023-11-14T22:13:20Z");
    EXPECT_EQ(in(a, "stat -c %Y /srv/app/sub/a.txt /srv/app/sub /srv/glob"), "1700000000\n1700000000\n1700000000");
    auto c = built("basic.Dockerfile", {"--no-cache", "--network", "none"});
    EXPECT_NE(a, c);
}

TEST_F(Build, BadDockerfilesNameTheLineAndLeaveNothing) {
    auto unknown = build("bad-unknown.Dockerfile", {"-t", "bad"});
    EXPECT_EQ(unknown.exit_code, 125) << unknown;
    EXPECT_TRUE(contains(unknown.err, "bad-unknown.Dockerfile:3: unknown instruction `FROBNICATE`")) << unknown;
    auto failed = build("bad-run.Dockerfile", {"-t", "bad", "--network", "none"});
    EXPECT_EQ(failed.exit_code, 3) << failed;
    EXPECT_TRUE(contains(failed.err, "bad-run.Dockerfile:3: RUN exit 3: exit status 3")) << failed;
    EXPECT_TRUE(contains(failed.err, "before")) << failed;
    EXPECT_FALSE(contains(failed.err, "STEP 4/4")) << failed;
    auto copy = build("bad-copy.Dockerfile", {"-t", "bad"});
    EXPECT_EQ(copy.exit_code, 125) << copy;
    EXPECT_TRUE(contains(copy.err, "bad-copy.Dockerfile:2: COPY `missing-file`: no such file or directory in the build context")) << copy;
    auto stage = build("bad-stage.Dockerfile", {"-t", "bad", "--pull", "never"});
    EXPECT_EQ(stage.exit_code, 125) << stage;
    EXPECT_TRUE(contains(stage.err, "bad-stage.Dockerfile:2")) << stage;
    EXPECT_TRUE(contains(stage.err, "`nosuchstage`")) << stage;
    write_file(ctx / "flag.Dockerfile", "FROM busybox\nENV --nope a=b\n");
    auto flag = build(ctx / "flag.Dockerfile");
    EXPECT_EQ(flag.exit_code, 125);
    EXPECT_TRUE(contains(flag.err, "flag.Dockerfile:2: ENV: unknown flag `--nope` (ENV takes none)")) << flag;
    write_file(ctx / "mnt.Dockerfile", "FROM busybox\nRUN --mount=type=cache,target=/c,uid=abc true\n");
    auto mnt = build(ctx / "mnt.Dockerfile");
    EXPECT_EQ(mnt.exit_code, 125);
    EXPECT_TRUE(contains(mnt.err, "uid=`abc`: expected a number")) << mnt;
    write_file(ctx / "multi.Dockerfile", "FROM busybox\nCOPY a.txt b.txt /notadir\n");
    auto multi = build(ctx / "multi.Dockerfile");
    EXPECT_EQ(multi.exit_code, 125);
    EXPECT_TRUE(contains(multi.err, "must be a directory ending in /")) << multi;
    auto escape = (*this)({"build", "-f", dockerfile("basic.Dockerfile"), "/nonexistent-context"});
    EXPECT_EQ(escape.exit_code, 125);
    EXPECT_TRUE(contains(escape.err, "/nonexistent-context")) << escape;
    EXPECT_NE((*this)({"image", "inspect", "bad"}).exit_code, 0) << "a failed build tagged its image";
    no_leftovers();
}

TEST_F(Build, ContextEscapesStayInside) {
    // a symlink in the context that names a host file is resolved inside the context
    ASSERT_EQ(symlink("/etc/hostname", (ctx / "host-link").c_str()), 0);
    ASSERT_EQ(symlink("../../../../../../etc", (ctx / "up").c_str()), 0);
    write_file(ctx / "esc.Dockerfile", "FROM busybox\nCOPY host-link /a\n");
    auto r = build(ctx / "esc.Dockerfile");
    EXPECT_EQ(r.exit_code, 125) << "a COPY followed a symlink out of the context: " << r;
    write_file(ctx / "esc2.Dockerfile", "FROM busybox\nCOPY up/passwd /p\n");
    EXPECT_EQ(build(ctx / "esc2.Dockerfile").exit_code, 125);
    write_file(ctx / "esc3.Dockerfile", "FROM busybox\nCOPY ../../../etc/passwd /p\n");
    EXPECT_EQ(build(ctx / "esc3.Dockerfile").exit_code, 125);
    // copied into the image: a directory's symlinks stay links; a COPY through one lands inside the image
    ASSERT_TRUE(run_command({"mkdir", ctx / "empty"}).ok());
    write_file(ctx / "in.Dockerfile",
               "FROM busybox\nRUN ln -s /etc /etclink\nCOPY a.txt /etclink/copied-through\nCOPY . /all/\n"
               "COPY dir /etclink/\nCOPY empty /made/by/empty\n");
    built(ctx / "in.Dockerfile", {"-t", "in", "--network", "none"});
    EXPECT_EQ(in("in", "cat /etc/copied-through /etc/x; readlink /all/host-link; readlink /etclink; test -e /all/debug.log || echo ignored; "
                       "stat -c '%a %F' /made/by/empty"),
              "alpha\nx\n/etc/hostname\n/etc\nignored\n755 directory");
}

TEST_F(Build, CommitAndHistory) {
    ASSERT_EQ((*this)({"run", "--name", "c1", "--network", "none", "busybox", "sh", "-c", "echo made > /made; rm /bin/vi"}).exit_code, 0);
    auto id = (*this)({"commit", "-c", "CMD [\"cat\", \"/made\"]", "-c", "ENV K=v", "-m", "by hand", "c1", "committed"});
    ASSERT_EQ(id.exit_code, 0) << id;
    EXPECT_EQ((*this)({"run", "--rm", "--network", "none", "committed"}).out, "made\n");
    EXPECT_EQ(in("committed", "test -e /bin/vi || echo gone; echo $K"), "gone\nv");
    auto h = (*this)({"history", "--format", "{{.Comment}}|{{.CreatedBy}}", "committed"});
    EXPECT_EQ(lines(h.out).at(0), "by hand|sh -c echo made > /made; rm /bin/vi") << h;
    auto bad = (*this)({"commit", "nosuch", "x"});
    EXPECT_EQ(bad.exit_code, 125);
    EXPECT_TRUE(contains(bad.err, "nosuch")) << bad;
    auto badc = (*this)({"commit", "-c", "RUN true", "c1", "x"});
    EXPECT_EQ(badc.exit_code, 125);
    EXPECT_TRUE(contains(badc.err, "RUN cannot be changed by commit")) << badc;
}

TEST_F(Build, SquashMakesOneLayer) {
    built("basic.Dockerfile", {"-t", "flat", "--squash", "--network", "none"});
    auto layers = (*this)({"inspect", "-f", "{{len .RootFS.Layers}}", "flat"});
    EXPECT_EQ(trim(layers.out), "2") << layers;  // busybox's + the squashed one
    EXPECT_EQ(in("flat", "test -e /bin/vi || echo gone; cat /srv/app/sub/a.txt; test -e /srv/dir-contents/sub || echo nosub"),
              "gone\nalpha\nnosub");
}

}  // namespace
}  // namespace hako::test
