// features: the OCI features document (runtime-spec features.md): what this
// build of hako-runtime supports, as runc prints it.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.hpp"
#include "cli/runtime/commands.hpp"
#include "fs/fs.hpp"
#include "oci/spec.hpp"
#include "security/security.hpp"

namespace hako::cli {
namespace {

nlohmann::ordered_json features() {
    nlohmann::ordered_json j;
    j["ociVersionMin"] = "1.0.0";
    j["ociVersionMax"] = "1.2.0";
    j["mountOptions"] = fs::known_mount_options();
    auto& l = j["linux"];
    l["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
    std::vector<std::string> caps;
    for (int c = 0; c <= oci::capability_last(); ++c)
        if (const char* n = oci::capability_name(c)) caps.emplace_back(n);
    l["capabilities"] = caps;
    l["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", true}};
    auto sc = security::seccomp_support();
    l["seccomp"] = {{"enabled", true},
                    {"actions", sc.actions},
                    {"operators", sc.operators},
                    {"archs", sc.archs},
                    {"knownFlags", sc.flags},
                    {"supportedFlags", sc.flags}};
    // What hako can apply: AppArmor profiles and SELinux labels (this host
    // may have neither: see `security::apparmor_enabled`).
    l["apparmor"] = {{"enabled", true}};
    l["selinux"] = {{"enabled", true}};
    l["intelRdt"] = {{"enabled", false}};
    l["mountExtensions"] = {{"idmap", {{"enabled", true}}}};
    // Hooks: every kind of the spec.
    j["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
    j["annotations"] = {{"org.opencontainers.runtime-spec.features.kind", "hako"},
                        {"io.github.hako.version", HAKO_VERSION}};
    return j;
}

}  // namespace

void add_features(CLI::App& app, Globals&, Action& action) {
    app.add_subcommand("features", "print what this runtime supports (OCI features JSON)")->callback([&action] {
        action = [] {
            std::cout << features().dump(4) << "\n";
            return 0;
        };
    });
}

}  // namespace hako::cli
