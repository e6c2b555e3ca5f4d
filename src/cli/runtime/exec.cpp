// exec [flags] ID [ARGS...]: run a new process in a running container.
#include "cli/runtime/commands.hpp"

namespace hako::cli {

void add_exec(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("exec", "run a new process inside a running container");
    auto o = std::make_shared<runtime::ExecOptions>();
    sub->add_option("-p,--process", o->process_file, "a process JSON file (config.json's process object)");
    sub->add_flag("-d,--detach", o->detach, "return once the process runs");
    sub->add_option("--pid-file", o->pid_file, "write the process's pid here");
    sub->add_flag("-t,--tty", o->tty, "allocate a terminal (its master: --console-socket, or relayed in the foreground)");
    sub->add_option("--console-socket", o->console_socket, "unix socket to send the terminal's master to");
    sub->add_option("--cwd", o->cwd, "working directory in the container");
    sub->add_option("-e,--env", o->env, "KEY=VALUE to set (repeatable)")->allow_extra_args(false);
    sub->add_option("-u,--user", o->user, "UID[:GID]");
    sub->add_option("-c,--cap", o->caps, "add a capability (repeatable)")->allow_extra_args(false);
    sub->add_flag("--no-new-privs", o->no_new_privs, "set no_new_privs");
    sub->add_option("--preserve-fds", o->preserve_fds, "pass fds 3 .. 3+N-1 on");
    sub->add_option("--apparmor", o->apparmor, "the AppArmor profile of the process");
    sub->add_option("--process-label", o->process_label, "the SELinux label of the process");
    sub->add_option("-g,--additional-gids", o->additional_gids, "an additional group id (repeatable)")
        ->allow_extra_args(false);
    sub->add_flag("--ignore-paused", o->ignore_paused, "exec even into a paused container");
    sub->add_option("--cgroup", o->sub_cgroups, "[CONTROLLER:]PATH: run in this sub-cgroup of the container's")
        ->allow_extra_args(false);
    sub->add_option("id", o->id, "container id")->required();
    sub->prefix_command();  // what follows the id is the command's (`exec ID ls -la`)
    sub->callback([&g, &action, sub, o] {
        action = [&g, sub, o] {
            std::vector<std::string> words = sub->remaining();
            if (!words.empty() && words.front() == "--") words.erase(words.begin());
            o->args = words;
            auto r = runtime::exec(g.store(), *o);
            // 255: the runtime failed, not the process (whose own status may be 1), as runc.
            if (!r) {
                (void)fail(r.error());
                return 255;
            }
            return *r;
        };
    });
}

}  // namespace hako::cli
