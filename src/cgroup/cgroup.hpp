// Control groups: the container's cgroup in every hierarchy (cgroup v1, and
// the hybrid layout: v1 controllers plus the v2 "unified" hierarchy) or in
// the one cgroup v2 hierarchy; limits from linux.resources; placement of
// init; freezing, the processes in it, and removal on delete.
//
// Files: cgroup.cpp (paths, create, join, freeze, pids, destroy),
// resources.cpp (linux.resources onto v1 and v2 files), devices.cpp (the
// device rules: v1 lists, v2 eBPF program), stats.cpp (events --stats).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "oci/spec.hpp"
#include "sys/fd.hpp"

namespace hako::cgroup {

// One line of /proc/self/cgroup: "4:memory:/a/b" -> {"memory", "/a/b"};
// the v2 line has no controllers.
struct Membership {
    std::string controllers;
    std::string path;
};
Result<std::vector<Membership>> self_memberships();
// Is /sys/fs/cgroup a pure cgroup v2 hierarchy?
bool is_pure_v2();

class Cgroup {
public:
    // Create the container's cgroup. `spec_path` is linux.cgroupsPath:
    // absolute = from each hierarchy's root; relative = under the caller's
    // own cgroup; empty = "<caller's cgroup>/hako-<id>".
    // On a hybrid host the unified (v2) hierarchy gets a directory too, as
    // runc makes it (a later `update` with unified keys needs it); init and
    // exec'd processes are cloned into it (open_leaf), which spares the
    // locked cgroup.procs write the v1 hierarchies avoid (join_self).
    static Result<Cgroup> create(const std::string& spec_path, const std::string& id);
    // The directories create() would make (one per hierarchy), none made.
    static Result<std::vector<std::string>> planned_dirs(const std::string& spec_path, const std::string& id);
    // The cgroup of an existing container, from the directories it recorded.
    static Cgroup from_dirs(std::vector<std::string> dirs);

    // linux.resources onto the cgroup files (resources.cpp). `devices` is
    // linux.devices (allowed besides the rules). `update` is true for a
    // running container: memory.checkBeforeUpdate holds, and device rules
    // are applied only when `r` has some.
    Status apply(const oci::Resources& r, const std::vector<oci::Device>& devices = {},
                 bool update = false) const;
    // Move `pid` into every directory (a cgroup.procs write each); but the
    // unified one with `skip_unified` (clone3 placed it there: open_leaf).
    Status add(pid_t pid, bool skip_unified = false) const;
    // Move the calling single-threaded process into every directory: "0"
    // into each v1 hierarchy's `tasks` (the kernel then skips the global
    // threadgroup lock whose RCU wait makes a cgroup.procs write take
    // 10-30 ms), cgroup.procs in a v2 one. Needs write access to the files
    // (not from a new user namespace). `skip_unified`: as for add().
    Status join_self(bool skip_unified = false) const;
    // An O_DIRECTORY fd of the v2 leaf (pure v2, or a hybrid host's unified
    // directory), for clone3 CLONE_INTO_CGROUP; on pure v1 an empty fd.
    Result<UniqueFd> open_leaf() const;

    // Freeze / thaw every process (v1 freezer.state, v2 cgroup.freeze);
    // both wait until the kernel reports the new state.
    Status freeze() const;
    Status thaw() const;
    [[nodiscard]] bool frozen() const;
    // The processes in the container's cgroup (its cgroup.procs).
    Result<std::vector<pid_t>> pids() const;
    // Signal every process: frozen while signalled (nothing forks past it),
    // thawed after, as runc does.
    Status signal_all(int sig) const;
    // Remove the directories (the processes must be gone); waits briefly
    // while the kernel still counts exited tasks. A frozen cgroup is thawed.
    Status destroy() const;
    // The kernel's count of OOM kills in the cgroup (v1 memory.oom_control
    // oom_kill, v2 memory.events oom_kill).
    [[nodiscard]] uint64_t oom_kills() const;

    // Frozen by its own setting or an ancestor's (v1 freezer.state, v2 cgroup.events).
    [[nodiscard]] bool frozen_in_effect() const;
    // create() found a directory already there (linux.cgroupsPath named an
    // existing cgroup): it may hold processes, and is not ours to remove on failure.
    [[nodiscard]] bool existed() const { return existed_; }

    [[nodiscard]] bool v2() const { return v2_; }
    [[nodiscard]] const std::vector<std::string>& dirs() const { return dirs_; }
    // The directory holding controller `ctrl`'s files ("memory", "cpu",
    // "pids", "cpuset", "blkio"/"io", "devices", "freezer", "hugetlb",
    // "net_cls", "net_prio", "rdma", "cpuacct"); "" when the host lacks it.
    // On v2 the leaf for any controller enabled there. On a hybrid host a
    // controller only the unified hierarchy has maps to the unified leaf.
    [[nodiscard]] std::string dir_for(const std::string& ctrl) const;
    // The v2 leaf ("" on pure v1): the pure v2 leaf, or the hybrid host's
    // directory in the unified hierarchy.
    [[nodiscard]] std::string unified_dir() const;

private:
    Status set_frozen(bool frozen) const;  // freeze() and thaw()
    bool v2_ = false;
    bool existed_ = false;
    std::vector<std::string> dirs_;               // absolute, one per hierarchy
    mutable std::map<std::string, std::string> by_ctrl_;  // "pids" -> its directory
    mutable bool unified_read_ = false;                   // the unified one's controllers in by_ctrl_
    std::string unified_;                         // v2 leaf, or hybrid unified leaf
    void index_dirs();
};

// Device rules (devices.cpp): the spec's rules in order, then the devices
// every container may use (runc's defaults: null, zero, full, tty, random,
// urandom, ptmx, pts, mknod of any) and linux.devices entries, allowed rwm.
// On v1 each is written in order to devices.deny / devices.allow (kernel
// semantics: "a" resets). On v2 they become a BPF_CGROUP_DEVICE program
// attached to the leaf, where the last matching rule decides and no match
// is a deny; it replaces the program hako attached before (update). With
// no rules from the spec nothing is restricted (nor attached).
std::vector<oci::DeviceCgroupRule> effective_device_rules(const oci::Resources& r,
                                                          const std::vector<oci::Device>& devices);
Status apply_devices_v1(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules);
Status apply_devices_v2(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules);

// `events --stats` (stats.cpp): runc's stats object ("cpu", "memory",
// "pids", "blkio", "hugetlb", ...), from v1 or v2 files.
nlohmann::json stats(const Cgroup& cg);

}  // namespace hako::cgroup
