// `hako save`: images as a `docker save` archive or an OCI image layout in
// a tar (layers exported from the store; configs as pulled, or made anew
// when an exported layer's digest differs from the one recorded).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/digest.hpp"
#include "image/archive_ptr.hpp"
#include "image/export.hpp"
#include "image/image.hpp"
#include "image/layer.hpp"
#include "image/json.hpp"
#include "sys/syscalls.hpp"

namespace hako::image {
namespace {

using json = nlohmann::json;


class TarOut {
public:
    explicit TarOut(int fd) : a_(archive_write_new()) {
        archive_write_set_format_pax_restricted(a_.get());
        archive_write_open_fd(a_.get(), fd);
    }
    Status add(const std::string& name, std::string_view data) {
        HAKO_TRY(head(name, data.size()));
        if (!data.empty() && archive_write_data(a_.get(), data.data(), data.size()) < 0) return fail(name);
        return {};
    }
    Status add_fd(const std::string& name, int fd, uint64_t size) {
        HAKO_TRY(head(name, size));
        char buf[1 << 16];
        for (uint64_t off = 0; off < size;) {
            ssize_t n = pread(fd, buf, std::min<uint64_t>(sizeof buf, size - off), static_cast<off_t>(off));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return sys_error("read `" + name + "`", n == 0 ? EIO : errno);
            if (archive_write_data(a_.get(), buf, static_cast<size_t>(n)) < 0) return fail(name);
            off += static_cast<uint64_t>(n);
        }
        return {};
    }
    Status dir(const std::string& name) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        int rc = archive_write_header(a_.get(), e);
        archive_entry_free(e);
        return rc < ARCHIVE_WARN ? fail(name) : Status{};
    }
    Status close() { return archive_write_close(a_.get()) == ARCHIVE_OK ? Status{} : fail("the archive"); }

private:
    Status head(const std::string& name, uint64_t size) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, static_cast<la_int64_t>(size));
        int rc = archive_write_header(a_.get(), e);
        archive_entry_free(e);
        return rc < ARCHIVE_WARN ? fail(name) : Status{};
    }
    Status fail(const std::string& what) {
        return error(fmt::format("write {}: {}", what, archive_message(a_.get())));
    }
    ArchiveWriter a_;
};

}  // namespace

std::string Store::config_for(const Image& img, const std::vector<std::string>& diff_ids) const {
    if (diff_ids == img.layers && !img.config_digest.empty())
        if (auto c = get_blob(img.config_digest)) return *c;
    json ids = json::array();
    for (const auto& d : diff_ids) ids.push_back("sha256:" + d);
    json c = {{"architecture", img.architecture.empty() ? "amd64" : img.architecture},
              {"os", img.os.empty() ? "linux" : img.os},
              {"config", config_to_json(img.config)},
              {"rootfs", {{"type", "layers"}, {"diff_ids", ids}}}};
    if (!img.created.empty()) c["created"] = img.created;
    if (!img.variant.empty()) c["variant"] = img.variant;
    c["history"] = history_to_json(history(img));  // (one entry per layer at least: tools check)
    return c.dump();
}

Status Store::save_built(Image& img) {
    img.config_digest.clear();
    img.repo_digests.clear();
    img.blobs.clear();
    img.manifest_digest.clear();
    img.manifest_media_type.clear();
    std::string text = config_for(img, img.layers);
    img.config_digest = "sha256:" + sha256_hex(text);
    HAKO_TRY(put_blob(img.config_digest, text));
    return save(img, /*keep_names=*/true);
}

Status Store::save_archive(const std::vector<Image>& imgs, const std::string& path, ArchiveFormat f) const {
    // An anonymous file in the destination's directory, linked in when whole:
    // a failure (or kill -9) leaves nothing behind.
    UniqueFd out;
    std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
    if (path == "-") out = UniqueFd(dup(1));
    else out = UniqueFd(::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
    if (!out) return sys_error("create a file in `" + dir + "`");
    TarOut tar(out.get());
    bool oci = f == ArchiveFormat::Oci;
    Compression comp = oci ? Compression::Gzip : Compression::None;
    std::map<std::string, Exported> exported;  // layer -> as written (shared layers once)
    std::set<std::string> written;             // blob names in the archive
    json docker_manifest = json::array(), index_manifests = json::array();
    if (oci) HAKO_TRY(tar.dir("blobs/sha256/"));
    for (const auto& img : imgs) {
        std::vector<std::string> diff_ids, layer_names;
        json oci_layers = json::array();
        for (const auto& l : img.layers) {
            auto it = exported.find(l);
            if (it == exported.end()) {
                auto t = HAKO_TRY(temp_file());
                auto ex = HAKO_TRY(export_layer(layer_dir(l), t.get(), comp));
                std::string name = oci ? "blobs/sha256/" + ex.blob_digest : ex.diff_id + "/layer.tar";
                if (written.insert(name).second) {
                    if (!oci) HAKO_TRY(tar.dir(ex.diff_id + "/"));
                    HAKO_TRY(tar.add_fd(name, t.get(), ex.size));
                }
                it = exported.emplace(l, ex).first;
            }
            diff_ids.push_back(it->second.diff_id);
            layer_names.push_back(oci ? "blobs/sha256/" + it->second.blob_digest : it->second.diff_id + "/layer.tar");
            oci_layers.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                  {"digest", "sha256:" + it->second.blob_digest},
                                  {"size", it->second.size}});
        }
        std::string config = config_for(img, diff_ids);
        std::string cdigest = sha256_hex(config);
        std::vector<std::string> tags;
        for (const auto& n : img.names) tags.push_back(display_name(n));
        if (!oci) {
            if (written.insert(cdigest + ".json").second) HAKO_TRY(tar.add(cdigest + ".json", config));
            docker_manifest.push_back({{"Config", cdigest + ".json"}, {"RepoTags", tags}, {"Layers", layer_names}});
            continue;
        }
        if (written.insert("blobs/sha256/" + cdigest).second) HAKO_TRY(tar.add("blobs/sha256/" + cdigest, config));
        json m = {{"schemaVersion", 2},
                  {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                  {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", "sha256:" + cdigest}, {"size", config.size()}}},
                  {"layers", oci_layers}};
        std::string mtext = m.dump();
        std::string mdigest = sha256_hex(mtext);
        if (written.insert("blobs/sha256/" + mdigest).second) HAKO_TRY(tar.add("blobs/sha256/" + mdigest, mtext));
        json desc = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"}, {"digest", "sha256:" + mdigest}, {"size", mtext.size()}};
        if (tags.empty()) index_manifests.push_back(desc);
        for (const auto& n : img.names) {
            json d = desc;
            d["annotations"] = {{"org.opencontainers.image.ref.name", display_name(n)}};
            index_manifests.push_back(d);
        }
    }
    if (oci) {
        HAKO_TRY(tar.add("oci-layout", R"({"imageLayoutVersion": "1.0.0"})"));
        HAKO_TRY(tar.add("index.json", json({{"schemaVersion", 2}, {"manifests", index_manifests}}).dump()));
    } else {
        HAKO_TRY(tar.add("manifest.json", docker_manifest.dump()));
    }
    HAKO_TRY(tar.close());
    if (path != "-") {
        if (fsync(out.get()) < 0) return sys_error("fsync `" + path + "`");
        std::string tmp = path + ".tmp-" + std::to_string(getpid());
        std::string proc = "/proc/self/fd/" + std::to_string(out.get());
        unlink(tmp.c_str());
        if (linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) < 0) return sys_error("link `" + tmp + "`");
        if (rename(tmp.c_str(), path.c_str()) < 0) {
            int e = errno;
            unlink(tmp.c_str());
            return sys_error("rename to `" + path + "`", e);
        }
    }
    return {};
}

}  // namespace hako::image
