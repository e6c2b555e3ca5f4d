// Bind mounts into a user namespace (Kubernetes' user-namespace pods), and idmapped
// mounts (runtime-spec 1.2): checked from inside the container.
#include <sys/stat.h>
#include <unistd.h>

#include "harness.hpp"

namespace hako::test {
namespace {

using UsernsMounts = ContainerTest;

json id_map(int container, int host, int size) {
    return json::array({{{"containerID", container}, {"hostID", host}, {"size", size}}});
}

// A user namespace mapping 0 to 100000, and a private rootfs owned by the
// mapped root (as it would be for such a container), so mount points can be
// made in it.
void add_userns(Bundle& b) {
    std::string rootfs = b.writable_rootfs();
    auto chowned = run_command({"chown", "-R", "100000:100000", rootfs});
    ASSERT_TRUE(chowned.ok()) << chowned;
    auto& c = b.config();
    c["linux"]["namespaces"].push_back({{"type", "user"}});
    c["linux"]["uidMappings"] = id_map(0, 100000, 65536);
    c["linux"]["gidMappings"] = id_map(0, 100000, 65536);
}

// A directory the mapped root cannot reach: under a 0700 directory of the
// host's root (host uid 0 is not mapped: the mapped root is "other" to it).
std::string unreachable_dir(Bundle& b, const std::string& name, const std::string& content) {
    std::string priv = b.host_dir("private-" + name, 0700);
    std::string dir = priv + "/" + name;
    EXPECT_EQ(mkdir(dir.c_str(), 0755), 0);
    write_file(dir + "/file", content);
    return dir;
}

// The kernel refuses to idmap a file system that does not support it (tmpfs
// before 6.3, as /tmp in the cgroup v2 VM).
#define skip_without_idmap_support(r)                                                \
    if ((r).exit_code != 0 && contains((r).err, "may not support idmapped mounts")) \
    GTEST_SKIP() << "the test directory's file system has no idmapped mounts here" << (r)

TEST_F(UsernsMounts, BindSourceTheMappedRootMayRead) {
    Bundle b;
    add_userns(b);
    std::string shared = b.host_dir("shared", 0755);
    write_file(shared + "/file", "readable\n");
    b.bind(shared, "/data", {"rbind", "ro"});
    b.script("id -u; cat /data/file");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"0", "readable"})) << r;
}

TEST_F(UsernsMounts, BindSourceTheMappedRootCannotReach) {
    Bundle b;
    add_userns(b);
    std::string dir = unreachable_dir(b, "data", "behind a 0700 directory\n");
    b.bind(dir, "/data", {"rbind", "ro"});
    b.script("cat /data/file");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(r.out), "behind a 0700 directory") << r;
}

TEST_F(UsernsMounts, TwoUnreachableSourcesAFileAndExec) {
    Bundle b({"sleep", "1000"});
    add_userns(b);
    std::string one = unreachable_dir(b, "one", "1\n");
    std::string two = unreachable_dir(b, "two", "2\n");
    b.bind(one, "/one", {"bind", "ro"});
    b.bind(two, "/two", {"rbind", "rw"});
    b.bind(two + "/file", "/etc/two-file", {"bind", "ro"});  // a file onto a file
    std::string id = rt.new_id("userns");
    auto c = rt.run(b, id, {"-d"});
    ASSERT_EQ(c.exit_code, 0) << c;
    auto r = rt({"exec", id, "sh", "-c", "cat /one/file /two/file /etc/two-file; grep -c ' /one \\| /two ' /proc/mounts"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"1", "2", "2", "2"})) << r;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
}

TEST_F(UsernsMounts, BindMountBeforeACgroupMount) {
    Bundle b;
    add_userns(b);
    b.config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    std::string dir = unreachable_dir(b, "data", "x\n");
    // Before the spec's own cgroup mount (the default config has one, at /sys/fs/cgroup).
    auto& mounts = b.config()["mounts"];
    json m = {{"destination", "/data"}, {"type", "bind"}, {"source", dir}, {"options", {"rbind", "ro"}}};
    mounts.insert(mounts.begin(), m);
    bool has_cgroup = false;
    for (const auto& x : mounts) has_cgroup = has_cgroup || x["type"] == "cgroup";
    ASSERT_TRUE(has_cgroup);
    b.script("cat /data/file; ls /sys/fs/cgroup | head -n 1 | wc -l");
    auto r = run(b);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"x", "1"})) << r;
}

// A failure in init (here a source that does not exist) reaches the caller
// as init's own error, never as the sync socket's EPIPE.
TEST_F(UsernsMounts, InitsErrorIsReportedNotEpipe) {
    Bundle b;
    add_userns(b);
    b.bind(b.dir() + "/no-such-dir", "/data", {"rbind", "ro"});
    auto r = run(b);
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.err, "no-such-dir")) << r;
    EXPECT_TRUE(contains(r.err, "mounts[")) << r;
    EXPECT_FALSE(contains(r.err, "EPIPE")) << r;
}

// Files owned by uid 0 on disk show as uid 1000 through a mount idmapped
// with {containerID 0, hostID 1000}; a file made through it is owned by 0 on
// disk. No user namespace for the container.
TEST_F(UsernsMounts, IdmappedMountWithItsOwnMaps) {
    Bundle b;
    std::string dir = b.host_dir("idmapped", 0755);
    write_file(dir + "/file", "x");
    ASSERT_EQ(chown((dir + "/file").c_str(), 0, 0), 0);
    b.add_mount({{"destination", "/idm"},
                 {"type", "bind"},
                 {"source", dir},
                 {"options", {"bind", "idmap"}},
                 {"uidMappings", id_map(0, 1000, 1)},
                 {"gidMappings", id_map(0, 2000, 1)}});
    b.script("stat -c '%u %g' /idm/file; grep ' /idm ' /proc/self/mountinfo | grep -c idmapped");
    auto r = run(b);
    skip_without_idmap_support(r);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"1000 2000", "1"})) << r;
}

// "idmap" without maps of its own: the container's user namespace maps, so
// the host's root-owned files are root's inside, and a file the container
// makes is owned by the host's root.
TEST_F(UsernsMounts, IdmappedMountWithTheContainersMaps) {
    Bundle b;
    add_userns(b);
    std::string dir = b.host_dir("volume", 0755);
    write_file(dir + "/file", "x");
    b.add_mount({{"destination", "/vol"}, {"type", "bind"}, {"source", dir}, {"options", {"rbind", "rw", "ridmap"}}});
    b.script("stat -c '%u %g' /vol/file; touch /vol/made && echo made");
    auto r = run(b);
    skip_without_idmap_support(r);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"0 0", "made"})) << r;
    struct stat st{};
    ASSERT_EQ(stat((dir + "/made").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, 0u);
}

TEST_F(UsernsMounts, IdmapNeedsBothMapsAndABindMount) {
    Bundle b;
    b.add_mount({{"destination", "/idm"},
                 {"type", "bind"},
                 {"source", b.host_dir("x")},
                 {"options", {"bind"}},
                 {"uidMappings", id_map(0, 1000, 1)}});
    auto r = run(b);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.err, "gidMappings")) << r;

    Bundle t;
    t.add_mount({{"destination", "/t"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"idmap"}}});
    auto r2 = run(t);
    EXPECT_NE(r2.exit_code, 0);
    EXPECT_TRUE(contains(r2.err, "idmapped mounts need a bind mount")) << r2;
}

TEST_F(UsernsMounts, FeaturesListIdmap) {
    auto r = rt({"features"});
    ASSERT_EQ(r.exit_code, 0) << r;
    auto j = json::parse(r.out);
    EXPECT_EQ(j["linux"]["mountExtensions"]["idmap"]["enabled"], true) << r.out;
    auto opts = j["mountOptions"];
    EXPECT_NE(std::find(opts.begin(), opts.end(), "idmap"), opts.end());
    EXPECT_NE(std::find(opts.begin(), opts.end(), "ridmap"), opts.end());
}

}  // namespace
}  // namespace hako::test
