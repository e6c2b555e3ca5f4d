// hako run [flags] IMAGE [COMMAND [ARG...]]
#include <cstdio>

#include "cli/hako/commands.hpp"

namespace hako::cli {

void add_run(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    auto* sub = app.add_subcommand("run", "Create and run a new container from an image");
    sub->set_help_flag("--help", "Print usage");  // (-h is --hostname, as in docker)
    auto o = std::make_shared<frontend::RunOptions>();
    auto entrypoint = std::make_shared<std::string>();
    sub->add_flag("-d,--detach", o->detach, "Run in the background and print the container ID");
    sub->add_flag("-i,--interactive", o->interactive, "Keep STDIN open");
    sub->add_flag("-t,--tty", o->tty, "Allocate a pseudo-TTY");
    sub->add_flag("--rm", o->rm, "Remove the container when it exits");
    sub->add_option("--name", o->name, "Name the container");
    sub->add_option("-e,--env", o->env, "Set an environment variable (KEY=VALUE, or KEY to pass ours)")
        ->allow_extra_args(false);
    sub->add_option("--env-file", o->env_files, "Read environment variables from a file")->allow_extra_args(false);
    sub->add_option("-w,--workdir", o->workdir, "Working directory inside the container");
    sub->add_option("-u,--user", o->user, "User: name|uid[:group|gid]");
    sub->add_option("-h,--hostname", o->hostname, "Container host name");
    sub->add_option("-v,--volume", o->volumes, "Bind mount SRC:DST[:ro|rw]")->allow_extra_args(false);
    sub->add_option("--tmpfs", o->tmpfs, "Mount a tmpfs at DST")->allow_extra_args(false);
    sub->add_flag("--read-only", o->read_only, "Mount the container's root file system read-only");
    sub->add_option("-m,--memory", o->memory, "Memory limit (e.g. 100m, 1g)");
    sub->add_option("--cpus", o->cpus, "Number of CPUs (e.g. 0.5)");
    sub->add_option("--pids-limit", o->pids_limit, "Maximum number of processes");
    sub->add_option("--cap-add", o->cap_add, "Add a Linux capability (or ALL)")->allow_extra_args(false);
    sub->add_option("--cap-drop", o->cap_drop, "Drop a Linux capability (or ALL)")->allow_extra_args(false);
    sub->add_option("--security-opt", o->security_opt, "no-new-privileges, seccomp=unconfined|FILE")
        ->allow_extra_args(false);
    add_network_flags(sub, o->net);
    auto* ep = sub->add_option("--entrypoint", *entrypoint, "Overwrite the image's entrypoint");
    sub->add_option("--pull", o->pull, "Pull the image: missing (default), always, never")
        ->check(CLI::IsMember({"missing", "always", "never"}));
    sub->add_option("--platform", o->platform, "os/arch[/variant] of an image pulled");
    sub->add_flag("--init", o->init, "Run an init (hako-init) as PID 1: it reaps zombies and forwards signals");
    sub->prefix_command();  // IMAGE, then the command's own words
    sub->callback([&g, &action, sub, o, entrypoint, ep] {
        action = [&g, sub, o, entrypoint, ep] {
            auto words = sub->remaining();
            if (!words.empty() && words.front() == "--") words.erase(words.begin());
            if (words.empty()) return hako_fail(Error{0, "run: an image is required (hako run IMAGE [COMMAND...])"});
            if (words.front().size() > 1 && words.front()[0] == '-')
                return hako_fail(Error{0, "run: unknown flag `" + words.front() + "` (hako run --help)"});
            o->image = words.front();
            o->command.assign(words.begin() + 1, words.end());
            if (ep->count() > 0) o->entrypoint = *entrypoint;
            std::string id;
            auto r = g.engine().run(*o, &id);
            if (!r) {
                hako_fail(r.error());
                return frontend::exit_code_for(r.error());
            }
            if (o->detach && *r == 0) std::printf("%s\n", id.c_str());
            return *r;
        };
    });
}

}  // namespace hako::cli
