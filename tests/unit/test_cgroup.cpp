// Cgroup checks that need no container: a cgroup v1 host with unified
// resources is runc's "invalid configuration".
#include <gtest/gtest.h>

#include "cgroup/cgroup.hpp"

namespace hako::cgroup {
namespace {

TEST(Cgroup, UnifiedResourcesOnCgroupV1AreInvalidConfiguration) {
    if (is_pure_v2()) GTEST_SKIP() << "a pure cgroup v2 host";
    // Only a v1 hierarchy: no unified directory, as on a pure v1 host.
    auto cg = Cgroup::from_dirs({"/sys/fs/cgroup/memory/hako-unit-no-such-cgroup"});
    oci::Resources r;
    r.unified["memory.max"] = "100M";
    auto st = cg.apply(r);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().what().rfind("invalid configuration: linux.resources.unified: cannot use unified on cgroup v1", 0),
              0u)
        << st.error().what();
}

}  // namespace
}  // namespace hako::cgroup
