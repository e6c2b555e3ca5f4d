// Manifest, index and config parsing (outside input: every field checked).
#include "registry/manifest.hpp"

#include <sys/utsname.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "registry/reference.hpp"

namespace hako::registry {
namespace {

using json = nlohmann::json;

std::string str_field(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string norm_arch(std::string a) {
    if (a == "x86_64" || a == "x86-64") return "amd64";
    if (a == "aarch64") return "arm64";
    if (a == "i386" || a == "i686") return "386";
    if (a == "armhf" || a == "armv7l") return "arm";
    return a;
}

Result<Descriptor> descriptor(const json& j, const char* where) {
    if (!j.is_object()) return error(fmt::format("{}: a descriptor is not an object", where));
    Descriptor d;
    d.media_type = str_field(j, "mediaType");
    d.digest = str_field(j, "digest");
    if (!valid_digest(d.digest)) return error(fmt::format("{}: invalid digest `{}`", where, d.digest));
    auto size = j.find("size");
    if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
        return error(fmt::format("{}: descriptor {} has no valid size", where, d.digest));
    d.size = size->get<int64_t>();
    if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
        d.has_platform = true;
        d.platform.os = str_field(*p, "os");
        d.platform.architecture = norm_arch(str_field(*p, "architecture"));
        d.platform.variant = str_field(*p, "variant");
    }
    return d;
}

}  // namespace

std::string Platform::str() const {
    std::string s = os + "/" + architecture;
    if (!variant.empty()) s += "/" + variant;
    return s;
}

Result<Manifest> parse_manifest(std::string_view body, std::string_view content_type) {
    if (body.size() > kMaxManifestBytes) return error("manifest: larger than 4 MiB");
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("manifest: not a JSON object");
    Manifest m;
    m.media_type = str_field(j, "mediaType");
    if (m.media_type.empty()) {
        m.media_type = std::string(content_type.substr(0, content_type.find(';')));
        while (!m.media_type.empty() && m.media_type.back() == ' ') m.media_type.pop_back();
    }
    if (j.contains("schemaVersion") && j["schemaVersion"].is_number_integer() && j["schemaVersion"].get<int>() == 1)
        return error("manifest: Docker schema 1 (deprecated, unsigned or signed) is not supported");
    bool has_manifests = j.contains("manifests");
    if (m.media_type.empty()) m.media_type = std::string(has_manifests ? media::kOciIndex : media::kOciManifest);
    if (m.media_type == media::kOciIndex || m.media_type == media::kDockerList) {
        m.is_index = true;
        auto list = j.find("manifests");
        if (list == j.end() || !list->is_array()) return error("index: no manifests array");
        for (const auto& d : *list) m.manifests.push_back(HAKO_TRY(descriptor(d, "index")));
        return m;
    }
    if (m.media_type != media::kOciManifest && m.media_type != media::kDockerManifest)
        return error(fmt::format("manifest: unsupported media type `{}`", m.media_type));
    auto cfg = j.find("config");
    if (cfg == j.end()) return error("manifest: no config");
    m.config = HAKO_TRY(descriptor(*cfg, "manifest config"));
    auto layers = j.find("layers");
    if (layers == j.end() || !layers->is_array()) return error("manifest: no layers array");
    for (const auto& d : *layers) m.layers.push_back(HAKO_TRY(descriptor(d, "manifest layers")));
    return m;
}

Result<ImageConfigInfo> parse_image_config(std::string_view body) {
    if (body.size() > kMaxConfigBytes) return error("image config: larger than 8 MiB");
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("image config: not a JSON object");
    ImageConfigInfo c;
    c.platform.os = str_field(j, "os");
    c.platform.architecture = norm_arch(str_field(j, "architecture"));
    c.platform.variant = str_field(j, "variant");
    auto rootfs = j.find("rootfs");
    if (rootfs == j.end() || !rootfs->is_object()) return error("image config: no rootfs");
    auto ids = rootfs->find("diff_ids");
    if (ids == rootfs->end() || !ids->is_array()) return error("image config: no rootfs.diff_ids");
    for (const auto& d : *ids) {
        if (!d.is_string() || !valid_digest(d.get<std::string>())) return error("image config: invalid diff id");
        c.diff_ids.push_back(d.get<std::string>());
    }
    return c;
}

Platform host_platform() {
    Platform p{"linux", "amd64", ""};
    utsname u{};
    if (uname(&u) == 0) p.architecture = norm_arch(u.machine);
    if (p.architecture == "arm64") p.variant = "v8";
    if (p.architecture == "arm") p.variant = "v7";
    return p;
}

Result<Platform> parse_platform(std::string_view s) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        auto sl = s.find('/', start);
        parts.emplace_back(s.substr(start, sl == std::string_view::npos ? sl : sl - start));
        if (sl == std::string_view::npos) break;
        start = sl + 1;
    }
    for (const auto& p : parts)
        if (p.empty()) return error(fmt::format("invalid platform `{}` (os/arch[/variant])", s));
    Platform out;
    if (parts.size() == 1) out = {"linux", norm_arch(parts[0]), ""};
    else if (parts.size() <= 3) out = {parts[0], norm_arch(parts[1]), parts.size() == 3 ? parts[2] : ""};
    else return error(fmt::format("invalid platform `{}` (os/arch[/variant])", s));
    if (out.architecture == "arm64" && out.variant.empty()) out.variant = "v8";
    return out;
}

Result<Descriptor> choose_platform(const Manifest& index, const Platform& want) {
    auto variant_ok = [&](const Platform& p) {
        if (want.variant == p.variant) return true;
        // arm64's only variant is v8: an index may leave it out.
        return want.architecture == "arm64" && (p.variant.empty() || want.variant.empty());
    };
    const Descriptor* loose = nullptr;
    for (const auto& d : index.manifests) {
        if (!d.has_platform || d.platform.os != want.os || d.platform.architecture != want.architecture) continue;
        if (variant_ok(d.platform)) return d;
        if (want.variant.empty() && !loose) loose = &d;
    }
    if (loose) return *loose;
    std::string avail;
    for (const auto& d : index.manifests)
        if (d.has_platform) avail += (avail.empty() ? "" : ", ") + d.platform.str();
    return error(fmt::format("no image for {} in the index (it has: {})", want.str(), avail.empty() ? "no platforms" : avail));
}

}  // namespace hako::registry
