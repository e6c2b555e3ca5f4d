// Control groups: the container's cgroup in every hierarchy (cgroup v1, and
// the hybrid layout) or in the one cgroup v2 hierarchy; limits from
// linux.resources; placement of init; removal on delete.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"

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
    static Result<Cgroup> create(const std::string& spec_path, const std::string& id);
    // The cgroup of an existing container, from the directories it recorded.
    static Cgroup from_dirs(std::vector<std::string> dirs);

    Status apply(const oci::Resources& r) const;
    Status add(pid_t pid) const;
    // Remove the directories (the processes must be gone); waits briefly
    // while the kernel still counts exited tasks.
    Status destroy() const;

    [[nodiscard]] const std::vector<std::string>& dirs() const { return dirs_; }

private:
    bool v2_ = false;
    std::vector<std::string> dirs_;               // absolute, one per hierarchy
    std::map<std::string, std::string> by_ctrl_;  // "pids" -> its directory (v1)
    std::string dir_for(const std::string& ctrl) const;
};

}  // namespace hako::cgroup
