// The local image store of `hako` (default /var/lib/hako):
//
//   <root>/layers/<sha256>/      a layer, unpacked once, shared by every image
//                                and container using it (overlayfs lower dir;
//                                whiteouts as overlayfs's 0:0 devices and
//                                opaque xattrs)
//   <root>/images/<id>.json      an image: names, layers (bottom first),
//                                config (Env, Cmd, Entrypoint, WorkingDir, User)
//   <root>/layers/.tmp-<pid>-*   an unpack in progress (renamed into place when
//                                complete and verified), or a layer being
//                                removed (renamed out of place first); a dead
//                                pid's is removed
//   <root>/store.lock            shared by every process adding to the store
//                                (pull, load, import, build, commit, run's
//                                image lookup), exclusive while one removes
//                                (rmi, prune): a layer or blob just added and
//                                not yet named by an image is never pruned
//
// An image's JSON is written (atomically) only after all its layers are in
// place, so an import killed at any point leaves no broken or listed image;
// a layer is renamed away before it is deleted, so a removal killed half-way
// leaves no half layer under a layer's name.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "sys/fd.hpp"

namespace hako::image {

// An image's HEALTHCHECK (docker's Healthcheck; durations in nanoseconds,
// 0: the default).
struct Healthcheck {
    std::vector<std::string> test;  // ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]; empty: inherit
    int64_t interval = 0, timeout = 0, start_period = 0;
    int retries = 0;
    bool operator==(const Healthcheck&) const = default;
};

struct Config {
    std::vector<std::string> env, cmd, entrypoint;
    std::string working_dir, user;
    std::vector<std::string> exposed_ports;  // "80/tcp" (the keys of ExposedPorts)
    std::vector<std::string> volumes;        // "/data" (the keys of Volumes)
    std::map<std::string, std::string> labels;
    std::string stop_signal;                 // "SIGQUIT"; empty: SIGTERM
    std::optional<Healthcheck> healthcheck;
    std::vector<std::string> shell;          // SHELL (docker's field; empty: /bin/sh -c)
    std::vector<std::string> onbuild;        // ONBUILD triggers (docker's field), as written
};

// One entry of an image's history (the config's "history").
struct History {
    std::string created, created_by, comment;
    bool empty_layer = false;
};

// A layer as a registry stored it (compressed): what a push may reuse.
struct BlobRef {
    std::string digest;      // "sha256:…"
    int64_t size = 0;
    std::string media_type;
    std::string source;      // "registry/repository" it came from
};

struct Image {
    std::string id;                   // sha256 hex: of the config blob (pulled), or of config+layers
    std::vector<std::string> names;   // canonical: "docker.io/library/busybox:latest"
    std::vector<std::string> repo_digests;  // "docker.io/library/busybox@sha256:…" (pulled)
    std::vector<std::string> layers;  // diff ids, sha256 hex, bottom first
    std::vector<uint64_t> layer_sizes;  // bytes unpacked, per layer (when known)
    std::vector<BlobRef> blobs;       // per layer, as pulled (empty otherwise)
    Config config;
    std::string created;              // RFC 3339
    uint64_t size = 0;                // bytes unpacked
    std::string architecture, os, variant;
    std::string config_digest;        // "sha256:…" of config_json (pulled: the image id)
    std::string manifest_digest, manifest_media_type;  // as pulled
    std::vector<History> history;     // as built or committed (else read from the config blob)
    bool intermediate = false;        // a build step's (the build cache): hidden from `images`
};

// A reference in canonical form: "busybox" -> "docker.io/library/busybox:latest";
// text that is not a reference stays as it is.
std::string normalize_name(const std::string& name);
// For people: "docker.io/library/busybox:latest" -> "busybox:latest".
std::string display_name(const std::string& canonical);

enum class ArchiveFormat { Docker, Oci };

// Progress of a long read: bytes so far (called now and then).
using Progress = std::function<void(uint64_t bytes)>;

class Store {
public:
    explicit Store(std::string root);
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // A hold on the store lock (see above), released when it goes. Holds
    // nest within a process: a shared one inside an exclusive one is free,
    // an exclusive one inside a shared one converts the lock for its life.
    class Lease {
    public:
        Lease() = default;
        Lease(Lease&& o) noexcept : s_(std::exchange(o.s_, nullptr)), exclusive_(o.exclusive_) {}
        Lease& operator=(Lease&& o) noexcept {
            if (this != &o) {
                release();
                s_ = std::exchange(o.s_, nullptr);
                exclusive_ = o.exclusive_;
            }
            return *this;
        }
        ~Lease() { release(); }

    private:
        friend class Store;
        Lease(const Store* s, bool exclusive) : s_(s), exclusive_(exclusive) {}
        void release();
        const Store* s_ = nullptr;
        bool exclusive_ = false;
    };
    // For adding (blocks while a removal runs) / for removing (waits for
    // every adder to finish).
    Result<Lease> share() const { return lease(false); }
    Result<Lease> exclusive() const { return lease(true); }

    // Layers just added: their unpacked sizes.
    [[nodiscard]] uint64_t added_size(const std::string& diff) const {
        std::lock_guard lock(mu_);
        auto it = sizes_.find(diff);
        return it == sizes_.end() ? 0 : it->second;
    }
    [[nodiscard]] const std::string& root() const { return root_; }
    [[nodiscard]] std::string layer_dir(const std::string& digest) const;

    // A root file system tarball (plain, gzip, zstd, xz, bzip2) from `fd` as
    // a one-layer image named `name` ("" for none).
    Result<Image> import_tarball(int fd, const std::string& name, const Progress& progress = {});
    // `docker save` / `podman save` archives and OCI image layouts (tar).
    Result<std::vector<Image>> load_archive(int fd, const Progress& progress = {});

    // `docker save` (manifest.json, RepoTags) or an OCI layout, as a tar to
    // `path` ("-": stdout); layers exported uncompressed (docker) or gzip (OCI).
    Status save_archive(const std::vector<Image>& imgs, const std::string& path, ArchiveFormat f) const;
    // The config JSON an image is pushed or saved with, for these diff ids
    // (hex): as pulled when they are the image's own, else made anew.
    [[nodiscard]] std::string config_for(const Image& img, const std::vector<std::string>& diff_ids) const;

    // By name (busybox, busybox:latest) or id (or an unambiguous id prefix).
    Result<Image> find(const std::string& ref) const;
    // By full id (sha256 hex) alone: one record read.
    Result<Image> by_id(const std::string& id) const;
    // An image's history: its own (built), its config blob's (pulled), or
    // one entry per layer.
    [[nodiscard]] std::vector<History> history(const Image& img) const;
    // A layer from a directory in the store's format (overlayfs whiteouts:
    // a container's or a build step's upper dir), moved into the store:
    // its diff id and size (bytes of tar), or "" for an empty dir (which is
    // then removed).
    struct Adopted {
        std::string digest;
        uint64_t size = 0;
    };
    Result<Adopted> adopt_layer(const std::string& dir);
    Result<std::vector<Image>> list() const;
    // Remove an image (names and JSON) and the layers no image uses any more.
    Status remove(const Image& img);
    // The built-in busybox image, made from the host's busybox-static.
    Result<Image> builtin_busybox();

    // Write an image: its names are taken from any other image; with
    // keep_names, the names and repo digests the same image had stay too
    // (a new tag or a pull from elsewhere adds).
    Status save(Image& img, bool keep_names = true);
    // Save an image made here (built or committed) from its layers, config
    // and history: its config blob made and kept (the image id is its
    // digest, as docker's), what it had as pulled (repo digests, blobs, the
    // manifest) dropped; its names kept.
    Status save_built(Image& img);
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
    // Small blobs kept for an image (its config and manifest, as pulled):
    // <root>/blobs/sha256/<hex>.
    Status put_blob(const std::string& digest, std::string_view content) const;
    Result<std::string> get_blob(const std::string& digest) const;
    // An anonymous file in the store (O_TMPFILE: nothing to leak), for a
    // layer exported to be pushed or saved.
    Result<UniqueFd> temp_file() const;
    // Whether layer `diff` (hex) is in the store.
    [[nodiscard]] bool has_layer(const std::string& diff) const;
    // An exclusive lock on fetching layer `diff` (held while the fd lives):
    // concurrent pulls of a shared layer fetch it once.
    Result<UniqueFd> lock_layer(const std::string& diff) const;
    // The unpacked size of layer `diff` as some image records it (0 if none).
    [[nodiscard]] uint64_t known_layer_size(const std::string& diff) const;

private:
    Result<Lease> lease(bool exclusive) const;
    void clean_stale_tmp() const;
    // A new `layers/.tmp-<pid>-…` (stale ones of dead pids removed first).
    Result<std::string> scratch_dir() const;
    // `tmp` becomes layers/<digest>, or goes if that layer is there already.
    Status commit_layer(const std::string& tmp, const std::string& digest) const;
    std::string root_;
    std::map<std::string, uint64_t> sizes_;  // of the layers added by this Store
    mutable std::mutex mu_;                  // (layers are added from several threads)
    mutable std::mutex lock_mu_;             // the store lock's state:
    mutable UniqueFd lock_fd_;               //   <root>/store.lock, open while held
    mutable int shared_ = 0, exclusive_ = 0; //   leases alive
};

}  // namespace hako::image
