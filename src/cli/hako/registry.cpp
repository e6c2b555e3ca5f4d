// hako pull / push / login / logout: images from and to registries.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>
#include <iostream>

#include "cli/hako/commands.hpp"
#include "frontend/pull.hpp"
#include "registry/reference.hpp"
#include "registry/regconf.hpp"

namespace hako::cli {
namespace {

std::string read_password(bool from_stdin) {
    std::string pw;
    if (from_stdin) {
        std::getline(std::cin, pw);
        while (!pw.empty() && (pw.back() == '\r' || pw.back() == '\n')) pw.pop_back();
        return pw;
    }
    termios old{};
    bool tty = isatty(0) && tcgetattr(0, &old) == 0;
    if (tty) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(0, TCSANOW, &quiet);
        std::fprintf(stderr, "Password: ");
    }
    std::getline(std::cin, pw);
    if (tty) {
        tcsetattr(0, TCSANOW, &old);
        std::fprintf(stderr, "\n");
    }
    return pw;
}

// The registry part of what `hako login` is given: "quay.io", "https://quay.io/v1/", "localhost:5000/repo".
std::string registry_of(std::string s) {
    if (auto p = s.find("://"); p != std::string::npos) s.erase(0, p + 3);
    s = s.substr(0, s.find('/'));
    if (s == "index.docker.io" || s == "registry-1.docker.io") s = "docker.io";
    return s;
}

}  // namespace

void add_registry_flags(CLI::App* sub, frontend::RegistryFlags& f) {
    sub->add_option_function<bool>("--tls-verify", [&f](const bool& v) { f.tls_verify = v; },
                                   "Require HTTPS and verify certificates (false: allow plain HTTP)");
    sub->add_option("--creds", f.creds, "Credentials USER[:PASSWORD] for the registry");
    sub->add_option("--authfile", f.authfile, "Auth file (default $REGISTRY_AUTH_FILE or ${XDG_RUNTIME_DIR}/containers/auth.json)");
    sub->add_option("--cert-dir", f.cert_dir, "Directory of CA (*.crt) and client (*.cert, *.key) certificates");
    sub->add_option("--retry", f.retries, "Attempts after a failure (429, 5xx, broken transfer)")->capture_default_str();
    sub->add_option("--retry-delay", f.retry_delay_s, "Seconds before the first retry (doubling)")->capture_default_str();
    sub->add_option("--timeout", f.timeout_s, "Seconds a transfer may stall")->capture_default_str();
}

void add_registry_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    {
        auto* sub = app.add_subcommand("pull", "Pull an image from a registry");
        auto o = std::make_shared<frontend::PullOptions>();
        sub->add_option("image", o->ref, "NAME[:TAG|@DIGEST]")->required();
        sub->add_option("--platform", o->platform, "os/arch[/variant] (default: this machine's)");
        sub->add_flag("-q,--quiet", o->reg.quiet, "No progress; just the image ID");
        sub->add_option("--max-parallel", o->max_parallel, "Layers downloaded at once")->capture_default_str();
        add_registry_flags(sub, o->reg);
        sub->callback([&g, &action, o] {
            action = [&g, o] {
                auto img = frontend::pull(g.engine().images(), *o);
                if (!img) return hako_fail(img.error());
                g.engine().event("image", "pull", "sha256:" + img->id, {{"name", o->ref}});
                std::printf("%s\n", img->id.c_str());
                return 0;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("push", "Push an image to a registry");
        auto o = std::make_shared<frontend::PushOptions>();
        sub->add_option("image", o->image, "IMAGE")->required();
        sub->add_option("destination", o->dest, "NAME[:TAG] (default: the image's name)");
        sub->add_option("--compression-format", o->compression, "gzip or zstd")->capture_default_str()
            ->check(CLI::IsMember({"gzip", "zstd"}));
        sub->add_flag("--force-compression", o->force_compression, "Compress every layer anew (reuse no pulled blob)");
        sub->add_option("--chunk-size", o->chunk_size, "Upload layers in chunks of this many bytes (default: whole)");
        sub->add_flag("-q,--quiet", o->reg.quiet, "No progress");
        sub->add_option("--max-parallel", o->max_parallel, "Layers compressed and uploaded at once")->capture_default_str();
        add_registry_flags(sub, o->reg);
        sub->callback([&g, &action, o] {
            action = [&g, o] {
                auto digest = frontend::push(g.engine().images(), *o);
                if (!digest) return hako_fail(digest.error());
                if (!o->reg.quiet) std::printf("%s\n", digest->c_str());
                return 0;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("login", "Log in to a registry");
        auto reg = std::make_shared<std::string>();
        auto user = std::make_shared<std::string>();
        auto pass = std::make_shared<std::string>();
        auto pass_stdin = std::make_shared<bool>(false);
        auto f = std::make_shared<frontend::RegistryFlags>();
        sub->add_option("registry", *reg, "REGISTRY (default docker.io)");
        sub->add_option("-u,--username", *user, "User name");
        sub->add_option("-p,--password", *pass, "Password (better: --password-stdin)");
        sub->add_flag("--password-stdin", *pass_stdin, "Read the password from stdin");
        sub->add_option_function<bool>("--tls-verify", [f](const bool& v) { f->tls_verify = v; },
                                       "Require HTTPS and verify certificates");
        sub->add_option("--authfile", f->authfile, "Auth file to write");
        sub->add_option("--cert-dir", f->cert_dir, "Directory of CA and client certificates");
        sub->callback([&action, reg, user, pass, pass_stdin, f] {
            action = [reg, user, pass, pass_stdin, f] {
                std::string r = registry_of(reg->empty() ? "docker.io" : *reg);
                if (*pass_stdin && !pass->empty()) return hako_fail(Error{0, "login: --password and --password-stdin together"});
                if (user->empty()) {
                    if (*pass_stdin) return hako_fail(Error{0, "login: --password-stdin needs --username"});
                    std::fprintf(stderr, "Username: ");
                    std::getline(std::cin, *user);
                }
                if (pass->empty()) *pass = read_password(*pass_stdin);
                if (user->empty() || pass->empty()) return hako_fail(Error{0, "login: a user name and a password are required"});
                auto conf = registry::load_registries_conf();
                if (!conf) return hako_fail(conf.error());
                frontend::RegistryFlags flags = *f;
                flags.creds = *user + ":" + *pass;
                auto opts = frontend::client_options(flags, conf->insecure(r));
                if (!opts) return hako_fail(opts.error());
                registry::Repository repo(r, "", *opts);
                if (auto st = repo.check_login(); !st) return hako_fail(std::move(st).error().context("login"));
                registry::Credentials c{*user, *pass, ""};
                if (auto st = registry::store_credentials(r, c, f->authfile); !st) return hako_fail(st.error());
                std::printf("Login Succeeded!\n");
                return 0;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("logout", "Log out of a registry");
        auto reg = std::make_shared<std::string>();
        auto authfile = std::make_shared<std::string>();
        auto all = std::make_shared<bool>(false);
        sub->add_option("registry", *reg, "REGISTRY (default docker.io)");
        sub->add_option("--authfile", *authfile, "Auth file");
        sub->callback([&action, reg, authfile] {
            action = [reg, authfile] {
                std::string r = registry_of(reg->empty() ? "docker.io" : *reg);
                auto gone = registry::remove_credentials(r, *authfile);
                if (!gone) return hako_fail(gone.error());
                if (!*gone) return hako_fail(Error{0, "logout: not logged in to `" + r + "`"});
                std::printf("Removed login credentials for %s\n", r.c_str());
                return 0;
            };
        });
    }
}

}  // namespace hako::cli
