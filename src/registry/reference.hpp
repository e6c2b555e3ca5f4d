// Image references as docker reads them: `alpine` is
// docker.io/library/alpine:latest, a first component with `.` or `:` (or
// `localhost`, or upper case) is a registry, `name@sha256:…` is by digest.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hako::registry {

inline constexpr std::string_view kDockerHub = "docker.io";

struct Reference {
    std::string registry;    // "docker.io", "127.0.0.1:5000", "quay.io"
    std::string repository;  // "library/alpine"
    std::string tag;         // "latest" (may be "" when a digest is given)
    std::string digest;      // "sha256:<64 hex>" or ""
    bool qualified = false;  // the registry was written, not implied

    // "docker.io/library/alpine"
    [[nodiscard]] std::string name() const { return registry + "/" + repository; }
    // name[:tag][@digest]: the canonical form (what the store names images)
    [[nodiscard]] std::string str() const;
    // What the registry is asked for: the digest if any, else the tag.
    [[nodiscard]] std::string tag_or_digest() const { return digest.empty() ? tag : digest; }
};

// Parse `s`; without tag or digest the tag is "latest" (default_tag), or ""
// with default_tag false.
Result<Reference> parse_reference(std::string_view s, bool default_tag = true);

// docker's short form for display: docker.io/library/alpine:3 -> alpine:3,
// docker.io/user/app -> user/app; others unchanged.
std::string familiar(std::string_view canonical);

// A digest "sha256:<64 lower hex>" (or another algorithm with its hex).
bool valid_digest(std::string_view d);

}  // namespace hako::registry
