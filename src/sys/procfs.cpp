// Procfs writes checked to land in procfs itself (see procfs.hpp).
#include "sys/procfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "sys/fd.hpp"

namespace hako::sys {
namespace {

constexpr ino_t kProcRootIno = 1;  // (only a procfs's root has it: include/linux/proc_ns.h)

Result<uint64_t> mount_id(int fd, const std::string& what) {
    struct statx stx{};
    if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
        return sys_error("statx `" + what + "`");
    if (!(stx.stx_mask & STATX_MNT_ID)) return error("statx `" + what + "`: no mount id from the kernel");
    return stx.stx_mnt_id;
}

}  // namespace

Status write_proc(const std::string& path, std::string_view content) {
    const std::string what = "write `" + path + "`";
    if (!path.starts_with("/proc/") || path.size() == 6) return error(what + ": not a path under /proc");
    UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!proc) return sys_error(what + ": open `/proc`");
    struct statfs sfs{};
    struct stat st{};
    if (fstatfs(proc.get(), &sfs) < 0 || fstat(proc.get(), &st) < 0) return sys_error(what + ": stat `/proc`");
    if (sfs.f_type != PROC_SUPER_MAGIC || st.st_ino != kProcRootIno)
        return error(what + ": `/proc` is not the root of a procfs; refusing to write there (CVE-2025-52881)");
    uint64_t want = HAKO_TRY(mount_id(proc.get(), "/proc"));
    UniqueFd fd(::openat(proc.get(), path.c_str() + 6, O_WRONLY | O_NOCTTY | O_CLOEXEC));
    if (!fd) return sys_error("open `" + path + "`");
    if (fstatfs(fd.get(), &sfs) < 0) return sys_error(what + ": statfs");
    uint64_t got = HAKO_TRY(mount_id(fd.get(), path));
    if (sfs.f_type != PROC_SUPER_MAGIC || got != want)
        return error(what + ": something is mounted over it (" +
                     (sfs.f_type == PROC_SUPER_MAGIC ? "another procfs mount" : "not procfs") +
                     "); refusing to write there (CVE-2025-52881)");
    ssize_t n = ::write(fd.get(), content.data(), content.size());
    if (n < 0) return sys_error(what);
    if (static_cast<size_t>(n) != content.size()) return error(what + ": short write");
    return {};
}

}  // namespace hako::sys
