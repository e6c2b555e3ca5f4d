// hako cp (cp.hpp): docker cp's rules; the container side in a forked child chrooted into the root, a tar stream between the sides.
#include "frontend/cp.hpp"
#include "image/layer.hpp"
#include "image/archive_ptr.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/strings.hpp"
#include "sys/fd.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {
namespace {

// --- paths: the same rules on both sides (in the child, the container's) ---

// "dir/" and "dir/." say the path must be a directory.
bool asserts_dir(std::string_view p) {
    return !p.empty() && (p.back() == '/' || p == "." || p.ends_with("/."));
}

// "dir/.", "." and "/": a directory's contents, not the directory itself.
bool contents_only(std::string_view p) {
    return p == "." || p.ends_with("/.") || (!p.empty() && p.find_first_not_of('/') == std::string_view::npos);
}

// Without its trailing "/" and "/.": "a/b/." -> "a/b"; "/" stays; "" -> ".".
std::string trimmed(std::string p) {
    for (;;) {
        if (p.size() > 1 && p.back() == '/') {
            p.pop_back();
        } else if (p.size() >= 2 && p.ends_with("/.")) {
            p.resize(p.size() - 2);
            if (p.empty()) p = "/";
        } else {
            break;
        }
    }
    if (p.empty()) p = ".";
    return p;
}

// Of a trimmed path: its directory and its last component.
std::string dir_of(const std::string& t) {
    auto slash = t.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : t.substr(0, slash);
}
std::string name_of(const std::string& t) {
    auto slash = t.rfind('/');
    return slash == std::string::npos ? t : t.substr(slash + 1);
}
std::string join_path(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}

// A path in the container as docker takes it: absolute, cleaned ("/a/../b"
// is "/b"), its trailing "/" kept (it asserts a directory).
std::string container_path(const std::string& raw) {
    std::string p = sys::clean_path("/" + raw);
    if (p.empty()) p = "/";
    if (p != "/" && asserts_dir(raw)) p += '/';
    return p;
}

// The name a copy's entries start at: SRC's basename, "." for its contents.
std::string base_of(const std::string& raw, const std::string& path) {
    if (contents_only(raw)) return ".";
    std::string n = name_of(trimmed(path));
    if (n.empty() || n == "." || n == "..") {  // (host paths are not cleaned: "..")
        char real[PATH_MAX];
        if (::realpath(trimmed(path).c_str(), real)) n = name_of(real);
        if (n.empty() || n == "..") n = ".";
    }
    return n;
}

struct Dest {
    std::string path;  // trimmed, a symlink at its end followed
    bool exists = false;
    struct stat st {};
};

// DEST with a symlink at its end followed, as docker does (to a missing
// target too: that is where the copy goes then).
Result<Dest> resolve_dest(const std::string& raw, const std::string& ctx) {
    std::string p = trimmed(raw);
    for (int i = 0; i < 40; ++i) {
        Dest d;
        d.path = p;
        if (::lstat(p.c_str(), &d.st) < 0) {
            if (errno == ENOENT) return d;
            return sys_error(ctx + ": `" + p + "`");
        }
        if (!S_ISLNK(d.st.st_mode)) {
            d.exists = true;
            return d;
        }
        char buf[PATH_MAX];
        ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
        if (n < 0) return sys_error(ctx + ": readlink `" + p + "`");
        std::string target(buf, static_cast<size_t>(n));
        p = trimmed(target.starts_with('/') ? target : join_path(dir_of(p), target));
    }
    return sys_error(ctx + ": `" + raw + "`", ELOOP);
}

// Where a copy lands: extracted into `dir`, its entries' first component
// renamed to `name` ("." for `dir` itself: SRC's contents into DEST).
struct Target {
    std::string dir, name;
};

// docker cp's rules for DEST, given what SRC is.
Result<Target> place(const std::string& dst, bool src_dir, const std::string& base, const std::string& ctx) {
    Dest d = HAKO_TRY(resolve_dest(dst, ctx));
    if (d.exists) {
        if (S_ISDIR(d.st.st_mode)) return Target{d.path, base};
        if (src_dir) return error(ctx + ": cannot copy a directory to a file (`" + dst + "`)");
        if (asserts_dir(dst)) return sys_error(ctx + ": `" + dst + "`", ENOTDIR);
        return Target{dir_of(d.path), name_of(d.path)};
    }
    if (!src_dir && asserts_dir(dst)) return error(ctx + ": the destination directory `" + dst + "` does not exist");
    std::string parent = dir_of(d.path);
    struct stat st {};
    if (::stat(parent.c_str(), &st) < 0) return sys_error(ctx + ": the destination's parent directory `" + parent + "`");
    if (!S_ISDIR(st.st_mode)) return sys_error(ctx + ": the destination's parent `" + parent + "`", ENOTDIR);
    return Target{parent, name_of(d.path)};
}

// --- the child processes ----------------------------------------------------

// A forked child running one function; its Status comes back through a pipe.
class Child {
public:
    Child(pid_t pid, UniqueFd err) : pid_(pid), err_(std::move(err)) {}
    Child(Child&& o) noexcept : pid_(std::exchange(o.pid_, -1)), err_(std::move(o.err_)) {}
    Child& operator=(Child&&) = delete;
    ~Child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int st;
            while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
            }
        }
    }

    // Give up ownership: the pid (its error pipe's fd in *err).
    pid_t release(int* err) {
        *err = err_.release();
        return std::exchange(pid_, -1);
    }

    // Reap it: its function's Status.
    Status wait() {
        int st = 0;
        while (::waitpid(pid_, &st, 0) < 0) {
            if (errno != EINTR) {
                int e = errno;
                pid_ = -1;
                return sys_error("wait for the copy process", e);
            }
        }
        pid_ = -1;
        auto msg = sys::read_fd(err_.get(), "the copy process's error");
        err_.reset();
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return {};
        if (msg && msg->size() >= sizeof(int32_t)) {
            int32_t e;
            std::memcpy(&e, msg->data(), sizeof e);
            return std::unexpected(Error{e, msg->substr(sizeof e)});
        }
        if (WIFSIGNALED(st)) return error("the copy process was killed by signal " + std::to_string(WTERMSIG(st)));
        return error("the copy process failed (exit status " + std::to_string(WEXITSTATUS(st)) + ")");
    }

private:
    pid_t pid_;
    UniqueFd err_;
};

// Fork a child that closes `close_in_child` (the other side's ends of its
// streams) and runs fn. (hako is static and the child never execs: it runs
// libarchive in-process, as docker's chrootarchive does.)
template <class F>
Result<Child> spawn(std::initializer_list<int> close_in_child, F&& fn) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd r(p[0]), w(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) return sys_error("fork the copy process");
    if (pid == 0) {
        for (int fd : close_in_child)
            if (fd >= 0) ::close(fd);
        ::close(p[0]);
        ::signal(SIGPIPE, SIG_IGN);  // (EPIPE instead: a reader that quit is an error to report)
        Status st;
        try {
            st = fn();
        } catch (const std::exception& ex) {
            st = error(std::string("the copy process: ") + ex.what());
        } catch (...) {
            st = error("the copy process: an exception");
        }
        if (!st) {
            std::string out(sizeof(int32_t), '\0');
            int32_t e = st.error().err;
            std::memcpy(out.data(), &e, sizeof e);
            out += st.error().msg.substr(0, 4000);
            (void)sys::write_all(p[1], out.data(), out.size());
        }
        ::_exit(st ? 0 : 1);
    }
    w.reset();
    return Child(pid, std::move(r));
}

// "\040" -> " " (mountinfo's escapes).
std::string unescape_mountinfo(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// A procfs mounted under the root (in our view of it) would give the
// chrooted child magic links out of it (/proc/1/root, /proc/self/fd/N):
// such mounts are detached first, in a mount namespace of the child's own.
Status hide_procfs(const std::string& root) {
    char real[PATH_MAX];
    if (!::realpath(root.c_str(), real)) return sys_error("the container's root `" + root + "`");
    std::string r = real;
    auto info = sys::read_file("/proc/self/mountinfo");
    if (!info) return {};  // (no procfs here at all)
    std::vector<std::string> found;
    for (auto line : split(*info, '\n')) {
        auto sep = line.find(" - ");
        if (sep == std::string_view::npos) continue;
        auto fields = split(line.substr(0, sep), ' ');
        auto after = split(line.substr(sep + 3), ' ');
        if (fields.size() < 5 || after.empty() || after[0] != "proc") continue;
        std::string mp = unescape_mountinfo(fields[4]);
        if (mp == r || r == "/" || mp.starts_with(r + "/")) found.push_back(mp);
    }
    if (found.empty()) return {};
    if (::unshare(CLONE_NEWNS) < 0) return sys_error("a procfs is mounted in the container's root: unshare a mount namespace");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return sys_error("make the mounts private");
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& mp : found) {
        int n = 0;
        while (::umount2(mp.c_str(), MNT_DETACH) == 0 && ++n < 64) {
        }
        if (n == 0 && errno != EINVAL && errno != ENOENT) return sys_error("detach the procfs at `" + mp + "`");
    }
    return {};
}

// In the child: the container's root becomes "/".
Status enter_root(const std::string& root) {
    HAKO_TRY(hide_procfs(root));
    if (::chroot(root.c_str()) < 0) return sys_error("chroot into `" + root + "`");
    if (::chdir("/") < 0) return sys_error("chdir to the container's /");
    return {};
}

// The error to report of a stream's writer and reader: the writer's own,
// unless it is EPIPE (ECONNRESET on a socket: the reader quit first, its
// error says why).
Status pick(Status writer, Status reader) {
    if (!writer && writer.error().err != EPIPE && writer.error().err != ECONNRESET) return writer;
    if (!reader) return reader;
    return writer;
}

// --- tar streams ------------------------------------------------------------

struct Sink {
    int fd;
    int err = 0;
};

// All of it, or -1 (errno kept); send(MSG_NOSIGNAL) on a socket: a reader
// that quit is EPIPE, not SIGPIPE in the caller.
la_ssize_t sink_write(archive*, void* ud, const void* buf, size_t n) {
    auto* s = static_cast<Sink*>(ud);
    const char* p = static_cast<const char*>(buf);
    size_t left = n;
    while (left > 0) {
        ssize_t w = ::send(s->fd, p, left, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK) w = ::write(s->fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            s->err = errno;
            return -1;
        }
        p += w;
        left -= static_cast<size_t>(w);
    }
    return static_cast<la_ssize_t>(n);
}

struct Packer {
    archive* out;
    archive* disk;
    Sink* sink;
    std::map<std::pair<dev_t, ino_t>, std::string> links;  // first name of a multiply-linked file

    Status fail(const std::string& what) {
        if (sink->err) return sys_error("write the tar stream", sink->err);
        return error(what + ": " + image::archive_message(out));
    }

    // `path` (stat `st`) as entry `name`, a directory with all below it.
    Status add(const std::string& path, const std::string& name, const struct stat& st, bool follow) {
        if (S_ISSOCK(st.st_mode)) return {};  // (tar has no sockets: docker skips them too)
        UniqueFd fd;
        if (S_ISREG(st.st_mode)) {
            fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | (follow ? 0 : O_NOFOLLOW)));
            if (!fd) return sys_error("open `" + path + "`");
        }
        image::ArchiveEntry e(archive_entry_new());
        archive_entry_copy_sourcepath(e.get(), path.c_str());
        if (archive_read_disk_entry_from_file(disk, e.get(), fd.get(), &st) < ARCHIVE_WARN)
            return error("read `" + path + "`: " + image::archive_message(disk));
        std::vector<std::pair<std::string, std::string>> keep;  // (overlayfs's own attributes stay)
        {
            const char* k;
            const void* v;
            size_t size;
            archive_entry_xattr_reset(e.get());
            while (archive_entry_xattr_next(e.get(), &k, &v, &size) == ARCHIVE_OK) {
                std::string_view key(k);
                if (!key.starts_with("trusted.overlay.") && !key.starts_with("user.overlay."))
                    keep.emplace_back(k, std::string(static_cast<const char*>(v), size));
            }
        }
        archive_entry_xattr_clear(e.get());
        for (const auto& [k, v] : keep) archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
        archive_entry_set_pathname(e.get(), (S_ISDIR(st.st_mode) ? name + "/" : name).c_str());
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
            auto key = std::make_pair(st.st_dev, st.st_ino);
            if (auto it = links.find(key); it != links.end()) {
                archive_entry_set_hardlink(e.get(), it->second.c_str());
                archive_entry_set_size(e.get(), 0);
                if (archive_write_header(out, e.get()) < ARCHIVE_WARN) return fail("tar `" + path + "`");
                return {};
            }
            links[key] = name;
        }
        if (archive_write_header(out, e.get()) < ARCHIVE_WARN) return fail("tar `" + path + "`");
        if (fd) {
            char buf[1 << 16];
            for (;;) {
                ssize_t got = ::read(fd.get(), buf, sizeof buf);
                if (got < 0 && errno == EINTR) continue;
                if (got < 0) return sys_error("read `" + path + "`");
                if (got == 0) break;
                if (archive_write_data(out, buf, static_cast<size_t>(got)) < 0) return fail("tar `" + path + "`");
            }
        }
        if (!S_ISDIR(st.st_mode)) return {};
        UniqueFd dfd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
        if (!dfd) return sys_error("open `" + path + "`");
        DIR* d = ::fdopendir(dfd.get());
        if (!d) return sys_error("open `" + path + "`");
        dfd.release();
        std::vector<std::string> names;
        errno = 0;
        while (dirent* de = ::readdir(d)) {
            std::string n = de->d_name;
            if (n != "." && n != "..") names.push_back(std::move(n));
        }
        int e2 = errno;
        ::closedir(d);
        if (e2) return sys_error("read the directory `" + path + "`", e2);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            std::string child = join_path(path, n);
            struct stat cst {};
            if (::lstat(child.c_str(), &cst) < 0) {
                if (errno == ENOENT) continue;  // (gone meanwhile)
                return sys_error("stat `" + child + "`");
            }
            HAKO_TRY(add(child, name + "/" + n, cst, false));
        }
        return {};
    }
};

// A tar of `path` (stat `st`; `follow`: it was stat'ed through a symlink),
// its entries named from `name`, to fd.
Status pack(int fd, const std::string& path, const std::string& name, const struct stat& st, bool follow) {
    Sink sink{fd};
    image::ArchiveWriter out(archive_write_new());
    archive_write_set_format_pax_restricted(out.get());
    archive_write_set_bytes_in_last_block(out.get(), 1);
    if (archive_write_open(out.get(), &sink, nullptr, sink_write, nullptr) != ARCHIVE_OK)
        return error("tar: " + image::archive_message(out.get()));
    image::ArchiveReader disk(archive_read_disk_new());  // (no name lookup: numeric owners)
    Packer p{out.get(), disk.get(), &sink, {}};
    HAKO_TRY(p.add(path, name, st, follow));
    if (archive_write_close(out.get()) != ARCHIVE_OK) return p.fail("tar");
    return {};
}

constexpr int kSecure = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                        ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
constexpr int kExtract = kSecure | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR;

struct Unpack {
    int flags = kExtract;
    bool root_owner = false;  // every entry 0:0 (copy in without -a)
    bool rebase = false;      // entries' first component `from` renamed `to` (our own streams)
    std::string from, to;
    bool drain = false;  // read the stream to its end (the other side's pipe: it never sees EPIPE)
};

// An entry's name re-rooted from `from` to `to` ("." for the directory's
// contents / the extraction directory itself); nullopt: not under `from`.
std::optional<std::string> rebase(const char* entry, const std::string& from, const std::string& to) {
    std::string n = image::clean_name(entry);
    std::string rest;
    if (from == ".") {
        rest = n;
    } else if (n == from) {
    } else if (n.starts_with(from + "/")) {
        rest = n.substr(from.size() + 1);
    } else {
        return std::nullopt;
    }
    if (to == ".") return rest;
    return rest.empty() ? to : to + "/" + rest;
}

// Extract the tar on fd into the current directory.
Status unpack(int fd, const Unpack& u) {
    image::ArchiveReader in(archive_read_new());
    archive_read_support_format_tar(in.get());
    archive_read_support_format_gnutar(in.get());
    if (archive_read_open_fd(in.get(), fd, 1 << 16) != ARCHIVE_OK) return error("read the tar stream: " + image::archive_message(in.get()));
    image::ArchiveWriter out(archive_write_disk_new());
    archive_write_disk_set_options(out.get(), u.flags);
    for (;;) {
        archive_entry* e = nullptr;
        int rc = archive_read_next_header(in.get(), &e);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN) return error("read the tar stream: " + image::archive_message(in.get()));
        const char* raw = archive_entry_pathname(e);
        std::string name = raw ? raw : "";
        if (u.rebase) {
            auto r = rebase(raw, u.from, u.to);
            if (!r) return error("an entry `" + name + "` outside the copy's `" + u.from + "`");
            name = *r;
        }
        if (image::clean_name(name.c_str()).empty()) continue;  // the extraction directory itself (docker keeps its own)
        archive_entry_set_pathname(e, name.c_str());
        if (const char* link = archive_entry_hardlink(e); link && u.rebase) {
            auto r = rebase(link, u.from, u.to);
            if (!r || r->empty()) return error("a hard link `" + name + "` to `" + link + "` outside the copy");
            archive_entry_set_hardlink(e, r->c_str());
        }
        if (u.root_owner) {
            archive_entry_set_uid(e, 0);
            archive_entry_set_gid(e, 0);
        }
        rc = archive_write_header(out.get(), e);
        if (rc < ARCHIVE_WARN) return error("unpack `" + name + "`: " + image::archive_message(out.get()));
        if (archive_entry_size(e) > 0) {
            const void* buf;
            size_t size;
            la_int64_t off;
            while ((rc = archive_read_data_block(in.get(), &buf, &size, &off)) == ARCHIVE_OK)
                if (archive_write_data_block(out.get(), buf, size, off) < ARCHIVE_WARN)
                    return error("unpack `" + name + "`: " + image::archive_message(out.get()));
            if (rc != ARCHIVE_EOF) return error("read `" + name + "` from the tar stream: " + image::archive_message(in.get()));
        }
        if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN)
            return error("unpack `" + name + "`: " + image::archive_message(out.get()));
    }
    if (archive_write_close(out.get()) < ARCHIVE_WARN) return error("unpack: " + image::archive_message(out.get()));
    if (u.drain) {
        char buf[1 << 14];
        for (;;) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
        }
    }
    return {};
}

Status with_context(Status st, const std::string& ctx) {
    if (!st) return std::unexpected(std::move(st).error().context(ctx));
    return st;
}

// What copy out's child sends before the tar: what SRC is.
struct Preamble {
    uint32_t magic;
    uint32_t mode;
};
constexpr uint32_t kPreambleMagic = 0x6861'6b6f;  // "hako"

// Read exactly n bytes; false at an early end.
bool read_exact(int fd, void* p, size_t n) {
    auto* c = static_cast<char*>(p);
    while (n > 0) {
        ssize_t got = ::read(fd, c, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        c += got;
        n -= static_cast<size_t>(got);
    }
    return true;
}

// Copy out: `out_fd` >= 0: the tar itself there; else extracted at host_dst.
Status copy_out(const std::string& root, const std::string& src, int out_fd, const std::string& host_dst,
                const CopyOptions& o) {
    const std::string ctx = "copy `" + src + "` from the container";
    const std::string path = trimmed(container_path(src));
    const bool want_dir = asserts_dir(src);
    const bool follow = o.follow_link || want_dir;
    const std::string base = base_of(src, path);
    UniqueFd r, w;
    if (out_fd < 0) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) < 0) return sys_error(ctx + ": pipe");
        r.reset(p[0]);
        w.reset(p[1]);
    }
    auto packer = [&]() -> Status {
        HAKO_TRY_CTX(enter_root(root), ctx);
        struct stat st {};
        if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) < 0) return sys_error(ctx);
        if (want_dir && !S_ISDIR(st.st_mode)) return sys_error(ctx, ENOTDIR);
        int fd = out_fd >= 0 ? out_fd : w.get();
        if (out_fd < 0) {
            Preamble pre{kPreambleMagic, static_cast<uint32_t>(st.st_mode)};
            HAKO_TRY_CTX(sys::write_all(fd, &pre, sizeof pre), ctx);
        }
        return with_context(pack(fd, path, base, st, follow), ctx);
    };
    auto c = HAKO_TRY_CTX(spawn({r.get()}, packer), ctx);
    w.reset();
    if (out_fd >= 0) return c.wait();

    Preamble pre{};
    if (!read_exact(r.get(), &pre, sizeof pre) || pre.magic != kPreambleMagic) {
        r.reset();
        HAKO_TRY(c.wait());
        return error(ctx + ": the copy process ended early");
    }
    auto target = place(host_dst, S_ISDIR(pre.mode), base, ctx + " to `" + host_dst + "`");
    if (!target) {
        r.reset();
        (void)c.wait();
        return std::unexpected(std::move(target).error());
    }
    Unpack u;
    u.flags = kExtract | (o.archive ? ARCHIVE_EXTRACT_OWNER : 0);  // (else the caller's, as docker)
    u.rebase = true;
    u.from = base;
    u.to = target->name;
    u.drain = true;
    // (libarchive's symlink checks would refuse a host path through a symlink,
    // /var/run say, if given absolute: a child extracts in DEST's directory)
    auto unpacker = [&]() -> Status {
        if (::chdir(target->dir.c_str()) < 0) return sys_error(ctx + ": `" + target->dir + "`");
        return with_context(unpack(r.get(), u), ctx + " to `" + host_dst + "`");
    };
    auto h = spawn({}, unpacker);
    r.reset();
    if (!h) {
        (void)c.wait();
        return std::unexpected(std::move(h).error().context(ctx));
    }
    Status hs = h->wait();
    Status cs = c.wait();
    return pick(std::move(cs), std::move(hs));
}

// Copy in: `in_fd` >= 0: a tar from there into the directory dst; else host_src.
Status copy_in(const std::string& host_src, int in_fd, const std::string& root, const std::string& dst,
               const CopyOptions& o) {
    const std::string cdst = container_path(dst);
    Unpack u;
    u.flags = kExtract | ARCHIVE_EXTRACT_OWNER;
    u.root_owner = !o.archive;
    if (in_fd >= 0) {
        const std::string ctx = "copy a tar stream to `" + dst + "` in the container";
        auto unpacker = [&]() -> Status {
            HAKO_TRY_CTX(enter_root(root), ctx);
            Dest d = HAKO_TRY(resolve_dest(cdst, ctx));
            if (!d.exists) return sys_error(ctx + ": the destination `" + dst + "`", ENOENT);
            if (!S_ISDIR(d.st.st_mode)) return error(ctx + ": the destination `" + dst + "` must be a directory");
            if (::chdir(d.path.c_str()) < 0) return sys_error(ctx + ": `" + dst + "`");
            return with_context(unpack(in_fd, u), ctx);
        };
        auto c = HAKO_TRY_CTX(spawn({}, unpacker), ctx);
        return c.wait();
    }

    const std::string ctx = "copy `" + host_src + "` to the container";
    const std::string path = trimmed(host_src);
    const bool want_dir = asserts_dir(host_src);
    const bool follow = o.follow_link || want_dir;
    struct stat st {};
    if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) < 0) return sys_error(ctx);
    if (want_dir && !S_ISDIR(st.st_mode)) return sys_error(ctx, ENOTDIR);
    const std::string base = base_of(host_src, path);
    const bool src_dir = S_ISDIR(st.st_mode);

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return sys_error(ctx + ": socketpair");
    UniqueFd mine(sv[0]), theirs(sv[1]);
    u.rebase = true;
    u.from = base;
    u.drain = true;
    auto unpacker = [&]() -> Status {
        HAKO_TRY_CTX(enter_root(root), ctx);
        Target t = HAKO_TRY(place(cdst, src_dir, base, ctx + " `" + dst + "`"));
        if (::chdir(t.dir.c_str()) < 0) return sys_error(ctx + ": `" + t.dir + "`");
        u.to = t.name;
        return with_context(unpack(theirs.get(), u), ctx + " `" + dst + "`");
    };
    auto c = HAKO_TRY_CTX(spawn({mine.get()}, unpacker), ctx);
    theirs.reset();
    Status ps = with_context(pack(mine.get(), path, base, st, follow), ctx);
    mine.reset();
    Status cs = c.wait();
    return pick(std::move(ps), std::move(cs));
}

}  // namespace

Result<TarIntoRoot> TarIntoRoot::start(const std::string& root) {
    const std::string ctx = "copy into the image";
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return sys_error(ctx + ": socketpair");
    UniqueFd mine(sv[0]), theirs(sv[1]);
    Unpack u;
    u.flags = (kExtract & ~ARCHIVE_EXTRACT_SECURE_SYMLINKS) | ARCHIVE_EXTRACT_OWNER;
    u.drain = true;
    auto unpacker = [&]() -> Status {
        ::umask(022);
        HAKO_TRY_CTX(enter_root(root), ctx);
        return with_context(unpack(theirs.get(), u), ctx);
    };
    auto c = HAKO_TRY_CTX(spawn({mine.get()}, unpacker), ctx);
    TarIntoRoot t;
    t.fd_ = mine.release();
    // (the Child's pid and error pipe move into us: it is reaped in finish)
    t.pid_ = c.release(&t.err_);
    return t;
}

TarIntoRoot::TarIntoRoot(TarIntoRoot&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), pid_(std::exchange(o.pid_, -1)), err_(std::exchange(o.err_, -1)) {}

TarIntoRoot::~TarIntoRoot() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
        Child c(pid_, UniqueFd(err_));  // (killed and reaped)
    } else if (err_ >= 0) {
        ::close(err_);
    }
}

Status TarIntoRoot::finish(Status writer) {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    Child c(std::exchange(pid_, -1), UniqueFd(std::exchange(err_, -1)));
    Status cs = c.wait();
    return pick(std::move(writer), std::move(cs));
}

Status copy_from_container(const std::string& root, const std::string& src, const std::string& host_dst,
                           const CopyOptions& o) {
    if (host_dst == "-") return copy_out(root, src, STDOUT_FILENO, "", o);
    return copy_out(root, src, -1, host_dst, o);
}

Status copy_tar_from_container(const std::string& root, const std::string& src, int out_fd, const CopyOptions& o) {
    if (out_fd < 0) return sys_error("copy `" + src + "` from the container", EBADF);
    return copy_out(root, src, out_fd, "", o);
}

Status copy_to_container(const std::string& host_src, const std::string& root, const std::string& dst,
                         const CopyOptions& o) {
    if (host_src == "-") return copy_in("", STDIN_FILENO, root, dst, o);
    return copy_in(host_src, -1, root, dst, o);
}

Status copy_tar_to_container(int in_fd, const std::string& root, const std::string& dst, const CopyOptions& o) {
    if (in_fd < 0) return sys_error("copy a tar stream to `" + dst + "` in the container", EBADF);
    return copy_in("", in_fd, root, dst, o);
}

}  // namespace hako::frontend
