// Linux security modules: AppArmor profiles and SELinux labels, as runc
// applies them: the label of the next execve written to /proc/self/attr.
// On a host without the module, an AppArmor profile is an error (the
// confinement asked for can't be had) and an SELinux label means nothing
// (runc and crun ignore it alike).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "security/security.hpp"
#include "sys/procfs.hpp"
#include "sys/syscalls.hpp"

namespace hako::security {

bool apparmor_enabled() {
    auto v = sys::read_file("/sys/module/apparmor/parameters/enabled");
    return v && !v->empty() && (*v)[0] == 'Y';
}

bool selinux_enabled() { return sys::path_exists("/sys/fs/selinux/enforce"); }

namespace {
Status write_attr(const char* lsm_path, const char* legacy_path, const std::string& value, const std::string& what) {
    // (into procfs itself, never through a mount over the attr file: CVE-2025-52881)
    auto st = sys::write_proc(lsm_path, value);
    if (!st && st.error().err == ENOENT && std::string_view(lsm_path) != legacy_path)
        st = sys::write_proc(legacy_path, value);
    return st ? st : std::unexpected(std::move(st).error().context(what));
}
}  // namespace

Status apply_exec_labels(const oci::Process& p) {
    if (!p.apparmor_profile.empty())
        HAKO_TRY(write_attr("/proc/self/attr/apparmor/exec", "/proc/self/attr/exec",
                            "exec " + p.apparmor_profile, "process.apparmorProfile"));
    if (!p.selinux_label.empty() && selinux_enabled())
        HAKO_TRY(write_attr("/proc/self/attr/exec", "/proc/self/attr/exec", p.selinux_label,
                            "process.selinuxLabel"));
    return {};
}

}  // namespace hako::security
