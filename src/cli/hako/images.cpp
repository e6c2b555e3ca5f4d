// hako import / load / images / rmi: the image store.
#include <fcntl.h>
#include <unistd.h>

#include <fnmatch.h>

#include <algorithm>
#include <set>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/hako/commands.hpp"
#include "frontend/progress.hpp"
#include "image/json.hpp"
#include "registry/reference.hpp"

namespace hako::cli {
namespace {

// Bytes and rate on stderr, when it is a terminal; nothing otherwise.
image::Progress progress_meter() {
    if (!isatty(2)) return {};
    auto start = std::chrono::steady_clock::now();
    auto last = start;
    return [start, last](uint64_t bytes) mutable {
        auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(200)) return;
        last = now;
        double s = std::chrono::duration<double>(now - start).count();
        std::fprintf(stderr, "\r%.1f MB read, %.1f MB/s   ", double(bytes) / 1e6, s > 0 ? double(bytes) / 1e6 / s : 0.0);
    };
}

void end_meter() {
    if (isatty(2)) std::fprintf(stderr, "\r\033[K");
}

Result<UniqueFd> open_input(const std::string& file) {
    if (file == "-") return UniqueFd(dup(0));
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open `" + file + "`");
    return fd;
}

const nlohmann::json kImageHeaders{{"ID", "IMAGE ID"}, {"Repository", "REPOSITORY"}, {"Tag", "TAG"}, {"Digest", "DIGEST"},
                                   {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"}, {"Size", "SIZE"}};

CLI::App* add_images_list(CLI::App& parent, HakoGlobals& g, HakoAction& action, const char* name) {
    auto* sub = parent.add_subcommand(name, "List images");
    auto format = std::make_shared<std::string>();
    auto quiet = std::make_shared<bool>(false), digests = std::make_shared<bool>(false);
    auto all = std::make_shared<bool>(false), no_trunc = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    auto repo_arg = std::make_shared<std::string>();
    sub->add_option("--format", *format, "Format output using a Go template, or json");
    sub->add_flag("-q,--quiet", *quiet, "Only show image IDs");
    sub->add_flag("--digests", *digests, "Show digests");
    sub->add_flag("-a,--all", *all, "Show all images (intermediate ones too)");
    sub->add_flag("--no-trunc", *no_trunc, "Don't truncate output");
    sub->add_option("-f,--filter", *filters, "Filter output based on conditions provided (reference, dangling, label, before, since)")
        ->allow_extra_args(false);
    sub->add_option("repository", *repo_arg, "REPOSITORY[:TAG]");
    sub->callback([&g, &action, format, quiet, digests, all, no_trunc, filters, repo_arg] {
        action = [&g, format, quiet, digests, all, no_trunc, filters, repo_arg] {
            auto f = parse_filters(*filters, {"reference", "dangling", "label", "before", "since"}, "images");
            if (!f) return hako_fail(f.error());
            if (!repo_arg->empty()) f->emplace("reference", *repo_arg);
            auto imgs = g.engine().images().list();
            if (!imgs) return hako_fail(imgs.error());
            // before/since: relative to the named image's creation
            std::string before, since;
            for (const auto& [k, v] : *f)
                if (k == "before" || k == "since") {
                    auto ref = g.engine().images().find(v);
                    if (!ref) return hako_fail(std::move(ref).error().context("images --filter " + k));
                    (k == "before" ? before : since) = ref->created;
                }
            std::vector<nlohmann::json> rows;
            for (const auto& i : *imgs) {
                bool ok = *all || !i.intermediate;  // (a build's steps: its cache)
                for (const auto& [k, v] : *f) {
                    if (k == "dangling") ok = ok && ((v == "true" || v == "1") == i.names.empty());
                    if (k == "label") ok = ok && label_matches(i.config.labels, v);
                }
                if (!before.empty()) ok = ok && i.created < before;
                if (!since.empty()) ok = ok && i.created > since;
                if (!ok) continue;
                std::vector<std::string> names = i.names.empty() ? std::vector<std::string>{""} : i.names;
                for (const auto& canonical : names) {
                    std::string n = canonical.empty() ? "<none>:<none>" : image::display_name(canonical);
                    auto colon = n.rfind(':');
                    std::string repo = n.substr(0, colon), tag = n.substr(colon + 1), digest = "<none>";
                    auto [rlo, rhi] = f->equal_range("reference");
                    bool ref_ok = rlo == rhi;
                    for (auto it = rlo; it != rhi; ++it) {
                        const std::string& pat = it->second;
                        std::string canon = canonical.empty() ? "" : canonical;
                        ref_ok = ref_ok || fnmatch(pat.c_str(), n.c_str(), 0) == 0 || fnmatch(pat.c_str(), repo.c_str(), 0) == 0 ||
                                 (!canon.empty() && fnmatch(pat.c_str(), canon.c_str(), 0) == 0);
                    }
                    if (!ref_ok) continue;
                    for (const auto& d : i.repo_digests)
                        if (image::display_name(d).rfind(repo + "@", 0) == 0) digest = d.substr(d.find('@') + 1);
                    if (*format == "json") {
                        rows.push_back(image::inspect_json(i));
                        break;
                    }
                    rows.push_back({{"ID", *no_trunc ? "sha256:" + i.id : i.id.substr(0, 12)},
                                    {"Repository", repo},
                                    {"Tag", tag},
                                    {"Digest", digest},
                                    {"CreatedSince", human_since(i.created) + " ago"},
                                    {"CreatedAt", i.created},
                                    {"Size", human_size(double(i.size))}});
                }
            }
            if (*quiet) {
                std::set<std::string> seen;
                for (const auto& r : rows)
                    if (seen.insert(r["ID"].get<std::string>()).second) std::printf("%s\n", r["ID"].get<std::string>().c_str());
                return 0;
            }
            std::string def = *digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                                       : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
            return print_rows(*format, rows, kImageHeaders, def);
        };
    });
    return sub;
}

CLI::App* add_tag(CLI::App& parent, HakoGlobals& g, HakoAction& action, const char* name) {
    auto* sub = parent.add_subcommand(name, "Give an image another name");
        auto src = std::make_shared<std::string>();
        auto dsts = std::make_shared<std::vector<std::string>>();
        sub->add_option("source", *src, "IMAGE")->required();
        sub->add_option("target", *dsts, "NAME[:TAG]...")->required();
        sub->callback([&g, &action, src, dsts] {
            action = [&g, src, dsts] {
                auto img = g.engine().images().find(*src);
                if (!img) return hako_fail(img.error());
                for (const auto& d : *dsts) {
                    auto ref = registry::parse_reference(d);
                    if (!ref) return hako_fail(ref.error());
                    if (!ref->digest.empty()) return hako_fail(Error{0, "tag `" + d + "`: a tag cannot name a digest"});
                    img->names.push_back(ref->str());
                }
                if (auto st = g.engine().images().save(*img); !st) return hako_fail(st.error());
                for (const auto& d : *dsts) g.engine().event("image", "tag", "sha256:" + img->id, {{"name", d}});
                return 0;
            };
        });
    return sub;
}

CLI::App* add_rmi(CLI::App& parent, HakoGlobals& g, HakoAction& action, const char* name) {
    auto* sub = parent.add_subcommand(name, "Remove one or more images");
        auto refs = std::make_shared<std::vector<std::string>>();
        auto force = std::make_shared<bool>(false), all = std::make_shared<bool>(false);
        sub->add_flag("-f,--force", *force, "Force removal of the image (untag an image that containers use)");
        sub->add_flag("-a,--all", *all, "Remove all images");
        sub->add_option("image", *refs, "IMAGE...");
        sub->callback([&g, &action, refs, force, all] {
            action = [&g, refs, force, all] {
                int rc = 0;
                // (no pull, build or run takes an image's layers meanwhile: a
                // container created now is seen using it)
                auto held = g.engine().images().exclusive();
                if (!held) return hako_fail(held.error());
                std::vector<std::string> targets = *refs;
                if (*all) {
                    if (!targets.empty()) return hako_fail(Error{0, "rmi: -a/--all takes no image names"});
                    auto imgs = g.engine().images().list();
                    if (!imgs) return hako_fail(imgs.error());
                    for (const auto& i : *imgs) targets.push_back(i.id);
                } else if (targets.empty()) {
                    return hako_fail(Error{0, "rmi: an image is required (or -a)"});
                }
                for (const auto& ref : targets) {
                    auto img = g.engine().images().find(ref);
                    if (!img) {
                        rc = hako_fail(img.error());
                        continue;
                    }
                    // A container's root stands on the image's layers: an image in
                    // use is only untagged (-f), never removed.
                    bool used = false;
                    if (auto users = g.engine().list(true))
                        for (const auto& c : *users) used = used || c.record.image_id == img->id;
                    // A name of an image with several: only that name goes.
                    auto asked = registry::parse_reference(ref);
                    if (asked && img->names.size() > 1 &&
                        std::find(img->names.begin(), img->names.end(), asked->str()) != img->names.end()) {
                        std::erase(img->names, asked->str());
                        if (auto st = g.engine().images().save(*img, /*keep_names=*/false); !st) rc = hako_fail(st.error());
                        else {
                            std::printf("Untagged: %s\n", image::display_name(asked->str()).c_str());
                            g.engine().event("image", "untag", "sha256:" + img->id, {{"name", image::display_name(asked->str())}});
                        }
                        continue;
                    }
                    if (img->names.size() > 1 && !*force && !*all)
                        if (!asked || std::find(img->names.begin(), img->names.end(), asked->str()) == img->names.end()) {
                            rc = hako_fail(Error{0, "image `" + ref + "` is referenced in several names (rmi -f removes it)"});
                            continue;
                        }
                    if (used && !*force) {
                        rc = hako_fail(Error{0, "image `" + ref + "` is used by a container (rm it first, or rmi -f to untag)"});
                        continue;
                    }
                    if (used) {
                        for (const auto& n : img->names) std::printf("Untagged: %s\n", image::display_name(n).c_str());
                        img->names.clear();
                        if (auto st = g.engine().images().save(*img, /*keep_names=*/false); !st) rc = hako_fail(st.error());
                        continue;
                    }
                    auto st = g.engine().images().remove(*img);
                    if (!st) rc = hako_fail(st.error());
                    else {
                        std::printf("Deleted: sha256:%s\n", img->id.c_str());
                        g.engine().event("image", "delete", "sha256:" + img->id,
                                         {{"name", img->names.empty() ? "" : image::display_name(img->names[0])}});
                    }
                }
                return rc;
            };
        });
    return sub;
}

}  // namespace

void add_image_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    {
        auto* sub = app.add_subcommand("import", "Import a root file system tarball as an image");
        auto file = std::make_shared<std::string>();
        auto name = std::make_shared<std::string>();
        sub->add_option("file", *file, "tarball (plain, gzip, zstd, xz, bzip2), or - for stdin")->required();
        sub->add_option("name", *name, "NAME[:TAG]");
        sub->callback([&g, &action, file, name] {
            action = [&g, file, name] {
                auto fd = open_input(*file);
                if (!fd) return hako_fail(fd.error());
                auto img = g.engine().images().import_tarball(fd->get(), *name, progress_meter());
                end_meter();
                if (!img) return hako_fail(Error{img.error().err, "import `" + *file + "`: " + img.error().msg});
                std::printf("sha256:%s\n", img->id.c_str());
                g.engine().event("image", "import", "sha256:" + img->id, {{"name", *name}});
                return 0;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("load", "Load images from a docker-save archive or an OCI layout tar");
        auto file = std::make_shared<std::string>("-");
        sub->add_option("-i,--input", *file, "archive file (default: stdin)");
        sub->callback([&g, &action, file] {
            action = [&g, file] {
                auto fd = open_input(*file);
                if (!fd) return hako_fail(fd.error());
                auto imgs = g.engine().images().load_archive(fd->get(), progress_meter());
                end_meter();
                if (!imgs) return hako_fail(Error{imgs.error().err, "load `" + *file + "`: " + imgs.error().msg});
                for (const auto& img : *imgs) {
                    if (img.names.empty()) std::printf("Loaded image ID: sha256:%s\n", img.id.c_str());
                    for (const auto& n : img.names) std::printf("Loaded image: %s\n", image::display_name(n).c_str());
                    g.engine().event("image", "load", "sha256:" + img.id,
                                     {{"name", img.names.empty() ? "" : image::display_name(img.names[0])}});
                }
                return 0;
            };
        });
    }
    add_images_list(app, g, action, "images");
    add_tag(app, g, action, "tag");
    {
        auto* sub = app.add_subcommand("save", "Save images to a docker-archive or oci-archive tar");
        auto refs = std::make_shared<std::vector<std::string>>();
        auto out = std::make_shared<std::string>();
        auto format = std::make_shared<std::string>("docker-archive");
        sub->add_option("-o,--output", *out, "File to write (default: stdout, if not a terminal)");
        sub->add_option("--format", *format, "docker-archive or oci-archive")->capture_default_str()
            ->check(CLI::IsMember({"docker-archive", "oci-archive"}));
        sub->add_option("image", *refs, "IMAGE...")->required();
        sub->callback([&g, &action, refs, out, format] {
            action = [&g, refs, out, format] {
                std::vector<image::Image> imgs;
                for (const auto& r : *refs) {
                    auto img = g.engine().images().find(r);
                    if (!img) return hako_fail(img.error());
                    // (the name asked for, when it is one of the image's)
                    auto ref = registry::parse_reference(r);
                    if (ref && std::find(img->names.begin(), img->names.end(), ref->str()) != img->names.end())
                        img->names = {ref->str()};
                    imgs.push_back(*img);
                }
                if (out->empty() && isatty(1)) return hako_fail(Error{0, "save: refusing to write an archive to a terminal (-o FILE)"});
                auto st = g.engine().images().save_archive(imgs, out->empty() ? "-" : *out,
                                                           *format == "oci-archive" ? image::ArchiveFormat::Oci
                                                                                    : image::ArchiveFormat::Docker);
                if (!st) return hako_fail(std::move(st).error().context("save"));
                return 0;
            };
        });
    }
    add_rmi(app, g, action, "rmi");
    auto* image = app.add_subcommand("image", "Manage images");
    image->require_subcommand(1);
    add_images_list(*image, g, action, "ls")->alias("list");
    add_rmi(*image, g, action, "rm")->alias("remove");
    add_tag(*image, g, action, "tag");
    {
        auto* sub = image->add_subcommand("inspect", "Display detailed information on one or more images");
        auto refs = std::make_shared<std::vector<std::string>>();
        auto format = std::make_shared<std::string>();
        sub->add_option("-f,--format", *format, "Format output using a Go template");
        sub->add_option("image", *refs, "IMAGE...")->required();
        sub->callback([&g, &action, refs, format] {
            action = [&g, refs, format] {
                std::vector<nlohmann::json> items;
                for (const auto& r : *refs) {
                    auto img = g.engine().images().find(r);
                    if (!img) return hako_fail(img.error());
                    items.push_back(image::inspect_json(*img));
                }
                return print_inspect(*format, items);
            };
        });
    }
    {
        auto* sub = image->add_subcommand("exists", "Check if an image exists in local storage (exit 0 if it does, 1 if not)");
        auto ref = std::make_shared<std::string>();
        sub->add_option("image", *ref, "IMAGE")->required();
        sub->callback([&g, &action, ref] {
            action = [&g, ref] { return g.engine().images().find(*ref) ? 0 : 1; };
        });
    }
    for (CLI::App* parent : {&app, image}) {
        auto* sub = parent->add_subcommand("untag", "Remove one or more names from a locally-stored image (all, without names)");
        auto ref = std::make_shared<std::string>();
        auto names = std::make_shared<std::vector<std::string>>();
        sub->add_option("image", *ref, "IMAGE")->required();
        sub->add_option("name", *names, "NAME...");
        sub->callback([&g, &action, ref, names] {
            action = [&g, ref, names] {
                auto img = g.engine().images().find(*ref);
                if (!img) return hako_fail(img.error());
                if (names->empty()) {
                    img->names.clear();
                } else {
                    for (const auto& n : *names) {
                        auto r = registry::parse_reference(n);
                        if (!r || std::find(img->names.begin(), img->names.end(), r->str()) == img->names.end())
                            return hako_fail(Error{0, "untag: image `" + *ref + "` has no name `" + n + "`"});
                        std::erase(img->names, r->str());
                    }
                }
                auto st = g.engine().images().save(*img, /*keep_names=*/false);
                return st ? 0 : hako_fail(st.error());
            };
        });
    }
}

}  // namespace hako::cli
