// The `hako` front end's engine: containers made from images, run
// in-process through the runtime library (no hako-runtime exec), each with
// an overlayfs root over its image's layers.
//
//   <root>/containers/<id>/container.json   the record: name, image, every flag (RunOptions),
//                                           mounts, exit code, restart count
//   <root>/containers/<id>/bundle/config.json  the OCI config made from the image and flags
//   <root>/containers/<id>/{upper,work,rootfs}  overlayfs: the container's writes, its root
//   <root>/containers/<id>/log             its output, timestamped (k8s-file or json-file)
//   <root>/containers/<id>/attach.sock     its monitor's attach socket; health.json its health
//   <root>/volumes/<name>/                 named volumes (volumes.hpp)
//   <root>/runtime/                        the runtime's state (one dir per running container)
//   <root>/events.jsonl                    the journal of `hako events`
//
// A detached container is watched by a monitor (conmon.cpp): a fork of hako
// that is the container init's parent for the container's whole life. It
// relays and logs its output, holds its terminal for `attach`, runs its
// healthcheck, restarts it as its --restart policy says, and at the end
// records the exit status and cleans up. A foreground run needs no monitor
// (unless it has a restart policy or a healthcheck): hako itself waits.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
    std::vector<std::string> volumes;  // -v SRC:DST[:OPTS], NAME:DST, DST (anonymous)
    std::vector<std::string> mounts;   // --mount type=bind|volume|tmpfs,src=,dst=,ro
    std::vector<std::string> volumes_from;  // --volumes-from CONTAINER[:ro|rw]
    std::vector<std::string> tmpfs;    // DST[:OPTIONS]
    bool read_only = false;
    std::string memory;                // "100m"
    std::string memory_swap, memory_reservation, shm_size;
    double cpus = 0;
    std::string cpuset_cpus;
    int64_t cpu_shares = 0;
    int blkio_weight = 0;
    int64_t pids_limit = 0;
    bool oom_kill_disable = false;
    std::optional<int> oom_score_adj;
    std::vector<std::string> cap_add, cap_drop;
    std::vector<std::string> security_opt;  // no-new-privileges, seccomp=unconfined|FILE
    bool privileged = false;
    std::vector<std::string> devices;       // HOST[:CONTAINER[:rwm]]
    std::vector<std::string> group_add, ulimits, sysctls;
    std::vector<std::string> labels, label_files;
    std::string cidfile;
    std::string pid_mode, ipc_mode, uts_mode, cgroupns, userns;  // host | container:X | private ...
    NetRequest net;                          // --network, -p, --dns...
    std::optional<std::string> entrypoint;
    bool init = false;  // --init: hako-init as PID 1 (reaps, forwards signals)
    std::string pull = "missing";  // --pull: missing | always | never
    std::string platform;          // --platform (for a pull)
    std::string restart = "no";    // no | on-failure[:N] | always | unless-stopped
    std::string health_cmd, health_interval, health_timeout, health_start_period;
    int health_retries = 0;
    bool no_healthcheck = false;
    std::string log_driver;        // k8s-file (default), json-file, none
    std::vector<std::string> log_opts;  // max-size=10m, max-file=N
    std::string stop_signal;       // default: the image's, else SIGTERM
    int stop_timeout = -1;         // default 10
    std::string detach_keys;       // attach's, default ctrl-p,ctrl-q
    bool sig_proxy = true;
    bool build = false;            // a build step's container: the image's VOLUMEs not mounted
};
// The container's definition kept in its record (every flag, as given).
nlohmann::json options_to_json(const RunOptions& o);
RunOptions options_from_json(const nlohmann::json& j);

// A mount of the container, resolved at create: a bind of a host path, a
// named (or anonymous) volume, a tmpfs.
struct MountSpec {
    std::string type;         // bind | volume | tmpfs
    std::string source;       // host path | volume name | ""
    std::string destination;  // in the container
    bool ro = false;
    bool anonymous = false;   // a volume made for this container (rm -v removes it)
    std::vector<std::string> options;  // tmpfs size=, mode=; bind propagation
};

// The restart policy of a container: --restart, parsed.
struct RestartPolicy {
    std::string name = "no";  // no | on-failure | always | unless-stopped
    int max_retries = 0;      // on-failure:N (0: no limit)
};
Result<RestartPolicy> parse_restart(const std::string& s);

struct Record {
    std::string id, name, image, image_id;
    std::vector<std::string> command;  // process.args
    std::string created;
    bool rm = false, detached = false;
    std::optional<int> exit_code;  // once it has exited
    std::string finished, started;
    RunOptions options;             // how it was made
    std::vector<MountSpec> mounts;  // its volumes, binds and tmpfs
    std::optional<image::Healthcheck> health;  // resolved (flags over the image's)
    std::string stop_signal;        // resolved
    int restart_count = 0;
    bool restarting = false;        // between a restart policy's attempts
    bool stop_requested = false;    // stopped (or killed) by a user: no restart
    bool oom_killed = false;
    std::string error;              // why it could not start
    ProcRef monitor;                // the monitor (pid and start time), while it lives
};

// A container's health (State.Health), kept by its monitor in health.json.
struct HealthLog {
    std::string start, end;
    int exit_code = 0;
    std::string output;
};
struct HealthState {
    std::string status;  // starting | healthy | unhealthy
    int failing_streak = 0;
    std::vector<HealthLog> log;  // the last five
};
nlohmann::json health_to_json(const HealthState& h);
HealthState health_from_json(const nlohmann::json& j);

struct ContainerView {
    Record record;
    std::string status;  // created, running, paused, restarting, exited
    pid_t pid = 0;
    std::optional<HealthState> health;
    [[nodiscard]] bool active() const { return status == "running" || status == "paused"; }
};

// Engine::list's views, newest first. Each is an allocation of its own, made
// on the thread that read it: a listing of 1,000 is built and sorted without
// moving 2 KB views about (which, in fresh memory, costs a page fault each
// 2 views). Iterates, and indexes, as a vector of ContainerView would.
class ContainerList {
public:
    using Items = std::vector<std::unique_ptr<ContainerView>>;
    class iterator {
    public:
        using value_type = ContainerView;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(Items::const_iterator it) : it_(it) {}
        const ContainerView& operator*() const { return **it_; }
        const ContainerView* operator->() const { return it_->get(); }
        iterator& operator++() { ++it_; return *this; }
        iterator operator++(int) { return iterator(it_++); }
        bool operator==(const iterator&) const = default;
    private:
        Items::const_iterator it_;
    };
    ContainerList() = default;
    explicit ContainerList(Items items) : items_(std::move(items)) {}
    [[nodiscard]] iterator begin() const { return iterator(items_.begin()); }
    [[nodiscard]] iterator end() const { return iterator(items_.end()); }
    [[nodiscard]] size_t size() const { return items_.size(); }
    [[nodiscard]] bool empty() const { return items_.empty(); }
    const ContainerView& operator[](size_t i) const { return *items_[i]; }
private:
    Items items_;
};

// `wait --condition`.
enum class WaitCondition { NotRunning, NextExit, Removed };

class Engine {
public:
    // `runroot`: state that must not outlive a reboot (networks), on tmpfs.
    Engine(std::string root, std::string runroot);
    image::Store& images() { return images_; }
    Networks& networks() { return nets_; }
    [[nodiscard]] runtime::StateStore runtime_store() const { return runtime::StateStore(root_ + "/runtime"); }
    [[nodiscard]] const std::string& root() const { return root_; }
    [[nodiscard]] const std::string& runroot() const { return runroot_; }

    // An image by reference; `busybox` is made on first use.
    Result<image::Image> resolve_image(const std::string& ref);
    // The image a container is made from, pulled as --pull says.
    Result<image::Image> image_for(const RunOptions& o);

    // create: every flag checked, the record, volumes and mounts resolved;
    // nothing runs. Returns the id.
    Result<std::string> create(const RunOptions& o);
    // start: a created or exited container runs. Detached (a monitor owns
    // it): 0 once it runs. Attached (`foreground`): in this process, its exit
    // status (restart policies and healthchecks need a monitor: attach then).
    // `when_listening` (under a monitor): the monitor waits for an attach
    // client before it starts the container, and this is called once its
    // socket listens (to connect), so no output is missed.
    Result<int> start(const std::string& ref, bool foreground, const std::function<void()>& when_listening = {});
    // run = create + start. Foreground: the container's exit status.
    // Detached: 0 with *id set once the container runs. An error that kept
    // the command from running maps to 125/126/127 with exit_code_for.
    Result<int> run(const RunOptions& o, std::string* id, const std::function<void()>& when_listening = {});

    Result<ContainerList> list(bool all) const;
    // By name or id (or a unique id prefix).
    Result<ContainerView> find(const std::string& ref) const;
    // stop: the stop signal, then SIGKILL after `timeout_s` (<0: the
    // container's --stop-timeout, else 10). No restart policy applies after.
    Status stop(const std::string& ref, int timeout_s);
    Status kill(const std::string& ref, int sig);
    Status restart(const std::string& ref, int timeout_s);
    Status rename(const std::string& ref, const std::string& name);
    // rm: `volumes`: its anonymous volumes too (rm -v).
    Status remove(const std::string& ref, bool force, bool volumes = false);
    Result<int> wait(const std::string& ref, WaitCondition c = WaitCondition::NotRunning);
    [[nodiscard]] std::string log_path(const std::string& id) const;
    [[nodiscard]] std::string dir(const std::string& id) const { return root_ + "/containers/" + id; }
    Status save(const Record& r) const;
    // (containers_fd: <root>/containers opened, for a listing)
    Result<Record> load(const std::string& id, int containers_fd = AT_FDCWD) const;
    // load, change, save under the record's lock.
    Status update(const std::string& id, const std::function<void(Record&)>& change) const;
    // The container's init exited with `code`: record it, unmount, clean
    // up (--rm). The monitor's last step.
    Status finish(const std::string& id, int code) const;
    // The overlay root of a container, mounted (a stopped one's too, for
    // cp/diff/export: `unmount_after` says whether the caller should unmount).
    Result<std::string> mounted_rootfs(const std::string& id, bool* unmount_after);
    // The lower dirs of a container's overlay (top first), its upper dir.
    Result<std::vector<std::string>> lower_dirs(const Record& r);
    [[nodiscard]] std::string upper_dir(const std::string& id) const { return dir(id) + "/upper"; }

    // The journal `hako events` reads: <root>/events.jsonl, a JSON line per
    // event (docker's Type, Action, Actor{ID, Attributes}, time, timeNano).
    void event(const std::string& type, const std::string& action, const std::string& id,
               const std::map<std::string, std::string>& attributes = {}) const;
    [[nodiscard]] std::string events_path() const { return root_ + "/events.jsonl"; }

    // The monitor (monitor.cpp): in a forked child, the container runs and is
    // watched until it is gone for good: its output logged, attach clients
    // served, healthchecks run, restarts as its policy says. `report` gets
    // "0" once it first runs, or "<errno> <message>".
    // `wait_for_client`: "L" goes to `report` once the attach socket
    // listens; the container starts once a client is connected (10 s at most).
    [[noreturn]] void monitor(const std::string& id, int report, bool wait_for_client = false);

private:
    ContainerView view(Record r) const { return view(std::move(r), runtime_store()); }
    ContainerView view(Record r, const runtime::StateStore& store) const;
    // Mount the overlay root of container `id` over the image's layers.
    Status mount_rootfs(const std::string& id, const image::Image& img) const;
    // Unmount and remove everything of a container (runtime state included).
    Status cleanup(const std::string& id) const;
    // A container directory whose creator died before its record was saved:
    // cleaned up when nobody holds its lock (list() calls it).
    void collect_unrecorded(const std::string& name) const;
    // list(): every record (`all`, else the active ones) as a view, with its
    // state (`states`), or the records alone (status left empty; all).
    ContainerList scan(bool all, bool states) const;
    // Everything a start needs, made: the image, the rootfs mounted, the
    // network planned, volumes filled, bundle/config.json written.
    struct Prepared {
        Record rec;
        NetPlan plan;
        std::string hostname;
        bool tty = false;
    };
    Result<Prepared> prepare(const std::string& id);
    // A name's syntax, and that no container has it: the names lock returned
    // (not taken for "", a name made from the id) is held until it is saved.
    Result<UniqueFd> check_name(const std::string& name) const;
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
// What else a config is made from: the container's id and root, its
// networking, its mounts (each with its host source: volumes resolved), the
// host file bound at /dev/init (--init), and, for --pid/--ipc
// container:NAME, the pid of that container's init.
struct SpecInputs {
    std::string id, rootfs;
    const NetPlan* net = nullptr;
    std::vector<MountSpec> mounts;  // type bind (source on the host) or tmpfs
    std::string init;
    std::function<Result<pid_t>(const std::string&)> pid_of;
    std::map<std::string, std::string> labels;  // resolved --label/--label-file + the image's
};
Result<MadeConfig> make_config(const RunOptions& o, const image::Image& img, const SpecInputs& in);
// --label and --label-file over the image's labels.
Result<std::map<std::string, std::string>> resolve_labels(const RunOptions& o, const image::Config& img);
// Parse -v/--mount/--tmpfs/--volumes-from of `o` into mounts (volume
// names not yet made; anonymous ones get random names); `from`: the mounts
// of --volumes-from's containers.
Result<std::vector<MountSpec>> parse_mounts(const RunOptions& o, const std::vector<std::string>& image_volumes,
                                            const std::function<Result<std::vector<MountSpec>>(const std::string&)>& from);
// "30s", "1m30s", "500ms", "2h" -> nanoseconds (Go's durations).
Result<int64_t> parse_duration(const std::string& s, const char* flag);
// The healthcheck a container runs: flags over the image's (none: nullopt).
Result<std::optional<image::Healthcheck>> resolve_health(const RunOptions& o, const image::Config& img);
// The container's host name: -h, the joined container's, or its short id.
std::string container_hostname(const RunOptions& o, const std::string& id, const NetPlan& net);

}  // namespace hako::frontend
