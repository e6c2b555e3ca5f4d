// Container operations, as the CLI commands of both executables call them.
#pragma once

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
Status start(const StateStore& store, const std::string& id);
// run: create + start; in the foreground, wait and return the exit status
// (128+N for a signal) and delete the container; detached, return 0.
Result<int> run(const StateStore& store, const CreateOptions& opts, bool detach);

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
