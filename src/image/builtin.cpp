// The built-in `busybox` image: one layer made from the host's static
// busybox (Debian's busybox-static), so `hako run busybox sh` works on a
// machine with no network and no image imported.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "image/image.hpp"
#include "image/layer.hpp"
#include "sys/syscalls.hpp"

namespace hako::image {
namespace {

constexpr const char* kBusybox = "/bin/busybox";
constexpr const char* kRecipe = "hako-busybox-1";  // bump when the tree below changes

Result<std::string> file_sha256(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open `" + path + "`");
    Sha256 sha;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("read `" + path + "`");
        if (n == 0) break;
        sha.update(buf, static_cast<size_t>(n));
    }
    return sha.hex();
}

Status build_tree(const std::string& dir) {
    namespace fs = std::filesystem;
    for (const char* d : {"bin", "dev", "proc", "sys", "etc", "tmp", "root", "var", "home", "mnt"})
        HAKO_TRY(sys::mkdir_all(dir + "/" + d, 0755));
    chmod((dir + "/tmp").c_str(), 01777);
    chmod((dir + "/root").c_str(), 0700);
    std::error_code ec;
    fs::copy_file(kBusybox, dir + "/bin/busybox", ec);
    if (ec) return error("copy `" + std::string(kBusybox) + "`: " + ec.message());
    chmod((dir + "/bin/busybox").c_str(), 0755);
    FILE* p = popen((std::string(kBusybox) + " --list").c_str(), "r");
    if (!p) return sys_error("run `busybox --list`");
    char line[256];
    while (fgets(line, sizeof line, p)) {
        std::string name(line);
        while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
        if (name.empty() || name == "busybox" || name.find('/') != std::string::npos) continue;
        (void)symlinkat("busybox", AT_FDCWD, (dir + "/bin/" + name).c_str());
    }
    if (pclose(p) != 0) return error("`busybox --list` failed");
    HAKO_TRY(sys::write_file_atomic(AT_FDCWD, dir + "/etc/passwd",
                             "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/:/bin/false\n"
                             "nobody:x:65534:65534:nobody:/:/bin/false\n"));
    HAKO_TRY(sys::write_file_atomic(AT_FDCWD, dir + "/etc/group", "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n"));
    return {};
}

}  // namespace

Result<Image> Store::builtin_busybox() {
    if (!sys::path_exists(kBusybox))
        return error("no image `busybox`, and no /bin/busybox to make it from (apt-get install busybox-static)");
    std::string digest = sha256_hex(std::string(kRecipe) + "\n" + HAKO_TRY(file_sha256(kBusybox)));
    if (!sys::path_exists(layer_dir(digest))) {
        std::string tmp = HAKO_TRY(scratch_dir());
        if (auto built = build_tree(tmp); !built) {
            std::error_code ec;
            std::filesystem::remove_all(tmp, ec);
            return std::unexpected(std::move(built).error());
        }
        HAKO_TRY(commit_layer(tmp, digest));
    }
    Image img;
    img.layers = {digest};
    img.names = {"docker.io/library/busybox:latest"};
    img.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    img.config.cmd = {"sh"};
    struct stat st{};
    if (stat(kBusybox, &st) == 0) img.size = static_cast<uint64_t>(st.st_size);
    HAKO_TRY(save(img));
    return img;
}

}  // namespace hako::image
