// The OCI runtime-spec (1.2) configuration as a typed model.
// parse.cpp fills it from config.json; nothing else reads JSON.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

// In GNU mode (gnu++23, needed for HAKO_TRY's statement expressions) g++
// predefines `linux` as 1, which would clobber Spec::linux below.
#undef linux

namespace hako::oci {

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additional_gids;
    std::string username;  // windows only; kept for completeness
};

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    int resource = -1; // resolved RLIMIT_* number (parser validates the name)
    uint64_t soft = 0;
    uint64_t hard = 0;
};

// Capability sets as capability numbers (CAP_CHOWN = 0 ...); the parser
// resolves and validates names.
struct Capabilities {
    std::vector<int> bounding, effective, permitted, inheritable, ambient;
    std::vector<std::string> unknown;  // names not known here (left out, with a warning)
};

struct ConsoleSize {
    uint32_t height = 0;
    uint32_t width = 0;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::string apparmor_profile;
    std::optional<int> oom_score_adj;
    std::string selinux_label;
};

struct Root {
    std::string path;  // as written in config.json (relative to the bundle, or absolute)
    bool readonly = false;
};

struct IdMapping {
    uint32_t container_id = 0;
    uint32_t host_id = 0;
    uint32_t size = 0;
};

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    std::vector<IdMapping> uid_mappings;  // idmapped mounts (runtime-spec 1.1+)
    std::vector<IdMapping> gid_mappings;
};

enum class NsType { Pid, Network, Mount, Ipc, Uts, User, Cgroup, Time };

struct Namespace {
    NsType type{};
    std::string path;  // empty: create a new one
};

struct Device {
    std::string path;
    char type = 'c';  // 'c', 'b', 'u', 'p'
    int64_t major = 0;
    int64_t minor = 0;
    std::optional<uint32_t> file_mode;
    std::optional<uint32_t> uid;
    std::optional<uint32_t> gid;
};

struct DeviceCgroupRule {
    bool allow = false;
    std::string type;  // "a", "c", "b" or empty (= all)
    std::optional<int64_t> major;
    std::optional<int64_t> minor;
    std::string access;  // subset of "rwm"
};

struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
};

// linux.resources, by runtime-spec key: memory, cpu, blockIO, ...
struct MemoryResources {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};
struct CpuResources {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;
    std::optional<uint64_t> burst;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus, mems;
    std::optional<int64_t> idle;
};
struct BlockIOWeightDevice {
    int64_t major = 0, minor = 0;
    std::optional<uint16_t> weight, leaf_weight;
};
struct BlockIOThrottleDevice {
    int64_t major = 0, minor = 0;
    uint64_t rate = 0;
};
struct BlockIOResources {
    std::optional<uint16_t> weight, leaf_weight;
    std::vector<BlockIOWeightDevice> weight_device;
    std::vector<BlockIOThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
        throttle_write_iops;
};
struct HugepageLimit {
    std::string page_size;  // "2MB"
    uint64_t limit = 0;
};
struct NetworkPriority {
    std::string name;  // interface
    uint32_t priority = 0;
};
struct NetworkResources {
    std::optional<uint32_t> class_id;
    std::vector<NetworkPriority> priorities;
};
struct RdmaLimit {
    std::optional<uint32_t> hca_handles, hca_objects;
};

// linux.resources, as set in config.json (or by `update`).
struct Resources {
    std::vector<DeviceCgroupRule> devices;
    std::optional<int64_t> pids_limit;
    std::optional<MemoryResources> memory;
    std::optional<CpuResources> cpu;
    std::optional<BlockIOResources> block_io;
    std::vector<HugepageLimit> hugepage_limits;
    std::optional<NetworkResources> network;
    std::map<std::string, RdmaLimit> rdma;          // device name -> limits
    std::map<std::string, std::string> unified;     // cgroup v2 file -> value
    std::vector<std::string> present;  // top-level keys set, e.g. {"devices", "memory"}
};

// Parse a linux.resources object (config.json's, or `update --resources`);
// `path` names it in errors.
Result<Resources> parse_resources(std::string_view json_text, const std::string& path);
// A process object (`exec --process FILE`); `path` names it in errors.
Result<Process> parse_process_json(std::string_view json_text, const std::string& path);

// The checks on values that need no host (ranges, memory+swap >= memory).
Status validate_resources(const Resources& r);

struct SeccompArg {
    uint32_t index = 0;
    uint64_t value = 0;
    uint64_t value_two = 0;
    std::string op;  // "SCMP_CMP_EQ" ...
};

struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;  // "SCMP_ACT_ERRNO" ...
    std::optional<uint32_t> errno_ret;
    std::vector<SeccompArg> args;
};

struct Seccomp {
    std::string default_action;
    std::optional<uint32_t> default_errno_ret;
    std::vector<std::string> architectures;
    std::vector<std::string> flags;
    std::string listener_path;
    std::string listener_metadata;
    std::vector<SeccompSyscall> syscalls;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings;
    std::vector<IdMapping> gid_mappings;
    std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
    std::vector<Device> devices;
    std::string cgroups_path;
    std::optional<Resources> resources;
    std::string rootfs_propagation;  // "", "private", "rprivate", "slave", ...
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::map<std::string, std::string> sysctl;
    std::optional<Seccomp> seccomp;
    std::string mount_label;
    std::optional<std::string> personality_domain;  // "LINUX" / "LINUX32"
    bool intel_rdt_present = false;  // linux.intelRdt was set (not supported yet)
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container,
        poststart, poststop;
    [[nodiscard]] bool empty() const {
        return prestart.empty() && create_runtime.empty() && create_container.empty() &&
               start_container.empty() && poststart.empty() && poststop.empty();
    }
};

struct Spec {
    std::string oci_version;
    std::optional<Process> process;
    Root root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    std::optional<Hooks> hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux;
};

// Parse config.json text. Errors name the JSON path:
//   `process.user.uid: expected an unsigned integer, got "abc"`.
// Unknown fields are ignored.
Result<Spec> parse_spec(std::string_view json_text);

// Read and parse <bundle>/config.json; parse errors are prefixed with its path.
Result<Spec> load_spec(const std::string& config_path);

// Semantic checks after parsing, as runc's libcontainer/configs/validate:
// namespaces vs. the settings that need them, absolute paths, sysctls, and
// features hako does not support yet. Errors name the field
// (`process.cwd: ...`). need_process=false skips the requirement that
// process (with non-empty args) be present.
Status validate_spec(const Spec& spec, bool need_process = true);

// What `spec` writes: runc's default config.json (rootless variant with
// user namespace mappings for the calling user).
std::string default_spec_json(bool rootless);

// Name tables shared by parser and runtime.
const char* ns_type_name(NsType t);              // "pid", "network", ...
std::optional<NsType> ns_type_from_name(std::string_view name);
int ns_clone_flag(NsType t);                     // CLONE_NEWPID ...
std::optional<int> capability_from_name(std::string_view name);  // "CAP_CHOWN" -> 0
const char* capability_name(int cap);            // 0 -> "CAP_CHOWN"; nullptr if unknown
int capability_last();                           // highest known capability number
std::optional<int> rlimit_from_name(std::string_view name);      // "RLIMIT_NOFILE"
// A sysctl name in dotted form (runc's rule: "net/ipv4/conf/eno2.100/rp_filter"
// -> "net.ipv4.conf.eno2/100.rp_filter"), and its file under /proc/sys.
std::string sysctl_dotted(std::string_view name);
std::string sysctl_proc_path(std::string_view name);

}  // namespace hako::oci
