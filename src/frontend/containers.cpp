#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/digest.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "frontend/engine.hpp"
#include "frontend/pull.hpp"
#include "process/exec_stub.hpp"
#include "process/terminal.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

#ifdef HAKO_HAVE_MONITOR_STUB
namespace hako::proc {
extern const unsigned char kMonitorStub[];
extern const std::size_t kMonitorStub_size;
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

Status Engine::save(const Record& r) const {
    json j{{"id", r.id},           {"name", r.name}, {"image", r.image}, {"imageId", r.image_id},
           {"command", r.command}, {"created", r.created}, {"rm", r.rm}, {"detached", r.detached}};
    if (r.exit_code) j["exitCode"] = *r.exit_code;
    if (!r.finished.empty()) j["finished"] = r.finished;
    return sys::write_file_atomic(AT_FDCWD, dir(r.id) + "/container.json", j.dump());
}

Result<Record> Engine::load(const std::string& id) const {
    auto text = HAKO_TRY(sys::read_file(dir(id) + "/container.json"));
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("container `" + id + "`: corrupt record");
    Record r;
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
    return r;
}

ContainerView Engine::view(Record r) const {
    ContainerView v;
    auto st = runtime::state(runtime_store(), r.id);
    if (st && st->status != runtime::ContainerStatus::Stopped) {
        v.status = runtime::status_name(st->status);
        v.pid = st->state.pid;
    } else {
        v.status = r.exit_code ? "exited" : st ? "exited" : "created";
    }
    v.record = std::move(r);
    return v;
}

Result<std::vector<ContainerView>> Engine::list(bool all) const {
    std::vector<ContainerView> out;
    DIR* d = opendir((root_ + "/containers").c_str());
    if (!d) return out;
    std::vector<std::string> ids;
    while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
    closedir(d);
    for (const auto& id : ids) {
        auto r = load(id);
        if (!r) continue;
        auto v = view(std::move(*r));
        if (all || v.active()) out.push_back(std::move(v));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.record.created > b.record.created; });
    return out;
}

Result<ContainerView> Engine::find(const std::string& ref) const {
    auto all = HAKO_TRY(list(true));
    const ContainerView* match = nullptr;
    for (const auto& v : all)
        if (v.record.name == ref || v.record.id == ref) return v;
    for (const auto& v : all)
        if (ref.size() >= 3 && v.record.id.rfind(ref, 0) == 0) {
            if (match) return error("container id prefix `" + ref + "` is ambiguous");
            match = &v;
        }
    if (match) return *match;
    return error("no such container `" + ref + "`");
}

Status Engine::mount_rootfs(const std::string& id, const image::Image& img) const {
    std::string d = dir(id);
    for (const char* sub : {"upper", "work", "rootfs", "bundle"}) HAKO_TRY(sys::mkdir_all(d + "/" + sub, 0755));
    std::string lower;
    for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) {  // top layer first
        if (!lower.empty()) lower += ':';
        lower += images_.layer_dir(*it);
    }
    std::string opts = "lowerdir=" + lower + ",upperdir=" + d + "/upper,workdir=" + d + "/work";
    return sys::mount("overlay", (d + "/rootfs").c_str(), "overlay", 0, opts.c_str(),
                      "mount the container's overlay root on `" + d + "/rootfs`");
}

Status Engine::cleanup(const std::string& id) const {
    (void)runtime::remove(runtime_store(), id, true);
    // (a failed network teardown stays in the state, for the next command to
    // finish: it must not keep the container from going)
    if (auto d = nets_.detach(id); !d) log::warn("container {}: network teardown: {}", id.substr(0, 12), d.error().what());
    std::string rootfs = dir(id) + "/rootfs";
    if (umount2(rootfs.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return sys_error("unmount `" + rootfs + "`");
    // (the monitor may be writing the exit record meanwhile: an entry that
    // comes or goes during the walk is retried)
    std::error_code ec;
    for (int i = 0; i < 5; ++i) {
        ec.clear();
        std::filesystem::remove_all(dir(id), ec);
        if (!ec || (ec != std::errc::no_such_file_or_directory && ec != std::errc::directory_not_empty)) break;
    }
    if (ec) return error("remove `" + dir(id) + "`: " + ec.message());
    return {};
}

Result<int> Engine::run(const RunOptions& o, std::string* out_id) {
    if (o.detach && o.tty) return error("-t with -d: a detached container's terminal needs attach, which hako has not yet");
    auto img = HAKO_TRY(image_for(o));
    if (!o.name.empty()) {
        auto all = HAKO_TRY(list(true));  // (names only: "c45" may be an id's prefix too)
        for (const auto& v : all)
            if (v.record.name == o.name) return error("the name `" + o.name + "` is in use by container " + v.record.id.substr(0, 12));
        if (o.name.find('/') != std::string::npos) return error("--name `" + o.name + "`: no slashes");
    }
    Record rec;
    rec.id = random_id();
    rec.name = o.name.empty() ? random_name(rec.id) : o.name;
    // Networking decided (every flag checked) before anything is made.
    NetRequest nreq = o.net;
    nreq.hostname = o.hostname;
    auto join = [this](const std::string& ref) -> Result<JoinTarget> {
        auto v = HAKO_TRY(find(ref));
        if (v.status != "running") return error("container `" + ref + "` is " + v.status + ", not running");
        return JoinTarget{v.record.id, dir(v.record.id), v.pid};
    };
    auto plan = HAKO_TRY(nets_.plan(nreq, rec.id, dir(rec.id), join, img.config.exposed_ports));
    rec.image = img.names.empty() ? img.id.substr(0, 12) : image::display_name(img.names[0]);
    rec.image_id = img.id;
    rec.created = now_rfc3339();
    rec.rm = o.rm;
    rec.detached = o.detach;
    HAKO_TRY(sys::mkdir_all(dir(rec.id), 0700));
    bool keep = false;
    struct Undo {
        const Engine* e;
        std::string id;
        bool* keep;
        ~Undo() {
            if (!*keep) (void)e->cleanup(id);
        }
    } undo{this, rec.id, &keep};
    HAKO_TRY(mount_rootfs(rec.id, img));
    std::string init;
#ifdef HAKO_HAVE_MONITOR_STUB
    if (o.init) {
        init = dir(rec.id) + "/init";
        HAKO_TRY(sys::write_file_atomic(
            AT_FDCWD, init, std::string_view(reinterpret_cast<const char*>(proc::kInitStub), proc::kInitStub_size)));
        if (chmod(init.c_str(), 0555) < 0) return sys_error("chmod `" + init + "`");
    }
#endif
    auto config = HAKO_TRY(make_config(o, img, rec.id, dir(rec.id) + "/rootfs", plan, init));
    std::string hostname = container_hostname(o, rec.id, plan);
    rec.command = config.args;
    HAKO_TRY(sys::write_file_atomic(AT_FDCWD, dir(rec.id) + "/bundle/config.json", config.json));
    HAKO_TRY(save(rec));
    if (out_id) *out_id = rec.id;

    runtime::CreateOptions co;
    co.id = rec.id;
    co.bundle = dir(rec.id) + "/bundle";
    auto store = runtime_store();
    if (!o.detach) {
        if (!o.interactive) {  // docker: no stdin without -i
            UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            if (null) dup2(null.get(), 0);
        }
        auto attached = HAKO_TRY(nets_.attach(plan, rec.id, rec.name, hostname));  // (on error, undo cleans up)
        auto code = HAKO_TRY(runtime::run(store, co, /*detach=*/false));
        keep = true;
        HAKO_TRY(finish(rec.id, code));
        return code;
    }
    // Detached: a monitor process is the init's parent; it reports back once
    // the container runs (or why it could not), then waits for its exit.
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd rd(pfd[0]), wr(pfd[1]);
    pid_t mon = fork();
    if (mon < 0) return sys_error("fork the monitor");
    if (mon == 0) {
        rd.reset();
        setsid();
        UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
        UniqueFd log(::open(log_path(rec.id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
        if (null) dup2(null.get(), 0);
        if (log) {
            dup2(log.get(), 1);
            dup2(log.get(), 2);
        }
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        // The monitor makes the networking (it owns it, and holds the ports).
        auto attached = nets_.attach(plan, rec.id, rec.name, hostname);
        Result<runtime::ContainerState> created = attached ? runtime::create(store, co) : std::unexpected(attached.error());
        Status started = created ? runtime::start(store, rec.id) : Status(std::unexpected(created.error()));
        if (!started) {  // "<errno> <message>": the error itself, rebuilt on the other side
            std::string msg = std::to_string(started.error().err) + " " + started.error().msg;
            (void)!::write(wr.get(), msg.data(), msg.size());
            (void)cleanup(rec.id);
            _exit(1);
        }
        (void)!::write(wr.get(), "0", 1);
        wr.reset();
        std::vector<int> held;
        for (const auto& fd : attached->held) held.push_back(fd.get());
        wait_as_monitor(created->pid, rec.id, held);
    }
    wr.reset();
    std::string reply;
    char buf[4096];
    for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        reply.append(buf, static_cast<size_t>(n));
    }
    keep = true;  // the monitor owns it now (and cleaned up after a failure)
    if (reply == "0") return 0;
    if (reply.empty()) return error("the container's monitor died before the container started");
    waitpid(mon, nullptr, 0);
    return std::unexpected(Error{atoi(reply.c_str()), reply.substr(reply.find(' ') + 1)});
}

void Engine::wait_as_monitor(pid_t init, const std::string& id, const std::vector<int>& keep) const {
    for (int fd : keep) fcntl(fd, F_SETFD, 0);  // held through the stub, to __monitor-exited
    setenv("HAKO_RUNROOT", runroot_.c_str(), 1);
#ifdef HAKO_HAVE_MONITOR_STUB
    // Wait as the few pages of the monitor stub, not as all of hako.
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    auto stub = proc::sealed_executable("hako-monitor", proc::kMonitorStub, proc::kMonitorStub_size);
    if (n > 0 && stub) {
        self[n] = 0;
        std::string pid = std::to_string(init);
        const char* argv[] = {"hako-monitor", pid.c_str(), self, root_.c_str(), id.c_str(), nullptr};
        syscall(SYS_execveat, stub->get(), "", argv, environ, AT_EMPTY_PATH);
    }
#endif
    int status = 0;
    while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {  // orphans we adopted
    }
    (void)finish(id, WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
    _exit(0);
}

Status Engine::finish(const std::string& id, int code) const {
    auto rec = load(id);
    if (!rec) return nets_.detach(id);  // removed meanwhile (rm -f)
    if (rec->rm) return cleanup(id);    // (which detaches)
    if (auto d = nets_.detach(id); !d) log::warn("container {}: network teardown: {}", id.substr(0, 12), d.error().what());
    rec->exit_code = code;
    rec->finished = now_rfc3339();
    (void)runtime::remove(runtime_store(), id, true);
    umount2((dir(id) + "/rootfs").c_str(), MNT_DETACH);
    return save(*rec);
}

Status Engine::kill(const std::string& ref, int sig) {
    auto v = HAKO_TRY(find(ref));
    if (!v.active())
        return error("container `" + ref + "` is " + v.status + ", not running");
    return runtime::kill(runtime_store(), v.record.id, sig, false);
}

Status Engine::stop(const std::string& ref, int timeout_s) {
    auto v = HAKO_TRY(find(ref));
    if (!v.active()) return {};  // stopped already: fine, as docker
    if (v.status == "paused") (void)runtime::resume(runtime_store(), v.record.id);
    (void)runtime::kill(runtime_store(), v.record.id, SIGTERM, false);
    auto gone = [&] {
        auto now = find(ref);
        return !now || !now->active();
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (!gone() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!gone()) {
        (void)runtime::kill(runtime_store(), v.record.id, SIGKILL, true);
        for (int i = 0; i < 500 && !gone(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // The monitor records the exit; wait for it a little so `ps -a` says so.
    for (int i = 0; i < 100; ++i) {
        auto r = load(v.record.id);
        if (!r || r->exit_code) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
}

Status Engine::remove(const std::string& ref, bool force) {
    auto v = HAKO_TRY(find(ref));
    if (v.active() && !force)
        return error("container `" + ref + "` is " + v.status + ": stop it first, or rm -f");
    return cleanup(v.record.id);
}

Result<int> Engine::wait(const std::string& ref) {
    auto v = HAKO_TRY(find(ref));
    for (;;) {
        auto r = load(v.record.id);
        if (!r) return error("container `" + ref + "` was removed");
        if (r->exit_code) return *r->exit_code;
        auto now = view(*r);
        if (now.status == "created") return error("container `" + ref + "` never ran");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace hako::frontend
