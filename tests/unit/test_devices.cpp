// Device rules (src/cgroup/devices.cpp): the effective list, the v1 lines
// and the decisions of the v2 eBPF program, run by a small interpreter here
// (test_devices_ebpf.cpp attaches it to a real cgroup).
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cgroup/cgroup.hpp"
#include "cgroup/devices_detail.hpp"
#include "sys/syscalls.hpp"

using namespace hako;
using hako::oci::DeviceCgroupRule;
namespace dd = hako::cgroup::devices_detail;

namespace {

DeviceCgroupRule rule(bool allow, std::string type, std::optional<int64_t> major,
                      std::optional<int64_t> minor, std::string access) {
    return {allow, std::move(type), major, minor, std::move(access)};
}

oci::Device dev(const char* path, char type, int64_t major, int64_t minor) {
    oci::Device d;
    d.path = path;
    d.type = type;
    d.major = major;
    d.minor = minor;
    return d;
}

std::vector<std::string> lines(const std::vector<DeviceCgroupRule>& rules) {
    std::vector<std::string> out;
    for (const auto& r : rules) out.push_back((r.allow ? "allow " : "deny ") + dd::rule_line(r));
    return out;
}

const std::vector<std::string> kDefaults = {
    "allow c *:* m",     "allow b *:* m",   "allow c 1:3 rwm", "allow c 1:5 rwm",
    "allow c 1:7 rwm",   "allow c 5:0 rwm", "allow c 1:8 rwm", "allow c 1:9 rwm",
    "allow c 5:2 rwm",   "allow c 136:* rwm", "allow c 5:1 rwm",
};

}  // namespace

TEST(DeviceRules, NoSpecRulesRestrictNothing) {
    oci::Resources r;
    std::vector<oci::Device> devs{dev("/dev/fuse", 'c', 10, 229)};
    EXPECT_TRUE(cgroup::effective_device_rules(r, devs).empty());
}

TEST(DeviceRules, SpecThenDefaultsThenLinuxDevices) {
    oci::Resources r;
    r.devices = {rule(false, "", {}, {}, ""), rule(true, "c", 10, 200, "rw")};
    std::vector<oci::Device> devs{
        dev("/dev/fuse", 'c', 10, 229),
        dev("/dev/sda", 'b', 8, 0),
        dev("/dev/tty9", 'u', 4, 9),
        dev("/dev/fifo", 'p', 0, 0),
    };
    std::vector<std::string> want = {"deny a *:* rwm", "allow c 10:200 rw"};
    want.insert(want.end(), kDefaults.begin(), kDefaults.end());
    want.insert(want.end(), {"allow c 10:229 rwm", "allow b 8:0 rwm", "allow c 4:9 rwm"});
    EXPECT_EQ(lines(cgroup::effective_device_rules(r, devs)), want);
}

TEST(DeviceRules, V1Lines) {
    EXPECT_EQ(dd::rule_line(rule(false, "", {}, {}, "")), "a *:* rwm");
    EXPECT_EQ(dd::rule_line(rule(true, "a", 1, 2, "r")), "a *:* rwm");  // the kernel resets on "a"
    EXPECT_EQ(dd::rule_line(rule(true, "c", 1, 3, "")), "c 1:3 rwm");
    EXPECT_EQ(dd::rule_line(rule(true, "b", 8, -1, "r")), "b 8:* r");
    EXPECT_EQ(dd::rule_line(rule(true, "c", -1, {}, "mw")), "c *:* mw");
}

TEST(DeviceRules, V1OneWritePerRuleInOrder) {
    std::vector<std::pair<std::string, std::string>> calls;
    auto rec = [&](const std::string& path, std::string_view line) -> Status {
        calls.emplace_back(path, std::string(line));
        return {};
    };
    std::vector<DeviceCgroupRule> rules{rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "rwm"),
                                        rule(false, "c", 1, 3, "w"), rule(true, "b", {}, {}, "m")};
    ASSERT_TRUE(dd::write_v1_rules("/cg", rules, rec));
    decltype(calls) want{{"/cg/devices.deny", "a *:* rwm"},
                         {"/cg/devices.allow", "c 1:3 rwm"},
                         {"/cg/devices.deny", "c 1:3 w"},
                         {"/cg/devices.allow", "b *:* m"}};
    EXPECT_EQ(calls, want);

    int n = 0;
    auto fail_third = [&](const std::string& path, std::string_view) -> Status {
        if (++n == 3) return sys_error("write `" + path + "`", EINVAL);
        return {};
    };
    auto st = dd::write_v1_rules("/cg", rules, fail_third);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().msg, "device rule 2 \"c 1:3 w\": write `/cg/devices.deny`");
}

TEST(DeviceRules, ApplyV1ToFiles) {
    std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                ("hako-devices-v1-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    for (const char* f : {"devices.allow", "devices.deny"}) {
        UniqueFd fd(::open((dir / f).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        ASSERT_TRUE(fd);
    }
    oci::Resources r;
    r.devices = {rule(false, "", {}, {}, "")};
    auto rules = cgroup::effective_device_rules(r, {});
    ASSERT_TRUE(cgroup::apply_devices_v1(dir.string(), rules));
    // Each rule is its own open+write and sys::write_file does not truncate,
    // so a regular file holds the last rule written over the earlier ones'
    // bytes (V1OneWritePerRuleInOrder sees every write).
    auto allow = sys::read_file((dir / "devices.allow").string());
    auto deny = sys::read_file((dir / "devices.deny").string());
    ASSERT_TRUE(allow && deny);
    EXPECT_EQ(*deny, "a *:* rwm");
    EXPECT_EQ(allow->substr(0, 9), "c 5:1 rwm");  // console, the last default

    auto st = cgroup::apply_devices_v1((dir / "missing").string(), rules);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().msg.find("device rule 0 \"a *:* rwm\""), std::string::npos) << st.error().what();
    EXPECT_NE(st.error().msg.find("missing/devices.deny"), std::string::npos) << st.error().what();
    std::filesystem::remove_all(dir);
}

// --- the eBPF program, run here -----------------------------------------

namespace {

// Fails the test when the program has a backward jump, a jump out of it or
// an instruction no path reaches (the verifier refuses those).
void check_shape(const std::vector<bpf_insn>& p) {
    std::vector<bool> seen(p.size());
    std::vector<size_t> todo{0};
    while (!todo.empty()) {
        size_t pc = todo.back();
        todo.pop_back();
        ASSERT_LT(pc, p.size()) << "falls off the end";
        if (seen[pc]) continue;
        seen[pc] = true;
        const auto& i = p[pc];
        if (BPF_CLASS(i.code) != BPF_JMP) {
            todo.push_back(pc + 1);
            continue;
        }
        if (BPF_OP(i.code) == BPF_EXIT) continue;
        ASSERT_GE(i.off, 0) << "backward jump at " << pc;
        todo.push_back(pc + 1 + i.off);
        if (BPF_OP(i.code) != BPF_JA) todo.push_back(pc + 1);
    }
    for (size_t pc = 0; pc < p.size(); ++pc) EXPECT_TRUE(seen[pc]) << "unreachable insn " << pc;
}

// Runs the program on one request as the kernel would; only the opcodes
// devices.cpp emits.
int run(const std::vector<bpf_insn>& p, uint32_t type, uint32_t access, uint32_t major, uint32_t minor) {
    bpf_cgroup_dev_ctx ctx{type | (access << 16), major, minor};
    uint64_t reg[MAX_BPF_REG]{};
    for (size_t pc = 0; pc < p.size(); ++pc) {
        const auto& i = p[pc];
        uint64_t& dst = reg[i.dst_reg];
        const auto imm = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        switch (i.code) {
        case BPF_LDX | BPF_MEM | BPF_W: {
            EXPECT_EQ(i.src_reg, BPF_REG_1);
            uint32_t v = 0;
            std::memcpy(&v, reinterpret_cast<const char*>(&ctx) + i.off, sizeof(v));
            dst = v;
            break;
        }
        case BPF_ALU | BPF_AND | BPF_K: dst = static_cast<uint32_t>(dst & imm); break;
        case BPF_ALU | BPF_RSH | BPF_K: dst = static_cast<uint32_t>(dst) >> i.imm; break;
        case BPF_ALU64 | BPF_MOV | BPF_K: dst = imm; break;
        case BPF_JMP | BPF_JNE | BPF_K: if (dst != imm) pc += i.off; break;
        case BPF_JMP | BPF_JSET | BPF_K: if (dst & imm) pc += i.off; break;
        case BPF_JMP | BPF_JA: pc += i.off; break;
        case BPF_JMP | BPF_EXIT: return static_cast<int>(reg[BPF_REG_0]);
        default: ADD_FAILURE() << "unexpected opcode " << int(i.code); return -1;
        }
    }
    ADD_FAILURE() << "ran off the end";
    return -1;
}

constexpr uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t M = BPF_DEVCG_ACC_MKNOD, R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE;

std::vector<bpf_insn> program(std::vector<DeviceCgroupRule> rules) {
    auto p = dd::device_filter(rules);
    EXPECT_TRUE(p) << p.error().what();
    if (!p) return {};
    check_shape(*p);
    return *p;
}

std::vector<bpf_insn> program_with_defaults(std::vector<DeviceCgroupRule> spec) {
    oci::Resources r;
    r.devices = std::move(spec);
    return program(cgroup::effective_device_rules(r, {}));
}

}  // namespace

TEST(DeviceFilter, DenyAllThenDefaults) {
    auto p = program_with_defaults({rule(false, "a", {}, {}, "rwm"), rule(true, "c", 10, 200, "rwm")});
    EXPECT_EQ(run(p, C, R | W, 1, 3), 1);    // null
    EXPECT_EQ(run(p, C, R | W, 10, 200), 1); // the spec's
    EXPECT_EQ(run(p, C, R | W, 136, 7), 1);  // pts/7
    EXPECT_EQ(run(p, C, R, 1, 1), 0);        // mem
    EXPECT_EQ(run(p, C, M, 1, 1), 1);        // c *:* m
    EXPECT_EQ(run(p, B, M, 8, 0), 1);        // b *:* m
    EXPECT_EQ(run(p, B, R, 8, 0), 0);
    EXPECT_EQ(run(p, B, R | W, 1, 3), 0);    // type matters
}

TEST(DeviceFilter, LastMatchDecidesPerAccessBit) {
    // A deny refuses any request with one of its bits.
    auto p = program({rule(true, "a", {}, {}, ""), rule(false, "c", 1, 3, "w")});
    EXPECT_EQ(run(p, C, R, 1, 3), 1);
    EXPECT_EQ(run(p, C, W, 1, 3), 0);
    EXPECT_EQ(run(p, C, R | W, 1, 3), 0);
    EXPECT_EQ(run(p, C, R | W, 1, 5), 1);
    // Allows add up, as v1's exceptions merge.
    p = program({rule(false, "a", {}, {}, ""), rule(true, "c", 1, 3, "r"), rule(true, "c", 1, 3, "w")});
    EXPECT_EQ(run(p, C, R | W, 1, 3), 1);
    EXPECT_EQ(run(p, C, R | W | M, 1, 3), 0);
    // A later rule wins over an earlier one, wildcards included.
    p = program({rule(false, "", {}, {}, ""), rule(true, "c", 1, -1, ""), rule(false, "c", 1, 3, "rwm")});
    EXPECT_EQ(run(p, C, R, 1, 3), 0);
    EXPECT_EQ(run(p, C, R, 1, 5), 1);
    p = program({rule(false, "c", 1, 3, "rwm"), rule(true, "c", {}, 3, "r")});
    EXPECT_EQ(run(p, C, R, 1, 3), 1);
    EXPECT_EQ(run(p, C, R, 7, 3), 1);
    EXPECT_EQ(run(p, C, W, 1, 3), 0);
}

TEST(DeviceFilter, NoMatchDenies) {
    auto p = program({rule(true, "b", 8, {}, "r")});
    EXPECT_EQ(run(p, B, R, 8, 16), 1);
    EXPECT_EQ(run(p, C, R, 8, 16), 0);
    EXPECT_EQ(run(p, B, W, 8, 16), 0);
    EXPECT_EQ(run(p, B, R, 9, 0), 0);
}

TEST(DeviceFilter, ARulesEndTheWalk) {
    auto p = program({rule(true, "c", 1, 3, "rwm"), rule(false, "a", 5, 5, "r")});
    EXPECT_EQ(run(p, C, R, 1, 3), 0);
    EXPECT_EQ(run(p, C, M, 1, 3), 0);  // "a" means every access
    p = program({rule(false, "a", {}, {}, ""), rule(true, "a", {}, {}, "")});
    EXPECT_EQ(run(p, B, R | W | M, 8, 0), 1);
    p = program({rule(false, "a", {}, {}, "")});
    EXPECT_EQ(run(p, C, R, 1, 3), 0);
}

TEST(DeviceFilter, NumbersOutOfRange) {
    auto p = dd::device_filter({rule(true, "c", int64_t(1) << 32, 0, "r")});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().msg, "device rule 0: device number 4294967296 out of range");
    EXPECT_FALSE(dd::device_filter({rule(true, "c", 1, -2, "r")}));
    // Checked even where an "a" rule later makes it unreachable.
    p = dd::device_filter({rule(true, "x", 1, 3, "r"), rule(true, "a", {}, {}, "")});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().msg, "device rule 0: unknown type \"x\"");
}

TEST(DeviceFilter, EmptyRulesAttachNothing) {
    EXPECT_TRUE(cgroup::apply_devices_v2("/nonexistent", {}));
    EXPECT_TRUE(cgroup::apply_devices_v1("/nonexistent", {}));
}
