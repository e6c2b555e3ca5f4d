// The device eBPF program on a real cgroup2 directory (root only; on a
// hybrid host the unified hierarchy at /sys/fs/cgroup/unified takes
// BPF_CGROUP_DEVICE programs too): a child moved into a new cgroup under
// ours opens what the rules allow and gets EPERM for the rest, and a
// second apply replaces the program (as `update` does).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cgroup/cgroup.hpp"
#include "cgroup/devices_detail.hpp"
#include "common/strings.hpp"
#include "sys/syscalls.hpp"

using namespace hako;
namespace dd = hako::cgroup::devices_detail;

namespace {

// An open of `path` with `flags`, or (mknod_dev != 0) a mknod of a char
// or block node there, removed again.
struct Check {
    std::string path;
    int flags = O_RDONLY;
    mode_t mknod_type = 0;  // S_IFCHR / S_IFBLK
    dev_t mknod_dev = 0;
    bool allowed = true;
};

// Each check's errno (0: it worked), in the calling process.
void run_checks(const std::vector<Check>& checks, int out_fd) {
    for (const auto& c : checks) {
        int e = 0;
        if (c.mknod_type) {
            if (::mknod(c.path.c_str(), c.mknod_type | 0600, c.mknod_dev) < 0) e = errno;
            else ::unlink(c.path.c_str());
        } else {
            int fd = ::open(c.path.c_str(), c.flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
            if (fd < 0) e = errno;
            else ::close(fd);
        }
        if (::write(out_fd, &e, sizeof(e)) != sizeof(e)) _exit(101);
    }
}

std::vector<int> read_results(int fd, size_t n) {
    std::vector<int> out(n, -1);
    size_t got = 0;
    auto* p = reinterpret_cast<char*>(out.data());
    while (got < n * sizeof(int)) {
        ssize_t r = ::read(fd, p + got, n * sizeof(int) - got);
        if (r <= 0) break;
        got += static_cast<size_t>(r);
    }
    return out;
}

std::string v2_mount() {
    if (cgroup::is_pure_v2()) return "/sys/fs/cgroup";
    if (::access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0) return "/sys/fs/cgroup/unified";
    return "";
}

// This process's cgroup in the v2 hierarchy (the "0::" line).
std::string own_v2_cgroup() {
    auto text = sys::read_file("/proc/self/cgroup");
    if (!text) return "";
    for (auto line : split(*text, '\n'))
        if (line.starts_with("0::")) return std::string(line.substr(3));
    return "";
}

class DevicesEbpf : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root";
        std::string mnt = v2_mount(), own = own_v2_cgroup();
        if (mnt.empty() || own.empty()) GTEST_SKIP() << "no cgroup2 hierarchy";
        if (own == "/") own.clear();
        cg_ = mnt + own + "/hako-test-devices-" + std::to_string(getpid());
        ASSERT_EQ(::mkdir(cg_.c_str(), 0755), 0) << cg_ << ": " << std::strerror(errno);
        made_cg_ = true;
        tmp_ = ::testing::TempDir() + "hako-devnodes-" + std::to_string(getpid());
        ASSERT_EQ(::mkdir(tmp_.c_str(), 0700), 0) << tmp_ << ": " << std::strerror(errno);
    }
    void TearDown() override {
        if (!tmp_.empty()) {
            ::unlink((tmp_ + "/c").c_str());
            ::unlink((tmp_ + "/b").c_str());
            ::rmdir(tmp_.c_str());
        }
        // The child is reaped; the kernel may still be letting it go.
        for (int i = 0; made_cg_ && i < 200; ++i) {
            if (::rmdir(cg_.c_str()) == 0) break;
            EXPECT_EQ(errno, EBUSY) << "rmdir " << cg_ << ": " << std::strerror(errno);
            if (errno != EBUSY) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    // The checks' errnos in a forked child moved into the cgroup.
    std::vector<int> in_cgroup(const std::vector<Check>& checks) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) < 0) return {};
        const std::string procs = cg_ + "/cgroup.procs";
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(p[0]);
            int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ::write(fd, "0", 1) != 1) _exit(100);  // "0": the writer itself
            ::close(fd);
            run_checks(checks, p[1]);
            _exit(0);
        }
        ::close(p[1]);
        std::vector<int> out = pid > 0 ? read_results(p[0], checks.size()) : std::vector<int>{};
        ::close(p[0]);
        int status = 0;
        if (pid > 0) ::waitpid(pid, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
        return out;
    }

    // Runs `checks` outside the cgroup, then inside: an allowed one must
    // fare as it did outside, a denied one must fail with EPERM (unless
    // the host lacks the node).
    void expect_outcomes(const std::vector<Check>& checks) {
        int p[2];
        ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
        run_checks(checks, p[1]);
        ::close(p[1]);
        std::vector<int> base = read_results(p[0], checks.size());
        ::close(p[0]);
        std::vector<int> got = in_cgroup(checks);
        ASSERT_EQ(got.size(), checks.size());
        for (size_t i = 0; i < checks.size(); ++i) {
            const auto& c = checks[i];
            std::string what = (c.mknod_type ? "mknod " : "open ") + c.path + " flags " +
                               std::to_string(c.flags);
            if (c.allowed) {
                EXPECT_EQ(got[i], base[i]) << what << ": " << std::strerror(got[i]);
            } else if (base[i] == ENOENT || base[i] == ENXIO) {
                std::cerr << "(skipped: " << what << ": " << std::strerror(base[i]) << ")\n";
            } else {
                EXPECT_EQ(got[i], EPERM) << what << ": " << std::strerror(got[i]);
            }
        }
    }

    std::vector<uint32_t> attached() {
        UniqueFd fd(::open(cg_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        EXPECT_TRUE(fd);
        auto ids = dd::attached_device_programs(fd.get());
        EXPECT_TRUE(ids) << ids.error().what();
        return ids ? *ids : std::vector<uint32_t>{};
    }

    std::string cg_, tmp_;
    bool made_cg_ = false;
};

oci::DeviceCgroupRule rule(bool allow, const char* type, std::optional<int64_t> major,
                           std::optional<int64_t> minor, const char* access) {
    return {allow, type, major, minor, access};
}



TEST_F(DevicesEbpf, RulesHoldAndUpdateReplacesTheProgram) {
    oci::Resources r;
    r.devices = {rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "rwm")};
    auto st = cgroup::apply_devices_v2(cg_, cgroup::effective_device_rules(r, {}));
    ASSERT_TRUE(st) << st.error().what();
    auto first = attached();
    ASSERT_EQ(first.size(), 1u);

    expect_outcomes({
        {.path = "/dev/null", .flags = O_RDWR},
        {.path = "/dev/zero"},                                   // a default
        {.path = "/dev/kmsg", .allowed = false},                 // c 1:11
        {.path = "/dev/loop0", .allowed = false},                // b 7:0
        {.path = "/dev/loop-control", .flags = O_RDWR, .allowed = false},  // c 10:237
        {.path = tmp_ + "/c", .mknod_type = S_IFCHR, .mknod_dev = makedev(1, 1)},  // c *:* m
        {.path = tmp_ + "/b", .mknod_type = S_IFBLK, .mknod_dev = makedev(7, 0)},  // b *:* m
    });

    // `update`: other rules; the first program goes.
    r.devices = {rule(true, "a", {}, {}, ""), rule(false, "c", 1, 11, "w")};
    st = cgroup::apply_devices_v2(cg_, cgroup::effective_device_rules(r, {}));
    ASSERT_TRUE(st) << st.error().what();
    auto second = attached();
    ASSERT_EQ(second.size(), 1u);
    EXPECT_NE(second[0], first[0]);

    expect_outcomes({
        {.path = "/dev/null", .flags = O_RDWR},
        {.path = "/dev/kmsg"},
        {.path = "/dev/kmsg", .flags = O_WRONLY, .allowed = false},
        {.path = "/dev/kmsg", .flags = O_RDWR, .allowed = false},  // a deny takes any of its bits
        {.path = "/dev/loop0"},
        {.path = tmp_ + "/c", .mknod_type = S_IFCHR, .mknod_dev = makedev(1, 11)},
    });
}

TEST_F(DevicesEbpf, LoadErrorsNameTheStep) {
    auto st = cgroup::apply_devices_v2(cg_ + "/missing", {rule(false, "a", {}, {}, "")});
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().what().find("open cgroup `" + cg_ + "/missing`: ENOENT"), std::string::npos)
        << st.error().what();
}

// The verifier takes every shape the generator makes: an "a" rule ending
// a walk, no deny path at all, and many rules.
TEST_F(DevicesEbpf, EveryShapeLoads) {
    std::vector<std::vector<oci::DeviceCgroupRule>> sets = {
        {rule(true, "a", {}, {}, "")},
        {rule(false, "a", {}, {}, "")},
        {rule(false, "a", {}, {}, ""), rule(true, "a", {}, {}, "")},
        {rule(true, "c", 1, 3, "r")},
        {rule(true, "b", {}, 0, "w"), rule(false, "c", 4, {}, "m"), rule(true, "a", {}, {}, "")},
    };
    std::vector<oci::DeviceCgroupRule> many{rule(false, "a", {}, {}, "")};
    for (int i = 0; i < 500; ++i) many.push_back(rule(i % 3 != 0, i % 2 ? "c" : "b", i, {}, "rw"));
    sets.push_back(many);
    for (const auto& rules : sets) {
        auto st = cgroup::apply_devices_v2(cg_, rules);
        EXPECT_TRUE(st) << st.error().what();
    }
    EXPECT_EQ(attached().size(), 1u);
}

}  // namespace
