// hako import / load / images / rmi: the image store.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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
                }
                return 0;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("images", "List images");
        auto format = std::make_shared<std::string>();
        auto quiet = std::make_shared<bool>(false);
        auto digests = std::make_shared<bool>(false);
        sub->add_option("--format", *format, "json for JSON");
        sub->add_flag("-q,--quiet", *quiet, "Only image IDs");
        sub->add_flag("--digests", *digests, "Show digests");
        sub->callback([&g, &action, format, quiet, digests] {
            action = [&g, format, quiet, digests] {
                auto imgs = g.engine().images().list();
                if (!imgs) return hako_fail(imgs.error());
                if (*format == "json") {
                    auto arr = nlohmann::json::array();
                    for (const auto& i : *imgs) arr.push_back(image::inspect_json(i));
                    std::printf("%s\n", arr.dump(2).c_str());
                    return 0;
                }
                if (!*quiet) {
                    if (*digests)
                        std::printf("%-30s %-12s %-72s %-14s %-22s %s\n", "REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE");
                    else
                        std::printf("%-30s %-12s %-14s %-22s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
                }
                for (const auto& i : *imgs) {
                    if (*quiet) {
                        std::printf("%s\n", i.id.substr(0, 12).c_str());
                        continue;
                    }
                    std::vector<std::string> names = i.names.empty() ? std::vector<std::string>{"<none>:<none>"} : i.names;
                    for (const auto& canonical : names) {
                        std::string n = image::display_name(canonical);
                        auto colon = n.rfind(':');
                        std::string repo = n.substr(0, colon), digest = "<none>";
                        for (const auto& d : i.repo_digests)
                            if (image::display_name(d).rfind(repo + "@", 0) == 0) digest = d.substr(d.find('@') + 1);
                        if (*digests)
                            std::printf("%-30s %-12s %-72s %-14s %-22s %s\n", repo.c_str(), n.substr(colon + 1).c_str(),
                                        digest.c_str(), i.id.substr(0, 12).c_str(), i.created.substr(0, 19).c_str(),
                                        frontend::human_bytes(i.size).c_str());
                        else
                            std::printf("%-30s %-12s %-14s %-22s %s\n", repo.c_str(), n.substr(colon + 1).c_str(),
                                        i.id.substr(0, 12).c_str(), i.created.substr(0, 19).c_str(), frontend::human_bytes(i.size).c_str());
                    }
                }
                return 0;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("tag", "Give an image another name");
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
                return 0;
            };
        });
    }
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
    {
        auto* sub = app.add_subcommand("rmi", "Remove images");
        auto refs = std::make_shared<std::vector<std::string>>();
        auto force = std::make_shared<bool>(false);
        sub->add_flag("-f,--force", *force, "Untag an image that containers use");
        sub->add_option("image", *refs, "IMAGE...")->required();
        sub->callback([&g, &action, refs, force] {
            action = [&g, refs, force] {
                int rc = 0;
                for (const auto& ref : *refs) {
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
                        else std::printf("Untagged: %s\n", image::display_name(asked->str()).c_str());
                        continue;
                    }
                    if (img->names.size() > 1 && !*force)
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
                    else std::printf("Deleted: sha256:%s\n", img->id.c_str());
                }
                return rc;
            };
        });
    }
}

}  // namespace hako::cli
