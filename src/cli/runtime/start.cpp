#include "cli/runtime/commands.hpp"

namespace hako::cli {

void add_start(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("start", "start a created container");
    auto id = std::make_shared<std::string>();
    sub->add_option("id", *id, "container id")->required();
    sub->callback([&g, &action, id] {
        action = [&g, id] {
            auto r = runtime::start(g.store(), *id);
            return r ? 0 : fail(r.error());
        };
    });
}

}  // namespace hako::cli
