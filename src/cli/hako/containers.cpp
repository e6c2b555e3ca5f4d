// hako ps / stop / kill / rm / logs / wait / pause / unpause / exec /
// inspect / stats: containers after `run`.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/hako/commands.hpp"
#include "image/json.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

namespace hako::cli {
namespace {

using json = nlohmann::json;

std::string command_line(const std::vector<std::string>& args) {
    std::string s;
    for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
    return s.size() > 22 ? s.substr(0, 19) + "..." : s;
}

std::string status_text(const frontend::ContainerView& v) {
    if (v.status == "exited")
        return v.record.exit_code ? "Exited (" + std::to_string(*v.record.exit_code) + ")" : "Exited";
    if (v.status == "running") return "Up";
    if (v.status == "paused") return "Up (Paused)";
    return "Created";
}

json container_json(const frontend::ContainerView& v) {
    json j{{"Id", v.record.id},         {"Name", v.record.name},       {"Image", v.record.image},
           {"ImageId", v.record.image_id}, {"Command", v.record.command}, {"Created", v.record.created},
           {"State", v.status},         {"Pid", v.pid},                 {"AutoRemove", v.record.rm}};
    if (v.record.exit_code) j["ExitCode"] = *v.record.exit_code;
    if (!v.record.finished.empty()) j["FinishedAt"] = v.record.finished;
    return j;
}

// Registers `name` with one container argument (or several) and a body.
template <typename Body>
CLI::App* per_container(CLI::App& app, HakoGlobals& g, HakoAction& action, const char* name, const char* help,
                        Body body, bool many = true) {
    auto* sub = app.add_subcommand(name, help);
    auto refs = std::make_shared<std::vector<std::string>>();
    auto* opt = sub->add_option("container", *refs, many ? "CONTAINER..." : "CONTAINER")->required();
    if (!many) opt->expected(1);
    sub->callback([&g, &action, refs, body] {
        action = [&g, refs, body] {
            int rc = 0;
            for (const auto& r : *refs) {
                int one = body(g.engine(), r);
                if (one != 0) rc = one;
            }
            return rc;
        };
    });
    return sub;
}

// The last `n` lines of `text` (all for n < 0).
std::string tail_lines(const std::string& text, int n) {
    if (n < 0) return text;
    size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (int i = 0; i < n; ++i) {
        pos = text.rfind('\n', pos == 0 ? 0 : pos - 1);
        if (pos == std::string::npos) return text;
    }
    return text.substr(pos + 1);
}

}  // namespace

void add_container_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    {
        // The monitor's last step (frontend/monitor): not for people.
        auto* sub = app.add_subcommand("__monitor-exited", "");
        sub->group("");
        auto id = std::make_shared<std::string>();
        auto code = std::make_shared<int>(0);
        sub->add_option("id", *id)->required();
        sub->add_option("code", *code)->required();
        sub->callback([&g, &action, id, code] {
            action = [&g, id, code] {
                auto st = g.engine().finish(*id, *code);
                return st ? 0 : hako_fail(st.error());
            };
        });
    }
    {
        auto* sub = app.add_subcommand("ps", "List containers");
        auto all = std::make_shared<bool>(false), quiet = std::make_shared<bool>(false);
        auto format = std::make_shared<std::string>();
        sub->add_flag("-a,--all", *all, "Show all containers (default: running)");
        sub->add_flag("-q,--quiet", *quiet, "Only IDs");
        sub->add_option("--format", *format, "json for JSON");
        sub->callback([&g, &action, all, quiet, format] {
            action = [&g, all, quiet, format] {
                auto list = g.engine().list(*all);
                if (!list) return hako_fail(list.error());
                if (*format == "json") {
                    auto arr = json::array();
                    for (const auto& v : *list) arr.push_back(container_json(v));
                    std::printf("%s\n", arr.dump(2).c_str());
                    return 0;
                }
                if (!*quiet)
                    std::printf("%-14s %-20s %-24s %-22s %-14s %-24s %s\n", "CONTAINER ID", "IMAGE", "COMMAND",
                                "CREATED", "STATUS", "PORTS", "NAMES");
                for (const auto& v : *list) {
                    if (*quiet) {
                        std::printf("%s\n", v.record.id.substr(0, 12).c_str());
                        continue;
                    }
                    std::string ports;
                    if (v.active())
                        if (auto c = g.engine().networks().container(v.record.id); c && *c) ports = ports_column(**c);
                    std::printf("%-14s %-20s %-24s %-22s %-14s %-24s %s\n", v.record.id.substr(0, 12).c_str(),
                                v.record.image.c_str(), ("\"" + command_line(v.record.command) + "\"").c_str(),
                                v.record.created.substr(0, 19).c_str(), status_text(v).c_str(), ports.c_str(),
                                v.record.name.c_str());
                }
                return 0;
            };
        });
    }
    {
        auto timeout = std::make_shared<int>(10);
        auto* sub = per_container(app, g, action, "stop", "Stop containers (SIGTERM, then SIGKILL after -t seconds)",
                                  [timeout](frontend::Engine& e, const std::string& r) {
                                      auto st = e.stop(r, *timeout);
                                      if (!st) return hako_fail(st.error());
                                      std::printf("%s\n", r.c_str());
                                      return 0;
                                  });
        sub->add_option("-t,--time", *timeout, "Seconds to wait before killing")->capture_default_str();
    }
    {
        auto signal = std::make_shared<std::string>("KILL");
        auto* sub = per_container(app, g, action, "kill", "Send a signal to containers (default SIGKILL)",
                                  [signal](frontend::Engine& e, const std::string& r) {
                                      auto sig = runtime::parse_signal(*signal);
                                      if (!sig) return hako_fail(sig.error());
                                      auto st = e.kill(r, *sig);
                                      if (!st) return hako_fail(st.error());
                                      std::printf("%s\n", r.c_str());
                                      return 0;
                                  });
        sub->add_option("-s,--signal", *signal, "Signal (name or number)");
    }
    {
        auto force = std::make_shared<bool>(false);
        auto* sub = per_container(app, g, action, "rm", "Remove containers",
                                  [force](frontend::Engine& e, const std::string& r) {
                                      auto st = e.remove(r, *force);
                                      if (!st) return hako_fail(st.error());
                                      std::printf("%s\n", r.c_str());
                                      return 0;
                                  });
        sub->add_flag("-f,--force", *force, "Kill a running container first");
    }
    per_container(app, g, action, "wait", "Wait for containers to stop; print their exit codes",
                  [](frontend::Engine& e, const std::string& r) {
                      auto code = e.wait(r);
                      if (!code) return hako_fail(code.error());
                      std::printf("%d\n", *code);
                      return 0;
                  });
    for (bool pause : {true, false})
        per_container(app, g, action, pause ? "pause" : "unpause",
                      pause ? "Pause all processes in containers" : "Unpause containers",
                      [pause](frontend::Engine& e, const std::string& r) {
                          auto v = e.find(r);
                          if (!v) return hako_fail(v.error());
                          auto store = e.runtime_store();
                          auto st = pause ? runtime::pause(store, v->record.id) : runtime::resume(store, v->record.id);
                          if (!st) return hako_fail(st.error());
                          std::printf("%s\n", r.c_str());
                          return 0;
                      });
    {
        auto follow = std::make_shared<bool>(false);
        auto tail = std::make_shared<int>(-1);
        auto* sub = per_container(app, g, action, "logs", "Show a detached container's output",
                                  [follow, tail](frontend::Engine& e, const std::string& r) {
                                      auto v = e.find(r);
                                      if (!v) return hako_fail(v.error());
                                      std::string path = e.log_path(v->record.id);
                                      auto text = sys::read_file(path);
                                      std::string out = text ? tail_lines(*text, *tail) : "";
                                      (void)!::write(1, out.data(), out.size());
                                      if (!*follow) return 0;
                                      size_t off = text ? text->size() : 0;
                                      for (;;) {  // until the container has stopped and the log is drained
                                          auto now = sys::read_file(path);
                                          if (now && now->size() > off) {
                                              (void)!::write(1, now->data() + off, now->size() - off);
                                              off = now->size();
                                          }
                                          auto s = e.find(r);
                                          if (!s || !s->active()) break;
                                          std::this_thread::sleep_for(std::chrono::milliseconds(100));
                                      }
                                      return 0;
                                  },
                                  false);
        sub->add_flag("-f,--follow", *follow, "Follow the output until the container stops");
        sub->add_option("-n,--tail", *tail, "Number of lines from the end");
    }
    {
        auto* sub = app.add_subcommand("exec", "Run a command in a running container");
        auto o = std::make_shared<runtime::ExecOptions>();
        auto interactive = std::make_shared<bool>(false);
        sub->add_flag("-i,--interactive", *interactive, "Keep STDIN open");
        sub->add_flag("-t,--tty", o->tty, "Allocate a pseudo-TTY");
        sub->add_flag("-d,--detach", o->detach, "Run in the background");
        sub->add_option("-e,--env", o->env, "Set an environment variable")->allow_extra_args(false);
        sub->add_option("-w,--workdir", o->cwd, "Working directory");
        sub->add_option("-u,--user", o->user, "uid[:gid]");
        sub->prefix_command();
        sub->callback([&g, &action, sub, o, interactive] {
            action = [&g, sub, o, interactive] {
                auto words = sub->remaining();
                if (!words.empty() && words.front() == "--") words.erase(words.begin());
                if (words.size() < 2) return hako_fail(Error{0, "exec: usage: hako exec CONTAINER COMMAND [ARG...]"});
                auto v = g.engine().find(words.front());
                if (!v) return hako_fail(v.error());
                o->id = v->record.id;
                o->args.assign(words.begin() + 1, words.end());
                if (!*interactive && !o->detach) {
                    UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
                    if (null) dup2(null.get(), 0);
                }
                auto r = runtime::exec(g.engine().runtime_store(), *o);
                if (!r) {
                    hako_fail(r.error());
                    return frontend::exit_code_for(r.error());
                }
                return *r;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("inspect", "Show an image's or a container's details as JSON");
        auto refs = std::make_shared<std::vector<std::string>>();
        sub->add_option("name", *refs, "CONTAINER|IMAGE...")->required();
        sub->callback([&g, &action, refs] {
            action = [&g, refs] {
                auto arr = json::array();
                for (const auto& r : *refs) {
                    if (auto c = g.engine().find(r)) {
                        auto j = container_json(*c);
                        j["NetworkSettings"] = network_settings(g.engine(), c->record.id);
                        arr.push_back(j);
                    } else if (auto i = g.engine().images().find(r)) {
                        arr.push_back(image::inspect_json(*i));
                    } else {
                        return hako_fail(Error{0, "no such container or image `" + r + "`"});
                    }
                }
                std::printf("%s\n", arr.dump(2).c_str());
                return 0;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("stats", "Live resource usage of running containers");
        auto no_stream = std::make_shared<bool>(false);
        auto refs = std::make_shared<std::vector<std::string>>();
        sub->add_flag("--no-stream", *no_stream, "Print once and exit");
        sub->add_option("container", *refs, "CONTAINER... (default: all running)");
        sub->callback([&g, &action, no_stream, refs] {
            action = [&g, no_stream, refs] {
                for (;;) {
                    std::vector<frontend::ContainerView> views;
                    if (refs->empty()) {
                        auto l = g.engine().list(false);
                        if (!l) return hako_fail(l.error());
                        views = *l;
                    } else {
                        for (const auto& r : *refs) {
                            auto v = g.engine().find(r);
                            if (!v) return hako_fail(v.error());
                            views.push_back(*v);
                        }
                    }
                    std::printf("%-14s %-24s %-12s %-22s %s\n", "CONTAINER ID", "NAME", "CPU TIME", "MEM USAGE / LIMIT", "PIDS");
                    for (const auto& v : views) {
                        runtime::EventsOptions eo;
                        eo.stats_once = true;
                        std::string line;
                        auto st = runtime::events(g.engine().runtime_store(), v.record.id, eo,
                                                  [&line](const std::string& l) { line = l; });
                        if (!st) continue;
                        auto j = json::parse(line, nullptr, false);
                        if (j.is_discarded()) continue;
                        const auto& d = j["data"];
                        double cpu_s = double(d["cpu"]["usage"].value("total", uint64_t{0})) / 1e9;
                        double mem = double(d["memory"]["usage"].value("usage", uint64_t{0})) / 1048576.0;
                        uint64_t lim = d["memory"]["usage"].value("limit", uint64_t{0});
                        char limit[32];
                        if (lim == 0 || lim > (uint64_t{1} << 60)) std::snprintf(limit, sizeof limit, "unlimited");
                        else std::snprintf(limit, sizeof limit, "%.1fMiB", double(lim) / 1048576.0);
                        std::printf("%-14s %-24s %-12.2f %-22s %llu\n", v.record.id.substr(0, 12).c_str(),
                                    v.record.name.c_str(), cpu_s,
                                    (std::to_string(int(mem * 10) / 10.0).substr(0, 6) + "MiB / " + limit).c_str(),
                                    static_cast<unsigned long long>(d["pids"].value("current", uint64_t{0})));
                    }
                    std::fflush(stdout);
                    if (*no_stream) return 0;
                    std::this_thread::sleep_for(std::chrono::seconds(1));
                    std::printf("\033[H\033[J");
                }
            };
        });
    }
}

}  // namespace hako::cli
