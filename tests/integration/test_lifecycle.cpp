// The command line: spec, create, start, state, kill, delete, list, run --detach.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "harness.hpp"

namespace hako::test {
namespace {

using Lifecycle = ContainerTest;

int count_lines(const std::string& path, const std::string& line) {
    if (!path_exists(path)) return 0;
    auto ls = lines(read_file(path));
    return static_cast<int>(std::count(ls.begin(), ls.end(), line));
}

bool pid_alive(int pid) { return process_alive(pid); }

// Nothing named after the container remains in the runtime's state dir.
::testing::AssertionResult no_state_for(const Runtime& rt, const std::string& id) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(rt.root(), ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->path().filename().string().find(id) != std::string::npos)
            return ::testing::AssertionFailure() << "state left behind: " << it->path();
    }
    return ::testing::AssertionSuccess();
}

TEST_F(Lifecycle, CreateStartKillDelete) {
    Bundle b;
    std::string shared = b.host_dir("shared");
    std::string log = shared + "/log";
    b.bind(shared, "/mnt", {"rbind", "rw"});
    b.config()["annotations"] = {{"org.hako.test", "lifecycle"}};
    // Records each SIGTERM; `wait` returns early when a trapped signal arrives.
    b.script("trap 'echo TERM >> /mnt/log' TERM; echo started >> /mnt/log; "
             "while :; do sleep 1 & wait $!; done");
    std::string id = rt.new_id();
    std::string pidfile = b.dir() + "/init.pid";

    // create: the process exists but the user program has not run yet
    auto c = rt.create(b, id, {"--pid-file", pidfile});
    ASSERT_EQ(c.exit_code, 0) << c;
    auto st = rt.state(id);
    ASSERT_TRUE(st.has_value()) << rt({"state", id});
    EXPECT_EQ(st->value("status", ""), "created") << st->dump();
    EXPECT_EQ(st->value("id", ""), id) << st->dump();
    EXPECT_TRUE(st->contains("ociVersion")) << st->dump();
    EXPECT_EQ(st->value("bundle", ""), b.dir()) << st->dump();
    ASSERT_TRUE(st->contains("annotations")) << st->dump();
    EXPECT_EQ((*st)["annotations"].value("org.hako.test", ""), "lifecycle") << st->dump();
    int pid = st->value("pid", 0);
    ASSERT_GT(pid, 0) << st->dump();
    EXPECT_TRUE(pid_alive(pid));
    ASSERT_TRUE(path_exists(pidfile)) << "--pid-file not written";
    EXPECT_EQ(trim(read_file(pidfile)), std::to_string(pid));
    EXPECT_FALSE(path_exists(log)) << "the user process ran before start";

    // list
    auto ids = rt.list_ids();
    EXPECT_EQ(ids, std::vector<std::string>{id});
    auto lj = rt({"list", "--format", "json"});
    ASSERT_EQ(lj.exit_code, 0) << lj;
    json arr = json::parse(lj.out, nullptr, false);
    ASSERT_TRUE(arr.is_array()) << lj;
    ASSERT_EQ(arr.size(), 1u) << lj;
    EXPECT_EQ(arr[0].value("id", ""), id) << lj;
    EXPECT_EQ(arr[0].value("status", ""), "created") << lj;
    EXPECT_EQ(arr[0].value("pid", 0), pid) << lj;
    auto table = rt({"list"});
    ASSERT_EQ(table.exit_code, 0) << table;
    EXPECT_TRUE(contains(table.out, "ID")) << table;
    EXPECT_TRUE(contains(table.out, id)) << table;

    // a second container with the same id is refused, the first is untouched
    auto dup = rt.create(b, id);
    EXPECT_NE(dup.exit_code, 0) << dup;
    EXPECT_FALSE(dup.err.empty()) << dup;
    EXPECT_EQ(rt.status(id), "created");
    EXPECT_EQ(rt.state(id).value_or(json::object()).value("pid", 0), pid);

    // start
    auto s = rt.start(id);
    ASSERT_EQ(s.exit_code, 0) << s;
    ASSERT_TRUE(wait_until([&] { return count_lines(log, "started") == 1; }, 10s)) << "the process never started";
    EXPECT_EQ(rt.status(id), "running");
    EXPECT_EQ(rt.state(id).value_or(json::object()).value("pid", 0), pid);
    auto again = rt.start(id);
    EXPECT_NE(again.exit_code, 0) << "a running container was started again" << again;

    // kill: the three spellings of SIGTERM, and the default signal (SIGTERM)
    int expect = 0;
    for (std::string sig : {"TERM", "SIGTERM", "15", ""}) {
        auto k = rt.kill(id, sig);
        ASSERT_EQ(k.exit_code, 0) << "kill " << sig << k;
        ++expect;
        EXPECT_TRUE(wait_until([&] { return count_lines(log, "TERM") >= expect; }, 10s))
            << "signal '" << sig << "' was not delivered as SIGTERM";
        expect = count_lines(log, "TERM");
    }
    auto bad = rt.kill(id, "FOO");
    EXPECT_NE(bad.exit_code, 0) << "unknown signal accepted" << bad;
    EXPECT_FALSE(bad.err.empty()) << bad;
    EXPECT_EQ(rt.status(id), "running");

    // a running container cannot be deleted without --force
    auto d0 = rt.remove(id);
    EXPECT_NE(d0.exit_code, 0) << d0;
    EXPECT_EQ(rt.status(id), "running");

    auto k = rt.kill(id, "KILL");
    ASSERT_EQ(k.exit_code, 0) << k;
    ASSERT_TRUE(rt.wait_status(id, "stopped", 10s)) << rt({"state", id});
    EXPECT_TRUE(wait_until([&] { return !pid_alive(pid); }, 5s));

    auto d = rt.remove(id);
    ASSERT_EQ(d.exit_code, 0) << d;
    auto gone = rt({"state", id});
    EXPECT_NE(gone.exit_code, 0) << gone;
    EXPECT_TRUE(rt.list_ids().empty());
    EXPECT_TRUE(no_state_for(rt, id));
}

TEST_F(Lifecycle, StateOfUnknownContainerFails) {
    auto r = rt({"state", "no-such-container"});
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_FALSE(r.err.empty()) << r;
    EXPECT_TRUE(r.out.empty() || !json::accept(r.out)) << r;
    for (auto args : std::vector<std::vector<std::string>>{
             {"start", "no-such-container"}, {"kill", "no-such-container", "KILL"}, {"delete", "no-such-container"}}) {
        auto x = rt(args);
        EXPECT_NE(x.exit_code, 0) << args[0] << x;
    }
}

TEST_F(Lifecycle, RunDetachAndForceDelete) {
    Bundle b;
    b.script("sleep 1000 & exec sleep 1000");
    std::string id = rt.new_id();
    auto r = rt.run(b, id, {"--detach"}, with_timeout(30s));
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(rt.status(id), "running");
    int pid = rt.state(id).value_or(json::object()).value("pid", 0);
    ASSERT_GT(pid, 0);
    auto d = rt.remove(id, true);
    ASSERT_EQ(d.exit_code, 0) << d;
    EXPECT_TRUE(wait_until([&] { return !pid_alive(pid); }, 5s)) << "init survived delete --force";
    EXPECT_NE(rt({"state", id}).exit_code, 0);
    EXPECT_TRUE(rt.list_ids().empty());
}

TEST_F(Lifecycle, ForceDeleteCreatedContainer) {
    Bundle b;
    b.script("echo never");
    std::string id = rt.new_id();
    auto c = rt.create(b, id);
    ASSERT_EQ(c.exit_code, 0) << c;
    int pid = rt.state(id).value_or(json::object()).value("pid", 0);
    ASSERT_GT(pid, 0);
    auto d = rt.remove(id, true);
    ASSERT_EQ(d.exit_code, 0) << d;
    EXPECT_TRUE(wait_until([&] { return !pid_alive(pid); }, 5s));
    EXPECT_NE(rt({"state", id}).exit_code, 0);
}

TEST_F(Lifecycle, KillAll) {
    Bundle b;
    b.script("sleep 1000 & sleep 1000 & wait");
    std::string id = rt.new_id();
    ASSERT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
    ASSERT_EQ(rt.status(id), "running");
    auto k = rt.kill(id, "KILL", /*all=*/true);
    ASSERT_EQ(k.exit_code, 0) << k;
    EXPECT_TRUE(rt.wait_status(id, "stopped", 10s));
    EXPECT_EQ(rt.remove(id).exit_code, 0);
}

TEST_F(Lifecycle, StoppedAfterInitExits) {
    Bundle b;
    b.script("exit 3");
    std::string id = rt.new_id();
    ASSERT_EQ(rt.create(b, id).exit_code, 0);
    ASSERT_EQ(rt.start(id).exit_code, 0);
    EXPECT_TRUE(rt.wait_status(id, "stopped", 10s)) << rt({"state", id});
    auto d = rt.remove(id);
    EXPECT_EQ(d.exit_code, 0) << d;
    EXPECT_TRUE(rt.list_ids().empty());
}

TEST_F(Lifecycle, Spec) {
    TempDir dir("spec");
    SpawnOptions in_dir;
    in_dir.cwd = dir.path();
    auto r = rt({"spec"}, in_dir);
    ASSERT_EQ(r.exit_code, 0) << r;
    ASSERT_TRUE(path_exists(dir / "config.json"));
    json c = json::parse(read_file(dir / "config.json"), nullptr, false);
    ASSERT_TRUE(c.is_object()) << read_file(dir / "config.json");
    EXPECT_TRUE(c.contains("ociVersion"));
    EXPECT_EQ(c["root"].value("path", ""), "rootfs");
    EXPECT_TRUE(c["process"]["args"].is_array());
    auto again = rt({"spec"}, in_dir);
    EXPECT_NE(again.exit_code, 0) << "spec overwrote an existing config.json" << again;

    TempDir other("spec");
    auto rb = rt({"spec", "--bundle", other.path()});
    ASSERT_EQ(rb.exit_code, 0) << rb;
    EXPECT_TRUE(path_exists(other / "config.json"));
}

// --root is created with its parents, as runc does (containerd passes
// /run/containerd/runc/<namespace> before it exists).
TEST_F(Lifecycle, StateRootIsCreatedWithItsParents) {
    Bundle b({"true"});
    b.write();
    std::string root = rt.root() + "/a/b/c";
    std::string id = rt.new_id("nested-root");
    auto r = run_command({rt.binary(), "--root", root, "run", "--bundle", b.dir(), id});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(path_exists(root));
    EXPECT_FALSE(path_exists(root + "/" + id));
}

// What callers' cleanup paths rely on, as runc has it: delete --force of a
// container that is not there succeeds; kill --all of a stopped one succeeds; ps of a stopped one
// prints the header.
TEST_F(Lifecycle, DeleteKillAndPsAsRunc) {
    auto gone = rt.remove("no-such-container-" + rt.new_id(), /*force=*/true);
    EXPECT_EQ(gone.exit_code, 0) << gone;
    auto gone2 = rt.remove("no-such-container-" + rt.new_id());
    EXPECT_NE(gone2.exit_code, 0) << gone2;
    EXPECT_TRUE(contains(gone2.err, "does not exist")) << gone2;

    Bundle b({"sleep", "1000"});
    std::string id = rt.new_id();
    ASSERT_EQ(rt.create(b, id).exit_code, 0);
    int pid = rt.state(id).value_or(json::object()).value("pid", 0);
    ASSERT_GT(pid, 0);
    // The runtime spec: deleting a container that is not stopped is an error
    // (runc deletes a created one; the OCI validation suite holds us to the spec).
    auto d = rt.remove(id);
    EXPECT_NE(d.exit_code, 0) << d;
    EXPECT_EQ(rt.status(id), "created");
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
    EXPECT_TRUE(rt.list_ids().empty());
    EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }, 5s));

    Bundle t({"true"});
    std::string stopped = rt.new_id();
    ASSERT_EQ(rt.run(t, stopped, {"-d"}).exit_code, 0);
    ASSERT_TRUE(rt.wait_status(stopped, "stopped", 10s));
    for (const char* sig : {"KILL", "0"}) {
        auto k = rt({"kill", "--all", stopped, sig});
        EXPECT_EQ(k.exit_code, 0) << sig << k;
    }
    EXPECT_NE(rt.kill(stopped, "KILL").exit_code, 0);  // without --all: "not running"
    auto ps = rt({"ps", stopped});
    EXPECT_EQ(ps.exit_code, 0) << ps;
    EXPECT_EQ(lines(ps.out).size(), 1u) << ps;
    EXPECT_TRUE(contains(ps.out, "PID")) << ps;
    EXPECT_EQ(rt.remove(stopped).exit_code, 0);
}

// run --keep: the stopped container stays (state, exit) until delete.
TEST_F(Lifecycle, RunKeep) {
    Bundle b;
    b.script("exit 3");
    std::string id = rt.new_id();
    auto r = rt.run(b, id, {"--keep"});
    EXPECT_EQ(r.exit_code, 3) << r;
    EXPECT_EQ(rt.status(id), "stopped");
    EXPECT_EQ(rt.remove(id).exit_code, 0);
    EXPECT_TRUE(rt.list_ids().empty());
}

}  // namespace
}  // namespace hako::test
