// Pulling and pushing images (pull.cpp, push.cpp): the registry client
// composed with the image store.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "image/image.hpp"
#include "registry/auth.hpp"
#include "registry/client.hpp"

namespace hako::frontend {

// What every registry command shares (--tls-verify, --creds, --authfile, ...).
struct RegistryFlags {
    std::optional<bool> tls_verify;  // unset: registries.conf decides
    std::string creds;               // "USER[:PASSWORD]"
    std::string authfile, cert_dir;
    int retries = 3;
    double retry_delay_s = 1.0;
    double timeout_s = 60;  // a stalled transfer
    bool quiet = false;
};

struct PullOptions {
    std::string ref;
    std::string platform;  // "" for this host's
    int max_parallel = 6;
    RegistryFlags reg;
};

// Client options for `registry` from the flags and registries.conf.
Result<registry::ClientOptions> client_options(const RegistryFlags& f, bool insecure);

// Pull `o.ref` into `store` (layers in parallel, each verified); the image.
Result<image::Image> pull(image::Store& store, const PullOptions& o);

struct PushOptions {
    std::string image, dest;  // dest "" = the image's own name
    std::string compression = "gzip";  // gzip | zstd
    bool force_compression = false;    // compress every layer anew (no pulled blob reused)
    uint64_t chunk_size = 0;           // upload in PATCHes of this many bytes (0: one PUT)
    int max_parallel = 6;
    RegistryFlags reg;
};
// The manifest digest pushed.
Result<std::string> push(image::Store& store, const PushOptions& o);

}  // namespace hako::frontend
