// /dev: the default devices every container gets, linux.devices, and the
// standard links. mknod where allowed; a bind of the host's node in a user
// namespace, where mknod is not.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include "fs/fs.hpp"
#include "common/log.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::fs {
namespace {

const oci::Device kDefaultDevices[] = {
    {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
    {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
    {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
};

std::pair<std::string, std::string> parent_and_name(const std::string& path) {
    std::string p = sys::clean_path(path);
    size_t slash = p.rfind('/');
    return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

Status make_device(int rootfd, const oci::Device& d, const std::string& field, bool bind_only) {
    auto [dir, name] = parent_and_name(d.path);
    std::string what = "create device `" + d.path + "` (" + field + ")";
    if (name.empty()) return error(what + ": bad path");
    auto dirfd = HAKO_TRY_CTX(sys::mkdir_all_in_root(rootfd, dir, 0755), what);
    // mknodat/fchownat need a real directory fd, not O_PATH.
    UniqueFd real(::openat(dirfd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!real) return sys_error(what + ": open parent");
    mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
    mode_t perm = d.file_mode ? static_cast<mode_t>(*d.file_mode & 07777) : 0666;
    dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));

    if (!bind_only) {
        unlinkat(real.get(), name.c_str(), 0);
        if (mknodat(real.get(), name.c_str(), type | perm, type == S_IFIFO ? 0 : dev) == 0) {
            if (fchownat(real.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0),
                         AT_SYMLINK_NOFOLLOW) < 0)
                return sys_error(what + ": chown");
            if (fchmodat(real.get(), name.c_str(), perm, 0) < 0) return sys_error(what + ": chmod");
            return {};
        }
        if (errno != EPERM) return sys_error(what + ": mknod");
    }
    // Bind the host's node over an empty file.
    UniqueFd f(::openat(real.get(), name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f && errno != EEXIST) return sys_error(what + ": create mount point");
    auto target = HAKO_TRY_CTX(sys::open_in_root(rootfd, d.path, O_PATH | O_NOFOLLOW), what);
    return sys::mount(d.path.c_str(), sys::fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr,
                      what + ": bind the host's node");
}

}  // namespace

Status create_devices(int rootfd, const RootfsConfig& cfg) {
    log::Step step("create /dev devices");
    const auto* linux = cfg.spec->linux ? &*cfg.spec->linux : nullptr;
    mode_t old = umask(0);
    auto restore = [&] { umask(old); };
    Status st = [&]() -> Status {
        auto dev = HAKO_TRY(sys::mkdir_all_in_root(rootfd, "/dev", 0755));
        for (const auto& d : kDefaultDevices) {
            bool overridden = false;
            if (linux)
                for (const auto& s : linux->devices)
                    if (sys::clean_path(s.path) == d.path) overridden = true;
            if (!overridden) HAKO_TRY(make_device(rootfd, d, "default devices", cfg.in_user_ns));
        }
        if (linux)
            for (size_t i = 0; i < linux->devices.size(); ++i)
                HAKO_TRY(make_device(rootfd, linux->devices[i],
                                     "linux.devices[" + std::to_string(i) + "]", cfg.in_user_ns));
        UniqueFd dir(::openat(dev.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) return sys_error("open /dev in rootfs");
        const std::pair<const char*, const char*> links[] = {
            {"/proc/self/fd", "fd"},         {"/proc/self/fd/0", "stdin"},
            {"/proc/self/fd/1", "stdout"},   {"/proc/self/fd/2", "stderr"},
        };
        for (auto [target, name] : links)
            if (symlinkat(target, dir.get(), name) < 0 && errno != EEXIST)
                return sys_error(std::string("symlink /dev/") + name);
        if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dir.get(), "core") < 0 &&
            errno != EEXIST)
            return sys_error("symlink /dev/core");
        // /dev/ptmx -> pts/ptmx (the devpts instance of the container)
        unlinkat(dir.get(), "ptmx", 0);
        if (symlinkat("pts/ptmx", dir.get(), "ptmx") < 0) return sys_error("symlink /dev/ptmx");
        return {};
    }();
    restore();
    return st;
}

}  // namespace hako::fs
