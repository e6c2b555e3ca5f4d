// cgroup stats (`events --stats`): runc's stats object from fake v1 and v2
// cgroup directories, the number parsers, and this host's own cgroup.
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cgroup/stats_detail.hpp"

using namespace hako::cgroup::detail;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// A temporary directory tree, removed at the end of the test.
class TempTree {
public:
    TempTree() {
        char tmpl[] = "/tmp/hako-stats-XXXXXX";
        root_ = mkdtemp(tmpl) ? tmpl : "";
    }
    ~TempTree() {
        std::error_code ec;
        if (!root_.empty()) fs::remove_all(root_, ec);
    }
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;

    // Create <root>/<sub> and return its path.
    std::string dir(const std::string& sub) const {
        std::string p = root_ + "/" + sub;
        fs::create_directories(p);
        return p;
    }
    // Write each {file, content} into `dir`.
    static void files(const std::string& dir, const std::map<std::string, std::string>& f) {
        for (const auto& [name, content] : f) std::ofstream(dir + "/" + name) << content;
    }

private:
    std::string root_;
};

bool path_exists(const std::string& p) {
    struct stat st{};
    return stat(p.c_str(), &st) == 0;
}

// A fake v1 host: one directory per controller, as runc's tests have them.
std::map<std::string, std::string> make_v1(const TempTree& t) {
    std::map<std::string, std::string> d;
    for (const char* c : {"memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb", "cpuset"})
        d[c] = t.dir(std::string(c) + "/hako-test");
    TempTree::files(d["memory"], {
        {"memory.usage_in_bytes", "3399680\n"},
        {"memory.limit_in_bytes", "9223372036854771712\n"},
        {"memory.max_usage_in_bytes", "5242880\n"},
        {"memory.failcnt", "2\n"},
        {"memory.memsw.usage_in_bytes", "3407872\n"},
        {"memory.memsw.limit_in_bytes", "9223372036854771712\n"},
        {"memory.memsw.max_usage_in_bytes", "5251072\n"},
        {"memory.memsw.failcnt", "0\n"},
        {"memory.kmem.usage_in_bytes", "262144\n"},
        {"memory.kmem.limit_in_bytes", "9223372036854771712\n"},
        {"memory.kmem.max_usage_in_bytes", "524288\n"},
        {"memory.kmem.failcnt", "0\n"},
        // no memory.kmem.tcp.*: an optional kernel feature
        {"memory.stat", "cache 40960\nrss 1843200\nrss_huge 0\nmapped_file 0\n"
                        "hierarchical_memory_limit 9223372036854771712\n"
                        "total_cache 40960\ntotal_rss 1843200\nglitch -4096\n"},
    });
    TempTree::files(d["cpuacct"], {
        {"cpuacct.usage", "4700000000\n"},
        {"cpuacct.usage_percpu", "2500000000 2200000000 \n"},
        {"cpuacct.usage_all", "cpu user system\n0 2000000000 500000000\n1 1800000000 400000000\n"},
        {"cpuacct.stat", "user 380\nsystem 90\n"},
    });
    TempTree::files(d["cpu"], {
        {"cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 123456\nnr_bursts 0\n"
                     "burst_time 0\n"},
    });
    TempTree::files(d["pids"], {{"pids.current", "3\n"}, {"pids.max", "max\n"}});
    TempTree::files(d["blkio"], {
        // bfq present but with no entries (as on a host without bfq devices):
        // the throttle files are used.
        {"blkio.bfq.io_serviced_recursive", "Total 0\n"},
        {"blkio.bfq.io_service_bytes_recursive", "Total 0\n"},
        {"blkio.throttle.io_service_bytes_recursive",
         "8:0 Read 1282048\n8:0 Write 2195456\n8:0 Sync 2195456\n8:0 Async 1282048\n"
         "8:0 Discard 0\n8:0 Total 3477504\nTotal 3477504\n"},
        {"blkio.throttle.io_serviced_recursive",
         "8:0 Read 124\n8:0 Write 104\n8:0 Sync 104\n8:0 Async 124\n8:0 Discard 0\n"
         "8:0 Total 228\nTotal 228\n"},
        {"blkio.throttle.io_service_bytes", "8:0 Read 1\nTotal 1\n"},
    });
    TempTree::files(d["hugetlb"], {
        {"hugetlb.2MB.usage_in_bytes", "4194304\n"},
        {"hugetlb.2MB.max_usage_in_bytes", "6291456\n"},
        {"hugetlb.2MB.failcnt", "1\n"},
        {"hugetlb.2MB.limit_in_bytes", "9223372036854771712\n"},
        {"hugetlb.2MB.rsvd.usage_in_bytes", "0\n"},
        {"hugetlb.1GB.usage_in_bytes", "0\n"},
        {"hugetlb.1GB.max_usage_in_bytes", "0\n"},
        {"hugetlb.1GB.failcnt", "0\n"},
    });
    TempTree::files(d["cpuset"], {
        {"cpuset.cpus", "0-2,5\n"},
        {"cpuset.mems", "0\n"},
        {"cpuset.cpu_exclusive", "0\n"},
        {"cpuset.mem_hardwall", "1\n"},
        {"cpuset.mem_exclusive", "0\n"},
        {"cpuset.memory_migrate", "0\n"},
        {"cpuset.memory_spread_page", "0\n"},
        {"cpuset.memory_spread_slab", "0\n"},
        {"cpuset.memory_pressure", "0\n"},
        {"cpuset.sched_load_balance", "1\n"},
        {"cpuset.sched_relax_domain_level", "-1\n"},
    });
    return d;
}

// A fake v2 leaf.
std::string make_v2(const TempTree& t) {
    std::string d = t.dir("unified/hako-test");
    TempTree::files(d, {
        {"cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n"},
        {"cgroup.procs", "100\n101\n"},
        {"memory.current", "8388608\n"},
        {"memory.max", "max\n"},
        {"memory.peak", "10485760\n"},
        {"memory.swap.current", "4096\n"},
        {"memory.swap.max", "max\n"},
        {"memory.stat", "anon 4194304\nfile 2097152\nkernel 1048576\nsock 0\nshmem 0\n"
                        "pgfault 1234\n"},
        {"memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n"},
        {"memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                            "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
        {"cpu.stat", "usage_usec 2500\nuser_usec 1500\nsystem_usec 1000\n"
                     "core_sched.force_idle_usec 0\nnr_periods 4\nnr_throttled 1\n"
                     "throttled_usec 700\nnr_bursts 0\nburst_usec 0\n"},
        {"cpu.pressure", "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\n"
                         "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
        {"pids.current", "2\n"},
        {"pids.max", "64\n"},
        {"io.stat", "8:0 rbytes=1024 wbytes=2048 rios=3 wios=4 dbytes=0 dios=0\n"
                    "253:1 rbytes=0 wbytes=512 rios=0 wios=1 dbytes=0 dios=0\n"},
        {"hugetlb.2MB.current", "2097152\n"},
        {"hugetlb.2MB.max", "max\n"},
        {"hugetlb.2MB.events", "max 2\n"},
        {"hugetlb.2MB.rsvd.current", "0\n"},
        {"hugetlb.2MB.rsvd.max", "max\n"},
    });
    return d;
}

void expect_top_level(const json& s) {
    for (const char* k : {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb"})
        EXPECT_TRUE(s.contains(k) && s[k].is_object()) << k << " in " << s.dump();
    EXPECT_FALSE(s.contains("network_interfaces"));
}

}  // namespace

// --- parsers -----------------------------------------------------------------

TEST(StatsParse, Uint) {
    EXPECT_EQ(parse_uint("123\n"), 123u);
    EXPECT_EQ(parse_uint(" 7 "), 7u);
    EXPECT_EQ(parse_uint("max\n"), kMax);
    EXPECT_EQ(parse_uint("18446744073709551615"), kMax);
    EXPECT_EQ(parse_uint("18446744073709551616"), std::nullopt);
    EXPECT_EQ(parse_uint("-5"), 0u);  // kernel glitches: runc reads them as 0
    EXPECT_EQ(parse_uint("-99999999999999999999999"), 0u);
    EXPECT_EQ(parse_uint(""), std::nullopt);
    EXPECT_EQ(parse_uint("-"), std::nullopt);
    EXPECT_EQ(parse_uint("12a"), std::nullopt);
    EXPECT_EQ(parse_uint("maxx"), std::nullopt);
}

TEST(StatsParse, CpuList) {
    EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (std::vector<uint16_t>{0, 1, 2, 3, 8, 10, 11}));
    EXPECT_EQ(parse_cpu_list("0\n"), (std::vector<uint16_t>{0}));
    EXPECT_TRUE(parse_cpu_list("").empty());
    EXPECT_TRUE(parse_cpu_list("\n").empty());
    EXPECT_TRUE(parse_cpu_list("3-1").empty());
    EXPECT_TRUE(parse_cpu_list("1-2-3").empty());
    EXPECT_TRUE(parse_cpu_list("-1").empty());
    EXPECT_TRUE(parse_cpu_list("a").empty());
    EXPECT_TRUE(parse_cpu_list("0-70000").empty());
}

// --- v1 ----------------------------------------------------------------------

TEST(StatsV1, FakeHierarchies) {
    TempTree t;
    json s = stats_v1(make_v1(t));
    expect_top_level(s);

    EXPECT_EQ(s["cpu"], json::parse(R"({
        "usage": {"total": 4700000000, "percpu": [2500000000, 2200000000],
                  "percpu_kernel": [500000000, 400000000],
                  "percpu_user": [2000000000, 1800000000],
                  "kernel": 900000000, "user": 3800000000},
        "throttling": {"periods": 10, "throttledPeriods": 2, "throttledTime": 123456}})"));

    const json& m = s["memory"];
    EXPECT_EQ(m["cache"], 40960);
    EXPECT_EQ(m["usage"], json::parse(R"({"limit": 9223372036854771712, "usage": 3399680,
                                          "max": 5242880, "failcnt": 2})"));
    EXPECT_EQ(m["swap"], json::parse(R"({"limit": 9223372036854771712, "usage": 3407872,
                                         "max": 5251072, "failcnt": 0})"));
    EXPECT_EQ(m["kernel"], json::parse(R"({"limit": 9223372036854771712, "usage": 262144,
                                           "max": 524288, "failcnt": 0})"));
    EXPECT_EQ(m["kernelTCP"], json::parse(R"({"limit": 0, "failcnt": 0})"));
    EXPECT_EQ(m["raw"]["rss"], 1843200);
    EXPECT_EQ(m["raw"]["rss_huge"], 0);  // raw keeps zeros: every memory.stat key
    EXPECT_EQ(m["raw"]["hierarchical_memory_limit"], 9223372036854771712u);
    EXPECT_EQ(m["raw"]["glitch"], 0);
    EXPECT_EQ(m["raw"].size(), 8u);

    EXPECT_EQ(s["pids"], json::parse(R"({"current": 3})"));  // "max": no limit

    EXPECT_EQ(s["blkio"], json::parse(R"({
        "ioServiceBytesRecursive": [
            {"major": 8, "op": "Read", "value": 1282048},
            {"major": 8, "op": "Write", "value": 2195456},
            {"major": 8, "op": "Sync", "value": 2195456},
            {"major": 8, "op": "Async", "value": 1282048},
            {"major": 8, "op": "Discard"},
            {"major": 8, "op": "Total", "value": 3477504}],
        "ioServicedRecursive": [
            {"major": 8, "op": "Read", "value": 124},
            {"major": 8, "op": "Write", "value": 104},
            {"major": 8, "op": "Sync", "value": 104},
            {"major": 8, "op": "Async", "value": 124},
            {"major": 8, "op": "Discard"},
            {"major": 8, "op": "Total", "value": 228}]})"));

    EXPECT_EQ(s["hugetlb"], json::parse(R"({
        "2MB": {"usage": 4194304, "max": 6291456, "failcnt": 1},
        "1GB": {"failcnt": 0}})"));

    EXPECT_EQ(s["cpuset"], json::parse(R"({
        "cpus": [0, 1, 2, 5], "mems": [0], "cpu_exclusive": 0, "mem_hardwall": 1,
        "mem_exclusive": 0, "memory_migrate": 0, "memory_spread_page": 0,
        "memory_spread_slab": 0, "memory_pressure": 0, "sched_load_balance": 1,
        "sched_relax_domain_level": -1})"));
}

TEST(StatsV1, PidsLimitAndCfqBlkio) {
    TempTree t;
    std::string pids = t.dir("pids"), blkio = t.dir("blkio");
    TempTree::files(pids, {{"pids.current", "1\n"}, {"pids.max", "100\n"}});
    TempTree::files(blkio, {
        {"blkio.sectors_recursive", "8:16 6792\n"},
        {"blkio.io_service_bytes_recursive", "8:16 Read 100\nTotal 100\n"},
        {"blkio.throttle.io_service_bytes_recursive", "8:16 Read 999\n"},  // not used
    });
    json s = stats_v1({{"pids", pids}, {"blkio", blkio}});
    EXPECT_EQ(s["pids"], json::parse(R"({"current": 1, "limit": 100})"));
    EXPECT_EQ(s["blkio"], json::parse(R"({
        "sectorsRecursive": [{"major": 8, "minor": 16, "value": 6792}],
        "ioServiceBytesRecursive": [{"major": 8, "minor": 16, "op": "Read", "value": 100}]})"));
}

// No controller at all: runc's shape with zeros, nothing thrown.
TEST(StatsV1, NoControllers) {
    json s = stats_v1({});
    expect_top_level(s);
    EXPECT_EQ(s["cpu"], json::parse(R"({"usage": {"kernel": 0, "user": 0}, "throttling": {}})"));
    EXPECT_EQ(s["memory"]["usage"], json::parse(R"({"limit": 0, "failcnt": 0})"));
    EXPECT_FALSE(s["memory"].contains("raw"));
    EXPECT_TRUE(s["pids"].empty());
    EXPECT_TRUE(s["blkio"].empty());
    EXPECT_TRUE(s["hugetlb"].empty());
    EXPECT_EQ(s["cpuset"]["sched_relax_domain_level"], 0);
    EXPECT_FALSE(s["cpuset"].contains("cpus"));
    json missing = stats_v1({{"memory", "/nonexistent/hako"}, {"pids", "/nonexistent/hako"}});
    EXPECT_EQ(missing["memory"]["usage"], json::parse(R"({"limit": 0, "failcnt": 0})"));
}

// Garbage in the files: skipped, never thrown.
TEST(StatsV1, MalformedFiles) {
    TempTree t;
    std::string mem = t.dir("memory"), acct = t.dir("cpuacct"), blk = t.dir("blkio");
    TempTree::files(mem, {{"memory.usage_in_bytes", "lots\n"},
                          {"memory.stat", "cache\nrss 12 34\n\n  \nok 5\nbad x\n\xff\xfe 6\n"}});
    TempTree::files(acct, {{"cpuacct.usage", ""},
                           {"cpuacct.usage_all", "cpu user system\n0 1\nx y z\n"},
                           {"cpuacct.stat", std::string("user \xff\x00 9\n", 10)}});
    TempTree::files(blk, {{"blkio.throttle.io_service_bytes_recursive",
                           "8:x Read 1\n:::\n8:0 Read\n8:0 \xc3\x28 5\n"}});
    json s;
    ASSERT_NO_THROW(s = stats_v1({{"memory", mem}, {"cpuacct", acct}, {"blkio", blk}}));
    ASSERT_NO_THROW((void)s.dump());
    EXPECT_EQ(s["memory"]["raw"], json::parse(R"({"ok": 5})"));
    EXPECT_EQ(s["memory"]["usage"], json::parse(R"({"limit": 0, "failcnt": 0})"));
    EXPECT_EQ(s["cpu"]["usage"], json::parse(R"({"kernel": 0, "user": 0})"));
    EXPECT_TRUE(s["blkio"].empty());
}

// A hybrid host's controller that only the unified hierarchy has: its
// directory is a v2 one, read with the v2 files.
TEST(StatsV1, HybridUnifiedController) {
    TempTree t;
    std::string v2 = make_v2(t);
    json s = stats_v1({{"memory", v2}, {"blkio", v2}});
    EXPECT_EQ(s["memory"]["usage"]["usage"], 8388608);
    EXPECT_EQ(s["blkio"]["ioServicedRecursive"].size(), 4u);
}

// --- v2 ----------------------------------------------------------------------

TEST(StatsV2, FakeLeaf) {
    TempTree t;
    json s = stats_v2(make_v2(t));
    expect_top_level(s);

    EXPECT_EQ(s["cpu"]["usage"], json::parse(R"({"total": 2500000, "kernel": 1000000,
                                                 "user": 1500000})"));
    EXPECT_EQ(s["cpu"]["throttling"], json::parse(R"({"periods": 4, "throttledPeriods": 1,
                                                      "throttledTime": 700000})"));
    EXPECT_EQ(s["cpu"]["psi"]["some"]["avg10"], 1.5);
    EXPECT_EQ(s["cpu"]["psi"]["some"]["avg60"], 0.25);
    EXPECT_EQ(s["cpu"]["psi"]["some"]["total"], 12345);
    EXPECT_EQ(s["cpu"]["psi"]["full"]["total"], 0);

    const json& m = s["memory"];
    EXPECT_EQ(m["cache"], 2097152);  // memory.stat "file"
    EXPECT_EQ(m["usage"], json({{"limit", kMax}, {"usage", 8388608}, {"max", 10485760},
                                {"failcnt", 3}}));
    // swap is memory+swap, as v1 reports it
    EXPECT_EQ(m["swap"], json({{"limit", kMax}, {"usage", 8388608 + 4096}, {"failcnt", 0}}));
    EXPECT_EQ(m["kernel"], json::parse(R"({"limit": 0, "failcnt": 0})"));
    EXPECT_EQ(m["kernelTCP"], json::parse(R"({"limit": 0, "failcnt": 0})"));
    EXPECT_EQ(m["raw"], json::parse(R"({"anon": 4194304, "file": 2097152, "kernel": 1048576,
                                        "sock": 0, "shmem": 0, "pgfault": 1234})"));
    EXPECT_TRUE(m.contains("psi"));

    EXPECT_EQ(s["pids"], json::parse(R"({"current": 2, "limit": 64})"));

    EXPECT_EQ(s["blkio"]["ioServiceBytesRecursive"], json::parse(R"([
        {"major": 8, "op": "Read", "value": 1024}, {"major": 8, "op": "Write", "value": 2048},
        {"major": 253, "minor": 1, "op": "Read"},
        {"major": 253, "minor": 1, "op": "Write", "value": 512}])"));
    EXPECT_EQ(s["blkio"]["ioServicedRecursive"], json::parse(R"([
        {"major": 8, "op": "Read", "value": 3}, {"major": 8, "op": "Write", "value": 4},
        {"major": 253, "minor": 1, "op": "Read"},
        {"major": 253, "minor": 1, "op": "Write", "value": 1}])"));
    EXPECT_FALSE(s["blkio"].contains("psi"));  // no io.pressure

    EXPECT_EQ(s["hugetlb"], json::parse(R"({"2MB": {"usage": 2097152, "failcnt": 2}})"));
    EXPECT_FALSE(s["cpuset"].contains("cpus"));  // runc reads no cpuset on v2
}

TEST(StatsV2, LimitsAndNoSwap) {
    TempTree t;
    std::string d = t.dir("leaf");
    TempTree::files(d, {{"cgroup.controllers", "memory\n"},
                        {"memory.current", "1000\n"},
                        {"memory.max", "16777216\n"},
                        {"memory.swap.current", "24\n"},
                        {"memory.swap.max", "8388608\n"}});
    json s = stats_v2(d);
    EXPECT_EQ(s["memory"]["usage"], json::parse(R"({"limit": 16777216, "usage": 1000,
                                                    "failcnt": 0})"));
    EXPECT_EQ(s["memory"]["swap"], json::parse(R"({"limit": 25165824, "usage": 1024,
                                                   "failcnt": 0})"));
    EXPECT_FALSE(s["memory"].contains("cache"));
    EXPECT_FALSE(s["cpu"].contains("psi"));

    // No swap accounting: the swap entry is the memory one (runc's sum with zero).
    fs::remove(d + "/memory.swap.current");
    fs::remove(d + "/memory.swap.max");
    s = stats_v2(d);
    EXPECT_EQ(s["memory"]["swap"], json::parse(R"({"limit": 16777216, "usage": 1000,
                                                   "failcnt": 0})"));
}

// Without the pids controller enabled: the processes in cgroup.procs.
TEST(StatsV2, PidsWithoutController) {
    TempTree t;
    std::string d = t.dir("leaf");
    TempTree::files(d, {{"cgroup.controllers", "\n"}, {"cgroup.procs", "12\n34\n56\n"}});
    EXPECT_EQ(stats_v2(d)["pids"], json::parse(R"({"current": 3})"));
    EXPECT_NO_THROW(stats_v2("/nonexistent/hako"));
    EXPECT_NO_THROW(stats_v2(""));
}

// --- this host ---------------------------------------------------------------

namespace {

// This process's cgroup: {"" -> v2 dir} on a pure v2 host, else each v1
// controller -> its directory (from /proc/self/cgroup).
std::map<std::string, std::string> own_cgroup_dirs(bool& v2) {
    std::map<std::string, std::string> out;
    v2 = path_exists("/sys/fs/cgroup/cgroup.controllers");
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
        size_t a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        if (v2) {
            if (ctrls.empty()) out[""] = "/sys/fs/cgroup" + path;
            continue;
        }
        if (ctrls.empty() || ctrls.starts_with("name=")) continue;
        std::string mount = "/sys/fs/cgroup/" + ctrls;
        if (!path_exists(mount)) continue;
        std::stringstream ss(ctrls);
        for (std::string c; std::getline(ss, c, ',');) out[c] = mount + path;
    }
    return out;
}

}  // namespace

TEST(StatsHost, OwnCgroup) {
    bool v2 = false;
    auto dirs = own_cgroup_dirs(v2);
    json s = v2 ? stats_v2(dirs[""]) : stats_v1(dirs);
    std::cout << "stats of this process's cgroup (" << (v2 ? "v2" : "v1") << "):\n"
              << s.dump(2) << "\n";
    expect_top_level(s);
    if (v2 || dirs.contains("memory")) {
        EXPECT_GT(s["memory"]["usage"].value("usage", uint64_t{0}), 0u);
    }
    if (v2 || dirs.contains("pids")) {
        EXPECT_GE(s["pids"].value("current", uint64_t{0}), 1u);
    }
    if (v2 || dirs.contains("cpuacct")) {
        EXPECT_GT(s["cpu"]["usage"].value("total", uint64_t{0}), 0u);
    }
}

// A v1 pids cgroup of our own, with a process in it: the real pids.current
// and pids.max. Needs root and a writable v1 pids hierarchy.
TEST(StatsHost, ChildPidsCgroup) {
    bool v2 = false;
    auto dirs = own_cgroup_dirs(v2);
    if (geteuid() != 0 || v2 || !dirs.contains("pids")) GTEST_SKIP() << "needs root and v1 pids";
    std::string dir = dirs["pids"] + "/hako-stats-test-" + std::to_string(getpid());
    if (mkdir(dir.c_str(), 0755) != 0) GTEST_SKIP() << "cannot create " << dir;
    std::ofstream(dir + "/pids.max") << "7";
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    bool moved = static_cast<bool>(std::ofstream(dir + "/cgroup.procs") << child << std::flush);
    json s = stats_v1({{"pids", dir}});
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    for (int i = 0; i < 100 && rmdir(dir.c_str()) != 0; i++) usleep(10000);
    ASSERT_TRUE(moved);
    EXPECT_EQ(s["pids"], json::parse(R"({"current": 1, "limit": 7})"));
}
