#include "cli/runtime/commands.hpp"

namespace hako::cli {

void add_kill(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("kill", "send a signal (default SIGTERM) to a container's init");
    auto id = std::make_shared<std::string>();
    auto sig = std::make_shared<std::string>("SIGTERM");
    auto all = std::make_shared<bool>(false);
    sub->add_flag("-a,--all", *all, "signal every process of the container");
    sub->add_option("id", *id, "container id")->required();
    sub->add_option("signal", *sig, "signal name (KILL, SIGKILL) or number");
    sub->callback([&g, &action, id, sig, all] {
        action = [&g, id, sig, all] {
            auto s = runtime::parse_signal(*sig);
            if (!s) return fail(s.error());
            auto r = runtime::kill(g.store(), *id, *s, *all);
            return r ? 0 : fail(r.error());
        };
    });
}

}  // namespace hako::cli
