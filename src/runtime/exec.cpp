// exec: the process to run (config.json's process with the command line's
// changes, or a --process file), started in the container (process/exec).
#include <signal.h>
#include <sys/wait.h>

#include <charconv>

#include "cgroup/cgroup.hpp"
#include "common/strings.hpp"
#include "process/exec.hpp"
#include "process/exec_stub.hpp"
#include "process/terminal.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

namespace hako::runtime {
namespace {

Result<uint32_t> parse_id(std::string_view s, const char* what) {
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
        return error(std::string("--user: invalid ") + what + " \"" + std::string(s) + "\"");
    return v;
}

// The process: --process FILE as is, else config.json's with runc's changes.
Result<oci::Process> make_process(const ExecOptions& o, const oci::Spec& spec) {
    oci::Process p;
    if (!o.process_file.empty()) {
        auto text = HAKO_TRY_CTX(sys::read_file(o.process_file), "--process");
        p = HAKO_TRY(oci::parse_process_json(text, "--process `" + o.process_file + "`"));
    } else {
        if (!spec.process) return error("config.json has no process to base the exec on");
        p = *spec.process;
        p.args = o.args;
        p.terminal = o.tty;
    }
    if (p.args.empty()) return error("exec: no command (args) given");
    if (!o.cwd.empty()) p.cwd = o.cwd;
    if (p.cwd.empty() || p.cwd[0] != '/') return error("exec: cwd `" + p.cwd + "` must be absolute");
    for (const auto& e : o.env) {
        auto key = e.substr(0, e.find('='));
        std::erase_if(p.env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
        p.env.push_back(e);
    }
    if (!o.user.empty()) {
        auto colon = o.user.find(':');
        p.user.uid = HAKO_TRY(parse_id(std::string_view(o.user).substr(0, colon), "uid"));
        if (colon != std::string::npos)
            p.user.gid = HAKO_TRY(parse_id(std::string_view(o.user).substr(colon + 1), "gid"));
    }
    for (const auto& name : o.caps) {
        auto cap = oci::capability_from_name(name);
        if (!cap) return error("--cap: unknown capability \"" + name + "\"");
        if (!p.capabilities) p.capabilities = oci::Capabilities{};
        for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
            set->push_back(*cap);
    }
    if (o.no_new_privs) p.no_new_privileges = true;
    for (uint32_t gid : o.additional_gids) p.user.additional_gids.push_back(gid);
    if (!o.console_socket.empty() && !p.terminal)
        return error("--console-socket given, but there is no terminal (--tty, process.terminal)");
    if (p.terminal && o.console_socket.empty() && o.detach)
        return error("--tty with --detach needs --console-socket for the pty master");
    return p;
}

// --cgroup [CONTROLLER:]PATH: the container's directories with PATH below
// them (each must exist); CONTROLLER picks the directory that holds it
// (Cgroup::dir_for), none means every one.
Result<std::vector<std::string>> sub_cgroup_dirs(std::vector<std::string> dirs,
                                                 const std::vector<std::string>& subs) {
    for (const auto& arg : subs) {
        auto colon = arg.find(':');
        std::string ctrl = colon == std::string::npos ? "" : arg.substr(0, colon);
        std::string path = colon == std::string::npos ? arg : arg.substr(colon + 1);
        while (!path.empty() && path.front() == '/') path.erase(0, 1);
        if (path.empty()) return error("--cgroup `" + arg + "`: no path");
        for (auto piece : split(path, '/'))
            if (piece == "..") return error("--cgroup `" + arg + "`: the path must stay below the container's cgroup");
        std::string only = ctrl.empty() ? "" : cgroup::Cgroup::from_dirs(dirs).dir_for(ctrl);
        if (!ctrl.empty() && only.empty())
            return error("--cgroup `" + arg + "`: the container has no `" + ctrl + "` cgroup");
        for (auto& d : dirs) {
            if (!only.empty() && d != only) continue;
            std::string sub = d + "/" + path;
            if (!sys::path_exists(sub)) return sys_error("--cgroup `" + arg + "`: `" + sub + "`", ENOENT);
            d = sub;
        }
    }
    return dirs;
}

}  // namespace

Result<int> exec(const StateStore& store, const ExecOptions& o) {
    ContainerState st;
    {
        auto dir = HAKO_TRY(store.open(o.id));
        st = HAKO_TRY(dir.load());
        auto status = status_of(st, dir);
        if (status == ContainerStatus::Paused && !o.ignore_paused)
            return error("container `" + o.id + "` is paused: can't exec in it (--ignore-paused to override)");
        if (status != ContainerStatus::Running && status != ContainerStatus::Created &&
            status != ContainerStatus::Paused)
            return error("container `" + o.id + "` is " + status_name(status) + ": can't exec in it");
    }
    auto spec = HAKO_TRY(oci::load_spec(st.bundle + "/config.json"));
    auto process = HAKO_TRY(make_process(o, spec));
    if (!o.apparmor.empty()) process.apparmor_profile = o.apparmor;
    if (!o.process_label.empty()) process.selinux_label = o.process_label;
    HAKO_TRY(check_host_support(process));
    std::optional<security::SeccompProgram> seccomp;
    if (spec.linux && spec.linux->seccomp)
        seccomp = HAKO_TRY(security::compile_seccomp(*spec.linux->seccomp, seccomp_cache_dir()));
    // The terminal's master: to --console-socket, or to us to relay.
    auto console = HAKO_TRY(proc::open_console(o.console_socket, process.terminal));
    UniqueFd master;
    auto init = HAKO_TRY(open_init(st));
    std::optional<cgroup::Cgroup> cg;
    if (!st.cgroup_dirs.empty())
        cg = cgroup::Cgroup::from_dirs(HAKO_TRY(sub_cgroup_dirs(st.cgroup_dirs, o.sub_cgroups)));

    proc::ExecConfig cfg;
    cfg.init = st.pid;
    cfg.init_pidfd = init.get();
    cfg.process = &process;
    cfg.seccomp = seccomp ? &*seccomp : nullptr;
    cfg.cgroup = cg ? &*cg : nullptr;
    cfg.preserve_fds = o.preserve_fds;
    cfg.console_fd = console.theirs.get();
    cfg.tty_gid = proc::pty_group(spec, process);
    UniqueFd stub = HAKO_TRY(proc::make_exec_stub());
    cfg.exec_stub_fd = stub.get();
    if (seccomp && seccomp->notify)
        cfg.on_seccomp_listener = [&](pid_t pid, UniqueFd listener) -> Status {
            return send_seccomp_listener(*spec.linux->seccomp, pid,
                                         state_json(StateView{st, ContainerStatus::Running}), listener.get());
        };

    sigset_t forward = forwarded_signals(), old;
    if (!o.detach) sigprocmask(SIG_BLOCK, &forward, &old);
    auto started = proc::exec_process(cfg);
    if (!started) {
        if (!o.detach) sigprocmask(SIG_SETMASK, &old, nullptr);
        return std::unexpected(std::move(started).error());
    }
    console.theirs.reset();
    if (console.ours) {
        auto m = proc::receive_master(console.ours.get());
        if (!m) {
            ::kill(started->pid, SIGKILL);
            waitpid(started->pid, nullptr, 0);
            return std::unexpected(std::move(m).error());
        }
        master = std::move(*m);
    }
    if (!o.pid_file.empty()) {
        auto w = sys::write_file_atomic(AT_FDCWD, o.pid_file, std::to_string(started->pid));
        if (!w) {
            ::kill(started->pid, SIGKILL);
            waitpid(started->pid, nullptr, 0);
            return std::unexpected(std::move(w).error());
        }
    }
    if (o.detach) return 0;
    int code = proc::relay_and_wait(started->pid, master.get(), forward);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    return code;
}

}  // namespace hako::runtime
