#include "process/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "process/exec_stub.hpp"
#include "process/launcher.hpp"
#include "sys/syscalls.hpp"

namespace hako::proc {
namespace {

int64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// stdin: the state (a pipe); stdout and stderr: a pipe we read up to 4 KiB
// of for the error message.
Status run_child(const oci::Hook& hook, const std::string& what, std::string_view state, const std::string& cwd,
                 int exec_stub) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0) return sys_error(what + ": pipe");
    UniqueFd in_r(in[0]), in_w(in[1]);
    if (pipe2(out, O_CLOEXEC) < 0) return sys_error(what + ": pipe");
    UniqueFd out_r(out[0]), out_w(out[1]);
    const std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    std::vector<char*> argv = c_strings(args);
    std::vector<char*> envp = c_strings(hook.env);
    char** env = hook.env.empty() ? environ : envp.data();
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return sys_error(what + ": fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // (a killed runtime leaves no hook running)
        if (getppid() != parent) _exit(126);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        if (dup2(in_r.get(), 0) < 0 || dup2(out_w.get(), 1) < 0 || dup2(out_w.get(), 2) < 0) _exit(126);
        if (!cwd.empty() && chdir(cwd.c_str()) < 0) {
            std::string msg = "chdir `" + cwd + "`: " + Error{errno, ""}.what().substr(2);
            (void)!write(2, msg.data(), msg.size());
            _exit(126);
        }
        // (execveat refused, by a seccomp filter say: directly, as before)
        exec_through_stub(exec_stub, "-h", hook.path.c_str(), argv, env);
        execve(hook.path.c_str(), argv.data(), env);
        std::string msg = "exec: " + Error{errno, ""}.what().substr(2);
        (void)!write(2, msg.data(), msg.size());
        _exit(127);
    }
    in_r.reset();
    out_w.reset();
    // The state: a hook that doesn't read it must not block us (EPIPE is fine).
    fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
    fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
    auto pidfd = sys::pidfd_open(pid);
    std::string output;
    size_t sent = 0;
    int64_t deadline = hook.timeout ? now_ms() + int64_t(*hook.timeout) * 1000 : -1;
    bool timed_out = false;
    for (;;) {
        pollfd fds[3] = {{pidfd ? pidfd->get() : -1, POLLIN, 0},
                         {out_r.get(), POLLIN, 0},
                         {in_w ? in_w.get() : -1, POLLOUT, 0}};
        int wait = deadline < 0 ? -1 : int(std::max<int64_t>(0, deadline - now_ms()));
        int n = poll(fds, 3, pidfd ? wait : std::min(wait < 0 ? 50 : wait, 50));
        if (n < 0 && errno != EINTR) break;
        if (fds[2].revents) {
            ssize_t w = ::write(in_w.get(), state.data() + sent, state.size() - sent);
            if (w > 0) sent += size_t(w);
            if (w < 0 && errno != EAGAIN) sent = state.size();
            if (sent == state.size()) in_w.reset();
        }
        if (fds[1].revents) {
            char buf[1024];
            ssize_t r = ::read(out_r.get(), buf, sizeof buf);
            if (r > 0 && output.size() < 4096) output.append(buf, size_t(r));
        }
        if (fds[0].revents || (!pidfd && waitpid(pid, nullptr, WNOHANG | WNOWAIT) == pid)) break;
        if (deadline >= 0 && now_ms() >= deadline) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    for (char buf[1024]; output.size() < 4096;) {  // what it wrote before it exited
        ssize_t r = ::read(out_r.get(), buf, sizeof buf);
        if (r <= 0) break;
        output.append(buf, size_t(r));
    }
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    std::string tail = output.empty() ? "" : ", output: " + output;
    if (timed_out)
        return error(what + ": timed out after " + std::to_string(*hook.timeout) + " s (timeout)" + tail);
    if (WIFSIGNALED(status))
        return error(what + ": killed by signal " + sigabbrev_np(WTERMSIG(status)) + tail);
    if (WEXITSTATUS(status) != 0)
        return error(what + ": exit status " + std::to_string(WEXITSTATUS(status)) + tail);
    return {};
}

}  // namespace

Status run_hook(const oci::Hook& hook, std::string_view kind, size_t index, std::string_view state_json,
                const std::string& cwd, int exec_stub) {
    // A hook that exits without reading its stdin must not kill us with SIGPIPE.
    struct sigaction ign{}, old{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    struct Restore {
        struct sigaction* old;
        ~Restore() { sigaction(SIGPIPE, old, nullptr); }
    } restore{&old};
    std::string what = "hooks." + std::string(kind) + "[" + std::to_string(index) + "] `" + hook.path + "`";
    return run_child(hook, what, state_json, cwd, exec_stub);
}

Status run_hooks(const std::vector<oci::Hook>& hooks, std::string_view kind, std::string_view state_json,
                 const std::string& cwd, int exec_stub) {
    for (size_t i = 0; i < hooks.size(); ++i) HAKO_TRY(run_hook(hooks[i], kind, i, state_json, cwd, exec_stub));
    return {};
}

}  // namespace hako::proc
