// `exec`: a new process inside a running container (what nsenter does):
// into its cgroup and every namespace of its init, then the process spec's
// rlimits, cwd, no_new_privs, seccomp, user and capabilities, then execve.
//
//   runtime                         joiner (clone)                 process
//   -------                         --------------                 -------
//   clone [into the v2 cgroup]
//                                   [v1: moves itself into the cgroup]
//                                   setns(init's pidfd, its namespaces)
//                                   fork ----------------------->  (in the pid ns)
//                             <-    ChildPid(pid); exits
//                                                                  rlimits, cwd, caps...
//                             <-    Error(...)                     (a step failed), or
//                                   EOF                            (execve closed the socket)
//
// The runtime is the process's subreaper (it waits for it in the
// foreground). Both helpers are non-dumpable until execve, so nothing in
// the container can open /proc/<pid>/exe (the runtime binary) or their fds,
// and the process execs through the exec stub (a script's `#!/proc/self/exe`
// finds the stub, not the runtime binary).
#pragma once

#include <sys/types.h>

#include <functional>

#include "cgroup/cgroup.hpp"
#include "common/error.hpp"
#include "oci/spec.hpp"
#include "security/security.hpp"
#include "sys/fd.hpp"

namespace hako::proc {

struct ExecConfig {
    pid_t init = -1;    // the container's init (its namespaces are joined)
    int init_pidfd = -1;
    const oci::Process* process = nullptr;
    const security::SeccompProgram* seccomp = nullptr;
    const cgroup::Cgroup* cgroup = nullptr;
    int preserve_fds = 0;
    int console_fd = -1;  // process.terminal: where the pty master goes
    gid_t tty_gid = 0;    // the pty's group (pty_group)
    // The exec stub (exec_stub.hpp): the process is exec'd through it, so
    // that no process in the container runs the host's binary, even when
    // the program is a script whose interpreter is /proc/self/exe
    // (CVE-2019-5736). -1: execve directly.
    int exec_stub_fd = -1;
    // SCMP_ACT_NOTIFY: the process's listener fd, for the agent.
    std::function<Status(pid_t pid, UniqueFd listener)> on_seccomp_listener;
};

struct Execed {
    pid_t pid = -1;  // the process, a child of ours (we are its subreaper)
};

// Start the process; returns once it has exec'd (or with the error of the
// step that failed).
Result<Execed> exec_process(const ExecConfig& cfg);

}  // namespace hako::proc
