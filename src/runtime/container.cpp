#include "runtime/container.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.hpp"
#include "common/fault.hpp"
#include "common/parallel.hpp"
#include "common/scope.hpp"
#include "common/strings.hpp"
#include "oci/spec.hpp"
#include "process/exec_stub.hpp"
#include "process/hooks.hpp"
#include "process/terminal.hpp"
#include "process/launcher.hpp"
#include "common/log.hpp"
#include "security/security.hpp"
#include "sys/syscalls.hpp"

namespace hako::runtime {
namespace {

Result<std::string> real_path(const std::string& p, const std::string& what) {
    char* r = realpath(p.c_str(), nullptr);
    if (!r) return sys_error(what + " `" + p + "`");
    std::string out(r);
    free(r);
    return out;
}

// Let init exec: open the exec fifo for reading (init is blocked opening it
// for writing), take its byte, remove the fifo.
// The pidfd is taken before the fifo is opened: opening it releases init,
// which may exec, exit and be reaped by its subreaper (conmon,
// containerd-shim) before we look again. Once the fifo is open, its byte
// alone means init was released (runc trusts the fifo alike).
// With wait_exec, return only once the process runs: init keeps the fifo
// open until its execve closes it (the poststart hooks come after that).
Status release_init(const ContainerDir& dir, const ContainerState& st, bool wait_exec) {
    log::Step step("start: release init through the exec fifo");
    auto pidfd = HAKO_TRY(open_init(st));
    UniqueFd fifo(::openat(dir.fd(), proc::kExecFifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo) return sys_error("open the exec fifo in `" + dir.path() + "`");
    pollfd fds[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    for (;;) {
        int n = poll(fds, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("wait for init");
        if (fds[0].revents & POLLIN) {
            char c;
            if (::read(fifo.get(), &c, 1) == 1) break;
        }
        if (fds[1].revents) return error("the container's init exited before start");
    }
    if (unlinkat(dir.fd(), proc::kExecFifo, 0) < 0) return sys_error("remove the exec fifo");
    if (wait_exec) {
        fcntl(fifo.get(), F_SETFL, 0);  // blocking: until EOF
        for (char c;;) {
            ssize_t n = ::read(fifo.get(), &c, 1);
            if (n == 0 || (n < 0 && errno != EINTR)) break;
        }
    }
    return {};
}

// Wait until the process is gone (for delete --force).
void wait_gone(pid_t pid, int pidfd) {
    pollfd p{pidfd, POLLIN, 0};
    poll(&p, 1, 10000);
    waitpid(pid, nullptr, WNOHANG);
}

Status signal_init(const ContainerState& st, int sig) {
    auto pidfd = HAKO_TRY(open_init(st));
    return sys::pidfd_send_signal(pidfd.get(), sig);
}

// Every process in the init's pid namespace (kill --all without cgroups).
Status signal_all(const ContainerState& st, int sig) {
    struct stat init_ns{};
    if (stat(("/proc/" + std::to_string(st.pid) + "/ns/pid").c_str(), &init_ns) < 0)
        return sys_error("stat the container's pid namespace");
    struct stat self_ns{};
    if (stat("/proc/self/ns/pid", &self_ns) == 0 && self_ns.st_ino == init_ns.st_ino)
        return signal_init(st, sig);  // host pid namespace: only init is surely ours
    DIR* d = opendir("/proc");
    if (!d) return sys_error("open /proc");
    while (dirent* e = readdir(d)) {
        pid_t p = atoi(e->d_name);
        if (p <= 0) continue;
        struct stat ns{};
        if (stat(("/proc/" + std::to_string(p) + "/ns/pid").c_str(), &ns) == 0 &&
            ns.st_ino == init_ns.st_ino && ns.st_dev == init_ns.st_dev)
            ::kill(p, sig);
    }
    closedir(d);
    return {};
}

}  // namespace

Status check_host_support(oci::Process& p) {
    if (p.capabilities) {
        if (!p.capabilities->unknown.empty())
            log::warn("process.capabilities: unknown capabilities left out: {}",
                      fmt::format("{}", fmt::join(p.capabilities->unknown, ", ")));
        auto dropped = security::fit_capabilities(*p.capabilities);
        if (!dropped.empty())
            log::warn("process.capabilities: {} left out: not in the runtime's own bounding set",
                      fmt::format("{}", fmt::join(dropped, ", ")));
    }
    if (!p.apparmor_profile.empty() && !security::apparmor_enabled())
        return error("process.apparmorProfile `" + p.apparmor_profile +
                     "`: AppArmor is not enabled on this host");
    return {};
}

namespace {

// LISTEN_FDS=N with LISTEN_PID naming us: fds 3..3+N-1 are sockets systemd
// passed us (sd_listen_fds(3)).
int listen_fds() {
    const char* n = getenv("LISTEN_FDS");
    const char* pid = getenv("LISTEN_PID");
    if (!n || !pid || atoi(pid) != getpid()) return 0;
    int count = atoi(n);
    return count > 0 && count < 1024 ? count : 0;
}

// The state a hook reads on stdin (status `status`).
std::string hook_state(const ContainerState& st, ContainerStatus status) {
    return state_json(StateView{st, status});
}

// poststart and poststop: a failing hook is a warning, the rest still run.
void run_hooks_warning(const std::vector<oci::Hook>& hooks, std::string_view kind, const std::string& state) {
    for (size_t i = 0; i < hooks.size(); ++i)
        if (auto st = proc::run_hook(hooks[i], kind, i, state); !st) log::warn("{}", st.error().what());
}

}  // namespace

Result<UniqueFd> open_init(const ContainerState& st) {
    auto pidfd = sys::pidfd_open(st.pid);
    if (!pidfd || process_start_time(st.pid) != st.pid_start)
        return error("container `" + st.id + "` is not running");
    return pidfd;
}

namespace {

// create, and for a foreground run with a terminal, the pty master.
Result<ContainerState> create_container(const StateStore& store, const CreateOptions& opts,
                                        UniqueFd* master) {
    log::Step total("create");
    std::string bundle = HAKO_TRY(real_path(opts.bundle, "bundle"));
    const std::string config_path = bundle + "/config.json";
    auto spec = HAKO_TRY(oci::load_spec(config_path));
    HAKO_TRY_CTX(oci::validate_spec(spec), config_path);
    HAKO_TRY(check_host_support(*spec.process));  // (may leave out capabilities)
    std::string root = spec.root.path;
    if (root.empty() || root[0] != '/') root = bundle + "/" + root;
    std::string rootfs = HAKO_TRY(real_path(root, "root.path"));
    struct stat rst{};
    if (stat(rootfs.c_str(), &rst) < 0 || !S_ISDIR(rst.st_mode))
        return error("root.path `" + rootfs + "`: not a directory");
    // The terminal: its master goes to --console-socket, or to us (a
    // foreground run relays it).
    if (!opts.console_socket.empty() && !spec.process->terminal)
        return error("--console-socket given, but process.terminal is false: there is no pty to send");
    if (spec.process->terminal && opts.console_socket.empty() && !master)
        return error("process.terminal is true: give --console-socket for the pty master "
                     "(a detached container has no terminal of ours to attach to)");
    auto console = HAKO_TRY(proc::open_console(opts.console_socket, spec.process->terminal));
    std::optional<security::SeccompProgram> seccomp;
    if (spec.linux && spec.linux->seccomp) {
        log::Step step("compile seccomp");
        seccomp = HAKO_TRY(security::compile_seccomp(*spec.linux->seccomp, seccomp_cache_dir()));
    }

    auto dir = HAKO_TRY(store.create(opts.id));
    ScopeExit remove_dir([&dir] { (void)dir.remove(); });
    fault_point("create:state-dir");
    // A record from the first moment, with the cgroup about to be made: a
    // create killed at any point leaves what `delete --force` cleans up
    // (no pid yet: the container reads as stopped).
    ContainerState st;
    st.oci_version = spec.oci_version;
    st.id = opts.id;
    st.bundle = bundle;
    st.rootfs = rootfs;
    st.created = now_rfc3339();
    st.owner = getuid();
    st.annotations = spec.annotations;
    const std::string cgroups_path = spec.linux ? spec.linux->cgroups_path : "";
    st.cgroup_dirs = HAKO_TRY(cgroup::Cgroup::planned_dirs(cgroups_path, opts.id));
    if (std::any_of(st.cgroup_dirs.begin(), st.cgroup_dirs.end(), sys::path_exists))
        st.cgroup_dirs.clear();  // (a cgroup that is not ours to remove)
    HAKO_TRY(dir.save(st));
    fault_point("create:recorded");
    auto cg = HAKO_TRY(cgroup::Cgroup::create(cgroups_path, opts.id));
    ScopeExit remove_cgroup([&cg] {
        if (!cg.existed()) (void)cg.destroy();
    });
    fault_point("create:cgroup");
    if (cg.existed()) {
        auto held = cg.pids();
        if (held && !held->empty())
            log::warn("container's cgroup is not empty: {} process(es) found", held->size());
    }
    if (spec.linux && spec.linux->resources)
        HAKO_TRY(cg.apply(*spec.linux->resources, spec.linux->devices));
    if (mkfifoat(dir.fd(), proc::kExecFifo, 0622) < 0 ||
        fchmodat(dir.fd(), proc::kExecFifo, 0622, 0) < 0)
        return sys_error("create the exec fifo in `" + dir.path() + "`");

    proc::LaunchConfig lc;
    lc.spec = &spec;
    lc.bundle = bundle;
    lc.rootfs = rootfs;
    lc.state_dir_fd = dir.fd();
    lc.no_pivot = opts.no_pivot;
    // Socket activation (systemd's LISTEN_FDS for us): those fds go first,
    // and the process is told of them, as runc does.
    int listen = listen_fds();
    if (listen > 0) {
        spec.process->env.push_back("LISTEN_FDS=" + std::to_string(listen));
        spec.process->env.push_back("LISTEN_PID=1");
    }
    lc.preserve_fds = listen + opts.preserve_fds;
    lc.seccomp = seccomp ? &*seccomp : nullptr;
    lc.cgroup = &cg;
    lc.console_fd = console.theirs.get();
    if (!opts.no_new_keyring) lc.session_keyring = "_ses." + opts.id;
    UniqueFd stub = HAKO_TRY(proc::make_exec_stub());
    lc.exec_stub_fd = stub.get();

    st.cgroup_dirs = cg.dirs();
    if (spec.hooks) {
        st.poststart = spec.hooks->poststart;
        st.poststop = spec.hooks->poststop;
        const oci::Hooks& hooks = *spec.hooks;
        if (!hooks.prestart.empty() || !hooks.create_runtime.empty() || !hooks.create_container.empty() ||
            !hooks.start_container.empty())
            lc.on_hooks = [&](pid_t init) -> Result<std::string> {
                ContainerState now = st;
                now.pid = init;
                std::string text = hook_state(now, ContainerStatus::Created);
                log::Step step("prestart and createRuntime hooks");
                fault_point("create:hooks");
                HAKO_TRY(proc::run_hooks(hooks.prestart, "prestart", text));
                HAKO_TRY(proc::run_hooks(hooks.create_runtime, "createRuntime", text));
                return text;
            };
    }
    if (seccomp && seccomp->notify)
        lc.on_seccomp_listener = [&](pid_t init, UniqueFd listener) -> Status {
            ContainerState now = st;
            now.pid = init;
            return send_seccomp_listener(*spec.linux->seccomp, init, hook_state(now, ContainerStatus::Creating),
                                         listener.get());
        };
    auto launched = HAKO_TRY(proc::launch(lc));
    fault_point("create:launched");
    console.theirs.reset();
    st.pid = launched.pid;
    st.pid_start = process_start_time(launched.pid);
    auto saved = dir.save(st);
    if (saved && !opts.pid_file.empty())
        saved = sys::write_file_atomic(AT_FDCWD, opts.pid_file, std::to_string(launched.pid));
    if (saved && console.ours) {
        auto m = proc::receive_master(console.ours.get());
        if (m) *master = std::move(*m);
        else saved = std::unexpected(std::move(m).error());
    }
    if (!saved) {
        ::kill(launched.pid, SIGKILL);
        waitpid(launched.pid, nullptr, 0);
        return std::unexpected(std::move(saved).error());
    }
    fault_point("create:saved");
    remove_dir.release();
    remove_cgroup.release();
    return st;
}

// Let init go, then the poststart hooks.
Status start_container(const ContainerDir& dir, const ContainerState& st) {
    HAKO_TRY(release_init(dir, st, /*wait_exec=*/!st.poststart.empty()));
    if (!st.poststart.empty()) {
        log::Step step("poststart hooks");
        run_hooks_warning(st.poststart, "poststart", hook_state(st, ContainerStatus::Running));
    }
    return {};
}

}  // namespace

Result<ContainerState> create(const StateStore& store, const CreateOptions& opts, UniqueFd* master) {
    return create_container(store, opts, master);
}

Result<ContainerState> create(const StateStore& store, const CreateOptions& opts) {
    return create_container(store, opts, nullptr);
}

Status start(const StateStore& store, const std::string& id) {
    auto dir = HAKO_TRY(store.open(id));
    auto st = HAKO_TRY(dir.load());
    auto status = status_of(st, dir);
    if (status != ContainerStatus::Created)
        return error("container `" + id + "` is " + status_name(status) +
                     ", not created: only a created container can be started");
    return start_container(dir, st);
}

std::string seccomp_cache_dir() {
    // Not under --root, which clients expect to hold containers only (and
    // shared by every --root). tmpfs: gone at reboot, with its kernel.
    if (geteuid() == 0) return "/run/hako-cache/seccomp";
    const char* xdg = getenv("XDG_RUNTIME_DIR");
    return xdg && *xdg == '/' ? std::string(xdg) + "/hako-cache/seccomp" : std::string();
}

sigset_t forwarded_signals() {
    static constexpr int kForward[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};
    sigset_t set;
    sigemptyset(&set);
    for (int s : kForward) sigaddset(&set, s);
    return set;
}


Result<int> run(const StateStore& store, const CreateOptions& opts, bool detach, bool keep) {
    sigset_t forward = forwarded_signals(), old;
    UniqueFd master;
    auto created = HAKO_TRY(create_container(store, opts, detach ? nullptr : &master));
    pid_t pid = created.pid;
    auto fail = [&](Error e) -> Result<int> {
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        (void)remove(store, opts.id, true);
        return std::unexpected(std::move(e));
    };
    if (!detach) sigprocmask(SIG_BLOCK, &forward, &old);
    {
        auto dir = store.open(opts.id);
        if (!dir) return fail(std::move(dir).error());
        auto st = start_container(*dir, created);
        if (!st) return fail(std::move(st).error());
    }
    if (detach) return 0;
    int code = proc::relay_and_wait(pid, master.get(), forward);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    if (!keep) (void)remove(store, opts.id, true);  // --keep: until `delete`
    return code;
}

Result<StateView> state(const StateStore& store, const std::string& id) {
    auto dir = HAKO_TRY(store.peek(id));
    auto st = HAKO_TRY(dir.load());
    return StateView{st, status_of(st, dir)};
}

std::string state_json(const StateView& v) {
    nlohmann::ordered_json j;
    j["ociVersion"] = v.state.oci_version;
    j["id"] = v.state.id;
    j["pid"] = v.status == ContainerStatus::Stopped ? 0 : v.state.pid;
    j["status"] = status_name(v.status);
    j["bundle"] = v.state.bundle;
    j["rootfs"] = v.state.rootfs;
    j["created"] = v.state.created;
    j["owner"] = "";
    if (!v.state.annotations.empty()) j["annotations"] = v.state.annotations;
    return j.dump(2);
}

Status kill(const StateStore& store, const std::string& id, int sig, bool all) {
    auto dir = HAKO_TRY(store.open(id));
    auto st = HAKO_TRY(dir.load());
    if (status_of(st, dir) == ContainerStatus::Stopped) {
        // (--all: no process is left to signal, which is what was asked, as runc has it)
        if (all) return {};
        return error("container `" + id + "` is not running");
    }
    if (!all) return signal_init(st, sig);
    if (st.cgroup_dirs.empty()) return signal_all(st, sig);
    return cgroup::Cgroup::from_dirs(st.cgroup_dirs).signal_all(sig);
}

Status remove(const StateStore& store, const std::string& id, bool force) {
    auto opened = store.open(id);
    // --force of a container that is not there: done (callers' cleanup paths).
    if (!opened && force && opened.error().err == kNoSuchContainer) return {};
    auto dir = HAKO_TRY(std::move(opened));
    auto st = dir.load();
    if (st) {
        auto status = status_of(*st, dir);
        // Not stopped: only with --force. (runc deletes a created one anyway;
        // the runtime spec, and its validation suite, say that is an error.)
        if (status != ContainerStatus::Stopped && !force)
            return error("container `" + id + "` is " + status_name(status) +
                         ": only a stopped container can be deleted (kill it first, or delete --force)");
        auto cg = cgroup::Cgroup::from_dirs(st->cgroup_dirs);
        auto pidfd = status == ContainerStatus::Stopped ? Result<UniqueFd>(UniqueFd()) : open_init(*st);
        if (pidfd && *pidfd) (void)sys::pidfd_send_signal(pidfd->get(), SIGKILL);
        // Whatever else is left in the cgroup (a container sharing the
        // host's pid namespace leaves its other processes behind its init).
        if (!st->cgroup_dirs.empty()) {
            auto left = cg.pids();
            if (left && !left->empty()) (void)cg.signal_all(SIGKILL);
            if (cg.frozen()) (void)cg.thaw();  // frozen, nothing dies
        }
        if (pidfd && *pidfd) wait_gone(st->pid, pidfd->get());
        HAKO_TRY(cg.destroy());
    }
    HAKO_TRY(dir.remove());
    if (st && !st->poststop.empty()) {
        log::Step step("poststop hooks");
        run_hooks_warning(st->poststop, "poststop", hook_state(*st, ContainerStatus::Stopped));
    }
    return {};
}

Result<std::vector<StateView>> list(const StateStore& all) {
    auto ids = HAKO_TRY(all.ids());
    const StateStore store = all.pinned();
    // (a few small files apiece: on a few threads when there are many)
    std::vector<std::optional<StateView>> views(ids.size());
    parallel_for(ids.size(), [&](size_t i) {
        try {
            if (auto v = state(store, ids[i])) views[i] = std::move(*v);
        } catch (const std::exception& e) {  // (a state.json that is not what we wrote)
            log::warn("container `{}`: {}", ids[i], e.what());
        }
    });
    std::vector<StateView> out;
    out.reserve(ids.size());
    for (auto& v : views)
        if (v) out.push_back(std::move(*v));
    return out;
}

Result<int> parse_signal(std::string_view s) {
    if (s.empty()) return error("signal: empty");
    if (s.find_first_not_of("0123456789") == std::string_view::npos) {
        int n = atoi(std::string(s).c_str());
        if (n < 0 || n > SIGRTMAX) return error("unknown signal \"" + std::string(s) + "\"");
        return n;
    }
    std::string name(s);
    for (auto& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    for (int i = 1; i < 32; ++i) {
        const char* abbrev = sigabbrev_np(i);
        if (abbrev && name == abbrev) return i;
    }
    if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
        bool min = name[3] == 'I';
        std::string rest = name.substr(5);
        int off = rest.empty() ? 0 : atoi(rest.c_str());
        int sig = min ? SIGRTMIN + off : SIGRTMAX + off;
        if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
    }
    return error("unknown signal \"" + std::string(s) + "\"");
}

}  // namespace hako::runtime
