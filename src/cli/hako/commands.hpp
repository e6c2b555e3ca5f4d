// hako's commands, docker-style. One file per group; each registers its
// CLI11 subcommands and sets the action main() runs.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
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
// The choice nearest to `word` (edit distance), "" if none is near.
std::string nearest(const std::string& word, const std::vector<std::string>& choices);

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

// output.cpp: --format "" (the default table), "json", or a Go template
// (`table ...` too) over `rows`; `headers` maps fields to column titles.
int print_rows(const std::string& format, const std::vector<nlohmann::json>& rows, const nlohmann::json& headers,
               const std::string& default_format);
// The same over `n` rows made one at a time (format::render_list).
int print_rows(const std::string& format, std::size_t n, const std::function<nlohmann::json(std::size_t)>& row,
               const nlohmann::json& headers, const std::string& default_format);
// inspect: a JSON array, or each item through the template (-f).
int print_inspect(const std::string& format, const std::vector<nlohmann::json>& items);
// --filter KEY=VALUE..., every key one of `known`.
using Filters = std::multimap<std::string, std::string>;
Result<Filters> parse_filters(const std::vector<std::string>& items, const std::vector<std::string>& known,
                              const std::string& command);
// No value for `key`, or one that passes `test` (docker: values of one key are or-ed).
bool filter_any(const Filters& f, const char* key, const std::function<bool(const std::string&)>& test);
// A label filter (`k` or `k=v`) against labels.
bool label_matches(const std::map<std::string, std::string>& labels, const std::string& want);
// --since/--until: an RFC 3339 time, a Unix time, or a duration ago ("10m"),
// as nanoseconds since the epoch (0 for "").
Result<int64_t> time_arg(const std::string& s, const char* flag);
// docker's sizes ("1.23MB") and ages ("5 minutes").
std::string human_size(double bytes);
std::string human_since(const std::string& rfc3339);
// network.cpp: a network's inspect object.
Result<nlohmann::json> network_json(frontend::Engine& e, const std::string& ref);
// system.cpp: `container prune` under `container`.
void add_container_prune(CLI::App* container, HakoGlobals& g, HakoAction& action);
// inspect.cpp: docker's container object.
nlohmann::json container_inspect(frontend::Engine& e, const frontend::ContainerView& v);

void add_lifecycle_commands(CLI::App& app, HakoGlobals& g, HakoAction& action);  // lifecycle.cpp
void add_volume_commands(CLI::App& app, HakoGlobals& g, HakoAction& action);     // volumes.cpp
void add_system_commands(CLI::App& app, HakoGlobals& g, HakoAction& action);     // system.cpp
void add_files_commands(CLI::App& app, HakoGlobals& g, HakoAction& action);      // files.cpp
void add_build_commands(CLI::App& app, HakoGlobals& g, HakoAction& action);      // build.cpp
// lifecycle.cpp: attached to a running container's monitor until it exits
// (its exit code) or the detach keys (0).
// `conn`: a connection made already (while the monitor waited for it).
int attach_container(HakoGlobals& g, const std::string& id, bool with_stdin, const std::string& detach_keys,
                     bool sig_proxy, UniqueFd conn = {});
// run.cpp: run's and create's flags into `o`.
void add_run_flags(CLI::App* sub, frontend::RunOptions& o, std::string& entrypoint, CLI::Option*& ep);

}  // namespace hako::cli
