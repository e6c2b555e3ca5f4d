// hako: containers for people, daemonless, on hako's runtime library.
#include <stdlib.h>
#include <unistd.h>

#include "cli/hako/commands.hpp"
#include "common/log.hpp"

namespace hako::cli {

int hako_fail(const Error& e) {
    std::string line = "hako: " + e.what() + "\n";
    (void)!::write(2, line.data(), line.size());
    return frontend::kExitEngine;
}

}  // namespace hako::cli

int main(int argc, char** argv) {
    using namespace hako;
    cli::HakoGlobals g;
    const char* env_root = getenv("HAKO_ROOT");
    g.root = env_root && *env_root ? env_root : "/var/lib/hako";
    const char* env_runroot = getenv("HAKO_RUNROOT");
    g.runroot = env_runroot && *env_runroot ? env_runroot : "/run/hako";
    bool debug = false;
    CLI::App app{"hako: Linux containers, daemonless (images, copy-on-write, limits, volumes)", "hako"};
    app.set_version_flag("--version", std::string("hako version ") + HAKO_VERSION);
    app.add_option("--root", g.root, "where images and containers live ($HAKO_ROOT)")->capture_default_str();
    app.add_option("--runroot", g.runroot, "where live state goes, on tmpfs ($HAKO_RUNROOT)")->capture_default_str();
    app.add_flag("--debug", debug, "log every setup step with its duration");
    app.require_subcommand(1);
    app.footer("Run 'hako COMMAND --help' for more information on a command.");
    cli::HakoAction action;
    cli::add_run(app, g, action);
    cli::add_container_commands(app, g, action);
    cli::add_image_commands(app, g, action);
    cli::add_network_commands(app, g, action);
    cli::add_registry_commands(app, g, action);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return frontend::kExitEngine;
    }
    log::Options lo;
    lo.debug = debug;
    log::configure(lo);
    if (g.root.empty() || g.root[0] != '/') return cli::hako_fail(Error{0, "--root must be an absolute path"});
    if (g.runroot.empty() || g.runroot[0] != '/') return cli::hako_fail(Error{0, "--runroot must be an absolute path"});
    return action ? action() : frontend::kExitEngine;
}
