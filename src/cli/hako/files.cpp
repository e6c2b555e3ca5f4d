// hako cp / diff / export: a container's files, running or stopped.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>

#include "cli/hako/commands.hpp"
#include "frontend/cp.hpp"
#include "image/export.hpp"

namespace hako::cli {
namespace {

// A stopped container's root is mounted for the command only: in a mount
// namespace of our own, so nothing is left mounted whatever happens.
Result<std::string> container_root(frontend::Engine& e, const std::string& id) {
    auto v = HAKO_TRY(e.find(id));
    if (!v.active()) {
        if (unshare(CLONE_NEWNS) < 0) return sys_error("unshare the mount namespace");
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return sys_error("make / private");
    }
    bool unmount = false;
    return e.mounted_rootfs(v.record.id, &unmount);
}

// "NAME:PATH" -> {NAME, PATH}; a path without a colon (or starting with / or .) is the host's.
std::optional<std::pair<std::string, std::string>> container_path(const std::string& arg) {
    if (arg.empty() || arg[0] == '/' || arg[0] == '.' || arg == "-") return std::nullopt;
    auto colon = arg.find(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    return std::make_pair(arg.substr(0, colon), arg.substr(colon + 1));
}

}  // namespace

void add_files_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    {
        auto* sub = app.add_subcommand("cp", "Copy files/folders between a container and the local filesystem");
        auto src = std::make_shared<std::string>(), dst = std::make_shared<std::string>();
        auto o = std::make_shared<frontend::CopyOptions>();
        sub->add_flag("-a,--archive", o->archive, "Archive mode (copy all uid/gid information)");
        sub->add_flag("-L,--follow-link", o->follow_link, "Always follow symbol link in SRC_PATH");
        sub->add_option("src", *src, "CONTAINER:SRC_PATH | SRC_PATH | -")->required();
        sub->add_option("dst", *dst, "DEST_PATH | CONTAINER:DEST_PATH | -")->required();
        sub->callback([&g, &action, src, dst, o] {
            action = [&g, src, dst, o] {
                auto from = container_path(*src), to = container_path(*dst);
                if (from && to) return hako_fail(Error{0, "cp: copying between containers is not supported (one side must be local)"});
                if (!from && !to) return hako_fail(Error{0, "cp: one of SRC and DEST must be CONTAINER:PATH"});
                const auto& [ref, path] = from ? *from : *to;
                auto v = g.engine().find(ref);
                if (!v) return hako_fail(v.error());
                auto root = container_root(g.engine(), v->record.id);
                if (!root) return hako_fail(root.error());
                Status st = from ? frontend::copy_from_container(*root, path, *dst, *o)
                                 : frontend::copy_to_container(*src, *root, path, *o);
                if (!st) return hako_fail(std::move(st).error().context("cp (container `" + ref + "`)"));
                return 0;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("diff", "Inspect changes to files or directories on a container's filesystem");
        auto ref = std::make_shared<std::string>();
        auto format = std::make_shared<std::string>();
        sub->add_option("--format", *format, "json, or a Go template over {Path, Kind}");
        sub->add_option("container", *ref, "CONTAINER")->required();
        sub->callback([&g, &action, ref, format] {
            action = [&g, ref, format] {
                auto v = g.engine().find(*ref);
                if (!v) return hako_fail(v.error());
                auto lowers = g.engine().lower_dirs(v->record);
                if (!lowers) return hako_fail(lowers.error());
                auto changes = frontend::diff_upper(g.engine().upper_dir(v->record.id), *lowers);
                if (!changes) return hako_fail(changes.error());
                std::vector<nlohmann::json> rows;
                for (const auto& c : *changes) rows.push_back({{"Kind", std::string(1, c.kind)}, {"Path", c.path}});
                return print_rows(*format, rows, nlohmann::json{{"Kind", "KIND"}, {"Path", "PATH"}}, "{{.Kind}} {{.Path}}");
            };
        });
    }
    {
        auto* sub = app.add_subcommand("export", "Export a container's filesystem as a tar archive");
        auto ref = std::make_shared<std::string>(), out = std::make_shared<std::string>();
        sub->add_option("-o,--output", *out, "Write to a file, instead of STDOUT");
        sub->add_option("container", *ref, "CONTAINER")->required();
        sub->callback([&g, &action, ref, out] {
            action = [&g, ref, out] {
                if (out->empty() && isatty(1)) return hako_fail(Error{0, "export: refusing to write a tar to a terminal (-o FILE, or redirect)"});
                auto v = g.engine().find(*ref);
                if (!v) return hako_fail(v.error());
                auto root = container_root(g.engine(), v->record.id);
                if (!root) return hako_fail(root.error());
                UniqueFd fd(out->empty() ? dup(1) : ::open(out->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
                if (!fd) return hako_fail(Error{errno, "export: open `" + *out + "`"});
                auto r = image::export_layer(*root, fd.get(), image::Compression::None);
                if (!r) return hako_fail(std::move(r).error().context("export `" + *ref + "`"));
                return 0;
            };
        });
    }
}

}  // namespace hako::cli
