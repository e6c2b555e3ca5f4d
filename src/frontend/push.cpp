// hako push: each layer reused where the registry has it (HEAD, or a
// cross-repository mount from the repository it was pulled from), else
// exported from the store and compressed (layers in parallel) and
// uploaded; then the config, and the manifest last.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <mutex>
#include <thread>

#include "common/digest.hpp"
#include "frontend/parallel.hpp"
#include "frontend/progress.hpp"
#include "frontend/pull.hpp"
#include "image/export.hpp"
#include "image/json.hpp"
#include "registry/manifest.hpp"
#include "registry/reference.hpp"
#include "registry/regconf.hpp"

namespace hako::frontend {
namespace {

using json = nlohmann::json;

}  // namespace

Result<std::string> push(image::Store& store, const PushOptions& o) {
    signal(SIGPIPE, SIG_IGN);
    auto img = HAKO_TRY(store.find(o.image));
    std::string dest_text = o.dest;
    if (dest_text.empty()) {
        if (auto r = registry::parse_reference(o.image); r && std::find(img.names.begin(), img.names.end(), r->str()) != img.names.end())
            dest_text = r->str();
        else if (!img.names.empty()) dest_text = img.names.front();
        else return error(fmt::format("push `{}`: the image has no name; give a destination", o.image));
    }
    auto dest = HAKO_TRY(registry::parse_reference(dest_text));
    if (!dest.digest.empty()) return error(fmt::format("push: destination `{}` names a digest; give a tag", dest_text));
    std::string what = fmt::format("push `{}`", dest.str());
    auto conf = HAKO_TRY(registry::load_registries_conf());
    if (const auto* e = conf.find(dest.name()); e && e->blocked)
        return error(fmt::format("{}: registry `{}` is blocked in registries.conf", what, dest.registry));
    auto opts = HAKO_TRY(client_options(o.reg, conf.insecure(dest.registry)));
    registry::Repository repo(dest.registry, dest.repository, opts);
    auto comp = o.compression == "zstd" ? image::Compression::Zstd : image::Compression::Gzip;
    bool docker_types = img.manifest_media_type == registry::media::kDockerManifest && comp == image::Compression::Gzip;

    ProgressBoard board(o.reg.quiet);
    size_t n = img.layers.size();
    struct Done {
        registry::Descriptor desc;
        std::string diff;  // sha256 hex of the tar pushed
    };
    std::vector<Done> done(n);
    std::vector<size_t> lines(n);
    for (size_t i = 0; i < n; ++i) lines[i] = board.add(img.layers[i], 0, "Preparing");
    auto one = [&](size_t i, const std::atomic<bool>&) -> Status {
        auto conn = repo.fork();
        // As pulled: the same compressed blob, if the registry has it or can mount it.
        if (i < img.blobs.size() && !img.blobs[i].digest.empty() && comp == image::Compression::Gzip && !o.force_compression) {
            const auto& b = img.blobs[i];
            bool there = HAKO_TRY(conn.has_blob(b.digest));
            auto slash = b.source.find('/');
            if (!there && slash != std::string::npos && b.source.substr(0, slash) == dest.registry &&
                b.source.substr(slash + 1) != dest.repository) {
                there = HAKO_TRY(conn.mount_blob(b.digest, b.source.substr(slash + 1)));
                if (there) board.status(lines[i], "Mounted from " + b.source.substr(slash + 1));
            }
            if (there) {
                if (board.active()) board.status(lines[i], "Layer already exists");
                done[i] = {{b.media_type, b.digest, b.size, {}, false}, img.layers[i]};
                return {};
            }
        }
        board.status(lines[i], "Compressing");
        auto fd = HAKO_TRY(store.temp_file());
        auto ex = HAKO_TRY(image::export_layer(store.layer_dir(img.layers[i]), fd.get(), comp, 2));
        std::string digest = "sha256:" + ex.blob_digest;
        std::string mt = comp == image::Compression::Zstd ? std::string(registry::media::kOciLayerZstd)
                         : docker_types                   ? std::string(registry::media::kDockerLayer)
                                                          : std::string(registry::media::kOciLayerGzip);
        done[i] = {{mt, digest, static_cast<int64_t>(ex.size), {}, false}, ex.diff_id};
        if (HAKO_TRY(conn.has_blob(digest))) {
            board.status(lines[i], "Layer already exists");
            return {};
        }
        board.status(lines[i], "Uploading");
        HAKO_TRY(conn.upload_blob(digest, fd.get(), ex.size, o.chunk_size));
        board.status(lines[i], "Pushed");
        return {};
    };
    HAKO_TRY_CTX(run_parallel(n, o.max_parallel, one, [&](size_t i) { return fmt::format("layer {}", img.layers[i].substr(0, 12)); }),
                 what);

    // The config: as pulled when every layer is the one it names; else made anew.
    std::vector<std::string> diff_ids;
    for (const auto& d : done) diff_ids.push_back(d.diff);
    bool same = diff_ids == img.layers;
    std::string config = store.config_for(img, diff_ids);
    std::string config_digest = "sha256:" + sha256_hex(config);
    if (!HAKO_TRY_CTX(repo.has_blob(config_digest), what)) {
        auto fd = HAKO_TRY(store.temp_file());
        if (::write(fd.get(), config.data(), config.size()) != static_cast<ssize_t>(config.size()))
            return sys_error("write the config");
        HAKO_TRY_CTX(repo.upload_blob(config_digest, fd.get(), config.size()), what);
    }
    // The manifest: the pulled one byte for byte when nothing changed (same digest).
    std::string manifest, media_type;
    bool all_reused = same && config_digest == img.config_digest && !img.manifest_digest.empty();
    for (size_t i = 0; all_reused && i < n; ++i)
        all_reused = i < img.blobs.size() && done[i].desc.digest == img.blobs[i].digest;
    if (all_reused)
        if (auto m = store.get_blob(img.manifest_digest)) {
            manifest = *m;
            media_type = img.manifest_media_type;
        }
    if (manifest.empty()) {
        media_type = docker_types ? std::string(registry::media::kDockerManifest) : std::string(registry::media::kOciManifest);
        json layers = json::array();
        for (const auto& d : done) layers.push_back({{"mediaType", d.desc.media_type}, {"digest", d.desc.digest}, {"size", d.desc.size}});
        json m = {{"schemaVersion", 2},
                  {"mediaType", media_type},
                  {"config",
                   {{"mediaType", docker_types ? registry::media::kDockerConfig : registry::media::kOciConfig},
                    {"digest", config_digest},
                    {"size", config.size()}}},
                  {"layers", layers}};
        manifest = m.dump();
    }
    HAKO_TRY_CTX(repo.put_manifest(dest.tag, manifest, media_type), what);
    return "sha256:" + sha256_hex(manifest);
}

}  // namespace hako::frontend
