// Hooks: each kind runs at its point of the lifecycle, in its namespace,
// in the listed order, with the state on stdin; failures and timeouts are
// errors (or, for poststart and poststop, warnings).
#include <stdlib.h>
#include <unistd.h>

#include "harness.hpp"

namespace hako::test {
namespace {

using Hooks = ContainerTest;

std::string ns_of(const std::string& pid, const char* ns) {
    char buf[128] = {};
    std::string link = "/proc/" + pid + "/ns/" + ns;
    if (readlink(link.c_str(), buf, sizeof buf - 1) < 0) return {};
    return buf;
}

// A hook that logs "KIND <mount ns>" to LOG and saves its stdin to DIR/KIND.json.
json hook(const std::string& sh, const std::string& kind, const std::string& log, const std::string& dir) {
    return {{"path", sh},
            {"args", {"sh", "-c", "echo " + kind + " $(readlink /proc/self/ns/mnt) >> " + log + "; cat > " +
                                      dir + "/" + kind + ".json"}}};
}

TEST_F(Hooks, EachKindRunsInOrderInItsNamespaceWithTheState) {
    Bundle b({"sleep", "1000"});
    std::string out = b.host_dir("out", 0777);
    b.bind(out, "/out");
    auto& h = b.config()["hooks"];
    // In the runtime's namespace: the host's /bin/sh, the host path of out/.
    for (const char* kind : {"prestart", "createRuntime"})
        h[kind] = json::array({hook("/bin/sh", std::string(kind) + "1", out + "/log", out),
                   hook("/bin/sh", std::string(kind) + "2", out + "/log", out)});
    // createContainer: the container's mount namespace, before pivot_root
    // (the path resolves on the host).
    h["createContainer"] = json::array({hook("/bin/sh", "createContainer", out + "/log", out)});
    // startContainer: in the container, after pivot_root: the container's sh and /out.
    h["startContainer"] = json::array({hook("/bin/sh", "startContainer", "/out/log", "/out")});
    h["poststart"] = json::array({hook("/bin/sh", "poststart", out + "/log", out)});
    h["poststop"] = json::array({hook("/bin/sh", "poststop", out + "/log", out)});
    b.config()["annotations"] = {{"org.hako.test", "hooks"}};

    std::string id = rt.new_id("hooks");
    auto c = rt.create(b, id);
    ASSERT_EQ(c.exit_code, 0) << c;
    auto created = lines(read_file(out + "/log"));
    ASSERT_EQ(created.size(), 5u) << read_file(out + "/log");  // startContainer not yet
    int pid = rt.state(id).value_or(json::object()).value("pid", 0);
    ASSERT_GT(pid, 0);
    auto s = rt.start(id);
    ASSERT_EQ(s.exit_code, 0) << s;
    ASSERT_TRUE(wait_until([&] { return lines(read_file(out + "/log")).size() >= 7; }, 5s))
        << read_file(out + "/log");
    std::string host_mnt = ns_of("self", "mnt"), container_mnt = ns_of(std::to_string(pid), "mnt");
    ASSERT_NE(host_mnt, container_mnt);
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);

    auto log = lines(read_file(out + "/log"));
    std::vector<std::pair<std::string, std::string>> want = {
        {"prestart1", host_mnt},        {"prestart2", host_mnt},
        {"createRuntime1", host_mnt},   {"createRuntime2", host_mnt},
        {"createContainer", container_mnt}, {"startContainer", container_mnt},
        {"poststart", host_mnt},        {"poststop", host_mnt}};
    ASSERT_EQ(log.size(), want.size()) << read_file(out + "/log");
    for (size_t i = 0; i < want.size(); ++i)
        EXPECT_EQ(log[i], want[i].first + " " + want[i].second) << "line " << i;

    // The state on stdin.
    for (const char* kind : {"prestart1", "createRuntime1", "createContainer", "startContainer", "poststart",
                             "poststop"}) {
        auto st = json::parse(read_file(out + "/" + kind + ".json"), nullptr, false);
        ASSERT_FALSE(st.is_discarded()) << kind;
        EXPECT_EQ(st.value("id", ""), id) << kind;
        EXPECT_EQ(st.value("bundle", ""), b.dir()) << kind;
        EXPECT_EQ(st["annotations"].value("org.hako.test", ""), "hooks") << kind;
        if (std::string(kind) != "poststop") {
            EXPECT_EQ(st.value("pid", 0), pid) << kind;
        }
    }
    EXPECT_EQ(json::parse(read_file(out + "/poststart.json")).value("status", ""), "running");
    EXPECT_EQ(json::parse(read_file(out + "/poststop.json")).value("status", ""), "stopped");
    EXPECT_EQ(json::parse(read_file(out + "/prestart1.json")).value("status", ""), "created");
}

TEST_F(Hooks, AFailingCreateHookFailsCreateAndLeavesNothing) {
    for (const char* kind : {"prestart", "createRuntime", "createContainer", "startContainer"}) {
        Bundle b({"true"});
        b.config()["hooks"][kind] = {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo broken >&2; exit 3"}}}};
        std::string id = rt.new_id("hookfail");
        if (std::string(kind) == "startContainer") {
            // In the container, after start: the process never runs.
            std::string out = b.host_dir("out", 0777);
            b.bind(out, "/out");
            b.script("touch /out/ran");
            b.config()["hooks"][kind][0]["path"] = "/bin/sh";
            auto c = rt.create(b, id);
            ASSERT_EQ(c.exit_code, 0) << c;
            rt.start(id);
            EXPECT_TRUE(rt.wait_status(id, "stopped")) << kind;
            EXPECT_FALSE(path_exists(out + "/ran")) << kind;
            EXPECT_EQ(rt.remove(id).exit_code, 0);
            continue;
        }
        auto c = rt.create(b, id);
        EXPECT_NE(c.exit_code, 0) << kind;
        EXPECT_TRUE(contains(c.err, std::string("hooks.") + kind + "[0]")) << c;
        EXPECT_TRUE(contains(c.err, "exit status 3")) << c;
        EXPECT_TRUE(contains(c.err, "broken")) << c;  // what the hook said
        EXPECT_FALSE(rt.state(id).has_value()) << kind;
        EXPECT_TRUE(rt.list_ids().empty()) << kind;
    }
}

TEST_F(Hooks, PoststartAndPoststopFailuresAreWarnings) {
    Bundle b({"true"});
    std::string out = b.host_dir("out", 0777);
    auto fail = json{{"path", "/bin/false"}};
    auto mark = [&](const std::string& name) {
        return json{{"path", "/bin/sh"}, {"args", {"sh", "-c", "touch " + out + "/" + name}}};
    };
    b.config()["hooks"]["poststart"] = {fail, mark("poststart")};
    b.config()["hooks"]["poststop"] = {fail, mark("poststop")};
    std::string id = rt.new_id("hookwarn");
    ASSERT_EQ(rt.create(b, id).exit_code, 0);
    auto s = rt.start(id);
    EXPECT_EQ(s.exit_code, 0) << s;
    EXPECT_TRUE(contains(s.err, "hooks.poststart[0]")) << s;
    EXPECT_TRUE(path_exists(out + "/poststart"));  // the next hook still ran
    ASSERT_TRUE(rt.wait_status(id, "stopped"));
    auto d = rt.remove(id);
    EXPECT_EQ(d.exit_code, 0) << d;
    EXPECT_TRUE(contains(d.err, "hooks.poststop[0]")) << d;
    EXPECT_TRUE(path_exists(out + "/poststop"));
}

TEST_F(Hooks, TimeoutKillsTheHookAndFails) {
    Bundle b({"true"});
    b.config()["hooks"]["createRuntime"] = {{{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}, {"timeout", 1}}};
    std::string id = rt.new_id("hooktimeout");
    auto t0 = std::chrono::steady_clock::now();
    auto c = rt.create(b, id);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_NE(c.exit_code, 0);
    EXPECT_TRUE(contains(c.err, "hooks.createRuntime[0]")) << c;
    EXPECT_TRUE(contains(c.err, "timed out after 1 s")) << c;
    EXPECT_LT(took, 10s);
    EXPECT_TRUE(rt.list_ids().empty());
}

TEST_F(Hooks, EnvAndArgsAreTheHooks) {
    Bundle b({"true"});
    std::string out = b.host_dir("out", 0777);
    b.config()["hooks"]["prestart"] = {{{"path", "/bin/sh"},
                                        {"args", {"sh", "-c", "echo \"$0 $FOO $HOME\" > " + out + "/env", "zero"}},
                                        {"env", {"FOO=bar"}}}};
    auto r = run(b);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(read_file(out + "/env"), "zero bar \n");  // only the hook's env
}

// A hook without `env` inherits the runtime's environment (runc, crun); the
// createContainer hook runs at the container's rootfs.
TEST_F(Hooks, InheritTheRuntimesEnvironmentAndCreateContainerRunsAtTheRootfs) {
    Bundle b({"true"});
    std::string out = b.host_dir("out", 0777);
    auto& h = b.config()["hooks"];
    h["prestart"] = {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo \"$HAKO_HOOK_MARK\" > " + out + "/env"}}}};
    h["createContainer"] = {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "pwd -P > " + out + "/cwd"}}}};
    setenv("HAKO_HOOK_MARK", "inherited", 1);
    auto r = run(b);
    unsetenv("HAKO_HOOK_MARK");
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(read_file(out + "/env")), "inherited");
    char* real = realpath(b.rootfs().c_str(), nullptr);
    ASSERT_NE(real, nullptr);
    EXPECT_EQ(trim(read_file(out + "/cwd")), std::string(real));
    free(real);
}

}  // namespace
}  // namespace hako::test
