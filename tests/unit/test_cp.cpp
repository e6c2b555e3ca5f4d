// hako cp and hako diff (src/frontend/cp.cpp, diff.cpp): docker cp's rules both ways, the tar streams, symlinks that try to leave the container's root, owners, and the changes of an overlay upper dir. Run as root (chroot, chown, mknod, trusted.* xattrs).
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/cp.hpp"
#include "tar_fixtures.hpp"

using hako::frontend::Change;
using hako::frontend::CopyOptions;
using hako::frontend::copy_from_container;
using hako::frontend::copy_tar_from_container;
using hako::frontend::copy_tar_to_container;
using hako::frontend::copy_to_container;
using hako::frontend::diff_upper;
using hako::testing::lexists;
using hako::testing::make_tar;
using hako::testing::TarEntry;
using hako::testing::temp_fd;
namespace fs = std::filesystem;

namespace {

constexpr time_t kTime = 1'000'000'000;  // 2001-09-09
constexpr time_t kDirTime = 1'100'000'000;

void put(const std::string& path, const std::string& content, mode_t mode = 0644, time_t mtime = kTime) {
    fs::create_directories(fs::path(path).parent_path());
    {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f << content;
    }
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
}

std::string get(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return "<missing>";
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void set_time(const std::string& path, time_t t) {
    timespec ts[2] = {{t, 0}, {t, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
}

struct stat lstat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
}

std::string link_of(const std::string& path) {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    return n < 0 ? "<not a link>" : std::string(buf, static_cast<size_t>(n));
}

// The entry names (and owner of each) of the tar in fd, from its start.
std::vector<std::string> tar_names(int fd, std::vector<std::pair<long, long>>* owners = nullptr) {
    ::lseek(fd, 0, SEEK_SET);
    std::vector<std::string> out;
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    EXPECT_EQ(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK);
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        out.emplace_back(archive_entry_pathname(e));
        if (owners) owners->emplace_back(archive_entry_uid(e), archive_entry_gid(e));
    }
    archive_read_free(a);
    return out;
}

int count_fds() {
    int n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

class Cp : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (chroot, chown)";
        char t[] = "/tmp/hako-cp-XXXXXX";
        ASSERT_NE(::mkdtemp(t), nullptr);
        tmp = t;
        root = tmp + "/root";
        host = tmp + "/host";
        outside = tmp + "/outside";
        canary = outside + "/canary";
        fs::create_directories(host);
        put(canary, "HOST SECRET\n", 0600);
        put(outside + "/keep", "keep\n");
        // The container: /etc (0751) with hosts (0640), passwd and sub/deep;
        // /data/a and /data/b one file; symlinks, two of them out of the root.
        put(root + "/etc/hosts", "127.0.0.1 localhost\n", 0640);
        put(root + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
        put(root + "/etc/sub/deep", "deep\n");
        put(root + "/data/a", "same file\n");
        ASSERT_EQ(::link((root + "/data/a").c_str(), (root + "/data/b").c_str()), 0);
        ASSERT_EQ(::symlink("etc/hosts", (root + "/link").c_str()), 0);
        ASSERT_EQ(::symlink(("/../../../../.." + canary).c_str(), (root + "/evil").c_str()), 0);
        ASSERT_EQ(::symlink(("../../../../../.." + outside).c_str(), (root + "/evildir").c_str()), 0);
        ASSERT_EQ(::chmod((root + "/etc").c_str(), 0751), 0);
        set_time(root + "/etc/sub", kDirTime);
        set_time(root + "/etc", kDirTime);
    }
    void TearDown() override {
        if (!tmp.empty()) fs::remove_all(tmp);
    }
    // What is in the host canary directory: always the same two files.
    void expect_outside_untouched() {
        EXPECT_EQ(get(canary), "HOST SECRET\n");
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(outside)) names.push_back(e.path().filename());
        std::sort(names.begin(), names.end());
        EXPECT_EQ(names, (std::vector<std::string>{"canary", "keep"}));
    }

    std::string tmp, root, host, outside, canary;
    CopyOptions none;
};

// --- copy out: SRC a file ------------------------------------------------------

TEST_F(Cp, OutFileToMissingDestIsSavedAsDest) {
    ASSERT_TRUE(copy_from_container(root, "/etc/hosts", host + "/new", none));
    EXPECT_EQ(get(host + "/new"), "127.0.0.1 localhost\n");
    auto st = lstat_of(host + "/new");
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_mtim.tv_sec, kTime);
}

TEST_F(Cp, OutRelativeSourceIsFromTheContainersRoot) {
    ASSERT_TRUE(copy_from_container(root, "etc/../etc/passwd", host + "/p", none));
    EXPECT_EQ(get(host + "/p"), "root:x:0:0::/root:/bin/sh\n");
}

TEST_F(Cp, OutFileToMissingDestNeedsItsParent) {
    auto r = copy_from_container(root, "/etc/hosts", host + "/nope/new", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOENT);
    EXPECT_EQ(r.error().msg, "copy `/etc/hosts` from the container to `" + host +
                                 "/nope/new`: the destination's parent directory `" + host + "/nope`");
    EXPECT_FALSE(lexists(host + "/nope"));
}

TEST_F(Cp, OutFileToMissingDirWithSlashIsAnError) {
    auto r = copy_from_container(root, "/etc/hosts", host + "/newdir/", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `/etc/hosts` from the container to `" + host + "/newdir/`: the destination directory `" +
                                    host + "/newdir/` does not exist");
    EXPECT_FALSE(lexists(host + "/newdir"));
}

TEST_F(Cp, OutFileOverwritesAFile) {
    put(host + "/existing", "old content that is longer\n");
    ASSERT_TRUE(copy_from_container(root, "/etc/hosts", host + "/existing", none));
    EXPECT_EQ(get(host + "/existing"), "127.0.0.1 localhost\n");
}

TEST_F(Cp, OutFileToAFileWithSlashIsNotADirectory) {
    put(host + "/existing", "old\n");
    auto r = copy_from_container(root, "/etc/hosts", host + "/existing/", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOTDIR);
    EXPECT_EQ(get(host + "/existing"), "old\n");
}

TEST_F(Cp, OutFileIntoADirectory) {
    fs::create_directories(host + "/d");
    ASSERT_TRUE(copy_from_container(root, "/etc/hosts", host + "/d", none));
    EXPECT_EQ(get(host + "/d/hosts"), "127.0.0.1 localhost\n");
    ASSERT_TRUE(copy_from_container(root, "/etc/passwd", host + "/d/", none));
    EXPECT_EQ(get(host + "/d/passwd"), "root:x:0:0::/root:/bin/sh\n");
}

TEST_F(Cp, OutFileIntoADirectoryThroughAHostSymlink) {
    fs::create_directories(host + "/real");
    ASSERT_EQ(::symlink("real", (host + "/via").c_str()), 0);
    ASSERT_TRUE(copy_from_container(root, "/etc/hosts", host + "/via", none));
    EXPECT_EQ(get(host + "/real/hosts"), "127.0.0.1 localhost\n");
}

TEST_F(Cp, OutMissingSourceNamesIt) {
    auto r = copy_from_container(root, "/etc/nope", host + "/x", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `/etc/nope` from the container: ENOENT (No such file or directory)");
    EXPECT_FALSE(lexists(host + "/x"));
}

TEST_F(Cp, OutFileWithSlashIsNotADirectory) {
    auto r = copy_from_container(root, "/etc/hosts/", host + "/x", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `/etc/hosts/` from the container: ENOTDIR (Not a directory)");
}

// --- copy out: SRC a directory ---------------------------------------------------

TEST_F(Cp, OutDirToMissingDestIsCreatedWithItsContents) {
    ASSERT_TRUE(copy_from_container(root, "/etc", host + "/e", none));
    EXPECT_EQ(get(host + "/e/hosts"), "127.0.0.1 localhost\n");
    EXPECT_EQ(get(host + "/e/sub/deep"), "deep\n");
    auto st = lstat_of(host + "/e");
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0751u);
    EXPECT_EQ(st.st_mtim.tv_sec, kDirTime);
    EXPECT_EQ(lstat_of(host + "/e/sub").st_mtim.tv_sec, kDirTime);
    EXPECT_EQ(lstat_of(host + "/e/hosts").st_mode & 07777, 0640u);
    EXPECT_FALSE(lexists(host + "/e/etc"));
}

TEST_F(Cp, OutDirToAFileIsAnError) {
    put(host + "/existing", "old\n");
    auto r = copy_from_container(root, "/etc", host + "/existing", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `/etc` from the container to `" + host +
                                    "/existing`: cannot copy a directory to a file (`" + host + "/existing`)");
    EXPECT_EQ(get(host + "/existing"), "old\n");
}

TEST_F(Cp, OutDirIntoADirectory) {
    fs::create_directories(host + "/d");
    ASSERT_TRUE(copy_from_container(root, "/etc", host + "/d", none));
    EXPECT_EQ(get(host + "/d/etc/hosts"), "127.0.0.1 localhost\n");
    EXPECT_EQ(get(host + "/d/etc/sub/deep"), "deep\n");
    EXPECT_EQ(lstat_of(host + "/d/etc").st_mode & 07777, 0751u);
    EXPECT_FALSE(lexists(host + "/d/hosts"));
}

TEST_F(Cp, OutDirWithTrailingSlashIsStillTheDirectory) {
    fs::create_directories(host + "/d");
    ASSERT_TRUE(copy_from_container(root, "/etc/", host + "/d", none));
    EXPECT_EQ(get(host + "/d/etc/hosts"), "127.0.0.1 localhost\n");
}

TEST_F(Cp, OutDirContentsIntoADirectory) {
    fs::create_directories(host + "/d");
    ASSERT_EQ(::chmod((host + "/d").c_str(), 0700), 0);
    set_time(host + "/d", kTime);
    ASSERT_TRUE(copy_from_container(root, "/etc/.", host + "/d", none));
    EXPECT_EQ(get(host + "/d/hosts"), "127.0.0.1 localhost\n");
    EXPECT_EQ(get(host + "/d/sub/deep"), "deep\n");
    EXPECT_FALSE(lexists(host + "/d/etc"));
    auto st = lstat_of(host + "/d");  // (DEST keeps its own mode and times, as docker)
    EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(Cp, OutDirContentsToMissingDest) {
    ASSERT_TRUE(copy_from_container(root, "/etc/.", host + "/new", none));
    EXPECT_EQ(get(host + "/new/passwd"), "root:x:0:0::/root:/bin/sh\n");
    EXPECT_EQ(lstat_of(host + "/new").st_mode & 07777, 0751u);
}

TEST_F(Cp, OutHardLinksStayOneFile) {
    ASSERT_TRUE(copy_from_container(root, "/data", host + "/data", none));
    auto a = lstat_of(host + "/data/a"), b = lstat_of(host + "/data/b");
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_nlink, 2u);
    EXPECT_EQ(get(host + "/data/b"), "same file\n");
}

TEST_F(Cp, OutOwnersAreTheCallersUnlessArchive) {
    ASSERT_EQ(::chown((root + "/etc/hosts").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::lchown((root + "/link").c_str(), 1234, 5678), 0);
    ASSERT_TRUE(copy_from_container(root, "/etc/hosts", host + "/plain", none));
    auto st = lstat_of(host + "/plain");
    EXPECT_EQ(st.st_uid, ::getuid());
    EXPECT_EQ(st.st_gid, ::getgid());
    CopyOptions a;
    a.archive = true;
    ASSERT_TRUE(copy_from_container(root, "/etc/hosts", host + "/kept", a));
    st = lstat_of(host + "/kept");
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    ASSERT_TRUE(copy_from_container(root, "/link", host + "/keptlink", a));
    st = lstat_of(host + "/keptlink");
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(st.st_uid, 1234u);
}

// --- copy out: symlinks -------------------------------------------------------

TEST_F(Cp, OutSymlinkIsTheLinkUnlessFollowed) {
    ASSERT_TRUE(copy_from_container(root, "/link", host + "/l", none));
    EXPECT_EQ(link_of(host + "/l"), "etc/hosts");
    CopyOptions follow;
    follow.follow_link = true;
    ASSERT_TRUE(copy_from_container(root, "/link", host + "/l2", follow));
    EXPECT_TRUE(S_ISREG(lstat_of(host + "/l2").st_mode));
    EXPECT_EQ(get(host + "/l2"), "127.0.0.1 localhost\n");
    fs::create_directories(host + "/d");  // (into a directory: the link's name, not its target's)
    ASSERT_TRUE(copy_from_container(root, "/link", host + "/d", follow));
    EXPECT_EQ(get(host + "/d/link"), "127.0.0.1 localhost\n");
}

TEST_F(Cp, OutEscapingSymlinkNeverReadsTheHost) {
    ASSERT_TRUE(copy_from_container(root, "/evil", host + "/e", none));
    EXPECT_EQ(link_of(host + "/e"), "/../../../../.." + canary);  // the link itself
    CopyOptions follow;
    follow.follow_link = true;
    auto r = copy_from_container(root, "/evil", host + "/e2", follow);  // its target in the container: none
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOENT);
    EXPECT_FALSE(lexists(host + "/e2"));
    put(root + canary, "CONTAINER FILE\n");  // the container's own file at that path
    ASSERT_TRUE(copy_from_container(root, "/evil", host + "/e3", follow));
    EXPECT_EQ(get(host + "/e3"), "CONTAINER FILE\n");
    expect_outside_untouched();
}

TEST_F(Cp, OutThroughAnEscapingDirectorySymlinkStaysInside) {
    auto r = copy_from_container(root, "/evildir/canary", host + "/c", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOENT);
    r = copy_from_container(root, "/evildir/.", host + "/c", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOENT);
    EXPECT_FALSE(lexists(host + "/c"));
    put(root + outside + "/canary", "CONTAINER FILE\n");
    ASSERT_TRUE(copy_from_container(root, "/evildir/canary", host + "/c", none));
    EXPECT_EQ(get(host + "/c"), "CONTAINER FILE\n");
    ASSERT_TRUE(copy_from_container(root, "/evildir/.", host + "/cd", none));
    EXPECT_EQ(get(host + "/cd/canary"), "CONTAINER FILE\n");
    EXPECT_FALSE(lexists(host + "/cd/keep"));
    expect_outside_untouched();
}

// A procfs mounted inside the root (in our view) has /proc/1/root: a way
// out for a chroot. The child detaches it first.
TEST_F(Cp, OutProcfsInTheRootIsNoWayOut) {
    fs::create_directories(root + "/proc");
    if (::mount("proc", (root + "/proc").c_str(), "proc", 0, nullptr) < 0)
        GTEST_SKIP() << "cannot mount a procfs here: " << std::strerror(errno);
    struct Unmount {
        std::string p;
        ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } unmount{root + "/proc"};
    ASSERT_EQ(::symlink(("/proc/1/root" + canary).c_str(), (root + "/leak").c_str()), 0);
    CopyOptions follow;
    follow.follow_link = true;
    auto r = copy_from_container(root, "/leak", host + "/leak", follow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOENT);
    EXPECT_FALSE(lexists(host + "/leak"));
    r = copy_from_container(root, "/proc/self/root" + canary, host + "/leak2", none);
    ASSERT_FALSE(r);
    EXPECT_FALSE(lexists(host + "/leak2"));
    ::umount2((root + "/proc").c_str(), MNT_DETACH);
    expect_outside_untouched();
}

// --- copy out as a tar stream ("-") ------------------------------------------

TEST_F(Cp, OutTarStreamNamesStartAtTheBasename) {
    ASSERT_EQ(::chown((root + "/etc/hosts").c_str(), 1234, 5678), 0);
    int fd = temp_fd();
    ASSERT_TRUE(copy_tar_from_container(root, "/etc", fd, none));
    std::vector<std::pair<long, long>> owners;
    EXPECT_EQ(tar_names(fd, &owners),
              (std::vector<std::string>{"etc/", "etc/hosts", "etc/passwd", "etc/sub/", "etc/sub/deep"}));
    ASSERT_EQ(owners.size(), 5u);
    EXPECT_EQ(owners[1], (std::pair<long, long>{1234, 5678}));  // (a tar keeps the owners)
    ::close(fd);
    fd = temp_fd();
    ASSERT_TRUE(copy_tar_from_container(root, "/etc/hosts", fd, none));
    EXPECT_EQ(tar_names(fd), (std::vector<std::string>{"hosts"}));
    ::close(fd);
    fd = temp_fd();
    ASSERT_TRUE(copy_tar_from_container(root, "/etc/sub/.", fd, none));
    EXPECT_EQ(tar_names(fd), (std::vector<std::string>{"./", "./deep"}));
    ::close(fd);
    fd = temp_fd();
    auto r = copy_tar_from_container(root, "/etc/nope", fd, none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `/etc/nope` from the container: ENOENT (No such file or directory)");
    ::close(fd);
}

TEST_F(Cp, OutDashWritesTheTarToStdout) {
    int fd = temp_fd();
    std::fflush(stdout);
    int saved = ::dup(STDOUT_FILENO);
    ::dup2(fd, STDOUT_FILENO);
    auto r = copy_from_container(root, "/etc/hosts", "-", none);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(tar_names(fd), (std::vector<std::string>{"hosts"}));
    ::close(fd);
}

TEST_F(Cp, OutStreamToAClosedPipeIsEpipeNotASignal) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ::close(p[0]);
    auto r = copy_tar_from_container(root, "/etc", p[1], none);
    ::close(p[1]);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `/etc` from the container: write the tar stream: EPIPE (Broken pipe)");
}

// --- copy in: SRC a file -------------------------------------------------------

TEST_F(Cp, InFileToMissingDestIsSavedAsDest) {
    put(host + "/f", "from the host\n", 0604);
    ASSERT_TRUE(copy_to_container(host + "/f", root, "/etc/newname", none));
    EXPECT_EQ(get(root + "/etc/newname"), "from the host\n");
    auto st = lstat_of(root + "/etc/newname");
    EXPECT_EQ(st.st_mode & 07777, 0604u);
    EXPECT_EQ(st.st_mtim.tv_sec, kTime);
    ASSERT_TRUE(copy_to_container(host + "/f", root, "top", none));  // (relative: from /)
    EXPECT_EQ(get(root + "/top"), "from the host\n");
}

TEST_F(Cp, InFileToMissingDestNeedsItsParent) {
    put(host + "/f", "x\n");
    auto r = copy_to_container(host + "/f", root, "/nope/x", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `" + host + "/f` to the container `/nope/x`: the destination's parent directory "
                                "`/nope`: ENOENT (No such file or directory)");
    EXPECT_FALSE(lexists(root + "/nope"));
}

TEST_F(Cp, InFileToMissingDirWithSlashIsAnError) {
    put(host + "/f", "x\n");
    auto r = copy_to_container(host + "/f", root, "/newdir/", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `" + host + "/f` to the container `/newdir/`: the destination directory "
                                "`/newdir/` does not exist");
    EXPECT_FALSE(lexists(root + "/newdir"));
}

TEST_F(Cp, InFileOverwritesAFile) {
    put(host + "/f", "new hosts\n");
    ASSERT_TRUE(copy_to_container(host + "/f", root, "/etc/hosts", none));
    EXPECT_EQ(get(root + "/etc/hosts"), "new hosts\n");
    EXPECT_FALSE(lexists(root + "/etc/f"));
}

TEST_F(Cp, InFileIntoADirectory) {
    put(host + "/f", "x\n");
    ASSERT_TRUE(copy_to_container(host + "/f", root, "/etc", none));
    EXPECT_EQ(get(root + "/etc/f"), "x\n");
    ASSERT_TRUE(copy_to_container(host + "/f", root, "/etc/sub/", none));
    EXPECT_EQ(get(root + "/etc/sub/f"), "x\n");
}

TEST_F(Cp, InMissingSourceNamesIt) {
    auto r = copy_to_container(host + "/nope", root, "/etc", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `" + host + "/nope` to the container: ENOENT (No such file or directory)");
    put(host + "/f", "x\n");
    r = copy_to_container(host + "/f/", root, "/etc", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOTDIR);
}

// --- copy in: SRC a directory -----------------------------------------------------

TEST_F(Cp, InDirRules) {
    put(host + "/src/a", "a\n");
    put(host + "/src/in/b", "b\n", 0600);
    ASSERT_EQ(::chmod((host + "/src").c_str(), 0705), 0);
    set_time(host + "/src", kDirTime);
    // missing DEST: created with the contents
    ASSERT_TRUE(copy_to_container(host + "/src", root, "/new", none));
    EXPECT_EQ(get(root + "/new/a"), "a\n");
    EXPECT_EQ(get(root + "/new/in/b"), "b\n");
    EXPECT_EQ(lstat_of(root + "/new").st_mode & 07777, 0705u);
    EXPECT_EQ(lstat_of(root + "/new").st_mtim.tv_sec, kDirTime);
    EXPECT_EQ(lstat_of(root + "/new/in/b").st_mode & 07777, 0600u);
    // missing DEST with a slash: created too (SRC is a directory)
    ASSERT_TRUE(copy_to_container(host + "/src", root, "/new2/", none));
    EXPECT_EQ(get(root + "/new2/a"), "a\n");
    // an existing directory: SRC into it
    ASSERT_TRUE(copy_to_container(host + "/src", root, "/etc", none));
    EXPECT_EQ(get(root + "/etc/src/in/b"), "b\n");
    // SRC/. : its contents into it (DEST keeps its mode)
    ASSERT_TRUE(copy_to_container(host + "/src/.", root, "/etc/sub", none));
    EXPECT_EQ(get(root + "/etc/sub/a"), "a\n");
    EXPECT_EQ(get(root + "/etc/sub/in/b"), "b\n");
    EXPECT_EQ(get(root + "/etc/sub/deep"), "deep\n");
    EXPECT_FALSE(lexists(root + "/etc/sub/src"));
    // an existing file: an error
    auto r = copy_to_container(host + "/src", root, "/etc/hosts", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `" + host + "/src` to the container `/etc/hosts`: cannot copy a directory to a "
                                "file (`/etc/hosts`)");
    EXPECT_EQ(get(root + "/etc/hosts"), "127.0.0.1 localhost\n");
}

TEST_F(Cp, InSymlinkIsTheLinkUnlessFollowed) {
    put(host + "/target", "target\n");
    ASSERT_EQ(::symlink("target", (host + "/l").c_str()), 0);
    ASSERT_TRUE(copy_to_container(host + "/l", root, "/etc", none));
    EXPECT_EQ(link_of(root + "/etc/l"), "target");
    CopyOptions follow;
    follow.follow_link = true;
    ASSERT_TRUE(copy_to_container(host + "/l", root, "/etc/l2", follow));
    EXPECT_TRUE(S_ISREG(lstat_of(root + "/etc/l2").st_mode));
    EXPECT_EQ(get(root + "/etc/l2"), "target\n");
}

TEST_F(Cp, InHardLinksStayOneFile) {
    put(host + "/src/x", "x\n");
    ASSERT_EQ(::link((host + "/src/x").c_str(), (host + "/src/y").c_str()), 0);
    ASSERT_TRUE(copy_to_container(host + "/src", root, "/hl", none));
    EXPECT_EQ(lstat_of(root + "/hl/x").st_ino, lstat_of(root + "/hl/y").st_ino);
}

TEST_F(Cp, InOwnersAreRootUnlessArchive) {
    put(host + "/f", "x\n", 04755);
    ASSERT_EQ(::chown((host + "/f").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::chmod((host + "/f").c_str(), 0755), 0);
    ASSERT_TRUE(copy_to_container(host + "/f", root, "/etc/plain", none));
    auto st = lstat_of(root + "/etc/plain");
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, 0u);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    CopyOptions a;
    a.archive = true;
    ASSERT_TRUE(copy_to_container(host + "/f", root, "/etc/kept", a));
    st = lstat_of(root + "/etc/kept");
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
}

// --- copy in: symlinks in the container ---------------------------------------

TEST_F(Cp, InThroughEscapingSymlinksLandsInside) {
    put(host + "/f", "from the host\n");
    // /evildir -> ../../../../../..<outside>: inside the root, that path is missing
    auto r = copy_to_container(host + "/f", root, "/evildir", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOENT);
    fs::create_directories(root + outside);
    ASSERT_TRUE(copy_to_container(host + "/f", root, "/evildir", none));
    EXPECT_EQ(get(root + outside + "/f"), "from the host\n");
    ASSERT_TRUE(copy_to_container(host + "/f", root, "/evildir/sub", none));
    EXPECT_EQ(get(root + outside + "/sub"), "from the host\n");
    // /evil -> /../../../../..<canary>: a dangling link in the container, its target written inside
    ASSERT_TRUE(copy_to_container(host + "/f", root, "/evil", none));
    EXPECT_EQ(get(root + canary), "from the host\n");
    EXPECT_EQ(link_of(root + "/evil"), "/../../../../.." + canary);
    // a directory copied through it
    put(host + "/src/canary", "overwrite?\n");
    ASSERT_TRUE(copy_to_container(host + "/src/.", root, "/evildir", none));
    EXPECT_EQ(get(root + canary), "overwrite?\n");
    expect_outside_untouched();
}

// --- copy in from a tar stream ("-") -------------------------------------------

TEST_F(Cp, InTarStreamIntoADirectory) {
    ASSERT_EQ(::chmod((root + "/etc/sub").c_str(), 0750), 0);
    int fd = make_tar({{"./", 'd', ""}, {"a.txt", 'f', "A\n"}, {"d/", 'd', ""}, {"d/b.txt", 'f', "B\n"}});
    ASSERT_TRUE(copy_tar_to_container(fd, root, "/etc/sub", none));
    ::close(fd);
    EXPECT_EQ(get(root + "/etc/sub/a.txt"), "A\n");
    EXPECT_EQ(get(root + "/etc/sub/d/b.txt"), "B\n");
    auto st = lstat_of(root + "/etc/sub/d/b.txt");
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, 0u);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_mtim.tv_sec, kTime);
    EXPECT_EQ(lstat_of(root + "/etc/sub").st_mode & 07777, 0750u);  // ("./" 0755: DEST keeps its own)
    EXPECT_EQ(lstat_of(root + "/etc/sub/d").st_mode & 07777, 0755u);
    CopyOptions a;
    a.archive = true;
    fd = make_tar({{"owned", 'f', "O\n"}});
    ASSERT_TRUE(copy_tar_to_container(fd, root, "/etc", a));
    ::close(fd);
    EXPECT_EQ(lstat_of(root + "/etc/owned").st_uid, 1234u);
}

TEST_F(Cp, InTarStreamNeedsAnExistingDirectory) {
    int fd = make_tar({{"a.txt", 'f', "A\n"}});
    auto r = copy_tar_to_container(fd, root, "/etc/hosts", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy a tar stream to `/etc/hosts` in the container: the destination `/etc/hosts` must be a directory");
    ::lseek(fd, 0, SEEK_SET);
    r = copy_tar_to_container(fd, root, "/nope", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy a tar stream to `/nope` in the container: the destination `/nope`: ENOENT (No such file or directory)");
    ::close(fd);
    EXPECT_EQ(get(root + "/etc/hosts"), "127.0.0.1 localhost\n");
}

TEST_F(Cp, InTarStreamCannotLeaveTheDirectory) {
    fs::create_directories(root + "/dst");
    // "..", an absolute name, and a symlink then a path through it
    int fd = make_tar({{"../../escape", 'f', "E\n"}});
    ASSERT_EQ(tar_names(fd), std::vector<std::string>{"../../escape"});  // (the raw name: the writer keeps it)
    ::lseek(fd, 0, SEEK_SET);
    auto r = copy_tar_to_container(fd, root, "/dst", none);
    ::close(fd);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().msg.find("unpack `../../escape`"), std::string::npos) << r.error().msg;
    fd = make_tar({{outside + "/abs", 'f', "E\n"}});
    r = copy_tar_to_container(fd, root, "/dst", none);
    ::close(fd);
    ASSERT_FALSE(r);
    fd = make_tar({{"l", 'l', outside}, {"l/pwn", 'f', "E\n"}});
    r = copy_tar_to_container(fd, root, "/dst", none);
    ::close(fd);
    ASSERT_FALSE(r);
    EXPECT_EQ(link_of(root + "/dst/l"), outside);
    EXPECT_FALSE(lexists(tmp + "/escape"));
    EXPECT_FALSE(lexists(root + "/escape"));
    EXPECT_FALSE(lexists(root + outside));
    expect_outside_untouched();
}

TEST_F(Cp, InDashReadsTheTarFromStdin) {
    int fd = make_tar({{"fromstdin", 'f', "S\n"}});
    int saved = ::dup(STDIN_FILENO);
    ::dup2(fd, STDIN_FILENO);
    auto r = copy_to_container("-", root, "/etc", none);
    ::dup2(saved, STDIN_FILENO);
    ::close(saved);
    ::close(fd);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(get(root + "/etc/fromstdin"), "S\n");
}

// --- errors from the other side, fds, children -------------------------------

TEST_F(Cp, TheChildsErrorIsReportedNotEpipe) {
    // copy in: the child refuses at once while we still write 8 MiB
    put(host + "/big/blob", std::string(8 << 20, 'x'));
    auto r = copy_to_container(host + "/big", root, "/etc/hosts", none);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().err, EPIPE);
    EXPECT_EQ(r.error().what(), "copy `" + host + "/big` to the container `/etc/hosts`: cannot copy a directory to a "
                                "file (`/etc/hosts`)");
    // copy out: DEST refused on the host while the child writes 8 MiB
    put(root + "/big/blob", std::string(8 << 20, 'y'));
    put(host + "/file", "file\n");
    r = copy_from_container(root, "/big", host + "/file", none);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "copy `/big` from the container to `" + host + "/file`: cannot copy a directory to a file (`" +
                                    host + "/file`)");
    // copy out: the host side fails while extracting (a directory in the way of a file)
    fs::create_directories(host + "/d/big/blob/full");
    put(host + "/d/big/blob/full/x", "x\n");
    r = copy_from_container(root, "/big", host + "/d", none);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().err, EPIPE);
    EXPECT_NE(r.error().msg.find("copy `/big` from the container to `" + host + "/d`: unpack `big/blob`"), std::string::npos)
        << r.error().what();
}

TEST_F(Cp, NoFdLeaksNoChildrenLeft) {
    put(host + "/f", "x\n");
    int before = count_fds();
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(copy_from_container(root, "/etc", host + "/out" + std::to_string(i), none));
        EXPECT_FALSE(copy_from_container(root, "/nope", host + "/x", none));
        EXPECT_FALSE(copy_from_container(root, "/etc", host + "/f", none));
        EXPECT_TRUE(copy_to_container(host + "/f", root, "/etc", none));
        EXPECT_FALSE(copy_to_container(host + "/f", root, "/nope/", none));
        int fd = make_tar({{"t", 'f', "t\n"}});
        EXPECT_TRUE(copy_tar_to_container(fd, root, "/etc", none));
        ::close(fd);
    }
    EXPECT_EQ(count_fds(), before);
    int st;
    EXPECT_EQ(::waitpid(-1, &st, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
}

// --- diff --------------------------------------------------------------------------

class CpDiff : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (mknod, trusted.* xattrs)";
        char t[] = "/tmp/hako-diff-XXXXXX";
        ASSERT_NE(::mkdtemp(t), nullptr);
        tmp = t;
        upper = tmp + "/upper";
        top = tmp + "/l1";
        bottom = tmp + "/l0";
        for (const auto& d : {upper, top, bottom}) fs::create_directories(d);
    }
    void TearDown() override {
        if (!tmp.empty()) fs::remove_all(tmp);
    }
    void whiteout(const std::string& path) {
        fs::create_directories(fs::path(path).parent_path());
        ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0000, makedev(0, 0)), 0) << path;
    }
    void opaque(const std::string& dir, const char* key = "trusted.overlay.opaque") {
        fs::create_directories(dir);
        ASSERT_EQ(::setxattr(dir.c_str(), key, "y", 1, 0), 0) << dir;
    }
    // A directory as overlayfs copies it up: same mode, owner, times.
    void copied_up(const std::string& rel, const std::string& from) {
        fs::create_directories(upper + "/" + rel);
        struct stat st = lstat_of(from + "/" + rel);
        ASSERT_EQ(::chmod((upper + "/" + rel).c_str(), st.st_mode & 07777), 0);
        timespec ts[2] = {st.st_atim, st.st_mtim};
        ASSERT_EQ(::utimensat(AT_FDCWD, (upper + "/" + rel).c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
    }
    std::string tmp, upper, top, bottom;
};

TEST_F(CpDiff, ChangesOfAnUpperDir) {
    // The image: bottom layer, and a top layer that deletes and replaces some of it.
    put(bottom + "/etc/passwd", "p\n");
    put(bottom + "/etc/old/a", "a\n");
    put(bottom + "/etc/old/b", "b\n");
    put(bottom + "/etc/old/sub/c", "c\n");
    put(bottom + "/bin/sh", "sh\n");
    put(bottom + "/gone", "g\n");
    put(bottom + "/var/log/x", "x\n");
    put(bottom + "/opt/old", "o\n");
    put(bottom + "/usr/lib/libc", "c\n");
    put(top + "/etc/group", "g\n");
    whiteout(top + "/var/log/x");  // (deleted in the image already)
    opaque(top + "/opt");          // (/opt replaced in the image: /opt/old is not in it)
    put(top + "/opt/new", "n\n");
    for (const auto& d : {"etc", "etc/old", "bin", "var", "var/log", "usr", "usr/lib"}) set_time(bottom + "/" + d, kDirTime);
    set_time(top + "/etc", kDirTime);
    // The container's changes.
    copied_up("etc", bottom);
    put(upper + "/etc/passwd", "changed\n");   // C
    put(upper + "/etc/newfile", "n\n");        // A
    whiteout(upper + "/gone");                 // D
    opaque(upper + "/etc/old");                // rm -rf /etc/old; mkdir /etc/old
    put(upper + "/etc/old/a", "new a\n");      // C (it was there)
    put(upper + "/etc/old/c", "c\n");          // A; /etc/old/b and /etc/old/sub: D
    put(upper + "/newdir/f", "f\n");           // A /newdir, A /newdir/f
    copied_up("bin", bottom);                  // only copied up: no change
    copied_up("var", bottom);
    copied_up("var/log", bottom);
    put(upper + "/var/log/x", "again\n");      // A (not in the image)
    put(upper + "/opt/old", "o\n");            // A (hidden in the image by the opaque /opt)
    set_time(upper + "/opt", kTime);           // C (not as in the image)
    copied_up("usr", bottom);
    copied_up("usr/lib", bottom);
    whiteout(upper + "/usr/lib/libc");         // D, parents C
    put(upper + "/a.b", "dot\n");              // (sorts after /a/...)
    fs::create_directories(upper + "/a");
    put(upper + "/a/z", "z\n");
    auto r = diff_upper(upper, {top, bottom});
    ASSERT_TRUE(r) << r.error().what();
    std::vector<Change> want = {
        {'A', "/a"},          {'A', "/a/z"},          {'A', "/a.b"},          {'C', "/etc"},
        {'A', "/etc/newfile"}, {'C', "/etc/old"},      {'C', "/etc/old/a"},    {'D', "/etc/old/b"},
        {'A', "/etc/old/c"},  {'D', "/etc/old/sub"},  {'C', "/etc/passwd"},   {'D', "/gone"},
        {'A', "/newdir"},     {'A', "/newdir/f"},     {'C', "/opt"},          {'A', "/opt/old"},
        {'C', "/usr"},        {'C', "/usr/lib"},      {'D', "/usr/lib/libc"}, {'C', "/var"},
        {'C', "/var/log"},    {'A', "/var/log/x"},
    };
    ASSERT_EQ(r->size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ((*r)[i].kind, want[i].kind) << (*r)[i].path;
        EXPECT_EQ((*r)[i].path, want[i].path);
    }
}

TEST_F(CpDiff, UserXattrOpaqueAndNoLowers) {
    put(bottom + "/d/old", "o\n");
    opaque(upper + "/d", "user.overlay.opaque");
    put(upper + "/d/new", "n\n");
    auto r = diff_upper(upper, {bottom});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(*r, (std::vector<Change>{{'C', "/d"}, {'A', "/d/new"}, {'D', "/d/old"}}));
    r = diff_upper(upper, {});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (std::vector<Change>{{'A', "/d"}, {'A', "/d/new"}}));
    r = diff_upper(tmp + "/nope", {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err, ENOENT);
}

}  // namespace
