// Load: 100 containers created, started and deleted at once by as many
// hako-runtime processes on one bundle; every one succeeds and nothing is
// left (state, cgroup, mount). (hako's own parallel runs: tests/cli.)
#include "harness.hpp"

namespace hako::test {
namespace {

using Load = ContainerTest;

TEST_F(Load, HundredContainersCreatedStartedDeletedInParallel) {
    constexpr int kCount = 100;
    Bundle b({"true"});
    b.write();
    const auto mounts_before = host_mounts().size();
    std::vector<std::string> ids;
    for (int i = 0; i < kCount; ++i) ids.push_back(rt.new_id("load"));
    // One command for every container at once; each must succeed.
    auto all = [&](const std::string& step, const std::function<std::vector<std::string>(const std::string&)>& args) {
        std::vector<std::unique_ptr<Child>> kids;
        for (const auto& id : ids) kids.push_back(rt.spawn(args(id), with_timeout(120s)));
        int failed = 0;
        for (auto& k : kids) {
            auto r = k->wait();
            if (r.exit_code != 0 && ++failed <= 3) ADD_FAILURE() << step << ": " << r;
        }
        EXPECT_EQ(failed, 0) << step << ": " << failed << " of " << kCount << " failed";
    };
    all("create", [&](const std::string& id) { return std::vector<std::string>{"create", "--bundle", b.dir(), id}; });
    EXPECT_EQ(rt.list_ids().size(), size_t{kCount});
    all("start", [](const std::string& id) { return std::vector<std::string>{"start", id}; });
    EXPECT_TRUE(wait_until([&] {
        for (const auto& id : ids)
            if (rt.status(id) != "stopped") return false;
        return true;
    }, 60s)) << "not every container ran to its end";
    all("delete", [](const std::string& id) { return std::vector<std::string>{"delete", id}; });
    EXPECT_TRUE(rt.list_ids().empty());
    auto cg = cgroups_named(ids);
    EXPECT_TRUE(cg.empty()) << "a cgroup is left: " << cg[0];
    EXPECT_EQ(host_mounts().size(), mounts_before) << "the mount count changed";
}

}  // namespace
}  // namespace hako::test
