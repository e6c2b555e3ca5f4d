// create / run
#include "cli/runtime/commands.hpp"

namespace hako::cli {
namespace {

void add_create_flags(CLI::App* sub, runtime::CreateOptions& o) {
    sub->add_option("-b,--bundle", o.bundle, "the bundle directory (config.json, rootfs)");
    sub->add_option("--pid-file", o.pid_file, "write the init's pid to this file");
    sub->add_option("--console-socket", o.console_socket,
                    "unix socket that receives the pty master (process.terminal)");
    sub->add_flag("--no-pivot", o.no_pivot, "chroot instead of pivot_root");
    sub->add_flag("--no-new-keyring", o.no_new_keyring, "keep the caller's session keyring");
    sub->add_option("--preserve-fds", o.preserve_fds, "pass this many fds after stdio into the container");
    sub->add_option("id", o.id, "container id")->required();
}

}  // namespace

void add_create(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("create", "create a container (its process waits for start)");
    auto o = std::make_shared<runtime::CreateOptions>();
    add_create_flags(sub, *o);
    sub->callback([&g, &action, o] {
        action = [&g, o] {
            auto r = runtime::create(g.store(), *o);
            return r ? 0 : fail(r.error());
        };
    });
}

void add_run(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("run", "create and start a container");
    auto o = std::make_shared<runtime::CreateOptions>();
    auto detach = std::make_shared<bool>(false);
    add_create_flags(sub, *o);
    sub->add_flag("-d,--detach", *detach, "return once the container has started");
    auto keep = std::make_shared<bool>(false);
    sub->add_flag("--keep", *keep, "keep the stopped container (state, cgroup) until `delete`");
    sub->callback([&g, &action, o, detach, keep] {
        action = [&g, o, detach, keep] {
            auto r = runtime::run(g.store(), *o, *detach, *keep);
            return r ? *r : fail(r.error());
        };
    });
}

}  // namespace hako::cli
