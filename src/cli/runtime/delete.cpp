#include "cli/runtime/commands.hpp"

namespace hako::cli {

void add_delete(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("delete", "delete a container's resources");
    auto id = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    sub->add_flag("-f,--force", *force, "kill the container first if it is running");
    sub->add_option("id", *id, "container id")->required();
    sub->callback([&g, &action, id, force] {
        action = [&g, id, force] {
            auto r = runtime::remove(g.store(), *id, *force);
            return r ? 0 : fail(r.error());
        };
    });
}

}  // namespace hako::cli
