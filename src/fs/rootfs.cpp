// The rootfs, in order: propagation of "/", the rootfs bound on itself, the
// spec's mounts, /dev, pivot_root (or chroot), rootfsPropagation, masked and
// read-only paths, a read-only root.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/strings.hpp"
#include "fs/fs.hpp"
#include "common/log.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::fs {
namespace {

// pivot_root refuses a new root whose parent mount is shared: make the mount
// that holds the rootfs private (in our namespace only).
Status make_parent_private(const std::string& rootfs) {
    auto info = HAKO_TRY(sys::read_file("/proc/self/mountinfo"));
    std::string best;
    bool shared = false;
    for (auto line : split(info, '\n')) {
        // id parent major:minor root mountpoint options [optional...] - fstype ...
        auto f = split(line.substr(0, line.find(" - ")), ' ');
        if (f.size() < 6) continue;
        std::string m(f[4]);  // (octal escapes in paths with spaces are left as is)
        bool prefix = m == "/" || rootfs == m || rootfs.rfind(m + "/", 0) == 0;
        if (prefix && m.size() >= best.size()) {
            best = m;
            shared = false;
            for (size_t k = 6; k < f.size(); ++k) shared = shared || f[k].starts_with("shared:");
        }
    }
    if (!best.empty() && shared)
        HAKO_TRY(sys::mount(nullptr, best.c_str(), nullptr, MS_PRIVATE, nullptr,
                            "make `" + best + "` private"));
    return {};
}

Status pivot(const std::string& rootfs) {
    log::Step step("pivot_root");
    UniqueFd oldroot(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!oldroot) return sys_error("open /");
    UniqueFd newroot(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!newroot) return sys_error("open rootfs `" + rootfs + "`");
    if (fchdir(newroot.get()) < 0) return sys_error("chdir rootfs `" + rootfs + "`");
    HAKO_TRY_CTX(sys::pivot_root(".", "."), "pivot_root into `" + rootfs + "`");
    // The old root is stacked under the new one: detach it without
    // propagating the unmount to the host.
    if (fchdir(oldroot.get()) < 0) return sys_error("chdir old root");
    HAKO_TRY(sys::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr, "make the old root slave"));
    if (umount2(".", MNT_DETACH) < 0) return sys_error("detach the old root");
    if (chdir("/") < 0) return sys_error("chdir /");
    return {};
}

// mountinfo's octal escapes ("\040" for a space) undone.
std::string unescape_mountinfo(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// --no-pivot: the old root stays in the namespace under the chroot, and with
// it the host's fully visible /proc and /sys, which let a nested user
// namespace mount a fresh, unmasked procfs. Detach every mount that is
// neither the rootfs (or under it) nor one of its ancestors; one that can't
// be detached is covered by an empty tmpfs (runc covers procfs and sysfs).
// "/" is a slave by now: nothing propagates to the host.
Status detach_outside(const std::string& rootfs) {
    auto info = HAKO_TRY(sys::read_file("/proc/self/mountinfo"));
    std::vector<std::pair<std::string, std::string>> outside;  // mount point, fs type
    for (auto line : split(info, '\n')) {
        size_t dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        auto f = split(line.substr(0, dash), ' ');
        auto tail = split(line.substr(dash + 3), ' ');
        if (f.size() < 5 || tail.empty()) continue;
        std::string m = unescape_mountinfo(f[4]);
        bool under = m == rootfs || m.starts_with(rootfs + "/");
        bool ancestor = m == "/" || rootfs.starts_with(m + "/");
        if (!under && !ancestor) outside.emplace_back(std::move(m), std::string(tail[0]));
    }
    std::sort(outside.begin(), outside.end());  // a parent before what is under it
    std::string detached;  // the last mount point detached: what is under it went with it
    for (const auto& [m, type] : outside) {
        if (!detached.empty() && m.starts_with(detached + "/")) continue;
        if (umount2(m.c_str(), MNT_DETACH) == 0) {
            detached = m;
            continue;
        }
        if (errno == EINVAL || errno == ENOENT) continue;  // gone with a parent already
        if (type == "proc" || type == "sysfs")
            HAKO_TRY(sys::mount("tmpfs", m.c_str(), "tmpfs", MS_RDONLY, "size=0",
                                "cover the host's `" + m + "` (--no-pivot)"));
    }
    return {};
}

Status chroot_into(const std::string& rootfs) {
    log::Step step("chroot (--no-pivot)");
    HAKO_TRY(detach_outside(rootfs));
    if (chdir(rootfs.c_str()) < 0) return sys_error("chdir rootfs `" + rootfs + "`");
    HAKO_TRY(sys::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr, "move the rootfs to /"));
    if (chroot(".") < 0) return sys_error("chroot `" + rootfs + "`");
    if (chdir("/") < 0) return sys_error("chdir /");
    return {};
}

// Masked and read-only paths under /proc need /proc to be procfs on an
// ordinary directory: were it a symlink in the rootfs (CVE-2019-19921's
// shape), they would land elsewhere.
Status check_proc(int rootfd, const std::vector<std::string>& paths, const std::string& field) {
    bool under = false;
    for (const auto& p : paths) under = under || sys::clean_path(p).starts_with("/proc/");
    if (!under) return {};
    auto fd = sys::open_in_root(rootfd, "/proc", O_PATH | O_NOFOLLOW);
    if (!fd) return fd.error().err == ENOENT ? Status{} : std::unexpected(std::move(fd).error().context(field));
    struct stat st{};
    if (fstat(fd->get(), &st) < 0) return sys_error(field + ": stat /proc");
    if (!S_ISDIR(st.st_mode))
        return error(field + ": /proc must be mounted on ordinary directory (it is " +
                     (S_ISLNK(st.st_mode) ? "a symlink" : "not a directory") + " in the rootfs)");
    return {};
}

// The source of a file's mask: the container's /dev/null, opened once and
// checked to be the null device (CVE-2025-31133: a /dev/null swapped for a
// symlink would make the mask a bind mount of the symlink's target).
Result<UniqueFd> null_device(int rootfd) {
    auto fd = HAKO_TRY_CTX(sys::open_in_root(rootfd, "/dev/null", O_PATH | O_NOFOLLOW), "linux.maskedPaths: /dev/null");
    struct stat st{};
    if (fstat(fd.get(), &st) < 0) return sys_error("linux.maskedPaths: stat /dev/null");
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
        return error(std::string("linux.maskedPaths: the container's /dev/null is not the null device (") +
                     (S_ISLNK(st.st_mode) ? "a symlink" : "another file") + "): refusing to mask with it");
    return fd;
}

Status mask_paths(int rootfd, const std::vector<std::string>& paths) {
    log::Step step("maskedPaths");
    HAKO_TRY(check_proc(rootfd, paths, "linux.maskedPaths"));
    UniqueFd null;
    for (size_t i = 0; i < paths.size(); ++i) {
        std::string field = "linux.maskedPaths[" + std::to_string(i) + "]";
        auto fd = sys::open_in_root(rootfd, paths[i], O_PATH | O_NOFOLLOW);
        if (!fd) {
            if (fd.error().err == ENOENT) continue;
            return std::unexpected(std::move(fd).error().context(field));
        }
        struct stat st{};
        if (fstat(fd->get(), &st) < 0) return sys_error(field + ": stat `" + paths[i] + "`");
        std::string target = sys::fd_path(fd->get());
        if (S_ISDIR(st.st_mode))
            HAKO_TRY(sys::mount("tmpfs", target.c_str(), "tmpfs", MS_RDONLY, nullptr,
                                "mask `" + paths[i] + "` (" + field + ")"));
        else {
            if (!null) null = HAKO_TRY(null_device(rootfd));
            HAKO_TRY(sys::mount(sys::fd_path(null.get()).c_str(), target.c_str(), nullptr, MS_BIND, nullptr,
                                "mask `" + paths[i] + "` (" + field + ")"));
        }
    }
    return {};
}

Status readonly_paths(int rootfd, const std::vector<std::string>& paths) {
    log::Step step("readonlyPaths");
    HAKO_TRY(check_proc(rootfd, paths, "linux.readonlyPaths"));
    for (size_t i = 0; i < paths.size(); ++i) {
        std::string field = "linux.readonlyPaths[" + std::to_string(i) + "]";
        std::string what = "make `" + paths[i] + "` read-only (" + field + ")";
        auto fd = sys::open_in_root(rootfd, paths[i], O_PATH | O_NOFOLLOW);
        if (!fd) {
            if (fd.error().err == ENOENT) continue;
            return std::unexpected(std::move(fd).error().context(field));
        }
        HAKO_TRY(sys::mount(sys::fd_path(fd->get()).c_str(), sys::fd_path(fd->get()).c_str(), nullptr,
                            MS_BIND | MS_REC, nullptr, what));
        auto mnt = HAKO_TRY_CTX(sys::open_in_root(rootfd, paths[i], O_PATH | O_NOFOLLOW), field);
        HAKO_TRY(sys::mount(nullptr, sys::fd_path(mnt.get()).c_str(), nullptr,
                            MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(mnt.get()), nullptr, what));
    }
    return {};
}

Status readonly_root(int rootfd) {
    log::Step step("read-only root");
    return sys::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(rootfd),
                      nullptr, "remount / read-only (root.readonly)");
}

// Non-bind read-only mounts that must stay writable until the rest is made
// under them (a read-only /dev still needs /dev/pts, /dev/shm, the device
// nodes): mounted read-write, made read-only once the rest is made, as runc does.
bool deferred_readonly(const oci::Spec& spec, size_t i) {
    const oci::Mount& m = spec.mounts[i];
    if (is_bind(m) || m.type == "cgroup") return false;
    bool ro = false;
    for (const auto& o : m.options) {
        if (o == "ro") ro = true;
        if (o == "rw") ro = false;
    }
    if (!ro) return false;
    std::string dest = sys::clean_path(m.destination);
    if (dest == "/dev") return true;
    for (size_t k = i + 1; k < spec.mounts.size(); ++k)
        if (sys::clean_path(spec.mounts[k].destination).starts_with(dest + "/")) return true;
    return false;
}

bool binds_dev(const oci::Spec& spec) {
    for (const auto& m : spec.mounts)
        if (sys::clean_path(m.destination) == "/dev" && is_bind(m)) return true;
    return false;
}

}  // namespace

Status enter_rootfs(const RootfsConfig& cfg) {
    const oci::Spec& spec = *cfg.spec;
    std::string prop = spec.linux ? spec.linux->rootfs_propagation : "";
    if (!cfg.host_mount_ns) {
        log::Step step("mount propagation of /");
        unsigned long flag = MS_SLAVE | MS_REC;
        if (prop == "private" || prop == "rprivate") flag = propagation_flags(prop);
        HAKO_TRY(sys::mount(nullptr, "/", nullptr, flag, nullptr,
                            "set the propagation of / (linux.rootfsPropagation)"));
        HAKO_TRY(make_parent_private(cfg.rootfs));
    } else {
        log::debug("no mount namespace: mounts are made in the caller's namespace");
    }
    // The rootfs is a mount of its own: a read-only root never touches the
    // mount that holds it.
    HAKO_TRY(sys::mount(cfg.rootfs.c_str(), cfg.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr,
                        "bind the rootfs `" + cfg.rootfs + "` on itself (root.path)"));
    {
        UniqueFd rootfd(::open(cfg.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!rootfd) return sys_error("open rootfs `" + cfg.rootfs + "` (root.path)");
        std::vector<bool> deferred(spec.mounts.size());
        for (size_t i = 0; i < spec.mounts.size(); ++i) deferred[i] = deferred_readonly(spec, i);
        for (size_t i = 0; i < spec.mounts.size(); ++i) {
            const oci::Mount* m = &spec.mounts[i];
            oci::Mount writable;
            if (deferred[i]) {
                writable = *m;
                writable.options.emplace_back("rw");
                m = &writable;
            }
            HAKO_TRY(mount_entry(rootfd.get(), *m, "mounts[" + std::to_string(i) + "]", cfg,
                                 i < cfg.mount_sources.size() ? cfg.mount_sources[i] : -1));
        }
        if (!binds_dev(spec)) HAKO_TRY(create_devices(rootfd.get(), cfg));
        // (while the host's /proc still resolves the fd paths)
        for (size_t i = 0; i < spec.mounts.size(); ++i) {
            if (!deferred[i]) continue;
            std::string field = "mounts[" + std::to_string(i) + "]";
            const std::string& dest = spec.mounts[i].destination;
            auto mnt = HAKO_TRY_CTX(sys::open_in_root(rootfd.get(), dest, O_PATH | O_DIRECTORY), field);
            HAKO_TRY(sys::mount(nullptr, sys::fd_path(mnt.get()).c_str(), nullptr,
                                MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(mnt.get()), nullptr,
                                "remount `" + dest + "` read-only (" + field + ")"));
        }
    }
    if (cfg.before_pivot) HAKO_TRY(cfg.before_pivot());
    if (cfg.host_mount_ns) {
        if (chdir(cfg.rootfs.c_str()) < 0 || chroot(".") < 0 || chdir("/") < 0)
            return sys_error("chroot `" + cfg.rootfs + "`");
    } else if (cfg.no_pivot)
        HAKO_TRY(chroot_into(cfg.rootfs));
    else
        HAKO_TRY(pivot(cfg.rootfs));
    if (!prop.empty() && !cfg.host_mount_ns)
        HAKO_TRY(sys::mount(nullptr, "/", nullptr, propagation_flags(prop), nullptr,
                            "set the propagation of the new / to " + prop +
                                " (linux.rootfsPropagation)"));
    return {};
}

Status finish_rootfs(const RootfsConfig& cfg) {
    const oci::Spec& spec = *cfg.spec;
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open the new /");
    if (spec.linux) {
        HAKO_TRY(readonly_paths(root.get(), spec.linux->readonly_paths));
        HAKO_TRY(mask_paths(root.get(), spec.linux->masked_paths));
    }
    if (spec.root.readonly) HAKO_TRY(readonly_root(root.get()));
    return {};
}

}  // namespace hako::fs
