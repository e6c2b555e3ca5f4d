// The container's init, from clone to execve: a flat list of steps. No
// exceptions here; the first failing step's error goes to the parent over
// the sync socket and init exits.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fs/fs.hpp"
#include "ns/namespaces.hpp"
#include "process/exec_stub.hpp"
#include "process/hooks.hpp"
#include "process/launcher.hpp"
#include "process/terminal.hpp"
#include "process/sync.hpp"
#include "common/log.hpp"
#include "security/security.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::proc {
namespace {

Status wait_for(int sync_fd, MsgType want) {
    auto m = HAKO_TRY(recv_msg(sync_fd));
    if (m.type != want) return error("sync socket: unexpected message");
    return {};
}

// After Ready nobody listens on the sync socket: report on stderr.
void load_seccomp_or_die(const security::SeccompProgram& prog) {
    auto st = security::load_seccomp(prog);
    if (st) return;
    std::string msg = "hako-runtime: " + st.error().what() + "\n";
    (void)!write(2, msg.data(), msg.size());
    _exit(127);
}

Status init_steps(const LaunchConfig& cfg, const ns::Plan& plan, int sync_fd) {
    const oci::Spec& spec = *cfg.spec;
    const oci::Process& process = *spec.process;
    // Until the runtime has seen us ready, die with it; and keep /proc/self
    // (our fds, our exe) out of reach of anything else.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // The runtime may have died before that: its end of the sync socket
    // (close-on-exec, held by it alone) is closed then.
    pollfd hup{sync_fd, POLLRDHUP, 0};
    if (poll(&hup, 1, 0) == 1 && (hup.revents & (POLLHUP | POLLRDHUP))) _exit(1);

    if (cfg.cgroup_self_join) {
        log::Step step("join cgroups");
        HAKO_TRY_CTX(cfg.cgroup->join_self(cfg.unified_by_clone), "put init into its cgroup");
    }
    // Our id maps written?
    if (child_waits(plan)) HAKO_TRY(wait_for(sync_fd, MsgType::Continue));
    // In our cgroup: awaited only before the first step that needs it, so
    // the parent's cgroup.procs write (slow on v1) overlaps our setup.
    // Then the cgroup namespace, held back from clone (launcher.cpp).
    bool cgroup_pending = parent_joins_cgroup(cfg);
    bool cgroup_ns_pending = cfg.cgroup && plan.one_clone() && (plan.new_flags & CLONE_NEWCGROUP);
    auto join_cgroup = [&]() -> Status {
        if (cgroup_pending) HAKO_TRY(wait_for(sync_fd, MsgType::CgroupJoined));
        cgroup_pending = false;
        if (cgroup_ns_pending) HAKO_TRY(ns::unshare_flags(CLONE_NEWCGROUP));
        cgroup_ns_pending = false;
        return {};
    };
    if (!plan.one_clone()) HAKO_TRY(join_cgroup());  // unshare makes the cgroup ns below
    // Namespaces: join (user first), then create.
    for (const auto& j : plan.joins) HAKO_TRY(ns::join(j));
    if (plan.new_user) {
        if (!plan.one_clone()) {
            HAKO_TRY(ns::unshare_flags(CLONE_NEWUSER));
            HAKO_TRY(send_msg(sync_fd, {MsgType::MapsRequest}));
            HAKO_TRY(wait_for(sync_fd, MsgType::MapsDone));
        }
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
            return sys_error("become root in the user namespace (linux.uidMappings must map 0)");
    }
    if (!plan.one_clone())
        HAKO_TRY(ns::unshare_flags(plan.new_flags & ~uint64_t(CLONE_NEWUSER)));
    else if (!cfg.cgroup && (plan.new_flags & CLONE_NEWCGROUP))
        HAKO_TRY(ns::unshare_flags(CLONE_NEWCGROUP));  // (no cgroup: not held back, see launcher.cpp)
    if (plan.new_time) HAKO_TRY(ns::enter_new_time_ns(spec.linux->time_offsets));
    if (plan.needs_fork()) {
        HAKO_TRY(join_cgroup());  // the fork's child must be born in it
        pid_t child = fork();
        if (child < 0) return sys_error("fork into the pid namespace");
        if (child > 0) {
            (void)send_msg(sync_fd, {MsgType::ChildPid, 0, child, {}});
            _exit(0);
        }
    }

    HAKO_TRY(ns::set_uts(spec));
    if (spec.linux && spec.linux->personality_domain) {
        unsigned long persona = *spec.linux->personality_domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
        if (personality(persona) < 0) return sys_error("personality (linux.personality)");
    }
    HAKO_TRY(security::apply_rlimits(process.rlimits));
    if (!cfg.session_keyring.empty()) HAKO_TRY(security::join_session_keyring(cfg.session_keyring));

    fs::RootfsConfig rc;
    rc.spec = &spec;
    rc.rootfs = cfg.rootfs;
    rc.bundle = cfg.bundle;
    rc.no_pivot = cfg.no_pivot;
    rc.in_user_ns = plan.new_user || plan.join_user;
    rc.new_cgroup_ns = plan.has(oci::NsType::Cgroup);
    rc.host_mount_ns = !plan.has(oci::NsType::Mount);
    rc.mount_sources = cfg.mount_sources;
    rc.before_cgroup_mount = join_cgroup;
    // The runtime's prestart and createRuntime hooks, then createContainer
    // here: mounts made, before pivot_root.
    std::string hook_state;
    if (cfg.on_hooks)
        rc.before_pivot = [&]() -> Status {
            HAKO_TRY(send_msg(sync_fd, {MsgType::Hooks}));
            auto m = HAKO_TRY(recv_msg(sync_fd));
            if (m.type != MsgType::HooksDone) return error("sync socket: unexpected message");
            hook_state = std::move(m.text);
            log::Step step("createContainer hooks");
            // (at the rootfs, as runc runs them: hooks that touch ./lib/… rely on it)
            return run_hooks(spec.hooks->create_container, "createContainer", hook_state, cfg.rootfs, cfg.exec_stub_fd);
        };
    HAKO_TRY(fs::enter_rootfs(rc));
    HAKO_TRY(join_cgroup());
    if (spec.linux) HAKO_TRY(ns::apply_sysctl(spec.linux->sysctl));
    // process.cwd, resolved inside the new root: a magic link such as
    // /proc/self/fd/N can't lead to a host directory (CVE-2024-21626).
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open /");
    HAKO_TRY_CTX(sys::mkdir_all_in_root(root.get(), process.cwd, 0755), "process.cwd");
    // The terminal (and /dev/console) before the rootfs is finished: a
    // read-only root, masked paths come after, as in runc.
    if (cfg.console_fd >= 0) {
        HAKO_TRY(setup_terminal(cfg.console_fd, process, pty_group(spec, process), /*console=*/true));
        close(cfg.console_fd);
    }
    HAKO_TRY(fs::finish_rootfs(rc));
    // Opened before seccomp (which may refuse openat2); entered as the user.
    auto cwd = HAKO_TRY_CTX(sys::open_in_root(root.get(), process.cwd, O_PATH | O_DIRECTORY),
                            "process.cwd");
    std::vector<std::string> env = security::env_with_home(process.env, process.user.uid, root.get());
    root.reset();

    // No host fd crosses into the container (CVE-2024-21626): everything
    // beyond stdio and the preserved fds closes on exec.
    HAKO_TRY(sys::close_fds_from(3 + cfg.preserve_fds, /*cloexec_only=*/true));
    HAKO_TRY(security::apply_exec_labels(process));

    if (process.no_new_privileges) HAKO_TRY(security::set_no_new_privs());
    const bool seccomp_late = HAKO_TRY(load_seccomp_early(cfg.seccomp, process.no_new_privileges, sync_fd));
    // process.cwd entered while still privileged (a directory only root may
    // enter works for any user), and again as the user, as runc does.
    if (fchdir(cwd.get()) < 0) return sys_error("chdir `" + process.cwd + "` (process.cwd)");
    {
        log::Step step("capabilities and user");
        HAKO_TRY(security::assume_process_identity(process));
    }
    if (fchdir(cwd.get()) < 0 && errno != EACCES) return sys_error("chdir `" + process.cwd + "` (process.cwd)");
    cwd.reset();
    std::string exe = HAKO_TRY(find_executable(process));

    std::vector<char*> argv = c_strings(process.args), envp = c_strings(env);

    // Ready: the runtime may go now; we wait for `start` on the exec fifo.
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    HAKO_TRY(send_msg(sync_fd, {MsgType::Ready}));
    close(sync_fd);
    // The filter, when it comes last: the wait for start (the stub's, or
    // ours), the startContainer hooks (as in runc) and the exec run under it.
    if (seccomp_late) load_seccomp_or_die(*cfg.seccomp);
    const bool start_hooks = spec.hooks && !spec.hooks->start_container.empty();
    if (cfg.exec_stub_fd >= 0 && !start_hooks) {
        // Become the exec stub, which waits for start and execs the process:
        // from here on no process of the container runs the host's
        // hako-runtime binary (CVE-2019-5736). (With startContainer hooks
        // init waits for start itself, runs them, then execs through the
        // stub all the same; init is not dumpable meanwhile.)
        // What the stub waits with, without close-on-exec: the fifo itself
        // (O_PATH; the stub reopens it through /proc/self/fd), or where the
        // container has no /proc, the state directory.
        int fifo = access("/proc/self/fd", X_OK) == 0 ? openat(cfg.state_dir_fd, kExecFifo, O_PATH) : -1;
        int fd = fifo >= 0 ? fifo : fcntl(cfg.state_dir_fd, F_DUPFD, 3);
        std::string mode = (fifo >= 0 ? "f" : "") + std::to_string(fd);
        exec_through_stub(cfg.exec_stub_fd, mode.c_str(), exe.c_str(), argv, envp.data());
        close(fd);  // execveat refused (seccomp?): wait and exec here instead
    }
    {
        // Left open: execve closes it, and that EOF tells `start` we run.
        int fifo = openat(cfg.state_dir_fd, kExecFifo, O_WRONLY | O_CLOEXEC);
        if (fifo < 0 || write(fifo, "0", 1) != 1) _exit(1);
    }
    if (start_hooks) {
        auto st = run_hooks(spec.hooks->start_container, "startContainer", hook_state, {}, cfg.exec_stub_fd);
        if (!st) {
            std::string msg = "hako-runtime: " + st.error().what() + "\n";
            (void)!write(2, msg.data(), msg.size());
            _exit(1);
        }
        exec_through_stub(cfg.exec_stub_fd, "-", exe.c_str(), argv, envp.data());  // (refused: directly, below)
    }
    execve(exe.c_str(), argv.data(), envp.data());
    std::string msg = "hako-runtime: exec `" + exe + "` (process.args[0]): " +
                      Error{errno, ""}.what().substr(2) + "\n";
    (void)!write(2, msg.data(), msg.size());
    _exit(127);
}

}  // namespace

namespace {
std::string env_value(const std::vector<std::string>& env, std::string_view key) {
    for (const auto& e : env)
        if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
            return e.substr(key.size() + 1);
    return {};
}

bool is_executable(const std::string& p) {
    struct stat st{};
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}

}  // namespace

Result<std::string> find_executable(const oci::Process& p) {
    const std::string& name = p.args[0];
    if (name.find('/') != std::string::npos) {
        if (access(name.c_str(), F_OK) < 0) return sys_error("exec `" + name + "` (process.args[0])");
        return name;
    }
    std::string path = env_value(p.env, "PATH");
    if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        // (appended, not `dir + "/" + name`: g++ 12 warns falsely on that, -Wrestrict)
        std::string cand = end > start ? path.substr(start, end - start) : ".";
        cand.append("/").append(name);
        if (is_executable(cand)) return cand;
        start = end + 1;
    }
    return error("exec `" + name + "` (process.args[0]): executable file not found in $PATH");
}

void container_init(const LaunchConfig& cfg, const ns::Plan& plan, int sync_fd) noexcept {
    Status st = init_steps(cfg, plan, sync_fd);
    // Only failures get here: execve does not return.
    send_error(sync_fd, st.error());
    _exit(1);
}

}  // namespace hako::proc
