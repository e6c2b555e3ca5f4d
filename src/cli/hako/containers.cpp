// hako ps / stop / kill / rm / logs / pause / unpause / exec / inspect /
// stats / container exists: containers after `run`.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <thread>

#include "cli/hako/commands.hpp"
#include "common/strings.hpp"
#include "frontend/volumes.hpp"
#include "image/json.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

namespace hako::cli {
namespace {

using json = nlohmann::json;

std::string command_line(const std::vector<std::string>& args, bool trunc) {
    std::string s = join_strings(args, " ");
    return trunc && s.size() > 20 ? s.substr(0, 19) + "…" : s;
}

std::string status_text(const frontend::ContainerView& v) {
    const auto& r = v.record;
    if (v.status == "exited")
        return "Exited (" + std::to_string(r.exit_code.value_or(0)) + ") " + human_since(r.finished) + " ago";
    if (v.status == "restarting")
        return "Restarting (" + std::to_string(r.exit_code.value_or(0)) + ") " + human_since(r.finished) + " ago";
    if (v.status == "running" || v.status == "paused") {
        std::string s = "Up " + human_since(r.started.empty() ? r.created : r.started);
        if (v.status == "paused") s += " (Paused)";
        else if (v.health && !v.health->status.empty())
            s += " (" + (v.health->status == "starting" ? std::string("health: starting") : v.health->status) + ")";
        return s;
    }
    return "Created";
}

// A `ps` row, docker's --format fields.
// The images of ps's rows, each read once (a thousand containers of one image: one read).
class ImageMemo {
public:
    explicit ImageMemo(frontend::Engine& e) : e_(e) {}
    const image::Image* get(const std::string& id) {
        auto it = seen_.find(id);
        if (it == seen_.end()) {
            auto img = e_.images().find(id);
            it = seen_.emplace(id, img ? std::optional<image::Image>(std::move(*img)) : std::nullopt).first;
        }
        return it->second ? &*it->second : nullptr;
    }

private:
    frontend::Engine& e_;
    std::map<std::string, std::optional<image::Image>> seen_;
};

// (`nets`: every attached container's network, read once for all rows)
json ps_row(const frontend::ContainerView& v, bool trunc, bool size,
            const std::map<std::string, frontend::ContainerNet>& nets, ImageMemo& images, frontend::Engine& e) {
    const auto& r = v.record;
    std::string ports;
    if (v.active())
        if (auto c = nets.find(r.id); c != nets.end()) ports = ports_column(c->second);
    std::string mounts, networks;
    for (const auto& m : r.mounts) mounts += (mounts.empty() ? "" : ",") + (m.type == "volume" ? m.source.substr(0, trunc ? 15 : std::string::npos) : m.destination);
    networks = r.options.net.networks.empty() ? "bridge" : join_strings(r.options.net.networks, ",");
    std::map<std::string, std::string> labels;
    if (const auto* img = images.get(r.image_id))
        if (auto l = frontend::resolve_labels(r.options, img->config)) labels = *l;
    std::string label_text;
    for (const auto& [k, val] : labels) label_text += (label_text.empty() ? "" : ",") + k + "=" + val;
    json row{{"ID", trunc ? r.id.substr(0, 12) : r.id},
             {"Image", r.image},
             {"Command", "\"" + command_line(r.command, trunc) + "\""},
             {"CreatedAt", r.created},
             {"RunningFor", human_since(r.created) + " ago"},
             {"Ports", ports},
             {"State", v.status},
             {"Status", status_text(v)},
             {"Names", r.name},
             {"Labels", label_text},
             {"Mounts", mounts},
             {"Networks", networks},
             {"Size", ""}};
    if (size) {
        uint64_t bytes = 0;
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(e.upper_dir(r.id), ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
            if (it->is_regular_file(ec)) bytes += it->file_size(ec);
        row["Size"] = human_size(double(bytes));
    }
    return row;
}

const json kPsHeaders{{"ID", "CONTAINER ID"}, {"Image", "IMAGE"},   {"Command", "COMMAND"},  {"CreatedAt", "CREATED AT"},
                      {"RunningFor", "CREATED"}, {"Ports", "PORTS"}, {"State", "STATE"},      {"Status", "STATUS"},
                      {"Names", "NAMES"},     {"Labels", "LABELS"},  {"Mounts", "MOUNTS"},    {"Networks", "NETWORKS"},
                      {"Size", "SIZE"}};

// docker's ps filters.
bool ps_matches(frontend::Engine& e, const frontend::ContainerView& v, const Filters& f, ImageMemo& images) {
    const auto& r = v.record;
    auto any = [&f](const char* key, const std::function<bool(const std::string&)>& test) { return filter_any(f, key, test); };
    std::map<std::string, std::string> labels;
    if (f.contains("label"))
        if (const auto* img = images.get(r.image_id))
            if (auto l = frontend::resolve_labels(r.options, img->config)) labels = *l;
    // (label filters must all hold, as docker's)
    auto [llo, lhi] = f.equal_range("label");
    for (auto it = llo; it != lhi; ++it)
        if (!label_matches(labels, it->second)) return false;
    return any("name", [&](const std::string& n) { return r.name.find(n) != std::string::npos; }) &&
           any("id", [&](const std::string& id) { return r.id.rfind(id, 0) == 0; }) &&
           any("status", [&](const std::string& s) { return v.status == s; }) &&
           any("ancestor", [&](const std::string& a) {
               if (r.image_id.rfind(a, 0) == 0 || ("sha256:" + r.image_id).rfind(a, 0) == 0) return true;
               auto img = e.images().find(a);
               return img && img->id == r.image_id;
           }) &&
           any("exited", [&](const std::string& c) { return v.status == "exited" && r.exit_code && std::to_string(*r.exit_code) == c; }) &&
           any("network", [&](const std::string& n) {
               auto nets = r.options.net.networks.empty() ? std::vector<std::string>{"bridge"} : r.options.net.networks;
               return std::find(nets.begin(), nets.end(), n) != nets.end();
           }) &&
           any("volume", [&](const std::string& n) {
               for (const auto& m : r.mounts)
                   if (m.source == n || m.destination == n) return true;
               return false;
           });
}

const std::vector<std::string> kPsFilters = {"name", "id", "status", "label", "ancestor", "exited", "network", "volume"};

// Registers `name` with one container argument (or several, or -a) and a body.
template <typename Body>
CLI::App* per_container(CLI::App& app, HakoGlobals& g, HakoAction& action, const char* name, const char* help,
                        Body body, bool many = true, std::shared_ptr<bool> all = nullptr, bool running_only = true) {
    auto* sub = app.add_subcommand(name, help);
    auto refs = std::make_shared<std::vector<std::string>>();
    auto* opt = sub->add_option("container", *refs, many ? "CONTAINER..." : "CONTAINER");
    if (!all) opt->required();
    if (!many) opt->expected(1);
    sub->callback([&g, &action, refs, body, all, running_only, name] {
        action = [&g, refs, body, all, running_only, name] {
            std::vector<std::string> targets = *refs;
            if (all && *all) {
                if (!targets.empty()) return hako_fail(Error{0, std::string(name) + ": -a/--all takes no container names"});
                auto l = g.engine().list(!running_only);
                if (!l) return hako_fail(l.error());
                for (const auto& v : *l) targets.push_back(v.record.id.substr(0, 12));
            } else if (targets.empty()) {
                return hako_fail(Error{0, std::string(name) + ": a container is required (or -a)"});
            }
            int rc = 0;
            for (const auto& r : targets) {
                int one = body(g.engine(), r);
                if (one != 0) rc = one;
            }
            return rc;
        };
    });
    return sub;
}

// One line of the container's log: its time (ns), stream, text.
struct LogLine {
    int64_t time = 0;
    std::string stamp, stream, text;
    bool partial = false;
};

std::optional<LogLine> parse_log_line(std::string_view line, bool json_file) {
    LogLine l;
    if (json_file) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_object()) return std::nullopt;
        l.text = j.value("log", "");
        l.stream = j.value("stream", "stdout");
        l.stamp = j.value("time", "");
        l.partial = l.text.empty() || l.text.back() != '\n';
        if (!l.partial) l.text.pop_back();
    } else {
        auto sp1 = line.find(' ');
        if (sp1 == std::string_view::npos) return std::nullopt;
        auto sp2 = line.find(' ', sp1 + 1);
        if (sp2 == std::string_view::npos) return std::nullopt;
        auto sp3 = line.find(' ', sp2 + 1);
        l.stamp = std::string(line.substr(0, sp1));
        l.stream = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
        l.partial = line.substr(sp2 + 1, 1) == "P";
        l.text = sp3 == std::string_view::npos ? "" : std::string(line.substr(sp3 + 1));
    }
    auto t = time_arg(l.stamp, "log");
    l.time = t ? *t : 0;
    return l;
}

struct LogsOptions {
    bool follow = false, timestamps = false;
    int tail = -1;
    std::string since, until;
};

int show_logs(frontend::Engine& e, const std::string& ref, const LogsOptions& lo) {
    auto v = e.find(ref);
    if (!v) return hako_fail(v.error());
    const auto& o = v->record.options;
    if (o.log_driver == "none") return hako_fail(Error{0, "logs: container `" + ref + "` has log driver none: nothing is logged"});
    bool json_file = o.log_driver == "json-file";
    auto since = time_arg(lo.since, "--since"), until = time_arg(lo.until, "--until");
    if (!since) return hako_fail(since.error());
    if (!until) return hako_fail(until.error());
    std::string path = e.log_path(v->record.id);
    size_t off = 0;
    std::string carry;
    auto emit = [&](const std::string& chunk, bool initial) {
        carry += chunk;
        std::vector<LogLine> lines;
        size_t start = 0;
        for (size_t nl; (nl = carry.find('\n', start)) != std::string::npos; start = nl + 1)
            if (auto l = parse_log_line(std::string_view(carry).substr(start, nl - start), json_file)) lines.push_back(*l);
        carry.erase(0, start);
        std::erase_if(lines, [&](const LogLine& l) { return (*since && l.time < *since) || (*until && l.time > *until); });
        if (initial && lo.tail >= 0) {
            // the last N lines (a partial line belongs to the full one after it)
            size_t full = 0, from = lines.size();
            while (from > 0 && full < size_t(lo.tail)) {
                --from;
                if (!lines[from].partial) ++full;
            }
            if (lo.tail == 0) from = lines.size();
            lines.erase(lines.begin(), lines.begin() + long(from));
        }
        std::string out, err;
        for (const auto& l : lines) {
            std::string& to = l.stream == "stderr" ? err : out;
            if (lo.timestamps) to += l.stamp + " ";
            to += l.text;
            if (!l.partial) to += "\n";
        }
        (void)sys::write_all(1, out.data(), out.size());
        (void)sys::write_all(2, err.data(), err.size());
    };
    auto text = sys::read_file(path);
    if (text) {
        off = text->size();
        emit(*text, true);
    }
    if (!lo.follow) return 0;
    for (;;) {  // until the container has stopped and the log is drained
        auto s = e.find(ref);
        bool done = !s || (!s->active() && s->status != "restarting");
        auto now = sys::read_file(path);
        if (now && now->size() < off) off = 0;  // rotated
        if (now && now->size() > off) {
            emit(now->substr(off), false);
            off = now->size();
        }
        if (done) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
}

}  // namespace

void add_container_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    {
        auto* sub = app.add_subcommand("ps", "List containers");
        auto all = std::make_shared<bool>(false), quiet = std::make_shared<bool>(false);
        auto latest = std::make_shared<bool>(false), size = std::make_shared<bool>(false), no_trunc = std::make_shared<bool>(false);
        auto last = std::make_shared<int>(-1);
        auto format = std::make_shared<std::string>();
        auto filters = std::make_shared<std::vector<std::string>>();
        sub->add_flag("-a,--all", *all, "Show all containers (default shows just running)");
        sub->add_flag("-q,--quiet", *quiet, "Only display container IDs");
        sub->add_flag("-l,--latest", *latest, "Show the latest created container (includes all states)");
        sub->add_option("-n,--last", *last, "Show n last created containers (includes all states)");
        sub->add_flag("-s,--size", *size, "Display total file sizes");
        sub->add_flag("--no-trunc", *no_trunc, "Don't truncate output");
        sub->add_option("--format", *format, "Format output using a Go template, or json");
        sub->add_option("-f,--filter", *filters, "Filter output based on conditions provided (name, id, status, label, ancestor, exited, network, volume)")
            ->allow_extra_args(false);
        sub->callback([&g, &action, all, quiet, latest, size, no_trunc, last, format, filters] {
            action = [&g, all, quiet, latest, size, no_trunc, last, format, filters] {
                auto f = parse_filters(*filters, kPsFilters, "ps");
                if (!f) return hako_fail(f.error());
                int n = *latest ? 1 : *last;
                auto list = g.engine().list(*all || n >= 0 || f->contains("status") || f->contains("exited"));
                if (!list) return hako_fail(list.error());
                std::vector<const frontend::ContainerView*> shown;
                ImageMemo images(g.engine());
                for (const auto& v : *list) {
                    if (n >= 0 && int(shown.size()) >= n) break;
                    if (ps_matches(g.engine(), v, *f, images)) shown.push_back(&v);
                }
                if (*quiet) {
                    for (const auto* v : shown)
                        std::printf("%s\n", *no_trunc ? v->record.id.c_str() : v->record.id.substr(0, 12).c_str());
                    return 0;
                }
                std::map<std::string, frontend::ContainerNet> nets;
                if (auto all_nets = g.engine().networks().containers()) nets = std::move(*all_nets);
                auto row = [&](size_t i) {  // (made as printed: 1,000 rows are not held at once)
                    return *format == "json" ? container_inspect(g.engine(), *shown[i])
                                             : ps_row(*shown[i], !*no_trunc, *size, nets, images, g.engine());
                };
                std::string def = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
                if (*size) def += "\t{{.Size}}";
                return print_rows(*format, shown.size(), row, kPsHeaders, def);
            };
        });
    }
    {
        auto timeout = std::make_shared<int>(-1);
        auto all = std::make_shared<bool>(false);
        auto* sub = per_container(app, g, action, "stop", "Stop one or more running containers",
                                  [timeout](frontend::Engine& e, const std::string& r) {
                                      auto st = e.stop(r, *timeout);
                                      if (!st) return hako_fail(st.error());
                                      std::printf("%s\n", r.c_str());
                                      return 0;
                                  }, true, all);
        sub->add_option("-t,--time,--timeout", *timeout, "Seconds to wait before killing the container (default: its --stop-timeout, else 10)");
        sub->add_flag("-a,--all", *all, "Stop all running containers");
    }
    {
        auto signal = std::make_shared<std::string>("KILL");
        auto all = std::make_shared<bool>(false);
        auto* sub = per_container(app, g, action, "kill", "Kill one or more running containers",
                                  [signal](frontend::Engine& e, const std::string& r) {
                                      auto sig = runtime::parse_signal(*signal);
                                      if (!sig) return hako_fail(sig.error());
                                      auto st = e.kill(r, *sig);
                                      if (!st) return hako_fail(st.error());
                                      std::printf("%s\n", r.c_str());
                                      return 0;
                                  }, true, all);
        sub->add_option("-s,--signal", *signal, "Signal to send to the container (default KILL)");
        sub->add_flag("-a,--all", *all, "Signal all running containers");
    }
    {
        auto force = std::make_shared<bool>(false), ignore = std::make_shared<bool>(false), volumes = std::make_shared<bool>(false);
        auto all = std::make_shared<bool>(false);
        auto timeout = std::make_shared<int>(-1);
        auto* sub = per_container(app, g, action, "rm", "Remove one or more containers",
                                  [force, ignore, volumes, timeout](frontend::Engine& e, const std::string& r) {
                                      auto v = e.find(r);
                                      if (!v) return *ignore ? 0 : hako_fail(v.error());
                                      if (*force && *timeout >= 0 && v->active()) (void)e.stop(r, *timeout);
                                      auto st = e.remove(r, *force, *volumes);
                                      if (!st) return hako_fail(st.error());
                                      std::printf("%s\n", r.c_str());
                                      return 0;
                                  }, true, all, false);
        sub->add_flag("-f,--force", *force, "Force the removal of a running container (uses SIGKILL)");
        sub->add_flag("-i,--ignore", *ignore, "Ignore errors when a specified container is missing");
        sub->add_flag("-v,--volumes", *volumes, "Remove anonymous volumes associated with the container");
        sub->add_flag("-a,--all", *all, "Remove all containers");
        sub->add_option("-t,--time", *timeout, "Seconds to wait for stop before killing the container (with -f)");
    }
    for (bool pause : {true, false})
        per_container(app, g, action, pause ? "pause" : "unpause",
                      pause ? "Pause all processes within one or more containers" : "Unpause all processes within one or more containers",
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
        auto lo = std::make_shared<LogsOptions>();
        auto* sub = per_container(app, g, action, "logs", "Fetch the logs of a container",
                                  [lo](frontend::Engine& e, const std::string& r) { return show_logs(e, r, *lo); }, false);
        sub->add_flag("-f,--follow", lo->follow, "Follow log output");
        sub->add_option("-n,--tail", lo->tail, "Number of lines to show from the end of the logs");
        sub->add_flag("-t,--timestamps", lo->timestamps, "Show timestamps");
        sub->add_option("--since", lo->since, "Show logs since timestamp (2013-01-02T13:23:37Z) or relative (42m)");
        sub->add_option("--until", lo->until, "Show logs before a timestamp or relative (42m)");
    }
    {
        auto* sub = app.add_subcommand("exec", "Execute a command in a running container");
        auto o = std::make_shared<runtime::ExecOptions>();
        auto interactive = std::make_shared<bool>(false), privileged = std::make_shared<bool>(false);
        auto env_files = std::make_shared<std::vector<std::string>>();
        sub->add_flag("-i,--interactive", *interactive, "Keep STDIN open even if not attached");
        sub->add_flag("-t,--tty", o->tty, "Allocate a pseudo-TTY");
        sub->add_flag("-d,--detach", o->detach, "Detached mode: run command in the background");
        sub->add_option("-e,--env", o->env, "Set environment variables")->allow_extra_args(false);
        sub->add_option("--env-file", *env_files, "Read in a file of environment variables")->allow_extra_args(false);
        sub->add_option("-w,--workdir", o->cwd, "Working directory inside the container");
        sub->add_option("-u,--user", o->user, "Username or UID (format: <uid>[:<gid>])");
        sub->add_flag("--privileged", *privileged, "Give extended privileges to the command");
        sub->prefix_command();
        sub->callback([&g, &action, sub, o, interactive, privileged, env_files] {
            action = [&g, sub, o, interactive, privileged, env_files] {
                auto words = sub->remaining();
                if (!words.empty() && words.front() == "--") words.erase(words.begin());
                if (words.size() < 2) return hako_fail(Error{0, "exec: usage: hako exec [OPTIONS] CONTAINER COMMAND [ARG...]"});
                if (words.front().size() > 1 && words.front()[0] == '-')
                    return hako_fail(Error{0, "exec: unknown flag `" + words.front() + "` (hako exec --help)"});
                auto v = g.engine().find(words.front());
                if (!v) return hako_fail(v.error());
                if (!v->active()) return hako_fail(Error{0, "exec: container `" + words.front() + "` is " + v->status + ", not running"});
                o->id = v->record.id;
                o->args.assign(words.begin() + 1, words.end());
                for (const auto& f : *env_files) {
                    auto text = sys::read_file(f);
                    if (!text) return hako_fail(std::move(text).error().context("--env-file"));
                    for (auto line : split(*text, '\n'))
                        if (!line.empty() && line[0] != '#') o->env.emplace_back(line);
                }
                if (*privileged)
                    for (int c = 0; c <= oci::capability_last(); ++c)
                        if (const char* n = oci::capability_name(c)) o->caps.emplace_back(n);
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
        auto* sub = app.add_subcommand("inspect", "Return low-level information on containers, images, volumes or networks");
        auto refs = std::make_shared<std::vector<std::string>>();
        auto format = std::make_shared<std::string>(), type = std::make_shared<std::string>();
        auto size = std::make_shared<bool>(false);
        sub->add_option("-f,--format", *format, "Format output using a Go template");
        sub->add_option("--type", *type, "Return JSON for a specified type (container, image, volume, network)")
            ->check(CLI::IsMember({"container", "image", "volume", "network"}));
        sub->add_flag("-s,--size", *size, "Display total file sizes if the type is container");
        sub->add_option("name", *refs, "NAME|ID...")->required();
        sub->callback([&g, &action, refs, format, type] {
            action = [&g, refs, format, type] {
                std::vector<json> items;
                auto& e = g.engine();
                frontend::Volumes vols(e.root());
                for (const auto& r : *refs) {
                    const std::string& t = *type;
                    if (t.empty() || t == "container")
                        if (auto c = e.find(r)) {
                            items.push_back(container_inspect(e, *c));
                            continue;
                        }
                    if (t.empty() || t == "image")
                        if (auto i = e.images().find(r)) {
                            items.push_back(image::inspect_json(*i));
                            continue;
                        }
                    if (t.empty() || t == "volume")
                        if (auto v = vols.get(r)) {
                            items.push_back(frontend::volume_json(*v));
                            continue;
                        }
                    if (t.empty() || t == "network")
                        if (auto n = network_json(e, r)) {
                            items.push_back(*n);
                            continue;
                        }
                    return hako_fail(Error{0, "no such " + (t.empty() ? std::string("object") : t) + ": `" + r + "`"});
                }
                return print_inspect(*format, items);
            };
        });
    }
    {
        auto* sub = app.add_subcommand("container", "Manage containers (podman's container exists, prune)");
        sub->require_subcommand(1);
        auto* ex = sub->add_subcommand("exists", "Check if a container exists (exit 0 if it does, 1 if not)");
        auto ref = std::make_shared<std::string>();
        ex->add_option("container", *ref, "CONTAINER")->required();
        ex->callback([&g, &action, ref] {
            action = [&g, ref] { return g.engine().find(*ref) ? 0 : 1; };
        });
        add_container_prune(sub, g, action);
    }
}

}  // namespace hako::cli
