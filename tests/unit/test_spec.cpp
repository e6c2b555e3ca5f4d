// oci::Spec: name tables, config.json parsing, validation, the default spec.
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "oci/spec.hpp"
#include "spec_fixtures.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

using namespace hako;
using namespace hako::oci;
using namespace hako::test;

namespace {


// The error message of a failed parse ("" when it succeeded).
std::string parse_error(std::string_view json) {
    auto r = parse_spec(json);
    return r ? std::string() : r.error().what();
}

std::vector<int> caps(std::initializer_list<int> l) { return std::vector<int>(l); }

}  // namespace

// --- name tables -------------------------------------------------------------

TEST(SpecNames, NamespaceTypes) {
    const std::pair<NsType, const char*> all[] = {
        {NsType::Pid, "pid"},   {NsType::Network, "network"}, {NsType::Mount, "mount"},
        {NsType::Ipc, "ipc"},   {NsType::Uts, "uts"},         {NsType::User, "user"},
        {NsType::Cgroup, "cgroup"}, {NsType::Time, "time"},
    };
    for (auto [t, name] : all) {
        EXPECT_STREQ(ns_type_name(t), name);
        EXPECT_EQ(ns_type_from_name(name), t) << name;
    }
    EXPECT_FALSE(ns_type_from_name("net"));
    EXPECT_FALSE(ns_type_from_name("PID"));
    EXPECT_FALSE(ns_type_from_name(""));
}

TEST(SpecNames, CloneFlags) {
    EXPECT_EQ(ns_clone_flag(NsType::Pid), CLONE_NEWPID);
    EXPECT_EQ(ns_clone_flag(NsType::Network), CLONE_NEWNET);
    EXPECT_EQ(ns_clone_flag(NsType::Mount), CLONE_NEWNS);
    EXPECT_EQ(ns_clone_flag(NsType::Ipc), CLONE_NEWIPC);
    EXPECT_EQ(ns_clone_flag(NsType::Uts), CLONE_NEWUTS);
    EXPECT_EQ(ns_clone_flag(NsType::User), CLONE_NEWUSER);
    EXPECT_EQ(ns_clone_flag(NsType::Cgroup), CLONE_NEWCGROUP);
    EXPECT_EQ(ns_clone_flag(NsType::Time), 0x80);
    EXPECT_EQ(ns_clone_flag(NsType::Time), CLONE_NEWTIME);
}

TEST(SpecNames, Capabilities) {
    EXPECT_EQ(capability_from_name("CAP_CHOWN"), 0);
    EXPECT_EQ(capability_from_name("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
    EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
    EXPECT_EQ(capability_from_name("CAP_AUDIT_READ"), CAP_AUDIT_READ);
    EXPECT_EQ(capability_from_name("CAP_PERFMON"), 38);
    EXPECT_EQ(capability_from_name("CAP_BPF"), 39);
    EXPECT_EQ(capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
    EXPECT_EQ(capability_last(), 40);
    EXPECT_FALSE(capability_from_name("CAP_FOO"));
    EXPECT_FALSE(capability_from_name("cap_chown"));
    EXPECT_FALSE(capability_from_name("CHOWN"));
    for (int c = 0; c <= capability_last(); ++c) {
        ASSERT_NE(capability_name(c), nullptr) << c;
        EXPECT_EQ(capability_from_name(capability_name(c)), c) << capability_name(c);
    }
    EXPECT_STREQ(capability_name(0), "CAP_CHOWN");
    EXPECT_STREQ(capability_name(CAP_SETFCAP), "CAP_SETFCAP");
    EXPECT_STREQ(capability_name(CAP_MAC_OVERRIDE), "CAP_MAC_OVERRIDE");
    EXPECT_STREQ(capability_name(CAP_WAKE_ALARM), "CAP_WAKE_ALARM");
    EXPECT_EQ(capability_name(-1), nullptr);
    EXPECT_EQ(capability_name(41), nullptr);
}

TEST(SpecNames, Rlimits) {
    const std::pair<const char*, int> all[] = {
        {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
        {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    };
    for (auto [name, res] : all) EXPECT_EQ(rlimit_from_name(name), res) << name;
    EXPECT_FALSE(rlimit_from_name("RLIMIT_FOO"));
    EXPECT_FALSE(rlimit_from_name("NOFILE"));
    EXPECT_FALSE(rlimit_from_name("rlimit_nofile"));
}

// --- parsing ----------------------------------------------------------------

TEST(SpecParse, RuncDefault) {
    auto r = parse_spec(kRuncSpec);
    ASSERT_TRUE(r) << r.error().what();
    const Spec& s = *r;
    EXPECT_EQ(s.oci_version, "1.0.2-dev");

    ASSERT_TRUE(s.process);
    const Process& p = *s.process;
    EXPECT_TRUE(p.terminal);
    EXPECT_FALSE(p.console_size);
    EXPECT_EQ(p.user.uid, 0u);
    EXPECT_EQ(p.user.gid, 0u);
    EXPECT_FALSE(p.user.umask);
    EXPECT_TRUE(p.user.additional_gids.empty());
    EXPECT_EQ(p.args, std::vector<std::string>{"sh"});
    EXPECT_EQ(p.env, (std::vector<std::string>{
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "TERM=xterm"}));
    EXPECT_EQ(p.cwd, "/");
    ASSERT_TRUE(p.capabilities);
    const auto three = caps({CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE});
    EXPECT_EQ(p.capabilities->bounding, three);
    EXPECT_EQ(p.capabilities->effective, three);
    EXPECT_EQ(p.capabilities->permitted, three);
    EXPECT_EQ(p.capabilities->ambient, three);
    EXPECT_TRUE(p.capabilities->inheritable.empty());
    ASSERT_EQ(p.rlimits.size(), 1u);
    EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
    EXPECT_EQ(p.rlimits[0].soft, 1024u);
    EXPECT_EQ(p.rlimits[0].hard, 1024u);
    EXPECT_TRUE(p.no_new_privileges);
    EXPECT_FALSE(p.oom_score_adj);
    EXPECT_EQ(p.apparmor_profile, "");

    EXPECT_EQ(s.root.path, "rootfs");
    EXPECT_TRUE(s.root.readonly);
    EXPECT_EQ(s.hostname, "runc");
    EXPECT_EQ(s.domainname, "");

    ASSERT_EQ(s.mounts.size(), 7u);
    EXPECT_EQ(s.mounts[0].destination, "/proc");
    EXPECT_EQ(s.mounts[0].type, "proc");
    EXPECT_EQ(s.mounts[0].source, "proc");
    EXPECT_TRUE(s.mounts[0].options.empty());
    EXPECT_EQ(s.mounts[2].destination, "/dev/pts");
    EXPECT_EQ(s.mounts[2].options,
              (std::vector<std::string>{"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                        "mode=0620", "gid=5"}));
    EXPECT_EQ(s.mounts[6].destination, "/sys/fs/cgroup");
    EXPECT_EQ(s.mounts[6].type, "cgroup");
    EXPECT_FALSE(s.hooks);
    EXPECT_TRUE(s.annotations.empty());

    ASSERT_TRUE(s.linux);
    const Linux& l = *s.linux;
    ASSERT_TRUE(l.resources);
    EXPECT_EQ(l.resources->present, std::vector<std::string>{"devices"});
    ASSERT_EQ(l.resources->devices.size(), 1u);
    EXPECT_FALSE(l.resources->devices[0].allow);
    EXPECT_EQ(l.resources->devices[0].type, "");
    EXPECT_FALSE(l.resources->devices[0].major);
    EXPECT_FALSE(l.resources->devices[0].minor);
    EXPECT_EQ(l.resources->devices[0].access, "rwm");
    ASSERT_EQ(l.namespaces.size(), 5u);
    const NsType want[] = {NsType::Pid, NsType::Network, NsType::Ipc, NsType::Uts,
                           NsType::Mount};
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(l.namespaces[i].type, want[i]);
        EXPECT_EQ(l.namespaces[i].path, "");
    }
    EXPECT_EQ(l.masked_paths.size(), 10u);
    EXPECT_EQ(l.masked_paths.front(), "/proc/acpi");
    EXPECT_EQ(l.masked_paths.back(), "/proc/scsi");
    EXPECT_EQ(l.readonly_paths,
              (std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                        "/proc/sysrq-trigger"}));
    EXPECT_TRUE(l.uid_mappings.empty());
    EXPECT_TRUE(l.sysctl.empty());
    EXPECT_FALSE(l.seccomp);
    EXPECT_FALSE(l.personality_domain);
    EXPECT_FALSE(l.intel_rdt_present);
    EXPECT_TRUE(l.devices.empty());
    EXPECT_EQ(l.rootfs_propagation, "");
    EXPECT_EQ(l.cgroups_path, "");
}

TEST(SpecParse, EveryField) {
    auto r = parse_spec(kFullSpec);
    ASSERT_TRUE(r) << r.error().what();
    const Spec& s = *r;
    EXPECT_EQ(s.oci_version, "1.2.0");

    const Process& p = *s.process;
    EXPECT_TRUE(p.terminal);
    ASSERT_TRUE(p.console_size);
    EXPECT_EQ(p.console_size->height, 25u);
    EXPECT_EQ(p.console_size->width, 80u);
    EXPECT_EQ(p.user.uid, 1000u);
    EXPECT_EQ(p.user.gid, 1001u);
    EXPECT_EQ(p.user.umask, 18u);
    EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6}));
    EXPECT_EQ(p.user.username, "someone");
    EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/sh", "-c", "true"}));
    EXPECT_EQ(p.env, (std::vector<std::string>{"A=1", "B=2"}));
    EXPECT_EQ(p.cwd, "/work");
    ASSERT_TRUE(p.capabilities);
    EXPECT_EQ(p.capabilities->bounding, caps({CAP_CHOWN, CAP_SYS_ADMIN}));
    EXPECT_EQ(p.capabilities->effective, caps({CAP_KILL}));
    EXPECT_EQ(p.capabilities->permitted, caps({CAP_KILL, 40}));
    EXPECT_EQ(p.capabilities->inheritable, caps({CAP_NET_RAW}));
    EXPECT_EQ(p.capabilities->ambient, caps({39}));
    ASSERT_EQ(p.rlimits.size(), 2u);
    EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
    EXPECT_EQ(p.rlimits[0].soft, 1024u);
    EXPECT_EQ(p.rlimits[0].hard, 4096u);
    EXPECT_EQ(p.rlimits[1].type, "RLIMIT_CORE");
    EXPECT_EQ(p.rlimits[1].resource, RLIMIT_CORE);
    EXPECT_EQ(p.rlimits[1].soft, UINT64_MAX);
    EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
    EXPECT_TRUE(p.no_new_privileges);
    EXPECT_EQ(p.apparmor_profile, "profile");
    EXPECT_EQ(p.oom_score_adj, -500);
    EXPECT_EQ(p.selinux_label, "system_u:system_r:container_t:s0");

    EXPECT_EQ(s.root.path, "/var/rootfs");
    EXPECT_TRUE(s.root.readonly);
    EXPECT_EQ(s.hostname, "box");
    EXPECT_EQ(s.domainname, "example.org");

    ASSERT_EQ(s.mounts.size(), 1u);
    const Mount& m = s.mounts[0];
    EXPECT_EQ(m.destination, "/data");
    EXPECT_EQ(m.type, "bind");
    EXPECT_EQ(m.source, "/srv/data");
    EXPECT_EQ(m.options, (std::vector<std::string>{"rbind", "ro"}));
    ASSERT_EQ(m.uid_mappings.size(), 1u);
    EXPECT_EQ(m.uid_mappings[0].container_id, 0u);
    EXPECT_EQ(m.uid_mappings[0].host_id, 100000u);
    EXPECT_EQ(m.uid_mappings[0].size, 65536u);
    ASSERT_EQ(m.gid_mappings.size(), 1u);
    EXPECT_EQ(m.gid_mappings[0].container_id, 1u);
    EXPECT_EQ(m.gid_mappings[0].host_id, 200000u);
    EXPECT_EQ(m.gid_mappings[0].size, 10u);

    ASSERT_TRUE(s.hooks);
    const Hooks& h = *s.hooks;
    ASSERT_EQ(h.prestart.size(), 1u);
    EXPECT_EQ(h.prestart[0].path, "/bin/pre");
    EXPECT_EQ(h.prestart[0].args, (std::vector<std::string>{"pre", "x"}));
    EXPECT_EQ(h.prestart[0].env, std::vector<std::string>{"E=1"});
    EXPECT_EQ(h.prestart[0].timeout, 5);
    ASSERT_EQ(h.create_runtime.size(), 1u);
    EXPECT_EQ(h.create_runtime[0].path, "/bin/cr");
    EXPECT_FALSE(h.create_runtime[0].timeout);
    ASSERT_EQ(h.create_container.size(), 1u);
    EXPECT_EQ(h.create_container[0].path, "/bin/cc");
    ASSERT_EQ(h.start_container.size(), 1u);
    EXPECT_EQ(h.start_container[0].path, "/bin/sc");
    ASSERT_EQ(h.poststart.size(), 1u);
    EXPECT_EQ(h.poststart[0].path, "/bin/ps");
    ASSERT_EQ(h.poststop.size(), 2u);
    EXPECT_EQ(h.poststop[1].path, "/bin/pst2");
    EXPECT_FALSE(h.empty());

    EXPECT_EQ(s.annotations,
              (std::map<std::string, std::string>{{"org.example.key", "value"}, {"other", ""}}));

    ASSERT_TRUE(s.linux);
    const Linux& l = *s.linux;
    ASSERT_EQ(l.namespaces.size(), 8u);
    EXPECT_EQ(l.namespaces[1].type, NsType::Network);
    EXPECT_EQ(l.namespaces[1].path, "/var/run/netns/x");
    EXPECT_EQ(l.namespaces[6].type, NsType::Cgroup);
    EXPECT_EQ(l.namespaces[7].type, NsType::Time);
    ASSERT_EQ(l.uid_mappings.size(), 2u);
    EXPECT_EQ(l.uid_mappings[1].container_id, 1u);
    EXPECT_EQ(l.uid_mappings[1].host_id, 100000u);
    EXPECT_EQ(l.uid_mappings[1].size, 65536u);
    ASSERT_EQ(l.gid_mappings.size(), 1u);
    EXPECT_EQ(l.gid_mappings[0].host_id, 1001u);
    ASSERT_EQ(l.time_offsets.size(), 2u);
    EXPECT_EQ(l.time_offsets.at("monotonic").secs, -86400);
    EXPECT_EQ(l.time_offsets.at("monotonic").nanosecs, 5u);
    EXPECT_EQ(l.time_offsets.at("boottime").secs, 3600);
    EXPECT_EQ(l.time_offsets.at("boottime").nanosecs, 999999999u);

    ASSERT_EQ(l.devices.size(), 4u);
    EXPECT_EQ(l.devices[0].path, "/dev/fuse");
    EXPECT_EQ(l.devices[0].type, 'c');
    EXPECT_EQ(l.devices[0].major, 10);
    EXPECT_EQ(l.devices[0].minor, 229);
    EXPECT_EQ(l.devices[0].file_mode, 0666u);
    EXPECT_EQ(l.devices[0].uid, 0u);
    EXPECT_EQ(l.devices[0].gid, 0u);
    EXPECT_EQ(l.devices[1].type, 'b');
    EXPECT_EQ(l.devices[1].major, 8);
    EXPECT_FALSE(l.devices[1].file_mode);
    EXPECT_FALSE(l.devices[1].uid);
    EXPECT_EQ(l.devices[2].type, 'p');
    EXPECT_EQ(l.devices[3].type, 'u');

    EXPECT_EQ(l.cgroups_path, "/hako/box");
    ASSERT_TRUE(l.resources);
    EXPECT_EQ(l.resources->present,
              (std::vector<std::string>{"devices", "memory", "pids", "unified"}));
    ASSERT_EQ(l.resources->devices.size(), 3u);
    EXPECT_TRUE(l.resources->devices[1].allow);
    EXPECT_EQ(l.resources->devices[1].type, "c");
    EXPECT_EQ(l.resources->devices[1].major, 10);
    EXPECT_EQ(l.resources->devices[1].minor, 229);
    EXPECT_EQ(l.resources->devices[1].access, "rw");
    EXPECT_FALSE(l.resources->devices[2].major);
    EXPECT_EQ(l.resources->devices[2].minor, -1);

    EXPECT_EQ(l.rootfs_propagation, "rslave");
    EXPECT_EQ(l.masked_paths, std::vector<std::string>{"/proc/kcore"});
    EXPECT_EQ(l.readonly_paths, (std::vector<std::string>{"/proc/sys", "/proc/bus"}));
    EXPECT_EQ(l.sysctl, (std::map<std::string, std::string>{{"net.ipv4.ip_forward", "1"},
                                                            {"kernel.shmmax", "100"}}));

    ASSERT_TRUE(l.seccomp);
    const Seccomp& sc = *l.seccomp;
    EXPECT_EQ(sc.default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(sc.default_errno_ret, 1u);
    EXPECT_EQ(sc.architectures,
              (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}));
    EXPECT_EQ(sc.flags, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
    EXPECT_EQ(sc.listener_path, "/run/listener.sock");
    EXPECT_EQ(sc.listener_metadata, "meta");
    ASSERT_EQ(sc.syscalls.size(), 2u);
    EXPECT_EQ(sc.syscalls[0].names, (std::vector<std::string>{"read", "write"}));
    EXPECT_EQ(sc.syscalls[0].action, "SCMP_ACT_ALLOW");
    EXPECT_FALSE(sc.syscalls[0].errno_ret);
    EXPECT_TRUE(sc.syscalls[0].args.empty());
    EXPECT_EQ(sc.syscalls[1].errno_ret, 38u);
    ASSERT_EQ(sc.syscalls[1].args.size(), 2u);
    EXPECT_EQ(sc.syscalls[1].args[0].index, 0u);
    EXPECT_EQ(sc.syscalls[1].args[0].value, 8u);
    EXPECT_EQ(sc.syscalls[1].args[0].op, "SCMP_CMP_EQ");
    EXPECT_EQ(sc.syscalls[1].args[1].index, 1u);
    EXPECT_EQ(sc.syscalls[1].args[1].value, UINT64_MAX);
    EXPECT_EQ(sc.syscalls[1].args[1].value_two, 255u);
    EXPECT_EQ(sc.syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");

    EXPECT_EQ(l.mount_label, "system_u:object_r:container_file_t:s0");
    EXPECT_EQ(l.personality_domain, "LINUX32");
    EXPECT_TRUE(l.intel_rdt_present);
}

TEST(SpecParse, MinimalLeavesDefaults) {
    auto r = parse_spec(R"({"ociVersion": "1.0.0"})");
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->oci_version, "1.0.0");
    EXPECT_FALSE(r->process);
    EXPECT_EQ(r->root.path, "");
    EXPECT_FALSE(r->root.readonly);
    EXPECT_TRUE(r->mounts.empty());
    EXPECT_FALSE(r->hooks);
    EXPECT_FALSE(r->linux);

    auto p = parse_spec(R"({"ociVersion": "1.0.0", "process": {"args": ["x"]}})");
    ASSERT_TRUE(p) << p.error().what();
    ASSERT_TRUE(p->process);
    EXPECT_EQ(p->process->cwd, "/");
    EXPECT_FALSE(p->process->terminal);
    EXPECT_FALSE(p->process->capabilities);
    EXPECT_EQ(p->process->user.uid, 0u);
}

TEST(SpecParse, UnknownFieldsIgnored) {
    auto r = parse_spec(R"({
        "ociVersion": "1.0.0", "futureTopLevel": {"x": [1, 2]}, "windows": {"layerFolders": []},
        "process": {"args": ["sh"], "ioPriority": {"class": "IOPRIO_CLASS_RT"}, "weird": 5,
                    "user": {"uid": 1, "extra": true}},
        "root": {"path": "r", "extra": null},
        "mounts": [{"destination": "/x", "bogus": 1}],
        "linux": {"netDevices": {"eth0": {}}, "namespaces": [{"type": "pid", "z": 1}],
                  "resources": {"somethingNew": {"a": 1}}}
    })");
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->process->user.uid, 1u);
    EXPECT_EQ(r->mounts[0].destination, "/x");
    EXPECT_EQ(r->linux->namespaces.size(), 1u);
    EXPECT_TRUE(r->linux->resources->present.empty());
}

TEST(SpecParse, NullMeansAbsent) {
    auto r = parse_spec(R"({"ociVersion": "1.0.0", "process": null, "hooks": null,
                            "linux": {"seccomp": null, "resources": {"memory": null},
                                      "namespaces": null}})");
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_FALSE(r->process);
    EXPECT_FALSE(r->hooks);
    EXPECT_FALSE(r->linux->seccomp);
    EXPECT_TRUE(r->linux->resources->present.empty());
}

TEST(SpecParse, ErrorUidNotUnsigned) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": {"user": {"uid": "abc"}}})"),
              R"(process.user.uid: expected an unsigned integer, got "abc")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": {"user": {"uid": -1}}})"),
              "process.user.uid: expected an unsigned integer, got -1");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": {"user": {"gid": 1.5}}})"),
              "process.user.gid: expected an unsigned integer, got 1.5");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": {"user": {"uid": 4294967296}}})"),
              "process.user.uid: expected an unsigned 32-bit integer, got 4294967296");
    EXPECT_EQ(parse_error(
                  R"({"ociVersion": "1", "process": {"user": {"additionalGids": [1, "x"]}}})"),
              R"(process.user.additionalGids[1]: expected an unsigned integer, got "x")");
}

TEST(SpecParse, ErrorMountOptionNotString) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "mounts": [
                  {"destination": "/a"}, {"destination": "/b"},
                  {"destination": "/c", "options": ["ro", 5]}]})"),
              "mounts[2].options[1]: expected a string, got 5");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "mounts": {"destination": "/a"}})"),
              R"(mounts: expected an array, got {"destination":"/a"})");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "mounts": [3]})"),
              "mounts[0]: expected an object, got 3");
}

TEST(SpecParse, ErrorUnknownNamespace) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"namespaces": [
                  {"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "foo"}]}})"),
              R"(linux.namespaces[3].type: unknown namespace type "foo")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"namespaces": [{"path": "/x"}]}})"),
              "linux.namespaces[0].type: required");
}

TEST(SpecParse, UnknownCapabilitiesAreSetAside) {
    auto r = parse_spec(R"({"ociVersion": "1",
                  "process": {"capabilities": {"bounding": ["CAP_FOO", "CAP_KILL"], "effective": ["CAP_FOO"]}}})");
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->process->capabilities->bounding, std::vector<int>{CAP_KILL});
    EXPECT_TRUE(r->process->capabilities->effective.empty());
    EXPECT_EQ(r->process->capabilities->unknown, std::vector<std::string>{"CAP_FOO"});
    EXPECT_EQ(parse_error(R"({"ociVersion": "1",
                  "process": {"capabilities": {"ambient": ["CAP_KILL", 7]}}})"),
              "process.capabilities.ambient[1]: expected a string, got 7");
}

TEST(SpecParse, ErrorUnknownRlimit) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1",
                  "process": {"rlimits": [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]}})"),
              R"(process.rlimits[0].type: unknown rlimit "RLIMIT_FOO")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1",
                  "process": {"rlimits": [{"type": "RLIMIT_CORE", "soft": -1}]}})"),
              "process.rlimits[0].soft: expected an unsigned integer, got -1");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": {"rlimits": [{"soft": 1}]}})"),
              "process.rlimits[0].type: required");
}

TEST(SpecParse, ErrorOtherTypes) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": {"terminal": "yes"}})"),
              R"(process.terminal: expected a boolean, got "yes")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": {"oomScoreAdj": "x"}})"),
              R"(process.oomScoreAdj: expected an integer, got "x")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": {"oomScoreAdj": 3000000000}})"),
              "process.oomScoreAdj: expected a 32-bit integer, got 3000000000");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": {"args": "sh"}})"),
              R"(process.args: expected an array, got "sh")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "process": 1})"),
              "process: expected an object, got 1");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "annotations": {"a": 1}})"),
              "annotations.a: expected a string, got 1");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"sysctl": {"net.x": 1}}})"),
              "linux.sysctl.net.x: expected a string, got 1");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"uidMappings": [{"size": "1"}]}})"),
              R"(linux.uidMappings[0].size: expected an unsigned integer, got "1")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "hostname": false})"),
              "hostname: expected a string, got false");
}

TEST(SpecParse, ErrorLongValueTruncated) {
    std::string big(200, 'x');
    auto e = parse_error(R"({"ociVersion": "1", "hostname": [")" + big + R"("]})");
    EXPECT_TRUE(e.starts_with("hostname: expected a string, got [\"xxx")) << e;
    EXPECT_TRUE(e.ends_with("...")) << e;
    EXPECT_LT(e.size(), 120u);
}

TEST(SpecParse, ErrorDeeplyNestedValue) {
    const std::string deep = std::string(200000, '[') + std::string(200000, ']');
    auto e = parse_error(R"({"ociVersion": )" + deep + "}");
    EXPECT_TRUE(e.starts_with("ociVersion: expected a string, got [[[[[[[[[...]]]]]]]]]")) << e;
    EXPECT_EQ(parse_error(R"({"ociVersion": {"a": [1, {"b": null}], "c": "d"}})"),
              R"(ociVersion: expected a string, got {"a":[1,{"b":null}],"c":"d"})");
}

TEST(SpecParse, ErrorOciVersion) {
    EXPECT_EQ(parse_error(R"({"process": {}})"), "ociVersion: required");
    EXPECT_EQ(parse_error(R"({"ociVersion": 1})"), "ociVersion: expected a string, got 1");
}

TEST(SpecParse, ErrorRoot) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "root": {"readonly": true}})"),
              "root.path: required");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "root": {"path": 5}})"),
              "root.path: expected a string, got 5");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "root": "rootfs"})"),
              R"(root: expected an object, got "rootfs")");
}

TEST(SpecParse, ErrorNotAnObject) {
    EXPECT_EQ(parse_error("[1, 2]"), "config.json: expected an object, got [1,2]");
    EXPECT_EQ(parse_error("\"x\""), R"(config.json: expected an object, got "x")");
}

TEST(SpecParse, MalformedJson) {
    EXPECT_EQ(parse_error("{\"ociVersion\": \"1\",, }"),
              "config.json: invalid JSON at byte 20: syntax error while parsing object key - "
              "unexpected ','; expected string literal");
    auto e = parse_error("");
    EXPECT_TRUE(e.starts_with("config.json: invalid JSON at byte 1: ")) << e;
    e = parse_error("{\"ociVersion\": \"1\"");
    EXPECT_TRUE(e.starts_with("config.json: invalid JSON at byte 19: ")) << e;
    e = parse_error("{\"ociVersion\": \"1\"} trailing");
    EXPECT_TRUE(e.starts_with("config.json: invalid JSON at byte ")) << e;
    e = parse_error("{\"ociVersion\": \"\xff\"}");
    EXPECT_TRUE(e.starts_with("config.json: invalid JSON at byte ")) << e;
}

TEST(SpecParse, ErrorDevices) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"devices": [
                  {"path": "/dev/a", "type": "x"}]}})"),
              R"(linux.devices[0].type: unknown device type "x")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"devices": [
                  {"path": "/dev/a", "type": "c"}, {"type": "c"}]}})"),
              "linux.devices[1].path: required");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"devices": [{"path": "/dev/a"}]}})"),
              "linux.devices[0].type: required");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"devices": [
                  {"path": "dev/a", "type": "c"}]}})"),
              R"(linux.devices[0].path: must be an absolute path, got "dev/a")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"devices": [
                  {"path": "/dev/a", "type": "c", "major": "1"}]}})"),
              R"(linux.devices[0].major: expected an integer, got "1")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"devices": [
                  {"path": "/dev/a", "type": "c", "fileMode": -1}]}})"),
              "linux.devices[0].fileMode: expected an unsigned integer, got -1");
}

TEST(SpecParse, ErrorDeviceCgroupRules) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"resources": {"devices": [
                  {"allow": "no"}]}}})"),
              R"(linux.resources.devices[0].allow: expected a boolean, got "no")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"resources": {"devices": [
                  {"allow": true, "type": "p"}]}}})"),
              R"(linux.resources.devices[0].type: unknown device type "p")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"resources": {"devices": [
                  {"allow": true, "access": "rwx"}]}}})"),
              R"(linux.resources.devices[0].access: invalid access "rwx")");
}

TEST(SpecParse, ErrorTimeOffsets) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"timeOffsets": {
                  "realtime": {"secs": 1}}}})"),
              R"(linux.timeOffsets: unknown clock "realtime")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"timeOffsets": {
                  "boottime": {"secs": "1"}}}})"),
              R"(linux.timeOffsets.boottime.secs: expected an integer, got "1")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"timeOffsets": {
                  "boottime": {"nanosecs": 1000000000}}}})"),
              "linux.timeOffsets.boottime.nanosecs: must be less than 1000000000");
}

TEST(SpecParse, ErrorSeccomp) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"seccomp": {}}})"),
              "linux.seccomp.defaultAction: required");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"seccomp": {
                  "defaultAction": "SCMP_ACT_NOPE"}}})"),
              R"(linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_NOPE")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"seccomp": {
                  "defaultAction": "SCMP_ACT_ALLOW",
                  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]}}})"),
              R"(linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "SCMP_CMP_XX")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"seccomp": {
                  "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]}}})"),
              "linux.seccomp.syscalls[0].action: required");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"seccomp": {
                  "defaultAction": "SCMP_ACT_ALLOW",
                  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                "args": [{"index": -1, "op": "SCMP_CMP_EQ"}]}]}}})"),
              "linux.seccomp.syscalls[0].args[0].index: expected an unsigned integer, got -1");
}

TEST(SpecParse, ErrorPersonality) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"personality": {"domain": "BSD"}}})"),
              R"(linux.personality.domain: unknown personality domain "BSD")");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "linux": {"personality": {}}})"),
              "linux.personality.domain: required");
    auto r = parse_spec(R"({"ociVersion": "1", "linux": {"personality": {"domain": "LINUX"}}})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->linux->personality_domain, "LINUX");
}

TEST(SpecParse, ErrorHooks) {
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "hooks": {"prestart": [{"args": []}]}})"),
              "hooks.prestart[0].path: required");
    EXPECT_EQ(parse_error(R"({"ociVersion": "1", "hooks": {"poststop": [
                  {"path": "/x", "timeout": 0}]}})"),
              "hooks.poststop[0].timeout: must be greater than zero");
}

TEST(SpecParse, ResourcesPresent) {
    auto r = parse_spec(R"({"ociVersion": "1", "linux": {"resources": {
        "unified": {}, "rdma": {}, "pids": {"limit": 1}, "network": {}, "hugepageLimits": [],
        "blockIO": {}, "cpu": {}, "memory": {}, "devices": []}}})");
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->linux->resources->present,
              (std::vector<std::string>{"devices", "memory", "cpu", "blockIO", "hugepageLimits",
                                        "network", "pids", "rdma", "unified"}));
}

TEST(SpecParse, ResourcesEveryKey) {
    auto r = parse_resources(R"({
        "memory": {"limit": 100, "reservation": 50, "swap": 200, "kernel": 1, "kernelTCP": 2,
                   "swappiness": 10, "disableOOMKiller": true, "useHierarchy": true, "checkBeforeUpdate": true},
        "cpu": {"shares": 512, "quota": 20000, "burst": 100, "period": 100000, "realtimeRuntime": 5,
                "realtimePeriod": 6, "cpus": "0-1", "mems": "0", "idle": 1},
        "blockIO": {"weight": 500, "leafWeight": 300,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 600}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 10}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
        "pids": {"limit": 32},
        "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
        "unified": {"memory.high": "1G"}})", "res");
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->memory->limit, 100);
    EXPECT_EQ(r->memory->kernel_tcp, 2);
    EXPECT_EQ(r->memory->swappiness, 10u);
    EXPECT_EQ(r->memory->disable_oom_killer, true);
    EXPECT_EQ(r->memory->check_before_update, true);
    EXPECT_EQ(r->cpu->burst, 100u);
    EXPECT_EQ(r->cpu->realtime_runtime, 5);
    EXPECT_EQ(r->cpu->idle, 1);
    EXPECT_EQ(r->cpu->cpus, "0-1");
    ASSERT_EQ(r->block_io->weight_device.size(), 1u);
    EXPECT_EQ(r->block_io->weight_device[0].weight, 600);
    ASSERT_EQ(r->block_io->throttle_read_bps.size(), 1u);
    EXPECT_EQ(r->block_io->throttle_read_bps[0].rate, 1048576u);
    EXPECT_EQ(r->block_io->throttle_write_iops[0].minor, 16);
    ASSERT_EQ(r->hugepage_limits.size(), 1u);
    EXPECT_EQ(r->hugepage_limits[0].page_size, "2MB");
    EXPECT_EQ(r->network->class_id, 1048577u);
    EXPECT_EQ(r->network->priorities[0].name, "eth0");
    EXPECT_EQ(r->pids_limit, 32);
    EXPECT_EQ(r->rdma.at("mlx5_1").hca_objects, 10000u);
    EXPECT_EQ(r->unified.at("memory.high"), "1G");
}

TEST(SpecParse, ResourcesErrors) {
    auto err = [](const char* text) {
        auto r = parse_resources(text, "linux.resources");
        return r ? std::string() : r.error().what();
    };
    EXPECT_EQ(err(R"({"blockIO": {"weight": 70000}})"),
              "linux.resources.blockIO.weight: expected an unsigned 16-bit integer, got 70000");
    EXPECT_EQ(err(R"({"hugepageLimits": [{"limit": 1}]})"), "linux.resources.hugepageLimits[0].pageSize: required");
    EXPECT_EQ(err(R"({"memory": {"swappiness": -1}})"),
              "linux.resources.memory.swappiness: expected an unsigned integer, got -1");
    EXPECT_EQ(err(R"({"unified": {"a": 1}})"), "linux.resources.unified.a: expected a string, got 1");
    EXPECT_NE(err("{"), "");
}

TEST(SpecLoad, MissingFile) {
    auto r = load_spec("/nonexistent-hako-dir/config.json");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOENT);
    EXPECT_EQ(r.error().msg, "read config `/nonexistent-hako-dir/config.json`");
}

TEST(SpecLoad, ReadsFile) {
    char dir[] = "/tmp/hako-spec-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string path = std::string(dir) + "/config.json";
    {
        std::ofstream f(path);
        f << kRuncSpec;
    }
    auto r = load_spec(path);
    ::unlink(path.c_str());
    ::rmdir(dir);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->hostname, "runc");
    EXPECT_EQ(r->mounts.size(), 7u);
}

// --- the default spec ---------------------------------------------------------

TEST(SpecDefault, MatchesRuncSpec) {
    std::string want = replace_first(kRuncSpec, "1.0.2-dev", "1.2.0");
    want = replace_first(want, "\"hostname\": \"runc\"", "\"hostname\": \"hako\"");
    EXPECT_EQ(default_spec_json(false), want);
}

TEST(SpecDefault, MatchesRuncSpecRootless) {
    std::string want = replace_first(kRuncRootlessSpec, "1.0.2-dev", "1.2.0");
    want = replace_first(want, "\"hostname\": \"runc\"", "\"hostname\": \"hako\"");
    want = replace_first(want, "\"hostID\": 0", "\"hostID\": " + std::to_string(::geteuid()));
    // The second hostID is the gid mapping's.
    auto second = want.find("\"hostID\": 0");
    ASSERT_NE(second, std::string::npos);
    want.replace(second, std::string("\"hostID\": 0").size(),
                 "\"hostID\": " + std::to_string(::getegid()));
    EXPECT_EQ(default_spec_json(true), want);
}

TEST(SpecDefault, ParsesAndValidates) {
    for (bool rootless : {false, true}) {
        auto r = parse_spec(default_spec_json(rootless));
        ASSERT_TRUE(r) << r.error().what();
        EXPECT_EQ(r->hostname, "hako");
        EXPECT_EQ(r->oci_version, "1.2.0");
        auto v = validate_spec(*r);
        EXPECT_TRUE(v) << (v ? "" : v.error().what());
        if (rootless) {
            ASSERT_EQ(r->linux->uid_mappings.size(), 1u);
            EXPECT_EQ(r->linux->uid_mappings[0].host_id, ::geteuid());
            EXPECT_EQ(r->linux->gid_mappings[0].host_id, ::getegid());
            EXPECT_FALSE(r->linux->resources);
        }
    }
}
