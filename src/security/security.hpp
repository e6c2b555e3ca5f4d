// What the container's process may do: capabilities, identity, rlimits,
// no_new_privs, seccomp. Each is one step of the init's flat list.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"

namespace hako::security {

// Drop every capability not in `keep` from the bounding set.
Status drop_bounding_set(const std::vector<int>& keep);
// Keep permitted capabilities across the uid change (PR_SET_KEEPCAPS).
Status set_keep_caps(bool keep);
// capset(effective, permitted, inheritable), then raise the ambient set.
Status apply_capabilities(const oci::Capabilities& caps);

// setgroups(additionalGids), setresgid, setresuid, umask.
Status switch_user(const oci::User& user, bool setgroups_allowed);
// The process's user and capabilities: the bounding set dropped, the user
// switched with the capabilities kept, then exactly the process's sets.
Status assume_process_identity(const oci::Process& p);
Status apply_rlimits(const std::vector<oci::Rlimit>& rlimits);
Status set_no_new_privs();

// A seccomp filter compiled (by libseccomp) into a BPF program before clone;
// the child only loads it.
struct SeccompProgram {
    std::vector<sock_filter> filter;
    unsigned flags = 0;  // SECCOMP_FILTER_FLAG_*
};
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& spec);
// What compile_seccomp accepts (for `features`).
struct SeccompSupport {
    std::vector<std::string> actions, operators, archs, flags;
};
SeccompSupport seccomp_support();
Status load_seccomp(const SeccompProgram& prog);

}  // namespace hako::security
