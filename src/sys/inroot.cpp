#include "sys/inroot.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/strings.hpp"
#include "sys/syscalls.hpp"

namespace hako::sys {
namespace {

bool g_openat2_disabled = false;
bool g_openat2_missing = false;

std::string join(const std::vector<std::string>& comps, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out += '/';
        out += comps[i];
    }
    return out.empty() ? "/" : out;
}

// Userspace walk: one component at a time with O_NOFOLLOW, symlinks expanded
// against the root, ".." clamped at the root.
Result<UniqueFd> walk_in_root(int rootfd, std::string_view path, int flags) {
    std::vector<std::string> todo = clean_components(path);
    std::vector<UniqueFd> stack;  // directories from root (excluded) down to cur
    auto cur = [&] { return stack.empty() ? rootfd : stack.back().get(); };
    int links = 0;
    size_t i = 0;
    while (i < todo.size()) {
        const std::string comp = todo[i];
        bool last = i + 1 == todo.size();
        if (comp == "..") {
            if (!stack.empty()) stack.pop_back();
            ++i;
            continue;
        }
        UniqueFd fd(::openat(cur(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sys_error("open `" + std::string(path) + "` in rootfs");
        struct stat st{};
        if (fstat(fd.get(), &st) < 0) return sys_error("stat `" + std::string(path) + "`");
        if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
            if (++links > 40) return sys_error("resolve `" + std::string(path) + "`", ELOOP);
            char buf[4096];
            ssize_t n = readlinkat(fd.get(), "", buf, sizeof buf - 1);
            if (n < 0) return sys_error("readlink `" + std::string(path) + "`");
            std::string target(buf, static_cast<size_t>(n));
            if (!target.empty() && target[0] == '/') stack.clear();
            // Replace this component by the link's components (raw, so ".." walks).
            std::vector<std::string> rest;
            for (auto c : split(target, '/'))
                if (c != ".") rest.emplace_back(c);
            todo.erase(todo.begin(), todo.begin() + static_cast<long>(i) + 1);
            todo.insert(todo.begin(), rest.begin(), rest.end());
            i = 0;
            continue;
        }
        if (!last && !S_ISDIR(st.st_mode))
            return sys_error("resolve `" + std::string(path) + "`", ENOTDIR);
        stack.push_back(std::move(fd));
        ++i;
    }
    if (stack.empty()) {
        UniqueFd fd(::openat(rootfd, ".", O_PATH | O_CLOEXEC | O_DIRECTORY));
        if (!fd) return sys_error("open rootfs");
        return fd;
    }
    if (flags & O_DIRECTORY) {
        struct stat st{};
        if (fstat(stack.back().get(), &st) == 0 && !S_ISDIR(st.st_mode))
            return sys_error("open `" + std::string(path) + "` in rootfs", ENOTDIR);
    }
    return std::move(stack.back());
}

}  // namespace

void set_openat2_disabled(bool disabled) { g_openat2_disabled = disabled; }

std::vector<std::string> clean_components(std::string_view path) {
    std::vector<std::string> out;
    for (auto c : split(path, '/')) {
        if (c == "..") {
            if (!out.empty()) out.pop_back();
        } else if (c != ".") {
            out.emplace_back(c);
        }
    }
    return out;
}

std::string clean_path(std::string_view path) {
    auto c = clean_components(path);
    return join(c, c.size());
}

Result<UniqueFd> open_in_root(int rootfd, std::string_view path, int flags) {
    if (!g_openat2_disabled && !g_openat2_missing) {
        std::string rel = clean_path(path).substr(1);
        if (rel.empty()) rel.push_back('.');  // (not = ".": a false g++ 12 -Wrestrict)
        auto r = openat2(rootfd, rel, static_cast<uint64_t>(flags | O_PATH | O_CLOEXEC), 0,
                         RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        // ENOSYS: an old kernel; EPERM: a seccomp filter that refuses openat2.
        if (r || (r.error().err != ENOSYS && r.error().err != EAGAIN && r.error().err != EPERM)) {
            if (!r) return sys_error("open `" + std::string(path) + "` in rootfs", r.error().err);
            return r;
        }
        if (r.error().err != EAGAIN) g_openat2_missing = true;
    }
    return walk_in_root(rootfd, path, flags);
}

// A dangling symlink at `prefix` (comps[0..i)): the path it points to, inside
// the root, followed by the remaining components.
Result<std::string> through_link(int parentfd, const std::vector<std::string>& comps, size_t i) {
    char buf[4096];
    ssize_t n = readlinkat(parentfd, comps[i - 1].c_str(), buf, sizeof buf - 1);
    if (n < 0) return sys_error("readlink `" + join(comps, i) + "` in rootfs");
    std::string target(buf, static_cast<size_t>(n));
    std::string base = target.size() && target[0] == '/' ? "" : join(comps, i - 1);
    std::string out = base + "/" + target;
    for (size_t k = i; k < comps.size(); ++k) out += "/" + comps[k];
    return out;
}

Result<UniqueFd> mkdir_all_in_root_depth(int rootfd, std::string_view path, mode_t mode, int depth);

Result<UniqueFd> mkdir_all_in_root(int rootfd, std::string_view path, mode_t mode) {
    return mkdir_all_in_root_depth(rootfd, path, mode, 0);
}

Result<UniqueFd> mkdir_all_in_root_depth(int rootfd, std::string_view path, mode_t mode, int depth) {
    if (depth > 40) return sys_error("mkdir `" + std::string(path) + "` in rootfs", ELOOP);
    auto whole = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
    if (whole || whole.error().err != ENOENT) return whole;
    auto comps = clean_components(path);
    UniqueFd parent(::openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!parent) return sys_error("open rootfs");
    for (size_t i = 1; i <= comps.size(); ++i) {
        std::string prefix = join(comps, i);
        auto fd = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
        if (!fd && fd.error().err == ENOENT) {
            if (::mkdirat(parent.get(), comps[i - 1].c_str(), mode) < 0 && errno != EEXIST)
                return sys_error("mkdir `" + prefix + "` in rootfs");
            fd = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
            if (!fd && fd.error().err == ENOENT) {
                // A dangling symlink: create what it points to, inside the root.
                auto next = HAKO_TRY(through_link(parent.get(), comps, i));
                return mkdir_all_in_root_depth(rootfd, next, mode, depth + 1);
            }
        }
        if (!fd) return std::unexpected(std::move(fd).error());
        parent = std::move(*fd);
    }
    return parent;
}

Result<UniqueFd> ensure_in_root(int rootfd, std::string_view path, bool as_file, mode_t mode) {
    if (!as_file) return mkdir_all_in_root(rootfd, path, mode);
    auto existing = open_in_root(rootfd, path, O_PATH);
    if (existing || existing.error().err != ENOENT) return existing;
    auto comps = clean_components(path);
    if (comps.empty()) return error(std::string(1, '`').append(path).append("`: not a file path"));
    auto dir = HAKO_TRY(mkdir_all_in_root(rootfd, join(comps, comps.size() - 1), 0755));
    UniqueFd f(::openat(dir.get(), comps.back().c_str(),
                        O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode));
    if (!f && errno == ELOOP) {
        // A dangling symlink: create the file it points to, inside the root.
        static thread_local int depth = 0;
        if (depth > 40) return sys_error("create `" + std::string(path) + "` in rootfs", ELOOP);
        auto next = HAKO_TRY(through_link(dir.get(), comps, comps.size()));
        ++depth;
        auto r = ensure_in_root(rootfd, next, true, mode);
        --depth;
        return r;
    }
    if (!f && errno != EEXIST && errno != EISDIR)
        return sys_error("create `" + std::string(path) + "` in rootfs");
    return open_in_root(rootfd, path, O_PATH);
}

}  // namespace hako::sys
