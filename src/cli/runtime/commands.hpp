// hako-runtime's commands: runc's command line. One file per command; each
// registers its CLI11 subcommand and sets the action main() runs.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "common/error.hpp"
#include "runtime/container.hpp"
#include "runtime/state.hpp"

namespace hako::cli {

struct Globals {
    std::string root = "/run/hako";
    std::string log;
    std::string log_format = "text";
    bool debug = false;
    bool systemd_cgroup = false;
    [[nodiscard]] runtime::StateStore store() const { return runtime::StateStore(root); }
};

// What the chosen subcommand does; returns the process exit status.
using Action = std::function<int()>;

// Print an error the way runc does (stderr, and the log when --log is set); returns 1.
int fail(const Error& e);

void add_create(CLI::App& app, Globals& g, Action& action);  // create.cpp
void add_run(CLI::App& app, Globals& g, Action& action);     // create.cpp
void add_start(CLI::App& app, Globals& g, Action& action);
void add_state(CLI::App& app, Globals& g, Action& action);
void add_kill(CLI::App& app, Globals& g, Action& action);
void add_delete(CLI::App& app, Globals& g, Action& action);
void add_list(CLI::App& app, Globals& g, Action& action);
void add_spec(CLI::App& app, Globals& g, Action& action);
void add_pause_resume(CLI::App& app, Globals& g, Action& action);  // pause.cpp
void add_update(CLI::App& app, Globals& g, Action& action);
void add_events(CLI::App& app, Globals& g, Action& action);
void add_ps(CLI::App& app, Globals& g, Action& action);
void add_exec(CLI::App& app, Globals& g, Action& action);
void add_features(CLI::App& app, Globals& g, Action& action);

}  // namespace hako::cli
