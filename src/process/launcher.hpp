// Starting a container's init: the parent side (launch) and the child side
// (container_init, in init.cpp). The protocol between them is in sync.hpp.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "cgroup/cgroup.hpp"
#include "common/error.hpp"
#include "ns/namespaces.hpp"
#include "oci/spec.hpp"
#include "security/security.hpp"
#include "sys/fd.hpp"

namespace hako::proc {

struct LaunchConfig {
    const oci::Spec* spec = nullptr;
    std::string bundle;         // absolute
    std::string rootfs;         // absolute
    int state_dir_fd = -1;      // holds exec.fifo, which init opens to wait for start
    bool no_pivot = false;
    int preserve_fds = 0;       // fds 3 .. 3+N-1 pass into the container
    const security::SeccompProgram* seccomp = nullptr;
    const cgroup::Cgroup* cgroup = nullptr;  // init joins it before anything else
    // Set by launch(): clone3 put init into the cgroup (CLONE_INTO_CGROUP,
    // cgroup v2), so init needn't wait for the parent to move it.
    bool cgroup_by_clone = false;
    // Set by launch(): on a hybrid host clone3 put init into the unified
    // leaf; the v1 hierarchies are still to join.
    bool unified_by_clone = false;
    // Set by launch(): init moves itself into the cgroup first thing
    // (Cgroup::join_self; not from a new user namespace, which can't write
    // the host's cgroup files).
    bool cgroup_self_join = false;
    int exec_stub_fd = -1;  // sealed memfd (exec_stub.hpp); -1: init waits and execs itself
    // process.terminal: the unix socket init sends its pty master over.
    int console_fd = -1;
    // A new session keyring of this name ("" keeps the caller's: --no-new-keyring).
    std::string session_keyring;
    // Set by launch(): per spec mount, the detached tree of its bind source
    // (fs::open_mount_sources), or -1; init inherits the fds.
    std::vector<int> mount_sources;
    // Set when the spec has hooks: init stops before pivot_root and the
    // runtime runs prestart and createRuntime (given init's pid); the state
    // JSON it returns goes to init for createContainer and startContainer.
    std::function<Result<std::string>(pid_t init)> on_hooks;
    // SCMP_ACT_NOTIFY: init's seccomp listener fd, for the agent.
    std::function<Status(pid_t init, UniqueFd listener)> on_seccomp_listener;
};

// Whether the child waits for the parent's Continue (id maps written) before
// its first step.
inline bool child_waits(const ns::Plan& plan) { return plan.one_clone() && plan.new_user; }
// Whether the parent moves the child into its cgroup (and then sends
// CgroupJoined).
inline bool parent_joins_cgroup(const LaunchConfig& cfg) {
    return cfg.cgroup != nullptr && !cfg.cgroup_by_clone && !cfg.cgroup_self_join;
}

struct Launched {
    pid_t pid = -1;     // init, in our pid namespace
    UniqueFd pidfd;
};

// Clone init into its namespaces and wait until it is set up and blocked on
// the exec fifo (or failed: its error comes back here, init is reaped).
Result<Launched> launch(const LaunchConfig& cfg);

// The child side; never returns.
[[noreturn]] void container_init(const LaunchConfig& cfg, const ns::Plan& plan, int sync_fd) noexcept;

// Find args[0] as execvp would, with the process's PATH (in the current root).
Result<std::string> find_executable(const oci::Process& p);

// Seccomp, at the step before the process's identity change (init and exec
// alike). With no_new_privs the filter waits until just before execve (the
// fewer of our own syscalls it sees, the better): returns true, load it then.
// Otherwise it is loaded now (without no_new_privs it needs CAP_SYS_ADMIN,
// which we still have); a notifying filter's listener goes to the runtime
// over `sync_fd` (SeccompListener), which hands it to the agent and answers
// Continue. No filter: false.
Result<bool> load_seccomp_early(const security::SeccompProgram* prog, bool no_new_privs, int sync_fd);

// execve's view of a string list: pointers into it, then a null.
std::vector<char*> c_strings(const std::vector<std::string>& v);

// Clone a child (fork-like, `flags` adding namespaces) into `cg`: on cgroup
// v2 clone3 places it (CLONE_INTO_CGROUP) and *placed is set (on a hybrid
// host: in the unified leaf only); otherwise, or when that fails, a plain
// clone and *placed is false (the caller moves it).
Result<pid_t> clone_child(uint64_t flags, UniqueFd* pidfd, const cgroup::Cgroup* cg, bool* placed);

// The name of the exec fifo inside the state directory.
inline constexpr const char* kExecFifo = "exec.fifo";

}  // namespace hako::proc
