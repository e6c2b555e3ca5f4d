// hako run / create [flags] IMAGE [COMMAND [ARG...]]
#include <cstdio>

#include "cli/hako/commands.hpp"
#include "frontend/attach.hpp"
#include "runtime/container.hpp"

namespace hako::cli {

void add_run_flags(CLI::App* sub, frontend::RunOptions& o, std::string& entrypoint, CLI::Option*& ep) {
    auto many = [sub](const char* name, std::vector<std::string>& v, const char* help) {
        sub->add_option(name, v, help)->allow_extra_args(false);
    };
    sub->add_flag("-d,--detach", o.detach, "Run in the background and print the container ID");
    sub->add_flag("-i,--interactive", o.interactive, "Keep STDIN open");
    sub->add_flag("-t,--tty", o.tty, "Allocate a pseudo-TTY");
    sub->add_flag("--rm", o.rm, "Remove the container (and its anonymous volumes) when it exits");
    sub->add_option("--name", o.name, "Assign a name to the container");
    many("-e,--env", o.env, "Set environment variables (KEY=VALUE, or KEY to pass ours)");
    many("--env-file", o.env_files, "Read in a file of environment variables");
    sub->add_option("-w,--workdir", o.workdir, "Working directory inside the container");
    sub->add_option("-u,--user", o.user, "Username or UID (format: <name|uid>[:<group|gid>])");
    sub->add_option("-h,--hostname", o.hostname, "Container host name");
    many("-v,--volume", o.volumes, "Bind mount a volume (SRC:DST[:ro], NAME:DST[:ro], or DST)");
    many("--mount", o.mounts, "Attach a filesystem mount (type=bind|volume|tmpfs,src=,dst=,ro)");
    many("--volumes-from", o.volumes_from, "Mount volumes from the specified container(s) (CONTAINER[:ro|rw])");
    many("--tmpfs", o.tmpfs, "Mount a tmpfs directory (DST[:OPTIONS])");
    sub->add_flag("--read-only", o.read_only, "Mount the container's root filesystem as read only");
    sub->add_option("-m,--memory", o.memory, "Memory limit (e.g. 100m, 1g)");
    sub->add_option("--memory-swap", o.memory_swap, "Swap limit equal to memory plus swap: -1 for unlimited swap");
    sub->add_option("--memory-reservation", o.memory_reservation, "Memory soft limit");
    sub->add_option("--shm-size", o.shm_size, "Size of /dev/shm");
    sub->add_option("--cpus", o.cpus, "Number of CPUs (e.g. 0.5)");
    sub->add_option("--cpuset-cpus", o.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
    sub->add_option("-c,--cpu-shares", o.cpu_shares, "CPU shares (relative weight)");
    sub->add_option("--blkio-weight", o.blkio_weight, "Block IO (relative weight), between 10 and 1000");
    sub->add_option("--pids-limit", o.pids_limit, "Tune container pids limit");
    sub->add_flag("--oom-kill-disable", o.oom_kill_disable, "Disable OOM Killer");
    sub->add_option_function<int>("--oom-score-adj", [&o](const int& v) { o.oom_score_adj = v; },
                                  "Tune host's OOM preferences (-1000 to 1000)");
    many("--cap-add", o.cap_add, "Add Linux capabilities (or ALL)");
    many("--cap-drop", o.cap_drop, "Drop Linux capabilities (or ALL)");
    many("--security-opt", o.security_opt, "Security options (no-new-privileges, seccomp=unconfined|FILE)");
    sub->add_flag("--privileged", o.privileged, "Give extended privileges to this container");
    many("--device", o.devices, "Add a host device to the container (HOST[:CONTAINER[:rwm]])");
    many("--group-add", o.group_add, "Add additional groups to join");
    many("--ulimit", o.ulimits, "Ulimit options (e.g. nofile=1024:2048)");
    many("--sysctl", o.sysctls, "Sysctl options (NAME=VALUE)");
    many("-l,--label", o.labels, "Set meta data on a container (KEY=VALUE)");
    many("--label-file", o.label_files, "Read in a line delimited file of labels");
    sub->add_option("--cidfile", o.cidfile, "Write the container ID to the file");
    sub->add_option("--pid", o.pid_mode, "PID namespace to use (host, container:NAME)");
    sub->add_option("--ipc", o.ipc_mode, "IPC mode to use (host, container:NAME, private, shareable)");
    sub->add_option("--uts", o.uts_mode, "UTS namespace to use (host)");
    sub->add_option("--cgroupns", o.cgroupns, "Cgroup namespace to use (host|private)");
    sub->add_option("--userns", o.userns, "User namespace to use (host)");
    add_network_flags(sub, o.net);
    ep = sub->add_option("--entrypoint", entrypoint, "Overwrite the default ENTRYPOINT of the image");
    sub->add_option("--pull", o.pull, "Pull image before running (missing, always, never)")
        ->check(CLI::IsMember({"missing", "always", "never"}));
    sub->add_option("--platform", o.platform, "Set platform if server is multi-platform capable");
    sub->add_flag("--init", o.init, "Run an init inside the container that forwards signals and reaps processes");
    sub->add_option("--restart", o.restart, "Restart policy to apply when a container exits (no, on-failure[:N], always, unless-stopped)");
    sub->add_option("--health-cmd", o.health_cmd, "Command to run to check health");
    sub->add_option("--health-interval", o.health_interval, "Time between running the check (ms|s|m|h) (default 30s)");
    sub->add_option("--health-timeout", o.health_timeout, "Maximum time to allow one check to run (ms|s|m|h) (default 30s)");
    sub->add_option("--health-start-period", o.health_start_period, "Start period for the container to initialize (ms|s|m|h)");
    sub->add_option("--health-retries", o.health_retries, "Consecutive failures needed to report unhealthy");
    sub->add_flag("--no-healthcheck", o.no_healthcheck, "Disable any container-specified HEALTHCHECK");
    sub->add_option("--log-driver", o.log_driver, "Logging driver for the container (k8s-file, json-file, none)");
    many("--log-opt", o.log_opts, "Log driver options (max-size=10m, max-file=3)");
    sub->add_option("--stop-signal", o.stop_signal, "Signal to stop the container");
    sub->add_option("--stop-timeout", o.stop_timeout, "Timeout (in seconds) to stop a container");
    sub->add_option("--detach-keys", o.detach_keys, "Override the key sequence for detaching a container");
    sub->add_option("--sig-proxy", o.sig_proxy, "Proxy received signals to the process (default true)");
    sub->prefix_command();  // IMAGE, then the command's own words
}

namespace {

// IMAGE [COMMAND...] from the words after the flags.
Status take_image(CLI::App* sub, frontend::RunOptions& o, const std::string& cmd) {
    auto words = sub->remaining();
    if (!words.empty() && words.front() == "--") words.erase(words.begin());
    if (words.empty()) return error(cmd + ": an image is required (hako " + cmd + " [OPTIONS] IMAGE [COMMAND] [ARG...])");
    if (words.front().size() > 1 && words.front()[0] == '-')
        return error(cmd + ": unknown flag `" + words.front() + "` (hako " + cmd + " --help)");
    o.image = words.front();
    o.command.assign(words.begin() + 1, words.end());
    return {};
}

}  // namespace

void add_run(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    for (bool create : {false, true}) {
        auto* sub = app.add_subcommand(create ? "create" : "run",
                                       create ? "Create a new container" : "Create and run a new container from an image");
        sub->set_help_flag("--help", "Print usage");  // (-h is --hostname, as in docker)
        auto o = std::make_shared<frontend::RunOptions>();
        auto entrypoint = std::make_shared<std::string>();
        auto ep = std::make_shared<CLI::Option*>(nullptr);
        add_run_flags(sub, *o, *entrypoint, *ep);
        sub->callback([&g, &action, sub, o, entrypoint, ep, create] {
            action = [&g, sub, o, entrypoint, ep, create] {
                if (auto st = take_image(sub, *o, create ? "create" : "run"); !st) return hako_fail(st.error());
                if ((*ep)->count() > 0) o->entrypoint = *entrypoint;
                if (create) {
                    auto id = g.engine().create(*o);
                    if (!id) return hako_fail(id.error());
                    std::printf("%s\n", id->c_str());
                    return 0;
                }
                std::string id;
                UniqueFd conn;  // (foreground under a monitor: attached before it starts)
                auto connect = [&g, &id, &conn] {
                    if (auto c = frontend::connect_attach(g.engine().dir(id))) conn = std::move(*c);
                };
                auto r = g.engine().run(*o, &id, o->detach ? std::function<void()>{} : std::function<void()>(connect));
                if (!r) {
                    hako_fail(r.error());
                    return frontend::exit_code_for(r.error());
                }
                if (o->detach) {
                    if (*r == 0) std::printf("%s\n", id.c_str());
                    return *r;
                }
                // In the foreground under a monitor (a restart policy, a
                // healthcheck): attached to it until the container is gone.
                auto v = g.engine().find(id);
                if (conn || (v && (v->active() || v->status == "restarting")))
                    return attach_container(g, id, o->interactive, o->detach_keys, o->sig_proxy, std::move(conn));
                if (v && v->record.exit_code) return *v->record.exit_code;
                return *r;
            };
        });
    }
}

}  // namespace hako::cli
