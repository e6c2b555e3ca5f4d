// COPY and ADD: sources found in the context (its ignore file applied) or
// a stage's root, resolved inside it (a symlink can't lead out), summed for
// the cache, then streamed as a tar into the step's overlay, where a child
// chrooted in it unpacks them (cp.hpp's TarIntoRoot).
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>

#include "build/expand.hpp"
#include "common/digest.hpp"
#include "common/strings.hpp"
#include "image/archive_ptr.hpp"
#include "frontend/build_internal.hpp"
#include "frontend/cp.hpp"
#include "image/layer.hpp"
#include "registry/http.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend::bld {
namespace {

bool has_glob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::string join(const std::string& a, const std::string& b) {
    if (a.empty()) return b;
    if (b.empty()) return a;
    return a + "/" + b;
}

std::string base_name(const std::string& rel) {
    auto s = rel.rfind('/');
    return s == std::string::npos ? rel : rel.substr(s + 1);
}

// An fd of `rel` (lexical, relative) opened inside `rootfd`; symlinks on the
// way and at the end followed inside the root (BuildKit follows a source's
// own symlink).
Result<UniqueFd> open_source(int rootfd, const std::string& rel) {
    if (rel.empty()) return UniqueFd(::fcntl(rootfd, F_DUPFD_CLOEXEC, 0));
    return sys::open_in_root(rootfd, rel, O_PATH);
}

// Entries of a directory fd, sorted.
std::vector<std::string> list_dir(int dirfd) {
    std::vector<std::string> out;
    UniqueFd d(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d) return out;
    DIR* dp = ::fdopendir(d.release());
    if (!dp) return out;
    while (dirent* e = ::readdir(dp)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(dp);
    std::sort(out.begin(), out.end());
    return out;
}

// Glob `pattern` (segments with * ? [...]) under root: lexical matches.
void glob(int rootfd, const std::vector<std::string>& segs, size_t i, const std::string& at, std::vector<std::string>& out) {
    if (i == segs.size()) {
        out.push_back(at);
        return;
    }
    if (!has_glob(segs[i])) {
        std::string next = join(at, segs[i]);
        if (auto fd = open_source(rootfd, next); fd && *fd) glob(rootfd, segs, i + 1, next, out);
        return;
    }
    auto dir = open_source(rootfd, at);
    if (!dir || !*dir) return;
    for (const auto& n : list_dir(dir->get()))
        if (build::glob_match(segs[i], n)) glob(rootfd, segs, i + 1, join(at, n), out);
}

// Walk a source: every entry under `fd` (a directory) with its relative
// name, type and content, skipping what the ignore file excludes (`ctx_rel`:
// the directory's path in the context).
struct Walker {
    const build::Ignore* ignore;
    std::function<Status(const std::string& rel, int dirfd, const std::string& name, const struct stat& st)> visit;

    Status walk(int dirfd, const std::string& rel, const std::string& ctx_rel) {
        for (const auto& n : list_dir(dirfd)) {
            std::string r = join(rel, n), c = join(ctx_rel, n);
            struct stat st{};
            if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return sys_error("stat `" + c + "`");
            bool excluded = ignore && ignore->excluded(c);
            if (excluded && !(S_ISDIR(st.st_mode) && ignore->has_exceptions())) continue;
            if (!excluded) HAKO_TRY(visit(r, dirfd, n, st));
            if (S_ISDIR(st.st_mode)) {
                UniqueFd sub(::openat(dirfd, n.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!sub) return sys_error("open `" + c + "`");
                HAKO_TRY(walk(sub.get(), r, c));
            }
        }
        return {};
    }
};

Result<std::string> sum_fd(int fd, const std::string& name) {
    Sha256 h;
    static thread_local std::vector<char> buf(1 << 17);
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("read `" + name + "`");
        if (n == 0) break;
        h.update(buf.data(), static_cast<size_t>(n));
    }
    return h.hex();
}

Result<std::string> sum_file(int dirfd, const std::string& name) {
    UniqueFd f(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f) return sys_error("read `" + name + "`");
    return sum_fd(f.get(), name);
}

std::string link_target(int dirfd, const std::string& name) {
    char buf[4096];
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// Whether a regular file is a tar (any compression libarchive reads).
bool is_archive(int fd) {
    image::ArchiveReader a(archive_read_new());
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    if (::lseek(fd, 0, SEEK_SET) < 0 || archive_read_open_fd(a.get(), fd, 1 << 14) != ARCHIVE_OK) return false;
    archive_entry* e = nullptr;
    bool ok = archive_read_next_header(a.get(), &e) == ARCHIVE_OK;
    ::lseek(fd, 0, SEEK_SET);
    return ok;
}

int64_t parse_http_date(const std::string& s) {
    struct tm tm{};
    if (s.empty() || !strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) return 0;
    return static_cast<int64_t>(timegm(&tm));
}

// ADD URL: the body into an anonymous file of the store (redirects followed).
Status fetch(CopyItem& it, image::Store& store, const std::string& where) {
    auto url = HAKO_TRY_CTX(registry::Url::parse(it.url), where + " `" + it.url + "`");
    registry::HttpClient http;
    auto tmp = HAKO_TRY(store.temp_file());
    Sha256 h;
    for (int hop = 0; hop < 6; ++hop) {
        registry::Request req;
        req.url = url;
        auto sink = [&](const registry::Response&, const char* d, size_t n) -> Status {
            return sys::write_all(tmp.get(), d, n);
        };
        auto resp = HAKO_TRY_CTX(http.send(req, sink), where + " `" + it.url + "`");
        if (resp.status >= 300 && resp.status < 400 && !resp.header("location").empty()) {
            url = url.resolve(resp.header("location"));
            continue;
        }
        if (resp.status / 100 != 2)
            return error(where + " `" + it.url + "`: " + std::to_string(resp.status) + " " + resp.reason);
        it.mtime = parse_http_date(resp.header("last-modified"));
        if (::lseek(tmp.get(), 0, SEEK_SET) < 0) return sys_error("seek");
        std::string path = url.target.substr(0, url.target.find('?'));
        it.name = base_name(path);
        if (it.name.empty()) return error(where + " `" + it.url + "`: the URL names no file (give a destination file name)");
        it.file = std::make_shared<UniqueFd>(std::move(tmp));
        return {};
    }
    return error(where + " `" + it.url + "`: too many redirects");
}

// --- the tar stream into the destination ------------------------------------

struct TarOut {
    archive* a;
    std::optional<std::pair<uid_t, gid_t>> owner;
    std::optional<mode_t> chmod;

    Status header(const std::string& name, mode_t type, mode_t perm, int64_t size, int64_t mtime, const struct stat* st,
                  const std::string& link = {}) {
        image::ArchiveEntry e(archive_entry_new());
        archive_entry_set_pathname(e.get(), name.c_str());
        archive_entry_set_filetype(e.get(), type);
        archive_entry_set_perm(e.get(), chmod && type != AE_IFLNK ? *chmod : perm & 07777);
        archive_entry_set_uid(e.get(), owner ? owner->first : (st ? st->st_uid : 0));
        archive_entry_set_gid(e.get(), owner ? owner->second : (st ? st->st_gid : 0));
        archive_entry_set_size(e.get(), type == AE_IFREG ? size : 0);
        if (st) archive_entry_set_mtime(e.get(), st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
        else archive_entry_set_mtime(e.get(), mtime, 0);
        if (type == AE_IFLNK) archive_entry_set_symlink(e.get(), link.c_str());
        if (archive_write_header(a, e.get()) != ARCHIVE_OK) return fail(name);
        return {};
    }
    Status data(int fd, const std::string& name) {
        static thread_local std::vector<char> buf(1 << 17);
        for (;;) {
            ssize_t n = ::read(fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return sys_error("read `" + name + "`");
            if (n == 0) return {};
            if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) < 0) return fail(name);
        }
    }
    Status fail(const std::string& name) {
        return error("write `" + name + "` into the image: " + image::archive_message(a));
    }
    // One entry of a source (dirfd/name), as `target` in the image.
    Status entry(int dirfd, const std::string& name, const struct stat& st, const std::string& target) {
        if (S_ISDIR(st.st_mode)) return header(target + "/", AE_IFDIR, st.st_mode, 0, 0, &st);
        if (S_ISLNK(st.st_mode)) return header(target, AE_IFLNK, 0777, 0, 0, &st, link_target(dirfd, name));
        if (S_ISFIFO(st.st_mode)) return header(target, AE_IFIFO, st.st_mode, 0, 0, &st);
        if (!S_ISREG(st.st_mode)) return {};  // (sockets, devices: not copied)
        UniqueFd f(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!f) return sys_error("read `" + name + "`");
        struct stat now{};
        if (::fstat(f.get(), &now) < 0) return sys_error("stat `" + name + "`");
        HAKO_TRY(header(target, AE_IFREG, now.st_mode, now.st_size, 0, &now));
        return data(f.get(), name);
    }
    // ADD of a local tar: its entries under `dir`.
    Status extract(int fd, const std::string& dir, const std::string& what) {
        image::ArchiveReader in(archive_read_new());
        archive_read_support_filter_all(in.get());
        archive_read_support_format_tar(in.get());
        archive_read_support_format_gnutar(in.get());
        if (::lseek(fd, 0, SEEK_SET) < 0 || archive_read_open_fd(in.get(), fd, 1 << 16) != ARCHIVE_OK)
            return error("ADD `" + what + "`: " + image::archive_message(in.get()));
        for (;;) {
            archive_entry* e = nullptr;
            int rc = archive_read_next_header(in.get(), &e);
            if (rc == ARCHIVE_EOF) return {};
            if (rc < ARCHIVE_WARN) return error("ADD `" + what + "`: " + image::archive_message(in.get()));
            std::string n = image::clean_name(archive_entry_pathname(e));
            if (n.empty()) continue;
            std::string target = join(dir, n);
            archive_entry_set_pathname(e, target.c_str());
            if (const char* l = archive_entry_hardlink(e)) archive_entry_set_hardlink(e, join(dir, image::clean_name(l)).c_str());
            if (owner) {
                archive_entry_set_uid(e, owner->first);
                archive_entry_set_gid(e, owner->second);
            }
            if (chmod && archive_entry_filetype(e) != AE_IFLNK) archive_entry_set_perm(e, *chmod);
            if (archive_write_header(a, e) != ARCHIVE_OK) return fail(target);
            const void* buf;
            size_t size;
            la_int64_t off;
            while ((rc = archive_read_data_block(in.get(), &buf, &size, &off)) == ARCHIVE_OK)
                if (archive_write_data(a, buf, size) < 0) return fail(target);
            if (rc != ARCHIVE_EOF) return error("ADD `" + what + "`: " + image::archive_message(in.get()));
        }
    }
};

la_ssize_t to_fd(archive*, void* ud, const void* buf, size_t n) {
    int fd = *static_cast<int*>(ud);
    const char* p = static_cast<const char*>(buf);
    size_t left = n;
    while (left > 0) {
        ssize_t w = ::send(fd, p, left, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        left -= static_cast<size_t>(w);
    }
    return static_cast<la_ssize_t>(n);
}

}  // namespace

SumCache::SumCache(std::string path) : path_(std::move(path)) {
    auto text = sys::read_file(path_);
    if (!text) return;
    for (auto line : split(*text, '\n')) {
        auto sp = line.find(' ');
        if (sp != std::string_view::npos && line.size() - sp - 1 == 64) sums_.emplace(line.substr(0, sp), line.substr(sp + 1));
    }
}

std::string SumCache::key(const struct stat& st) {
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
           std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

std::optional<std::string> SumCache::get(const struct stat& st) const {
    auto it = sums_.find(key(st));
    if (it == sums_.end()) return std::nullopt;
    return it->second;
}

void SumCache::put(const struct stat& st, const std::string& sum) {
    if (sums_.size() > 200000) sums_.clear();  // (bounded: the oldest go at once)
    sums_[key(st)] = sum;
    dirty_ = true;
}

Status SumCache::save() {
    if (!dirty_) return {};
    std::string out;
    for (const auto& [k, v] : sums_) out += k + " " + v + "\n";
    dirty_ = false;
    return sys::write_file_atomic(AT_FDCWD, path_, out);
}

Result<CopyPlan> plan_copy(const CopyRequest& r, const SourceRoot& src, image::Store& store, SumCache* sums) {
    CopyPlan plan;
    UniqueFd root;
    Sha256 sum;
    auto add = [&sum](const std::string& s) {
        sum.update(s.data(), s.size());
        sum.update("\n", 1);
    };
    for (size_t i = 0; i < r.heredocs.size(); ++i) {
        CopyItem it;
        it.heredoc = static_cast<int>(i);
        it.name = r.heredocs[i].name;
        add("H " + it.name + " " + sha256_hex(r.heredocs[i].body));
        plan.items.push_back(std::move(it));
    }
    for (const auto& s : r.sources) {
        if (r.add && (s.starts_with("http://") || s.starts_with("https://"))) {
            CopyItem it;
            it.url = s;
            HAKO_TRY(fetch(it, store, r.where));
            auto h = HAKO_TRY(sum_fd(it.file->get(), s));
            ::lseek(it.file->get(), 0, SEEK_SET);
            if (!r.checksum.empty() && r.checksum != "sha256:" + h)
                return error(r.where + " `" + s + "`: --checksum " + r.checksum + " does not match the content (sha256:" + h + ")");
            add("U " + s + " " + h);
            plan.items.push_back(std::move(it));
            continue;
        }
        if (!r.checksum.empty()) return error(r.where + ": --checksum is for http(s) sources only");
        if (s.starts_with("git@") || s.find("://") != std::string::npos)
            return error(r.where + " `" + s + "`: " + (r.add ? "only http(s) URLs can be added" : "COPY takes no URLs (ADD does)"));
        if (!root) {
            root = UniqueFd(::open(src.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!root) return sys_error(r.where + ": open the source root `" + src.path + "`");
        }
        auto segs = sys::clean_components(s);
        std::vector<std::string> found;
        if (has_glob(s)) {
            plan.many = true;
            glob(root.get(), segs, 0, "", found);
            if (src.ignore) std::erase_if(found, [&](const std::string& f) { return src.ignore->excluded(f); });
            if (found.empty()) return error(r.where + " `" + s + "`: no source file matches");
        } else {
            std::string rel;
            for (const auto& seg : segs) rel = join(rel, seg);
            if (src.ignore && !rel.empty() && src.ignore->excluded(rel))
                return error(r.where + " `" + s + "`: not in the build context (excluded by its ignore file)");
            found.push_back(rel);
        }
        for (const auto& rel : found) {
            auto fd = open_source(root.get(), rel);
            if (!fd || !*fd)
                return std::unexpected(Error{fd ? ENOENT : fd.error().err,
                                             r.where + " `" + s + "`: no such file or directory in the " +
                                                 (src.ignore ? "build context" : "source stage") + " (" + src.path + ")"});
            struct stat st{};
            if (::fstat(fd->get(), &st) < 0) return sys_error(r.where + " `" + s + "`");
            CopyItem it;
            it.rel = rel;
            it.name = rel.empty() ? "" : base_name(rel);
            it.dir = S_ISDIR(st.st_mode);
            if (it.dir) {
                add("D " + rel);
                Walker w{src.ignore, [&](const std::string& er, int dirfd, const std::string& name, const struct stat& est) -> Status {
                             std::string line = std::to_string(est.st_mode) + " " + er;
                             if (S_ISREG(est.st_mode)) {
                                 auto known = sums ? sums->get(est) : std::nullopt;
                                 if (!known) {
                                     known = HAKO_TRY(sum_file(dirfd, name));
                                     if (sums) sums->put(est, *known);
                                 }
                                 line += " " + *known;
                             }
                             else if (S_ISLNK(est.st_mode)) line += " -> " + link_target(dirfd, name);
                             add(line);
                             return {};
                         }};
                UniqueFd d(::openat(fd->get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
                HAKO_TRY_CTX(w.walk(d.get(), "", rel), r.where);
            } else if (S_ISREG(st.st_mode)) {
                UniqueFd f(::openat(fd->get(), ".", O_RDONLY | O_CLOEXEC));
                if (!f) f = UniqueFd(::open(("/proc/self/fd/" + std::to_string(fd->get())).c_str(), O_RDONLY | O_CLOEXEC));
                if (!f) return sys_error(r.where + " `" + s + "`");
                auto known = sums ? sums->get(st) : std::nullopt;
                if (!known) {
                    known = HAKO_TRY(sum_fd(f.get(), rel));
                    if (sums) sums->put(st, *known);
                }
                const std::string& h = *known;
                it.archive = r.add && is_archive(f.get());
                add("F " + std::to_string(st.st_mode) + " " + rel + " " + h + (it.archive ? " x" : ""));
            } else {
                return error(r.where + " `" + s + "`: not a file or directory");
            }
            plan.items.push_back(std::move(it));
        }
    }
    if (plan.items.size() > 1) plan.many = true;
    add("-> " + r.dest + " " + r.chown + " " + (r.chmod ? std::to_string(*r.chmod) : ""));
    plan.checksum = sum.hex();
    return plan;
}

Status apply_copy(const CopyPlan& plan, const CopyRequest& r, const SourceRoot& src, const std::string& rootfs) {
    bool dest_dir = r.dest.ends_with('/') || r.dest.ends_with("/.") || r.dest == ".";
    std::string dest = sys::clean_path(r.dest.starts_with('/') ? r.dest : (r.workdir.empty() ? "/" : r.workdir) + "/" + r.dest);
    if (plan.many && !dest_dir)
        return error(r.where + ": with several sources (or a wildcard) the destination `" + r.dest +
                     "` must be a directory ending in /");
    UniqueFd image_root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!image_root) return sys_error("open `" + rootfs + "`");
    bool dest_exists = false;
    if (auto d = sys::open_in_root(image_root.get(), dest, O_PATH); d && *d) {
        struct stat st{};
        dest_exists = ::fstat(d->get(), &st) == 0;
        dest_dir = dest_dir || (dest_exists && S_ISDIR(st.st_mode));  // (an existing directory takes a file under its name)
    }
    std::optional<std::pair<uid_t, gid_t>> owner;
    if (!r.chown.empty()) owner = HAKO_TRY_CTX(resolve_owner(r.chown, rootfs), r.where);
    const std::string tdest = dest == "/" ? "" : dest.substr(1);  // (tar names: relative to "/")
    auto into = HAKO_TRY(TarIntoRoot::start(rootfs));
    int fd = into.fd();
    image::ArchiveWriter a(archive_write_new());
    archive_write_set_format_pax_restricted(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (archive_write_open(a.get(), &fd, nullptr, to_fd, nullptr) != ARCHIVE_OK)
        return into.finish(error("tar: " + image::archive_message(a.get())));
    TarOut out{a.get(), owner ? owner : std::optional<std::pair<uid_t, gid_t>>(std::pair<uid_t, gid_t>{0, 0}), r.chmod};
    const int64_t now = r.epoch >= 0 ? r.epoch : static_cast<int64_t>(::time(nullptr));
    auto file_target = [&](const std::string& name) { return dest_dir ? join(tdest, name) : tdest; };
    UniqueFd root;
    auto write_all = [&]() -> Status {
        for (const auto& it : plan.items) {
            if (it.heredoc >= 0) {
                const auto& h = r.heredocs[static_cast<size_t>(it.heredoc)];
                std::string t = file_target(h.name);
                HAKO_TRY(out.header(t, AE_IFREG, 0644, static_cast<int64_t>(h.body.size()), now, nullptr));
                if (archive_write_data(a.get(), h.body.data(), h.body.size()) < 0) return out.fail(t);
                continue;
            }
            if (!it.url.empty()) {
                struct stat st{};
                ::fstat(it.file->get(), &st);
                std::string t = file_target(it.name);
                HAKO_TRY(out.header(t, AE_IFREG, 0600, st.st_size, it.mtime ? it.mtime : now, nullptr));
                HAKO_TRY(out.data(it.file->get(), it.url));
                continue;
            }
            if (!root) {
                root = UniqueFd(::open(src.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
                if (!root) return sys_error("open `" + src.path + "`");
            }
            auto fdp = HAKO_TRY(open_source(root.get(), it.rel));
            if (it.dir) {
                const std::string& base = tdest;  // (a directory's contents, not itself)
                if (!tdest.empty() && !dest_exists) {  // (made even when the source is empty)
                    HAKO_TRY(out.header(tdest + "/", AE_IFDIR, 0755, 0, now, nullptr));
                    dest_exists = true;
                }
                Walker w{src.ignore, [&](const std::string& er, int dirfd, const std::string& name, const struct stat& est) {
                             return out.entry(dirfd, name, est, join(base, er));
                         }};
                UniqueFd d(::openat(fdp.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
                HAKO_TRY(w.walk(d.get(), "", it.rel));
                continue;
            }
            UniqueFd f(::open(("/proc/self/fd/" + std::to_string(fdp.get())).c_str(), O_RDONLY | O_CLOEXEC));
            if (!f) return sys_error("read `" + it.rel + "`");
            if (it.archive) {
                auto keep = out.owner;
                if (r.chown.empty()) out.owner.reset();  // (a tar's own owners, unless --chown)
                HAKO_TRY(out.extract(f.get(), tdest, it.rel));
                out.owner = keep;
                continue;
            }
            struct stat st{};
            if (::fstat(f.get(), &st) < 0) return sys_error("stat `" + it.rel + "`");
            std::string t = file_target(it.name);
            if (t.empty()) return error(r.where + ": cannot copy the file `" + it.rel + "` onto /");
            HAKO_TRY(out.header(t, AE_IFREG, st.st_mode, st.st_size, 0, &st));
            HAKO_TRY(out.data(f.get(), it.rel));
        }
        if (archive_write_close(a.get()) != ARCHIVE_OK) return out.fail("the end");
        return {};
    };
    Status w = write_all();
    Status done = into.finish(std::move(w));
    if (!done) return std::unexpected(std::move(done).error().context(r.where));
    return {};
}

}  // namespace hako::frontend::bld
