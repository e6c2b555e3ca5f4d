// Fuzz: what a registry sends (registry/manifest, auth): manifests,
// indexes and configs, platform choice, WWW-Authenticate challenges,
// registries.conf.
#include <string>

#include "registry/auth.hpp"
#include "registry/manifest.hpp"
#include "registry/regconf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace hako::registry;
    std::string s(reinterpret_cast<const char*>(data), size);
    if (auto m = parse_manifest(s, "application/vnd.oci.image.index.v1+json"); m && m->is_index) {
        (void)choose_platform(*m, host_platform());
        if (auto p = parse_platform("linux/arm64")) (void)choose_platform(*m, *p);
    }
    (void)parse_image_config(s);
    for (const auto& c : parse_challenges(s))
        if (c.scheme.empty()) __builtin_trap();
    (void)base64_decode(s);
    (void)parse_platform(s);
    if (auto conf = parse_registries_conf(s, "fuzz.conf")) {
        if (auto ref = parse_reference("example.com/a/b:c")) (void)pull_sources(*conf, *ref);
        (void)conf->insecure("example.com");
    }
    return 0;
}
