// Unpacking a layer tarball with libarchive: read once from the fd, hashed
// on the way in twice (sha256 of the stream as stored, and of the
// uncompressed tar: the layer's identity, docker's diff id),
// extracted with owners, modes, times, xattrs, ACLs, device nodes and hard
// links, never outside its directory (no "..", leading "/" dropped, not
// through symlinks). OCI/docker whiteouts become overlayfs's: `.wh.NAME` a
// 0:0 character device NAME, `.wh..wh..opq` the opaque xattr on its directory.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#ifdef HAKO_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "common/strings.hpp"
#include "image/layer.hpp"
#include "image/archive_ptr.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::image {
namespace {

// Stage 1 reads the fd (hashing the stream as stored: the blob digest) and
// decompresses it: gzip with ISA-L's igzip where hako is built with it (2-3x
// zlib's speed: a pull's bottleneck), anything else with libarchive (format
// "raw"); stage 2, the tar reader, reads stage 1's output (hashing it: the
// diff id, the digest of the uncompressed tar).
struct Reader {
    int fd;
    Sha256 blob, diff;
    uint64_t total = 0;
    const Progress* progress;
    archive* stage1 = nullptr;
    size_t pending = 0;  // bytes read ahead into buf (to see the format), not yet decompressed
#ifdef HAKO_HAVE_ISAL
    std::unique_ptr<inflate_state> isal;
    bool isal_done = false;
#endif
    std::string error;
    char buf[1 << 17];
    char out[1 << 17];
};

// One read of the fd into buf, hashed and counted: bytes, 0 at the end, -1.
ssize_t fill(Reader* r) {
    ssize_t n;
    do {
        n = ::read(r->fd, r->buf, sizeof r->buf);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        r->error = std::string("read: ") + std::strerror(errno);
        return -1;
    }
    r->blob.update(r->buf, static_cast<size_t>(n));
    r->total += static_cast<uint64_t>(n);
    if (r->progress && *r->progress) (*r->progress)(r->total);
    return n;
}

la_ssize_t read_raw(archive* a, void* ud, const void** out) {
    auto* r = static_cast<Reader*>(ud);
    ssize_t n = r->pending > 0 ? static_cast<ssize_t>(std::exchange(r->pending, 0)) : fill(r);
    if (n < 0) {
        archive_set_error(a, EIO, "%s", r->error.c_str());
        return -1;
    }
    *out = r->buf;
    return n;
}

#ifdef HAKO_HAVE_ISAL
// The next bytes of the gzip stream(s) decompressed into r->out; 0 at the end.
la_ssize_t inflate_isal(Reader* r) {
    auto& s = *r->isal;
    for (;;) {
        if (r->isal_done) return 0;
        if (s.avail_in == 0) {
            ssize_t n = r->pending > 0 ? static_cast<ssize_t>(std::exchange(r->pending, 0)) : fill(r);
            if (n < 0) return -1;
            if (n == 0) {
                if (s.block_state != ISAL_BLOCK_FINISH) {
                    r->error = "gzip: the stream ends early";
                    return -1;
                }
                r->isal_done = true;
                return 0;
            }
            s.next_in = reinterpret_cast<uint8_t*>(r->buf);
            s.avail_in = static_cast<uint32_t>(n);
        }
        if (s.block_state == ISAL_BLOCK_FINISH) {  // a member ended: another follows, or trailing bytes
            if (s.avail_in >= 2 && s.next_in[0] == 0x1f && s.next_in[1] == 0x8b) {
                uint8_t* in = s.next_in;
                uint32_t avail = s.avail_in;
                isal_inflate_reset(&s);
                s.crc_flag = ISAL_GZIP;
                s.next_in = in;
                s.avail_in = avail;
            } else {
                s.avail_in = 0;  // (ignored, as gzip -d does; hashed all the same)
            }
            continue;
        }
        s.next_out = reinterpret_cast<uint8_t*>(r->out);
        s.avail_out = sizeof r->out;
        int rc = isal_inflate(&s);
        if (rc < 0) {
            r->error = rc == ISAL_INCORRECT_CHECKSUM ? "gzip: CRC mismatch" : "gzip: invalid data (igzip " + std::to_string(rc) + ")";
            return -1;
        }
        size_t produced = sizeof r->out - s.avail_out;
        if (produced > 0) return static_cast<la_ssize_t>(produced);
    }
}
#endif

// Stage 1's next output into r->out (hashed as the diff id): bytes, 0, -1.
la_ssize_t plain(Reader* r) {
    la_ssize_t n;
#ifdef HAKO_HAVE_ISAL
    if (r->isal) {
        n = inflate_isal(r);
    } else
#endif
    {
        n = archive_read_data(r->stage1, r->out, sizeof r->out);
        if (n < 0) r->error = archive_message(r->stage1);
    }
    if (n > 0) r->diff.update(r->out, static_cast<size_t>(n));
    return n;
}

la_ssize_t read_tar(archive* a, void* ud, const void** out) {
    auto* r = static_cast<Reader*>(ud);
    la_ssize_t n = plain(r);
    if (n < 0) {
        archive_set_error(a, EIO, "%s", r->error.c_str());
        return -1;
    }
    *out = r->out;
    return n;
}



// A whiteout, resolved with the layer directory as its root: a symlink the
// layer planted (`a -> /etc`, then `a/.wh.passwd`) cannot lead to a host path.
Status whiteout(int dirfd, const std::string& rel_parent, const std::string& base) {
    std::string hidden = base.substr(4);
    bool opaque = base == ".wh..wh..opq";
    if (!opaque && (hidden.empty() || hidden == "." || hidden == ".." || hidden.find('/') != std::string::npos))
        return error("whiteout `" + rel_parent + "/" + base + "`: not a file name");
    auto parent = HAKO_TRY_CTX(sys::mkdir_all_in_root(dirfd, rel_parent.empty() ? "." : rel_parent, 0755), "whiteout in `" + rel_parent + "`");
    if (opaque) {
        UniqueFd d(::open(sys::fd_path(parent.get()).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!d || fsetxattr(d.get(), "trusted.overlay.opaque", "y", 1, 0) < 0)
            return sys_error("mark `" + rel_parent + "` opaque (trusted.overlay.opaque)");
        return {};
    }
    std::error_code ec;
    std::filesystem::remove_all(sys::fd_path(parent.get()) + "/" + hidden, ec);  // (a same-layer entry it hides)
    if (mknodat(parent.get(), hidden.c_str(), S_IFCHR | 0000, makedev(0, 0)) < 0)
        return sys_error("whiteout `" + rel_parent + "/" + hidden + "`");
    return {};
}

// trusted.overlay.* xattrs are overlayfs's own (whiteouts, opaque and
// redirected directories, metacopy): only the whiteout conversion above
// sets them, never a layer's own entries.
void drop_overlay_xattrs(archive_entry* e) {
    if (archive_entry_xattr_reset(e) == 0) return;
    std::vector<std::pair<std::string, std::string>> keep;
    bool dropped = false;
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        if (std::string_view(name).starts_with("trusted.overlay.")) {
            dropped = true;
            continue;
        }
        keep.emplace_back(name, std::string(static_cast<const char*>(value), size));
    }
    if (!dropped) return;
    archive_entry_xattr_clear(e);
    for (const auto& [n, v] : keep) archive_entry_xattr_add_entry(e, n.c_str(), v.data(), v.size());
}

}  // namespace

std::string archive_message(struct archive* a) {
    const char* s = archive_error_string(a);
    return s && *s ? s : "failed";
}

std::string clean_name(const char* p) {
    std::string s = p ? p : "";
    while (s.rfind("./", 0) == 0) s.erase(0, 2);
    while (!s.empty() && s[0] == '/') s.erase(0, 1);
    while (!s.empty() && s.back() == '/') s.pop_back();
    if (s == ".") s.clear();
    return s;
}

namespace {

// What one layer may write, a tar bomb's bound: HAKO_LAYER_MAX_SIZE bytes
// (a size: "10g"; unset: no bound of its own), and never the file system's
// last 64 MiB (or 1% of it, the less).
struct Budget {
    uint64_t max = 0;  // 0: none
    uint64_t charged = 0;
    uint64_t next_check = 0;
    std::string dir;

    Status charge(uint64_t n) {
        charged += n;
        if (max && charged > max)
            return error("the layer is larger than HAKO_LAYER_MAX_SIZE (" + std::to_string(max) + " bytes)");
        if (charged < next_check) return {};
        next_check = charged + (16 << 20);
        struct statvfs vfs{};
        if (::statvfs(dir.c_str(), &vfs) != 0) return {};
        uint64_t total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
        uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
        if (avail < std::min<uint64_t>(64 << 20, total / 100))
            return error("unpacking stopped: the file system of `" + dir + "` is almost full (" +
                         std::to_string(avail >> 20) + " MiB left)");
        return {};
    }
};

Result<Unpacked> unpack(Reader* r, int fd, const std::string& dir, Budget& budget);

}  // namespace

Result<Unpacked> unpack_layer(int fd, const std::string& dir, const Progress& progress, std::string* blob_on_error) {
    auto r = std::make_unique<Reader>();
    r->fd = fd;
    r->progress = &progress;
    Budget budget;
    budget.dir = dir;
    if (const char* m = getenv("HAKO_LAYER_MAX_SIZE"); m && *m)
        budget.max = static_cast<uint64_t>(HAKO_TRY(parse_size(m, "HAKO_LAYER_MAX_SIZE")));
    auto res = unpack(r.get(), fd, dir, budget);
    if (!res && blob_on_error) {  // the digest of the whole stream: a corrupt blob is named as such
        for (;;) {
            ssize_t n = ::read(fd, r->buf, sizeof r->buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            r->blob.update(r->buf, static_cast<size_t>(n));
        }
        *blob_on_error = r->blob.hex();
    }
    return res;
}

namespace {
Result<Unpacked> unpack(Reader* rp, int fd, const std::string& dir, Budget& budget) {
    auto* r = rp;
    ssize_t first = fill(r);
    if (first < 0) return error(r->error);
    r->pending = static_cast<size_t>(first);
    ArchiveReader raw;
    archive_entry* e = nullptr;
#ifdef HAKO_HAVE_ISAL
    if (first >= 2 && static_cast<unsigned char>(r->buf[0]) == 0x1f && static_cast<unsigned char>(r->buf[1]) == 0x8b) {
        r->isal = std::make_unique<inflate_state>();
        isal_inflate_init(r->isal.get());
        r->isal->crc_flag = ISAL_GZIP;
    }
    if (!r->isal)
#endif
    {
        raw.reset(archive_read_new());
        archive_read_support_filter_all(raw.get());
        archive_read_support_format_raw(raw.get());
        if (archive_read_open(raw.get(), r, nullptr, read_raw, nullptr) != ARCHIVE_OK ||
            archive_read_next_header(raw.get(), &e) != ARCHIVE_OK)
            return error("read: " + archive_message(raw.get()));
        r->stage1 = raw.get();
    }
    ArchiveReader in(archive_read_new());
    archive_read_support_format_tar(in.get());
    archive_read_support_format_gnutar(in.get());
    if (archive_read_open(in.get(), r, nullptr, read_tar, nullptr) != ARCHIVE_OK)
        return error("not a tar archive: " + archive_message(in.get()));
    ArchiveWriter out(archive_write_disk_new());
    archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                  ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                  ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_UNLINK);
    // (no FFLAGS, as docker: an immutable or append-only file would be one no
    // `rmi` could remove; no SECURE_NOABSOLUTEPATHS: every name is made relative by clean_name
    // and then prefixed with `dir` here, so all paths are absolute ones we made)
    Unpacked result;
    UniqueFd dirfd;  // (opened for the first whiteout)
    for (;;) {
        int rc = archive_read_next_header(in.get(), &e);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN) return error("read the archive: " + archive_message(in.get()));
        std::string name = clean_name(archive_entry_pathname(e));
        if (name.empty()) continue;
        HAKO_TRY_CTX(budget.charge(512), "`" + name + "`");  // (an entry costs an inode at least)  // "./": the layer's own directory
        auto slash = name.rfind('/');
        std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
        std::string parent = slash == std::string::npos ? "" : name.substr(0, slash);
        if (base.rfind(".wh.", 0) == 0) {
            if (!dirfd) {
                dirfd = UniqueFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
                if (!dirfd) return sys_error("open `" + dir + "`");
            }
            HAKO_TRY(whiteout(dirfd.get(), parent, base));
            continue;
        }
        drop_overlay_xattrs(e);
        archive_entry_set_pathname(e, (dir + "/" + name).c_str());
        if (const char* link = archive_entry_hardlink(e))
            archive_entry_set_hardlink(e, (dir + "/" + clean_name(link)).c_str());
        rc = archive_write_header(out.get(), e);
        if (rc < ARCHIVE_WARN) return error("unpack `" + name + "`: " + archive_message(out.get()));
        if (archive_entry_size(e) > 0) {
            const void* buf;
            size_t size;
            la_int64_t off;
            while ((rc = archive_read_data_block(in.get(), &buf, &size, &off)) == ARCHIVE_OK) {
                if (archive_write_data_block(out.get(), buf, size, off) < ARCHIVE_WARN)
                    return error("unpack `" + name + "`: " + archive_message(out.get()));
                result.size += size;
                HAKO_TRY_CTX(budget.charge(size), "`" + name + "`");
            }
            if (rc != ARCHIVE_EOF) return error("read `" + name + "`: " + archive_message(in.get()));
        }
        if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN)
            return error("unpack `" + name + "`: " + archive_message(out.get()));
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK)
        return error("unpack: " + archive_message(out.get()));
    // The digests are of the whole streams: what the readers left unread too.
    for (;;) {
        la_ssize_t n = plain(r);
        if (n < 0) return error(r->error);
        if (n == 0) break;
    }
    for (;;) {
        ssize_t n = ::read(fd, r->buf, sizeof r->buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        r->blob.update(r->buf, static_cast<size_t>(n));
    }
    result.digest = r->diff.hex();
    result.blob_digest = r->blob.hex();
    return result;
}
}  // namespace

}  // namespace hako::image
