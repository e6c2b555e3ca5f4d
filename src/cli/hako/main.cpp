// hako: containers for people, daemonless, on hako's runtime library.
#include <stdlib.h>
#include <unistd.h>

#include "cli/hako/commands.hpp"
#include "common/log.hpp"

#include <algorithm>

namespace hako::cli {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cur = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
            prev = cur;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string nearest(const std::string& word, const std::vector<std::string>& choices) {
    std::string best;
    size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
    for (const auto& c : choices) {
        size_t d = edit_distance(word, c);
        if (d < best_d || (c.rfind(word, 0) == 0 && word.size() >= 2 && best.empty())) {
            best_d = d;
            best = c;
        }
    }
    return best;
}

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
    cli::add_lifecycle_commands(app, g, action);
    cli::add_volume_commands(app, g, action);
    cli::add_system_commands(app, g, action);
    cli::add_files_commands(app, g, action);
    cli::add_build_commands(app, g, action);
    // An unknown command: named, with the nearest one (docker's "unknown command").
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--root" || a == "--runroot") {
            ++i;
            continue;
        }
        if (a.rfind("-", 0) == 0) continue;
        auto all = app.get_subcommands([](const CLI::App*) { return true; });
        if (std::any_of(all.begin(), all.end(), [&a](const CLI::App* s) { return s->check_name(a); })) break;
        std::vector<std::string> names;
        for (const auto* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }))
            names.push_back(sub->get_name());
        std::string hint = cli::nearest(a, names);
        return cli::hako_fail(Error{0, "unknown command `" + a + "` for `hako`" +
                                           (hint.empty() ? "" : "\n\nDid you mean this?\n\t" + hint) +
                                           "\n\nRun 'hako --help' for usage."});
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ExtrasError& e) {
        // "The following argument(s) were not expected: --foo": docker's words.
        std::string what = e.what();
        auto colon = what.find(": ");
        std::string extra = colon == std::string::npos ? what : what.substr(colon + 2);
        auto* sub = &app;
        while (true) {
            auto subs = sub->get_subcommands();
            if (subs.empty()) break;
            sub = subs.front();
        }
        std::string cmd = sub == &app ? "hako" : "hako " + sub->get_name();
        std::string who = sub == &app ? std::string("hako") : sub->get_name();
        std::string first = extra.substr(0, extra.find(' '));
        if (first.rfind("-", 0) == 0) {
            std::vector<std::string> flags;
            for (const auto* o : sub->get_options())
                for (const auto& l : o->get_lnames()) flags.push_back("--" + l);
            std::string hint = cli::nearest(first, flags);
            return cli::hako_fail(Error{0, who + ": unknown flag `" + first + "`" + (hint.empty() ? "" : " (did you mean `" + hint + "`?)") +
                                               "\nSee '" + cmd + " --help'."});
        }
        return cli::hako_fail(Error{0, who + ": unexpected argument `" + first + "`\nSee '" + cmd + " --help'."});
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
