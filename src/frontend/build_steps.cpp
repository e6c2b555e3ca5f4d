// The instructions of a build stage: FROM's base and ONBUILD triggers, the
// image config's (ENV LABEL USER EXPOSE VOLUME CMD ENTRYPOINT ...), WORKDIR,
// RUN (with --mount and --network), COPY/ADD; --squash.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>

#include "common/digest.hpp"
#include "common/strings.hpp"
#include "frontend/build_steps.hpp"
#include "runtime/container.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::frontend::bld {

using json = nlohmann::json;

namespace {

const std::vector<std::string> kDefaultShell = {"/bin/sh", "-c"};
constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
}

Result<mode_t> parse_mode(const std::string& s, const std::string& where) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 8);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 07777)
        return error(where + ": --chmod `" + s + "`: expected an octal mode (e.g. 755)");
    return static_cast<mode_t>(v);
}

// A --mount's uid= or gid= (0 when not given).
Result<uint32_t> id_of(const std::map<std::string, std::string>& kv, const char* key, const std::string& spec) {
    auto it = kv.find(key);
    if (it == kv.end()) return 0u;
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (it->second.empty() || ec != std::errc() || p != it->second.data() + it->second.size())
        return error("--mount `" + spec + "`: " + key + "=`" + it->second + "`: expected a number");
    return v;
}

// The flags each instruction takes (BuildKit refuses any other).
Status check_flags(const build::Instruction& in) {
    static const std::map<std::string, std::vector<std::string>> kFlags = {
        {"FROM", {"platform"}},
        {"RUN", {"mount", "network"}},
        {"COPY", {"from", "chown", "chmod", "link"}},
        {"ADD", {"chown", "chmod", "link", "checksum"}},
        {"HEALTHCHECK", {"interval", "timeout", "start-period", "start-interval", "retries"}}};
    auto it = kFlags.find(in.keyword);
    for (const auto& f : in.flags) {
        std::string name = f.substr(2, f.find('=') == std::string::npos ? std::string::npos : f.find('=') - 2);
        if (it == kFlags.end() || std::find(it->second.begin(), it->second.end(), name) == it->second.end()) {
            std::string takes;
            if (it != kFlags.end())
                for (const auto& n : it->second) takes += (takes.empty() ? "" : ", ") + std::string("--") + n;
            return error("unknown flag `" + f + "` (" + in.keyword + " takes " + (takes.empty() ? "none" : takes) + ")");
        }
    }
    return {};
}

}  // namespace

// The image config an instruction changes (build and commit -c alike).
Status apply_config(image::Config& c, const build::Instruction& in, const build::Vars& vars, char escape, bool& cmd_set,
                    std::string& resolved) {
    build::Expander x{vars, escape};
    const auto& shell = c.shell.empty() ? kDefaultShell : c.shell;
    auto form = [&](const build::Instruction& i) {
        if (i.json) return i.json_args;
        auto v = shell;
        v.push_back(i.args);
        return v;
    };
    const std::string& kw = in.keyword;
    if (kw == "ENV" || kw == "LABEL") {
        auto pairs = HAKO_TRY(build::key_values(in, escape));
        std::vector<std::pair<std::string, std::string>> done;
        for (const auto& [k, v] : pairs) done.emplace_back(HAKO_TRY(x.word(k)), HAKO_TRY(x.word(v)));
        for (const auto& [k, v] : done) {
            if (kw == "ENV") build::set_env(c.env, k, v);
            else c.labels[k] = v;
            resolved += " " + k + "=" + v;
        }
    } else if (kw == "USER") {
        c.user = HAKO_TRY(x.word(in.args));
        if (c.user.empty()) return error("USER needs a user");
        resolved += " " + c.user;
    } else if (kw == "EXPOSE") {
        for (auto p : HAKO_TRY(x.words(in.args))) {
            if (p.find('/') == std::string::npos) p += "/tcp";
            for (auto& ch : p) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (std::find(c.exposed_ports.begin(), c.exposed_ports.end(), p) == c.exposed_ports.end()) c.exposed_ports.push_back(p);
            resolved += " " + p;
        }
    } else if (kw == "VOLUME") {
        std::vector<std::string> vols;
        if (in.json) {
            for (const auto& v : in.json_args) vols.push_back(HAKO_TRY(x.word(v)));
        } else {
            vols = HAKO_TRY(x.words(in.args));
        }
        if (vols.empty()) return error("VOLUME needs a path");
        for (const auto& v : vols) {
            if (v.empty()) return error("VOLUME: an empty path");
            if (std::find(c.volumes.begin(), c.volumes.end(), v) == c.volumes.end()) c.volumes.push_back(v);
            resolved += " " + v;
        }
    } else if (kw == "STOPSIGNAL") {
        c.stop_signal = HAKO_TRY(x.word(in.args));
        HAKO_TRY_CTX(runtime::parse_signal(c.stop_signal), "STOPSIGNAL");
        resolved += " " + c.stop_signal;
    } else if (kw == "CMD") {
        c.cmd = form(in);
        cmd_set = true;
        resolved += " " + json(c.cmd).dump();
    } else if (kw == "ENTRYPOINT") {
        c.entrypoint = form(in);
        if (!cmd_set) c.cmd.clear();  // (docker: a new ENTRYPOINT resets the base's CMD)
        resolved += " " + json(c.entrypoint).dump();
    } else if (kw == "SHELL") {
        if (!in.json || in.json_args.empty()) return error("SHELL takes a JSON array: SHELL [\"/bin/sh\", \"-c\"]");
        c.shell = in.json_args;
        resolved += " " + json(c.shell).dump();
    } else if (kw == "ONBUILD") {
        c.onbuild.push_back(in.args);
        resolved += " " + in.args;
    } else if (kw == "MAINTAINER") {
        resolved += " " + in.args;  // (deprecated: history only)
    } else if (kw == "HEALTHCHECK") {
        image::Healthcheck h;
        auto rest = build::split_raw(in.args, escape);
        if (rest.empty()) return error("HEALTHCHECK needs CMD or NONE");
        std::string what = upper(rest[0]);
        if (what == "NONE") {
            h.test = {"NONE"};
        } else if (what == "CMD") {
            auto sub = HAKO_TRY(build::parse_line("CMD " + in.args.substr(in.args.find(rest[0]) + rest[0].size()), escape, "HEALTHCHECK"));
            if (sub.json) {
                h.test = {"CMD"};
                h.test.insert(h.test.end(), sub.json_args.begin(), sub.json_args.end());
            } else {
                h.test = {"CMD-SHELL", sub.args};
            }
            if (sub.args.empty()) return error("HEALTHCHECK CMD needs a command");
        } else {
            return error("HEALTHCHECK `" + rest[0] + "`: expected CMD or NONE");
        }
        for (const auto& f : in.flags) {
            auto eq = f.find('=');
            std::string name = f.substr(0, eq), val = eq == std::string::npos ? "" : HAKO_TRY(x.word(f.substr(eq + 1)));
            if (name == "--interval") h.interval = HAKO_TRY(parse_duration(val, "HEALTHCHECK --interval"));
            else if (name == "--timeout") h.timeout = HAKO_TRY(parse_duration(val, "HEALTHCHECK --timeout"));
            else if (name == "--start-period") h.start_period = HAKO_TRY(parse_duration(val, "HEALTHCHECK --start-period"));
            else if (name == "--start-interval") (void)HAKO_TRY(parse_duration(val, "HEALTHCHECK --start-interval"));
            else if (name == "--retries") {
                auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), h.retries);
                if (ec != std::errc() || p != val.data() + val.size() || h.retries < 0)
                    return error("HEALTHCHECK --retries `" + val + "`: expected a number");
            } else {
                return error("HEALTHCHECK: unknown flag `" + f + "`");
            }
        }
        c.healthcheck = h;
        resolved += " " + json(h.test).dump();
    } else {
        return error("`" + kw + "` does not change the image config");
    }
    return {};
}

build::Vars Builder::vars_of(const State& s) const {
    build::Vars v = s.args;
    for (auto& [k, val] : build::vars_of_env(s.img.config.env)) v[k] = std::move(val);
    return v;
}

Status Builder::load_context() {
    if (context_.empty()) return {};
    for (const char* n : {".containerignore", ".dockerignore"}) {
        std::string p = context_ + "/" + n;
        if (sys::path_exists(p)) {
            ignore_ = build::Ignore(HAKO_TRY(sys::read_file(p)));
            break;
        }
    }
    return {};
}

Status Builder::load_secrets() {
    for (const auto& spec : o_.secrets) {
        std::string id, src;
        for (auto kv : split(spec, ',')) {
            if (kv.starts_with("id=")) id = kv.substr(3);
            else if (kv.starts_with("src=") || kv.starts_with("source=")) src = kv.substr(kv.find('=') + 1);
            else if (kv == "type=file") continue;
            else return error("--secret `" + spec + "`: expected id=ID,src=FILE");
        }
        if (id.empty() || src.empty()) return error("--secret `" + spec + "`: expected id=ID,src=FILE");
        char real[PATH_MAX];
        if (!::realpath(src.c_str(), real)) return sys_error("--secret `" + spec + "`: `" + src + "`");
        secrets_[id] = real;
    }
    return {};
}

Result<image::Image> Builder::source_image(const std::string& ref, size_t stage, const std::string& where) {
    auto st = HAKO_TRY(stage_named(ref, stage));
    if (st) {
        if (!results_[st->index]) return error(where + ": the stage `" + ref + "` is not built yet");
        return *results_[st->index];
    }
    return HAKO_TRY_CTX(base_image(ref), where + ": --from `" + ref + "` (no stage of that name before this one, nor an image)");
}

Result<image::Image> Builder::build_stage(const build::Stage& st) {
    current_ = &st;
    step_ = first_step_[st.index] + 1;
    say("STEP " + std::to_string(step_) + "/" + std::to_string(total_) + ": " + st.from->text);
    build::Expander x{global_, df_.escape};
    std::string base = HAKO_TRY_CTX(x.word(st.base), where(*st.from));
    State s;
    if (auto dep = HAKO_TRY(stage_named(base, st.index))) {
        s.img = *results_[dep->index];
    } else if (base == "scratch") {
        s.img = {};
    } else {
        std::string platform;
        if (auto pf = st.from->flag("platform")) platform = HAKO_TRY_CTX(x.word(*pf), where(*st.from) + ": FROM --platform");
        s.img = HAKO_TRY_CTX(base_image(base, platform), where(*st.from) + ": FROM " + base);
    }
    base_layers_[st.index] = s.img.layers.size();
    // The base's ONBUILD triggers run first (and are not inherited).
    auto triggers = std::exchange(s.img.config.onbuild, {});
    for (const auto& t : triggers) {
        auto in = HAKO_TRY_CTX(build::parse_line(t, df_.escape, where(*st.from) + ": ONBUILD"), where(*st.from));
        in.line = st.from->line;
        HAKO_TRY(step(s, in, true));
    }
    for (const auto* in : st.body) HAKO_TRY(step(s, *in));
    if (s.img.id.empty() || !triggers.empty()) {  // (scratch alone; a base whose triggers must go)
        std::string parent = parent_key(s);
        if (!HAKO_TRY(from_cache(s, "(stage end)"))) HAKO_TRY(commit_step(s, "(stage end)", parent, "", {}));
    }
    return s.img;
}

Status Builder::step(State& s, const build::Instruction& in, bool trigger) {
    if (!trigger) {
        ++step_;
        say("STEP " + std::to_string(step_) + "/" + std::to_string(total_) + ": " + in.text);
    }
    auto ctx = [&](Status st) -> Status {
        if (!st && st.error().msg.rfind(file_ + ":", 0) != 0)
            return std::unexpected(std::move(st).error().context(where(in) + ": " + in.keyword));
        return st;
    };
    const std::string& kw = in.keyword;
    HAKO_TRY(ctx(check_flags(in)));
    if (kw == "ARG") return ctx(declare_args(in, s.args, &global_, &s.img.config.env));
    if (kw == "RUN") return ctx(run_instruction(s, in));
    if (kw == "COPY" || kw == "ADD") return ctx(copy_instruction(s, in));
    if (kw == "FROM") return error(where(in) + ": FROM is not allowed here");
    if (kw == "WORKDIR") {
        build::Expander x{vars_of(s), df_.escape};
        std::string dir = HAKO_TRY_CTX(x.word(in.args), where(in) + ": WORKDIR");
        if (dir.empty()) return error(where(in) + ": WORKDIR needs a path");
        if (dir[0] != '/') dir = (s.img.config.working_dir.empty() ? "/" : s.img.config.working_dir) + "/" + dir;
        dir = sys::clean_path(dir);
        return ctx(workdir_instruction(s, dir, "WORKDIR " + dir));
    }
    return ctx(config_instruction(s, in, vars_of(s)));
}

Status Builder::config_instruction(State& s, const build::Instruction& in, const build::Vars& vars) {
    image::Config c = s.img.config;
    std::string resolved;
    HAKO_TRY(apply_config(c, in, vars, df_.escape, s.cmd_set, resolved));
    std::string text = in.keyword + resolved;
    std::string parent = parent_key(s);
    if (HAKO_TRY(from_cache(s, text))) return {};
    s.img.config = std::move(c);
    return commit_step(s, text, parent, "/bin/sh -c #(nop) " + text, {});
}

Status Builder::workdir_instruction(State& s, const std::string& dir, const std::string& text) {
    std::string parent = parent_key(s);
    if (HAKO_TRY(from_cache(s, text))) return {};
    auto ov = HAKO_TRY(Overlay::mount(e_.images(), s.img.layers, true));
    HAKO_TRY(make_dir(ov.root(), dir));
    auto layer = HAKO_TRY(ov.commit(e_.images(), epoch_));
    s.img.config.working_dir = dir;
    return commit_step(s, text, parent, "/bin/sh -c #(nop) " + text, layer);
}

Result<std::vector<std::string>> Builder::run_mounts(const State& s, const build::Instruction& in, std::vector<std::string>& tmpfs,
                                                     std::vector<Overlay>& keep, std::vector<std::string>& cleanup,
                                                     std::string& key) {
    std::vector<std::string> out;
    build::Expander x{vars_of(s), df_.escape};
    for (const auto& raw : in.flag_all("mount")) {
        std::string spec = HAKO_TRY(x.word(raw));
        std::map<std::string, std::string> kv;
        for (auto part : split(spec, ',')) {
            auto eq = part.find('=');
            kv[std::string(part.substr(0, eq))] = eq == std::string_view::npos ? "true" : std::string(part.substr(eq + 1));
        }
        std::string type = kv.count("type") ? kv["type"] : "bind";
        std::string target = kv.count("target") ? kv["target"] : kv.count("dst") ? kv["dst"] : kv.count("destination") ? kv["destination"] : "";
        bool ro = kv.count("ro") || kv.count("readonly");
        if (type == "cache") {
            if (target.empty()) return error("--mount `" + spec + "`: a cache mount needs target=");
            std::string id = kv.count("id") ? kv["id"] : target;
            std::string host = e_.root() + "/build-cache/mounts/" + sha256_hex(id).substr(0, 32);
            if (!sys::path_exists(host)) {
                HAKO_TRY(sys::mkdir_all(host, 0755));
                mode_t mode = kv.count("mode") ? HAKO_TRY(parse_mode(kv["mode"], "--mount mode")) : 0755;
                ::chmod(host.c_str(), mode);
                if (::chown(host.c_str(), HAKO_TRY(id_of(kv, "uid", spec)), HAKO_TRY(id_of(kv, "gid", spec))) < 0)
                    return sys_error("chown `" + host + "`");
            }
            out.push_back("type=bind,src=" + host + ",dst=" + target + (ro ? ",ro" : ""));
        } else if (type == "tmpfs") {
            if (target.empty()) return error("--mount `" + spec + "`: a tmpfs mount needs target=");
            tmpfs.push_back(target + (kv.count("size") ? ":size=" + kv["size"] : ""));
        } else if (type == "bind") {
            if (target.empty()) return error("--mount `" + spec + "`: a bind mount needs target=");
            // rw: writes go to an overlay of the source, dropped after the RUN
            const bool rw = kv.count("rw") || kv.count("readwrite");
            std::string source = kv.count("source") ? kv["source"] : kv.count("src") ? kv["src"] : "/";
            std::string root;
            if (kv.count("from")) {
                auto img = HAKO_TRY(source_image(kv["from"], current_->index, where(in)));
                keep.push_back(HAKO_TRY(Overlay::mount(e_.images(), img.layers, rw)));
                root = keep.back().root();
            } else {
                if (context_.empty()) return error("--mount `" + spec + "`: no build context to bind from");
                root = context_;
                if (rw) {
                    keep.push_back(HAKO_TRY(Overlay::over(e_.images(), context_)));
                    root = keep.back().root();
                }
            }
            // (what is bound is part of the cache key: its content, as COPY's)
            if (kv.count("from")) {
                key += " " + HAKO_TRY(source_image(kv["from"], current_->index, where(in))).id;
            } else {
                CopyRequest cr;
                cr.sources = {source};
                cr.where = where(in) + ": RUN --mount";
                key += " " + HAKO_TRY(plan_copy(cr, SourceRoot{context_, &ignore_}, e_.images(), &sums())).checksum;
            }
            UniqueFd rootfd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!rootfd) return sys_error("open `" + root + "`");
            auto fd = HAKO_TRY_CTX(sys::open_in_root(rootfd.get(), source, O_PATH), "--mount `" + spec + "`: source `" + source + "`");
            if (!fd) return error("--mount `" + spec + "`: no `" + source + "` in the source");
            char real[PATH_MAX];
            ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd.get())).c_str(), real, sizeof real - 1);
            if (n <= 0) return sys_error("--mount `" + spec + "`: resolve `" + source + "`");
            out.push_back("type=bind,src=" + std::string(real, static_cast<size_t>(n)) + ",dst=" + target + (rw ? "" : ",ro"));
        } else if (type == "secret") {
            std::string id = kv.count("id") ? kv["id"] : target.substr(target.rfind('/') + 1);
            if (target.empty()) target = "/run/secrets/" + id;
            auto it = secrets_.find(id);
            if (it == secrets_.end()) {
                if (kv.count("required") && kv["required"] != "false") return error("--mount `" + spec + "`: no --secret id=" + id);
                continue;
            }
            // A copy with the mount's owner and mode, in the run root (never in a layer).
            std::string dir = e_.runroot() + "/build-secrets";
            HAKO_TRY(sys::mkdir_all(dir, 0700));
            std::string copy = dir + "/" + random_id().substr(0, 16);
            auto content = HAKO_TRY(sys::read_file(it->second));
            HAKO_TRY(sys::write_file_atomic(AT_FDCWD, copy, content));
            cleanup.push_back(copy);
            mode_t mode = kv.count("mode") ? HAKO_TRY(parse_mode(kv["mode"], "--mount mode")) : 0400;
            ::chmod(copy.c_str(), mode);
            if (::chown(copy.c_str(), HAKO_TRY(id_of(kv, "uid", spec)), HAKO_TRY(id_of(kv, "gid", spec))) < 0)
                return sys_error("chown `" + copy + "`");
            out.push_back("type=bind,src=" + copy + ",dst=" + target + ",ro");
        } else {
            return error("--mount `" + spec + "`: type `" + type + "` is not supported (cache, bind, tmpfs, secret)");
        }
    }
    return out;
}

Status Builder::run_instruction(State& s, const build::Instruction& in) {
    const auto& shell = s.img.config.shell.empty() ? kDefaultShell : s.img.config.shell;
    RunStep rs;
    if (in.json) {
        rs.argv = in.json_args;
    } else if (!in.heredocs.empty() && build::split_raw(in.args, df_.escape).size() == 1) {
        rs.argv = shell;  // RUN <<EOF: the body is the script
        rs.argv.push_back(in.heredocs[0].body);
    } else {
        std::string script = in.args;
        for (const auto& h : in.heredocs) script += "\n" + h.body + h.name;
        rs.argv = shell;
        rs.argv.push_back(script);
    }
    if (rs.argv.empty()) return error("RUN needs a command");
    bool has_path = false;
    for (const auto& e : s.img.config.env) has_path |= e.starts_with("PATH=");
    if (!has_path) rs.env.push_back(kDefaultPath);
    for (const auto& [k, v] : s.args) {
        bool in_env = false;
        for (const auto& e : s.img.config.env) in_env |= e.compare(0, k.size() + 1, k + "=") == 0;
        if (!in_env) rs.env.push_back(k + "=" + v);
    }
    // BuildKit's predefined proxy ARGs reach RUN without an ARG (and stay out of the image)
    for (const char* k : {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                          "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"})
        if (auto it = args_.find(k); it != args_.end() && !s.args.count(k)) {
            rs.env.push_back(std::string(k) + "=" + it->second);
            used_.insert(k);
        }
    rs.user = s.img.config.user;
    rs.workdir = s.img.config.working_dir;
    rs.network = o_.network;
    if (auto n = in.flag("network")) {
        if (*n != "none" && *n != "host" && *n != "default") return error("--network `" + *n + "`: expected none, host or default");
        rs.network = *n;
    }
    std::vector<Overlay> keep;
    std::vector<std::string> cleanup;
    struct Cleanup {
        std::vector<std::string>& files;
        ~Cleanup() {
            for (const auto& f : files) ::unlink(f.c_str());
        }
    } gone{cleanup};
    std::string bound;
    rs.mounts = HAKO_TRY(run_mounts(s, in, rs.tmpfs, keep, cleanup, bound));
    json key{{"argv", rs.argv}, {"env", rs.env}, {"user", rs.user}, {"workdir", rs.workdir}, {"network", rs.network},
             {"mounts", in.flag_all("mount")}, {"bound", bound}};
    std::string text = "RUN " + key.dump();
    std::string parent = parent_key(s);
    if (HAKO_TRY(from_cache(s, text))) return {};
    if (s.img.id.empty()) HAKO_TRY(commit_step(s, "(scratch)", "scratch", "", {}));  // (a container needs a saved image)
    auto r = HAKO_TRY(run_step(e_, s.img, rs, epoch_));
    if (r.status != 0) {
        failed_status_ = r.status;
        return error(where(in) + ": " + in.text + ": exit status " + std::to_string(r.status));
    }
    return commit_step(s, text, parent, in.json ? joined(rs.argv) : joined(shell) + " " + rs.argv.back(), r.layer);
}

Status Builder::copy_instruction(State& s, const build::Instruction& in) {
    const bool add = in.keyword == "ADD";
    build::Vars vars = vars_of(s);
    build::Expander x{vars, df_.escape};
    CopyRequest r;
    r.add = add;
    r.epoch = epoch_;
    r.where = where(in) + ": " + in.keyword;
    r.workdir = s.img.config.working_dir;
    std::optional<std::string> from;
    for (const auto& f : in.flags) {
        auto eq = f.find('=');
        std::string name = f.substr(0, eq), val = eq == std::string::npos ? "" : HAKO_TRY(x.word(f.substr(eq + 1)));
        if (name == "--from" && !add) from = val;
        else if (name == "--chown") r.chown = val;
        else if (name == "--chmod") r.chmod = HAKO_TRY(parse_mode(val, r.where));
        else if (name == "--checksum") r.checksum = val;
        // (--link: layers are independent here anyway)
    }
    std::vector<std::string> words;
    if (in.json) {
        for (const auto& w : in.json_args) words.push_back(HAKO_TRY(x.word(w)));
    } else {
        words = HAKO_TRY(x.words(in.args));
    }
    size_t heredoc = 0;
    std::vector<std::string> plain;
    for (size_t i = 0; i + 1 < words.size(); ++i) {
        if (words[i].starts_with("<<") && heredoc < in.heredocs.size()) {
            build::Heredoc h = in.heredocs[heredoc++];
            if (h.expand) h.body = HAKO_TRY((build::Expander{vars, df_.escape, true}.word(h.body)));
            r.heredocs.push_back(std::move(h));
        } else {
            plain.push_back(words[i]);
        }
    }
    if (words.size() < 2) return error("needs a source and a destination");
    r.sources = plain;
    r.dest = words.back();
    SourceRoot src;
    std::optional<Overlay> from_root;
    if (from) {
        auto img = HAKO_TRY(source_image(*from, current_->index, where(in)));
        from_root.emplace(HAKO_TRY(Overlay::mount(e_.images(), img.layers, false)));
        src.path = from_root->root();
    } else if (!r.sources.empty()) {
        if (context_.empty()) return error("no build context (it was -): nothing to copy from");
        src.path = context_;
        src.ignore = &ignore_;
    }
    auto plan = HAKO_TRY(plan_copy(r, src, e_.images(), src.ignore ? &sums() : nullptr));
    json key{{"sum", plan.checksum}, {"dest", r.dest}, {"workdir", r.workdir}, {"chown", r.chown},
             {"chmod", r.chmod ? static_cast<int>(*r.chmod) : -1}};
    std::string text = in.keyword + " " + key.dump();
    std::string parent = parent_key(s);
    if (HAKO_TRY(from_cache(s, text))) return {};
    auto ov = HAKO_TRY(Overlay::mount(e_.images(), s.img.layers, true));
    HAKO_TRY(apply_copy(plan, r, src, ov.root()));
    auto layer = HAKO_TRY(ov.commit(e_.images(), epoch_));
    std::string what = plan.items.size() == 1 && plan.items[0].dir ? "dir:" : plan.items.size() == 1 ? "file:" : "multi:";
    return commit_step(s, text, parent, "/bin/sh -c #(nop) " + in.keyword + " " + what + plan.checksum + " in " + r.dest, layer);
}

}  // namespace hako::frontend::bld
