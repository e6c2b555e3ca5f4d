// The container's cgroup: created where linux.cgroupsPath says (parents too,
// with a usable cpuset on cgroup v1), limits written and enforced, init
// inside it, pause/resume/update/events/ps/kill --all through it, and
// removed by delete. Every test runs on cgroup v1 (this host) and on pure
// v2 (tests/vm/run-cgroup-v2.sh runs the "Cgroup*" suites in a VM).
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.hpp"
#include "harness.hpp"

namespace hako::test {
namespace {

const bool kV2 = cgroup::is_pure_v2();

class Cgroups : public ContainerTest {
protected:
    // A relative cgroupsPath: below this process's own cgroup in each hierarchy.
    std::string rel_path(const std::string& id) { return "hako-it-" + id; }

    // The directory of controller `ctrl` for relative path `rel`.
    static std::string dir(const std::string& ctrl, const std::string& rel) {
        auto ms = cgroup::self_memberships();
        if (!ms) return "";
        for (const auto& m : *ms) {
            if (kV2 && m.controllers.empty()) return "/sys/fs/cgroup" + m.path + "/" + rel;
            if (kV2) continue;
            for (const auto& c : split_commas(m.controllers))
                if (c == ctrl) return "/sys/fs/cgroup/" + m.controllers + m.path + (m.path == "/" ? "" : "/") + rel;
        }
        return "";
    }
    static std::vector<std::string> split_commas(const std::string& s) {
        std::vector<std::string> out;
        size_t start = 0;
        for (size_t i = 0; i <= s.size(); ++i)
            if (i == s.size() || s[i] == ',') {
                out.push_back(s.substr(start, i - start));
                start = i + 1;
            }
        return out;
    }
    // Every directory the container may have: one per hierarchy.
    static std::vector<std::string> all_dirs(const std::string& rel) {
        std::vector<std::string> out;
        auto ms = cgroup::self_memberships();
        if (!ms) return out;
        for (const auto& m : *ms) {
            std::string mount = m.controllers.empty() ? (kV2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified")
                                                      : "/sys/fs/cgroup/" + m.controllers;
            if (m.controllers.rfind("name=", 0) == 0) mount = "/sys/fs/cgroup/" + m.controllers.substr(5);
            out.push_back(mount + m.path + (m.path == "/" ? "" : "/") + rel);
        }
        return out;
    }
    void expect_no_cgroup_left(const std::string& rel) {
        for (const auto& d : all_dirs(rel)) EXPECT_FALSE(path_exists(d)) << d << " was left behind";
    }

    // A bundle whose config puts the container at rel_path(id).
    std::string with_cgroup(Bundle& b) {
        std::string id = rt.new_id("cg");
        b.config()["linux"]["cgroupsPath"] = rel_path(id);
        return id;
    }
    json& resources(Bundle& b) { return b.config()["linux"]["resources"]; }
    std::string file(const std::string& ctrl, const std::string& id, const std::string& name) {
        return read_file(dir(ctrl, rel_path(id)) + "/" + name);
    }
};

// A loop that keeps allocating: a shell string that doubles.
constexpr const char* kMemoryHog = "x=0123456789abcdef; while true; do x=\"$x$x\"; done";

TEST_F(Cgroups, NestedAbsolutePathGetsLimitsAndIsRemovedOnDelete) {
    const std::string top = "/hako-it-" + std::to_string(getpid());
    const std::string path = top + "/c";
    Bundle b({"sleep", "1000"});
    b.config()["linux"]["cgroupsPath"] = path;
    b.config()["linux"]["resources"]["pids"] = {{"limit", 10}};
    std::string id = rt.new_id("cg");
    auto c = rt.create(b, id);
    ASSERT_EQ(c.exit_code, 0) << c;  // on v1 this needs a cpuset in `top` as well as in `c`

    const std::string pids_dir = kV2 ? "/sys/fs/cgroup" + path : "/sys/fs/cgroup/pids" + path;
    EXPECT_EQ(read_file(pids_dir + "/pids.max"), "10\n");
    int pid = rt.state(id).value_or(json::object()).value("pid", 0);
    ASSERT_GT(pid, 0);
    EXPECT_NE(read_file(pids_dir + "/cgroup.procs").find(std::to_string(pid)), std::string::npos);

    EXPECT_EQ(rt.remove(id, /*force=*/true).exit_code, 0);
    EXPECT_FALSE(path_exists(pids_dir));
    // The parent was made by the runtime for this path; delete leaves it, as runc does.
    for (const auto& h : {"pids", "cpuset", "memory", "cpu", "cpuacct", "blkio", "devices", "freezer",
                          "hugetlb", "unified", ""})
        rmdir((std::string("/sys/fs/cgroup/") + h + top).c_str());
}

TEST_F(Cgroups, MemoryHogIsOomKilledWithExit137) {
    Bundle b;
    b.script(kMemoryHog);
    std::string id = with_cgroup(b);
    resources(b)["memory"] = {{"limit", 100 << 20}, {"swap", 100 << 20}};  // no swap to escape to
    auto r = rt.run(b, id, {}, with_timeout(120s));
    EXPECT_EQ(r.exit_code, 137) << r;
    expect_no_cgroup_left(rel_path(id));
    // The host is unharmed: the next container runs.
    Bundle next({"true"});
    EXPECT_EQ(run(next).exit_code, 0);
}

TEST_F(Cgroups, EventsReportTheOomKill) {
    Bundle b;
    b.script("sleep 1; " + std::string(kMemoryHog));
    std::string id = with_cgroup(b);
    resources(b)["memory"] = {{"limit", 64 << 20}, {"swap", 64 << 20}};
    ASSERT_EQ(rt.create(b, id).exit_code, 0);
    auto events = rt.spawn({"events", "--interval", "200ms", id}, with_timeout(120s));
    ASSERT_EQ(rt.start(id).exit_code, 0);
    auto r = events->wait();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, R"({"type":"oom","id":")" + id + "\"}")) << r.out.substr(0, 2000);
    EXPECT_TRUE(contains(r.out, R"({"type":"stats","id":")" + id + "\"")) << r.out.substr(0, 2000);
    EXPECT_EQ(rt.remove(id).exit_code, 0);
    expect_no_cgroup_left(rel_path(id));
}

TEST_F(Cgroups, ForkBombIsContainedByPidsLimit) {
    Bundle b;
    // A subshell forks until the kernel says no (pids.max caps the
    // container at 10) and dies of it; init lives on.
    b.script("(i=0; while [ $i -lt 60 ]; do sleep 1000 & i=$((i+1)); done) 2>/dev/null; sleep 1000; true");
    std::string id = with_cgroup(b);
    resources(b)["pids"] = {{"limit", 10}};
    ASSERT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
    EXPECT_TRUE(wait_until([&] { return contains(file("pids", id, "pids.events"), "max ") &&
                                        !contains(file("pids", id, "pids.events"), "max 0"); }, 10s))
        << file("pids", id, "pids.events");
    // The subshell dies of it; init then forks its own `sleep`: 10 again.
    auto ps_count = [&] {
        auto ps = rt({"ps", "--format", "json", id});
        return ps.exit_code == 0 ? json::parse(ps.out).size() : size_t(0);
    };
    // (ps may count 10 while the subshell still lives, and pids.current read 9
    // in the moment after it dies, before init forks: wait for both at once)
    EXPECT_TRUE(wait_until([&] { return ps_count() == 10 && trim(file("pids", id, "pids.current")) == "10"; }, 10s))
        << ps_count() << " processes, pids.current " << file("pids", id, "pids.current");
    // kill --all reaches every one of them, not only init.
    EXPECT_EQ(rt.kill(id, "KILL", /*all=*/true).exit_code, 0);
    EXPECT_TRUE(wait_until([&] { return trim(file("pids", id, "pids.current")) == "0"; }, 10s));
    EXPECT_EQ(rt.remove(id).exit_code, 0);
    expect_no_cgroup_left(rel_path(id));
}

TEST_F(Cgroups, CpuValuesLandInTheCgroupFiles) {
    Bundle b({"sleep", "1000"});
    std::string id = with_cgroup(b);
    resources(b)["cpu"] = {{"shares", 512}, {"quota", 20000}, {"period", 100000}, {"cpus", "0"}, {"mems", "0"}};
    ASSERT_EQ(rt.create(b, id).exit_code, 0);
    if (kV2) {
        EXPECT_EQ(file("cpu", id, "cpu.weight"), "20\n");  // runc's shares -> weight mapping
        EXPECT_EQ(file("cpu", id, "cpu.max"), "20000 100000\n");
    } else {
        EXPECT_EQ(file("cpu", id, "cpu.shares"), "512\n");
        EXPECT_EQ(file("cpu", id, "cpu.cfs_quota_us"), "20000\n");
        EXPECT_EQ(file("cpu", id, "cpu.cfs_period_us"), "100000\n");
    }
    EXPECT_EQ(file("cpuset", id, "cpuset.cpus"), "0\n");
    EXPECT_EQ(file("cpuset", id, "cpuset.mems"), "0\n");
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
    expect_no_cgroup_left(rel_path(id));
}

// Open a device node made in the container (c 10:200, which the default
// rules don't allow): EPERM from the devices cgroup unless a rule allows it.
TEST_F(Cgroups, DeviceRulesDenyAndAllow) {
    for (bool allow : {false, true}) {
        Bundle b;
        b.script("mknod /dev/xdev c 10 200 && echo made; head -c 0 /dev/xdev; head -c 1 /dev/zero | wc -c");
        json caps = {"CAP_MKNOD", "CAP_KILL"};
        for (auto set : {"bounding", "effective", "permitted"}) b.config()["process"]["capabilities"][set] = caps;
        std::string id = with_cgroup(b);
        json rules = json::array({{{"allow", false}, {"access", "rwm"}}});
        if (allow) rules.push_back({{"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 200}, {"access", "rw"}});
        resources(b)["devices"] = rules;
        auto r = rt.run(b, id);
        EXPECT_TRUE(contains(r.out, "made")) << r;  // mknod of any node is allowed, as runc does
        EXPECT_EQ(contains(r.err, "Operation not permitted"), !allow) << "allow=" << allow << "\n" << r;
        EXPECT_TRUE(contains(r.out, "1\n")) << r;  // /dev/zero: a default device
        expect_no_cgroup_left(rel_path(id));
    }
}

TEST_F(Cgroups, PauseFreezesAndResumeContinues) {
    Bundle b;
    std::string out = b.host_dir("out");
    b.bind(out, "/out");
    b.script("i=0; while true; do i=$((i+1)); echo $i > /out/count; usleep 20000; done");
    std::string id = with_cgroup(b);
    ASSERT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
    auto count = [&] {
        try {
            return std::stoi(read_file(out + "/count"));
        } catch (...) {
            return -1;
        }
    };
    ASSERT_TRUE(wait_until([&] { return count() > 2; }, 10s));
    ASSERT_EQ(rt({"pause", id}).exit_code, 0);
    EXPECT_EQ(rt.status(id), "paused");
    int frozen_at = count();
    usleep(400000);
    EXPECT_EQ(count(), frozen_at) << "the counter advanced while paused";
    EXPECT_NE(rt({"pause", id}).exit_code, 0);  // already paused
    ASSERT_EQ(rt({"resume", id}).exit_code, 0);
    EXPECT_EQ(rt.status(id), "running");
    EXPECT_TRUE(wait_until([&] { return count() > frozen_at + 2; }, 10s));
    EXPECT_NE(rt({"resume", id}).exit_code, 0);  // not paused
    // Paused again, delete --force still removes everything.
    ASSERT_EQ(rt({"pause", id}).exit_code, 0);
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
    expect_no_cgroup_left(rel_path(id));
}

TEST_F(Cgroups, UpdateChangesLimitsOfARunningContainer) {
    Bundle b({"sleep", "1000"});
    std::string id = with_cgroup(b);
    resources(b)["memory"] = {{"limit", 100 << 20}};
    resources(b)["pids"] = {{"limit", 50}};
    ASSERT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
    const std::string mem = kV2 ? "memory.max" : "memory.limit_in_bytes";
    EXPECT_EQ(trim(file("memory", id, mem)), std::to_string(100 << 20));

    auto r = rt({"update", "--memory", "200m", "--pids-limit", "20", id});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(file("memory", id, mem)), std::to_string(200 << 20));
    EXPECT_EQ(trim(file("pids", id, "pids.max")), "20");

    // Podman's way: a linux.resources file.
    write_file(b.dir() + "/res.json", R"({"memory": {"limit": 157286400}, "pids": {"limit": 30}})");
    r = rt({"update", "--resources", b.dir() + "/res.json", id});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(file("memory", id, mem)), "157286400");
    EXPECT_EQ(trim(file("pids", id, "pids.max")), "30");

    r = rt({"update", "--memory", "lots", id});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.err, "--memory: invalid size \"lots\"")) << r;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
    expect_no_cgroup_left(rel_path(id));
}

TEST_F(Cgroups, EventsStatsReportMemoryAndPids) {
    Bundle b({"sh", "-c", "sleep 1000 & sleep 1000 & wait"});
    std::string id = with_cgroup(b);
    resources(b)["memory"] = {{"limit", 100 << 20}};
    resources(b)["pids"] = {{"limit", 50}};
    ASSERT_EQ(rt.run(b, id, {"--detach"}).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return trim(file("pids", id, "pids.current")) == "3"; }, 10s));
    auto r = rt({"events", "--stats", id});
    ASSERT_EQ(r.exit_code, 0) << r;
    auto j = json::parse(r.out);
    EXPECT_EQ(j["type"], "stats");
    EXPECT_EQ(j["id"], id);
    EXPECT_GT(j["data"]["memory"]["usage"]["usage"].get<uint64_t>(), 0u) << r.out;
    EXPECT_EQ(j["data"]["memory"]["usage"]["limit"].get<uint64_t>(), uint64_t(100 << 20)) << r.out;
    EXPECT_EQ(j["data"]["pids"]["current"].get<uint64_t>(), 3u) << r.out;
    EXPECT_EQ(j["data"]["pids"]["limit"].get<uint64_t>(), 50u) << r.out;
    EXPECT_GT(j["data"]["cpu"]["usage"]["total"].get<uint64_t>(), 0u) << r.out;

    auto ps = rt({"ps", id});
    ASSERT_EQ(ps.exit_code, 0) << ps;
    EXPECT_EQ(lines(ps.out).size(), 4u) << ps.out;  // the header and three processes
    EXPECT_TRUE(contains(lines(ps.out)[0], "PID")) << ps.out;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
    expect_no_cgroup_left(rel_path(id));
}

TEST_F(Cgroups, MissingControllerIsAClearError) {
    Bundle b({"true"});
    std::string id = with_cgroup(b);
    resources(b)["network"] = {{"classID", 1048577}};
    auto r = rt.run(b, id);
    EXPECT_NE(r.exit_code, 0);
    bool has_net_cls = !kV2 && !dir("net_cls", "x").empty();
    if (!has_net_cls) {
        EXPECT_TRUE(contains(r.err, "linux.resources.network")) << r;
    }
    EXPECT_TRUE(rt.list_ids().empty());
    expect_no_cgroup_left(rel_path(id));
}

// A cgroupsPath naming a frozen cgroup: refused at once (init would never
// run in it); one that holds processes: a warning, as runc gives.
TEST_F(Cgroups, FrozenCgroupIsRefusedAndABusyOneWarns) {
    Bundle a({"sleep", "1000"});
    std::string first = with_cgroup(a);
    ASSERT_EQ(rt.run(a, first, {"-d"}).exit_code, 0);

    Bundle b({"sleep", "1000"});
    b.config()["linux"]["cgroupsPath"] = rel_path(first);
    std::string second = rt.new_id("cg");
    ASSERT_EQ(rt({"pause", first}).exit_code, 0);
    auto frozen = rt.create(b, second, {}, with_timeout(10s));
    EXPECT_FALSE(frozen.timed_out) << "create hung on a frozen cgroup";
    EXPECT_NE(frozen.exit_code, 0) << frozen;
    EXPECT_TRUE(contains(frozen.err, "is frozen")) << frozen;
    EXPECT_EQ(rt.status(first), "paused") << "the refusal must leave the cgroup as it was";
    ASSERT_EQ(rt({"resume", first}).exit_code, 0);

    auto busy = rt.create(b, second, {}, with_timeout(10s));
    ASSERT_EQ(busy.exit_code, 0) << busy;
    EXPECT_TRUE(contains(busy.err, "container's cgroup is not empty")) << busy;
    EXPECT_EQ(rt.remove(second, true).exit_code, 0);
    EXPECT_EQ(rt.remove(first, true).exit_code, 0);
    expect_no_cgroup_left(rel_path(first));
}

// delete right after the process exits: the kernel frees the cgroup a
// moment after its last task goes; delete waits for that, never EBUSY.
TEST_F(Cgroups, DeleteRightAfterExit) {
    for (int i = 0; i < 10; ++i) {
        Bundle b({"true"});
        std::string id = with_cgroup(b);
        ASSERT_EQ(rt.run(b, id, {"-d"}).exit_code, 0);
        ASSERT_TRUE(rt.wait_status(id, "stopped", 10s));
        auto r = rt.remove(id);
        ASSERT_EQ(r.exit_code, 0) << r;
        expect_no_cgroup_left(rel_path(id));
    }
}

// exec --cgroup SUB: the process runs in a sub-cgroup of the container's
// (every hierarchy; a `..` is refused); without it, in the container's own,
// the unified hierarchy's included on a hybrid host.
TEST_F(Cgroups, ExecIntoASubCgroup) {
    Bundle b({"sleep", "1000"});
    std::string id = with_cgroup(b);
    ASSERT_EQ(rt.run(b, id, {"-d"}).exit_code, 0);
    auto plain = rt({"exec", id, "cat", "/proc/self/cgroup"});
    ASSERT_EQ(plain.exit_code, 0) << plain;
    for (const auto& l : lines(plain.out)) {
        if (l.rfind("0::", 0) == 0 && path_exists("/sys/fs/cgroup/unified/cgroup.procs")) {
            EXPECT_TRUE(contains(l, rel_path(id))) << "not in the unified hierarchy: " << plain.out;
        }
    }
    std::vector<std::string> made;
    for (const auto& d : all_dirs(rel_path(id)))
        if (path_exists(d) && mkdir((d + "/sub").c_str(), 0755) == 0) {
            made.push_back(d + "/sub");
            for (const char* f : {"cpuset.cpus", "cpuset.mems"})  // (v1: an empty cpuset takes no task)
                if (path_exists(d + "/" + f) && !kV2) write_file(d + "/sub/" + f, read_file(d + "/" + f));
        }
    ASSERT_FALSE(made.empty());
    auto sub = rt({"exec", "--cgroup", "sub", id, "cat", "/proc/self/cgroup"});
    ASSERT_EQ(sub.exit_code, 0) << sub;
    size_t in_sub = 0;
    for (const auto& l : lines(sub.out))
        if (contains(l, rel_path(id) + "/sub")) ++in_sub;
    EXPECT_GE(in_sub, 1u) << sub.out;
    auto up = rt({"exec", "--cgroup", "../x", id, "true"});
    EXPECT_EQ(up.exit_code, 255) << up;
    EXPECT_TRUE(contains(up.err, "below the container's cgroup")) << up;
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
    expect_no_cgroup_left(rel_path(id));
}

// update of cpu quota and period in a nested (pod) cgroup whose parent has
// its own limit: the writes are ordered so the child never exceeds the
// parent on the way (runc's order).
TEST_F(Cgroups, UpdateCpuInANestedCgroupUnderALimit) {
    Bundle b({"sleep", "1000"});
    std::string id = rt.new_id("cg");
    const std::string pod = rel_path(id) + "-pod";
    b.config()["linux"]["cgroupsPath"] = pod + "/c";
    resources(b)["cpu"] = {{"quota", 20000}, {"period", 100000}};
    ASSERT_EQ(rt.run(b, id, {"-d"}).exit_code, 0);
    // The pod's limit: half a CPU.
    std::string pod_dir = dir("cpu", pod);
    if (kV2)
        write_file(pod_dir + "/cpu.max", "50000 100000");
    else {
        write_file(pod_dir + "/cpu.cfs_quota_us", "50000");
    }
    // Half a CPU again, on a shorter period: 10000/20000. Period first would
    // be 20000/20000 for a moment: over the pod's limit.
    auto u = rt({"update", "--cpu-quota", "10000", "--cpu-period", "20000", id});
    EXPECT_EQ(u.exit_code, 0) << u;
    std::string c_dir = dir("cpu", pod + "/c");
    if (kV2)
        EXPECT_EQ(trim(read_file(c_dir + "/cpu.max")), "10000 20000");
    else {
        EXPECT_EQ(trim(read_file(c_dir + "/cpu.cfs_quota_us")), "10000");
        EXPECT_EQ(trim(read_file(c_dir + "/cpu.cfs_period_us")), "20000");
    }
    EXPECT_EQ(rt.remove(id, true).exit_code, 0);
    for (const auto& d : all_dirs(pod)) rmdir(d.c_str());
    expect_no_cgroup_left(pod);
}

}  // namespace
}  // namespace hako::test
