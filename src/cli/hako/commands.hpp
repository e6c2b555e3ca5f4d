// hako's commands, docker-style. One file per group; each registers its
// CLI11 subcommands and sets the action main() runs.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"
#include "frontend/engine.hpp"
#include "frontend/pull.hpp"

namespace hako::cli {

struct HakoGlobals {
    std::string root;     // --root, $HAKO_ROOT, /var/lib/hako
    std::string runroot;  // --runroot, $HAKO_RUNROOT, /run/hako (tmpfs: network state)
    std::unique_ptr<frontend::Engine> engine_;
    frontend::Engine& engine() {
        if (!engine_) engine_ = std::make_unique<frontend::Engine>(root, runroot);
        return *engine_;
    }
};

using HakoAction = std::function<int()>;

// "hako: <message>" on stderr; returns 125 (docker's "the tool failed").
int hako_fail(const Error& e);

void add_image_commands(CLI::App& app, HakoGlobals& g, HakoAction& action);      // images.cpp
void add_run(CLI::App& app, HakoGlobals& g, HakoAction& action);                 // run.cpp
void add_container_commands(CLI::App& app, HakoGlobals& g, HakoAction& action);  // containers.cpp
void add_network_commands(CLI::App& app, HakoGlobals& g, HakoAction& action);    // network.cpp
void add_registry_commands(CLI::App& app, HakoGlobals& g, HakoAction& action);   // registry.cpp
// --tls-verify, --creds, --authfile, --cert-dir, --retry, --retry-delay, --timeout
void add_registry_flags(CLI::App* sub, frontend::RegistryFlags& f);              // registry.cpp
// run's (and later create's) networking flags into `r`.
void add_network_flags(CLI::App* sub, frontend::NetRequest& r);                 // network.cpp
// ps's PORTS ("0.0.0.0:8080->80/tcp, ..."), inspect's NetworkSettings.
std::string ports_column(const frontend::ContainerNet& c);
nlohmann::json network_settings(frontend::Engine& e, const std::string& id);

}  // namespace hako::cli
