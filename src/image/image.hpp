// The local image store of `hako` (default /var/lib/hako):
//
//   <root>/layers/<sha256>/      a layer, unpacked once, shared by every image
//                                and container using it (overlayfs lower dir;
//                                whiteouts as overlayfs's 0:0 devices and
//                                opaque xattrs)
//   <root>/images/<id>.json      an image: names, layers (bottom first),
//                                config (Env, Cmd, Entrypoint, WorkingDir, User)
//   <root>/layers/.tmp-<pid>-*   an unpack in progress (renamed into place when
//                                complete and verified; a dead pid's is removed)
//
// An image's JSON is written (atomically) only after all its layers are in
// place, so an import killed at any point leaves no broken or listed image.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace hako::image {

struct Config {
    std::vector<std::string> env, cmd, entrypoint;
    std::string working_dir, user;
    std::vector<std::string> exposed_ports;  // "80/tcp" (the keys of ExposedPorts)
};

struct Image {
    std::string id;                   // sha256 hex of the image's config JSON
    std::vector<std::string> names;   // "busybox:latest"
    std::vector<std::string> layers;  // sha256 hex, bottom first
    Config config;
    std::string created;              // RFC 3339
    uint64_t size = 0;                // bytes unpacked
};

// "busybox" -> "busybox:latest"; a name with a tag or digest stays.
std::string normalize_name(const std::string& name);

// Progress of a long read: bytes so far (called now and then).
using Progress = std::function<void(uint64_t bytes)>;

class Store {
public:
    explicit Store(std::string root);
    [[nodiscard]] const std::string& root() const { return root_; }
    [[nodiscard]] std::string layer_dir(const std::string& digest) const;

    // A root file system tarball (plain, gzip, zstd, xz, bzip2) from `fd` as
    // a one-layer image named `name` ("" for none).
    Result<Image> import_tarball(int fd, const std::string& name, const Progress& progress = {});
    // `docker save` / `podman save` archives and OCI image layouts (tar).
    Result<std::vector<Image>> load_archive(int fd, const Progress& progress = {});

    // By name (busybox, busybox:latest) or id (or an unambiguous id prefix).
    Result<Image> find(const std::string& ref) const;
    Result<std::vector<Image>> list() const;
    // Remove an image (names and JSON) and the layers no image uses any more.
    Status remove(const Image& img);
    // The built-in busybox image, made from the host's busybox-static.
    Result<Image> builtin_busybox();

    // Write an image: its names are taken from any other image; with
    // keep_names, the names the same image had stay too (a new tag adds).
    Status save(Image& img, bool keep_names = true);
    // Unpack one layer tarball stream into the store; returns its digest
    // (the diff id: sha256 of the uncompressed tar). Digests the source
    // promises (sha256 hex, "" for none) are verified: a mismatch is an
    // error and nothing is kept.
    struct Expect {
        std::string blob;  // of the stream as stored (an OCI blob's name)
        std::string diff;  // of the uncompressed tar (config's rootfs.diff_ids)
    };
    Result<std::string> add_layer(int fd, const Progress& progress, const Expect& expect = {});
    // Layers that no image names (removed by remove()).
    Status prune_layers();

private:
    void clean_stale_tmp() const;
    // A new `layers/.tmp-<pid>-…` (stale ones of dead pids removed first).
    Result<std::string> scratch_dir() const;
    // `tmp` becomes layers/<digest>, or goes if that layer is there already.
    Status commit_layer(const std::string& tmp, const std::string& digest) const;
    std::string root_;
    std::map<std::string, uint64_t> sizes_;  // of the layers added by this Store
};

}  // namespace hako::image
