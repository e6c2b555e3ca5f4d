// `hako build`: stages, instructions, the cache; each step's result an
// intermediate image (build.hpp).
#include "frontend/build.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cstdio>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <set>

#include "build/dockerfile.hpp"
#include "build/expand.hpp"
#include "build/ignore.hpp"
#include "common/digest.hpp"
#include "common/scope.hpp"
#include "common/strings.hpp"
#include "frontend/build_internal.hpp"
#include "frontend/build_steps.hpp"
#include "frontend/pull.hpp"
#include "image/json.hpp"
#include "registry/reference.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend {

using json = nlohmann::json;
using bld::Builder;

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The build's own mount namespace: every overlay it mounts goes with it,
// whatever happens to it (kill -9 included).
Status private_mounts() {
    if (::unshare(CLONE_NEWNS) < 0) return sys_error("unshare a mount namespace for the build");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return sys_error("make the build's mounts private");
    return {};
}

Result<std::string> read_dockerfile(const BuildOptions& o, const std::string& ctx, std::string* name) {
    if (o.file == "-" || (o.file.empty() && o.context == "-")) {
        *name = "Dockerfile";
        return sys::read_fd(0, "the Dockerfile on stdin");
    }
    if (!o.file.empty()) {
        *name = o.file.substr(o.file.rfind('/') + 1);
        std::string path = o.file;
        if (!sys::path_exists(path) && !ctx.empty() && o.file[0] != '/') path = ctx + "/" + o.file;
        return HAKO_TRY_CTX(sys::read_file(path), "-f `" + o.file + "`");
    }
    for (const char* n : {"Containerfile", "Dockerfile"})
        if (sys::path_exists(ctx + "/" + n)) {
            *name = n;
            return sys::read_file(ctx + "/" + n);
        }
    return error("no Containerfile or Dockerfile in the context `" + ctx + "` (-f names another)");
}

}  // namespace

namespace bld {

std::string Builder::created() const {
    if (epoch_ < 0) return now_rfc3339();
    std::time_t t = static_cast<std::time_t>(epoch_);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

void Builder::say(const std::string& line) const {
    if (o_.progress && !o_.quiet) o_.progress(line);
}

std::string Builder::cache_path(const std::string& key) const { return e_.root() + "/build-cache/" + key; }

std::string parent_key(const State& s) { return s.img.id.empty() ? "scratch" : s.img.id; }

std::string Builder::key_for(const State& s, const std::string& text) const { return sha256_hex(parent_key(s) + "\n" + text); }

Result<bool> Builder::from_cache(State& s, const std::string& text) {
    if (o_.no_cache) return false;
    auto id = sys::read_file(cache_path(key_for(s, text)));
    if (!id) return false;
    std::string hex = id->substr(0, 64);
    auto img = e_.images().by_id(hex);
    if (!img) return false;
    for (const auto& l : img->layers)
        if (!e_.images().has_layer(l)) return false;
    s.img = std::move(*img);
    say("--> Using cache " + s.img.id);
    return true;
}

Status Builder::commit_step(State& s, const std::string& text, const std::string& key_parent_id, const std::string& created_by,
                            const image::Store::Adopted& layer) {
    image::Image& img = s.img;
    if (img.history.empty()) img.history = e_.images().history(img);
    image::History h;
    h.created = created();
    h.created_by = created_by;
    if (!layer.digest.empty()) {
        img.layers.push_back(layer.digest);
        img.layer_sizes.resize(img.layers.size() - 1, 0);
        img.layer_sizes.push_back(layer.size);
        img.size += layer.size;
    } else {
        h.empty_layer = true;
    }
    img.history.push_back(h);
    img.created = h.created;
    img.names.clear();  // (a base's names stay its own)
    img.intermediate = true;
    HAKO_TRY(e_.images().save_built(img));
    HAKO_TRY(sys::mkdir_all(e_.root() + "/build-cache", 0700));
    HAKO_TRY(sys::write_file_atomic(AT_FDCWD, cache_path(sha256_hex(key_parent_id + "\n" + text)), img.id));
    say("--> " + img.id.substr(0, 12));
    return {};
}

Result<image::Image> Builder::base_image(const std::string& ref, const std::string& platform) {
    if (o_.pull != "always") {
        auto img = e_.resolve_image(ref);
        if (img || o_.pull == "never") return img;
    }
    PullOptions p;
    p.ref = ref;
    p.platform = platform;
    auto img = pull(e_.images(), p);
    if (!img && o_.pull == "missing") return std::unexpected(std::move(img).error().context("no image `" + ref + "` here"));
    return img;
}

Result<const build::Stage*> Builder::stage_named(const std::string& ref, size_t before) const {
    std::string n = lower(ref);
    for (const auto& st : stages_.stages) {
        if (st.index >= before) break;
        if (!st.name.empty() && st.name == n) return &st;
    }
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos) {
        size_t i = 0;
        auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), i);
        if (ec == std::errc() && i < before) return &stages_.stages[i];
    }
    return static_cast<const build::Stage*>(nullptr);
}

// BuildKit's automatic platform ARGs: in the global scope (FROM sees them),
// and in a stage that declares them without a value.
const std::map<std::string, std::string>& automatic_args() {
    static const std::map<std::string, std::string> a = {
        {"TARGETPLATFORM", "linux/amd64"}, {"TARGETOS", "linux"}, {"TARGETARCH", "amd64"}, {"TARGETVARIANT", ""},
        {"BUILDPLATFORM", "linux/amd64"},  {"BUILDOS", "linux"},  {"BUILDARCH", "amd64"},  {"BUILDVARIANT", ""}};
    return a;
}

Status Builder::global_args() {
    for (const auto& [k, v] : automatic_args()) global_[k] = v;
    for (const auto* in : stages_.global_args) HAKO_TRY(declare_args(*in, global_));
    return {};
}

Status Builder::declare_args(const build::Instruction& in, build::Vars& scope, const build::Vars* globals,
                             const std::vector<std::string>* env) {
    build::Vars vars;
    build::Expander x{vars, df_.escape};
    for (const auto& w : build::split_raw(in.args, df_.escape)) {
        vars = scope;
        if (env)
            for (auto& [k, v] : build::vars_of_env(*env)) vars[k] = std::move(v);
        size_t eq = w.find('=');
        std::string name = w.substr(0, eq);
        if (name.empty()) return error(where(in) + ": ARG `" + w + "` has no name");
        std::optional<std::string> value;
        if (eq != std::string::npos) value = HAKO_TRY_CTX(x.word(w.substr(eq + 1)), where(in));
        else if (globals && globals->count(name)) value = globals->at(name);
        else if (automatic_args().count(name)) value = automatic_args().at(name);
        if (auto it = args_.find(name); it != args_.end()) {
            value = it->second;
            used_.insert(name);
        }
        if (value) scope[name] = *value;
        else scope.erase(name);
        declared_.insert(name);
    }
    return {};
}

std::string Builder::where(const build::Instruction& in) const { return file_ + ":" + std::to_string(in.line); }

// The stages the target needs, each after what it needs.
Result<std::vector<size_t>> Builder::order() const {
    size_t target = stages_.stages.size() - 1;
    if (!o_.target.empty()) {
        bool found = false;
        for (const auto& st : stages_.stages)
            if (st.name == lower(o_.target)) {
                target = st.index;
                found = true;
            }
        if (!found) return error("--target `" + o_.target + "`: no stage of that name in " + file_);
    }
    std::vector<size_t> out;
    std::set<size_t> done;
    std::function<Status(size_t)> visit = [&](size_t i) -> Status {
        if (done.count(i)) return {};
        done.insert(i);
        for (size_t d : deps(stages_.stages[i])) HAKO_TRY(visit(d));
        out.push_back(i);
        return {};
    };
    HAKO_TRY(visit(target));
    return out;
}

std::vector<size_t> Builder::deps(const build::Stage& st) const {
    std::vector<size_t> out;
    build::Expander x{global_, df_.escape};
    auto add = [&](const std::string& ref) {
        auto s = stage_named(ref, st.index);
        if (s && *s) out.push_back((*s)->index);
    };
    if (auto b = x.word(st.base)) add(*b);
    for (const auto* in : st.body) {
        if (auto f = in->flag("from")) add(*f);
        for (const auto& m : in->flag_all("mount"))
            for (auto kv : split(m, ','))
                if (kv.starts_with("from=")) add(std::string(kv.substr(5)));
    }
    return out;
}

Result<std::string> Builder::run() {
    stages_ = HAKO_TRY(build::stages_of(df_, file_));
    HAKO_TRY(global_args());
    auto todo = HAKO_TRY(order());
    total_ = 0;
    for (size_t i : todo) total_ += 1 + static_cast<int>(stages_.stages[i].body.size());
    results_.assign(stages_.stages.size(), std::nullopt);
    base_layers_.assign(stages_.stages.size(), 0);
    // Each stage's first step number (as if built one after another), and
    // its level: stages of one level need none of each other.
    std::map<size_t, int> level;
    int offset = 0;
    for (size_t i : todo) {
        first_step_[i] = offset;
        offset += 1 + static_cast<int>(stages_.stages[i].body.size());
        level[i] = 0;
        for (size_t d : deps(stages_.stages[i])) level[i] = std::max(level[i], level[d] + 1);
    }
    for (int l = 0; l <= level[todo.back()]; ++l) {
        std::vector<size_t> group;
        for (size_t i : todo)
            if (level[i] == l) group.push_back(i);
        HAKO_TRY(build_level(group));
    }
    State fin{*results_[todo.back()], {}};
    // --label, then --squash, on the last stage's image
    if (!o_.labels.empty()) {
        image::Config c = fin.img.config;
        std::string text = "LABEL";
        for (const auto& l : o_.labels) {
            auto eq = l.find('=');
            c.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
            text += " " + l;
        }
        std::string parent = parent_key(fin);
        if (!HAKO_TRY(from_cache(fin, text))) {
            fin.img.config = std::move(c);
            HAKO_TRY(commit_step(fin, text, parent, "/bin/sh -c #(nop) " + text, {}));
        }
    }
    if (o_.squash) HAKO_TRY(squash(fin));
    if (sums_) {
        HAKO_TRY(sys::mkdir_all(e_.root() + "/build-cache", 0700));
        HAKO_TRY(sums_->save());
    }
    for (const auto& a : args_)
        if (!used_.count(a.first) && !declared_.count(a.first))
            say("[Warning] one or more build args were not consumed: " + a.first);
    image::Image out = fin.img;
    out.intermediate = false;
    out.names.clear();
    for (const auto& t : o_.tags) {
        auto r = HAKO_TRY_CTX(registry::parse_reference(t), "-t `" + t + "`");
        out.names.push_back(r.str());
    }
    HAKO_TRY(e_.images().save(out));
    for (const auto& t : o_.tags) say("Successfully tagged " + image::display_name(image::normalize_name(t)));
    e_.event("image", "build", out.id, {{"name", o_.tags.empty() ? out.id.substr(0, 12) : o_.tags[0]}});
    return out.id;
}

// One level's stages: in this process when alone (or --jobs 1), else up to
// --jobs at once in forked children, each reporting its image id.
Status Builder::build_level(const std::vector<size_t>& group) {
    if (group.size() == 1 || o_.jobs <= 1) {
        for (size_t i : group) results_[i] = HAKO_TRY(build_stage(stages_.stages[i]));
        return {};
    }
    for (size_t at = 0; at < group.size(); at += static_cast<size_t>(o_.jobs)) {
        struct Job {
            size_t stage;
            pid_t pid;
            UniqueFd out;
        };
        std::vector<Job> jobs;
        ScopeExit reap([&jobs] {  // (an early return: none left running or unreaped)
            for (auto& j : jobs)
                if (j.pid > 0) {
                    ::kill(j.pid, SIGKILL);
                    while (::waitpid(j.pid, nullptr, 0) < 0 && errno == EINTR) {
                    }
                }
        });
        for (size_t k = at; k < group.size() && k < at + static_cast<size_t>(o_.jobs); ++k) {
            int p[2];
            if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe");
            UniqueFd r(p[0]), w(p[1]);
            std::fflush(nullptr);
            pid_t pid = ::fork();
            if (pid < 0) return sys_error("fork a stage's build");
            if (pid == 0) {
                r.reset();
                auto img = build_stage(stages_.stages[group[k]]);
                std::string msg = img ? "0 " + img->id : std::to_string(failed_status_) + " " + img.error().what();
                (void)sys::write_all(w.get(), msg.data(), msg.size());
                std::fflush(nullptr);
                ::_exit(img ? 0 : 1);
            }
            w.reset();
            jobs.push_back({group[k], pid, std::move(r)});
        }
        Status first;
        for (auto& j : jobs) {
            auto msg = sys::read_fd(j.out.get(), "a stage's build");
            int st = 0;
            while (::waitpid(j.pid, &st, 0) < 0 && errno == EINTR) {
            }
            j.pid = -1;
            std::string text = msg ? *msg : "";
            auto sp = text.find(' ');
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && text.rfind("0 ", 0) == 0) {
                auto img = e_.images().by_id(text.substr(2));
                if (img) {
                    results_[j.stage] = std::move(*img);
                    continue;
                }
                if (first) first = std::unexpected(std::move(img).error());
                continue;
            }
            if (!first) continue;
            if (sp != std::string::npos) {
                failed_status_ = std::atoi(text.c_str());
                first = error(text.substr(sp + 1));
            } else {
                first = error("the build of stage " + std::to_string(j.stage) + " died");
            }
        }
        if (!first) return first;
    }
    return {};
}

Builder::Builder(Engine& e, const BuildOptions& o, build::Dockerfile df, std::string file, std::string context)
    : e_(e), o_(o), df_(std::move(df)), file_(std::move(file)), context_(std::move(context)) {
    for (const auto& a : o.build_args) {
        auto eq = a.find('=');
        if (eq != std::string::npos) args_[a.substr(0, eq)] = a.substr(eq + 1);
        else if (const char* v = ::getenv(a.c_str())) args_[a] = v;
    }
    const char* sde = ::getenv("SOURCE_DATE_EPOCH");
    std::string epoch = args_.count("SOURCE_DATE_EPOCH") ? args_["SOURCE_DATE_EPOCH"] : sde ? sde : "";
    int64_t sde_value = -1;
    if (auto [p, ec] = std::from_chars(epoch.data(), epoch.data() + epoch.size(), sde_value); ec == std::errc() && p == epoch.data() + epoch.size() && sde_value >= 0)
        epoch_ = sde_value;
    if (args_.count("SOURCE_DATE_EPOCH")) used_.insert("SOURCE_DATE_EPOCH");
}

}  // namespace bld

Result<std::string> build(Engine& engine, const BuildOptions& o, int* status) {
    if (status) *status = 0;
    if (o.pull != "missing" && o.pull != "always" && o.pull != "never")
        return error("--pull `" + o.pull + "`: expected missing, always or never");
    if (!o.network.empty() && o.network != "bridge" && o.network != "none" && o.network != "host" && o.network != "default")
        return error("--network `" + o.network + "`: expected bridge, none or host");
    std::string ctx;
    if (o.context != "-") {
        char real[PATH_MAX];
        if (!::realpath(o.context.c_str(), real)) return sys_error("the build context `" + o.context + "`");
        ctx = real;
        struct stat st{};
        if (::stat(ctx.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) return error("the build context `" + o.context + "` is not a directory");
    }
    std::string name;
    auto text = HAKO_TRY(read_dockerfile(o, ctx, &name));
    auto df = HAKO_TRY(build::parse(text, name));
    for (const auto& t : o.tags) HAKO_TRY_CTX(registry::parse_reference(t), "-t `" + t + "`");
    HAKO_TRY(private_mounts());
    // (its steps' layers and images: none pruned while it runs)
    auto held = HAKO_TRY(engine.images().share());
    // (a killed build's scratch dirs: named by its pid)
    if (DIR* d = ::opendir((engine.root() + "/build").c_str())) {
        std::vector<std::string> stale;
        while (dirent* e = ::readdir(d)) {
            pid_t pid = std::atoi(e->d_name);
            if (pid > 0 && ::kill(pid, 0) < 0 && errno == ESRCH) stale.push_back(engine.root() + "/build/" + e->d_name);
        }
        ::closedir(d);
        std::error_code ec;
        for (const auto& p : stale) std::filesystem::remove_all(p, ec);
    }
    bld::Builder b(engine, o, std::move(df), name, ctx);
    HAKO_TRY(b.load_context());
    HAKO_TRY(b.load_secrets());
    auto id = b.run();
    if (!id && status) *status = b.failed_status();
    std::error_code ec;
    std::filesystem::remove(engine.root() + "/build", ec);  // (empty by now)
    if (id && !o.iidfile.empty()) HAKO_TRY(sys::write_file_atomic(AT_FDCWD, o.iidfile, "sha256:" + *id));
    return id;
}

}  // namespace hako::frontend
