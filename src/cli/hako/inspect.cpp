// docker's shapes of a container: `inspect` (Id, State, Config, HostConfig,
// Mounts, NetworkSettings...) and the rows of `ps` for --format.
#include <fcntl.h>

#include <cmath>

#include "cli/hako/commands.hpp"
#include "common/strings.hpp"
#include "frontend/volumes.hpp"
#include "image/json.hpp"
#include "runtime/container.hpp"
#include "sys/syscalls.hpp"

namespace hako::cli {
namespace {

using json = nlohmann::json;

int64_t bytes_or_zero(const std::string& s) {
    if (s.empty()) return 0;
    char* end = nullptr;
    double n = std::strtod(s.c_str(), &end);
    std::string unit = end ? std::string(end) : "";
    for (auto& c : unit) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    if (!unit.empty() && unit.back() == 'b') unit.pop_back();
    double mul = unit == "k" ? 1024.0 : unit == "m" ? 1048576.0 : unit == "g" ? 1073741824.0 : 1.0;
    return static_cast<int64_t>(n * mul);
}

json port_bindings(const frontend::RunOptions& o) {
    json pb = json::object();
    for (const auto& p : o.net.publish) {
        // [IP:][HOST:]CTR[/PROTO]
        auto parts = split(p, ':');
        std::string ctr(parts.back()), host_ip, host_port;
        if (parts.size() == 2) host_port = std::string(parts[0]);
        if (parts.size() == 3) {
            host_ip = std::string(parts[0]);
            host_port = std::string(parts[1]);
        }
        if (ctr.find('/') == std::string::npos) ctr += "/tcp";
        pb[ctr].push_back({{"HostIp", host_ip}, {"HostPort", host_port}});
    }
    return pb;
}

std::string iso_or_zero(const std::string& t) { return t.empty() ? "0001-01-01T00:00:00Z" : t; }

}  // namespace

json container_inspect(frontend::Engine& e, const frontend::ContainerView& v) {
    const auto& r = v.record;
    const auto& o = r.options;
    auto img = e.images().find(r.image_id);
    json cfg_env = json::array();
    if (auto text = sys::read_file(e.dir(r.id) + "/bundle/config.json")) {
        auto spec = json::parse(*text, nullptr, false);
        if (spec.is_object() && spec.contains("process")) cfg_env = spec["process"].value("env", json::array());
    }
    auto policy = frontend::parse_restart(o.restart).value_or(frontend::RestartPolicy{});
    json state{{"Status", v.status},
               {"Running", v.status == "running" || v.status == "paused"},
               {"Paused", v.status == "paused"},
               {"Restarting", v.status == "restarting"},
               {"OOMKilled", r.oom_killed},
               {"Dead", false},
               {"Pid", v.pid},
               {"ExitCode", r.exit_code.value_or(0)},
               {"Error", r.error},
               {"StartedAt", iso_or_zero(r.started)},
               {"FinishedAt", iso_or_zero(r.finished)}};
    if (r.health) {
        frontend::HealthState h;
        if (auto text = sys::read_file(e.dir(r.id) + "/health.json")) h = frontend::health_from_json(json::parse(*text, nullptr, false));
        if (h.status.empty()) h.status = v.active() ? "starting" : "unhealthy";
        state["Health"] = frontend::health_to_json(h);
    }
    std::vector<std::string> entrypoint = o.entrypoint ? (o.entrypoint->empty() ? std::vector<std::string>{}
                                                                                  : std::vector<std::string>{*o.entrypoint})
                                                       : img ? img->config.entrypoint : std::vector<std::string>{};
    std::vector<std::string> cmd = !o.command.empty() ? o.command : o.entrypoint ? std::vector<std::string>{}
                                   : img ? img->config.cmd : std::vector<std::string>{};
    json exposed = json::object();
    if (img)
        for (const auto& p : img->config.exposed_ports) exposed[p] = json::object();
    const json bindings = port_bindings(o);
    for (const auto& [port, _] : bindings.items()) exposed[port] = json::object();
    json volumes = json::object();
    for (const auto& m : r.mounts)
        if (m.type == "volume") volumes[m.destination] = json::object();
    std::map<std::string, std::string> labels;
    if (img)
        if (auto l = frontend::resolve_labels(o, img->config)) labels = *l;
    json config{{"Hostname", o.hostname.empty() ? r.id.substr(0, 12) : o.hostname},
                {"Domainname", ""},
                {"User", !o.user.empty() ? o.user : img ? img->config.user : ""},
                {"AttachStdin", false},
                {"AttachStdout", !o.detach},
                {"AttachStderr", !o.detach},
                {"ExposedPorts", exposed},
                {"Tty", o.tty},
                {"OpenStdin", o.interactive},
                {"StdinOnce", false},
                {"Env", cfg_env},
                {"Cmd", cmd},
                {"Image", o.image},
                {"Volumes", volumes.empty() ? json(nullptr) : volumes},
                {"WorkingDir", !o.workdir.empty() ? o.workdir : img ? img->config.working_dir : ""},
                {"Entrypoint", entrypoint.empty() ? json(nullptr) : json(entrypoint)},
                {"Labels", labels},
                {"StopSignal", r.stop_signal.empty() ? "SIGTERM" : r.stop_signal}};
    if (o.stop_timeout >= 0) config["StopTimeout"] = o.stop_timeout;
    if (r.health) {
        image::Config c;
        c.healthcheck = r.health;
        config["Healthcheck"] = image::config_to_json(c)["Healthcheck"];
    }
    json binds = json::array(), tmpfs = json::object(), mounts = json::array();
    frontend::Volumes vols(e.root());
    for (const auto& m : r.mounts) {
        if (m.type == "bind") binds.push_back(m.source + ":" + m.destination + (m.ro ? ":ro" : ""));
        if (m.type == "tmpfs") tmpfs[m.destination] = join_strings(m.options, ",");
        json mj{{"Type", m.type}, {"Destination", m.destination}, {"Mode", ""}, {"RW", !m.ro}, {"Propagation", "rprivate"}};
        if (m.type == "volume") {
            mj["Name"] = m.source;
            mj["Driver"] = "local";
            auto vol = vols.get(m.source);
            mj["Source"] = vol ? vol->mountpoint : "";
            mj["Mode"] = "z";
        } else if (m.type == "bind") {
            mj["Source"] = m.source;
        } else {
            mj["Source"] = "";
        }
        mounts.push_back(mj);
    }
    json devices = json::array();
    for (const auto& d : o.devices) {
        auto p = split(d, ':');
        devices.push_back({{"PathOnHost", std::string(p[0])},
                           {"PathInContainer", p.size() > 1 ? std::string(p[1]) : std::string(p[0])},
                           {"CgroupPermissions", p.size() > 2 ? std::string(p[2]) : "rwm"}});
    }
    json ulimits = json::array();
    for (const auto& u : o.ulimits) {
        auto eq = u.find('=');
        std::string vals = eq == std::string::npos ? "" : u.substr(eq + 1);
        auto colon = vals.find(':');
        int64_t soft = atoll(vals.substr(0, colon).c_str());
        int64_t hard = colon == std::string::npos ? soft : atoll(vals.substr(colon + 1).c_str());
        ulimits.push_back({{"Name", u.substr(0, eq)}, {"Soft", soft}, {"Hard", hard}});
    }
    json log_opts = json::object();
    for (const auto& kv : o.log_opts) log_opts[kv.substr(0, kv.find('='))] = kv.find('=') == std::string::npos ? "" : kv.substr(kv.find('=') + 1);
    std::string network_mode = o.net.networks.empty() ? "bridge" : o.net.networks[0];
    json host{{"Binds", binds},
              {"NetworkMode", network_mode},
              {"PortBindings", bindings},
              {"RestartPolicy", {{"Name", policy.name}, {"MaximumRetryCount", policy.max_retries}}},
              {"AutoRemove", r.rm},
              {"VolumesFrom", o.volumes_from},
              {"CapAdd", o.cap_add},
              {"CapDrop", o.cap_drop},
              {"Dns", o.net.dns},
              {"DnsOptions", o.net.dns_options},
              {"DnsSearch", o.net.dns_search},
              {"ExtraHosts", o.net.add_hosts},
              {"GroupAdd", o.group_add},
              {"IpcMode", o.ipc_mode.empty() ? "private" : o.ipc_mode},
              {"Cgroup", ""},
              {"CgroupnsMode", o.cgroupns.empty() ? "host" : o.cgroupns},
              {"OomScoreAdj", o.oom_score_adj.value_or(0)},
              {"PidMode", o.pid_mode},
              {"Privileged", o.privileged},
              {"PublishAllPorts", o.net.publish_all},
              {"ReadonlyRootfs", o.read_only},
              {"SecurityOpt", o.security_opt},
              {"Tmpfs", tmpfs},
              {"UTSMode", o.uts_mode},
              {"UsernsMode", o.userns},
              {"ShmSize", o.shm_size.empty() ? 67108864 : bytes_or_zero(o.shm_size)},
              {"Init", o.init},
              {"Memory", bytes_or_zero(o.memory)},
              {"MemoryReservation", bytes_or_zero(o.memory_reservation)},
              {"MemorySwap", o.memory_swap == "-1" ? -1 : bytes_or_zero(o.memory_swap)},
              {"NanoCpus", static_cast<int64_t>(std::llround(o.cpus * 1e9))},
              {"CpuShares", o.cpu_shares},
              {"CpusetCpus", o.cpuset_cpus},
              {"BlkioWeight", o.blkio_weight},
              {"OomKillDisable", o.oom_kill_disable},
              {"PidsLimit", o.pids_limit == 0 ? json(nullptr) : json(o.pids_limit)},
              {"Devices", devices},
              {"Ulimits", ulimits},
              {"Sysctls", o.sysctls},
              {"LogConfig", {{"Type", o.log_driver.empty() ? "k8s-file" : o.log_driver}, {"Config", log_opts}}}};
    json ns = network_settings(e, r.id);
    return {{"Id", r.id},
            {"Created", r.created},
            {"Path", r.command.empty() ? "" : r.command[0]},
            {"Args", r.command.size() > 1 ? json(std::vector<std::string>(r.command.begin() + 1, r.command.end())) : json::array()},
            {"State", state},
            {"Image", "sha256:" + r.image_id},
            {"ImageName", r.image},
            {"ResolvConfPath", e.dir(r.id) + "/resolv.conf"},
            {"HostnamePath", e.dir(r.id) + "/hostname"},
            {"HostsPath", e.dir(r.id) + "/hosts"},
            {"LogPath", e.log_path(r.id)},
            {"Name", "/" + r.name},
            {"RestartCount", r.restart_count},
            {"Driver", "overlay"},
            {"Platform", "linux"},
            {"MountLabel", ""},
            {"ProcessLabel", ""},
            {"AppArmorProfile", ""},
            {"HostConfig", host},
            {"GraphDriver", {{"Name", "overlay"}, {"Data", {{"UpperDir", e.upper_dir(r.id)}, {"WorkDir", e.dir(r.id) + "/work"}, {"MergedDir", e.dir(r.id) + "/rootfs"}}}}},
            {"Mounts", mounts},
            {"Config", config},
            {"NetworkSettings", ns}};
}

}  // namespace hako::cli
