// Load for hako: 100 `hako run --rm` at once on the default network, each
// with its own address, overlay and cgroup; every one succeeds and nothing
// is left (the fixture's TearDown checks links, nftables, resolvers, mounts
// and network state too).
#include <filesystem>

#include "hako_fixture.hpp"

namespace hako::test {
namespace {

TEST_F(Hako, HundredParallelRunRmLeaveNothing) {
    constexpr int kCount = 100;
    std::vector<std::unique_ptr<Child>> kids;
    for (int i = 0; i < kCount; ++i)
        kids.push_back(std::make_unique<Child>(
            std::vector<std::string>{hako_binary(), "--root", store.path(), "run", "--rm", "-p",
                                     "127.0.0.1:" + std::to_string(19000 + i) + ":80", "busybox", "sh", "-c",
                                     "ip -o -4 addr show eth0 | grep -q inet && echo up-" + std::to_string(i)},
            with_timeout(180s)));
    int failed = 0;
    for (int i = 0; i < kCount; ++i) {
        auto r = kids[i]->wait();
        bool ok = r.exit_code == 0 && contains(r.out, "up-" + std::to_string(i));
        if (!ok && ++failed <= 3) ADD_FAILURE() << "run " << i << ": " << r;
    }
    EXPECT_EQ(failed, 0) << failed << " of " << kCount << " runs failed";
    EXPECT_EQ(trim((*this)({"ps", "-a", "-q"}).out), "");
    std::error_code ec;
    EXPECT_TRUE(std::filesystem::is_empty(store / "containers", ec)) << "a container directory is left";
    EXPECT_EQ(trim((*this)({"volume", "ls", "-q"}).out), "");
}

}  // namespace
}  // namespace hako::test
