// What build.cpp's steps share: step overlays, COPY/ADD (build_copy.cpp),
// RUN (build_run.cpp).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "build/dockerfile.hpp"
#include "build/ignore.hpp"
#include "common/error.hpp"
#include "frontend/engine.hpp"
#include "image/image.hpp"
#include "sys/fd.hpp"

namespace hako::frontend::bld {

// An overlay over layers (bottom first) at <root>/build/<pid>-<n>/rootfs,
// mounted in the build's own mount namespace; unmounted and removed when
// it goes. Writable: a COPY's destination; else a source (COPY --from).
class Overlay {
public:
    static Result<Overlay> mount(image::Store& store, const std::vector<std::string>& layers, bool writable);
    // A writable overlay over a directory of the host (RUN --mount=type=bind,rw).
    static Result<Overlay> over(image::Store& store, const std::string& dir);
    Overlay(Overlay&& o) noexcept;
    Overlay& operator=(Overlay&&) = delete;
    ~Overlay();
    [[nodiscard]] std::string root() const { return dir_ + "/rootfs"; }
    // Unmount; the upper dir becomes a layer (times after `epoch`, when >= 0,
    // clamped to it). An empty upper: no layer (digest "").
    Result<image::Store::Adopted> commit(image::Store& store, int64_t epoch);

private:
    Overlay() = default;
    // lowers: top first
    static Result<Overlay> mount_lowers(image::Store& store, const std::vector<std::string>& lowers, bool writable);
    std::string dir_;
    bool mounted_ = false;
};

// An overlay's upper dir (unmounted) as a layer of the store: renamed to
// `layer` on the way (the same file system), its times clamped to `epoch`.
Result<image::Store::Adopted> adopt_upper(image::Store& store, const std::string& upper, const std::string& layer, int64_t epoch);
// The times of everything under `dir` later than `epoch` set to it
// (SOURCE_DATE_EPOCH: reproducible layers).
Status clamp_times(const std::string& dir, int64_t epoch);
// A container's upper dir without the mount points the runtime made for
// `destinations` (empty files and dirs not in the image's `lowers`).
void drop_mount_points(const std::string& upper, const std::vector<std::string>& lowers,
                       const std::vector<std::string>& destinations);

// Where a COPY's sources come from: the context (with its ignore file) or
// a stage's or image's root.
struct SourceRoot {
    std::string path;
    const build::Ignore* ignore = nullptr;
};

struct CopyRequest {
    std::vector<std::string> sources;      // as written, relative to the source root (globs)
    std::vector<build::Heredoc> heredocs;  // COPY <<EOF: files of these names (bodies expanded)
    std::string dest;                      // expanded; relative: to workdir
    std::string workdir;
    std::string chown;                     // "user[:group]", expanded
    std::optional<mode_t> chmod;
    bool add = false;                      // ADD: local tars extracted, URLs fetched
    int64_t epoch = -1;                    // SOURCE_DATE_EPOCH (heredoc files' times), -1: now
    std::string where;                     // "Dockerfile:7: COPY" for errors
    std::string checksum;                  // ADD --checksum=sha256:HEX of a URL's content
};

// The sources, found (globs expanded, URLs fetched) and summed: the
// checksum covers paths, types, modes, link targets and content, not times.
struct CopyItem {
    std::string rel;       // in the source root ("" for the root itself)
    bool dir = false;
    bool archive = false;  // ADD of a local tar: extracted
    int heredoc = -1;      // index into CopyRequest::heredocs
    std::string url;       // ADD URL: fetched into `file`
    std::string name;      // the base name a file gets under a directory destination
    std::shared_ptr<UniqueFd> file;
    int64_t mtime = 0;     // (URL: Last-Modified)
};
// Content sums of context files by what their inode says of them (device,
// inode, size, mtime and ctime to the nanosecond: any write changes ctime),
// so a cached rebuild reads no file it summed before: <root>/build-cache/sums.
class SumCache {
public:
    explicit SumCache(std::string path);
    [[nodiscard]] std::optional<std::string> get(const struct stat& st) const;
    void put(const struct stat& st, const std::string& sum);
    Status save();

private:
    static std::string key(const struct stat& st);
    std::string path_;
    std::map<std::string, std::string> sums_;
    bool dirty_ = false;
};

struct CopyPlan {
    std::vector<CopyItem> items;
    std::string checksum;
    bool many = false;  // several sources or a wildcard: the destination must be a directory
};
Result<CopyPlan> plan_copy(const CopyRequest& r, const SourceRoot& src, image::Store& store, SumCache* sums = nullptr);
// Into `rootfs` (a mounted overlay), resolved inside it.
Status apply_copy(const CopyPlan& plan, const CopyRequest& r, const SourceRoot& src, const std::string& rootfs);

// "user[:group]" (names or numbers) in a root's /etc/passwd and /etc/group.
Result<std::pair<uid_t, gid_t>> resolve_owner(const std::string& spec, const std::string& rootfs);
// mkdir -p `path` inside `rootfs` (WORKDIR), as root, 0755.
Status make_dir(const std::string& rootfs, const std::string& path);

// RUN (build_run.cpp): argv in a container of `parent` (an image of the
// store); a zero status comes with the step's layer.
struct RunStep {
    std::vector<std::string> argv, env;
    std::string user, workdir, network;
    std::vector<std::string> mounts, tmpfs;  // --mount/--tmpfs of RunOptions
};
struct RunResult {
    int status = 0;
    image::Store::Adopted layer;
};
Result<RunResult> run_step(Engine& engine, const image::Image& parent, const RunStep& step, int64_t epoch);

}  // namespace hako::frontend::bld
