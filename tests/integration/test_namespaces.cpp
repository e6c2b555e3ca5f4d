// Namespaces, checked from inside the container: pid, uts, network, user, time.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>

#include "harness.hpp"

namespace hako::test {
namespace {

using Namespaces = ContainerTest;

TEST_F(Namespaces, PidNamespaceSeesOnlyItsOwnProcesses) {
    Bundle b;
    // (`; exit 0` keeps sh from exec'ing ps, its last command)
    b.script("echo self=$$; ps -o pid,comm; exit 0");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto ls = lines(r.out);
    ASSERT_GE(ls.size(), 3u) << r;
    EXPECT_EQ(ls[0], "self=1") << "the container's process must be pid 1 of its namespace" << r;
    bool saw_init = false;
    int count = 0;
    for (size_t i = 2; i < ls.size(); ++i) {  // ls[1] is ps's header
        auto w = words(ls[i]);
        if (w.size() < 2) continue;
        ++count;
        if (w[0] == "1") {
            saw_init = true;
            EXPECT_EQ(w[1], "sh") << r;
        }
        EXPECT_TRUE(w[1] == "sh" || w[1] == "ps") << "unexpected process " << ls[i] << r;
        EXPECT_LT(std::stoi(w[0]), 100) << "host-looking pid " << ls[i] << r;
    }
    EXPECT_TRUE(saw_init) << r;
    EXPECT_LE(count, 3) << r;
}

TEST_F(Namespaces, HostProcessIsInvisibleAndCannotBeKilled) {
    Child host_sleep({"sleep", "1000"}, with_timeout(120s));
    const std::string hp = std::to_string(host_sleep.pid());
    ASSERT_GT(host_sleep.pid(), 100) << "host pid too small to be told apart from container pids";

    Bundle b;
    b.script("kill -9 " + hp + " 2>/dev/null; echo kill=$?; "
             "if [ -e /proc/" + hp + " ]; then echo visible; else echo invisible; fi; "
             "ps -o pid | grep -qx ' *" + hp + "' && echo listed; echo end");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_FALSE(contains_line(r.out, "kill=0")) << "kill of a host pid succeeded inside the container" << r;
    EXPECT_TRUE(contains_line(r.out, "invisible")) << r;
    EXPECT_FALSE(contains_line(r.out, "listed")) << r;
    EXPECT_TRUE(contains_line(r.out, "end")) << r;
    EXPECT_TRUE(host_sleep.running()) << "the host process died";
}

TEST_F(Namespaces, Hostname) {
    char before[256] = {};
    gethostname(before, sizeof before - 1);
    Bundle b;
    b.config()["hostname"] = "hako-test-host";
    b.script("hostname; uname -n");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"hako-test-host", "hako-test-host"})) << r;
    char after[256] = {};
    gethostname(after, sizeof after - 1);
    EXPECT_STREQ(before, after) << "the host's hostname changed";
}

// runc 1.1 ignores "domainname" (runtime-spec 1.1; runc supports it from 1.2).
TEST_F(Namespaces, Domainname) {
    std::string before = read_file("/proc/sys/kernel/domainname");
    Bundle b;
    b.config()["hostname"] = "hako-test-host";
    b.config()["domainname"] = "hako.example.org";
    b.script("cat /proc/sys/kernel/domainname");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(r.out), "hako.example.org") << r;
    EXPECT_EQ(read_file("/proc/sys/kernel/domainname"), before) << "the host's domainname changed";
}

TEST_F(Namespaces, NetworkNamespaceHasOnlyLoopback) {
    Bundle b;
    b.script("ls /sys/class/net; echo ---; tail -n +3 /proc/net/dev | cut -d: -f1");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto ls = lines(r.out);
    ASSERT_EQ(ls.size(), 3u) << r;
    EXPECT_EQ(ls[0], "lo") << r;
    EXPECT_EQ(ls[1], "---");
    EXPECT_EQ(trim(ls[2]), "lo") << r;
}

TEST_F(Namespaces, UserNamespaceMapsRootToHostUid) {
    Bundle b;
    // The mapped root is "other" to root-owned host files: the shared dir must be 0777.
    std::string shared = b.host_dir("shared", 0777);
    auto& c = b.config();
    c["linux"]["namespaces"].push_back({{"type", "user"}});
    c["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    c["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    b.bind(shared, "/mnt", {"rbind", "rw"});
    b.script("cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; touch /mnt/made-inside && echo touched");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto ls = lines(r.out);
    ASSERT_EQ(ls.size(), 4u) << r;
    EXPECT_EQ(words(ls[0]), (std::vector<std::string>{"0", "100000", "65536"})) << r;
    EXPECT_EQ(words(ls[1]), (std::vector<std::string>{"0", "100000", "65536"})) << r;
    EXPECT_EQ(ls[2], "0") << r;
    EXPECT_EQ(ls[3], "touched") << r;
    struct stat st{};
    ASSERT_EQ(stat((shared + "/made-inside").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 100000u);
    EXPECT_EQ(st.st_gid, 100000u);
}

// /proc/uptime follows CLOCK_BOOTTIME, which a time namespace offsets.
// runc 1.1 has no time namespace support and refuses this config.
TEST_F(Namespaces, TimeNamespaceOffsetsBoottime) {
    if (!path_exists("/proc/self/ns/time")) GTEST_SKIP() << "kernel without time namespaces";
    Bundle b;
    auto& c = b.config();
    c["linux"]["namespaces"].push_back({{"type", "time"}});
    c["linux"]["timeOffsets"] = {{"boottime", {{"secs", 1000000}, {"nanosecs", 0}}},
                                 {"monotonic", {{"secs", 500000}, {"nanosecs", 0}}}};
    b.script("cat /proc/uptime");
    double host_before = std::stod(words(read_file("/proc/uptime"))[0]);
    auto r = run(b);
    double host_after = std::stod(words(read_file("/proc/uptime"))[0]);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto w = words(r.out);
    ASSERT_FALSE(w.empty()) << r;
    double inside = std::stod(w[0]);
    EXPECT_GE(inside, host_before + 1000000 - 1) << r;
    EXPECT_LE(inside, host_after + 1000000 + 1) << r;
}

}  // namespace
}  // namespace hako::test
