// One spec mount: destination created and resolved inside the rootfs, the
// mount made on the resolved fd (never on a path a symlink could redirect).
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "cgroup/cgroup.hpp"
#include "common/strings.hpp"
#include "fs/fs.hpp"
#include "common/log.hpp"
#include "security/security.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::fs {
namespace {

Status mount_cgroup(int rootfd, const oci::Mount&, const std::string& dest, unsigned long flags,
                    const RootfsConfig& cfg, const std::string& what);

// Only a procfs may go on /proc, and under it only the few files lxcfs
// emulates, as runc allows (CVE-2019-16884: a volume over /proc let
// the write of the AppArmor profile land in a plain file, so the container ran
// unconfined; a bind over a /proc/sys file turns a sysctl into a write to
// whatever it binds). `target` is the resolved destination: a symlink that
// leads into the container's procfs counts as under /proc. A bind passes
// its source (`src_st`, and `src_fd` or the path `src`); other mounts nullptr.
Status check_proc_mount(int target, const std::string& dest, const oci::Mount& m, const struct stat* src_st,
                        int src_fd, const std::string& src, const std::string& what) {
    static constexpr std::string_view kAllowed[] = {
        "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
        "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
        "/proc/sys/crypto/fips_enabled"};
    struct statfs tfs{};
    struct stat tst{};
    if (fstatfs(target, &tfs) < 0 || fstat(target, &tst) < 0) return sys_error(what + ": stat the destination");
    bool on_proc = tfs.f_type == PROC_SUPER_MAGIC;
    bool proc_root = dest == "/proc" || (on_proc && tst.st_ino == 1);
    if (!proc_root && !on_proc && !dest.starts_with("/proc/")) return {};
    if (proc_root) {
        if (!src_st && m.type == "proc") return {};
        if (src_st) {
            struct statfs sfs{};
            if ((src_fd >= 0 ? fstatfs(src_fd, &sfs) : statfs(src.c_str(), &sfs)) < 0)
                return sys_error(what + ": statfs the source");
            if (sfs.f_type == PROC_SUPER_MAGIC && src_st->st_ino == 1) return {};
        }
        return error(what + ": only a procfs (type proc, or a bind of a procfs's root) may be mounted on /proc");
    }
    if (dest.starts_with("/proc/"))
        for (auto a : kAllowed)
            if (dest == a) return {};
    return error(what + ": `" + dest + "` is inside /proc" +
                 (dest.starts_with("/proc/") ? "" : " (through a symlink)") +
                 "; only " + std::string(kAllowed[0]) + ", /proc/meminfo and the other files lxcfs emulates may be mounted there");
}

}  // namespace

Status mount_entry(int rootfd, const oci::Mount& m, const std::string& field,
                   const RootfsConfig& cfg, int source_fd) {
    auto opts = HAKO_TRY(parse_mount_options(m.options, field + ".options"));
    // linux.mountLabel: the SELinux context of the file systems we create.
    const auto* spec_linux = cfg.spec->linux ? &*cfg.spec->linux : nullptr;
    if (spec_linux && !spec_linux->mount_label.empty() &&
        (m.type == "tmpfs" || m.type == "devpts" || m.type == "mqueue") && security::selinux_enabled())
        opts.data += (opts.data.empty() ? "" : ",") + std::string("context=\"") + spec_linux->mount_label + "\"";
    std::string dest = sys::clean_path(m.destination);
    std::string what = "mount `" + m.source + "` on `" + dest + "` (" + field + ")";
    log::Step step(what);
    bool bind = opts.bind || m.type == "bind";
    if (dest == "/") return error(field + ".destination: cannot mount over the rootfs itself");

    if (bind) {
        std::string src = bind_source(m, cfg.bundle);
        struct stat st{};
        if ((source_fd >= 0 ? fstat(source_fd, &st) : stat(src.c_str(), &st)) < 0)
            return sys_error(what + ": stat source `" + src + "`");
        auto target = HAKO_TRY_CTX(
            sys::ensure_in_root(rootfd, dest, !S_ISDIR(st.st_mode), S_ISDIR(st.st_mode) ? 0755 : 0644),
            what);
        HAKO_TRY(check_proc_mount(target.get(), dest, m, &st, source_fd, src, what));
        if (source_fd >= 0) {
            // The runtime's clone of the source (mount_sources.cpp): attach it.
            if (syscall(SYS_move_mount, source_fd, "", target.get(), "",
                        MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return sys_error(what + ": move_mount");
        } else {
            unsigned long bflags = MS_BIND | (opts.recursive ? MS_REC : 0);
            HAKO_TRY(sys::mount(src.c_str(), sys::fd_path(target.get()).c_str(), nullptr, bflags, nullptr,
                                what));
        }
        if (opts.flags & ~static_cast<unsigned long>(MS_REC)) {
            auto mnt = HAKO_TRY_CTX(sys::open_in_root(rootfd, dest, O_PATH), what);
            unsigned long f = opts.flags | MS_BIND | MS_REMOUNT;
            if (cfg.in_user_ns) f |= locked_flags(mnt.get()) & ~MS_RDONLY;
            HAKO_TRY(sys::mount(nullptr, sys::fd_path(mnt.get()).c_str(), nullptr, f, nullptr,
                                what + ": remount with its options"));
        }
    } else if (m.type == "cgroup") {
        if (cfg.before_cgroup_mount) HAKO_TRY(cfg.before_cgroup_mount());
        HAKO_TRY(mount_cgroup(rootfd, m, dest, opts.flags, cfg, what));
    } else {
        auto target = HAKO_TRY_CTX(sys::mkdir_all_in_root(rootfd, dest, 0755), what);
        HAKO_TRY(check_proc_mount(target.get(), dest, m, nullptr, -1, "", what));
        if (m.type == "proc" || m.type == "sysfs") {
            // /proc and /sys must be real directories, not symlinks to elsewhere.
            auto self = sys::open_in_root(rootfd, dest, O_PATH | O_NOFOLLOW);
            struct stat st{};
            if (self && fstat(self->get(), &st) == 0 && !S_ISDIR(st.st_mode))
                return error(what + ": must be mounted on ordinary directory (`" + dest + "` is a " +
                             (S_ISLNK(st.st_mode) ? "symlink" : "non-directory") + " in the rootfs)");
        }
        if (opts.tmpcopyup && m.type != "tmpfs")
            return error(field + ".options: tmpcopyup needs a tmpfs mount");
        // tmpcopyup: keep a handle on the directory underneath, mount
        // read-write, copy, then make the mount what the options say.
        UniqueFd under;
        if (opts.tmpcopyup) {
            under.reset(::openat(target.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!under) return sys_error(what + ": open the directory under the tmpfs");
        }
        unsigned long first = opts.tmpcopyup ? opts.flags & ~static_cast<unsigned long>(MS_RDONLY)
                                             : opts.flags;
        HAKO_TRY(sys::mount(m.source.c_str(), sys::fd_path(target.get()).c_str(), m.type.c_str(), first,
                            opts.data.empty() ? nullptr : opts.data.c_str(), what));
        if (opts.tmpcopyup) {
            auto mnt = HAKO_TRY_CTX(sys::open_in_root(rootfd, dest, O_PATH | O_DIRECTORY), what);
            UniqueFd top(::openat(mnt.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!top) return sys_error(what + ": open the new tmpfs");
            HAKO_TRY_CTX(copy_tree(under.get(), top.get()), what + ": tmpcopyup");
            if (opts.flags & MS_RDONLY)
                HAKO_TRY(sys::mount(nullptr, sys::fd_path(mnt.get()).c_str(), nullptr,
                                    MS_REMOUNT | opts.flags, opts.data.empty() ? nullptr : opts.data.c_str(),
                                    what + ": remount read-only"));
        }
    }

    if (!opts.propagation.empty() || opts.attr_set || opts.attr_clr) {
        auto mnt = HAKO_TRY_CTX(sys::open_in_root(rootfd, dest, O_PATH), what);
        for (unsigned long p : opts.propagation)
            HAKO_TRY(sys::mount(nullptr, sys::fd_path(mnt.get()).c_str(), nullptr, p, nullptr,
                                what + ": set propagation"));
        if (opts.attr_set || opts.attr_clr) {
            mount_attr attr{};
            attr.attr_set = opts.attr_set;
            attr.attr_clr = opts.attr_clr;
            if (syscall(SYS_mount_setattr, mnt.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                        sizeof attr) < 0)
                return sys_error(what + ": mount_setattr (recursive options)");
        }
    }
    return {};
}

unsigned long locked_flags(int fd) {
    struct statvfs sv{};
    if (fstatvfs(fd, &sv) < 0) return 0;
    unsigned long f = 0;
    if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

namespace {

// A "cgroup" mount: cgroup2 on a v2 host; on v1, a tmpfs with one cgroup
// file system per hierarchy the process is in (as runc mounts it).
Status mount_cgroup(int rootfd, const oci::Mount&, const std::string& dest, unsigned long flags,
                    const RootfsConfig& cfg, const std::string& what) {
    auto target = HAKO_TRY_CTX(sys::mkdir_all_in_root(rootfd, dest, 0755), what);
    unsigned long base = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
    if (cgroup::is_pure_v2()) {
        if (cfg.new_cgroup_ns)
            return sys::mount("cgroup2", sys::fd_path(target.get()).c_str(), "cgroup2", flags, nullptr,
                              what);
        return sys::mount("/sys/fs/cgroup", sys::fd_path(target.get()).c_str(), nullptr,
                          MS_BIND | MS_REC, nullptr, what);
    }
    HAKO_TRY(sys::mount("tmpfs", sys::fd_path(target.get()).c_str(), "tmpfs", base, "mode=755",
                        what + ": tmpfs"));
    for (const auto& [ctrls, path] : HAKO_TRY_CTX(cgroup::self_memberships(), what)) {
        std::string name = ctrls.empty() ? "unified" : ctrls;
        if (name.rfind("name=", 0) == 0) name = name.substr(5);
        std::string host = "/sys/fs/cgroup/" + name;
        struct stat st{};
        if (stat(host.c_str(), &st) < 0) continue;  // hierarchy not mounted on the host
        std::string sub = dest + "/" + name;
        auto subfd = HAKO_TRY_CTX(sys::mkdir_all_in_root(rootfd, sub, 0755), what);
        std::string sub_what = what + ": " + name;
        if (cfg.new_cgroup_ns) {
            if (ctrls.empty())
                HAKO_TRY(sys::mount("cgroup2", sys::fd_path(subfd.get()).c_str(), "cgroup2", base,
                                    nullptr, sub_what));
            else {
                std::string data = ctrls.rfind("name=", 0) == 0 ? "none," + ctrls : ctrls;
                HAKO_TRY(sys::mount("cgroup", sys::fd_path(subfd.get()).c_str(), "cgroup", base,
                                    data.c_str(), sub_what));
            }
        } else {
            std::string src = host + path;
            if (stat(src.c_str(), &st) < 0) src = host;
            HAKO_TRY(sys::mount(src.c_str(), sys::fd_path(subfd.get()).c_str(), nullptr,
                                MS_BIND | MS_REC, nullptr, sub_what));
        }
        if (flags & MS_RDONLY) {
            auto mnt = HAKO_TRY_CTX(sys::open_in_root(rootfd, sub, O_PATH), what);
            HAKO_TRY(sys::mount(nullptr, sys::fd_path(mnt.get()).c_str(), nullptr,
                                MS_BIND | MS_REMOUNT | MS_RDONLY | base, nullptr,
                                sub_what + ": remount read-only"));
        }
        // cpu,cpuacct -> also reachable as cpu and cpuacct
        if (name.find(',') != std::string::npos) {
            auto dir = HAKO_TRY_CTX(sys::open_in_root(rootfd, dest, O_PATH | O_DIRECTORY), what);
            for (auto piece : split(name, ',')) {
                std::string link(piece);
                if (symlinkat(name.c_str(), dir.get(), link.c_str()) < 0 && errno != EEXIST)
                    return sys_error(what + ": symlink " + link);
            }
        }
    }
    if (flags & MS_RDONLY) {
        auto mnt = HAKO_TRY_CTX(sys::open_in_root(rootfd, dest, O_PATH), what);
        HAKO_TRY(sys::mount(nullptr, sys::fd_path(mnt.get()).c_str(), nullptr,
                            MS_REMOUNT | MS_RDONLY | base, "mode=755", what + ": remount read-only"));
    }
    return {};
}

}  // namespace
}  // namespace hako::fs
