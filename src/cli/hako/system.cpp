// hako version / info / system df|prune / container prune / image prune /
// stats / generate systemd: the host and housekeeping.
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "cgroup/cgroup.hpp"
#include "cli/hako/commands.hpp"
#include "common/strings.hpp"
#include "format/template.hpp"
#include "frontend/volumes.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

namespace hako::cli {
namespace {

using json = nlohmann::json;

uint64_t dir_size(const std::string& path) {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
    return total;
}

std::set<std::string> images_in_use(frontend::Engine& e) {
    std::set<std::string> used;
    if (auto l = e.list(true))
        for (const auto& v : *l) used.insert(v.record.image_id);
    return used;
}

json version_json() {
    utsname u{};
    uname(&u);
    json client{{"Version", HAKO_VERSION}, {"ApiVersion", "1.41"}, {"GoVersion", "none (C++23)"},
                {"Os", "linux"},          {"Arch", u.machine},    {"BuildTime", __DATE__ " " __TIME__}};
    return {{"Client", client}, {"Server", {{"Version", HAKO_VERSION}, {"ApiVersion", "1.41"}, {"KernelVersion", u.release},
                                            {"Os", "linux"}, {"Arch", u.machine}}}};
}

json info_json(frontend::Engine& e) {
    utsname u{};
    uname(&u);
    int running = 0, paused = 0, stopped = 0, total = 0;
    if (auto l = e.list(true))
        for (const auto& v : *l) {
            ++total;
            if (v.status == "running") ++running;
            else if (v.status == "paused") ++paused;
            else ++stopped;
        }
    size_t images = 0;
    if (auto l = e.images().list()) images = l->size();
    struct statfs sf{};
    bool v2 = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == 0x63677270;  // CGROUP2_SUPER_MAGIC
    std::string os = "Linux";
    if (auto rel = sys::read_file("/etc/os-release"))
        for (auto line : split(*rel, '\n'))
            if (line.rfind("PRETTY_NAME=", 0) == 0) {
                os = std::string(line.substr(12));
                if (os.size() >= 2 && os.front() == '"') os = os.substr(1, os.size() - 2);
            }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long mem = sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    return {{"ID", ""},
            {"Containers", total},
            {"ContainersRunning", running},
            {"ContainersPaused", paused},
            {"ContainersStopped", stopped},
            {"Images", images},
            {"Driver", "overlay"},
            {"DockerRootDir", e.root()},
            {"RunRoot", e.runroot()},
            {"LoggingDriver", "k8s-file"},
            {"CgroupDriver", "cgroupfs"},
            {"CgroupVersion", v2 ? "2" : "1"},
            {"CgroupLayout", v2 ? "unified" : "hybrid"},
            {"KernelVersion", u.release},
            {"OperatingSystem", os},
            {"OSType", "linux"},
            {"Architecture", u.machine},
            {"NCPU", cpus},
            {"MemTotal", mem},
            {"Name", host},
            {"ServerVersion", HAKO_VERSION},
            {"DefaultRuntime", "hako (built in)"},
            {"SecurityOptions", json::array({"name=seccomp,profile=builtin"})}};
}

std::string info_text(const json& i) {
    std::string s;
    auto line = [&s](const std::string& k, const json& v) { s += " " + k + ": " + (v.is_string() ? v.get<std::string>() : v.dump()) + "\n"; };
    s += "Client:\n Version: " HAKO_VERSION "\n\nServer:\n";
    line("Containers", i["Containers"]);
    s += "  Running: " + i["ContainersRunning"].dump() + "\n  Paused: " + i["ContainersPaused"].dump() +
         "\n  Stopped: " + i["ContainersStopped"].dump() + "\n";
    for (const char* k : {"Images", "Server Version", "Storage Driver", "Logging Driver", "Cgroup Driver", "Cgroup Version",
                          "Cgroup Layout", "Default Runtime", "Kernel Version", "Operating System", "OSType", "Architecture",
                          "CPUs", "Total Memory", "Name", "Docker Root Dir", "Run Root"}) {
        static const std::map<std::string, std::string> key{
            {"Server Version", "ServerVersion"}, {"Storage Driver", "Driver"},      {"Logging Driver", "LoggingDriver"},
            {"Cgroup Driver", "CgroupDriver"},   {"Cgroup Version", "CgroupVersion"}, {"Cgroup Layout", "CgroupLayout"},
            {"Default Runtime", "DefaultRuntime"}, {"Kernel Version", "KernelVersion"}, {"Operating System", "OperatingSystem"},
            {"CPUs", "NCPU"},                    {"Total Memory", "MemTotal"},       {"Docker Root Dir", "DockerRootDir"},
            {"Run Root", "RunRoot"}};
        auto it = key.find(k);
        std::string field = it == key.end() ? k : it->second;
        if (field == "MemTotal") line(k, human_size(i[field].get<double>()));
        else line(k, i[field]);
    }
    return s;
}

int prune_containers(frontend::Engine& e, bool quiet_header) {
    auto l = e.list(true);
    if (!l) return hako_fail(l.error());
    std::string out = quiet_header ? "" : "Deleted Containers:\n";
    uint64_t freed = 0;
    for (const auto& v : *l) {
        if (v.active() || v.status == "restarting") continue;
        uint64_t sz = dir_size(e.upper_dir(v.record.id));
        if (e.remove(v.record.id, false, true)) {
            out += v.record.id + "\n";
            freed += sz;
        }
    }
    out += "\nTotal reclaimed space: " + human_size(double(freed)) + "\n";
    std::fputs(out.c_str(), stdout);
    return 0;
}

int prune_images(frontend::Engine& e, bool all) {
    auto held = e.images().exclusive();  // (as rmi: no image taken meanwhile)
    if (!held) return hako_fail(held.error());
    auto l = e.images().list();
    if (!l) return hako_fail(l.error());
    auto used = images_in_use(e);
    std::string out = "Deleted Images:\n";
    uint64_t freed = 0;
    for (const auto& img : *l) {
        // (a build's intermediate images are its cache: `builder prune`)
        if (used.contains(img.id) || img.intermediate || (!all && !img.names.empty())) continue;
        if (e.images().remove(img)) {
            out += "deleted: sha256:" + img.id + "\n";
            freed += img.size;
        }
    }
    // (and the layers no image names: a killed rmi's, or a killed pull's)
    if (auto st = e.images().prune_layers(); !st) return hako_fail(st.error());
    out += "\nTotal reclaimed space: " + human_size(double(freed)) + "\n";
    std::fputs(out.c_str(), stdout);
    return 0;
}

// One stats row, docker's columns.
struct Sample {
    uint64_t cpu_ns = 0;
    std::chrono::steady_clock::time_point at;
};

json stats_row(frontend::Engine& e, const frontend::ContainerView& v, std::map<std::string, Sample>& prev, bool no_trunc) {
    runtime::EventsOptions eo;
    eo.stats_once = true;
    std::string line;
    (void)runtime::events(e.runtime_store(), v.record.id, eo, [&line](const std::string& l) { line = l; });
    auto j = json::parse(line, nullptr, false);
    const json d = j.is_object() && j.contains("data") ? j["data"] : json::object();
    auto num = [](const json& o, std::initializer_list<const char*> path) -> double {
        const json* p = &o;
        for (const char* k : path) {
            if (!p->is_object() || !p->contains(k)) return 0;
            p = &(*p)[k];
        }
        return p->is_number() ? p->get<double>() : 0;
    };
    uint64_t cpu = static_cast<uint64_t>(num(d, {"cpu", "usage", "total"}));
    auto now = std::chrono::steady_clock::now();
    double pct = 0;
    if (auto it = prev.find(v.record.id); it != prev.end()) {
        double wall = std::chrono::duration<double, std::nano>(now - it->second.at).count();
        if (wall > 0 && cpu >= it->second.cpu_ns) pct = double(cpu - it->second.cpu_ns) / wall * 100.0;
    }
    prev[v.record.id] = {cpu, now};
    double mem = num(d, {"memory", "usage", "usage"}) - num(d, {"memory", "stats", "inactive_file"});
    if (mem < 0) mem = num(d, {"memory", "usage", "usage"});
    double limit = num(d, {"memory", "usage", "limit"});
    if (limit <= 0 || limit > 1e18) limit = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE));
    double rx = 0, tx = 0;
    if (auto dev = sys::read_file("/proc/" + std::to_string(v.pid) + "/net/dev"))
        for (auto l : split(*dev, '\n')) {
            auto colon = l.find(':');
            if (colon == std::string_view::npos || l.substr(0, colon).find("lo") != std::string_view::npos) continue;
            auto f = split(l.substr(colon + 1), ' ');
            if (f.size() >= 9) {
                rx += std::stod(std::string(f[0]));
                tx += std::stod(std::string(f[8]));
            }
        }
    double rd = 0, wr = 0;
    if (d.contains("blkio") && d["blkio"].contains("ioServiceBytesRecursive"))
        for (const auto& en : d["blkio"]["ioServiceBytesRecursive"]) {
            std::string op = en.value("op", "");
            for (auto& c : op) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
            if (op == "read") rd += en.value("value", 0.0);
            if (op == "write") wr += en.value("value", 0.0);
        }
    char cpu_s[32], mem_pct[32];
    std::snprintf(cpu_s, sizeof cpu_s, "%.2f%%", pct);
    std::snprintf(mem_pct, sizeof mem_pct, "%.2f%%", limit > 0 ? mem / limit * 100 : 0.0);
    auto mib = [](double b) {
        char buf[32];
        if (b >= 1073741824) std::snprintf(buf, sizeof buf, "%.2fGiB", b / 1073741824);
        else if (b >= 1048576) std::snprintf(buf, sizeof buf, "%.2fMiB", b / 1048576);
        else std::snprintf(buf, sizeof buf, "%.2fKiB", b / 1024);
        return std::string(buf);
    };
    return {{"ID", no_trunc ? v.record.id : v.record.id.substr(0, 12)},
            {"Container", no_trunc ? v.record.id : v.record.id.substr(0, 12)},
            {"Name", v.record.name},
            {"CPUPerc", cpu_s},
            {"MemUsage", mib(mem) + " / " + mib(limit)},
            {"MemPerc", mem_pct},
            {"NetIO", human_size(rx) + " / " + human_size(tx)},
            {"BlockIO", human_size(rd) + " / " + human_size(wr)},
            {"PIDs", static_cast<uint64_t>(num(d, {"pids", "current"}))}};
}

bool event_matches(const json& j, const Filters& f) {
    for (const auto& key : {"container", "event", "type", "image", "volume", "label"}) {
        auto [lo, hi] = f.equal_range(key);
        if (lo == hi) continue;
        bool any = false;
        const json& attrs = j["Actor"]["Attributes"];
        for (auto it = lo; it != hi; ++it) {
            const std::string& want = it->second;
            std::string k = key;
            if (k == "container" || k == "volume")
                any = any || (j.value("Type", "") == k && (j["Actor"].value("ID", "").rfind(want, 0) == 0 || attrs.value("name", "") == want));
            else if (k == "event") any = any || j.value("Action", "") == want;
            else if (k == "type") any = any || j.value("Type", "") == want;
            else if (k == "image") any = any || attrs.value("image", "") == want;
            else if (k == "label") {
                auto eq = want.find('=');
                std::string lk = want.substr(0, eq);
                any = any || (attrs.contains(lk) && (eq == std::string::npos || attrs.value(lk, "") == want.substr(eq + 1)));
            }
        }
        if (!any) return false;
    }
    return true;
}

}  // namespace

void add_container_prune(CLI::App* container, HakoGlobals& g, HakoAction& action) {
    auto* sub = container->add_subcommand("prune", "Remove all stopped containers");
    auto force = std::make_shared<bool>(false);
    sub->add_flag("-f,--force", *force, "Do not prompt for confirmation");
    sub->callback([&g, &action] {
        action = [&g] { return prune_containers(g.engine(), false); };
    });
}

void add_system_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    {
        auto* sub = app.add_subcommand("version", "Show the hako version information");
        auto format = std::make_shared<std::string>();
        sub->add_option("-f,--format", *format, "Format the output using the given Go template");
        sub->callback([&action, format] {
            action = [format] {
                json v = version_json();
                if (!format->empty()) return print_inspect(*format, {v});
                std::printf("Client:\n Version:      %s\n API version:  %s\n Built:        %s\n OS/Arch:      linux/%s\n",
                            HAKO_VERSION, "1.41", v["Client"]["BuildTime"].get<std::string>().c_str(),
                            v["Client"]["Arch"].get<std::string>().c_str());
                return 0;
            };
        });
    }
    auto info = [&g](const std::string& format) {
        json i = info_json(g.engine());
        if (!format.empty()) return print_inspect(format, {i});
        std::fputs(info_text(i).c_str(), stdout);
        return 0;
    };
    {
        auto* sub = app.add_subcommand("info", "Display system-wide information");
        auto format = std::make_shared<std::string>();
        sub->add_option("-f,--format", *format, "Format the output using the given Go template");
        sub->callback([&action, format, info] {
            action = [format, info] { return info(*format); };
        });
    }
    auto* system = app.add_subcommand("system", "Manage hako (df, prune, info)");
    system->require_subcommand(1);
    {
        auto* sub = system->add_subcommand("info", "Display system-wide information");
        auto format = std::make_shared<std::string>();
        sub->add_option("-f,--format", *format, "Format the output using the given Go template");
        sub->callback([&action, format, info] {
            action = [format, info] { return info(*format); };
        });
    }
    {
        auto* sub = system->add_subcommand("df", "Show hako disk usage");
        auto format = std::make_shared<std::string>();
        sub->add_option("--format", *format, "Format output using a Go template, or json");
        sub->callback([&g, &action, format] {
            action = [&g, format] {
                auto& e = g.engine();
                auto imgs = e.images().list();
                if (!imgs) return hako_fail(imgs.error());
                auto used = images_in_use(e);
                double isz = 0, ireclaim = 0, bsz = 0;
                size_t iactive = 0, itotal = 0, btotal = 0;
                std::set<std::string> image_layers, cache_layers;
                for (const auto& i : *imgs)
                    if (!i.intermediate) image_layers.insert(i.layers.begin(), i.layers.end());
                for (const auto& i : *imgs) {
                    if (i.intermediate) {  // the build cache: what only its images hold
                        ++btotal;
                        for (size_t k = 0; k < i.layers.size() && k < i.layer_sizes.size(); ++k)
                            if (!image_layers.contains(i.layers[k]) && cache_layers.insert(i.layers[k]).second)
                                bsz += double(i.layer_sizes[k]);
                        continue;
                    }
                    ++itotal;
                    isz += double(i.size);
                    if (used.contains(i.id)) ++iactive;
                    else ireclaim += double(i.size);
                }
                auto ctrs = e.list(true);
                double csz = 0, creclaim = 0;
                size_t cactive = 0, ctotal = ctrs ? ctrs->size() : 0;
                if (ctrs)
                    for (const auto& v : *ctrs) {
                        double s = double(dir_size(e.upper_dir(v.record.id)));
                        csz += s;
                        if (v.active()) ++cactive;
                        else creclaim += s;
                    }
                frontend::Volumes vols(e.root());
                auto vl = vols.list();
                std::set<std::string> vused;
                if (ctrs)
                    for (const auto& v : *ctrs)
                        for (const auto& m : v.record.mounts)
                            if (m.type == "volume") vused.insert(m.source);
                double vsz = 0, vreclaim = 0;
                size_t vactive = 0, vtotal = vl ? vl->size() : 0;
                if (vl)
                    for (const auto& v : *vl) {
                        double s = double(vols.size(v));
                        vsz += s;
                        if (vused.contains(v.name)) ++vactive;
                        else vreclaim += s;
                    }
                auto row = [](const char* type, size_t total, size_t active, double size, double reclaim) {
                    char pct[32];
                    std::snprintf(pct, sizeof pct, " (%.0f%%)", size > 0 ? reclaim / size * 100 : 0.0);
                    return json{{"Type", type}, {"TotalCount", total}, {"Active", active},
                                {"Size", human_size(size)}, {"Reclaimable", human_size(reclaim) + pct}};
                };
                std::vector<json> rows{row("Images", itotal, iactive, isz, ireclaim),
                                       row("Containers", ctotal, cactive, csz, creclaim),
                                       row("Local Volumes", vtotal, vactive, vsz, vreclaim),
                                       row("Build Cache", btotal, 0, bsz, bsz)};
                static const json kHeaders{{"Type", "TYPE"}, {"TotalCount", "TOTAL"}, {"Active", "ACTIVE"},
                                           {"Size", "SIZE"}, {"Reclaimable", "RECLAIMABLE"}};
                return print_rows(*format, rows, kHeaders, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}");
            };
        });
    }
    {
        auto* sub = system->add_subcommand("prune", "Remove unused data: stopped containers, unused networks, dangling images");
        auto all = std::make_shared<bool>(false), volumes = std::make_shared<bool>(false), force = std::make_shared<bool>(false);
        sub->add_flag("-a,--all", *all, "Remove all unused images not just dangling ones");
        sub->add_flag("--volumes", *volumes, "Prune anonymous volumes");
        sub->add_flag("-f,--force", *force, "Do not prompt for confirmation");
        sub->callback([&g, &action, all, volumes] {
            action = [&g, all, volumes] {
                prune_containers(g.engine(), false);
                if (auto n = g.engine().networks().prune()) {
                    std::printf("Deleted Networks:\n");
                    for (const auto& name : *n) std::printf("%s\n", name.c_str());
                    std::printf("\n");
                }
                prune_images(g.engine(), *all);
                if (*volumes) {
                    frontend::Volumes vols(g.engine().root());
                    std::set<std::string> used;
                    if (auto l = g.engine().list(true))
                        for (const auto& v : *l)
                            for (const auto& m : v.record.mounts) used.insert(m.source);
                    if (auto vl = vols.list()) {
                        std::printf("Deleted Volumes:\n");
                        for (const auto& v : *vl)
                            if (v.anonymous && !used.contains(v.name) && vols.remove(v.name)) std::printf("%s\n", v.name.c_str());
                    }
                }
                return 0;
            };
        });
    }
    {
        CLI::App* image = nullptr;
        for (auto* s : app.get_subcommands([](const CLI::App*) { return true; }))
            if (s->get_name() == "image") image = s;
        if (!image) {
            image = app.add_subcommand("image", "Manage images");
            image->require_subcommand(1);
        }
        auto* sub = image->add_subcommand("prune", "Remove unused images (dangling ones; -a: every one no container uses)");
        auto all = std::make_shared<bool>(false), force = std::make_shared<bool>(false);
        sub->add_flag("-a,--all", *all, "Remove all unused images, not just dangling ones");
        sub->add_flag("-f,--force", *force, "Do not prompt for confirmation");
        sub->callback([&g, &action, all] {
            action = [&g, all] { return prune_images(g.engine(), *all); };
        });
    }
    {
        auto* sub = app.add_subcommand("stats", "Display a live stream of container(s) resource usage statistics");
        auto no_stream = std::make_shared<bool>(false), no_trunc = std::make_shared<bool>(false), all = std::make_shared<bool>(false);
        auto format = std::make_shared<std::string>();
        auto refs = std::make_shared<std::vector<std::string>>();
        sub->add_flag("--no-stream", *no_stream, "Disable streaming stats and only pull the first result");
        sub->add_flag("--no-trunc", *no_trunc, "Do not truncate output");
        sub->add_flag("-a,--all", *all, "Show all containers (default shows just running)");
        sub->add_option("--format", *format, "Format output using a Go template, or json");
        sub->add_option("container", *refs, "CONTAINER... (default: all running)");
        sub->callback([&g, &action, no_stream, no_trunc, format, refs] {
            action = [&g, no_stream, no_trunc, format, refs] {
                std::map<std::string, Sample> prev;
                static const json kHeaders{{"ID", "CONTAINER ID"}, {"Container", "CONTAINER"}, {"Name", "NAME"},
                                           {"CPUPerc", "CPU %"},   {"MemUsage", "MEM USAGE / LIMIT"}, {"MemPerc", "MEM %"},
                                           {"NetIO", "NET I/O"},  {"BlockIO", "BLOCK I/O"},  {"PIDs", "PIDS"}};
                for (int round = 0;; ++round) {
                    std::vector<frontend::ContainerView> views;
                    if (refs->empty()) {
                        auto l = g.engine().list(false);
                        if (!l) return hako_fail(l.error());
                        views.assign(l->begin(), l->end());
                    } else {
                        for (const auto& r : *refs) {
                            auto v = g.engine().find(r);
                            if (!v) return hako_fail(v.error());
                            views.push_back(*v);
                        }
                    }
                    std::vector<json> rows;
                    for (const auto& v : views)
                        if (v.active()) rows.push_back(stats_row(g.engine(), v, prev, *no_trunc));
                    if (round == 0) {  // a first sample for CPU %, as docker takes two
                        std::this_thread::sleep_for(std::chrono::milliseconds(500));
                        rows.clear();
                        for (const auto& v : views)
                            if (v.active()) rows.push_back(stats_row(g.engine(), v, prev, *no_trunc));
                    }
                    if (!*no_stream) std::printf("\033[H\033[J");
                    int rc = print_rows(*format, rows, kHeaders,
                                        "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}");
                    std::fflush(stdout);
                    if (*no_stream || rc != 0) return rc;
                    std::this_thread::sleep_for(std::chrono::seconds(1));
                }
            };
        });
    }
    {
        auto* sub = app.add_subcommand("events", "Get real time events from hako's journal");
        auto since = std::make_shared<std::string>(), until = std::make_shared<std::string>(), format = std::make_shared<std::string>();
        auto filters = std::make_shared<std::vector<std::string>>();
        sub->add_option("--since", *since, "Show all events created since timestamp (or relative: 10m)");
        sub->add_option("--until", *until, "Stream events until this timestamp (or relative)");
        sub->add_option("--format", *format, "Format the output using the given Go template, or json");
        sub->add_option("-f,--filter", *filters, "Filter output based on conditions provided (container, event, type, image, label)")
            ->allow_extra_args(false);
        sub->callback([&g, &action, since, until, format, filters] {
            action = [&g, since, until, format, filters] {
                auto f = parse_filters(*filters, {"container", "event", "type", "image", "volume", "label"}, "events");
                if (!f) return hako_fail(f.error());
                auto from = time_arg(*since, "--since"), to = time_arg(*until, "--until");
                if (!from) return hako_fail(from.error());
                if (!to) return hako_fail(to.error());
                bool follow = until->empty();
                std::string path = g.engine().events_path();
                size_t off = 0;
                std::string carry;
                for (;;) {
                    auto text = sys::read_file(path);
                    if (text && text->size() > off) {
                        carry += text->substr(off);
                        off = text->size();
                        size_t start = 0;
                        std::string out;
                        for (size_t nl; (nl = carry.find('\n', start)) != std::string::npos; start = nl + 1) {
                            auto j = json::parse(std::string_view(carry).substr(start, nl - start), nullptr, false);
                            if (!j.is_object()) continue;
                            int64_t t = j.value("timeNano", int64_t{0});
                            if ((*from && t < *from) || (*to && t > *to)) continue;
                            if (!event_matches(j, *f)) continue;
                            if (format->empty()) {
                                time_t secs = t / 1000000000;
                                tm tmv{};
                                gmtime_r(&secs, &tmv);
                                char when[64];
                                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tmv);
                                std::string attrs;
                                for (const auto& [k, v] : j["Actor"]["Attributes"].items())
                                    attrs += (attrs.empty() ? "" : ", ") + k + "=" + v.get<std::string>();
                                char ns[16];
                                std::snprintf(ns, sizeof ns, ".%09lld", static_cast<long long>(t % 1000000000));
                                out += std::string(when) + ns + "Z " + j.value("Type", "") + " " + j.value("Action", "") + " " +
                                       j["Actor"].value("ID", "") + " (" + attrs + ")\n";
                            } else {
                                auto r = format::render_one(*format, j);
                                if (!r) return hako_fail(std::move(r).error().context("--format"));
                                out += *r;
                            }
                        }
                        carry.erase(0, start);
                        (void)sys::write_all(1, out.data(), out.size());
                    }
                    if (!follow) return 0;
                    std::this_thread::sleep_for(std::chrono::milliseconds(200));
                }
            };
        });
    }
    {
        auto* gen = app.add_subcommand("generate", "Generate structured data (systemd units)");
        gen->require_subcommand(1);
        auto* sub = gen->add_subcommand("systemd", "Generate a systemd unit file for a container");
        auto ref = std::make_shared<std::string>();
        auto files = std::make_shared<bool>(false);
        sub->add_flag("-f,--files", *files, "Write the unit to container-NAME.service in the current directory");
        sub->add_option("container", *ref, "CONTAINER")->required();
        sub->callback([&g, &action, ref, files] {
            action = [&g, ref, files] {
                auto v = g.engine().find(*ref);
                if (!v) return hako_fail(v.error());
                char self[4096];
                ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
                std::string exe = n > 0 ? std::string(self, size_t(n)) : "/usr/local/bin/hako";
                const auto& r = v->record;
                std::string root = " --root " + g.root;
                std::string unit = "# container-" + r.name + ".service\n# generated by hako " HAKO_VERSION "\n\n"
                    "[Unit]\nDescription=hako container " + r.name + "\nWants=network-online.target\nAfter=network-online.target\n\n"
                    "[Service]\nRestart=" + std::string(r.options.restart == "always" || r.options.restart == "unless-stopped" ? "always" : "on-failure") + "\n"
                    "TimeoutStopSec=" + std::to_string((r.options.stop_timeout >= 0 ? r.options.stop_timeout : 10) + 60) + "\n"
                    "ExecStart=" + exe + root + " start -a " + r.name + "\n"
                    "ExecStop=" + exe + root + " stop -t " + std::to_string(r.options.stop_timeout >= 0 ? r.options.stop_timeout : 10) + " " + r.name + "\n"
                    "Type=simple\nKillMode=none\n\n[Install]\nWantedBy=default.target\n";
                if (*files) {
                    std::string path = "container-" + r.name + ".service";
                    auto st = sys::write_file_atomic(AT_FDCWD, path, unit);
                    if (!st) return hako_fail(st.error());
                    char cwd[4096];
                    std::printf("%s/%s\n", getcwd(cwd, sizeof cwd) ? cwd : ".", path.c_str());
                    return 0;
                }
                std::fputs(unit.c_str(), stdout);
                return 0;
            };
        });
    }
}

}  // namespace hako::cli
