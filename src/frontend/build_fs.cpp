// A build's file system pieces: step overlays, reproducible times, mount
// points left by RUN, owners from the image's passwd/group, WORKDIR.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <filesystem>

#include "common/strings.hpp"
#include "frontend/build_internal.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend::bld {
namespace {

std::atomic<int> g_overlays{0};

bool all_digits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

// The fields of a passwd/group line named `name` (with at least `fields`).
std::optional<std::vector<std::string>> find_entry(const std::string& text, const std::string& name, size_t fields) {
    for (auto line : split(text, '\n')) {
        auto f = split(line, ':');
        if (f.size() >= fields && f[0] == name) return std::vector<std::string>(f.begin(), f.end());
    }
    return std::nullopt;
}

std::string read_in_root(int rootfd, const char* path) {
    auto fd = sys::open_in_root(rootfd, path, O_PATH);
    if (!fd || !*fd) return {};
    UniqueFd f(::openat(fd->get(), ".", O_RDONLY | O_CLOEXEC));
    if (!f) {
        f = UniqueFd(::open(("/proc/self/fd/" + std::to_string(fd->get())).c_str(), O_RDONLY | O_CLOEXEC));
        if (!f) return {};
    }
    auto t = sys::read_fd(f.get(), path);
    return t ? *t : std::string();
}

}  // namespace

Result<Overlay> Overlay::over(image::Store& store, const std::string& dir) { return mount_lowers(store, {dir}, true); }

Result<Overlay> Overlay::mount(image::Store& store, const std::vector<std::string>& layers, bool writable) {
    std::vector<std::string> lowers;
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) lowers.push_back(store.layer_dir(*it));
    return mount_lowers(store, lowers, writable);
}

Result<Overlay> Overlay::mount_lowers(image::Store& store, const std::vector<std::string>& lowers, bool writable) {
    Overlay o;
    o.dir_ = store.root() + "/build/" + std::to_string(getpid()) + "-" + std::to_string(g_overlays++);
    std::error_code ec;
    std::filesystem::remove_all(o.dir_, ec);
    for (const char* sub : {"upper", "work", "rootfs", "empty"}) HAKO_TRY(sys::mkdir_all(o.dir_ + "/" + sub, 0755));
    std::string lower;
    for (const auto& l : lowers) lower += l + ":";
    lower += o.dir_ + "/empty";  // (scratch has no layers; a read-only overlay needs two lowers)
    std::string opts = "lowerdir=" + lower;
    if (writable) opts += ",upperdir=" + o.dir_ + "/upper,workdir=" + o.dir_ + "/work";
    HAKO_TRY(sys::mount("overlay", (o.dir_ + "/rootfs").c_str(), "overlay", writable ? 0 : MS_RDONLY, opts.c_str(),
                        "mount a build step's overlay on `" + o.dir_ + "/rootfs`"));
    o.mounted_ = true;
    return o;
}

Overlay::Overlay(Overlay&& o) noexcept : dir_(std::move(o.dir_)), mounted_(std::exchange(o.mounted_, false)) {
    o.dir_.clear();
}

Overlay::~Overlay() {
    if (dir_.empty()) return;
    if (mounted_) ::umount2((dir_ + "/rootfs").c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

Result<image::Store::Adopted> Overlay::commit(image::Store& store, int64_t epoch) {
    if (mounted_ && ::umount2((dir_ + "/rootfs").c_str(), 0) < 0 && ::umount2((dir_ + "/rootfs").c_str(), MNT_DETACH) < 0)
        return sys_error("unmount `" + dir_ + "/rootfs`");
    mounted_ = false;
    return adopt_upper(store, dir_ + "/upper", dir_ + ".layer", epoch);
}

Result<image::Store::Adopted> adopt_upper(image::Store& store, const std::string& upper, const std::string& layer, int64_t epoch) {
    if (epoch >= 0) HAKO_TRY(clamp_times(upper, epoch));
    if (::rename(upper.c_str(), layer.c_str()) < 0) return sys_error("move `" + upper + "`");
    return store.adopt_layer(layer);
}

Status clamp_times(const std::string& dir, int64_t epoch) {
    std::error_code ec;
    auto clamp = [&](const std::string& p) -> Status {
        struct stat st{};
        if (::lstat(p.c_str(), &st) < 0) return sys_error("stat `" + p + "`");
        struct timespec ts[2] = {{epoch, 0}, st.st_mtim};
        if (st.st_mtim.tv_sec >= epoch) ts[1] = {epoch, 0};
        if (::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) return sys_error("set the times of `" + p + "`");
        return {};
    };
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec))
        HAKO_TRY(clamp(it->path().string()));
    if (ec) return sys_error("walk `" + dir + "`", ec.value());
    return clamp(dir);
}

void drop_mount_points(const std::string& upper, const std::vector<std::string>& lowers,
                       const std::vector<std::string>& destinations) {
    auto in_lowers = [&](const std::string& rel) {
        for (const auto& l : lowers) {
            struct stat st{};
            if (::lstat((l + "/" + rel).c_str(), &st) == 0) return true;
        }
        return false;
    };
    for (const auto& d : destinations) {
        std::string rel = sys::clean_path(d).substr(1);
        // the mount point, then its parents the runtime made for it
        while (!rel.empty() && !in_lowers(rel)) {
            std::string p = upper + "/" + rel;
            struct stat st{};
            if (::lstat(p.c_str(), &st) < 0) break;
            if (S_ISDIR(st.st_mode) ? ::rmdir(p.c_str()) < 0 : !(S_ISREG(st.st_mode) && st.st_size == 0) || ::unlink(p.c_str()) < 0)
                break;
            size_t slash = rel.rfind('/');
            rel = slash == std::string::npos ? "" : rel.substr(0, slash);
        }
    }
}

Result<std::pair<uid_t, gid_t>> resolve_owner(const std::string& spec, const std::string& rootfs) {
    std::string user = spec.substr(0, spec.find(':'));
    std::string group = spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open `" + rootfs + "`");
    auto number = [](const std::string& s) {
        uint32_t v = 0;
        std::from_chars(s.data(), s.data() + s.size(), v);
        return v;
    };
    uid_t uid = 0;
    gid_t gid = 0;
    std::optional<gid_t> primary;
    if (all_digits(user)) {
        uid = number(user);
    } else {
        auto e = find_entry(read_in_root(root.get(), "/etc/passwd"), user, 4);
        if (!e) return error("--chown `" + spec + "`: no user `" + user + "` in the image's /etc/passwd");
        uid = number((*e)[2]);
        primary = number((*e)[3]);
    }
    if (group.empty()) {
        gid = primary.value_or(uid);
    } else if (all_digits(group)) {
        gid = number(group);
    } else {
        auto e = find_entry(read_in_root(root.get(), "/etc/group"), group, 3);
        if (!e) return error("--chown `" + spec + "`: no group `" + group + "` in the image's /etc/group");
        gid = number((*e)[2]);
    }
    return std::pair{uid, gid};
}

Status make_dir(const std::string& rootfs, const std::string& path) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open `" + rootfs + "`");
    mode_t old = ::umask(022);
    auto d = sys::mkdir_all_in_root(root.get(), path, 0755);
    ::umask(old);
    if (!d) return std::unexpected(std::move(d).error());
    return {};
}

}  // namespace hako::frontend::bld
