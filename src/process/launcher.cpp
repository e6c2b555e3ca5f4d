#include "process/launcher.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "common/fault.hpp"
#include "fs/fs.hpp"
#include "process/sync.hpp"
#include "common/log.hpp"
#include "sys/syscalls.hpp"

namespace hako::proc {
namespace {

// Kills and reaps a child unless released: nothing half-started survives an error.
class ChildGuard {
public:
    explicit ChildGuard(pid_t pid) : pid_(pid) {}
    ChildGuard(const ChildGuard&) = delete;
    ChildGuard& operator=(const ChildGuard&) = delete;
    ~ChildGuard() {
        if (pid_ <= 0) return;
        kill(pid_, SIGKILL);
        if (reap_) waitpid(pid_, nullptr, 0);
    }
    void reset(pid_t pid, bool reap) {
        pid_ = pid;
        reap_ = reap;
    }
    pid_t release() { return std::exchange(pid_, -1); }

private:
    pid_t pid_;
    bool reap_ = true;
};

std::string exit_text(int status) {
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + sigabbrev_np(WTERMSIG(status));
    return "status " + std::to_string(status);
}

// Something (a message, or EOF) waits on the socket.
bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
}

}  // namespace

std::vector<char*> c_strings(const std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

Result<bool> load_seccomp_early(const security::SeccompProgram* prog, bool no_new_privs, int sync_fd) {
    if (!prog) return false;
    if (no_new_privs && !prog->notify) return true;
    log::Step step("seccomp");
    auto listener = HAKO_TRY(security::load_seccomp(*prog));
    if (listener) {
        Message m{MsgType::SeccompListener};
        m.fd = listener.get();
        HAKO_TRY(send_msg(sync_fd, m));
        auto reply = HAKO_TRY(recv_msg(sync_fd));
        if (reply.type != MsgType::Continue) return error("sync socket: unexpected message");
    }
    return false;
}

Result<pid_t> clone_child(uint64_t flags, UniqueFd* pidfd, const cgroup::Cgroup* cg, bool* placed) {
    *placed = false;
    if (cg) {
        auto leaf = HAKO_TRY(cg->open_leaf());
        if (leaf) {
            auto pid = sys::clone_process(flags, pidfd, leaf.get());
            if (pid) {
                *placed = true;
                return pid;
            }
            log::debug("clone into the cgroup: {}; falling back", pid.error().msg);
        }
    }
    return sys::clone_process(flags, pidfd);
}

Result<Launched> launch(const LaunchConfig& config) {
    LaunchConfig cfg = config;
    const oci::Spec& spec = *cfg.spec;
    auto plan = HAKO_TRY(ns::make_plan(spec));
    // Bind sources cloned here, in the host's namespaces: from a user
    // namespace, init may not reach them (fs/mount_sources.cpp).
    auto sources = HAKO_TRY(fs::open_mount_sources(spec, cfg.bundle, plan.new_user || plan.join_user));
    for (const auto& s : sources) cfg.mount_sources.push_back(s.get());

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sys_error("socketpair");
    UniqueFd parent_end(sv[0]), child_end(sv[1]);

    if (plan.needs_fork()) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    UniqueFd pidfd;
    pid_t pid;
    {
        log::Step step("clone");
        uint64_t flags = plan.one_clone() ? plan.new_flags : 0;
        // The cgroup namespace must be made once init is in its cgroup (a
        // new one is rooted at the creator's cgroup, even with
        // CLONE_INTO_CGROUP): init unshares it. On cgroup v2, clone
        // straight into the cgroup; else init waits to be moved.
        if (cfg.cgroup) flags &= ~uint64_t(CLONE_NEWCGROUP);
        bool placed = false;  // (set in the child too: it returns from the same clone)
        pid = HAKO_TRY(clone_child(flags, &pidfd, cfg.cgroup, &placed));
        cfg.cgroup_by_clone = placed && cfg.cgroup->v2();
        cfg.unified_by_clone = placed && !cfg.cgroup->v2();
        cfg.cgroup_self_join = cfg.cgroup && !cfg.cgroup_by_clone && !plan.new_user && !plan.join_user;
        if (pid == 0) {  // (inside the scope: init never ends the parent's Step)
            parent_end.reset();
            container_init(cfg, plan, child_end.get());
        }
    }
    child_end.reset();
    sources.clear();  // (init has its copies)
    ChildGuard guard(pid);
    log::debug("init cloned: pid {}", pid);
    fault_point("launch:cloned");

    // A message to init. When init is gone (EPIPE), its own error is still
    // queued on the socket: the loop below reads it, and that is what the
    // caller gets, never the EPIPE.
    bool init_gone = false;
    auto send = [&](Message m) -> Status {
        auto st = send_msg(parent_end.get(), m);
        if (!st && st.error().err == EPIPE) {
            init_gone = true;
            return {};
        }
        return st;
    };
    if (child_waits(plan)) {
        HAKO_TRY_CTX(ns::write_id_maps(pid, *spec.linux), "set up the user namespace");
        HAKO_TRY(send({MsgType::Continue}));
    }
    if (parent_joins_cgroup(cfg) && !init_gone) {
        auto added = cfg.cgroup->add(pid, cfg.unified_by_clone);
        // (init failed meanwhile, and can't be moved: its error tells why)
        if (!added && !readable(parent_end.get()))
            return std::unexpected(std::move(added).error().context("put init into its cgroup"));
        if (added) HAKO_TRY(send({MsgType::CgroupJoined}));
    }
    pid_t init = pid;
    for (;;) {
        auto msg = recv_msg(parent_end.get());
        if (!msg) {
            if (msg.error().err == 0 && msg.error().msg == "eof") {
                int status = 0;
                guard.release();
                if (init == pid) waitpid(pid, &status, 0);
                return error("container init exited before it was ready (" + exit_text(status) + ")");
            }
            return std::unexpected(std::move(msg).error());
        }
        switch (msg->type) {
            case MsgType::MapsRequest:
                HAKO_TRY_CTX(ns::write_id_maps(pid, *spec.linux), "set up the user namespace");
                HAKO_TRY(send({MsgType::MapsDone}));
                break;
            case MsgType::ChildPid: {
                int status = 0;
                waitpid(pid, &status, 0);  // the intermediate process is done
                init = msg->pid;
                guard.reset(init, /*reap=*/true);  // we are its subreaper
                pidfd = HAKO_TRY(sys::pidfd_open(init));
                break;
            }
            case MsgType::Hooks: {
                if (!cfg.on_hooks) return error("sync socket: unexpected hooks message");
                std::string state = HAKO_TRY(cfg.on_hooks(init));
                HAKO_TRY(send({MsgType::HooksDone, 0, 0, std::move(state)}));
                break;
            }
            case MsgType::SeccompListener: {
                if (!cfg.on_seccomp_listener || !msg->owned_fd)
                    return error("sync socket: unexpected seccomp listener");
                HAKO_TRY(cfg.on_seccomp_listener(init, std::move(msg->owned_fd)));
                HAKO_TRY(send({MsgType::Continue}));
                break;
            }
            case MsgType::Ready: {
                fault_point("launch:ready");
                if (spec.process && spec.process->oom_score_adj)
                    HAKO_TRY_CTX(sys::write_file("/proc/" + std::to_string(init) + "/oom_score_adj",
                                                 std::to_string(*spec.process->oom_score_adj)),
                                 "process.oomScoreAdj");
                guard.release();
                return Launched{init, std::move(pidfd)};
            }
            case MsgType::Error: {
                int status = 0;
                guard.release();
                kill(init, SIGKILL);
                waitpid(init, &status, 0);
                return std::unexpected(Error{msg->err, msg->text});
            }
            default:
                return error("sync socket: unexpected message " +
                             std::to_string(static_cast<unsigned>(msg->type)));
        }
    }
}

}  // namespace hako::proc
