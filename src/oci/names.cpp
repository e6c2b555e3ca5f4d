// Name tables: namespace types, capabilities, rlimits.
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>

#include <array>
#include <string_view>
#include <utility>

#include "oci/spec.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace hako::oci {

namespace {

struct NsEntry {
    NsType type;
    const char* name;
    int flag;
};

constexpr std::array<NsEntry, 8> kNamespaces{{
    {NsType::Pid, "pid", CLONE_NEWPID},
    {NsType::Network, "network", CLONE_NEWNET},
    {NsType::Mount, "mount", CLONE_NEWNS},
    {NsType::Ipc, "ipc", CLONE_NEWIPC},
    {NsType::Uts, "uts", CLONE_NEWUTS},
    {NsType::User, "user", CLONE_NEWUSER},
    {NsType::Cgroup, "cgroup", CLONE_NEWCGROUP},
    {NsType::Time, "time", CLONE_NEWTIME},
}};

// Indexed by capability number.
constexpr std::array<const char*, 41> kCapabilities{
    "CAP_CHOWN",            // 0
    "CAP_DAC_OVERRIDE",     // 1
    "CAP_DAC_READ_SEARCH",  // 2
    "CAP_FOWNER",           // 3
    "CAP_FSETID",           // 4
    "CAP_KILL",             // 5
    "CAP_SETGID",           // 6
    "CAP_SETUID",           // 7
    "CAP_SETPCAP",          // 8
    "CAP_LINUX_IMMUTABLE",  // 9
    "CAP_NET_BIND_SERVICE", // 10
    "CAP_NET_BROADCAST",    // 11
    "CAP_NET_ADMIN",        // 12
    "CAP_NET_RAW",          // 13
    "CAP_IPC_LOCK",         // 14
    "CAP_IPC_OWNER",        // 15
    "CAP_SYS_MODULE",       // 16
    "CAP_SYS_RAWIO",        // 17
    "CAP_SYS_CHROOT",       // 18
    "CAP_SYS_PTRACE",       // 19
    "CAP_SYS_PACCT",        // 20
    "CAP_SYS_ADMIN",        // 21
    "CAP_SYS_BOOT",         // 22
    "CAP_SYS_NICE",         // 23
    "CAP_SYS_RESOURCE",     // 24
    "CAP_SYS_TIME",         // 25
    "CAP_SYS_TTY_CONFIG",   // 26
    "CAP_MKNOD",            // 27
    "CAP_LEASE",            // 28
    "CAP_AUDIT_WRITE",      // 29
    "CAP_AUDIT_CONTROL",    // 30
    "CAP_SETFCAP",          // 31
    "CAP_MAC_OVERRIDE",     // 32
    "CAP_MAC_ADMIN",        // 33
    "CAP_SYSLOG",           // 34
    "CAP_WAKE_ALARM",       // 35
    "CAP_BLOCK_SUSPEND",    // 36
    "CAP_AUDIT_READ",       // 37
    "CAP_PERFMON",          // 38
    "CAP_BPF",              // 39
    "CAP_CHECKPOINT_RESTORE", // 40
};

// Cross-check a few entries against the kernel headers.
static_assert(CAP_CHOWN == 0 && CAP_NET_BIND_SERVICE == 10 && CAP_SYS_ADMIN == 21 &&
              CAP_AUDIT_WRITE == 29 && CAP_AUDIT_READ == 37);
#ifdef CAP_CHECKPOINT_RESTORE
static_assert(CAP_CHECKPOINT_RESTORE == 40);
#endif

struct RlimitEntry {
    const char* name;
    int resource;
};

constexpr std::array<RlimitEntry, 16> kRlimits{{
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
}};

}  // namespace

// runc's convertSysctlVariableToDotsSeparator: "net/ipv4/conf/eno2.100/rp_filter"
// -> "net.ipv4.conf.eno2/100.rp_filter". A name whose first separator is '.'
// is already in dotted form.
std::string sysctl_dotted(std::string_view s) {
    auto first = s.find_first_of("./");
    if (first == std::string_view::npos || s[first] == '.') return std::string(s);
    std::string out(s);
    for (char& c : out) {
        if (c == '.')
            c = '/';
        else if (c == '/')
            c = '.';
    }
    return out;
}

std::string sysctl_proc_path(std::string_view key) {
    std::string p = sysctl_dotted(key);
    for (char& c : p) c = c == '.' ? '/' : c == '/' ? '.' : c;
    return "/proc/sys/" + p;
}

const char* ns_type_name(NsType t) {
    for (const auto& e : kNamespaces)
        if (e.type == t) return e.name;
    return "unknown";
}

std::optional<NsType> ns_type_from_name(std::string_view name) {
    for (const auto& e : kNamespaces)
        if (name == e.name) return e.type;
    return std::nullopt;
}

int ns_clone_flag(NsType t) {
    for (const auto& e : kNamespaces)
        if (e.type == t) return e.flag;
    return 0;
}

std::optional<int> capability_from_name(std::string_view name) {
    for (size_t i = 0; i < kCapabilities.size(); ++i)
        if (name == kCapabilities[i]) return static_cast<int>(i);
    return std::nullopt;
}

const char* capability_name(int cap) {
    if (cap < 0 || static_cast<size_t>(cap) >= kCapabilities.size()) return nullptr;
    return kCapabilities[static_cast<size_t>(cap)];
}

int capability_last() { return static_cast<int>(kCapabilities.size()) - 1; }

std::optional<int> rlimit_from_name(std::string_view name) {
    for (const auto& e : kRlimits)
        if (name == e.name) return e.resource;
    return std::nullopt;
}

}  // namespace hako::oci
