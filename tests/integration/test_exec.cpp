// exec: a new process in a running container joins every namespace and the
// cgroup of its init, takes the process settings, and returns its exit
// status in the foreground.
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "harness.hpp"

namespace hako::test {
namespace {

using Exec = ContainerTest;

constexpr const char* kNamespaces[] = {"mnt", "pid", "net", "ipc", "uts", "cgroup", "user", "time"};

// A running `sleep` container: its id and init's pid.
std::pair<std::string, int> start_sleeper(Runtime& rt, Bundle& b) {
    std::string id = rt.new_id("exec");
    auto r = rt.run(b, id, {"--detach"});
    EXPECT_EQ(r.exit_code, 0) << r;
    int pid = rt.state(id).value_or(json::object()).value("pid", 0);
    EXPECT_GT(pid, 0);
    return {id, pid};
}

std::string ns_script() {
    std::string s;
    for (auto ns : kNamespaces) s += std::string("readlink /proc/self/ns/") + ns + "; ";
    return s + "cat /proc/self/cgroup";
}

void expect_same_namespaces_and_cgroup(const Result& r, int init) {
    auto ls = lines(r.out);
    ASSERT_GE(ls.size(), std::size(kNamespaces)) << r;
    for (size_t i = 0; i < std::size(kNamespaces); ++i) {
        char buf[128] = {};
        std::string link = "/proc/" + std::to_string(init) + "/ns/" + kNamespaces[i];
        ASSERT_GT(readlink(link.c_str(), buf, sizeof buf - 1), 0) << link;
        EXPECT_EQ(ls[i], buf) << kNamespaces[i];
    }
    // /proc/self/cgroup as seen from inside: the same lines as init's.
    std::string cgroups;
    for (size_t i = std::size(kNamespaces); i < ls.size(); ++i) cgroups += ls[i] + "\n";
    EXPECT_EQ(cgroups, read_file("/proc/" + std::to_string(init) + "/cgroup")) << r;
}

TEST_F(Exec, JoinsEveryNamespaceAndTheCgroupAndReturnsTheExitStatus) {
    Bundle b({"sleep", "1000"});
    b.config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    b.config()["linux"]["namespaces"].push_back({{"type", "time"}});
    b.config()["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 3600}, {"nanosecs", 0}}}};
    auto [id, init] = start_sleeper(rt, b);
    auto r = rt({"exec", id, "sh", "-c", ns_script()});
    ASSERT_EQ(r.exit_code, 0) << r;
    // (cgroup namespace: init's view of /proc/self/cgroup is of its own ns;
    // compare the links, and the paths from the host below.)
    auto ls = lines(r.out);
    for (size_t i = 0; i < std::size(kNamespaces) && i < ls.size(); ++i) {
        char buf[128] = {};
        std::string link = "/proc/" + std::to_string(init) + "/ns/" + kNamespaces[i];
        ASSERT_GT(readlink(link.c_str(), buf, sizeof buf - 1), 0);
        EXPECT_EQ(ls[i], buf) << kNamespaces[i];
    }
    auto sh = rt({"exec", id, "sh", "-c", "echo $$; hostname; cat /proc/1/cmdline | tr '\\0' ' '; exit 7"});
    EXPECT_EQ(sh.exit_code, 7) << sh;
    auto out = lines(sh.out);
    ASSERT_EQ(out.size(), 3u) << sh;
    EXPECT_NE(out[0], "1");                   // a new process in the container's pid namespace
    EXPECT_EQ(out[1], b.config()["hostname"].get<std::string>());  // its uts namespace
    EXPECT_EQ(trim(out[2]), "sleep 1000");    // and its pid 1
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

TEST_F(Exec, JoinsTheCgroup) {
    Bundle b({"sleep", "1000"});
    auto [id, init] = start_sleeper(rt, b);
    auto r = rt({"exec", id, "sh", "-c", ns_script()});
    ASSERT_EQ(r.exit_code, 0) << r;
    expect_same_namespaces_and_cgroup(r, init);
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

TEST_F(Exec, JoinsAUserNamespace) {
    Bundle b({"sleep", "1000"});
    auto& c = b.config();
    c["linux"]["namespaces"].push_back({{"type", "user"}});
    c["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    c["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    auto [id, init] = start_sleeper(rt, b);
    auto r = rt({"exec", id, "sh", "-c", ns_script()});
    ASSERT_EQ(r.exit_code, 0) << r;
    expect_same_namespaces_and_cgroup(r, init);
    auto who = rt({"exec", id, "sh", "-c", "id -u; cat /proc/self/uid_map"});
    ASSERT_EQ(who.exit_code, 0) << who;
    EXPECT_EQ(lines(who.out)[0], "0");
    EXPECT_EQ(words(lines(who.out)[1]), (std::vector<std::string>{"0", "100000", "65536"}));
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

TEST_F(Exec, UserEnvCwdAndCapabilities) {
    Bundle b({"sleep", "1000"});
    auto [id, init] = start_sleeper(rt, b);
    auto r = rt({"exec", "--user", "1000:1001", "--env", "FOO=bar", "-e", "PATH=/bin", "--cwd", "/tmp", id,
                 "sh", "-c", "id -u; id -g; echo $FOO; pwd; echo $PATH"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"1000", "1001", "bar", "/tmp", "/bin"}));
    // --cap adds to the sets: CAP_SYS_ADMIN is bit 21.
    auto caps = rt({"exec", "--cap", "CAP_SYS_ADMIN", id, "sh", "-c", "grep CapEff /proc/self/status"});
    ASSERT_EQ(caps.exit_code, 0) << caps;
    unsigned long long eff = std::stoull(words(caps.out).at(1), nullptr, 16);
    EXPECT_TRUE(eff & (1ULL << 21)) << caps.out;
    auto plain = rt({"exec", id, "sh", "-c", "grep CapEff /proc/self/status"});
    EXPECT_FALSE(std::stoull(words(plain.out).at(1), nullptr, 16) & (1ULL << 21)) << plain.out;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

TEST_F(Exec, ProcessFileDetachAndPidFile) {
    Bundle b({"sleep", "1000"});
    auto [id, init] = start_sleeper(rt, b);
    json p = default_config()["process"];
    p["args"] = {"sleep", "500"};
    write_file(b.dir() + "/process.json", p.dump());
    std::string pid_file = b.dir() + "/exec.pid";
    auto r = rt({"exec", "--process", b.dir() + "/process.json", "--detach", "--pid-file", pid_file, id});
    ASSERT_EQ(r.exit_code, 0) << r;
    int pid = std::stoi(read_file(pid_file));
    EXPECT_TRUE(process_alive(pid));
    EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/cmdline"), std::string("sleep") + '\0' + "500" + '\0');
    auto ps = rt({"ps", "--format", "json", id});
    EXPECT_TRUE(contains(ps.out, std::to_string(pid))) << ps;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
    EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }, 5s));
}

TEST_F(Exec, ErrorsNameTheProblem) {
    Bundle b({"sleep", "1000"});
    auto [id, init] = start_sleeper(rt, b);
    auto missing = rt({"exec", id, "no-such-binary"});
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_TRUE(contains(missing.err, "exec `no-such-binary` (process.args[0]): executable file not found")) << missing;
    auto cwd = rt({"exec", "--cwd", "/no/such/dir", id, "true"});
    EXPECT_NE(cwd.exit_code, 0);
    EXPECT_TRUE(contains(cwd.err, "process.cwd")) << cwd;
    auto none = rt({"exec", "no-such-container", "true"});
    EXPECT_NE(none.exit_code, 0);
    ASSERT_EQ(rt.kill(id, "KILL").exit_code, 0);
    ASSERT_TRUE(rt.wait_status(id, "stopped"));
    auto stopped = rt({"exec", id, "true"});
    EXPECT_NE(stopped.exit_code, 0);
    EXPECT_TRUE(contains(stopped.err, "is stopped")) << stopped;
    EXPECT_EQ(rt.remove(id).exit_code, 0);
}

// -g/--additional-gids; exit statuses: the process's own, and 255 when the
// runtime fails (runc's rule, so callers can tell them apart).
TEST_F(Exec, AdditionalGidsAndTheRuntimesExitStatus) {
    Bundle b({"sleep", "1000"});
    auto [id, init] = start_sleeper(rt, b);
    auto g = rt({"exec", "-g", "10", "--additional-gids", "20", id, "id", "-G"});
    ASSERT_EQ(g.exit_code, 0) << g;
    auto gids = words(g.out);
    EXPECT_NE(std::find(gids.begin(), gids.end(), "10"), gids.end()) << g;
    EXPECT_NE(std::find(gids.begin(), gids.end(), "20"), gids.end()) << g;
    auto one = rt({"exec", id, "sh", "-c", "exit 1"});
    EXPECT_EQ(one.exit_code, 1) << one;
    auto none = rt({"exec", "no-such-container", "true"});
    EXPECT_EQ(none.exit_code, 255) << none;
    auto bad = rt({"exec", "--cwd", "/no/such/dir", id, "true"});
    EXPECT_EQ(bad.exit_code, 255) << bad;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

// A paused container: exec refuses, unless --ignore-paused (the process
// then runs once the container is resumed).
TEST_F(Exec, IgnorePaused) {
    Bundle b({"sleep", "1000"});
    auto [id, init] = start_sleeper(rt, b);
    ASSERT_EQ(rt({"pause", id}).exit_code, 0);
    auto refused = rt({"exec", id, "true"});
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_TRUE(contains(refused.err, "--ignore-paused")) << refused;
    auto child = rt.spawn({"exec", "--ignore-paused", id, "echo", "ran"});
    std::this_thread::sleep_for(200ms);
    ASSERT_EQ(rt({"resume", id}).exit_code, 0);
    auto r = child->wait();
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(r.out), "ran") << r;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

}  // namespace
}  // namespace hako::test

namespace hako::test {
namespace {

// `features`: the OCI features document says what this runtime supports.
TEST_F(Exec, FeaturesDocument) {
    auto r = rt({"features"});
    ASSERT_EQ(r.exit_code, 0) << r;
    auto j = json::parse(r.out);
    EXPECT_EQ(j["ociVersionMin"], "1.0.0");
    auto has = [](const json& arr, const std::string& v) {
        return std::find(arr.begin(), arr.end(), v) != arr.end();
    };
    EXPECT_TRUE(has(j["mountOptions"], "rbind"));
    EXPECT_TRUE(has(j["mountOptions"], "rro"));
    EXPECT_TRUE(has(j["linux"]["namespaces"], "time"));
    EXPECT_TRUE(has(j["linux"]["capabilities"], "CAP_SYS_ADMIN"));
    EXPECT_EQ(j["linux"]["cgroup"]["v2"], true);
    EXPECT_TRUE(has(j["linux"]["seccomp"]["actions"], "SCMP_ACT_ERRNO"));
    EXPECT_TRUE(has(j["linux"]["seccomp"]["actions"], "SCMP_ACT_NOTIFY"));
    EXPECT_TRUE(has(j["hooks"], "createContainer"));
    EXPECT_TRUE(has(j["linux"]["seccomp"]["archs"], "SCMP_ARCH_X86_64"));
}

}  // namespace
}  // namespace hako::test
