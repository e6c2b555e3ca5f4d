// hako pull: a reference resolved (aliases, search registries, mirrors),
// its manifest (an index's for this platform), config, then every layer in
// parallel, each streamed once from the socket through a pipe into the
// store's unpacker (blob digest, decompression, diff id, extraction in one
// pass), verified, and only then the image written.
#include "frontend/pull.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "sys/syscalls.hpp"
#include "frontend/parallel.hpp"
#include "frontend/progress.hpp"
#include "image/json.hpp"
#include "registry/manifest.hpp"
#include "registry/reference.hpp"
#include "registry/regconf.hpp"

namespace hako::frontend {
namespace {

using json = nlohmann::json;
using registry::Reference;

// The references to try for what the user typed, in order.
Result<std::vector<Reference>> candidates(const std::string& text, const registry::RegistriesConf& conf) {
    Reference ref = HAKO_TRY(registry::parse_reference(text));
    if (ref.qualified) return std::vector<Reference>{ref};
    std::string short_name = text.substr(0, text.find_first_of(":@"));
    if (auto it = conf.aliases.find(short_name); it != conf.aliases.end()) {
        Reference a = HAKO_TRY(registry::parse_reference(it->second, false));
        if (!ref.digest.empty()) a.digest = ref.digest, a.tag.clear();
        else if (a.tag.empty() && a.digest.empty()) a.tag = ref.tag;
        return std::vector<Reference>{a};
    }
    if (conf.search.empty()) return std::vector<Reference>{ref};  // docker's: docker.io
    std::vector<Reference> out;
    for (const auto& reg : conf.search) {
        std::string path = text;
        Reference r = HAKO_TRY(registry::parse_reference(reg + "/" + path));
        out.push_back(r);
    }
    return out;
}

struct Source {
    registry::Repository repo;
    registry::Repository::Fetched top;  // what the tag (or digest) names
    std::string name;                   // canonical name of the image (registry/repo)
};

}  // namespace

Result<registry::ClientOptions> client_options(const RegistryFlags& f, bool insecure) {
    registry::ClientOptions c;
    c.tls_verify = f.tls_verify.value_or(true);
    c.insecure = insecure && !f.tls_verify.value_or(false);
    if (!f.cert_dir.empty()) c.cert_dirs = {f.cert_dir};
    if (!f.creds.empty()) {
        auto colon = f.creds.find(':');
        registry::Credentials cr;
        cr.username = f.creds.substr(0, colon);
        if (colon != std::string::npos) cr.password = f.creds.substr(colon + 1);
        if (cr.username.empty()) return error("--creds: USER[:PASSWORD]");
        c.creds = cr;
    }
    c.authfile = f.authfile;
    c.retries = f.retries;
    c.retry_delay = std::chrono::milliseconds(static_cast<int64_t>(f.retry_delay_s * 1000));
    c.io_timeout = std::chrono::milliseconds(static_cast<int64_t>(f.timeout_s * 1000));
    return c;
}

Result<image::Image> pull(image::Store& store, const PullOptions& o) {
    signal(SIGPIPE, SIG_IGN);  // (an unpacker that fails closes its pipe)
    auto held = HAKO_TRY(store.share());  // (its layers and blobs, until the image names them)
    auto conf = HAKO_TRY(registry::load_registries_conf());
    auto want = o.platform.empty() ? registry::host_platform() : HAKO_TRY(registry::parse_platform(o.platform));
    auto refs = HAKO_TRY(candidates(o.ref, conf));
    ProgressBoard board(o.reg.quiet);

    // The first source that has it: mirrors, then the registry itself.
    std::optional<Source> src;
    Reference ref;
    std::string failures;
    for (const auto& r : refs) {
        auto sources = registry::pull_sources(conf, r);
        if (!sources) {
            if (refs.size() == 1) return std::unexpected(sources.error());
            failures += "\n  " + sources.error().what();
            continue;
        }
        for (const auto& s : *sources) {
            auto opts = HAKO_TRY(client_options(o.reg, s.insecure || conf.insecure(s.registry)));
            registry::Repository repo(s.registry, s.repository, opts);
            board.note(fmt::format("Trying to pull {}/{}:{}...", s.registry, s.repository, r.tag_or_digest()));
            auto top = repo.manifest(r.tag_or_digest());
            if (!top) {
                log::debug("{}: {}", s.mirror ? "mirror" : "registry", top.error().what());
                failures += "\n  " + top.error().what();
                continue;
            }
            src.emplace(Source{std::move(repo), std::move(*top), r.name()});
            ref = r;
            break;
        }
        if (src) break;
    }
    if (!src) {
        if (refs.size() == 1 && failures.find('\n', 1) == std::string::npos)
            return error(fmt::format("pull `{}`: {}", o.ref, failures.substr(3)));
        return error(fmt::format("pull `{}`: no source has it:{}", o.ref, failures));
    }
    std::string what = fmt::format("pull `{}`", ref.str());
    auto& repo = src->repo;

    // An index: the manifest for this platform.
    auto top = HAKO_TRY_CTX(registry::parse_manifest(src->top.body, src->top.media_type), what);
    registry::Repository::Fetched mf = src->top;
    auto manifest = top;
    if (top.is_index) {
        auto d = HAKO_TRY_CTX(registry::choose_platform(top, want), what);
        mf = HAKO_TRY_CTX(repo.manifest(d.digest), what);
        manifest = HAKO_TRY_CTX(registry::parse_manifest(mf.body, mf.media_type), what);
        if (manifest.is_index) return error(what + ": an index inside an index is not supported");
    }
    if (manifest.config.size > static_cast<int64_t>(registry::kMaxConfigBytes))
        return error(fmt::format("{}: config {} is too large ({} bytes)", what, manifest.config.digest, manifest.config.size));
    std::string config_text = HAKO_TRY_CTX(repo.small_blob(manifest.config.digest, registry::kMaxConfigBytes), what);
    auto info = HAKO_TRY_CTX(registry::parse_image_config(config_text), what);
    if (info.diff_ids.size() != manifest.layers.size())
        return error(fmt::format("{}: the manifest has {} layers, the config's rootfs.diff_ids {}", what,
                                 manifest.layers.size(), info.diff_ids.size()));
    if (!info.platform.architecture.empty() && info.platform.architecture != want.architecture)
        log::warn("image platform ({}) does not match the expected platform ({})", info.platform.str(), want.str());
    for (const auto& d : info.diff_ids)
        if (d.rfind("sha256:", 0) != 0) return error(fmt::format("{}: diff id `{}` is not sha256", what, d));

    // The layers, max_parallel at a time.
    size_t n = manifest.layers.size();
    std::vector<size_t> lines(n);
    for (size_t i = 0; i < n; ++i) lines[i] = board.add(manifest.layers[i].digest, uint64_t(manifest.layers[i].size));
    auto fetch = [&](size_t i, const std::atomic<bool>& failed) -> Status {
        const auto& desc = manifest.layers[i];
        std::string diff = info.diff_ids[i].substr(7);
        if (desc.digest.rfind("sha256:", 0) != 0) return error(fmt::format("layer {}: not a sha256 digest", desc.digest));
        if (store.has_layer(diff)) {
            board.status(lines[i], "Already exists");
            return {};
        }
        auto lock = HAKO_TRY(store.lock_layer(diff));
        if (store.has_layer(diff)) {  // (another pull fetched it meanwhile)
            board.status(lines[i], "Already exists");
            return {};
        }
        board.status(lines[i], "Downloading");
        auto conn = repo.fork();
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe");
        fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        UniqueFd rd(p[0]);
        Status got;
        std::thread dl([&, wr = p[1]] {
            uint64_t seen = 0;
            got = conn.blob(desc.digest, [&](const char* data, size_t len) -> Status {
                seen += len;
                if (desc.size >= 0 && seen > uint64_t(desc.size))
                    return error(fmt::format("blob {} is larger than its descriptor's {} bytes", desc.digest, desc.size));
                if (failed.load()) return error("cancelled");
                board.bytes(lines[i], len);
                return sys::write_all(wr, data, len);
            });
            ::close(wr);
        });
        auto added = store.add_layer(rd.get(), {}, {desc.digest.substr(7), diff});
        rd.reset();  // (a download still writing gets EPIPE)
        dl.join();
        if (!got) return std::unexpected(got.error());
        if (!added) return std::unexpected(added.error());
        board.status(lines[i], "Pull complete");
        return {};
    };
    HAKO_TRY_CTX(run_parallel(n, o.max_parallel, fetch,
                              [&](size_t i) { return fmt::format("layer {}", manifest.layers[i].digest); }),
                 what);

    // All there: the image.
    image::Image img;
    for (size_t i = 0; i < n; ++i) {
        std::string diff = info.diff_ids[i].substr(7);
        img.layers.push_back(diff);
        img.layer_sizes.push_back(store.known_layer_size(diff));
        img.size += img.layer_sizes.back();
        const auto& d = manifest.layers[i];
        img.blobs.push_back({d.digest, d.size, d.media_type, src->name});
    }
    auto cfg = json::parse(config_text, nullptr, false);
    if (cfg.is_object() && cfg.contains("config")) img.config = image::config_from_json(cfg["config"]);
    if (cfg.is_object() && cfg.contains("created") && cfg["created"].is_string()) img.created = cfg["created"];
    img.architecture = info.platform.architecture;
    img.os = info.platform.os;
    img.variant = info.platform.variant;
    img.config_digest = manifest.config.digest;
    img.manifest_digest = mf.digest;
    img.manifest_media_type = manifest.media_type;
    HAKO_TRY(store.put_blob(manifest.config.digest, config_text));
    HAKO_TRY(store.put_blob(mf.digest, mf.body));
    if (!ref.tag.empty() && ref.digest.empty()) img.names = {ref.name() + ":" + ref.tag};
    img.repo_digests = {ref.name() + "@" + src->top.digest};
    HAKO_TRY(store.save(img));  // (what the same image had stays: its names, its repo digests)
    board.note(fmt::format("Digest: {}", src->top.digest));
    return img;
}

}  // namespace hako::frontend
