// The build cache's upkeep (`builder prune`), --squash, and `hako commit`.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/digest.hpp"
#include "common/strings.hpp"
#include "registry/reference.hpp"
#include "runtime/container.hpp"
#include "frontend/build_steps.hpp"
#include "image/export.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {

namespace bld {

Status apply_config(image::Config& c, const build::Instruction& in, const build::Vars& vars, char escape, bool& cmd_set,
                    std::string& resolved);

namespace {

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

// Layer `src` applied onto `dst` (both in the store's format): whiteouts
// and opaque directories replace what is below; files are hard links.
Status apply_layer(const std::string& src, const std::string& dst) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(src, ec); !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
        std::string rel = std::filesystem::relative(it->path(), src).string();
        std::string from = it->path().string(), to = dst + "/" + rel;
        struct stat st{}, old{};
        if (::lstat(from.c_str(), &st) < 0) return sys_error("stat `" + from + "`");
        bool exists = ::lstat(to.c_str(), &old) == 0;
        if (S_ISDIR(st.st_mode)) {
            char v[2];
            bool opaque = ::lgetxattr(from.c_str(), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
            if (exists && (!S_ISDIR(old.st_mode) || opaque)) std::filesystem::remove_all(to, ec), exists = false;
            if (!exists && ::mkdir(to.c_str(), st.st_mode & 07777) < 0) return sys_error("mkdir `" + to + "`");
            ::chmod(to.c_str(), st.st_mode & 07777);
            if (::lchown(to.c_str(), st.st_uid, st.st_gid) < 0) return sys_error("chown `" + to + "`");
            if (opaque && ::lsetxattr(to.c_str(), "trusted.overlay.opaque", "y", 1, 0) < 0) return sys_error("mark `" + to + "` opaque");
            continue;
        }
        if (exists) std::filesystem::remove_all(to, ec);
        if (is_whiteout(st)) {
            if (::mknod(to.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0) return sys_error("whiteout `" + to + "`");
            continue;
        }
        if (::link(from.c_str(), to.c_str()) < 0) return sys_error("link `" + to + "`");
    }
    if (ec) return sys_error("walk `" + src + "`", ec.value());
    return {};
}

}  // namespace

Status Builder::squash(State& s) {
    size_t base = current_ ? base_layers_[current_->index] : 0;  // (the target: built last)
    if (s.img.layers.size() <= base + 1) return {};
    say("--> squashing " + std::to_string(s.img.layers.size() - base) + " layers");
    auto& store = e_.images();
    std::string dir = store.root() + "/build/" + std::to_string(getpid()) + "-squash";
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    HAKO_TRY(sys::mkdir_all(dir, 0755));
    for (size_t i = base; i < s.img.layers.size(); ++i) HAKO_TRY(apply_layer(store.layer_dir(s.img.layers[i]), dir));
    auto layer = HAKO_TRY(store.adopt_layer(dir));
    std::string parent = s.img.id;
    auto history = store.history(s.img);
    s.img.layers.resize(base);
    s.img.layer_sizes.resize(std::min(s.img.layer_sizes.size(), base));
    s.img.size = 0;
    for (auto z : s.img.layer_sizes) s.img.size += z;
    // the squashed steps' history stays, as empty layers
    size_t seen = 0;
    for (auto& h : history) {
        if (!h.empty_layer && seen++ >= base) h.empty_layer = true;
    }
    s.img.history = history;
    return commit_step(s, "(squash)", parent, "/bin/sh -c #(nop) squashed", layer);
}

}  // namespace bld

Result<uint64_t> prune_build_cache(Engine& engine, bool all) {
    auto& store = engine.images();
    auto held = HAKO_TRY(store.exclusive());  // (waits for builds and pulls under way)
    // build containers a killed build left
    if (auto list = engine.list(true))
        for (const auto& v : *list)
            if (v.record.options.build && !v.active()) (void)engine.remove(v.record.id, true, true);
    std::error_code ec;
    std::string cache = engine.root() + "/build-cache";
    uint64_t freed = 0;
    std::set<std::string> kept_layers;
    auto images = HAKO_TRY(store.list());
    for (const auto& img : images)
        if (!img.intermediate) kept_layers.insert(img.layers.begin(), img.layers.end());
    std::set<std::string> counted;
    for (const auto& img : images) {
        if (!img.intermediate) continue;
        for (size_t i = 0; i < img.layers.size(); ++i)
            if (!kept_layers.count(img.layers[i]) && counted.insert(img.layers[i]).second && i < img.layer_sizes.size())
                freed += img.layer_sizes[i];
        std::string path = store.root() + "/images/" + img.id + ".json";
        if (::unlink(path.c_str()) < 0 && errno != ENOENT) return sys_error("remove `" + path + "`");
    }
    if (DIR* d = ::opendir(cache.c_str())) {
        std::vector<std::string> keys;
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.' && std::string(e->d_name) != "mounts") keys.push_back(e->d_name);
        ::closedir(d);
        for (const auto& k : keys) ::unlink((cache + "/" + k).c_str());
    }
    if (all) std::filesystem::remove_all(cache + "/mounts", ec);
    std::filesystem::remove_all(engine.root() + "/build", ec);
    HAKO_TRY(store.prune_layers());
    return freed;
}

Result<std::string> commit(Engine& engine, const CommitOptions& o) {
    auto v = HAKO_TRY(engine.find(o.container));
    auto& store = engine.images();
    auto held = HAKO_TRY(store.share());
    auto base = HAKO_TRY_CTX(store.by_id(v.record.image_id), "the container's image");
    bool paused = false;
    if (o.pause && v.status == "running") paused = bool(runtime::pause(engine.runtime_store(), v.record.id));
    struct Resume {
        Engine& e;
        const std::string& id;
        bool on;
        ~Resume() {
            if (on) (void)runtime::resume(e.runtime_store(), id);
        }
    } resume{engine, v.record.id, paused};
    // The container's changes: its upper dir as a tar, unpacked into the store.
    std::string upper = engine.upper_dir(v.record.id);
    image::Image img = base;
    if (sys::path_exists(upper)) {
        auto tmp = HAKO_TRY(store.temp_file());
        auto ex = HAKO_TRY_CTX(image::export_layer(upper, tmp.get(), image::Compression::None), "commit `" + o.container + "`");
        if (::lseek(tmp.get(), 0, SEEK_SET) < 0) return sys_error("seek");
        auto digest = HAKO_TRY(store.add_layer(tmp.get(), {}, {"", ex.diff_id}));
        img.layers.push_back(digest);
        img.layer_sizes.resize(img.layers.size() - 1, 0);
        img.layer_sizes.push_back(store.added_size(digest));
        img.size += store.added_size(digest);
    }
    if (resume.on) {
        (void)runtime::resume(engine.runtime_store(), v.record.id);
        resume.on = false;
    }
    // docker commit: the container's own command, env, user and workdir
    const RunOptions& r = v.record.options;
    for (const auto& e : r.env)
        if (auto eq = e.find('='); eq != std::string::npos) build::set_env(img.config.env, e.substr(0, eq), e.substr(eq + 1));
    if (!r.command.empty()) img.config.cmd = r.command;
    if (r.entrypoint) img.config.entrypoint = r.entrypoint->empty() ? std::vector<std::string>{} : std::vector<std::string>{*r.entrypoint};
    if (!r.user.empty()) img.config.user = r.user;
    if (!r.workdir.empty()) img.config.working_dir = r.workdir;
    bool cmd_set = true;
    for (const auto& c : o.changes) {
        auto in = HAKO_TRY_CTX(build::parse_line(c, '\\', "--change `" + c + "`"), "commit");
        static const std::set<std::string> kAllowed = {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER",
                                                       "VOLUME", "WORKDIR", "STOPSIGNAL", "HEALTHCHECK", "SHELL"};
        if (!kAllowed.count(in.keyword)) return error("--change `" + c + "`: " + in.keyword + " cannot be changed by commit");
        if (in.keyword == "WORKDIR") {
            img.config.working_dir = in.args;
            continue;
        }
        std::string resolved;
        build::Vars vars = build::vars_of_env(img.config.env);
        HAKO_TRY_CTX(bld::apply_config(img.config, in, vars, '\\', cmd_set, resolved), "--change `" + c + "`");
    }
    img.history = store.history(base);
    image::History h;
    h.created = now_rfc3339();
    for (const auto& a : v.record.command) h.created_by += (h.created_by.empty() ? "" : " ") + a;
    h.comment = o.message;
    h.empty_layer = img.layers.size() == base.layers.size();
    img.history.push_back(h);
    img.created = h.created;
    img.intermediate = false;
    img.names.clear();
    if (!o.image.empty()) img.names = {HAKO_TRY_CTX(registry::parse_reference(o.image), "commit: `" + o.image + "`").str()};
    HAKO_TRY(store.save_built(img));
    engine.event("container", "commit", v.record.id, {{"name", v.record.name}, {"image", o.image}});
    return img.id;
}

}  // namespace hako::frontend
