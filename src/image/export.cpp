// Layer export (see export.hpp): libarchive writes the tar (PAX), its bytes
// pass through our own hashing and compressor (zlib or libzstd) on the way
// to the file.
#include "image/export.hpp"
#include "image/archive_ptr.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "common/digest.hpp"
#include "image/layer.hpp"
#include "sys/syscalls.hpp"

namespace hako::image {
namespace {

struct Sink {
    int fd;
    Compression c;
    Sha256 diff, blob;
    uint64_t written = 0;
    z_stream z{};
    ZSTD_CCtx* zc = nullptr;
    std::vector<unsigned char> out = std::vector<unsigned char>(1 << 18);
    int err = 0;

    bool put(const void* p, size_t n) {
        blob.update(p, n);
        written += n;
        if (auto st = sys::write_all(fd, p, n); !st) {
            err = st.error().err;
            return false;
        }
        return true;
    }
    bool feed(const void* p, size_t n, bool end) {
        if (c == Compression::None) return n == 0 || put(p, n);
        if (c == Compression::Gzip) {
            z.next_in = static_cast<Bytef*>(const_cast<void*>(p));
            z.avail_in = static_cast<uInt>(n);
            do {
                z.next_out = out.data();
                z.avail_out = static_cast<uInt>(out.size());
                int rc = deflate(&z, end ? Z_FINISH : Z_NO_FLUSH);
                if (rc == Z_STREAM_ERROR) return false;
                if (!put(out.data(), out.size() - z.avail_out)) return false;
            } while (z.avail_out == 0 || (end && z.avail_in > 0));
            return true;
        }
        ZSTD_inBuffer in{p, n, 0};
        for (;;) {
            ZSTD_outBuffer o{out.data(), out.size(), 0};
            size_t left = ZSTD_compressStream2(zc, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(left)) return false;
            if (!put(out.data(), o.pos)) return false;
            if (end ? left == 0 : in.pos == in.size) return true;
        }
    }
};

la_ssize_t on_write(archive*, void* ud, const void* buf, size_t n) {
    auto* s = static_cast<Sink*>(ud);
    s->diff.update(buf, n);
    return s->feed(buf, n, false) ? static_cast<la_ssize_t>(n) : -1;
}

struct Walker {
    archive* out;
    archive* disk;
    std::string root;
    std::map<std::pair<dev_t, ino_t>, std::string> links;  // first path of a multiply-linked file
    std::string failure;

    bool emit_empty(const std::string& rel, mode_t mode) {
        ArchiveEntry e(archive_entry_new());
        archive_entry_set_pathname(e.get(), rel.c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), mode);
        archive_entry_set_size(e.get(), 0);
        archive_entry_set_mtime(e.get(), 0, 0);
        return archive_write_header(out, e.get()) >= ARCHIVE_WARN;
    }

    bool walk(const std::string& rel) {
        std::string dirpath = rel.empty() ? root : root + "/" + rel;
        DIR* d = opendir(dirpath.c_str());
        if (!d) {
            failure = "open `" + dirpath + "`";
            return false;
        }
        std::vector<std::string> names;
        while (dirent* de = readdir(d)) {
            std::string n = de->d_name;
            if (n != "." && n != "..") names.push_back(n);
        }
        closedir(d);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            std::string r = rel.empty() ? n : rel + "/" + n;
            std::string full = root + "/" + r;
            struct stat st{};
            if (lstat(full.c_str(), &st) < 0) continue;
            if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {  // an overlayfs whiteout
                if (!emit_empty((rel.empty() ? "" : rel + "/") + ".wh." + n, 0644)) return fail(r);
                continue;
            }
            ArchiveEntry e(archive_entry_new());
            archive_entry_copy_sourcepath(e.get(), full.c_str());
            int fd = S_ISREG(st.st_mode) ? ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
            if (archive_read_disk_entry_from_file(disk, e.get(), fd, &st) < ARCHIVE_WARN) {
                if (fd >= 0) ::close(fd);
                return fail(r);
            }
            // (a layer's tar is its content: no access or change times, which
            // reading it would change)
            archive_entry_unset_atime(e.get());
            archive_entry_unset_ctime(e.get());
            archive_entry_unset_birthtime(e.get());
            // (overlayfs's own attributes are not the image's)
            archive_entry_xattr_reset(e.get());
            std::vector<std::pair<std::string, std::string>> keep;
            {
                const char* name;
                const void* value;
                size_t size;
                while (archive_entry_xattr_next(e.get(), &name, &value, &size) == ARCHIVE_OK)
                    if (std::string(name).rfind("trusted.overlay.", 0) != 0)
                        keep.emplace_back(name, std::string(static_cast<const char*>(value), size));
            }
            archive_entry_xattr_clear(e.get());
            for (const auto& [k, v] : keep) archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
            std::string path = S_ISDIR(st.st_mode) ? r + "/" : r;
            archive_entry_set_pathname(e.get(), path.c_str());
            if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                auto key = std::make_pair(st.st_dev, st.st_ino);
                if (auto it = links.find(key); it != links.end()) {
                    archive_entry_set_hardlink(e.get(), it->second.c_str());
                    archive_entry_set_size(e.get(), 0);
                    if (fd >= 0) ::close(fd);
                    if (archive_write_header(out, e.get()) < ARCHIVE_WARN) return fail(r);
                    continue;
                }
                links[key] = r;
            }
            if (archive_write_header(out, e.get()) < ARCHIVE_WARN) {
                if (fd >= 0) ::close(fd);
                return fail(r);
            }
            if (fd >= 0) {
                char buf[1 << 16];
                for (;;) {
                    ssize_t got = ::read(fd, buf, sizeof buf);
                    if (got < 0 && errno == EINTR) continue;
                    if (got <= 0) break;
                    if (archive_write_data(out, buf, static_cast<size_t>(got)) < 0) {
                        ::close(fd);
                        return fail(r);
                    }
                }
                ::close(fd);
            }
            if (S_ISDIR(st.st_mode)) {
                char v[2];
                if (lgetxattr(full.c_str(), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y')
                    if (!emit_empty(r + "/.wh..wh..opq", 0644)) return fail(r);
                if (!walk(r)) return false;
            }
        }
        return true;
    }
    bool fail(const std::string& r) {
        failure = "`" + r + "`: " + archive_message(out);
        return false;
    }
};

}  // namespace

Result<Exported> export_layer(const std::string& dir, int fd, Compression c, int threads) {
    Sink s{fd, c, {}, {}};
    if (c == Compression::Gzip && deflateInit2(&s.z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return error("gzip: deflateInit2");
    std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> zc(nullptr, ZSTD_freeCCtx);
    if (c == Compression::Zstd) {
        zc.reset(ZSTD_createCCtx());
        s.zc = zc.get();
        ZSTD_CCtx_setParameter(s.zc, ZSTD_c_compressionLevel, 3);
        ZSTD_CCtx_setParameter(s.zc, ZSTD_c_nbWorkers, threads);  // (0 where libzstd has no threads)
    }
    struct ZEnd {
        Sink& s;
        ~ZEnd() {
            if (s.c == Compression::Gzip) deflateEnd(&s.z);
        }
    } zend{s};
    ArchiveWriter out(archive_write_new());
    archive_write_set_format_pax_restricted(out.get());
    archive_write_set_bytes_in_last_block(out.get(), 1);
    ArchiveReader disk(archive_read_disk_new());
    if (archive_write_open(out.get(), &s, nullptr, on_write, nullptr) != ARCHIVE_OK)
        return error("tar: " + archive_message(out.get()));
    Walker w{out.get(), disk.get(), dir, {}, {}};
    if (!w.walk("")) return error("export layer `" + dir + "`: " + w.failure);
    if (archive_write_close(out.get()) != ARCHIVE_OK)
        return error("tar: " + archive_message(out.get()));
    if (!s.feed(nullptr, 0, true)) return s.err ? sys_error("write the layer", s.err) : error("compress the layer");
    Exported e;
    e.diff_id = s.diff.hex();
    e.blob_digest = s.blob.hex();
    e.size = s.written;
    return e;
}

}  // namespace hako::image
