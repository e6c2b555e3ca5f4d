// Container operations, as the CLI commands of both executables call them.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"
#include "runtime/state.hpp"
#include "sys/fd.hpp"

namespace hako::runtime {

struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
};

// create: the container's init set up and waiting for start. Returns the
// state it recorded.
Result<ContainerState> create(const StateStore& store, const CreateOptions& opts);
// The same, a terminal's pty master handed to the caller (a monitor keeps
// it) instead of going out over a console socket.
Result<ContainerState> create(const StateStore& store, const CreateOptions& opts, UniqueFd* master);
Status start(const StateStore& store, const std::string& id);
// run: create + start; in the foreground, wait and return the exit status
// (128+N for a signal) and delete the container (unless `keep`: it stays,
// stopped, until `delete`); detached, return 0.
Result<int> run(const StateStore& store, const CreateOptions& opts, bool detach, bool keep = false);

struct StateView {
    ContainerState state;
    ContainerStatus status{};
};
Result<StateView> state(const StateStore& store, const std::string& id);
// The OCI state JSON (runc's fields), pretty-printed.
std::string state_json(const StateView& v);

Status kill(const StateStore& store, const std::string& id, int sig, bool all);
Status remove(const StateStore& store, const std::string& id, bool force);
Result<std::vector<StateView>> list(const StateStore& store);

// The signals a foreground run/exec forwards to its process; block them,
// then proc::relay_and_wait (terminal.hpp) forwards them and returns the
// process's exit status (128+N for a signal N).
sigset_t forwarded_signals();

// Fit the process to the host: capabilities the runtime lacks are left out
// (with a warning); an AppArmor profile needs AppArmor.
Status check_host_support(oci::Process& p);

// SCMP_ACT_NOTIFY: send the listener fd with the container process state
// (the runtime spec's ContainerProcessState: ociVersion, fds ["seccompFd"],
// pid, metadata, state) to the agent at linux.seccomp.listenerPath.
Status send_seccomp_listener(const oci::Seccomp& seccomp, pid_t pid, const std::string& state_json,
                             int listener);
// Where compiled seccomp filters are cached ("" for none).
std::string seccomp_cache_dir();

// exec: a new process in a running container (exec.cpp).
struct ExecOptions {
    std::string id;
    std::string process_file;        // --process: a process object, instead of args
    std::vector<std::string> args;
    bool detach = false;
    std::string pid_file;
    bool tty = false;
    std::string console_socket;
    std::string cwd;
    std::vector<std::string> env;    // KEY=VALUE, added or replacing
    std::string user;                // UID[:GID]
    std::vector<std::string> caps;   // added to the bounding, effective, permitted sets
    bool no_new_privs = false;
    int preserve_fds = 0;
    std::string apparmor;            // --apparmor: the AppArmor profile
    std::string process_label;       // --process-label: the SELinux label
    std::vector<uint32_t> additional_gids;  // -g/--additional-gids
    bool ignore_paused = false;      // --ignore-paused: exec into a paused container
    // --cgroup [CONTROLLER:]PATH: a sub-cgroup of the container's (per
    // controller on v1; no controller: every hierarchy).
    std::vector<std::string> sub_cgroups;
};
// Foreground: the process's exit status; detached: 0 once it runs.
Result<int> exec(const StateStore& store, const ExecOptions& opts);

// A pidfd of the container's init, if that process still is it (its pid not
// reused: the start time matches, checked with the pidfd held).
Result<UniqueFd> open_init(const ContainerState& st);

// Cgroup operations (cgroup_ops.cpp). pause/resume freeze and thaw every
// process of a running container.
Status pause(const StateStore& store, const std::string& id);
Status resume(const StateStore& store, const std::string& id);
// New limits for a created, running or paused container.
Status update(const StateStore& store, const std::string& id, const oci::Resources& r);
// The pids in the container's cgroup.
Result<std::vector<pid_t>> pids(const StateStore& store, const std::string& id);
struct EventsOptions {
    bool stats_once = false;       // --stats: one stats object, then return
    int interval_ms = 5000;        // --interval
};
// runc's `events`: JSON lines {"type":"stats"|"oom","id":…,"data":…} to
// `emit`, every interval (and at each OOM kill) until the container stops.
Status events(const StateStore& store, const std::string& id, const EventsOptions& opts,
              const std::function<void(const std::string&)>& emit);

// "KILL", "SIGKILL", "9" -> 9.
Result<int> parse_signal(std::string_view s);

}  // namespace hako::runtime
