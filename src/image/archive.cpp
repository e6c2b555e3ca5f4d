// Parsing an image archive's index files (docker-archive manifest.json,
// OCI index.json and manifests) into paths that cannot leave the archive.
#include "image/archive.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "image/json.hpp"

namespace hako::image {
namespace {

using json = nlohmann::json;

Result<json> parse(std::string_view text, const std::string& what) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return error(fmt::format("{}: not JSON", what));
    return j;
}

}  // namespace

Result<std::string> archive_path(std::string_view p, const std::string& what) {
    if (p.empty()) return error(fmt::format("{}: an empty path", what));
    if (p.front() == '/') return error(fmt::format("{}: `{}` is absolute; paths in an archive are relative", what, p));
    std::string out;
    size_t i = 0;
    while (i <= p.size()) {
        size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        std::string_view c = p.substr(i, j - i);
        if (c == "..") return error(fmt::format("{}: `{}` leaves the archive (`..`)", what, p));
        if (!c.empty() && c != ".") {
            if (!out.empty()) out += '/';
            out += c;
        }
        i = j + 1;
    }
    if (out.empty()) return error(fmt::format("{}: `{}` names the archive itself", what, p));
    if (out.find('\0') != std::string::npos) return error(fmt::format("{}: a path with a NUL byte", what));
    return out;
}

Result<std::string> blob_path(std::string_view digest) {
    constexpr std::string_view prefix = "sha256:";
    bool ok = digest.size() == prefix.size() + 64 && digest.substr(0, prefix.size()) == prefix;
    for (size_t i = prefix.size(); ok && i < digest.size(); ++i)
        ok = (digest[i] >= '0' && digest[i] <= '9') || (digest[i] >= 'a' && digest[i] <= 'f');
    if (!ok) return error(fmt::format("digest `{}`: expected sha256: and 64 lower-case hex digits", digest));
    return "blobs/sha256/" + std::string(digest.substr(prefix.size()));
}

Result<std::vector<ArchiveImage>> parse_docker_manifest(std::string_view text) {
    auto manifest = HAKO_TRY(parse(text, "manifest.json"));
    if (!manifest.is_array()) return error("manifest.json: expected an array");
    std::vector<ArchiveImage> out;
    for (size_t i = 0; i < manifest.size(); ++i) {
        const auto& m = manifest[i];
        std::string what = fmt::format("manifest.json[{}]", i);
        if (!m.is_object() || !m.contains("Config") || !m["Config"].is_string())
            return error(what + ": an entry without Config");
        ArchiveImage e;
        e.config = HAKO_TRY(archive_path(m["Config"].get<std::string>(), what + ".Config"));
        auto layers = string_list(m, "Layers");
        for (size_t k = 0; k < layers.size(); ++k) {
            e.layers.push_back(HAKO_TRY(archive_path(layers[k], fmt::format("{}.Layers[{}]", what, k))));
            e.blob_digests.emplace_back();
        }
        e.names = string_list(m, "RepoTags");
        out.push_back(std::move(e));
    }
    return out;
}

Result<std::vector<IndexEntry>> parse_oci_index(std::string_view text) {
    auto index = HAKO_TRY(parse(text, "index.json"));
    if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
        return error("index.json: no manifests");
    std::vector<IndexEntry> out;
    const auto& ms = index["manifests"];
    for (size_t i = 0; i < ms.size(); ++i) {
        const auto& desc = ms[i];
        std::string what = fmt::format("index.json: manifests[{}]", i);
        if (!desc.is_object() || !desc.contains("digest") || !desc["digest"].is_string())
            return error(what + ": no digest");
        IndexEntry e;
        e.manifest = HAKO_TRY_CTX(blob_path(desc["digest"].get<std::string>()), what);
        if (desc.contains("annotations") && desc["annotations"].is_object()) {
            const auto& a = desc["annotations"];
            auto it = a.find("org.opencontainers.image.ref.name");
            if (it != a.end() && it->is_string() && !it->get<std::string>().empty()) {
                e.name = it->get<std::string>();
                if (e.name.find(':') == std::string::npos) e.name += ":latest";
            }
        }
        out.push_back(std::move(e));
    }
    return out;
}

Result<ArchiveImage> parse_oci_manifest(std::string_view text, const std::string& what) {
    auto m = HAKO_TRY(parse(text, what));
    if (!m.is_object()) return error(what + ": expected an object");
    if (m.contains("manifests")) return error(what + ": nested indexes are not supported");
    auto digest_of = [&](const json& d, const std::string& field) -> Result<std::string> {
        if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string())
            return error(fmt::format("{}: {}: no digest", what, field));
        return d["digest"].get<std::string>();
    };
    if (!m.contains("config")) return error(what + ": no config");
    ArchiveImage e;
    std::string config = HAKO_TRY(digest_of(m["config"], "config"));
    e.config = HAKO_TRY_CTX(blob_path(config), what + ": config");
    if (m.contains("layers")) {
        if (!m["layers"].is_array()) return error(what + ": layers: expected an array");
        for (size_t i = 0; i < m["layers"].size(); ++i) {
            std::string field = fmt::format("layers[{}]", i);
            std::string d = HAKO_TRY(digest_of(m["layers"][i], field));
            e.layers.push_back(HAKO_TRY_CTX(blob_path(d), what + ": " + field));
            e.blob_digests.push_back(d.substr(7));
        }
    }
    return e;
}

}  // namespace hako::image
