#include <iostream>

#include "cli/runtime/commands.hpp"

namespace hako::cli {

void add_state(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("state", "print the OCI state of a container");
    auto id = std::make_shared<std::string>();
    sub->add_option("id", *id, "container id")->required();
    sub->callback([&g, &action, id] {
        action = [&g, id] {
            auto r = runtime::state(g.store(), *id);
            if (!r) return fail(r.error());
            std::cout << runtime::state_json(*r) << "\n";
            return 0;
        };
    });
}

}  // namespace hako::cli
