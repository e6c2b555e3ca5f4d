// The builder of `hako build`: its state between build.cpp (stages, cache,
// the final image) and build_steps.cpp (each instruction).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "build/dockerfile.hpp"
#include "build/expand.hpp"
#include "build/ignore.hpp"
#include "frontend/build.hpp"
#include "frontend/build_internal.hpp"

namespace hako::frontend::bld {

// A stage as it is built: its image so far (saved: an id, or none for
// scratch before its first step), the ARGs in scope.
struct State {
    image::Image img;
    build::Vars args;
    bool cmd_set = false;  // a CMD in this stage (else a new ENTRYPOINT clears the base's)
};

// The cache's name of s's image: its id ("scratch" before a first step).
std::string parent_key(const State& s);

class Builder {
public:
    Builder(Engine& e, const BuildOptions& o, build::Dockerfile df, std::string file, std::string context);
    Status load_context();
    Status load_secrets();
    Result<std::string> run();
    [[nodiscard]] int failed_status() const { return failed_status_; }

private:
    Result<image::Image> build_stage(const build::Stage& st);
    Status build_level(const std::vector<size_t>& group);
    Status step(State& s, const build::Instruction& in, bool trigger = false);
    Status run_instruction(State& s, const build::Instruction& in);
    Status copy_instruction(State& s, const build::Instruction& in);
    Status config_instruction(State& s, const build::Instruction& in, const build::Vars& vars);
    Status workdir_instruction(State& s, const std::string& dir, const std::string& text);
    Status squash(State& s);

    // The cache: a hit for `text` on s's image makes s that step's result.
    Result<bool> from_cache(State& s, const std::string& text);
    // s (changed by a step) saved as an intermediate image; the cache
    // remembers it for `text` on `key_parent_id`.
    Status commit_step(State& s, const std::string& text, const std::string& key_parent_id, const std::string& created_by,
                       const image::Store::Adopted& layer);
    [[nodiscard]] std::string key_for(const State& s, const std::string& text) const;
    [[nodiscard]] std::string cache_path(const std::string& key) const;

    Result<image::Image> base_image(const std::string& ref, const std::string& platform = {});
    Result<const build::Stage*> stage_named(const std::string& ref, size_t before) const;
    // A stage's or an image's root for COPY --from / RUN --mount from=.
    Result<image::Image> source_image(const std::string& ref, size_t stage, const std::string& where);
    Status global_args();
    // ARG: into `scope`; defaults expand with the ARGs so far and `env` (ENV wins).
    Status declare_args(const build::Instruction& in, build::Vars& scope, const build::Vars* globals = nullptr,
                        const std::vector<std::string>* env = nullptr);
    Result<std::vector<size_t>> order() const;
    [[nodiscard]] std::vector<size_t> deps(const build::Stage& st) const;
    [[nodiscard]] std::string where(const build::Instruction& in) const;
    [[nodiscard]] std::string created() const;
    void say(const std::string& line) const;
    // ENV over ARGs: what instructions expand with.
    [[nodiscard]] build::Vars vars_of(const State& s) const;
    // RUN's --mounts as RunOptions mounts and tmpfs; `key` gets what the
    // cache must know of them (the content of what is bound).
    Result<std::vector<std::string>> run_mounts(const State& s, const build::Instruction& in, std::vector<std::string>& tmpfs,
                                                std::vector<Overlay>& keep, std::vector<std::string>& cleanup, std::string& key);

    Engine& e_;
    const BuildOptions& o_;
    build::Dockerfile df_;
    std::string file_, context_;
    build::Stages stages_;
    build::Ignore ignore_;
    std::optional<SumCache> sums_;  // (the context's files: not a stage's)
    SumCache& sums() {
        if (!sums_) sums_.emplace(e_.root() + "/build-cache/sums");
        return *sums_;
    }
    std::map<std::string, std::string> args_;     // --build-arg
    std::map<std::string, std::string> secrets_;  // id -> host file
    std::set<std::string> used_, declared_;
    build::Vars global_;                          // ARGs before the first FROM
    std::vector<std::optional<image::Image>> results_;
    std::vector<size_t> base_layers_;  // per stage: its base's layer count (--squash)
    std::map<size_t, int> first_step_; // per stage: the number of its FROM step, less one
    const build::Stage* current_ = nullptr;
    int64_t epoch_ = -1;  // SOURCE_DATE_EPOCH
    int step_ = 0, total_ = 0;
    int failed_status_ = 0;
};

}  // namespace hako::frontend::bld
