// The `hako` front end's engine: containers made from images, run
// in-process through the runtime library (no hako-runtime exec), each with
// an overlayfs root over its image's layers.
//
//   <root>/containers/<id>/container.json   the record (name, image, command, exit code)
//   <root>/containers/<id>/bundle/config.json  the OCI config made from the image and flags
//   <root>/containers/<id>/{upper,work,rootfs}  overlayfs: the container's writes, its root
//   <root>/containers/<id>/log             stdout+stderr of a detached container
//   <root>/runtime/                        the runtime's state (one dir per running container)
//
// A detached container is watched by a monitor: a fork of hako that is the
// container init's parent and its log's owner (the container writes to the
// file itself). Once the container runs it execs the monitor stub (a few
// pages, src/frontend/monitor), which waits and then execs
// `hako __monitor-exited ID CODE` to record the exit status and clean up.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "frontend/network.hpp"
#include "image/image.hpp"
#include "runtime/state.hpp"

namespace hako::frontend {

// docker's exit codes for failures of the tool itself.
inline constexpr int kExitEngine = 125;    // hako failed
inline constexpr int kExitCannotRun = 126; // the command can't be run
inline constexpr int kExitNotFound = 127;  // the command isn't there

// The exit code for an error that kept a container's command from running
// (run, exec): 127 not found, 126 not executable, 125 anything else.
int exit_code_for(const Error& e);

struct RunOptions {
    std::string image;
    std::vector<std::string> command;  // replaces the image's Cmd
    bool detach = false, interactive = false, tty = false, rm = false;
    std::string name;
    std::vector<std::string> env, env_files;
    std::string workdir, user, hostname;
    std::vector<std::string> volumes;  // SRC:DST[:ro|rw]
    std::vector<std::string> tmpfs;    // DST
    bool read_only = false;
    std::string memory;                // "100m"
    double cpus = 0;
    int64_t pids_limit = 0;
    std::vector<std::string> cap_add, cap_drop;
    std::vector<std::string> security_opt;  // no-new-privileges, seccomp=unconfined|FILE
    NetRequest net;                          // --network, -p, --dns...
    std::optional<std::string> entrypoint;
    bool init = false;  // --init: hako-init as PID 1 (reaps, forwards signals)
    std::string pull = "missing";  // --pull: missing | always | never
    std::string platform;          // --platform (for a pull)
};

struct Record {
    std::string id, name, image, image_id;
    std::vector<std::string> command;
    std::string created;
    bool rm = false, detached = false;
    std::optional<int> exit_code;  // once it has exited
    std::string finished;
};

struct ContainerView {
    Record record;
    std::string status;  // created, running, paused, exited
    pid_t pid = 0;
    [[nodiscard]] bool active() const { return status == "running" || status == "paused"; }
};

class Engine {
public:
    // `runroot`: state that must not outlive a reboot (networks), on tmpfs.
    Engine(std::string root, std::string runroot);
    image::Store& images() { return images_; }
    Networks& networks() { return nets_; }
    [[nodiscard]] runtime::StateStore runtime_store() const { return runtime::StateStore(root_ + "/runtime"); }

    // An image by reference; `busybox` is made on first use.
    Result<image::Image> resolve_image(const std::string& ref);
    // The image a container is made from, pulled as --pull says.
    Result<image::Image> image_for(const RunOptions& o);

    // Foreground: the container's exit status. Detached: 0 with *id set once
    // the container runs. An error that kept the command from running maps
    // to 125/126/127 with exit_code_for.
    Result<int> run(const RunOptions& o, std::string* id);

    Result<std::vector<ContainerView>> list(bool all) const;
    // By name or id (or a unique id prefix).
    Result<ContainerView> find(const std::string& ref) const;
    Status stop(const std::string& ref, int timeout_s);
    Status kill(const std::string& ref, int sig);
    Status remove(const std::string& ref, bool force);
    Result<int> wait(const std::string& ref);
    [[nodiscard]] std::string log_path(const std::string& id) const;
    [[nodiscard]] std::string dir(const std::string& id) const { return root_ + "/containers/" + id; }
    Status save(const Record& r) const;
    // The container's init exited with `code`: record it, unmount, clean
    // up (--rm). The monitor's last step (`hako __monitor-exited`).
    Status finish(const std::string& id, int code) const;

private:
    Result<Record> load(const std::string& id) const;
    ContainerView view(Record r) const;
    // Mount the overlay root of container `id` over the image's layers.
    Status mount_rootfs(const std::string& id, const image::Image& img) const;
    // Unmount and remove everything of a container (runtime state included).
    Status cleanup(const std::string& id) const;
    // The monitor, once the container runs: wait for `init`, then finish().
    // `keep`: fds it holds until then (published ports).
    [[noreturn]] void wait_as_monitor(pid_t init, const std::string& id, const std::vector<int>& keep) const;
    std::string root_, runroot_;
    image::Store images_;
    mutable Networks nets_;
};

// The OCI config.json for a container (spec.cpp), and its process.args;
// `init` is the host file bound at /dev/init with --init.
struct MadeConfig {
    std::string json;
    std::vector<std::string> args;
};
// `net` is the networking decided for it (the netns to join, files to bind).
Result<MadeConfig> make_config(const RunOptions& o, const image::Image& img, const std::string& id,
                                const std::string& rootfs, const NetPlan& net, const std::string& init = {});
// The container's host name: -h, the joined container's, or its short id.
std::string container_hostname(const RunOptions& o, const std::string& id, const NetPlan& net);

}  // namespace hako::frontend
