// Namespaces: which to create, which to join (what nsenter does), user
// namespace id maps, time namespace offsets, sysctls.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"
#include "sys/fd.hpp"

namespace hako::ns {

struct Joined {
    oci::NsType type{};
    int flag = 0;        // CLONE_NEW*
    std::string field;   // "linux.namespaces[2].path"
    UniqueFd fd;         // opened by the parent, checked to be of `type`
};

struct Plan {
    uint64_t new_flags = 0;     // CLONE_NEW* to create, time excluded (see new_time)
    bool new_time = false;      // unshare(CLONE_NEWTIME) in the child, to set offsets first
    std::vector<Joined> joins;  // user namespace first, then the rest in spec order
    bool new_user = false;
    bool join_user = false;
    bool new_pid = false;
    bool join_pid = false;

    // The whole set can be made by one clone: nothing to join before it.
    [[nodiscard]] bool one_clone() const { return joins.empty(); }
    // Init must be forked once more to land in its pid namespace.
    [[nodiscard]] bool needs_fork() const { return !one_clone() && (new_pid || join_pid); }
    [[nodiscard]] bool has(oci::NsType t) const;
};

// Opens every namespace path (errors name linux.namespaces[i].path).
Result<Plan> make_plan(const oci::Spec& spec);

// Parent side: write /proc/<pid>/uid_map and gid_map.
Status write_id_maps(pid_t pid, const oci::Linux& linux);

// A user namespace with these maps, held by the fd (for idmapped mounts): a
// short-lived child makes it, the parent writes its maps.
Result<UniqueFd> make_userns(const std::vector<oci::IdMapping>& uids,
                             const std::vector<oci::IdMapping>& gids);

// Child side.
Status join(const Joined& j);
Status unshare_flags(uint64_t flags);
Status enter_new_time_ns(const std::map<std::string, oci::TimeOffset>& offsets);
Status set_uts(const oci::Spec& spec);
Status apply_sysctl(const std::map<std::string, std::string>& sysctl);

}  // namespace hako::ns
