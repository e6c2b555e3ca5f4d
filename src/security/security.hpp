// What the container's process may do: capabilities, identity, rlimits,
// no_new_privs, seccomp. Each is one step of the init's flat list.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"
#include "sys/fd.hpp"

namespace hako::security {

// Leave out of every set the capabilities the runtime's own bounding set
// lacks (no process it starts can have them: a runtime in a restricted
// container, or this host's root without CAP_SYS_RESOURCE). Returns their
// names, for a warning. As Podman computes --privileged from its own set.
std::vector<std::string> fit_capabilities(oci::Capabilities& caps);
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
// The process's environment with HOME added when it has none, as runc does:
// the home of `uid`'s entry in the rootfs's /etc/passwd (read through
// `rootfd`, inside the rootfs), "/" when there is none.
std::vector<std::string> env_with_home(const std::vector<std::string>& env, uid_t uid, int rootfd);
Status apply_rlimits(const std::vector<oci::Rlimit>& rlimits);
Status set_no_new_privs();
// AppArmor / SELinux: on this host at all?
bool apparmor_enabled();
bool selinux_enabled();
// The process's AppArmor profile and SELinux label for its execve (an
// SELinux label is ignored where SELinux is off).
Status apply_exec_labels(const oci::Process& p);
// A new session keyring (runc's default; --no-new-keyring keeps the caller's).
Status join_session_keyring(const std::string& name);

// A seccomp filter compiled (by libseccomp) into a BPF program before clone;
// the child only loads it.
struct SeccompProgram {
    std::vector<sock_filter> filter;
    unsigned flags = 0;   // SECCOMP_FILTER_FLAG_*
    bool notify = false;  // SCMP_ACT_NOTIFY: loading yields a listener fd
};
// With a cache_dir, the BPF is kept there under the SHA-256 of the rules
// (and of libseccomp's version and the kernel's API level), so a profile
// seen before (Podman's 437 syscalls on every container) costs one read.
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& spec, const std::string& cache_dir = {});
// What compile_seccomp accepts (for `features`).
struct SeccompSupport {
    std::vector<std::string> actions, operators, archs, flags;
};
SeccompSupport seccomp_support();
// Load the filter into this thread; the listener fd when prog.notify.
Result<UniqueFd> load_seccomp(const SeccompProgram& prog);

}  // namespace hako::security
