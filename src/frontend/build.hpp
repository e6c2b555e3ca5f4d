// `hako build` (a Dockerfile/Containerfile and a context into an image, on
// hako's own runtime and overlay, with a content-addressed cache), `hako
// commit` (a container's changes as an image) and the build cache.
//
//   <root>/build-cache/<key>          a step's result: the id of an intermediate image
//                                     (key: sha256 of the parent image id, the
//                                     instruction as resolved, the sources' content)
//   <root>/build-cache/mounts/<id>/   RUN --mount=type=cache directories
//
// Each step's result is an image of the store marked intermediate (hidden
// from `images`, kept by the cache until `builder prune`); a RUN runs in a
// hako container over its parent's layers, a COPY/ADD writes into an
// overlay over them, and the overlay's upper directory becomes the step's
// layer as it is (no walk of the whole file system).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "frontend/engine.hpp"

namespace hako::frontend {

struct BuildOptions {
    std::vector<std::string> tags;
    std::string file;                 // -f: "" (Containerfile, else Dockerfile, in the context), "-" stdin
    std::string context = ".";        // a directory, or "-" (the Dockerfile alone, from stdin)
    std::vector<std::string> build_args;  // K=V or K (from the environment)
    std::string target;
    bool no_cache = false;
    std::string pull = "missing";     // missing | always | never (true/false as docker's --pull)
    std::vector<std::string> labels;  // K=V, on the final image
    std::string network;              // bridge (default) | none | host: RUN's default
    std::vector<std::string> secrets; // id=ID,src=FILE (or env=VAR)
    std::string iidfile;
    bool quiet = false;
    bool squash = false;              // the new layers as one
    int jobs = 2;                     // independent stages at once
    // Progress lines ("STEP 1/5: FROM busybox", "--> Using cache ...").
    std::function<void(const std::string&)> progress;
};

// The image id (sha256 hex). A RUN that fails: its exit status in `*status`
// (0 for any other failure) besides the error.
Result<std::string> build(Engine& engine, const BuildOptions& o, int* status = nullptr);

// `builder prune`: the cache's entries and intermediate images, build
// containers a killed build left, cache mounts (`all`); bytes freed.
Result<uint64_t> prune_build_cache(Engine& engine, bool all);

struct CommitOptions {
    std::string container, image;       // IMAGE: a name, or "" (an untagged image)
    std::vector<std::string> changes;   // -c 'CMD ["x"]' (Dockerfile instructions)
    std::string message;
    bool pause = true;
};
Result<std::string> commit(Engine& engine, const CommitOptions& o);

}  // namespace hako::frontend
