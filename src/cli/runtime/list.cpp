#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/runtime/commands.hpp"

namespace hako::cli {

void add_list(CLI::App& app, Globals& g, Action& action) {
    auto* sub = app.add_subcommand("list", "list containers");
    auto format = std::make_shared<std::string>("table");
    auto quiet = std::make_shared<bool>(false);
    sub->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
    sub->add_flag("-q,--quiet", *quiet, "print only the ids");
    sub->callback([&g, &action, format, quiet] {
        action = [&g, format, quiet] {
            auto r = runtime::list(g.store());
            if (!r) return fail(r.error());
            if (*quiet) {
                for (const auto& v : *r) std::cout << v.state.id << "\n";
            } else if (*format == "json") {
                auto arr = nlohmann::ordered_json::array();
                for (const auto& v : *r)
                    arr.push_back(nlohmann::ordered_json::parse(runtime::state_json(v)));
                std::cout << arr.dump() << "\n";
            } else {
                std::cout << fmt::format("{:<12} {:<8} {:<10} {:<40} {:<31} {}\n", "ID", "PID", "STATUS",
                                         "BUNDLE", "CREATED", "OWNER");
                for (const auto& v : *r)
                    std::cout << fmt::format(
                        "{:<12} {:<8} {:<10} {:<40} {:<31} {}\n", v.state.id,
                        v.status == runtime::ContainerStatus::Stopped ? 0 : v.state.pid,
                        runtime::status_name(v.status), v.state.bundle, v.state.created,
                        v.state.owner == 0 ? std::string("root") : std::to_string(v.state.owner));
            }
            return 0;
        };
    });
}

}  // namespace hako::cli
