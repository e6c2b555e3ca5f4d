// Fuzz: an image archive's index files (image/archive.cpp): docker save's
// manifest.json, an OCI layout's index.json and manifests. Every path they
// yield stays inside the archive: relative, no `..`.
#include <string>
#include <string_view>

#include "image/archive.hpp"

namespace {

void check(const std::string& p) {
    if (p.empty() || p.front() == '/') __builtin_trap();
    if (p == ".." || p.starts_with("../") || p.ends_with("/..") || p.find("/../") != std::string::npos) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace hako::image;
    std::string_view s(reinterpret_cast<const char*>(data), size);
    if (auto m = parse_docker_manifest(s))
        for (const auto& e : *m) {
            check(e.config);
            for (const auto& l : e.layers) check(l);
        }
    if (auto idx = parse_oci_index(s))
        for (const auto& e : *idx) check(e.manifest);
    if (auto m = parse_oci_manifest(s, "manifest")) {
        check(m->config);
        for (const auto& l : m->layers) check(l);
        if (m->blob_digests.size() != m->layers.size()) __builtin_trap();
    }
    if (auto p = archive_path(s, "path")) check(*p);
    if (auto p = blob_path(s)) check(*p);
    return 0;
}
