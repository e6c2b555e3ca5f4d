// copy_tree: what the `tmpcopyup` mount option needs (a tmpfs mounted over a
// directory starts with that directory's contents, as crun and Podman do it).
#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include "fs/fs.hpp"
#include "sys/fd.hpp"

namespace hako::fs {
namespace {

Status copy_file(int src_dir, int dst_dir, const char* name, const struct stat& st) {
    UniqueFd in(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) return sys_error(std::string("open `") + name + "`");
    UniqueFd out(::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return sys_error(std::string("create `") + name + "`");
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
        if (n < 0) return sys_error(std::string("copy `") + name + "`");
        if (n == 0) break;
        left -= n;
    }
    return {};
}

}  // namespace

Status copy_tree(int src_dir, int dst_dir) {
    UniqueFd dup(::openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dup) return sys_error("open the directory to copy");
    DIR* d = fdopendir(dup.get());
    if (!d) return sys_error("read the directory to copy");
    dup.release();
    Status result;
    while (dirent* e = readdir(d)) {
        const char* n = e->d_name;
        if (std::string_view(n) == "." || std::string_view(n) == "..") continue;
        struct stat st{};
        if (fstatat(src_dir, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            result = sys_error(std::string("stat `") + n + "`");
            break;
        }
        Status s;
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(dst_dir, n, 0700) < 0) {
                s = sys_error(std::string("mkdir `") + n + "`");
            } else {
                UniqueFd a(::openat(src_dir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                UniqueFd b(::openat(dst_dir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                s = a && b ? copy_tree(a.get(), b.get()) : sys_error(std::string("open `") + n + "`");
            }
        } else if (S_ISREG(st.st_mode)) {
            s = copy_file(src_dir, dst_dir, n, st);
        } else if (S_ISLNK(st.st_mode)) {
            char buf[4096];
            ssize_t len = readlinkat(src_dir, n, buf, sizeof buf - 1);
            if (len < 0 || symlinkat(std::string(buf, static_cast<size_t>(len)).c_str(), dst_dir, n) < 0)
                s = sys_error(std::string("copy the symlink `") + n + "`");
        } else if (mknodat(dst_dir, n, st.st_mode, st.st_rdev) < 0) {
            s = sys_error(std::string("mknod `") + n + "`");
        }
        if (s && fchownat(dst_dir, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
            s = sys_error(std::string("chown `") + n + "`");
        if (s && !S_ISLNK(st.st_mode) && fchmodat(dst_dir, n, st.st_mode & 07777, 0) < 0)
            s = sys_error(std::string("chmod `") + n + "`");
        if (!s) {
            result = std::move(s);
            break;
        }
    }
    closedir(d);
    return result;
}

}  // namespace hako::fs
