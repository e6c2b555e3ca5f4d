// The container's cgroup: created where linux.cgroupsPath says (parents too,
// with a usable cpuset on cgroup v1), limits written, init inside it, and
// removed by delete.
#include <unistd.h>

#include "cgroup/cgroup.hpp"
#include "harness.hpp"

namespace hako::test {
namespace {

using Cgroups = ContainerTest;

TEST_F(Cgroups, NestedAbsolutePathGetsLimitsAndIsRemovedOnDelete) {
    const bool v2 = cgroup::is_pure_v2();
    const std::string top = "/hako-it-" + std::to_string(getpid());
    const std::string path = top + "/c";
    Bundle b({"sleep", "1000"});
    b.config()["linux"]["cgroupsPath"] = path;
    b.config()["linux"]["resources"]["pids"] = {{"limit", 10}};
    std::string id = rt.new_id("cg");
    auto c = rt.create(b, id);
    ASSERT_EQ(c.exit_code, 0) << c;  // on v1 this needs a cpuset in `top` as well as in `c`

    const std::string pids_dir = v2 ? "/sys/fs/cgroup" + path : "/sys/fs/cgroup/pids" + path;
    EXPECT_EQ(read_file(pids_dir + "/pids.max"), "10\n");
    int pid = rt.state(id).value_or(json::object()).value("pid", 0);
    ASSERT_GT(pid, 0);
    EXPECT_NE(read_file(pids_dir + "/cgroup.procs").find(std::to_string(pid)), std::string::npos);

    EXPECT_EQ(rt.remove(id, /*force=*/true).exit_code, 0);
    EXPECT_FALSE(path_exists(pids_dir));
    // The parent was made by the runtime for this path; delete leaves it, as runc does.
    for (const auto& h : {"pids", "cpuset", "memory", "cpu", "cpuacct", "blkio", "devices", "freezer", ""})
        rmdir((std::string("/sys/fs/cgroup/") + h + top).c_str());
}

}  // namespace
}  // namespace hako::test
