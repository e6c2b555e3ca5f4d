#include "cli/runtime/commands.hpp"

namespace hako::cli {

// pause / resume ID: freeze or thaw every process of the container.
void add_pause_resume(CLI::App& app, Globals& g, Action& action) {
    for (bool pause : {true, false}) {
        auto* sub = app.add_subcommand(pause ? "pause" : "resume",
                                       pause ? "freeze every process of a container"
                                             : "thaw a paused container");
        auto id = std::make_shared<std::string>();
        sub->add_option("id", *id, "container id")->required();
        sub->callback([&g, &action, id, pause] {
            action = [&g, id, pause] {
                auto r = pause ? runtime::pause(g.store(), *id) : runtime::resume(g.store(), *id);
                return r ? 0 : fail(r.error());
            };
        });
    }
}

}  // namespace hako::cli
