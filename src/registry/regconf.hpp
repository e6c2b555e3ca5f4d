// registries.conf (containers-registries.conf(5), version 2, TOML):
// unqualified-search-registries, [[registry]] (prefix, location, insecure,
// blocked, [[registry.mirror]]), [aliases]. Read from
// $CONTAINERS_REGISTRIES_CONF or /etc/containers/registries.conf, then the
// drop-ins of registries.conf.d/ (by name; later ones win).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "registry/reference.hpp"

namespace hako::registry {

struct Mirror {
    std::string location;
    bool insecure = false;
};

struct RegistryEntry {
    std::string prefix;    // "example.com/foo", "*.example.com" (defaults to location)
    std::string location;  // "internal.example.com/bar"
    bool insecure = false;
    bool blocked = false;
    std::vector<Mirror> mirrors;
};

struct RegistriesConf {
    std::vector<std::string> search;  // unqualified-search-registries
    std::vector<RegistryEntry> registries;
    std::map<std::string, std::string> aliases;  // short name -> reference
    // The entry whose prefix best (longest) matches "host/repo" (nullptr if none).
    [[nodiscard]] const RegistryEntry* find(const std::string& name) const;
    // May `registry` ("host[:port]") be reached in plain HTTP / unverified?
    [[nodiscard]] bool insecure(const std::string& registry) const;
};

// Parse one file's text over `base` (arrays replace, [[registry]] entries
// replace the same prefix, aliases add). `origin` names the file in errors.
Result<RegistriesConf> parse_registries_conf(std::string_view text, const std::string& origin, RegistriesConf base = {});
// The machine's (see above); a missing file is an empty configuration.
Result<RegistriesConf> load_registries_conf();

// Where a pull of `ref` may come from, in order: its mirrors, then the
// registry itself (each with the repository as rewritten by `location`).
struct Source {
    std::string registry;    // "host[:port]"
    std::string repository;  // "library/alpine"
    bool insecure = false;
    bool mirror = false;
};
Result<std::vector<Source>> pull_sources(const RegistriesConf& conf, const Reference& ref);

}  // namespace hako::registry
