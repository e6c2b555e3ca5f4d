#include "process/exec.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "process/exec_stub.hpp"
#include "process/launcher.hpp"
#include "process/sync.hpp"
#include "process/terminal.hpp"
#include "common/log.hpp"
#include "sys/inroot.hpp"
#include "sys/syscalls.hpp"

namespace hako::proc {
namespace {

// The namespaces of init that differ from ours, user first (joining it
// first gives the capabilities to join the others).
struct NsJoin {
    const char* name;
    int flag;
};
constexpr NsJoin kNamespaces[] = {
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},     {"pid", CLONE_NEWPID},       {"net", CLONE_NEWNET},
    {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

// Opened before the first setns: once in the container's user namespace we
// may no longer open the others through the host's /proc.
Result<std::vector<std::pair<UniqueFd, int>>> open_namespaces(pid_t init) {
    std::vector<std::pair<UniqueFd, int>> out;
    for (const auto& ns : kNamespaces) {
        std::string theirs = "/proc/" + std::to_string(init) + "/ns/" + ns.name;
        std::string ours = std::string("/proc/self/ns/") + ns.name;
        struct stat a{}, b{};
        if (stat(theirs.c_str(), &a) < 0) {
            if (errno == ENOENT) continue;  // the kernel lacks it
            return sys_error("stat `" + theirs + "`");
        }
        if (stat(ours.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
        UniqueFd fd(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return sys_error("open `" + theirs + "`");
        out.emplace_back(std::move(fd), ns.flag);
    }
    return out;
}

// The process's own steps, in the container's namespaces; execve on success.
Status process_steps(const ExecConfig& cfg, int sync_fd) {
    const oci::Process& p = *cfg.process;
    HAKO_TRY(security::apply_rlimits(p.rlimits));
    std::vector<std::string> env;
    {
        UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) return sys_error("open /");
        auto cwd = HAKO_TRY_CTX(sys::open_in_root(root.get(), p.cwd, O_PATH | O_DIRECTORY), "process.cwd");
        if (fchdir(cwd.get()) < 0) return sys_error("chdir `" + p.cwd + "` (process.cwd)");
        env = security::env_with_home(p.env, p.user.uid, root.get());
    }
    if (cfg.console_fd >= 0) {
        HAKO_TRY(setup_terminal(cfg.console_fd, p, cfg.tty_gid, /*console=*/false));
        close(cfg.console_fd);
    }
    HAKO_TRY(sys::close_fds_from(3 + cfg.preserve_fds, /*cloexec_only=*/true));
    HAKO_TRY(security::apply_exec_labels(p));
    if (p.no_new_privileges) HAKO_TRY(security::set_no_new_privs());
    const bool seccomp_late = HAKO_TRY(load_seccomp_early(cfg.seccomp, p.no_new_privileges, sync_fd));
    HAKO_TRY(security::assume_process_identity(p));
    std::string exe = HAKO_TRY(find_executable(p));
    std::vector<char*> argv = c_strings(p.args), envp = c_strings(env);
    if (seccomp_late) HAKO_TRY(security::load_seccomp(*cfg.seccomp));
    exec_through_stub(cfg.exec_stub_fd, "-", exe.c_str(), argv, envp.data());  // (refused: directly)
    execve(exe.c_str(), argv.data(), envp.data());
    return sys_error("exec `" + exe + "` (process.args[0])");
}

// The joiner: cgroup, namespaces, then a fork into the pid namespace.
[[noreturn]] void joiner(const ExecConfig& cfg, bool join_cgroup, bool skip_unified, int sync_fd) noexcept {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    auto steps = [&]() -> Status {
        if (join_cgroup) HAKO_TRY_CTX(cfg.cgroup->join_self(skip_unified), "join the container's cgroup");
        auto fds = HAKO_TRY(open_namespaces(cfg.init));
        for (auto& [fd, flag] : fds)
            if (setns(fd.get(), flag) < 0) return sys_error("join the container's namespaces (setns)");
        fds.clear();
        pid_t child = fork();
        if (child < 0) return sys_error("fork into the container's pid namespace");
        if (child == 0) {
            Status st = process_steps(cfg, sync_fd);
            send_error(sync_fd, st.error());
            _exit(127);
        }
        HAKO_TRY(send_msg(sync_fd, {MsgType::ChildPid, 0, child, {}}));
        return {};
    };
    Status st = steps();
    if (!st) send_error(sync_fd, st.error());
    _exit(st ? 0 : 1);
}

// The joiner's report: the process's pid, then EOF once it has exec'd (the
// socket is close-on-exec), or the error of the step that failed.
Result<pid_t> await_exec(const ExecConfig& cfg, int fd, pid_t jpid) {
    pid_t pid = -1;
    for (;;) {
        auto msg = recv_msg(fd);
        if (!msg) {
            waitpid(jpid, nullptr, 0);
            bool eof = msg.error().err == 0 && msg.error().msg == "eof";
            if (eof && pid > 0) return pid;  // execve closed the socket: the process runs
            if (pid > 0) waitpid(pid, nullptr, 0);
            if (eof) return error("exec: the process exited before it was set up");
            return std::unexpected(std::move(msg).error());
        }
        if (msg->type == MsgType::ChildPid) pid = msg->pid;
        if (msg->type == MsgType::SeccompListener) {
            Status sent = cfg.on_seccomp_listener && msg->owned_fd
                              ? cfg.on_seccomp_listener(pid, std::move(msg->owned_fd))
                              : Status(error("sync socket: unexpected seccomp listener"));
            if (sent) sent = send_msg(fd, {MsgType::Continue});
            if (!sent) {
                if (pid > 0) kill(pid, SIGKILL);
                waitpid(jpid, nullptr, 0);
                if (pid > 0) waitpid(pid, nullptr, 0);
                return std::unexpected(std::move(sent).error());
            }
        }
        if (msg->type == MsgType::Error) {
            Error e{msg->err, std::move(msg->text)};
            waitpid(jpid, nullptr, 0);
            if (pid > 0) waitpid(pid, nullptr, 0);
            return std::unexpected(std::move(e));
        }
    }
}

}  // namespace

Result<Execed> exec_process(const ExecConfig& cfg) {
    log::Step step("exec: start the process");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return sys_error("socketpair");
    UniqueFd parent_end(sv[0]), child_end(sv[1]);
    // The process is the joiner's child: when the joiner exits, we adopt it.
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    UniqueFd joiner_fd;
    bool placed = false;
    pid_t jpid = HAKO_TRY(clone_child(0, &joiner_fd, cfg.cgroup, &placed));
    if (jpid == 0) {
        parent_end.reset();
        joiner(cfg, cfg.cgroup && !(placed && cfg.cgroup->v2()), /*skip_unified=*/placed, child_end.get());
    }
    child_end.reset();

    pid_t pid = HAKO_TRY(await_exec(cfg, parent_end.get(), jpid));
    if (cfg.process->oom_score_adj)
        HAKO_TRY_CTX(sys::write_file("/proc/" + std::to_string(pid) + "/oom_score_adj",
                                     std::to_string(*cfg.process->oom_score_adj)),
                     "process.oomScoreAdj");
    return Execed{pid};
}

}  // namespace hako::proc
