// OCI image manifests and indexes, Docker schema 2 manifests and manifest
// lists, image configs (as far as a pull needs them), platforms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hako::registry {

namespace media {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
// What a pull asks for (Accept), best first.
inline constexpr std::string_view kAcceptAll =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
}  // namespace media

// Bounds on what is read whole (a larger one is an error, not an allocation).
inline constexpr size_t kMaxManifestBytes = 4u << 20;
inline constexpr size_t kMaxConfigBytes = 8u << 20;

struct Platform {
    std::string os, architecture, variant;
    [[nodiscard]] std::string str() const;  // "linux/arm64/v8"
};

struct Descriptor {
    std::string media_type;
    std::string digest;  // "sha256:…"
    int64_t size = -1;
    Platform platform;   // in an index
    bool has_platform = false;
};

struct Manifest {
    std::string media_type;
    bool is_index = false;
    Descriptor config;                  // an image manifest's
    std::vector<Descriptor> layers;     // bottom first
    std::vector<Descriptor> manifests;  // an index's
};

// `content_type`: the response's (a manifest's own mediaType field wins).
Result<Manifest> parse_manifest(std::string_view body, std::string_view content_type = {});

// What a pull needs of an image config.
struct ImageConfigInfo {
    Platform platform;
    std::vector<std::string> diff_ids;  // "sha256:…", bottom first
};
Result<ImageConfigInfo> parse_image_config(std::string_view body);

// This machine's platform (linux/amd64, linux/arm64/v8, …).
Platform host_platform();
// "os/arch[/variant]" (or just "arch"), normalised (x86_64 -> amd64, aarch64 -> arm64).
Result<Platform> parse_platform(std::string_view s);
// The manifest of an index for `want`; an error naming the platforms there.
Result<Descriptor> choose_platform(const Manifest& index, const Platform& want);

}  // namespace hako::registry
