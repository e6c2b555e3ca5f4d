// oci::validate_spec: runc's semantic checks and the unsupported features.
#include <string>

#include <gtest/gtest.h>

#include "oci/spec.hpp"
#include "spec_fixtures.hpp"

using namespace hako;
using namespace hako::oci;
using namespace hako::test;

namespace {


// A spec that passes validation: runc's default.
Spec valid_spec() {
    auto r = parse_spec(kRuncSpec);
    EXPECT_TRUE(r.has_value());
    return *r;
}

std::string validate_error(const Spec& s, bool need_process = true) {
    auto r = validate_spec(s, need_process);
    return r ? std::string() : r.error().what();
}

Linux& lnx(Spec& s) { return *s.linux; }

void remove_ns(Spec& s, NsType t) {
    std::erase_if(lnx(s).namespaces, [t](const Namespace& n) { return n.type == t; });
}

}  // namespace

TEST(SpecValidate, RuncDefaultIsValid) {
    Spec s = valid_spec();
    EXPECT_EQ(validate_error(s), "");
}

TEST(SpecValidate, ProcessRequired) {
    Spec s = valid_spec();
    s.process.reset();
    EXPECT_EQ(validate_error(s), "process: required");
    EXPECT_EQ(validate_error(s, false), "");
}

TEST(SpecValidate, ArgsNonEmpty) {
    Spec s = valid_spec();
    s.process->args.clear();
    EXPECT_EQ(validate_error(s), "process.args: must not be empty");
    EXPECT_EQ(validate_error(s, false), "");
}

TEST(SpecValidate, CwdAbsolute) {
    Spec s = valid_spec();
    s.process->cwd = "work";
    EXPECT_EQ(validate_error(s), R"(process.cwd: must be an absolute path, got "work")");
    s.process->cwd = "";
    EXPECT_EQ(validate_error(s), R"(process.cwd: must be an absolute path, got "")");
}

TEST(SpecValidate, DuplicateRlimit) {
    Spec s = valid_spec();
    s.process->rlimits.push_back(s.process->rlimits[0]);
    EXPECT_EQ(validate_error(s), R"(process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE")");
}

TEST(SpecValidate, RootPathRequired) {
    Spec s = valid_spec();
    s.root.path = "";
    EXPECT_EQ(validate_error(s), "root.path: must not be empty");
}

TEST(SpecValidate, DuplicateNamespace) {
    Spec s = valid_spec();
    lnx(s).namespaces.push_back({NsType::Ipc, "/proc/1/ns/ipc"});
    EXPECT_EQ(validate_error(s), R"(linux.namespaces[5].type: duplicate namespace "ipc")");
}

TEST(SpecValidate, NamespacePathAbsolute) {
    Spec s = valid_spec();
    lnx(s).namespaces.push_back({NsType::Cgroup, "proc/1/ns/cgroup"});
    EXPECT_EQ(validate_error(s),
              R"(linux.namespaces[5].path: must be an absolute path, got "proc/1/ns/cgroup")");
}

TEST(SpecValidate, MappingsNeedUserNamespace) {
    Spec s = valid_spec();
    lnx(s).uid_mappings = {{0, 1000, 1}};
    EXPECT_EQ(validate_error(s),
              "linux.uidMappings: user namespace mappings specified, but no user namespace in "
              "linux.namespaces");
    lnx(s).uid_mappings.clear();
    lnx(s).gid_mappings = {{0, 1000, 1}};
    EXPECT_EQ(validate_error(s),
              "linux.gidMappings: user namespace mappings specified, but no user namespace in "
              "linux.namespaces");
    // A joined user namespace accepts mappings.
    lnx(s).uid_mappings = {{0, 1000, 1}};
    lnx(s).namespaces.push_back({NsType::User, "/proc/1/ns/user"});
    EXPECT_EQ(validate_error(s), "");
}

TEST(SpecValidate, NewUserNamespaceNeedsMappings) {
    Spec s = valid_spec();
    lnx(s).namespaces.push_back({NsType::User, ""});
    EXPECT_EQ(validate_error(s), "linux.uidMappings: a new user namespace needs uid mappings");
    lnx(s).uid_mappings = {{0, 1000, 1}};
    EXPECT_EQ(validate_error(s), "linux.gidMappings: a new user namespace needs gid mappings");
    lnx(s).gid_mappings = {{0, 1000, 1}};
    EXPECT_EQ(validate_error(s), "");
    // Joining one needs none.
    lnx(s).uid_mappings.clear();
    lnx(s).gid_mappings.clear();
    lnx(s).namespaces.back().path = "/proc/1/ns/user";
    EXPECT_EQ(validate_error(s), "");
}

TEST(SpecValidate, TimeOffsetsNeedTimeNamespace) {
    Spec s = valid_spec();
    lnx(s).time_offsets["monotonic"] = {10, 0};
    EXPECT_EQ(validate_error(s),
              "linux.timeOffsets: time namespace offsets specified, but no time namespace in "
              "linux.namespaces");
    lnx(s).namespaces.push_back({NsType::Time, "/proc/1/ns/time"});
    EXPECT_EQ(validate_error(s),
              "linux.timeOffsets: cannot set the offsets of a joined time namespace");
    lnx(s).namespaces.back().path = "";
    EXPECT_EQ(validate_error(s), "");
}

TEST(SpecValidate, MountDestination) {
    Spec s = valid_spec();
    s.mounts[3].destination = "";
    EXPECT_EQ(validate_error(s), "mounts[3].destination: must not be empty");
    s.mounts[3].destination = "dev/shm";  // relative: accepted, taken relative to "/"
    EXPECT_EQ(validate_error(s), "");
}

TEST(SpecValidate, IdmappedMountsNeedBothMaps) {
    Spec s = valid_spec();
    s.mounts[1].uid_mappings = {{0, 1000, 1}};
    EXPECT_EQ(validate_error(s), "mounts[1].gidMappings: an idmapped mount needs both uidMappings and gidMappings");
    s.mounts[1].uid_mappings.clear();
    s.mounts[1].gid_mappings = {{0, 1000, 1}};
    EXPECT_EQ(validate_error(s), "mounts[1].uidMappings: an idmapped mount needs both uidMappings and gidMappings");
    s.mounts[1].uid_mappings = {{0, 1000, 1}};
    EXPECT_EQ(validate_error(s), "");
}

TEST(SpecValidate, SysctlNetNeedsNetworkNamespace) {
    Spec s = valid_spec();
    lnx(s).sysctl["net.ipv4.ip_forward"] = "1";
    EXPECT_EQ(validate_error(s), "");
    lnx(s).sysctl = {{"net/ipv4/ip_forward", "1"}};
    EXPECT_EQ(validate_error(s), "");
    remove_ns(s, NsType::Network);
    EXPECT_EQ(validate_error(s), "linux.sysctl: sysctl \"net.ipv4.ip_forward\" is not allowed "
                                 "in the host's network namespace");
    // Joining the namespace we are in is the host's.
    lnx(s).namespaces.push_back({NsType::Network, "/proc/self/ns/net"});
    EXPECT_EQ(validate_error(s), "linux.sysctl: sysctl \"net.ipv4.ip_forward\" is not allowed "
                                 "in the host's network namespace");
    lnx(s).namespaces.back().path = "/nonexistent/netns";
    EXPECT_TRUE(validate_error(s).starts_with(
        "linux.sysctl: invalid network namespace path: stat `/nonexistent/netns`: ENOENT"))
        << validate_error(s);
}

TEST(SpecValidate, SysctlIpcNeedsIpcNamespace) {
    Spec s = valid_spec();
    lnx(s).sysctl = {{"kernel.shmmax", "1"}, {"fs.mqueue.msg_max", "10"}, {"kernel.sem", "1"}};
    EXPECT_EQ(validate_error(s), "");
    remove_ns(s, NsType::Ipc);
    EXPECT_EQ(validate_error(s), "linux.sysctl: sysctl \"fs.mqueue.msg_max\" is not allowed in "
                                 "the host's ipc namespace");
    lnx(s).sysctl = {{"kernel.msgmax", "1"}};
    EXPECT_EQ(validate_error(s), "linux.sysctl: sysctl \"kernel.msgmax\" is not allowed in "
                                 "the host's ipc namespace");
}

TEST(SpecValidate, SysctlUts) {
    Spec s = valid_spec();
    lnx(s).sysctl = {{"kernel.domainname", "x"}};
    EXPECT_EQ(validate_error(s), "");
    lnx(s).sysctl = {{"kernel.hostname", "x"}};
    EXPECT_EQ(validate_error(s), "linux.sysctl: sysctl \"kernel.hostname\" is not allowed as it "
                                 "conflicts with the OCI \"hostname\" field");
    s.hostname = "";
    remove_ns(s, NsType::Uts);
    lnx(s).sysctl = {{"kernel.domainname", "x"}};
    EXPECT_EQ(validate_error(s),
              "linux.sysctl: sysctl \"kernel.domainname\" is not in a separate kernel namespace");
}

TEST(SpecValidate, SysctlOtherRejected) {
    Spec s = valid_spec();
    lnx(s).sysctl = {{"vm.overcommit_memory", "1"}};
    EXPECT_EQ(validate_error(s), "linux.sysctl: sysctl \"vm.overcommit_memory\" is not in a "
                                 "separate kernel namespace");
    lnx(s).sysctl = {{"kernel/pid_max", "1"}};
    EXPECT_EQ(validate_error(s),
              "linux.sysctl: sysctl \"kernel.pid_max\" is not in a separate kernel namespace");
}

TEST(SpecValidate, HostnameNeedsUts) {
    Spec s = valid_spec();
    remove_ns(s, NsType::Uts);
    EXPECT_EQ(validate_error(s),
              "hostname: unable to set hostname without a private UTS namespace");
    s.hostname = "";
    s.domainname = "example.org";
    EXPECT_EQ(validate_error(s),
              "domainname: unable to set domainname without a private UTS namespace");
    s.domainname = "";
    EXPECT_EQ(validate_error(s), "");
    s.linux.reset();
    s.hostname = "x";
    EXPECT_EQ(validate_error(s),
              "hostname: unable to set hostname without a private UTS namespace");
}

TEST(SpecValidate, RootfsPropagation) {
    Spec s = valid_spec();
    for (const char* p : {"", "private", "rprivate", "slave", "rslave", "shared", "rshared",
                          "unbindable", "runbindable"}) {
        lnx(s).rootfs_propagation = p;
        EXPECT_EQ(validate_error(s), "") << p;
    }
    lnx(s).rootfs_propagation = "rsharedx";
    EXPECT_EQ(validate_error(s), R"(linux.rootfsPropagation: unknown propagation "rsharedx")");
}

TEST(SpecValidate, MaskedAndReadonlyPathsAbsolute) {
    Spec s = valid_spec();
    lnx(s).masked_paths.push_back("proc/x");
    EXPECT_EQ(validate_error(s),
              R"(linux.maskedPaths[10]: must be an absolute path, got "proc/x")");
    lnx(s).masked_paths.pop_back();
    lnx(s).readonly_paths[0] = "";
    EXPECT_EQ(validate_error(s), R"(linux.readonlyPaths[0]: must be an absolute path, got "")");
}

TEST(SpecValidate, MaskedPathsNeedMountNamespace) {
    Spec s = valid_spec();
    remove_ns(s, NsType::Mount);
    EXPECT_EQ(validate_error(s),
              "linux.maskedPaths: unable to restrict paths without a private mount namespace");
    lnx(s).masked_paths.clear();
    EXPECT_EQ(validate_error(s),
              "linux.readonlyPaths: unable to restrict paths without a private mount namespace");
    lnx(s).readonly_paths.clear();
    EXPECT_EQ(validate_error(s), "");
}

TEST(SpecValidate, CgroupResourceValues) {
    auto with = [](const std::string& resources) {
        auto r = parse_spec(replace_first(kRuncSpec, "\"resources\": {", "\"resources\": {" + resources + ","));
        EXPECT_TRUE(r) << r.error().what();
        return r ? validate_error(*r) : std::string("parse failed");
    };
    EXPECT_EQ(with(R"("memory": {"limit": 100, "swap": 200, "swappiness": 30})"), "");
    EXPECT_EQ(with(R"("memory": {"limit": 100, "swap": 50})"),
              "linux.resources.memory.swap: memory+swap (50) must not be below the memory limit (100)");
    EXPECT_EQ(with(R"("memory": {"limit": 100, "swap": -1})"), "");
    EXPECT_EQ(with(R"("memory": {"limit": -2})"), "linux.resources.memory.limit: invalid value -2");
    EXPECT_EQ(with(R"("memory": {"swappiness": 101})"), "linux.resources.memory.swappiness: 101 is out of range 0-100");
    EXPECT_EQ(with(R"("cpu": {"idle": 2})"), "linux.resources.cpu.idle: must be 0 or 1");
    EXPECT_EQ(with(R"("unified": {"memory.high": "1G"})"), "");
    EXPECT_EQ(with(R"("unified": {"../x": "1"})"), R"(linux.resources.unified: "../x" is not a cgroup file name)");
    EXPECT_EQ(with(R"("unified": {"cgroup.procs": "1"})"), R"(linux.resources.unified: "cgroup.procs" may not be set)");
}

TEST(SpecValidate, HookPathsAndTimeouts) {
    Spec s = valid_spec();
    s.hooks = Hooks{};
    EXPECT_EQ(validate_error(s), "");
    s.hooks->poststop.push_back(Hook{"/bin/true", {}, {}, std::nullopt});
    EXPECT_EQ(validate_error(s), "");
    s.hooks->poststop.push_back(Hook{"bin/true", {}, {}, std::nullopt});
    EXPECT_EQ(validate_error(s), "hooks.poststop[1].path: must be an absolute path");
    s.hooks->poststop.pop_back();
    s.hooks->create_runtime.push_back(Hook{"/bin/true", {}, {}, 0});
    EXPECT_EQ(validate_error(s), "hooks.createRuntime[0].timeout: must be greater than zero");
}

TEST(SpecValidate, SeccompNotifyNeedsAListener) {
    Spec s = valid_spec();
    Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    sc.syscalls.push_back({{"mkdir"}, "SCMP_ACT_ERRNO", 1, {}});
    lnx(s).seccomp = sc;
    EXPECT_EQ(validate_error(s), "");
    lnx(s).seccomp->syscalls.push_back({{"mount"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
    EXPECT_EQ(validate_error(s),
              "linux.seccomp.listenerPath: failed to connect with seccomp agent: SCMP_ACT_NOTIFY needs a "
              "listener, and listenerPath is empty");
    lnx(s).seccomp->listener_path = "/run/l.sock";
    EXPECT_EQ(validate_error(s), "");
    lnx(s).seccomp->listener_path = "run/l.sock";
    EXPECT_EQ(validate_error(s), "linux.seccomp.listenerPath: must be an absolute path");
    lnx(s).seccomp = sc;
    lnx(s).seccomp->listener_path = "/run/l.sock";
    EXPECT_EQ(validate_error(s), "");  // (no NOTIFY rule: the listener is harmless, as in runc)
    lnx(s).seccomp->syscalls.push_back({{"write"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
    EXPECT_EQ(validate_error(s),
              "linux.seccomp.syscalls[1]: SCMP_ACT_NOTIFY cannot be used for the write syscall");
}

TEST(SpecValidate, IntelRdtUnsupported) {
    auto r = parse_spec(replace_first(kRuncSpec, "\"resources\": {",
                                      "\"intelRdt\": {\"closID\": \"x\"}, \"resources\": {"));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(validate_error(*r), "linux.intelRdt: not supported yet");
}

TEST(SpecValidate, LsmSettingsAreLeftToTheHost) {
    // AppArmor is checked where it is applied (runtime::check_host_support);
    // an SELinux label means nothing without SELinux, as for runc and crun.
    Spec s = valid_spec();
    s.process->apparmor_profile = "docker-default";
    s.process->selinux_label = "system_u:system_r:container_t:s0";
    lnx(s).mount_label = "system_u:object_r:container_file_t:s0";
    EXPECT_EQ(validate_error(s), "");
}

TEST(SpecValidate, FullSpecFirstError) {
    // kFullSpec sets everything, including unsupported features; validation
    // reports the first problem it finds.
    auto r = parse_spec(kFullSpec);
    ASSERT_TRUE(r);
    EXPECT_EQ(validate_error(*r),
              "linux.sysctl: invalid network namespace path: stat `/var/run/netns/x`: ENOENT (No such file or directory)");
}
