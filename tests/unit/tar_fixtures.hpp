// Test tarballs made with libarchive's writer: files, directories,
// symlinks, hard links, device nodes, any mode or owner (test_cp, test_layer).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace hako::testing {

struct TarEntry {
    std::string name;
    char type = 'f';   // f file, d dir, l symlink, h hard link, c char device, b block device
    std::string data{};  // content, or a link's target
    long uid = 1234, gid = 5678;
    mode_t perm = 0;   // 0: 0600 files, 0755 dirs
    unsigned major = 0, minor = 0;
    time_t mtime = 1'000'000'000;
    std::string fflags{};  // "schg", "uappnd": file flags (SCHILY.fflags)
    std::vector<std::pair<std::string, std::string>> xattrs{};
};

// Whether PATH exists (not following a final symlink).
inline bool lexists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// A temporary file's fd (for the tar streams).
inline int temp_fd() {
    char t[] = "/tmp/hako-test-tar-XXXXXX";
    int fd = ::mkstemp(t);
    ::unlink(t);
    return fd;
}

// A tar of those entries in a temporary file, its fd at the start.
inline int make_tar(const std::vector<TarEntry>& entries) {
    int fd = temp_fd();
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_fd(a, fd);
    for (const auto& t : entries) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, t.name.c_str());
        archive_entry_set_uid(e, t.uid);
        archive_entry_set_gid(e, t.gid);
        archive_entry_set_mtime(e, t.mtime, 0);
        if (!t.fflags.empty()) archive_entry_copy_fflags_text(e, t.fflags.c_str());
        for (const auto& [n, v] : t.xattrs) archive_entry_xattr_add_entry(e, n.c_str(), v.data(), v.size());
        switch (t.type) {
        case 'd':
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, t.perm ? t.perm : 0755);
            break;
        case 'l':
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_perm(e, 0777);
            archive_entry_set_symlink(e, t.data.c_str());
            break;
        case 'h':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, t.perm ? t.perm : 0600);
            archive_entry_set_hardlink(e, t.data.c_str());
            break;
        case 'c':
        case 'b':
            archive_entry_set_filetype(e, t.type == 'c' ? AE_IFCHR : AE_IFBLK);
            archive_entry_set_perm(e, t.perm ? t.perm : 0600);
            archive_entry_set_rdev(e, makedev(t.major, t.minor));
            break;
        default:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, t.perm ? t.perm : 0600);
            archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
        }
        archive_write_header(a, e);
        if (t.type == 'f') archive_write_data(a, t.data.data(), t.data.size());
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

}  // namespace hako::testing
