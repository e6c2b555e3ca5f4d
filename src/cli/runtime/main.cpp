// hako-runtime: an OCI runtime with runc's command line.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "cli/runtime/commands.hpp"
#include "common/log.hpp"

namespace hako::cli {

int fail(const Error& e) {
    std::string msg = e.what();
    log::write(log::Level::Error, msg);
    if (log::options().fd != 2) {  // the log is a file: stderr gets the message too
        std::string line = "hako-runtime: " + msg + "\n";
        (void)!::write(2, line.data(), line.size());
    }
    return 1;
}

namespace {

// runc (urfave/cli) takes `-root x` as well as `--root x`: turn single-dash
// long options into double-dash ones, up to the first positional argument of
// the subcommand: what follows an exec's or ps's container id is the
// command's (`exec ID ls -la`).
std::vector<std::string> normalize_args(int argc, char** argv) {
    // Options of the global level and of exec/ps that take a value.
    static const std::set<std::string> kValued = {
        "root", "log", "log-format", "criu", "rootless", "process", "p", "pid-file", "console-socket", "cwd",
        "env", "e", "user", "u", "cap", "c", "preserve-fds", "apparmor", "process-label", "format", "f"};
    std::vector<std::string> out;
    bool in_sub = false, value_next = false, rest_verbatim = false, command_follows = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (rest_verbatim) {
            out.push_back(a);
            continue;
        }
        bool is_opt = a.size() > 1 && a[0] == '-';
        if (a.size() > 2 && a[0] == '-' && a[1] != '-' && std::isalpha(static_cast<unsigned char>(a[1])) &&
            (std::isalpha(static_cast<unsigned char>(a[2])) || a[2] == '-'))
            a = "-" + a;
        out.push_back(a);
        if (a == "--") {
            rest_verbatim = true;
        } else if (is_opt) {
            std::string name = a.substr(a.find_first_not_of('-'));
            value_next = name.find('=') == std::string::npos && kValued.count(name);
        } else if (value_next) {
            value_next = false;
        } else if (!in_sub) {
            in_sub = true;  // the subcommand
            command_follows = a == "exec" || a == "ps";
        } else if (command_follows) {
            rest_verbatim = true;  // its first positional: the id
        }
    }
    return out;
}

}  // namespace
}  // namespace hako::cli

int main(int argc, char** argv) {
    using namespace hako;
    cli::Globals g;
    CLI::App app{"hako-runtime: an OCI container runtime (runc's command line)", "hako-runtime"};
    app.set_version_flag("-v,--version", std::string("hako-runtime version ") + HAKO_VERSION +
                                             "\nspec: 1.2.0");
    app.add_option("--root", g.root, "state directory")->capture_default_str();
    app.add_option("--log", g.log, "log file (default: stderr)");
    app.add_option("--log-format", g.log_format, "log format: text or json")
        ->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", g.debug, "log every setup step with its duration");
    app.add_flag("--systemd-cgroup", g.systemd_cgroup, "use systemd to manage cgroups");
    app.add_option("--criu", "ignored (checkpointing is not supported)");
    app.add_option("--rootless", "ignored");
    app.require_subcommand(1);

    cli::Action action;
    cli::add_create(app, g, action);
    cli::add_run(app, g, action);
    cli::add_start(app, g, action);
    cli::add_state(app, g, action);
    cli::add_kill(app, g, action);
    cli::add_delete(app, g, action);
    cli::add_list(app, g, action);
    cli::add_spec(app, g, action);
    cli::add_pause_resume(app, g, action);
    cli::add_update(app, g, action);
    cli::add_events(app, g, action);
    cli::add_ps(app, g, action);
    cli::add_exec(app, g, action);
    cli::add_features(app, g, action);

    // An unknown command is an error, also with -h after it (CLI11 would
    // show the top-level help and exit 0), as runc has it.
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a.starts_with("-")) {
            const auto* opt = app.get_option_no_throw(std::string(a.substr(0, a.find('='))));
            if (opt && opt->get_items_expected_min() > 0 && a.find('=') == std::string_view::npos) ++i;
            continue;
        }
        bool known = false;
        for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
            known = known || sub->check_name(std::string(a));
        if (!known) {
            fprintf(stderr, "hako-runtime: unknown command `%s` (hako-runtime --help lists them)\n", argv[i]);
            return 1;
        }
        break;
    }
    auto args = cli::normalize_args(argc, argv);
    std::reverse(args.begin(), args.end());
    try {
        app.parse(args);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 1;
    }

    log::Options lo;
    lo.debug = g.debug;
    lo.json = g.log_format == "json";
    // text, asked for or into a log file: runc's logrus lines, which callers parse
    lo.logrus = g.log_format == "text" && (app.get_option("--log-format")->count() > 0 || !g.log.empty());
    if (!g.log.empty()) {
        int fd = ::open(g.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "hako-runtime: open the log file `%s` (--log): %s\n", g.log.c_str(),
                    strerror(errno));
            return 1;
        }
        lo.fd = fd;
    }
    log::configure(lo);
    if (g.systemd_cgroup)
        return cli::fail(Error{0, "--systemd-cgroup: the systemd cgroup driver is not supported yet"});
    return action ? action() : 1;
}
