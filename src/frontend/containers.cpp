// Containers: their records, create, start (in the foreground or under a
// monitor, conmon.cpp), listing and lookup.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/digest.hpp"
#include "common/fault.hpp"
#include "common/log.hpp"
#include "common/parallel.hpp"
#include "common/strings.hpp"
#include "frontend/engine.hpp"
#include "frontend/pull.hpp"
#include "frontend/volumes.hpp"
#include "frontend/attach.hpp"
#include "frontend/container_log.hpp"
#include "frontend/spec_internal.hpp"
#include "fs/fs.hpp"
#include "image/json.hpp"
#include "common/scope.hpp"
#include <sys/file.h>
#include <sys/statfs.h>
#include "sys/inroot.hpp"
#include "process/exec_stub.hpp"
#include "process/terminal.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

#ifdef HAKO_HAVE_INIT_STUB
namespace hako::proc {
extern const unsigned char kInitStub[];
extern const std::size_t kInitStub_size;
}  // namespace hako::proc
#endif

namespace hako::frontend {
namespace {

using json = nlohmann::json;

std::string random_name(const std::string& id) {
    static const char* kAdj[] = {"quiet", "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly",
                                 "kind", "lucid", "merry", "nimble", "proud", "sharp", "witty", "zen"};
    static const char* kNoun[] = {"box", "crate", "chest", "cask", "tin", "case", "trunk", "bin",
                                  "pod", "jar", "urn", "vat", "ark", "bag", "cup", "kit"};
    unsigned a = static_cast<unsigned>(std::stoul(id.substr(0, 2), nullptr, 16)) & 15;
    unsigned n = static_cast<unsigned>(std::stoul(id.substr(2, 2), nullptr, 16)) & 15;
    return std::string(kAdj[a]) + "_" + kNoun[n] + "_" + id.substr(4, 4);
}

}  // namespace

int exit_code_for(const Error& e) {
    if (e.msg.find("process.args[0]") == std::string::npos) return kExitEngine;
    if (e.err == ENOENT || e.msg.find("not found") != std::string::npos) return kExitNotFound;
    if (e.err == EACCES || e.err == ENOEXEC || e.err == EISDIR) return kExitCannotRun;
    return kExitEngine;
}

Engine::Engine(std::string root, std::string runroot)
    : root_(std::move(root)),
      runroot_(std::move(runroot)),
      images_(root_),
      nets_(root_, runroot_, [this](const std::string& id) {
          auto r = load(id);
          return r && view(std::move(*r)).active();
      }) {}

Result<image::Image> Engine::resolve_image(const std::string& ref) {
    auto img = images_.find(ref);
    if (img) return img;
    if (image::normalize_name(ref) == "docker.io/library/busybox:latest") return images_.builtin_busybox();
    return img;
}

Result<image::Image> Engine::image_for(const RunOptions& o) {
    if (o.pull != "missing" && o.pull != "always" && o.pull != "never")
        return error("--pull `" + o.pull + "`: expected missing, always or never");
    if (o.pull != "always") {
        auto img = resolve_image(o.image);
        if (img || o.pull == "never") return img;
    }
    PullOptions p;
    p.ref = o.image;
    p.platform = o.platform;
    auto img = pull(images_, p);
    if (!img && o.pull == "missing") return std::unexpected(std::move(img).error().context("no image `" + o.image + "` here"));
    return img;
}

std::string Engine::log_path(const std::string& id) const { return dir(id) + "/log"; }

namespace {

json mount_json(const MountSpec& m) {
    return {{"type", m.type}, {"source", m.source}, {"destination", m.destination},
            {"ro", m.ro},     {"anonymous", m.anonymous}, {"options", m.options}};
}

MountSpec mount_from(const json& j) {
    MountSpec m;
    m.type = j.value("type", "bind");
    m.source = j.value("source", "");
    m.destination = j.value("destination", "");
    m.ro = j.value("ro", false);
    m.anonymous = j.value("anonymous", false);
    m.options = j.value("options", std::vector<std::string>{});
    return m;
}

bool overlay_mounted(const std::string& path) {
    struct statfs sf{};
    return statfs(path.c_str(), &sf) == 0 && sf.f_type == 0x794c7630;  // OVERLAYFS_SUPER_MAGIC
}

}  // namespace

Status Engine::save(const Record& r) const {
    // (what is false, zero or empty left out: load() defaults it)
    json j{{"id", r.id},           {"name", r.name},       {"image", r.image},
           {"imageId", r.image_id}, {"command", r.command}, {"created", r.created},
           {"options", options_to_json(r.options)}};
    if (r.monitor.pid) j["monitor"] = {r.monitor.pid, r.monitor.start};
    if (r.rm) j["rm"] = true;
    if (r.detached) j["detached"] = true;
    if (r.restart_count) j["restartCount"] = r.restart_count;
    if (r.restarting) j["restarting"] = true;
    if (r.stop_requested) j["stopRequested"] = true;
    if (r.oom_killed) j["oomKilled"] = true;
    if (!r.stop_signal.empty()) j["stopSignal"] = r.stop_signal;
    if (!r.mounts.empty()) {
        json& mounts = j["mounts"] = json::array();
        for (const auto& m : r.mounts) mounts.push_back(mount_json(m));
    }
    if (r.health) {
        image::Config c;
        c.healthcheck = r.health;
        j["health"] = image::config_to_json(c)["Healthcheck"];
    }
    if (r.exit_code) j["exitCode"] = *r.exit_code;
    if (!r.finished.empty()) j["finished"] = r.finished;
    if (!r.started.empty()) j["started"] = r.started;
    if (!r.error.empty()) j["error"] = r.error;
    return sys::write_file_atomic(AT_FDCWD, dir(r.id) + "/container.json", j.dump());
}

Result<Record> Engine::load(const std::string& id, int containers_fd) const {
    auto text = HAKO_TRY(sys::read_file((containers_fd == AT_FDCWD ? dir(id) : id) + "/container.json", containers_fd));
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("container `" + id + "`: corrupt record");
    Record r;
    try {
        r.id = j.value("id", id);
        r.name = j.value("name", "");
        r.image = j.value("image", "");
        r.image_id = j.value("imageId", "");
        r.command = j.value("command", std::vector<std::string>{});
        r.created = j.value("created", "");
        r.rm = j.value("rm", false);
        r.detached = j.value("detached", false);
        if (j.contains("exitCode")) r.exit_code = j["exitCode"].get<int>();
        r.finished = j.value("finished", "");
        r.started = j.value("started", "");
        r.error = j.value("error", "");
        r.options = options_from_json(j.value("options", json::object()));
        r.restart_count = j.value("restartCount", 0);
        r.restarting = j.value("restarting", false);
        r.stop_requested = j.value("stopRequested", false);
        r.oom_killed = j.value("oomKilled", false);
        r.stop_signal = j.value("stopSignal", "");
        if (j.contains("monitor") && j["monitor"].is_array() && j["monitor"].size() == 2)
            r.monitor = {j["monitor"][0].get<pid_t>(), j["monitor"][1].get<uint64_t>()};
        if (j.contains("mounts") && j["mounts"].is_array())
            for (const auto& m : j["mounts"]) r.mounts.push_back(mount_from(m));
        if (j.contains("health") && j["health"].is_object())
            r.health = image::config_from_json(json{{"Healthcheck", j["health"]}}).healthcheck;
    } catch (const json::exception& e) {
        return error("container `" + id + "`: corrupt record: " + e.what());
    }
    return r;
}

Status Engine::update(const std::string& id, const std::function<void(Record&)>& change) const {
    auto lock = HAKO_TRY_CTX(sys::lock_file(dir(id) + "/lock", LOCK_EX), "lock container `" + id.substr(0, 12) + "`");
    auto r = HAKO_TRY(load(id));
    change(r);
    return save(r);
}

ContainerView Engine::view(Record r, const runtime::StateStore& store) const {
    ContainerView v;
    auto st = runtime::state(store, r.id);
    if (st && st->status != runtime::ContainerStatus::Stopped) {
        v.status = runtime::status_name(st->status);
        v.pid = st->state.pid;
    } else if (r.restarting) {
        v.status = "restarting";
    } else if (!r.exit_code && r.monitor.alive()) {
        // exited just now: running until its monitor has recorded how (it
        // removes the runtime's state first, then writes the exit code)
        v.status = "running";
        if (st) v.pid = st->state.pid;
    } else {
        v.status = r.exit_code ? "exited" : st ? "exited" : "created";
    }
    if (r.health && v.active())
        if (auto text = sys::read_file(dir(r.id) + "/health.json")) v.health = health_from_json(json::parse(*text, nullptr, false));
    v.record = std::move(r);
    return v;
}

Result<ContainerList> Engine::list(bool all) const { return scan(all, true); }

ContainerList Engine::scan(bool all, bool states) const {
    DIR* d = opendir((root_ + "/containers").c_str());
    if (!d) return ContainerList();
    std::unique_ptr<DIR, int (*)(DIR*)> closing(d, closedir);
    std::vector<std::string> ids;
    while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
        else if (std::string_view(e->d_name).starts_with(".new-")) collect_unrecorded(e->d_name);
    // Each record read and its state looked at: a few small files apiece,
    // opened relative to the two directories, on a few threads when there
    // are many (hako ps of 1,000 containers). Each view is made where it is
    // read (a thread's own memory, faulted in there), and only pointers are
    // sorted (ContainerList).
    const auto store = runtime_store().pinned();
    std::vector<std::unique_ptr<ContainerView>> views(ids.size());
    std::vector<char> missing(ids.size(), 0);
    parallel_for(ids.size(), [&](size_t i) {
        try {
            auto r = load(ids[i], dirfd(d));
            if (!r) {
                missing[i] = r.error().err == ENOENT;
                return;
            }
            auto v = std::make_unique<ContainerView>();
            if (states) *v = view(std::move(*r), store);
            else v->record = std::move(*r);
            if (all || v->active() || v->status == "restarting") views[i] = std::move(v);
        } catch (const std::exception& e) {  // (a file of its own that is not what we wrote)
            log::warn("container `{}`: {}", ids[i].substr(0, 12), e.what());
        }
    });
    for (size_t i = 0; i < ids.size(); ++i)
        if (missing[i]) collect_unrecorded(ids[i]);
    std::erase(views, nullptr);
    std::sort(views.begin(), views.end(),
              [](const auto& a, const auto& b) { return a->record.created > b->record.created; });
    return ContainerList(std::move(views));
}

// A container directory without a record: its creator was killed before
// saving one, or is saving it now and holds the lock. An ID one is removed,
// with whatever was made for it, when nobody holds its lock (it is renamed
// into place locked); a .new-ID one (the creator between mkdir and rename,
// microseconds) once it is a minute old, as is an ID one without a lock file.
void Engine::collect_unrecorded(const std::string& name) const {
    const std::string d = root_ + "/containers/" + name;
    bool fresh = name.starts_with(".new-");
    UniqueFd lock(fresh ? -1 : ::open((d + "/lock").c_str(), O_RDWR | O_CLOEXEC));
    if (!lock) {
        struct stat st{};
        if ((!fresh && errno != ENOENT) || ::stat(d.c_str(), &st) < 0 || time(nullptr) - st.st_mtime < 60) return;
    } else if (::flock(lock.get(), LOCK_EX | LOCK_NB) < 0 || sys::path_exists(d + "/container.json")) {
        return;  // being created, or saved meanwhile
    }
    log::debug("collecting `{}`: a container directory without a record", d);
    if (!fresh) {
        (void)cleanup(name);
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
}

Result<ContainerView> Engine::find(const std::string& ref) const {
    // A full id (what run/start pass on): its record alone, not every record.
    if (ref.size() == 64 && ref.find_first_not_of("0123456789abcdef") == std::string::npos)
        if (auto r = load(ref)) return view(std::move(*r));
    // (the records alone, matched; then the state of the one it is)
    const auto all = scan(true, false);
    const Record* match = nullptr;
    std::string name = !ref.empty() && ref[0] == '/' ? ref.substr(1) : ref;  // docker's "/name"
    for (const auto& v : all)
        if (v.record.name == name || v.record.id == ref) return view(v.record);
    for (const auto& v : all)
        if (ref.size() >= 3 && v.record.id.rfind(ref, 0) == 0) {
            if (match) return error("container id prefix `" + ref + "` is ambiguous");
            match = &v.record;
        }
    if (match) return view(*match);
    return error("no such container `" + ref + "`");
}

Status Engine::mount_rootfs(const std::string& id, const image::Image& img) const {
    std::string d = dir(id);
    for (const char* sub : {"upper", "work", "rootfs", "bundle"}) HAKO_TRY(sys::mkdir_all(d + "/" + sub, 0755));
    if (overlay_mounted(d + "/rootfs")) return {};
    std::string lower;
    for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) {  // top layer first
        if (!lower.empty()) lower += ':';
        lower += images_.layer_dir(*it);
    }
    std::string opts = "lowerdir=" + lower + ",upperdir=" + d + "/upper,workdir=" + d + "/work";
    return sys::mount("overlay", (d + "/rootfs").c_str(), "overlay", 0, opts.c_str(),
                      "mount the container's overlay root on `" + d + "/rootfs`");
}

Result<UniqueFd> Engine::check_name(const std::string& name) const {
    if (name.empty()) return UniqueFd();
    if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != std::string::npos ||
        !isalnum(static_cast<unsigned char>(name[0])))
        return error("--name `" + name + "`: invalid container name (it must match [a-zA-Z0-9][a-zA-Z0-9_.-]*)");
    // Held until the record with the name is saved: two `run --name web`
    // at once make one container, and the other is told the name is taken.
    auto naming = HAKO_TRY(sys::lock_file(root_ + "/names.lock", LOCK_EX));
    // (names only, from the records: "c45" may be an id's prefix too)
    for (const auto& v : scan(true, false))
        if (v.record.name == name) return error("the name `" + name + "` is in use by container " + v.record.id.substr(0, 12));
    return naming;
}

Result<std::string> Engine::create(const RunOptions& o) {
    if (o.rm && o.restart != "no" && !o.restart.empty()) return error("--rm conflicts with --restart " + o.restart);
    HAKO_TRY(parse_restart(o.restart.empty() ? "no" : o.restart));
    if (!o.log_driver.empty() && o.log_driver != "k8s-file" && o.log_driver != "json-file" && o.log_driver != "none")
        return error("--log-driver `" + o.log_driver + "`: expected k8s-file, json-file or none");
    for (const auto& kv : o.log_opts) {
        std::string k = kv.substr(0, kv.find('='));
        if ((k != "max-size" && k != "max-file") || kv.find('=') == std::string::npos)
            return error("--log-opt `" + kv + "`: expected max-size=SIZE or max-file=N");
        if (k == "max-size") HAKO_TRY(parse_bytes(kv.substr(kv.find('=') + 1), "--log-opt max-size"));
    }
    if (!o.detach_keys.empty()) HAKO_TRY(parse_detach_keys(o.detach_keys));
    for (const auto& e : o.env)
        if (e.empty() || e[0] == '=' || e.find('\0') != std::string::npos)
            return error("-e `" + elide(e) + "`: invalid environment variable (expected KEY=VALUE, or KEY to pass ours)");
    if (o.hostname.size() > HOST_NAME_MAX)  // (sethostname's limit)
        return error("--hostname `" + elide(o.hostname, 40) + "`: longer than " + std::to_string(HOST_NAME_MAX) +
                     " characters");
    if (!o.stop_signal.empty()) HAKO_TRY_CTX(runtime::parse_signal(o.stop_signal), "--stop-signal");
    // (an image cannot go between its lookup and the record naming it:
    // rmi sees the container then)
    auto held = HAKO_TRY(images_.share());
    auto img = HAKO_TRY(image_for(o));
    auto naming = HAKO_TRY(check_name(o.name));  // (held until the record is saved)
    Record rec;
    rec.id = random_id();
    rec.name = o.name.empty() ? random_name(rec.id) : o.name;
    rec.options = o;
    rec.options.net.hostname = o.hostname;
    rec.health = HAKO_TRY(resolve_health(o, img.config));
    rec.stop_signal = !o.stop_signal.empty() ? o.stop_signal : img.config.stop_signal;
    HAKO_TRY(resolve_labels(o, img.config));
    // Networking decided (every flag checked) before anything is made.
    auto join = [this](const std::string& ref) -> Result<JoinTarget> {
        auto t = HAKO_TRY(find(ref));
        return JoinTarget{t.record.id, dir(t.record.id), t.pid};
    };
    HAKO_TRY(nets_.plan(rec.options.net, rec.id, dir(rec.id), join, img.config.exposed_ports));
    auto mounts_of = [this](const std::string& ref) -> Result<std::vector<MountSpec>> {
        auto from = HAKO_TRY(find(ref));
        return from.record.mounts;
    };
    rec.mounts = HAKO_TRY(parse_mounts(o, o.build ? std::vector<std::string>{} : img.config.volumes, mounts_of));
    Volumes vols(root_);
    rec.image = img.names.empty() ? img.id.substr(0, 12) : image::display_name(img.names[0]);
    rec.image_id = img.id;
    rec.created = now_rfc3339();
    rec.rm = o.rm;
    rec.detached = o.detach;
    HAKO_TRY(sys::mkdir_all(root_ + "/containers", 0700));
    // The directory appears whole, its lock held until the record is saved:
    // made as .new-ID, locked, renamed. A hako killed before its record was
    // saved leaves a directory whose lock nobody holds; list() collects it.
    const std::string fresh = root_ + "/containers/.new-" + rec.id;
    if (::mkdir(fresh.c_str(), 0700) < 0) return sys_error("mkdir `" + fresh + "`");
    UniqueFd creating(::open((fresh + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!creating || ::flock(creating.get(), LOCK_EX) < 0 || ::rename(fresh.c_str(), dir(rec.id).c_str()) < 0) {
        int e = errno;
        std::error_code ec;
        std::filesystem::remove_all(fresh, ec);
        return sys_error("make `" + dir(rec.id) + "`", e);
    }
    fault_point("run:dir");
    bool keep = false;
    struct Undo {
        Engine* e;
        std::string id;
        bool* keep;
        std::vector<std::string> made;  // volumes made for it
        ~Undo() {
            if (*keep) return;
            Volumes v(e->root_);
            for (const auto& n : made) (void)v.remove(n);
            (void)e->cleanup(id);
        }
    } undo{this, rec.id, &keep, {}};
    // The record first: a kill from here on leaves a container `rm -f -v`
    // removes with its anonymous volumes. Then the volumes: named ones made
    // when missing (as docker), anonymous ones new.
    HAKO_TRY(save(rec));
    naming = UniqueFd();
    fault_point("run:saved");
    for (const auto& m : rec.mounts) {
        if (m.type != "volume") continue;
        if (vols.get(m.source)) continue;
        HAKO_TRY(vols.create(m.source, {}, {}, m.anonymous, true));
        undo.made.push_back(m.source);
        event("volume", "create", m.source, {{"driver", "local"}});
    }
    if (!o.cidfile.empty()) {
        UniqueFd f(::open(o.cidfile.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (!f) return sys_error("--cidfile `" + o.cidfile + "`");
        HAKO_TRY(sys::write_all(f.get(), rec.id.data(), rec.id.size()));
    }
    keep = true;
    event("container", "create", rec.id, {{"name", rec.name}, {"image", rec.image}});
    return rec.id;
}

Result<Engine::Prepared> Engine::prepare(const std::string& id) {
    Prepared p;
    p.rec = HAKO_TRY(load(id));
    const RunOptions& o = p.rec.options;
    auto img = HAKO_TRY_CTX(images_.find(p.rec.image_id), "the container's image");
    HAKO_TRY(mount_rootfs(id, img));
    fault_point("run:overlay");
    NetRequest nreq = o.net;
    nreq.hostname = o.hostname;
    auto join = [this](const std::string& ref) -> Result<JoinTarget> {
        auto v = HAKO_TRY(find(ref));
        if (v.status != "running") return error("container `" + ref + "` is " + v.status + ", not running");
        return JoinTarget{v.record.id, dir(v.record.id), v.pid};
    };
    p.plan = HAKO_TRY(nets_.plan(nreq, id, dir(id), join, img.config.exposed_ports));
    p.hostname = container_hostname(o, id, p.plan);
    p.tty = o.tty;
    SpecInputs in;
    in.id = id;
    in.rootfs = dir(id) + "/rootfs";
    in.net = &p.plan;
    in.labels = HAKO_TRY(resolve_labels(o, img.config));
    in.pid_of = [this](const std::string& ref) -> Result<pid_t> {
        auto v = HAKO_TRY(find(ref));
        if (v.status != "running" && v.status != "paused") return error("container `" + ref + "` is " + v.status + ", not running");
        return v.pid;
    };
    Volumes vols(root_);
    for (const auto& m : p.rec.mounts) {
        MountSpec host = m;
        if (m.type == "volume") {
            auto vol = HAKO_TRY(vols.get(m.source));
            auto om = vols.oci_mount(vol);
            host.type = om.type;
            host.source = om.source;
            bool nocopy = std::find(m.options.begin(), m.options.end(), "nocopy") != m.options.end();
            // A new (empty) volume is filled from the image's content there.
            if (om.type == "bind" && !nocopy && vols.empty(vol)) {
                UniqueFd root(::open(in.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
                auto at = root ? sys::open_in_root(root.get(), m.destination, O_PATH | O_DIRECTORY) : Result<UniqueFd>(UniqueFd{});
                if (at && *at) {
                    UniqueFd src(::openat(at->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                    UniqueFd dst(::open(om.source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                    if (src && dst) HAKO_TRY_CTX(fs::copy_tree(src.get(), dst.get()), "fill volume `" + m.source + "` from the image");
                }
            }
            for (const auto& opt : om.options)
                if (opt != "rbind") host.options.push_back(opt);
        } else if (m.type == "bind" && !sys::path_exists(m.source)) {
            HAKO_TRY_CTX(sys::mkdir_all(m.source, 0755), "-v " + m.source);  // (as docker's -v)
        }
        in.mounts.push_back(host);
    }
#ifdef HAKO_HAVE_INIT_STUB
    if (o.init) {
        in.init = dir(id) + "/init";
        if (!sys::path_exists(in.init)) {
            HAKO_TRY(sys::write_file_atomic(
                AT_FDCWD, in.init, std::string_view(reinterpret_cast<const char*>(proc::kInitStub), proc::kInitStub_size)));
            if (chmod(in.init.c_str(), 0555) < 0) return sys_error("chmod `" + in.init + "`");
        }
    }
#endif
    auto config = HAKO_TRY(make_config(o, img, in));
    if (p.rec.command != config.args) {
        p.rec.command = config.args;
        HAKO_TRY(update(id, [&](Record& r) { r.command = config.args; }));
    }
    HAKO_TRY(sys::write_file_atomic(AT_FDCWD, dir(id) + "/bundle/config.json", config.json));
    return p;
}

Result<int> Engine::start(const std::string& ref, bool foreground, const std::function<void()>& when_listening) {
    auto v = HAKO_TRY(find(ref));
    if (v.active() || v.status == "restarting") return 0;  // running already: fine, as docker
    std::string id = v.record.id;
    (void)runtime::remove(runtime_store(), id, true);  // (a stopped run's leftovers)
    HAKO_TRY(update(id, [](Record& r) {
        r.stop_requested = false;
        r.error.clear();
    }));
    auto policy = HAKO_TRY(parse_restart(v.record.options.restart));
    if (foreground && policy.name == "no" && !v.record.health) {
        auto prep = HAKO_TRY(prepare(id));
        if (!prep.rec.options.interactive) {  // docker: no stdin without -i
            UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            if (null) dup2(null.get(), 0);
        }
        bool keep = false;
        ScopeExit undo([&] {
            if (!keep) (void)finish(id, 125);
        });
        auto attached = HAKO_TRY(nets_.attach(prep.plan, id, prep.rec.name, prep.hostname));
        fault_point("run:network");
        HAKO_TRY(update(id, [](Record& r) {
            r.started = now_rfc3339();
            r.exit_code.reset();
        }));
        runtime::CreateOptions co;
        co.id = id;
        co.bundle = dir(id) + "/bundle";
        event("container", "start", id, {{"name", prep.rec.name}, {"image", prep.rec.image}});
        // (the output of a terminal goes to ours only, as runtime::run relays it)
        std::optional<ForegroundLog> flog;
        if (!prep.tty && prep.rec.options.log_driver != "none") {
            flog.emplace(log_path(id), prep.rec.options);
            HAKO_TRY(flog->start());
        }
        auto ran = runtime::run(runtime_store(), co, /*detach=*/false);
        if (flog) flog->finish();
        auto code = HAKO_TRY(std::move(ran));
        keep = true;
        HAKO_TRY(finish(id, code));
        return code;
    }
    // Under a monitor: it reports back once the container runs (or why it
    // could not), then watches it.
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd rd(pfd[0]), wr(pfd[1]);
    pid_t mon = fork();
    if (mon < 0) return sys_error("fork the monitor");
    if (mon == 0) {
        rd.reset();
        setsid();
        UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (null) {
            dup2(null.get(), 0);
            dup2(null.get(), 1);
        }
        UniqueFd mlog(::open((dir(id) + "/monitor.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
        if (mlog) dup2(mlog.get(), 2);
        if (chdir(dir(id).c_str()) < 0) _exit(1);
        setenv("HAKO_RUNROOT", runroot_.c_str(), 1);
        monitor(id, wr.release(), bool(when_listening));
    }
    wr.reset();
    std::string reply;
    char buf[4096];
    for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        reply.append(buf, static_cast<size_t>(n));
        if (when_listening && reply.rfind("L", 0) == 0) {  // the attach socket listens: connect
            reply.erase(0, 1);
            when_listening();
        }
    }
    if (reply == "0") return 0;
    if (reply.empty()) return error("the container's monitor died before the container started");
    waitpid(mon, nullptr, 0);
    return std::unexpected(Error{atoi(reply.c_str()), reply.substr(reply.find(' ') + 1)});
}

Result<int> Engine::run(const RunOptions& o, std::string* out_id, const std::function<void()>& when_listening) {
    auto id = HAKO_TRY(create(o));
    if (out_id) *out_id = id;
    auto r = start(id, !o.detach, when_listening);
    if (!r) (void)remove(id, true, true);  // a run that could not start leaves nothing
    return r;
}

}  // namespace hako::frontend
