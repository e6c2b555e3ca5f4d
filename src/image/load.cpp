// `hako load`: `docker save` / `podman save` archives (manifest.json,
// RepoTags, layer tars) and OCI image layouts (index.json, blobs/sha256),
// as a tar stream. The archive is unpacked to a scratch directory under the
// store, each layer added (unpacked once, shared), then the images written.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "image/archive.hpp"
#include "image/image.hpp"
#include "image/json.hpp"
#include "image/layer.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::image {
namespace {

// A regular file inside the unpacked archive, opened for reading: the path
// resolved with the archive as its root, so a symlink the archive holds
// cannot lead to a host file.
Result<UniqueFd> open_member(int rootfd, const std::string& path) {
    auto p = HAKO_TRY_CTX(sys::open_in_root(rootfd, path, O_PATH), "`" + path + "`");
    UniqueFd fd(::open(sys::fd_path(p.get()).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) return sys_error("open `" + path + "`");
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) return sys_error("stat `" + path + "`");
    if (!S_ISREG(st.st_mode)) return error(fmt::format("`{}`: not a regular file", path));
    return fd;
}

Result<std::string> read_member(int rootfd, const std::string& path) {
    auto fd = HAKO_TRY(open_member(rootfd, path));
    return sys::read_fd(fd.get(), "`" + path + "`");
}

bool has_member(int rootfd, const char* name) {
    struct stat st{};
    return ::fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

}  // namespace

Result<std::vector<Image>> Store::load_archive(int fd, const Progress& progress) {
    auto held = HAKO_TRY(share());
    std::string tmp = HAKO_TRY(scratch_dir());
    struct Cleanup {
        std::string p;
        ~Cleanup() {
            std::error_code ec;
            std::filesystem::remove_all(p, ec);
        }
    } cleanup{tmp};
    HAKO_TRY_CTX(unpack_layer(fd, tmp, progress), "the archive");
    UniqueFd root(::open(tmp.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open `" + tmp + "`");

    // Each image: its layer files (bottom first), config, names.
    std::vector<ArchiveImage> entries;
    if (has_member(root.get(), "manifest.json")) {  // docker-archive
        std::string text = HAKO_TRY(read_member(root.get(), "manifest.json"));
        entries = HAKO_TRY(parse_docker_manifest(text));
    } else if (has_member(root.get(), "index.json")) {  // OCI layout
        std::string text = HAKO_TRY(read_member(root.get(), "index.json"));
        for (auto& ie : HAKO_TRY(parse_oci_index(text))) {
            std::string manifest = HAKO_TRY(read_member(root.get(), ie.manifest));
            auto e = HAKO_TRY(parse_oci_manifest(manifest, ie.manifest));
            if (!ie.name.empty()) e.names.push_back(ie.name);
            entries.push_back(std::move(e));
        }
    } else {
        return error("not an image archive: no manifest.json (docker save) or index.json (OCI layout); "
                     "for a root file system tarball use `hako import`");
    }
    std::vector<Image> out;
    for (auto& e : entries) {
        auto config_text = HAKO_TRY(read_member(root.get(), e.config));
        auto config = nlohmann::json::parse(config_text, nullptr, false);
        if (config.is_discarded() || !config.is_object()) return error(fmt::format("`{}`: not a JSON object", e.config));
        // The config's diff ids: each layer's uncompressed digest, verified.
        auto diff_ids = config.contains("rootfs") ? string_list(config["rootfs"], "diff_ids") : std::vector<std::string>{};
        Image img;
        for (size_t i = 0; i < e.layers.size(); ++i) {
            const auto& f = e.layers[i];
            Store::Expect expect{e.blob_digests[i], ""};
            if (i < diff_ids.size() && diff_ids[i].rfind("sha256:", 0) == 0) expect.diff = diff_ids[i].substr(7);
            auto lfd = HAKO_TRY_CTX(open_member(root.get(), f), "layer");
            std::string digest = HAKO_TRY_CTX(add_layer(lfd.get(), {}, expect), "layer `" + f + "`");
            img.layers.push_back(digest);
            img.layer_sizes.push_back(added_size(digest));
            img.size += img.layer_sizes.back();
        }
        if (config.contains("config")) img.config = config_from_json(config["config"]);
        for (auto& n : e.names) img.names.push_back(normalize_name(n));
        HAKO_TRY(save(img));
        out.push_back(std::move(img));
    }
    return out;
}

}  // namespace hako::image
