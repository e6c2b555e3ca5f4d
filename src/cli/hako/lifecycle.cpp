// hako start / restart / attach / rename / wait / top: a container's life
// after create.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "cli/hako/commands.hpp"
#include "common/strings.hpp"
#include "frontend/attach.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

namespace hako::cli {

int attach_container(HakoGlobals& g, const std::string& id, bool with_stdin, const std::string& detach_keys,
                     bool sig_proxy, UniqueFd conn) {
    auto v = g.engine().find(id);
    if (!v) return hako_fail(v.error());
    frontend::AttachOptions ao;
    ao.stdin = with_stdin;
    ao.tty = v->record.options.tty;
    auto keys = frontend::parse_detach_keys(detach_keys.empty()
                                                ? (v->record.options.detach_keys.empty() ? "ctrl-p,ctrl-q" : v->record.options.detach_keys)
                                                : detach_keys);
    if (!keys) return hako_fail(keys.error());
    ao.detach_keys = *keys;
    ao.sig_proxy = sig_proxy && !ao.tty;  // (a terminal sends its own ^C)
    std::string cid = v->record.id;
    auto store = g.engine().runtime_store();
    auto kill = [&store, &cid](int sig) { (void)runtime::kill(store, cid, sig, false); };
    auto code = conn ? frontend::attach_on(std::move(conn), ao, kill) : frontend::attach_to(g.engine().dir(cid), ao, kill);
    if (!code) {
        // The container may have ended just now: its exit code then.
        auto after = g.engine().find(cid);
        if (after && !after->active() && after->status != "restarting") return after->record.exit_code.value_or(0);
        if (!after) return 0;
        return hako_fail(code.error());
    }
    if (*code < 0) {
        if (ao.tty) std::fprintf(stderr, "\r\n");
        return 0;  // detached
    }
    return *code;
}

namespace {

// `hako top`: the host's ps, its rows cut to the container's processes (as docker).
int top(HakoGlobals& g, const std::string& ref, std::vector<std::string> ps_args) {
    auto v = g.engine().find(ref);
    if (!v) return hako_fail(v.error());
    if (!v->active()) return hako_fail(Error{0, "top: container `" + ref + "` is " + v->status + ", not running"});
    auto pids = runtime::pids(g.engine().runtime_store(), v->record.id);
    if (!pids) return hako_fail(pids.error());
    std::set<std::string> mine;
    for (pid_t p : *pids) mine.insert(std::to_string(p));
    if (ps_args.empty()) ps_args = {"-ef"};
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) return hako_fail(Error{errno, "pipe"});
    pid_t c = fork();
    if (c == 0) {
        dup2(pfd[1], 1);
        std::vector<char*> argv{const_cast<char*>("ps")};
        for (auto& a : ps_args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execvp("ps", argv.data());
        std::fprintf(stderr, "hako: top: exec ps: %s\n", strerror(errno));
        _exit(127);
    }
    ::close(pfd[1]);
    UniqueFd rd(pfd[0]);
    auto out = sys::read_fd(rd.get(), "ps");
    int st = 0;
    waitpid(c, &st, 0);
    if (!out || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return hako_fail(Error{0, "top: ps " + join_strings(ps_args, " ") + " failed"});
    auto lines = split(*out, '\n');
    if (lines.empty()) return 0;
    // The PID column, by its header.
    auto header = split(lines[0], ' ');
    size_t col = header.size();
    for (size_t i = 0; i < header.size(); ++i)
        if (header[i] == "PID") col = i;
    if (col == header.size()) return hako_fail(Error{0, "top: ps " + join_strings(ps_args, " ") + " has no PID column"});
    std::string text = std::string(lines[0]) + "\n";
    for (size_t i = 1; i < lines.size(); ++i) {
        auto f = split(lines[i], ' ');
        if (f.size() > col && mine.contains(std::string(f[col]))) text += std::string(lines[i]) + "\n";
    }
    (void)sys::write_all(1, text.data(), text.size());
    return 0;
}

}  // namespace

void add_lifecycle_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    {
        auto* sub = app.add_subcommand("start", "Start one or more stopped containers");
        auto refs = std::make_shared<std::vector<std::string>>();
        auto attach = std::make_shared<bool>(false), interactive = std::make_shared<bool>(false);
        auto keys = std::make_shared<std::string>();
        sub->add_flag("-a,--attach", *attach, "Attach STDOUT/STDERR and forward signals");
        sub->add_flag("-i,--interactive", *interactive, "Attach container's STDIN");
        sub->add_option("--detach-keys", *keys, "Override the key sequence for detaching a container");
        sub->add_option("container", *refs, "CONTAINER...")->required();
        sub->callback([&g, &action, refs, attach, interactive, keys] {
            action = [&g, refs, attach, interactive, keys] {
                int rc = 0;
                for (const auto& r : *refs) {
                    UniqueFd conn;
                    auto v = g.engine().find(r);
                    if (!v) {
                        rc = hako_fail(v.error());
                        continue;
                    }
                    std::string dir = g.engine().dir(v->record.id);
                    auto connect = [&conn, &dir] {
                        if (auto c = frontend::connect_attach(dir)) conn = std::move(*c);
                    };
                    bool attached = *attach || *interactive;
                    auto started = g.engine().start(r, false, attached ? std::function<void()>(connect) : std::function<void()>{});
                    if (!started) {
                        rc = hako_fail(started.error());
                        continue;
                    }
                    if (attached) return attach_container(g, r, *interactive, *keys, true, std::move(conn));
                    std::printf("%s\n", r.c_str());
                }
                return rc;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("restart", "Restart one or more containers");
        auto refs = std::make_shared<std::vector<std::string>>();
        auto timeout = std::make_shared<int>(-1);
        sub->add_option("-t,--time", *timeout, "Seconds to wait before killing the container");
        sub->add_option("container", *refs, "CONTAINER...")->required();
        sub->callback([&g, &action, refs, timeout] {
            action = [&g, refs, timeout] {
                int rc = 0;
                for (const auto& r : *refs) {
                    auto st = g.engine().restart(r, *timeout);
                    if (!st) rc = hako_fail(st.error());
                    else std::printf("%s\n", r.c_str());
                }
                return rc;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("attach", "Attach local standard input, output, and error streams to a running container");
        auto ref = std::make_shared<std::string>();
        auto keys = std::make_shared<std::string>();
        auto no_stdin = std::make_shared<bool>(false);
        auto sig_proxy = std::make_shared<bool>(true);
        sub->add_option("--detach-keys", *keys, "Override the key sequence for detaching a container");
        sub->add_flag("--no-stdin", *no_stdin, "Do not attach STDIN");
        sub->add_option("--sig-proxy", *sig_proxy, "Proxy all received signals to the process (default true)");
        sub->add_option("container", *ref, "CONTAINER")->required();
        sub->callback([&g, &action, ref, keys, no_stdin, sig_proxy] {
            action = [&g, ref, keys, no_stdin, sig_proxy] {
                auto v = g.engine().find(*ref);
                if (!v) return hako_fail(v.error());
                if (!v->active()) return hako_fail(Error{0, "attach: container `" + *ref + "` is " + v->status + ", not running"});
                return attach_container(g, v->record.id, !*no_stdin, *keys, *sig_proxy);
            };
        });
    }
    {
        auto* sub = app.add_subcommand("rename", "Rename a container");
        auto from = std::make_shared<std::string>(), to = std::make_shared<std::string>();
        sub->add_option("container", *from, "CONTAINER")->required();
        sub->add_option("name", *to, "NEW_NAME")->required();
        sub->callback([&g, &action, from, to] {
            action = [&g, from, to] {
                auto st = g.engine().rename(*from, *to);
                return st ? 0 : hako_fail(st.error());
            };
        });
    }
    {
        auto* sub = app.add_subcommand("wait", "Block until one or more containers stop, then print their exit codes");
        auto refs = std::make_shared<std::vector<std::string>>();
        auto cond = std::make_shared<std::string>("not-running");
        sub->add_option("--condition", *cond, "Condition to wait on: not-running (default), next-exit, removed")
            ->check(CLI::IsMember({"not-running", "next-exit", "removed", "stopped", "exited"}));
        sub->add_option("container", *refs, "CONTAINER...")->required();
        sub->callback([&g, &action, refs, cond] {
            action = [&g, refs, cond] {
                auto c = *cond == "next-exit" ? frontend::WaitCondition::NextExit
                       : *cond == "removed"   ? frontend::WaitCondition::Removed
                                              : frontend::WaitCondition::NotRunning;
                int rc = 0;
                for (const auto& r : *refs) {
                    auto code = g.engine().wait(r, c);
                    if (!code) rc = hako_fail(code.error());
                    else std::printf("%d\n", *code);
                    std::fflush(stdout);
                }
                return rc;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("top", "Display the running processes of a container");
        sub->prefix_command();
        sub->callback([&g, &action, sub] {
            action = [&g, sub] {
                auto words = sub->remaining();
                if (words.empty()) return hako_fail(Error{0, "top: usage: hako top CONTAINER [ps OPTIONS]"});
                std::string ref = words.front();
                words.erase(words.begin());
                return top(g, ref, words);
            };
        });
    }
}

}  // namespace hako::cli
