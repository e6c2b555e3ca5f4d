#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "common/strings.hpp"
#include "security/security.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::security {

Status switch_user(const oci::User& user, bool setgroups_allowed) {
    if (setgroups_allowed || !user.additional_gids.empty()) {
        std::vector<gid_t> gids(user.additional_gids.begin(), user.additional_gids.end());
        if (setgroups(gids.size(), gids.data()) < 0)
            return sys_error("setgroups (process.user.additionalGids)");
    }
    if (setresgid(user.gid, user.gid, user.gid) < 0)
        return sys_error("setresgid " + std::to_string(user.gid) + " (process.user.gid)");
    if (setresuid(user.uid, user.uid, user.uid) < 0)
        return sys_error("setresuid " + std::to_string(user.uid) + " (process.user.uid)");
    umask(user.umask ? static_cast<mode_t>(*user.umask) : 022);
    return {};
}

std::vector<std::string> env_with_home(const std::vector<std::string>& env, uid_t uid, int rootfd) {
    for (const auto& e : env)
        if (e.starts_with("HOME=")) return env;
    std::string home = "/";
    auto path = sys::open_in_root(rootfd, "/etc/passwd", O_PATH);
    // (reopened through the O_PATH fd: resolved inside the rootfs, read as a file)
    UniqueFd fd(path ? ::open(sys::fd_path(path->get()).c_str(), O_RDONLY | O_CLOEXEC) : -1);
    if (auto text = fd ? sys::read_fd(fd.get(), "/etc/passwd") : Result<std::string>(std::string())) {
        const std::string want = std::to_string(uid);
        for (auto line : split(*text, '\n')) {
            auto f = fields(line, ':');  // name:password:uid:gid:gecos:home:shell
            if (f.size() < 6 || f[2] != want) continue;
            if (!f[5].empty()) home = std::string(f[5]);
            break;
        }
    }
    auto out = env;
    out.push_back("HOME=" + home);
    return out;
}

Status apply_rlimits(const std::vector<oci::Rlimit>& rlimits) {
    for (size_t i = 0; i < rlimits.size(); ++i) {
        const auto& r = rlimits[i];
        rlimit lim{r.soft, r.hard};
        if (setrlimit(static_cast<__rlimit_resource>(r.resource), &lim) < 0)
            return sys_error("setrlimit " + r.type + " soft " + std::to_string(r.soft) + " hard " +
                             std::to_string(r.hard) + " (process.rlimits[" + std::to_string(i) +
                             "])");
    }
    return {};
}

Status set_no_new_privs() {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sys_error("prctl PR_SET_NO_NEW_PRIVS (process.noNewPrivileges)");
    return {};
}

}  // namespace hako::security

namespace hako::security {

Status join_session_keyring(const std::string& name) {
    constexpr int kJoinSessionKeyring = 1;  // KEYCTL_JOIN_SESSION_KEYRING
    long id = syscall(SYS_keyctl, kJoinSessionKeyring, name.c_str());
    if (id < 0) {
        // No keyrings here (or keyctl filtered): the caller's stays, as runc lets it.
        if (errno == ENOSYS || errno == EPERM || errno == EACCES) return {};
        return sys_error("join a new session keyring `" + name + "`");
    }
    return {};
}

}  // namespace hako::security
