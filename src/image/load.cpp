// `hako load`: `docker save` / `podman save` archives (manifest.json,
// RepoTags, layer tars) and OCI image layouts (index.json, blobs/sha256),
// as a tar stream. The archive is unpacked to a scratch directory under the
// store, each layer added (unpacked once, shared), then the images written.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "image/image.hpp"
#include "image/json.hpp"
#include "image/layer.hpp"
#include "sys/syscalls.hpp"

namespace hako::image {
namespace {

using json = nlohmann::json;

Result<json> read_json(const std::string& path) {
    auto text = HAKO_TRY(sys::read_file(path));
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return error(fmt::format("`{}`: not JSON", std::filesystem::path(path).filename().string()));
    return j;
}

std::string blob(const std::string& dir, const std::string& digest) {
    auto colon = digest.find(':');
    return dir + "/blobs/" + digest.substr(0, colon) + "/" + digest.substr(colon + 1);
}

}  // namespace

Result<std::vector<Image>> Store::load_archive(int fd, const Progress& progress) {
    std::string tmp = HAKO_TRY(scratch_dir());
    struct Cleanup {
        std::string p;
        ~Cleanup() {
            std::error_code ec;
            std::filesystem::remove_all(p, ec);
        }
    } cleanup{tmp};
    HAKO_TRY_CTX(unpack_layer(fd, tmp, progress), "the archive");

    // Each image: its layer files (bottom first), config JSON, names.
    struct Entry {
        std::vector<std::string> layer_files;
        std::vector<Store::Expect> expect;  // per layer
        json config;
        std::vector<std::string> names;
    };
    std::vector<Entry> entries;
    if (sys::path_exists(tmp + "/manifest.json")) {  // docker-archive
        auto manifest = HAKO_TRY(read_json(tmp + "/manifest.json"));
        if (!manifest.is_array()) return error("manifest.json: expected an array");
        for (const auto& m : manifest) {
            Entry e;
            if (!m.is_object() || !m.contains("Config") || !m["Config"].is_string())
                return error("manifest.json: an entry without Config");
            e.config = HAKO_TRY(read_json(tmp + "/" + m["Config"].get<std::string>()));
            for (const auto& l : string_list(m, "Layers")) e.layer_files.push_back(tmp + "/" + l);
            e.names = string_list(m, "RepoTags");
            entries.push_back(std::move(e));
        }
    } else if (sys::path_exists(tmp + "/index.json")) {  // OCI layout
        auto index = HAKO_TRY(read_json(tmp + "/index.json"));
        if (!index.contains("manifests") || !index["manifests"].is_array())
            return error("index.json: no manifests");
        for (const auto& desc : index["manifests"]) {
            Entry e;
            auto manifest = HAKO_TRY(read_json(blob(tmp, desc.value("digest", ""))));
            if (manifest.contains("manifests")) return error("index.json: nested indexes are not supported");
            e.config = HAKO_TRY(read_json(blob(tmp, manifest["config"].value("digest", ""))));
            for (const auto& l : manifest["layers"]) {
                std::string d = l.value("digest", "");
                e.layer_files.push_back(blob(tmp, d));
                e.expect.push_back({d.rfind("sha256:", 0) == 0 ? d.substr(7) : "", ""});
            }
            if (desc.contains("annotations") && desc["annotations"].is_object()) {
                std::string ref = desc["annotations"].value("org.opencontainers.image.ref.name", "");
                if (!ref.empty()) e.names.push_back(ref.find(':') == std::string::npos ? ref + ":latest" : ref);
            }
            entries.push_back(std::move(e));
        }
    } else {
        return error("not an image archive: no manifest.json (docker save) or index.json (OCI layout); "
                     "for a root file system tarball use `hako import`");
    }
    std::vector<Image> out;
    for (auto& e : entries) {
        // The config's diff ids: each layer's uncompressed digest, verified.
        auto diff_ids = e.config.contains("rootfs") ? string_list(e.config["rootfs"], "diff_ids") : std::vector<std::string>{};
        e.expect.resize(e.layer_files.size());
        for (size_t i = 0; i < e.layer_files.size() && i < diff_ids.size(); ++i)
            if (diff_ids[i].rfind("sha256:", 0) == 0) e.expect[i].diff = diff_ids[i].substr(7);
        Image img;
        for (size_t i = 0; i < e.layer_files.size(); ++i) {
            const auto& f = e.layer_files[i];
            UniqueFd lfd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
            if (!lfd) return sys_error("open layer `" + f.substr(tmp.size() + 1) + "`");
            std::string digest =
                HAKO_TRY_CTX(add_layer(lfd.get(), {}, e.expect[i]), "layer `" + f.substr(tmp.size() + 1) + "`");
            img.layers.push_back(digest);
            img.layer_sizes.push_back(added_size(digest));
            img.size += img.layer_sizes.back();
        }
        if (e.config.is_object() && e.config.contains("config")) img.config = config_from_json(e.config["config"]);
        for (auto& n : e.names) img.names.push_back(normalize_name(n));
        HAKO_TRY(save(img));
        out.push_back(std::move(img));
    }
    return out;
}

}  // namespace hako::image
