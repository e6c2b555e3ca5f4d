// hako volume create / ls / inspect / rm / prune / exists: named volumes.
#include <cstdio>
#include <set>

#include "cli/hako/commands.hpp"
#include "common/digest.hpp"
#include "frontend/volumes.hpp"

namespace hako::cli {
namespace {

using json = nlohmann::json;

// The volumes some container (of any state) mounts.
std::set<std::string> volumes_in_use(frontend::Engine& e) {
    std::set<std::string> used;
    if (auto l = e.list(true))
        for (const auto& v : *l)
            for (const auto& m : v.record.mounts)
                if (m.type == "volume") used.insert(m.source);
    return used;
}

std::string users_of(frontend::Engine& e, const std::string& name) {
    std::string out;
    if (auto l = e.list(true))
        for (const auto& v : *l)
            for (const auto& m : v.record.mounts)
                if (m.type == "volume" && m.source == name) out += (out.empty() ? "" : ", ") + v.record.name;
    return out;
}

}  // namespace

void add_volume_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    auto* vol = app.add_subcommand("volume", "Manage volumes");
    vol->require_subcommand(1);
    {
        auto* sub = vol->add_subcommand("create", "Create a volume");
        auto name = std::make_shared<std::string>();
        auto labels = std::make_shared<std::vector<std::string>>(), opts = std::make_shared<std::vector<std::string>>();
        auto driver = std::make_shared<std::string>("local");
        sub->add_option("-d,--driver", *driver, "Specify volume driver name (local)")->check(CLI::IsMember({"local"}));
        sub->add_option("-l,--label", *labels, "Set metadata for a volume")->allow_extra_args(false);
        sub->add_option("-o,--opt", *opts, "Set driver specific options (type=tmpfs|none, device=, o=)")->allow_extra_args(false);
        sub->add_option("name", *name, "VOLUME (default: a random name)");
        sub->callback([&g, &action, name, labels, opts] {
            action = [&g, name, labels, opts] {
                frontend::Volumes vols(g.engine().root());
                std::string n = name->empty() ? random_id() : *name;
                auto v = vols.create(n, *labels, *opts, name->empty());
                if (!v) return hako_fail(v.error());
                g.engine().event("volume", "create", v->name, {{"driver", v->driver}});
                std::printf("%s\n", v->name.c_str());
                return 0;
            };
        });
    }
    {
        auto* sub = vol->add_subcommand("ls", "List volumes");
        sub->alias("list");
        auto quiet = std::make_shared<bool>(false);
        auto format = std::make_shared<std::string>();
        auto filters = std::make_shared<std::vector<std::string>>();
        sub->add_flag("-q,--quiet", *quiet, "Only display volume names");
        sub->add_option("--format", *format, "Format output using a Go template, or json");
        sub->add_option("-f,--filter", *filters, "Provide filter values (name, label, dangling, driver)")->allow_extra_args(false);
        sub->callback([&g, &action, quiet, format, filters] {
            action = [&g, quiet, format, filters] {
                auto f = parse_filters(*filters, {"name", "label", "dangling", "driver"}, "volume ls");
                if (!f) return hako_fail(f.error());
                frontend::Volumes vols(g.engine().root());
                auto list = vols.list();
                if (!list) return hako_fail(list.error());
                auto used = volumes_in_use(g.engine());
                std::vector<json> rows;
                for (const auto& v : *list) {
                    bool ok = true;
                    for (const auto& [k, want] : *f) {
                        if (k == "name") ok = ok && v.name.find(want) != std::string::npos;
                        if (k == "label") ok = ok && label_matches(v.labels, want);
                        if (k == "driver") ok = ok && v.driver == want;
                        if (k == "dangling") ok = ok && ((want == "true" || want == "1") == !used.contains(v.name));
                    }
                    if (!ok) continue;
                    json j = frontend::volume_json(v);
                    if (*format != "json") {
                        std::string labels;
                        for (const auto& [k, val] : v.labels) labels += (labels.empty() ? "" : ",") + k + "=" + val;
                        j["Labels"] = labels;
                    }
                    rows.push_back(j);
                }
                if (*quiet) {
                    for (const auto& r : rows) std::printf("%s\n", r["Name"].get<std::string>().c_str());
                    return 0;
                }
                static const json kHeaders{{"Name", "VOLUME NAME"}, {"Driver", "DRIVER"}, {"Mountpoint", "MOUNTPOINT"},
                                           {"CreatedAt", "CREATED AT"}, {"Labels", "LABELS"}, {"Scope", "SCOPE"}};
                return print_rows(*format, rows, kHeaders, "table {{.Driver}}\t{{.Name}}");
            };
        });
    }
    {
        auto* sub = vol->add_subcommand("inspect", "Display detailed information on one or more volumes");
        auto names = std::make_shared<std::vector<std::string>>();
        auto format = std::make_shared<std::string>();
        sub->add_option("-f,--format", *format, "Format output using a Go template");
        sub->add_option("volume", *names, "VOLUME...")->required();
        sub->callback([&g, &action, names, format] {
            action = [&g, names, format] {
                frontend::Volumes vols(g.engine().root());
                std::vector<json> items;
                for (const auto& n : *names) {
                    auto v = vols.get(n);
                    if (!v) return hako_fail(v.error());
                    items.push_back(frontend::volume_json(*v));
                }
                return print_inspect(*format, items);
            };
        });
    }
    {
        auto* sub = vol->add_subcommand("rm", "Remove one or more volumes");
        sub->alias("remove");
        auto names = std::make_shared<std::vector<std::string>>();
        auto force = std::make_shared<bool>(false);
        sub->add_flag("-f,--force", *force, "Force the removal of one or more volumes (a missing one is no error)");
        sub->add_option("volume", *names, "VOLUME...")->required();
        sub->callback([&g, &action, names, force] {
            action = [&g, names, force] {
                frontend::Volumes vols(g.engine().root());
                int rc = 0;
                for (const auto& n : *names) {
                    if (!vols.get(n)) {
                        if (!*force) rc = hako_fail(Error{0, "no such volume `" + n + "`"});
                        continue;
                    }
                    if (auto users = users_of(g.engine(), n); !users.empty()) {
                        rc = hako_fail(Error{0, "volume `" + n + "` is in use by container(s) " + users + ": remove them first"});
                        continue;
                    }
                    auto st = vols.remove(n);
                    if (!st) {
                        rc = hako_fail(st.error());
                    } else {
                        g.engine().event("volume", "destroy", n);
                        std::printf("%s\n", n.c_str());
                    }
                }
                return rc;
            };
        });
    }
    {
        auto* sub = vol->add_subcommand("prune", "Remove unused local volumes");
        auto all = std::make_shared<bool>(false), force = std::make_shared<bool>(false);
        sub->add_flag("-a,--all", *all, "Remove all unused volumes, not just anonymous ones");
        sub->add_flag("-f,--force", *force, "Do not prompt for confirmation");
        sub->callback([&g, &action, all] {
            action = [&g, all] {
                frontend::Volumes vols(g.engine().root());
                auto list = vols.list();
                if (!list) return hako_fail(list.error());
                auto used = volumes_in_use(g.engine());
                uint64_t freed = 0;
                std::string out = "Deleted Volumes:\n";
                for (const auto& v : *list) {
                    if (used.contains(v.name) || (!*all && !v.anonymous)) continue;
                    uint64_t sz = vols.size(v);
                    if (vols.remove(v.name)) {
                        g.engine().event("volume", "destroy", v.name);
                        out += v.name + "\n";
                        freed += sz;
                    }
                }
                out += "\nTotal reclaimed space: " + human_size(double(freed)) + "\n";
                std::fputs(out.c_str(), stdout);
                return 0;
            };
        });
    }
    {
        auto* sub = vol->add_subcommand("exists", "Check if a volume exists (exit 0 if it does, 1 if not)");
        auto name = std::make_shared<std::string>();
        sub->add_option("volume", *name, "VOLUME")->required();
        sub->callback([&g, &action, name] {
            action = [&g, name] { return frontend::Volumes(g.engine().root()).get(*name) ? 0 : 1; };
        });
    }
}

}  // namespace hako::cli
