// Hostile layers (image/layer.cpp): `..`, absolute names, symlinks and hard
// links that lead out of the layer, whiteouts through a symlink, device
// nodes, setuid files, lying sizes and a tar bomb. The import writes nothing
// outside its directory and either applies an entry safely or fails clearly.
// Run as root (owners, device nodes, trusted.* xattrs).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "image/layer.hpp"
#include "tar_fixtures.hpp"

using hako::image::unpack_layer;
using hako::testing::lexists;
using hako::testing::make_tar;
using hako::testing::TarEntry;
namespace fs = std::filesystem;

namespace {

std::string read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return "<missing>";
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// <tmp>/layer is the layer's directory, <tmp>/outside a directory beside it
// holding `secret`: after every import, outside must be as it was.
class Layer : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (owners, device nodes)";
        char t[] = "/tmp/hako-layer-XXXXXX";
        ASSERT_NE(::mkdtemp(t), nullptr);
        tmp = t;
        layer = tmp + "/layer";
        outside = tmp + "/outside";
        fs::create_directories(layer);
        fs::create_directories(outside);
        std::ofstream(outside + "/secret") << "secret";
    }
    void TearDown() override {
        if (tmp.empty()) return;
        // Outside is untouched: only `secret`, with its content.
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(outside)) names.push_back(e.path().filename());
        EXPECT_EQ(names, std::vector<std::string>{"secret"});
        EXPECT_EQ(read(outside + "/secret"), "secret");
        struct stat st{};
        ASSERT_EQ(::stat((outside + "/secret").c_str(), &st), 0);
        EXPECT_EQ(st.st_nlink, 1u) << "a hard link to a file outside the layer was made";
        std::vector<std::string> top;
        for (const auto& e : fs::directory_iterator(tmp)) top.push_back(e.path().filename());
        std::sort(top.begin(), top.end());
        EXPECT_EQ(top, (std::vector<std::string>{"layer", "outside"}));
        std::error_code ec;
        fs::remove_all(tmp, ec);
        if (ec) {  // (a file flag applied after all: cleared, then removed)
            EXPECT_EQ(std::system(("chattr -R -i -a " + tmp + " 2>/dev/null").c_str()), 0);
            fs::remove_all(tmp, ec);
        }
        ::unsetenv("HAKO_LAYER_MAX_SIZE");
    }
    hako::Result<hako::image::Unpacked> unpack(const std::vector<TarEntry>& entries) {
        int fd = make_tar(entries);
        auto r = unpack_layer(fd, layer, {});
        ::close(fd);
        return r;
    }
    std::string tmp, layer, outside;
};

TEST_F(Layer, DotDotNamesAreRefused) {
    auto r = unpack({{.name = "../outside/pwned", .data = "x"}});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("pwned"), std::string::npos) << r.error().what();
    r = unpack({{.name = "a/../../outside/pwned", .data = "x"}});
    EXPECT_FALSE(r);
}

TEST_F(Layer, AbsoluteNamesLandInsideTheLayer) {
    auto r = unpack({{.name = tmp + "/outside/pwned", .data = "x"}, {.name = "/etc/hostname", .data = "h"}});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(read(layer + tmp + "/outside/pwned"), "x");
    EXPECT_EQ(read(layer + "/etc/hostname"), "h");
}

// libarchive (SECURE_SYMLINKS with UNLINK) replaces a symlink met on the
// way with a directory: the file lands in the layer, outside stays as it was.
TEST_F(Layer, AFileThroughASymlinkThatLeadsOutLandsInside) {
    for (const std::string& target : {outside, std::string("../outside"), std::string("/")}) {
        SCOPED_TRACE(target);
        fs::remove_all(layer);
        fs::create_directories(layer);
        auto r = unpack({{.name = "s", .type = 'l', .data = target}, {.name = "s/pwned", .data = "x"}});
        ASSERT_TRUE(r) << r.error().what();
        EXPECT_TRUE(fs::is_directory(fs::symlink_status(layer + "/s")));
        EXPECT_EQ(read(layer + "/s/pwned"), "x");
    }
    fs::remove_all(layer);
    fs::create_directories(layer);
    // A symlink over the file itself: replaced, not followed.
    auto r = unpack({{.name = "f", .type = 'l', .data = outside + "/secret"}, {.name = "f", .data = "mine"}});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(read(layer + "/f"), "mine");
}

TEST_F(Layer, HardLinksToPathsOutsideAreRefused) {
    EXPECT_FALSE(unpack({{.name = "h", .type = 'h', .data = "../outside/secret"}}));
    // An absolute target is the layer's own path: there is no such file in it.
    EXPECT_FALSE(unpack({{.name = "h", .type = 'h', .data = outside + "/secret"}}));
    // Through a symlink the layer planted.
    EXPECT_FALSE(unpack({{.name = "s", .type = 'l', .data = outside}, {.name = "h", .type = 'h', .data = "s/secret"}}));
    // Inside the layer: a real hard link.
    fs::remove_all(layer);
    fs::create_directories(layer);
    auto r = unpack({{.name = "a", .data = "A"}, {.name = "b", .type = 'h', .data = "a"}});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(fs::hard_link_count(layer + "/a"), 2u);
}

TEST_F(Layer, WhiteoutsThroughASymlinkStayInside) {
    // s -> outside, then s/.wh.secret: must not delete outside/secret.
    auto r = unpack({{.name = "s", .type = 'l', .data = outside}, {.name = "s/.wh.secret", .data = ""}});
    if (r) {
        EXPECT_TRUE(lexists(layer + outside + "/secret")) << "the whiteout lands in the layer's copy of the path";
    }
    r = unpack({{.name = "d", .type = 'l', .data = outside}, {.name = "d/.wh..wh..opq", .data = ""}});
    char v[4];
    EXPECT_LT(::getxattr(outside.c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
    // Names a whiteout cannot hide.
    EXPECT_FALSE(unpack({{.name = ".wh..", .data = ""}}));
    EXPECT_FALSE(unpack({{.name = "x/.wh...", .data = ""}}));
    EXPECT_TRUE(lexists(layer));
}

TEST_F(Layer, WhiteoutsBecomeOverlayfsOnes) {
    auto r = unpack({{.name = "d/", .type = 'd'}, {.name = "d/.wh.gone", .data = ""}, {.name = "e/.wh..wh..opq", .data = ""}});
    ASSERT_TRUE(r) << r.error().what();
    struct stat st{};
    ASSERT_EQ(::lstat((layer + "/d/gone").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(0, 0));
    char v[4];
    EXPECT_EQ(::getxattr((layer + "/e").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
}

TEST_F(Layer, DeviceNodesAndSetuidFilesAreKeptAsTheyAre) {
    auto r = unpack({{.name = "dev/null", .type = 'c', .perm = 0666, .major = 1, .minor = 3},
                     {.name = "dev/sda", .type = 'b', .perm = 0660, .major = 8, .minor = 0},
                     {.name = "bin/su", .data = "#!", .uid = 0, .gid = 0, .perm = 04755},
                     {.name = "bin/sg", .data = "#!", .uid = 0, .gid = 42, .perm = 02755}});
    ASSERT_TRUE(r) << r.error().what();
    struct stat st{};
    ASSERT_EQ(::lstat((layer + "/dev/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    ASSERT_EQ(::lstat((layer + "/dev/sda").c_str(), &st), 0);
    EXPECT_TRUE(S_ISBLK(st.st_mode));
    ASSERT_EQ(::lstat((layer + "/bin/su").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    EXPECT_EQ(st.st_uid, 0u);
    ASSERT_EQ(::lstat((layer + "/bin/sg").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 02755u);
    EXPECT_EQ(st.st_gid, 42u);
}

// A header claiming more data than the stream holds, or a size field out
// of range: a clear error, no hang, nothing outside.
TEST_F(Layer, LyingSizesFailClearly) {
    int fd = make_tar({{.name = "big", .data = std::string(600, 'x')}});
    std::string tar(8192, '\0');
    ssize_t n = ::pread(fd, tar.data(), tar.size(), 0);
    ::close(fd);
    ASSERT_GT(n, 1024);
    tar.resize(static_cast<size_t>(n));
    // The pax restricted writer puts a ustar header first: size at 124..135.
    auto patch = [&](const std::string& size_field) {
        std::string t = tar;
        std::memcpy(&t[124], size_field.data(), 12);
        unsigned sum = 0;
        std::memset(&t[148], ' ', 8);
        for (size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(t[i]);
        std::snprintf(&t[148], 8, "%06o", sum);
        return t;
    };
    for (const auto& field : {std::string("77777777777\0", 12), std::string("\x80\0\0\0\0\0\0\x10\0\0\0\0", 12),
                              std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12)}) {
        std::string t = patch(field).substr(0, 1024);  // the data cut short as well
        char path[] = "/tmp/hako-layer-tar-XXXXXX";
        int tfd = ::mkstemp(path);
        ::unlink(path);
        ASSERT_EQ(::write(tfd, t.data(), t.size()), static_cast<ssize_t>(t.size()));
        ::lseek(tfd, 0, SEEK_SET);
        auto r = unpack_layer(tfd, layer, {});
        ::close(tfd);
        EXPECT_FALSE(r);
        if (!r) {
            EXPECT_FALSE(r.error().what().empty());
        }
    }
}

// A layer's own file flags and overlayfs xattrs are not applied: an
// immutable file no `rmi` could remove; a fake redirect or opaque mark.
TEST_F(Layer, FileFlagsAndOverlayXattrsAreNotApplied) {
    auto r = unpack({{.name = "imm", .data = "x", .fflags = "schg,uchg"},
                     {.name = "app", .data = "y", .fflags = "sappnd"},
                     {.name = "d/", .type = 'd',
                      .xattrs = {{"trusted.overlay.redirect", "/etc"}, {"trusted.overlay.opaque", "y"}, {"user.keep", "1"}}}});
    ASSERT_TRUE(r) << r.error().what();
    char v[16];
    EXPECT_LT(::getxattr((layer + "/d").c_str(), "trusted.overlay.redirect", v, sizeof v), 0);
    EXPECT_LT(::getxattr((layer + "/d").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
    EXPECT_EQ(::getxattr((layer + "/d").c_str(), "user.keep", v, sizeof v), 1);
    std::error_code ec;
    fs::remove_all(layer, ec);
    EXPECT_FALSE(ec) << ec.message();
    fs::create_directories(layer);
}

TEST_F(Layer, ATarBombStopsAtTheLimit) {
    ::setenv("HAKO_LAYER_MAX_SIZE", "1m", 1);
    std::vector<TarEntry> bomb;
    for (int i = 0; i < 8; ++i) bomb.push_back({.name = "f" + std::to_string(i), .data = std::string(256 << 10, 'z')});
    auto r = unpack(bomb);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("HAKO_LAYER_MAX_SIZE"), std::string::npos) << r.error().what();
    ::setenv("HAKO_LAYER_MAX_SIZE", "lots", 1);
    r = unpack({{.name = "a", .data = "a"}});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("\"lots\""), std::string::npos) << r.error().what();
    ::setenv("HAKO_LAYER_MAX_SIZE", "10m", 1);
    fs::remove_all(layer);
    fs::create_directories(layer);
    EXPECT_TRUE(unpack(bomb));
}

}  // namespace
