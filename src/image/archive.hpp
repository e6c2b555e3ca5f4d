// What `hako load` reads from an archive before any layer: docker-archive
// manifest.json and an OCI layout's index.json and manifests, as paths
// checked to stay inside the archive (archive.cpp; fuzzed alone).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hako::image {

struct ArchiveImage {
    std::string config;               // path inside the archive
    std::vector<std::string> layers;  // paths inside the archive, bottom first
    std::vector<std::string> blob_digests;  // per layer: the sha256 hex it must have ("" = unchecked)
    std::vector<std::string> names;
};

// docker save's manifest.json: [{"Config": ..., "RepoTags": [...], "Layers": [...]}].
// Every path must be relative and free of `..` (an error names the entry).
Result<std::vector<ArchiveImage>> parse_docker_manifest(std::string_view text);

// An OCI layout's index.json: each manifest's blob path and its name
// (org.opencontainers.image.ref.name, ":latest" added when untagged).
struct IndexEntry {
    std::string manifest;  // blobs/sha256/<hex>
    std::string name;
};
Result<std::vector<IndexEntry>> parse_oci_index(std::string_view text);

// An OCI image manifest: config and layers as blob paths (names left empty).
Result<ArchiveImage> parse_oci_manifest(std::string_view text, const std::string& what);

// "sha256:<64 hex>" -> "blobs/sha256/<hex>"; anything else is an error.
Result<std::string> blob_path(std::string_view digest);

// A path inside the archive: relative, no `..` component; cleaned ("./a//b" -> "a/b").
Result<std::string> archive_path(std::string_view p, const std::string& what);

}  // namespace hako::image
