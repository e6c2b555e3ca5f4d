// hako build / commit / history / builder prune: images made here.
#include <unistd.h>

#include <cstdio>

#include "cli/hako/commands.hpp"
#include "frontend/build.hpp"
#include "image/json.hpp"

namespace hako::cli {

namespace {

void add_build(CLI::App& app, const char* name, HakoGlobals& g, HakoAction& action) {
    auto* sub = app.add_subcommand(name, "Build an image from a Containerfile or Dockerfile");
    auto o = std::make_shared<frontend::BuildOptions>();
    auto pull = std::make_shared<std::string>();
    sub->add_option("-t,--tag", o->tags, "Name (and tag) of the image: NAME[:TAG]")->allow_extra_args(false);
    sub->add_option("-f,--file", o->file, "The Containerfile/Dockerfile (default: CONTEXT/Containerfile, else Dockerfile; - for stdin)");
    sub->add_option("--build-arg", o->build_args, "Set a build-time variable: K=V (K alone: from the environment)")->allow_extra_args(false);
    sub->add_option("--target", o->target, "The stage to build (default: the last)");
    sub->add_flag("--no-cache", o->no_cache, "Do not use the build cache");
    sub->add_option("--pull", *pull, "Pull the base images: missing (default), always, never")
        ->expected(0, 1)->default_str("missing");
    sub->add_option("--label", o->labels, "Set a label on the image: K=V")->allow_extra_args(false);
    sub->add_option("--network", o->network, "RUN's network: bridge (default), none, host");
    sub->add_option("--secret", o->secrets, "A secret for RUN --mount=type=secret: id=ID,src=FILE")->allow_extra_args(false);
    sub->add_option("--iidfile", o->iidfile, "Write the image id to this file");
    sub->add_flag("-q,--quiet", o->quiet, "Print the image id only");
    sub->add_flag("--squash", o->squash, "The new layers as one");
    sub->add_option("--jobs", o->jobs, "Independent stages built at once")->capture_default_str();
    sub->add_option("context", o->context, "CONTEXT: a directory (default .), or - (no context)");
    sub->callback([&g, &action, o, pull] {
        action = [&g, o, pull] {
            std::string p = *pull;
            if (p.empty() || p == "true") p = p.empty() ? "missing" : "always";
            if (p == "false") p = "missing";
            o->pull = p;
            o->progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
            int status = 0;
            auto id = frontend::build(g.engine(), *o, &status);
            if (!id) {
                hako_fail(id.error());
                return status ? status : frontend::kExitEngine;
            }
            std::printf("%s\n", id->c_str());
            return 0;
        };
    });
}

}  // namespace

void add_build_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    add_build(app, "build", g, action);
    for (auto* image : app.get_subcommands([](const CLI::App* s) { return s->get_name() == "image"; }))
        add_build(*image, "build", g, action);  // (`hako image build`, as podman's)
    {
        auto* sub = app.add_subcommand("commit", "Create a new image from a container's changes");
        auto o = std::make_shared<frontend::CommitOptions>();
        auto no_pause = std::make_shared<bool>(false);
        sub->add_option("-c,--change", o->changes, "Apply a Dockerfile instruction to the image (CMD, ENV, LABEL, ...)")->allow_extra_args(false);
        sub->add_option("-m,--message", o->message, "Commit message");
        sub->add_flag("--no-pause", *no_pause, "Do not pause the container while committing");
        sub->add_option("container", o->container, "CONTAINER")->required();
        sub->add_option("image", o->image, "IMAGE[:TAG]");
        sub->callback([&g, &action, o, no_pause] {
            action = [&g, o, no_pause] {
                o->pause = !*no_pause;
                auto id = frontend::commit(g.engine(), *o);
                if (!id) return hako_fail(id.error());
                std::printf("%s\n", id->c_str());
                return 0;
            };
        });
    }
    {
        auto* sub = app.add_subcommand("history", "Show the history of an image");
        auto ref = std::make_shared<std::string>();
        auto format = std::make_shared<std::string>();
        auto no_trunc = std::make_shared<bool>(false), quiet = std::make_shared<bool>(false), human = std::make_shared<bool>(true);
        sub->add_option("--format", *format, "Format output using a Go template, or json");
        sub->add_flag("--no-trunc", *no_trunc, "Don't truncate output");
        sub->add_flag("-q,--quiet", *quiet, "Only show image IDs");
        sub->add_flag("-H,--human{true}", *human, "Sizes and dates in human readable form");
        sub->add_option("image", *ref, "IMAGE")->required();
        sub->callback([&g, &action, ref, format, no_trunc, quiet, human] {
            action = [&g, ref, format, no_trunc, quiet, human] {
                auto img = g.engine().images().find(*ref);
                if (!img) return hako_fail(img.error());
                auto hist = g.engine().images().history(*img);
                std::vector<nlohmann::json> rows;
                size_t layer = img->layers.size();
                for (auto it = hist.rbegin(); it != hist.rend(); ++it) {  // (newest first, as docker)
                    uint64_t size = 0;
                    if (!it->empty_layer && layer > 0) {
                        --layer;
                        size = layer < img->layer_sizes.size() ? img->layer_sizes[layer] : 0;
                    }
                    bool top = it == hist.rbegin();
                    std::string id = top ? img->id : "";
                    std::string by = it->created_by;
                    if (!*no_trunc) {
                        for (auto& ch : by)
                            if (ch == '\n' || ch == '\t') ch = ' ';
                        if (by.size() > 45) by = by.substr(0, 44) + "…";
                    }
                    rows.push_back({{"ID", id.empty() ? "<missing>" : (*no_trunc ? "sha256:" + id : id.substr(0, 12))},
                                    {"Created", *human ? (it->created.empty() ? "" : human_since(it->created) + " ago") : it->created},
                                    {"CreatedAt", it->created},
                                    {"CreatedBy", by},
                                    {"Size", *human ? human_size(double(size)) : std::to_string(size)},
                                    {"Comment", it->comment}});
                }
                if (*quiet) {
                    for (const auto& r : rows) std::printf("%s\n", r["ID"].get<std::string>().c_str());
                    return 0;
                }
                nlohmann::json headers = {{"ID", "IMAGE"}, {"Created", "CREATED"}, {"CreatedBy", "CREATED BY"},
                                          {"Size", "SIZE"}, {"Comment", "COMMENT"}};
                return print_rows(*format, rows, headers, "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}");
            };
        });
    }
    {
        auto* builder = app.add_subcommand("builder", "Manage the build cache");
        builder->require_subcommand(1);
        auto* sub = builder->add_subcommand("prune", "Remove the build cache");
        auto all = std::make_shared<bool>(false), force = std::make_shared<bool>(false);
        sub->add_flag("-a,--all", *all, "RUN --mount=type=cache directories too");
        sub->add_flag("-f,--force", *force, "Do not prompt for confirmation");
        sub->callback([&g, &action, all] {
            action = [&g, all] {
                auto freed = frontend::prune_build_cache(g.engine(), *all);
                if (!freed) return hako_fail(freed.error());
                std::printf("Total reclaimed space: %s\n", human_size(double(*freed)).c_str());
                return 0;
            };
        });
    }
}

}  // namespace hako::cli
