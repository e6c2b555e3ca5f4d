// Fuzz: the tar layer importer (image/layer.cpp) on a scratch directory.
// The process first moves into its own mount namespace where every mount
// is read-only but a tmpfs on /mnt (and the directories libFuzzer writes,
// from HAKO_FUZZ_WRITABLE, colon-separated): an escape cannot harm the host,
// and one towards /mnt/outside is caught. After each input, /mnt holds just
// `layer` and `outside/secret`, as it was. Needs root.
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ranges>
#include <sstream>
#include <string>
#include <vector>

#include "image/layer.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* kScratch = "/mnt";

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "fuzz_layer: %s: %s\n", what, std::strerror(errno));
    std::abort();
}

void set_readonly(const char* path, bool ro, bool recursive) {
    mount_attr attr{};
    (ro ? attr.attr_set : attr.attr_clr) = MOUNT_ATTR_RDONLY;
    if (::syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr, sizeof attr) != 0) die(path);
}

std::string read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (::unshare(CLONE_NEWNS) != 0) die("unshare(CLONE_NEWNS) (run as root)");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("make / private");
    if (::mount("fuzz", kScratch, "tmpfs", 0, "size=64m,mode=0755") != 0) die("tmpfs on /mnt");
    std::vector<std::string> writable{kScratch};
    if (const char* w = getenv("HAKO_FUZZ_WRITABLE"))
        for (const auto& part : fs::path(w).string() | std::views::split(':')) {
            std::string p(part.begin(), part.end());
            if (p.empty()) continue;
            if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) die(p.c_str());
            writable.push_back(p);
        }
    set_readonly("/", true, true);
    for (const auto& p : writable) set_readonly(p.c_str(), false, false);
    fs::create_directories(std::string(kScratch) + "/outside");
    std::ofstream(std::string(kScratch) + "/outside/secret") << "secret";
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string layer = std::string(kScratch) + "/layer";
    ::mkdir(layer.c_str(), 0755);
    int fd = ::memfd_create("layer", MFD_CLOEXEC);
    if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size)) die("memfd");
    ::lseek(fd, 0, SEEK_SET);
    (void)hako::image::unpack_layer(fd, layer, {});
    ::close(fd);
    // Nothing beside the layer changed.
    std::vector<std::string> top;
    for (const auto& e : fs::directory_iterator(kScratch)) top.push_back(e.path().filename());
    if (top.size() != 2) __builtin_trap();
    for (const auto& e : fs::directory_iterator(std::string(kScratch) + "/outside"))
        if (e.path().filename() != "secret") __builtin_trap();
    struct stat st{};
    std::string secret = std::string(kScratch) + "/outside/secret";
    if (::lstat(secret.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || read_all(secret) != "secret")
        __builtin_trap();
    std::error_code ec;
    fs::remove_all(layer, ec);
    if (ec) __builtin_trap();  // a layer no `rmi` could remove (an immutable file, say)
    return 0;
}
